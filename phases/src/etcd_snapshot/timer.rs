//! The systemd units of `etcd snapshot-timer install`: a oneshot service that takes a snapshot and then prunes to
//! the newest N (a failed save stops the service before the prune, so a bad night never costs a good snapshot),
//! and a timer on the operator's schedule (`OnCalendar=`, default daily; `Persistent=true` catches up a run
//! missed while the machine was off; `RandomizedDelaySec` spreads the control-plane nodes). The service runs only
//! on a control-plane node (where the kube-apiserver manifest is). The same shape as `certs renew-timer`
//! ([`crate::certs::timer`]); names and texts are kbinit's own.

use crate::{Error, paths};

/// Where the units go.
pub const UNIT_DIR: &str = "/etc/systemd/system";
/// The service's file name.
pub const SERVICE: &str = "kbinit-etcd-snapshot.service";
/// The timer's file name (the unit `systemctl enable` gets).
pub const TIMER: &str = "kbinit-etcd-snapshot.timer";
/// `--schedule` unless given.
pub const DEFAULT_SCHEDULE: &str = "daily";
/// `--keep` unless given.
pub const DEFAULT_KEEP: usize = 7;

/// What kbinit itself can tell about a `--schedule` before systemd judges it (`systemd-analyze calendar`, where
/// it exists): not empty, one line, no characters systemd would take as a specifier or escape.
pub fn check_schedule(schedule: &str) -> Result<(), Error> {
    let bad = schedule.trim().is_empty() || schedule.chars().any(|c| c.is_control() || c == '%' || c == '\\');
    if bad {
        return Err(Error::invalid(
            "--schedule",
            schedule,
            "must be a systemd calendar expression (systemd.time(7)), e.g. daily or *-*-* 02:30:00",
        ));
    }
    Ok(())
}

/// The two unit files: (node path, text), service first. `binary` is kbinit's absolute path on the node, `dir`
/// the snapshot directory.
pub fn units(binary: &str, schedule: &str, keep: usize, dir: &str) -> [(String, String); 2] {
    let service = format!(
        "[Unit]
Description=Take an etcd snapshot and keep the newest {keep} (kbinit)
ConditionPathExists={apiserver}
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
ExecStart={binary} etcd snapshot save --dir {dir}
ExecStart={binary} etcd snapshot prune --keep {keep} --dir {dir}
",
        apiserver = paths::join(paths::MANIFESTS_DIR, "kube-apiserver.yaml"),
    );
    let timer = format!(
        "[Unit]
Description=etcd snapshots on a schedule (kbinit)

[Timer]
OnCalendar={schedule}
Persistent=true
RandomizedDelaySec=10min
Unit={SERVICE}

[Install]
WantedBy=timers.target
"
    );
    [(paths::join(UNIT_DIR, SERVICE), service), (paths::join(UNIT_DIR, TIMER), timer)]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn service_saves_then_prunes_and_timer_follows_the_schedule() {
        let [(sp, service), (tp, timer)] =
            units("/usr/bin/kbinit", "*-*-* 02:30:00", 5, "/var/lib/kbinit/etcd-snapshots");
        assert_eq!(sp, "/etc/systemd/system/kbinit-etcd-snapshot.service");
        assert_eq!(tp, "/etc/systemd/system/kbinit-etcd-snapshot.timer");
        let exec: Vec<&str> = service.lines().filter(|l| l.starts_with("ExecStart=")).collect();
        assert_eq!(
            exec,
            [
                "ExecStart=/usr/bin/kbinit etcd snapshot save --dir /var/lib/kbinit/etcd-snapshots",
                "ExecStart=/usr/bin/kbinit etcd snapshot prune --keep 5 --dir /var/lib/kbinit/etcd-snapshots"
            ]
        );
        assert!(timer.lines().any(|l| l == "OnCalendar=*-*-* 02:30:00"));
        assert!(timer.lines().any(|l| l == "Persistent=true"));
    }

    #[test]
    fn schedules_systemd_would_misread_are_refused() {
        check_schedule("daily").unwrap();
        check_schedule("Mon *-*-* 03:00").unwrap();
        for bad in ["", "  ", "daily\nExecStart=/bin/sh", "50%", "a\\b"] {
            let e = check_schedule(bad).unwrap_err();
            assert!(e.is_invalid_input() && e.to_string().contains("--schedule"), "{bad:?}");
        }
    }
}
