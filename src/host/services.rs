//! The init system: starting, stopping and asking about systemd units through `systemctl`, as kubeadm does.
//! Only used when kbinit acts on the real root and is not dry-running.

use std::process::{Command, Stdio};

/// `true` when `systemctl` is on PATH (kubeadm's test for systemd).
pub fn has_systemd() -> bool {
    which("systemctl")
}

/// `true` when an executable of that name is on PATH.
pub fn which(name: &str) -> bool {
    std::env::var_os("PATH").map(|paths| std::env::split_paths(&paths).any(|d| d.join(name).is_file())).unwrap_or(false)
}

/// Runs `systemctl <args…>`; the error says what failed and what systemctl printed.
pub fn systemctl(args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("systemctl").args(args).stdin(Stdio::null()).output()?;
    if out.status.success() {
        Ok(())
    } else {
        anyhow::bail!("systemctl {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim())
    }
}

/// `systemctl is-active <unit>` says active or activating.
pub fn unit_active(unit: &str) -> bool {
    if !has_systemd() {
        return false;
    }
    Command::new("systemctl")
        .args(["is-active", unit])
        .stderr(Stdio::null())
        .output()
        .map(|o| matches!(String::from_utf8_lossy(&o.stdout).trim(), "active" | "activating"))
        .unwrap_or(false)
}
