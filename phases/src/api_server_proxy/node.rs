//! What the proxy changes on a node: the systemd unit that runs `kbinit api-server-proxy run`, and the
//! kubelet's kubeconfigs pointed at `https://127.0.0.1:PORT` with `tls-server-name: kubernetes` (admin.conf and
//! the control-plane components' kubeconfigs are left as kubeadm writes them).
//!
//! Why a systemd unit rather than a static Pod: the kubelet is the proxy's main client, and a static Pod would
//! make the kubelet (and the container runtime) a precondition of the path the kubelet itself needs to reach the
//! API; a unit ordered `Before=kubelet.service` with `Restart=always` is up before the kubelet after a reboot,
//! is restarted within a second when it dies, needs no image at all, and runs the very binary that installed it.
//!
//! The kubelet drops `tls-server-name` when it writes kubelet.conf after its TLS bootstrap (kubelet
//! `pkg/kubelet/certificate/bootstrap/bootstrap.go`, `writeKubeconfigFromBootstrapping`, keeps only `server`,
//! `insecure-skip-tls-verify` and the CA), so [`add_tls_server_name`] puts it back once the file appears.

use serde_json::Value;

use super::{ApiServerProxySettings, TLS_SERVER_NAME};
use crate::Error;
use crate::plan::{FileKind, NodeView, Step};

/// The unit's name.
pub const UNIT_NAME: &str = "kbinit-api-server-proxy.service";
/// The unit file.
pub const UNIT_PATH: &str = "/etc/systemd/system/kbinit-api-server-proxy.service";
/// The proxy's state directory (the cached endpoint list).
pub const STATE_DIR: &str = "/var/lib/kbinit/api-server-proxy";
/// The status snapshot directory.
pub const RUN_DIR: &str = "/run/kbinit/api-server-proxy";
/// The kubelet's kubeconfigs the proxy is put in front of.
pub const KUBELET_KUBECONFIGS: [&str; 2] = ["/etc/kubernetes/bootstrap-kubelet.conf", "/etc/kubernetes/kubelet.conf"];

/// `https://127.0.0.1:PORT`.
pub fn proxy_server(port: u16) -> String {
    format!("https://127.0.0.1:{port}")
}

fn parse(text: &str) -> Result<Value, Error> {
    let doc = crate::go_format::yaml::from_yaml(text)?;
    if doc.get("clusters").and_then(Value::as_array).is_none() {
        return Err(Error::Document("not a kubeconfig: no clusters".into()));
    }
    Ok(doc)
}

fn clusters(doc: &mut Value) -> impl Iterator<Item = &mut serde_json::Map<String, Value>> {
    doc["clusters"]
        .as_array_mut()
        .into_iter()
        .flatten()
        .filter_map(|c| c.get_mut("cluster"))
        .filter_map(Value::as_object_mut)
}

/// Every cluster of the kubeconfig pointed at the proxy, verified as `kubernetes`.
pub fn point_at_proxy(text: &str, port: u16) -> Result<String, Error> {
    let mut doc = parse(text)?;
    for c in clusters(&mut doc) {
        c.insert("server".into(), Value::String(proxy_server(port)));
        c.insert("tls-server-name".into(), Value::String(TLS_SERVER_NAME.into()));
    }
    Ok(crate::go_format::yaml::to_yaml(&doc))
}

/// Every cluster pointed back at `server` (uninstall), `tls-server-name` removed.
pub fn point_back(text: &str, server: &str) -> Result<String, Error> {
    let mut doc = parse(text)?;
    for c in clusters(&mut doc) {
        c.insert("server".into(), Value::String(server.into()));
        c.remove("tls-server-name");
    }
    Ok(crate::go_format::yaml::to_yaml(&doc))
}

/// For a kubelet.conf the kubelet wrote: `Some(fixed text)` when a cluster points at the proxy without
/// `tls-server-name`, else `None`.
pub fn add_tls_server_name(text: &str, port: u16) -> Result<Option<String>, Error> {
    let mut doc = parse(text)?;
    let mut changed = false;
    for c in clusters(&mut doc) {
        if c.get("server").and_then(Value::as_str) == Some(proxy_server(port).as_str())
            && !c.contains_key("tls-server-name")
        {
            c.insert("tls-server-name".into(), Value::String(TLS_SERVER_NAME.into()));
            changed = true;
        }
    }
    Ok(changed.then(|| crate::go_format::yaml::to_yaml(&doc)))
}

/// The server URL of the kubeconfig's first cluster.
pub fn server_of(text: &str) -> Result<String, Error> {
    let doc = parse(text)?;
    doc.pointer("/clusters/0/cluster/server")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| Error::Document("the kubeconfig's first cluster has no server".into()))
}

/// kube-proxy's `kubeconfig.conf` (kubeadm's fixed text layout) pointed at the proxy: the `server:` line
/// replaced, `tls-server-name:` added after it. kube-proxy runs with the host's network, so 127.0.0.1 is the
/// node's own proxy.
pub fn kube_proxy_kubeconfig(text: &str, port: u16) -> String {
    text.split('\n')
        .flat_map(|line| match line.strip_prefix("    server: ") {
            Some(_) => {
                vec![format!("    server: {}", proxy_server(port)), format!("    tls-server-name: {TLS_SERVER_NAME}")]
            }
            None if line.starts_with("    tls-server-name: ") => vec![],
            None => vec![line.to_string()],
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The systemd unit running `binary api-server-proxy run` with the port and the servers to start from.
pub fn unit_file(binary: &str, settings: &ApiServerProxySettings, seeds: &[String]) -> String {
    let mut exec = format!("{binary} api-server-proxy run --port {}", settings.port);
    for s in seeds {
        exec.push_str(&format!(" --server {s}"));
    }
    format!(
        "# Written by kbinit: the node-local API server proxy (127.0.0.1:{port} to every kube-apiserver).\n\
         # Remove with `kbinit api-server-proxy uninstall` (or `kbinit reset`).\n\
         [Unit]\n\
         Description=kbinit node-local API server proxy on 127.0.0.1:{port}\n\
         Wants=network-online.target\n\
         After=network-online.target\n\
         Before=kubelet.service\n\
         \n\
         [Service]\n\
         ExecStart={exec}\n\
         Restart=always\n\
         RestartSec=1\n\
         \n\
         [Install]\n\
         WantedBy=multi-user.target\n",
        port = settings.port
    )
}

/// `true` when `text` is a unit [`unit_file`] wrote (its first line) that runs the proxy on `port`: what
/// preflight takes, on a re-run, as this node's own proxy holding the port. The servers and the binary's path
/// are not compared: they may differ between runs (another endpoint, kbinit installed elsewhere) while the port
/// is still held by the same proxy.
pub fn is_own_unit(text: &str, port: u16) -> bool {
    let wanted = format!(" api-server-proxy run --port {port}");
    text.starts_with("# Written by kbinit: the node-local API server proxy")
        && text.lines().filter_map(|l| l.strip_prefix("ExecStart=")).any(|exec| {
            exec.find(&wanted).is_some_and(|at| matches!(exec[at + wanted.len()..].chars().next(), None | Some(' ')))
        })
}

/// What installing the proxy on a node writes: the unit, and each kubelet kubeconfig that exists (or is about
/// to be written: `pending`, node path → text) pointed at the proxy.
pub fn plan_install(
    binary: &str,
    settings: &ApiServerProxySettings,
    seeds: &[String],
    view: &dyn NodeView,
) -> Result<Vec<Step>, Error> {
    let mut steps = vec![
        Step::say(format!(
            "[api-server-proxy] Writing the systemd unit {UNIT_PATH:?}: 127.0.0.1:{} to the API servers {}",
            settings.port,
            seeds.join(", ")
        )),
        Step::EnsureDir { path: STATE_DIR.into(), mode: 0o755 },
        Step::write(UNIT_PATH, unit_file(binary, settings, seeds), FileKind::Kubelet),
    ];
    for path in KUBELET_KUBECONFIGS {
        let Some(bytes) = view.read(path) else { continue };
        let text = String::from_utf8(bytes).map_err(|_| Error::Document(format!("{path} is not UTF-8")))?;
        let new = point_at_proxy(&text, settings.port).map_err(|e| Error::Document(format!("{path}: {e}")))?;
        if new != text {
            steps.push(Step::say(format!(
                "[api-server-proxy] Pointing {path:?} at {} (tls-server-name {TLS_SERVER_NAME})",
                proxy_server(settings.port)
            )));
            steps.push(Step::write(path, new, FileKind::Kubeconfig));
        }
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const KC: &str = "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: Zm9v\n    server: https://10.0.0.1:6443\n  name: kubernetes\ncontexts: []\nkind: Config\nusers: []\n";

    #[test]
    fn own_unit_is_recognised_by_its_marker_and_port() {
        let unit = unit_file("/usr/bin/kbinit", &ApiServerProxySettings { port: 7445 }, &["10.0.0.1:6443".into()]);
        assert!(is_own_unit(&unit, 7445));
        assert!(!is_own_unit(&unit, 744), "a port that is a prefix of the unit's is another port");
        assert!(!is_own_unit(&unit, 7446));
        let bare = unit_file("/usr/bin/kbinit", &ApiServerProxySettings { port: 7445 }, &[]);
        assert!(is_own_unit(&bare, 7445), "no --server after the port");
        let foreign = unit.replace("# Written by kbinit", "# Written by hand");
        assert!(!is_own_unit(&foreign, 7445));
    }

    #[test]
    fn kubeconfig_to_the_proxy_and_back() {
        let there = point_at_proxy(KC, 7445).unwrap();
        let doc = crate::go_format::yaml::from_yaml(&there).unwrap();
        assert_eq!(doc["clusters"][0]["cluster"]["server"], "https://127.0.0.1:7445");
        assert_eq!(doc["clusters"][0]["cluster"]["tls-server-name"], "kubernetes");
        assert_eq!(doc["clusters"][0]["cluster"]["certificate-authority-data"], "Zm9v");
        assert_eq!(
            point_back(&there, "https://10.0.0.1:6443").unwrap(),
            crate::go_format::yaml::to_yaml(&crate::go_format::yaml::from_yaml(KC).unwrap())
        );
        assert_eq!(add_tls_server_name(&there, 7445).unwrap(), None);
        let kubelet_written = there.replace("    tls-server-name: kubernetes\n", "");
        assert_eq!(add_tls_server_name(&kubelet_written, 7445).unwrap().as_deref(), Some(there.as_str()));
        assert!(point_at_proxy("not: a kubeconfig", 7445).is_err());
    }

    #[test]
    fn kube_proxy_text_layout_keeps_its_order() {
        let text = "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority: /ca.crt\n    server: https://10.0.0.1:6443\n  name: default";
        let want = "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority: /ca.crt\n    server: https://127.0.0.1:7445\n    tls-server-name: kubernetes\n  name: default";
        assert_eq!(kube_proxy_kubeconfig(text, 7445), want);
        assert_eq!(kube_proxy_kubeconfig(want, 7445), want, "a re-run converges");
    }

    #[test]
    fn unit_runs_the_proxy_before_the_kubelet_and_restarts_it() {
        let unit = unit_file("/usr/bin/kbinit", &ApiServerProxySettings { port: 7445 }, &["10.0.0.1:6443".into()]);
        assert!(unit.contains("ExecStart=/usr/bin/kbinit api-server-proxy run --port 7445 --server 10.0.0.1:6443\n"));
        assert!(unit.contains("Before=kubelet.service") && unit.contains("Restart=always"));
    }
}
