//! The systemd units of `certs renew-timer install`: a oneshot service running `kbinit certs renew all
//! --if-expiring-within 30d`, and a daily timer for it (`Persistent=true`, so a run missed while the machine was
//! off happens at boot; `RandomizedDelaySec`, so the control-plane nodes of a cluster do not restart their
//! static Pods at the same moment). The service runs only where the cluster CA's key is (a control-plane node
//! with a local CA: workers and external-CA nodes have nothing it could renew). Unit names and texts are
//! kbinit's own (kubeadm has no such timer).

use crate::paths;

/// Where the units go (the administrator's unit directory).
pub const UNIT_DIR: &str = "/etc/systemd/system";
/// The service's file name.
pub const SERVICE: &str = "kbinit-certs-renew.service";
/// The timer's file name (the unit `systemctl enable` gets).
pub const TIMER: &str = "kbinit-certs-renew.timer";
/// The window the daily run renews within.
pub const WINDOW: &str = "30d";

/// The two unit files: (node path, text), service first. `binary` is the absolute path of kbinit on the node.
pub fn units(binary: &str) -> [(String, String); 2] {
    let service = format!(
        "[Unit]
Description=Renew this node's Kubernetes certificates that expire within {WINDOW} (kbinit)
Documentation=https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-certs/
ConditionPathExists={pki}/ca.key
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
ExecStart={binary} certs renew all --if-expiring-within {WINDOW}
",
        pki = paths::join(paths::KUBERNETES_DIR, "pki"),
    );
    let timer = format!(
        "[Unit]
Description=Daily renewal of this node's Kubernetes certificates that expire within {WINDOW} (kbinit)

[Timer]
OnCalendar=daily
Persistent=true
RandomizedDelaySec=1h
Unit={SERVICE}

[Install]
WantedBy=timers.target
"
    );
    [(paths::join(UNIT_DIR, SERVICE), service), (paths::join(UNIT_DIR, TIMER), timer)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_runs_the_renewal_and_timer_is_daily_and_persistent() {
        let [(sp, service), (tp, timer)] = units("/usr/local/bin/kbinit");
        assert_eq!(sp, "/etc/systemd/system/kbinit-certs-renew.service");
        assert_eq!(tp, "/etc/systemd/system/kbinit-certs-renew.timer");
        assert!(service.contains("\nConditionPathExists=/etc/kubernetes/pki/ca.key\n"));
        assert!(service.contains("\nExecStart=/usr/local/bin/kbinit certs renew all --if-expiring-within 30d\n"));
        for line in ["OnCalendar=daily", "Persistent=true", "RandomizedDelaySec=1h", "WantedBy=timers.target"] {
            assert!(timer.lines().any(|l| l == line), "{line}");
        }
    }
}
