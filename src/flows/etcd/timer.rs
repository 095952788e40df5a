//! `kbinit etcd snapshot-timer install|uninstall`: the service and timer of
//! [`kbinit_phases::etcd_snapshot::timer`], written under `--root` (and on `/` reloaded and enabled), the same
//! way `certs renew-timer` installs its units. A schedule systemd cannot parse is refused before anything is
//! written: kbinit's own check, then `systemd-analyze calendar` where it is installed.

use kbinit_phases::etcd_snapshot::timer;

use super::check_node_dir;
use crate::error::invalid;
use crate::host::{Host, services};
use crate::output::Output;

/// What `snapshot-timer install` was asked.
#[derive(Debug, Clone)]
pub struct TimerOptions {
    /// `--schedule` (systemd `OnCalendar=`).
    pub schedule: String,
    /// `--keep`.
    pub keep: usize,
    /// `--dir`.
    pub dir: String,
    /// `--kbinit-path`.
    pub kbinit_path: Option<String>,
}

/// Asks systemd whether it can parse the schedule, where `systemd-analyze` exists.
fn systemd_accepts(schedule: &str) -> anyhow::Result<()> {
    let Ok(o) = std::process::Command::new("systemd-analyze").args(["calendar", schedule]).output() else {
        return Ok(()); // no systemd-analyze here: kbinit's own check stands
    };
    if o.status.success() {
        return Ok(());
    }
    let why = String::from_utf8_lossy(&o.stderr).trim().to_string();
    Err(invalid(format!("--schedule {schedule:?}: systemd cannot parse it: {why}")))
}

/// `snapshot-timer install`.
pub fn install(host: &Host, o: &TimerOptions, out: &Output) -> anyhow::Result<()> {
    timer::check_schedule(&o.schedule)?;
    if o.keep == 0 {
        return Err(invalid("--keep 0: keep at least one snapshot"));
    }
    check_node_dir("--dir", &o.dir)?;
    if o.dir.chars().any(|c| c.is_whitespace() || c == '%' || c == '\\') {
        return Err(invalid(format!("--dir {:?}: no spaces, '%' or '\\' in a path systemd runs with", o.dir)));
    }
    systemd_accepts(&o.schedule)?;
    let binary = crate::flows::certs::care::kbinit_path(o.kbinit_path.as_deref())?;
    for (path, text) in timer::units(&binary, &o.schedule, o.keep, &o.dir) {
        host.write(&path, text.as_bytes(), 0o644)?;
        out.say(&format!("[snapshot-timer] Wrote {path:?}"));
    }
    if host.is_real_root() && services::has_systemd() {
        services::systemctl(&["daemon-reload"])?;
        services::systemctl(&["enable", "--now", timer::TIMER])?;
        out.say(&format!("[snapshot-timer] Enabled and started {}", timer::TIMER));
    } else {
        out.say(&format!(
            "[snapshot-timer] Not enabling {} (--root is not / or there is no systemd): run 'systemctl enable --now {}' on the node",
            timer::TIMER,
            timer::TIMER
        ));
    }
    Ok(())
}

/// `snapshot-timer uninstall`: disables the timer on `/`, removes both units (absent ones are fine). The
/// snapshots stay.
pub fn uninstall(host: &Host, out: &Output) -> anyhow::Result<()> {
    let live = host.is_real_root() && services::has_systemd();
    if live && let Err(e) = services::systemctl(&["disable", "--now", timer::TIMER]) {
        out.warn(&format!("{e:#}"));
    }
    for (path, _) in timer::units("/", timer::DEFAULT_SCHEDULE, 1, "/") {
        if host.path(&path).exists() {
            host.remove_file(&path)?;
            out.say(&format!("[snapshot-timer] Removed {path:?}"));
        }
    }
    if live {
        services::systemctl(&["daemon-reload"])?;
    }
    Ok(())
}
