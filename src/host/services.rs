//! The init system: starting, stopping and asking about systemd units through `systemctl`, as kubeadm does.
//! Only used when kbinit acts on the real root and is not dry-running.

use std::process::{Command, Stdio};

/// `true` when `systemctl` is on PATH: kubeadm's one rule for "this node has an init system kbinit can drive"
/// (`initsystem.GetInitSystem`), used alike by init and join (start the kubelet), reset (stop it) and
/// preflight (the service checks). Whether systemd is PID 1 is not asked: where `systemctl` is there but cannot
/// act, its own error is reported.
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

/// kubelet-start's service handling, as kubeadm does it: the kubelet is stopped before its files change and
/// restarted after; only on the real root (`--root /`) with systemd, and never in a dry run — otherwise it says
/// why the kubelet was left alone. Call [`KubeletService::stop`] before writing, [`KubeletService::start`] after.
#[derive(Debug, Clone, Copy)]
pub struct KubeletService {
    dry_run: bool,
    real_root: bool,
}

impl KubeletService {
    /// For a run on `host`.
    pub fn new(host: &super::Host, dry_run: bool) -> KubeletService {
        KubeletService { dry_run, real_root: host.is_real_root() }
    }

    fn managed(&self) -> bool {
        !self.dry_run && self.real_root && has_systemd()
    }

    /// Stops the kubelet (a failure is only a warning, as in kubeadm).
    pub fn stop(&self, out: &crate::output::Output) {
        if self.managed()
            && let Err(e) = systemctl(&["stop", "kubelet"])
        {
            out.warn(&format!("[kubelet-start] stopping the kubelet: {e:#}"));
        }
    }

    /// (Re)starts the kubelet, or says why not.
    pub fn start(&self, host: &super::Host, out: &crate::output::Output) -> anyhow::Result<()> {
        if self.dry_run {
            out.say("[dryrun] Would start the kubelet");
        } else if !self.real_root {
            out.say(&format!("[kubelet-start] Not starting the kubelet: --root is {:?}, not /", host.root().display()));
        } else if !has_systemd() {
            out.say(
                "[kubelet-start] No supported init system detected, won't make sure the kubelet is running properly.",
            );
        } else {
            out.say("[kubelet-start] Starting the kubelet");
            systemctl(&["daemon-reload"])?;
            systemctl(&["restart", "kubelet"])?;
        }
        Ok(())
    }
}
