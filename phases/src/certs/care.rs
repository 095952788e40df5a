//! Certificate care without an operator (`certs renew … --if-expiring-within`): which renewable certificates
//! (see [`super::renew`]) expire within a window, which static Pod uses each one, and the order the binary
//! restarts those Pods in. The binary does the renewing (with [`super::renew::plan_renew`]) and the restarts.
//!
//! Which component reads which file (from the flags of kubeadm's static Pod manifests):
//! - kube-apiserver: `apiserver` (serving), `apiserver-kubelet-client`, `front-proxy-client`,
//!   `apiserver-etcd-client`;
//! - etcd: `etcd-server`, `etcd-peer`; `etcd-healthcheck-client` is only used by probes and etcdctl, which read
//!   it afresh on every call, so it needs no restart;
//! - kube-controller-manager: `controller-manager.conf`; kube-scheduler: `scheduler.conf`;
//! - `admin.conf` and `super-admin.conf` are read by clients on each run: no restart.
//!
//! Restart order: etcd first (the API server depends on it), then the API server, then its clients.

use std::time::Duration;

use serde_json::Value;
use time::OffsetDateTime;

use super::renew::{ca_external, load_target, renewables};
use crate::Error;
use crate::config::ClusterConfiguration;
use crate::go_format::duration::parse_duration;
use crate::plan::NodeView;

/// The static Pods that may need a restart, in the order they are restarted.
pub const RESTART_ORDER: [&str; 4] = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"];

/// The static Pod that must restart to use a renewed certificate (by `certs renew` name), if any.
pub fn component_of(cert: &str) -> Option<&'static str> {
    match cert {
        "apiserver" | "apiserver-kubelet-client" | "front-proxy-client" | "apiserver-etcd-client" => {
            Some("kube-apiserver")
        }
        "etcd-server" | "etcd-peer" => Some("etcd"),
        "controller-manager.conf" => Some("kube-controller-manager"),
        "scheduler.conf" => Some("kube-scheduler"),
        _ => None, // admin.conf, super-admin.conf, etcd-healthcheck-client
    }
}

/// The static Pods to restart after renewing `certs`, each once, in [`RESTART_ORDER`].
pub fn restarts_for(certs: &[&str]) -> Vec<&'static str> {
    let wanted: Vec<&str> = certs.iter().filter_map(|c| component_of(c)).collect();
    RESTART_ORDER.into_iter().filter(|c| wanted.contains(c)).collect()
}

/// Parses `--if-expiring-within`: a Go duration (`720h`) or whole days first (`30d`, `1d12h`).
pub fn parse_window(text: &str) -> Result<Duration, Error> {
    let bad = |why: String| Error::invalid("--if-expiring-within", text, why);
    let t = text.trim();
    if t.is_empty() {
        return Err(bad("empty: give a duration such as 30d or 720h".into()));
    }
    let (days, rest) = match t.split_once('d') {
        Some((d, rest)) => {
            let days: u64 = d.parse().map_err(|_| bad("days must be a whole number, as in 30d".into()))?;
            (days, rest)
        }
        None => (0, t),
    };
    let rest = if rest.is_empty() { Duration::ZERO } else { parse_duration(rest).map_err(bad)? };
    days.checked_mul(86_400)
        .map(Duration::from_secs)
        .and_then(|d| d.checked_add(rest))
        .ok_or_else(|| bad("too long".into()))
}

/// A renewable certificate that expires within the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// Its `certs renew` name (`apiserver`, `scheduler.conf`, …).
    pub name: &'static str,
    /// Its NotAfter.
    pub expires: OffsetDateTime,
    /// Its CA has no key on the node: kbinit cannot renew it.
    pub external: bool,
}

/// The certificates `name` (`all` or one name) selects that exist and expire before `now + window`, sorted by
/// name. Missing ones are not due (there is nothing to renew).
pub fn due(
    name: &str,
    cluster: &ClusterConfiguration,
    kubeconfig_dir: &str,
    view: &dyn NodeView,
    now: OffsetDateTime,
    window: Duration,
) -> Result<Vec<Due>, Error> {
    let deadline = now + window;
    let mut out = Vec::new();
    for r in renewables(cluster, kubeconfig_dir).into_iter().filter(|r| name == "all" || r.name == name) {
        let Some(cert) = load_target(cluster, &r.target, view)? else { continue };
        let expires = cert.x509()?.validity().not_after.to_datetime();
        if expires <= deadline {
            out.push(Due { name: r.name, expires, external: ca_external(cluster, view, r.ca_base) });
        }
    }
    Ok(out)
}

/// The URL of a static Pod manifest's liveness probe (`httpGet` of its first container):
/// `scheme://host:port/path` (host 127.0.0.1 when the probe names none; IPv6 bracketed; the path keeps its
/// query). `None` when the manifest has no HTTP liveness probe.
pub fn liveness_url(manifest_yaml: &str) -> Option<String> {
    let pod = crate::go_format::yaml::from_yaml(manifest_yaml).ok()?;
    let get = pod.pointer("/spec/containers/0/livenessProbe/httpGet")?;
    let host = get.get("host").and_then(Value::as_str).filter(|h| !h.is_empty()).unwrap_or("127.0.0.1");
    let port = match get.get("port")? {
        Value::Number(n) => n.as_u64()?.to_string(),
        Value::String(s) if s.parse::<u16>().is_ok() => s.clone(),
        _ => return None,
    };
    let scheme = get.get("scheme").and_then(Value::as_str).unwrap_or("HTTP").to_ascii_lowercase();
    let path = get.get("path").and_then(Value::as_str).unwrap_or("/");
    let host = if host.contains(':') { format!("[{host}]") } else { host.to_string() };
    Some(format!("{scheme}://{host}:{port}{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_in_days_and_go_durations() {
        assert_eq!(parse_window("30d").unwrap(), Duration::from_secs(30 * 86_400));
        assert_eq!(parse_window("720h").unwrap(), Duration::from_secs(30 * 86_400));
        assert_eq!(parse_window("1d12h").unwrap(), Duration::from_secs(36 * 3600));
        assert_eq!(parse_window("0").unwrap(), Duration::ZERO);
        for bad in ["", "d", "1.5d", "-1d", "30x", "thirty"] {
            let e = parse_window(bad).unwrap_err();
            assert!(e.is_invalid_input() && e.to_string().contains("--if-expiring-within"), "{bad}: {e}");
        }
    }

    #[test]
    fn restarts_follow_the_components_in_order_once() {
        let got = restarts_for(&["scheduler.conf", "admin.conf", "front-proxy-client", "apiserver", "etcd-peer"]);
        assert_eq!(got, ["etcd", "kube-apiserver", "kube-scheduler"]);
        assert!(restarts_for(&["admin.conf", "super-admin.conf", "etcd-healthcheck-client"]).is_empty());
    }

    #[test]
    fn due_are_the_existing_certificates_expiring_before_the_window_ends() {
        use crate::certs::tests::{now, reference_cluster, reference_node};
        use crate::certs::{OnDemandKeys, PkiContext, plan_all};
        use crate::config::KeyAlgorithm;
        use crate::plan::MemoryNode;
        let mut cluster = reference_cluster(KeyAlgorithm::EcdsaP256);
        cluster.certificate_validity = Duration::from_secs(2 * 86_400);
        let node = reference_node();
        let ctx = PkiContext { cluster: &cluster, node: &node, now: now() };
        let mut mem = MemoryNode::default();
        mem.absorb(&plan_all(&ctx, &MemoryNode::default(), &OnDemandKeys).unwrap());
        let names = |w: u64| -> Vec<&str> {
            due("all", &cluster, "/etc/kubernetes", &mem, now(), Duration::from_secs(w))
                .unwrap()
                .iter()
                .map(|d| d.name)
                .collect()
        };
        // the seven leaves (kubeconfigs are missing: not due), sorted by name; none is due within a day
        assert_eq!(
            names(30 * 86_400),
            [
                "apiserver",
                "apiserver-etcd-client",
                "apiserver-kubelet-client",
                "etcd-healthcheck-client",
                "etcd-peer",
                "etcd-server",
                "front-proxy-client"
            ]
        );
        assert!(names(86_400).is_empty());
        let one = due("etcd-peer", &cluster, "/etc/kubernetes", &mem, now(), Duration::from_secs(3 * 86_400)).unwrap();
        assert_eq!((one.len(), one[0].name, one[0].external), (1, "etcd-peer", false));
        assert_eq!(one[0].expires, now() + Duration::from_secs(2 * 86_400));
    }

    #[test]
    fn liveness_urls_of_kubeadm_manifests() {
        let apiserver = "spec:\n  containers:\n  - livenessProbe:\n      httpGet:\n        host: 10.0.0.10\n        path: /livez\n        port: 6443\n        scheme: HTTPS\n";
        assert_eq!(liveness_url(apiserver).as_deref(), Some("https://10.0.0.10:6443/livez"));
        let etcd = "spec:\n  containers:\n  - livenessProbe:\n      httpGet:\n        host: ::1\n        path: /health?exclude=NOSPACE&serializable=true\n        port: 2381\n";
        assert_eq!(liveness_url(etcd).as_deref(), Some("http://[::1]:2381/health?exclude=NOSPACE&serializable=true"));
        assert_eq!(liveness_url("spec:\n  containers:\n  - name: x\n"), None);
    }
}
