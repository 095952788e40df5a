//! Certificate care without an operator: `certs renew <name>|all --if-expiring-within <window>` (renew only what
//! expires within the window, then restart the static Pods that use it, one at a time — see
//! [`crate::flows::certs::restart`]) and `certs renew-timer install|uninstall` (a daily systemd timer running
//! that). What is due and which Pod uses what come from [`kbinit_phases::certs::care`].

use kbinit_phases::certs::{OnDemandKeys, care, renew, timer};
use kbinit_phases::go_format::duration::format_duration;
use kbinit_phases::paths;

use crate::error::invalid;
use crate::flows::certs::restart;
use crate::flows::certs::{ConfigSource, resolve};
use crate::host::apply::apply;
use crate::host::{Host, services};
use crate::output::Output;

/// `certs renew <name> --if-expiring-within <window>`. Exit 0 with a line saying so when nothing is due.
pub fn renew_due(host: &Host, name: &str, window_text: &str, src: &ConfigSource, out: &Output) -> anyhow::Result<()> {
    let window = care::parse_window(window_text)?;
    crate::flows::certs::check_renew_name(name)?;
    let cfg = resolve(host, src, "renew", true, out)?;
    let cluster = &cfg.cluster;
    restart::restore_parked(host, out)?;
    let now = time::OffsetDateTime::now_utc();
    let due = care::due(name, cluster, paths::KUBERNETES_DIR, host, now, window)?;
    let within = format!("{window_text} ({})", format_duration(window));
    if due.is_empty() {
        out.say(&format!("[renew] No certificate expires within {within}: nothing to renew"));
        return Ok(());
    }
    let mut renewed = Vec::new();
    for d in &due {
        let when = kbinit_phases::certs::expiration::format_expiry(d.expires);
        if d.external {
            out.warn(&format!("{} expires {when} but its CA is external: renew it with that CA", d.name));
            continue;
        }
        out.say(&format!("[renew] {} expires {when}, within {within}: renewing it", d.name));
        let steps = renew::plan_renew(d.name, cluster, paths::KUBERNETES_DIR, now, host, &OnDemandKeys)?;
        apply(&steps, host, out)?;
        renewed.push(d.name);
    }
    let pods = care::restarts_for(&renewed);
    if pods.is_empty() {
        out.say("[renew] No static Pod reads the renewed certificates: nothing to restart");
        return Ok(());
    }
    if !host.is_real_root() && !host.path(paths::MANIFESTS_DIR).is_dir() {
        out.say(&format!("[renew] No {} under --root: no static Pod to restart", paths::MANIFESTS_DIR));
        return Ok(());
    }
    out.say(&format!("[renew] Restarting the static Pods that use them, one at a time: {}", pods.join(", ")));
    for pod in pods {
        restart::restart(host, pod, cfg.timeouts.control_plane_component_health_check, out)?;
    }
    Ok(())
}

/// The kbinit a systemd service runs: `binary` (`--kbinit-path`), else this executable; it must be an absolute
/// path systemd's `ExecStart=` takes as it is.
pub(crate) fn kbinit_path(binary: Option<&str>) -> anyhow::Result<String> {
    let binary = match binary {
        Some(b) => b.to_string(),
        None => std::env::current_exe()
            .and_then(std::fs::canonicalize)
            .map_err(|e| anyhow::anyhow!("cannot tell where this kbinit is ({e}): give --kbinit-path"))?
            .display()
            .to_string(),
    };
    if !binary.starts_with('/') || binary.chars().any(|c| c.is_whitespace() || c == '%' || c == '\\') {
        return Err(invalid(format!(
            "--kbinit-path {binary:?}: must be an absolute path without spaces, '%' or '\\' (systemd's ExecStart)"
        )));
    }
    Ok(binary)
}

/// `certs renew-timer install`: writes the service and timer under `--root`; on `/` also reloads systemd and
/// enables the timer. `binary` overrides the kbinit path the service runs (default: this executable).
pub fn timer_install(host: &Host, binary: Option<&str>, out: &Output) -> anyhow::Result<()> {
    let binary = kbinit_path(binary)?;
    for (path, text) in timer::units(&binary) {
        host.write(&path, text.as_bytes(), 0o644)?;
        out.say(&format!("[renew-timer] Wrote {path:?}"));
    }
    if host.is_real_root() && services::has_systemd() {
        services::systemctl(&["daemon-reload"])?;
        services::systemctl(&["enable", "--now", timer::TIMER])?;
        out.say(&format!("[renew-timer] Enabled and started {}", timer::TIMER));
    } else {
        out.say(&format!(
            "[renew-timer] Not enabling {} (--root is not / or there is no systemd): run 'systemctl enable --now {}' on the node",
            timer::TIMER,
            timer::TIMER
        ));
    }
    Ok(())
}

/// `certs renew-timer uninstall`: on `/` disables the timer first, then removes both units (absent ones are
/// fine) and reloads systemd.
pub fn timer_uninstall(host: &Host, out: &Output) -> anyhow::Result<()> {
    let live = host.is_real_root() && services::has_systemd();
    if live && let Err(e) = services::systemctl(&["disable", "--now", timer::TIMER]) {
        out.warn(&format!("{e:#}"));
    }
    for (path, _) in timer::units("/") {
        if host.path(&path).exists() {
            host.remove_file(&path)?;
            out.say(&format!("[renew-timer] Removed {path:?}"));
        }
    }
    if live {
        services::systemctl(&["daemon-reload"])?;
    }
    Ok(())
}
