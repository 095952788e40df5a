//! Re-running join on a node where an earlier join of this same node stopped (an error, Ctrl-C, kill -9), the
//! flow's side (preflight is handed the result as a [`Leftovers`] value): the files it left, and the ports its components hold, are recognised as its own and reused (said so) instead of
//! failing preflight the way kubeadm does (`FileAvailable--etc-kubernetes-kubelet.conf`, `Port-6443`, …).
//!
//! - `kubelet.conf` / `bootstrap-kubelet.conf` are this join's when they point at the discovery endpoint (or,
//!   on a control-plane node, at its own API server, as from v1.33) and carry a CA that one of the configured `caCertHashes` pins (file discovery cannot tell: they stay findings);
//! - a control-plane manifest is this join's when it is byte for byte what this join renders now; the etcd
//!   manifest (whose member list changes) when it runs this node's member (`--name`, its peer URL);
//! - a port is this join's when the component listening on it comes from one of those files, and the etcd data
//!   dir when the etcd manifest is this join's and the dir holds a member.
//!
//! Anything else stays a finding, with kubeadm's name.

use std::collections::BTreeSet;

use base64::Engine as _;
use kbinit_phases::config::{Discovery, EnvVar, InitConfiguration, JoinConfiguration};
use kbinit_phases::join::control_plane;
use kbinit_phases::plan::Step;
use serde_json::Value;

use crate::host::Host;
use crate::preflight::leftovers::{Leftovers, manifest_path};

/// `true` when the kubeconfig at `path` is one this join's kubelet-start (or the kubelet's TLS bootstrap after
/// it) wrote for this same cluster: the discovery endpoint as its server, a CA the configured pins accept.
pub fn own_kubelet_kubeconfig(cfg: &JoinConfiguration, host: &Host, path: &str) -> bool {
    let Discovery::BootstrapToken { api_server_endpoint, ca_cert_hashes, .. } = &cfg.discovery else {
        return false;
    };
    let Some(doc) =
        host.read(path).ok().and_then(|b| kbinit_phases::go_format::yaml::from_yaml(&String::from_utf8_lossy(&b)).ok())
    else {
        return false;
    };
    let Some(cluster) = doc.pointer("/clusters/0/cluster") else { return false };
    // the discovery endpoint, or (a control-plane node from v1.33) this node's own API server
    let mut servers = vec![format!("https://{api_server_endpoint}")];
    if let Some(cp) = &cfg.control_plane {
        servers.push(kbinit_phases::kubeconfig::local_endpoint(&kbinit_phases::config::NodeIdentity {
            name: cfg.node_registration.name.clone(),
            advertise_address: cp.local_api_endpoint.advertise_address,
            bind_port: cp.local_api_endpoint.bind_port,
        }));
    }
    if !cluster.get("server").and_then(Value::as_str).is_some_and(|s| servers.iter().any(|w| w == s)) {
        return false;
    }
    let Some(ca) = cluster
        .get("certificate-authority-data")
        .and_then(Value::as_str)
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
    else {
        return false;
    };
    let pins = kbinit_phases::kubeconfig::ca_pins(&ca).unwrap_or_default();
    pins.iter().any(|p| ca_cert_hashes.iter().any(|want| want.eq_ignore_ascii_case(p)))
}

/// The control-plane manifests on the node that this join wrote for this node (node paths).
pub fn own_manifests(init: &InitConfiguration, host: &Host, proxy_env: &[EnvVar]) -> BTreeSet<String> {
    let mut own = BTreeSet::new();
    if let Ok(steps) = control_plane::plan_control_plane(init, host, proxy_env) {
        for s in steps {
            if let Step::WriteFile { path, bytes, .. } = s
                && host.read(&path).is_ok_and(|got| got == bytes)
            {
                own.insert(path);
            }
        }
    }
    let etcd = manifest_path("etcd");
    if runs_own_member(init, host, &etcd) {
        own.insert(etcd);
    }
    own
}

/// `true` when the etcd manifest at `path` runs this node's member: its name and peer URL.
fn runs_own_member(init: &InitConfiguration, host: &Host, path: &str) -> bool {
    let Some(doc) =
        host.read(path).ok().and_then(|b| kbinit_phases::go_format::yaml::from_yaml(&String::from_utf8_lossy(&b)).ok())
    else {
        return false;
    };
    let node = init.node();
    let peer = kbinit_phases::join::etcd::peer_url(&node);
    let args: Vec<&str> = doc
        .pointer("/spec/containers/0/command")
        .and_then(Value::as_array)
        .map(|c| c.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    args.contains(&format!("--name={}", node.name).as_str())
        && args.contains(&format!("--initial-advertise-peer-urls={peer}").as_str())
}

/// What join's first preflight is told: the kubelet kubeconfigs on the node that this join wrote.
pub fn node_leftovers(cfg: &JoinConfiguration, host: &Host) -> Leftovers {
    let mut own = BTreeSet::new();
    for file in ["kubelet.conf", "bootstrap-kubelet.conf"] {
        let path = kbinit_phases::paths::join(kbinit_phases::paths::KUBERNETES_DIR, file);
        if own_kubelet_kubeconfig(cfg, host, &path) {
            own.insert(path);
        }
    }
    Leftovers { own, ..Leftovers::default() }
}

/// What the control-plane part of join's preflight is told: this join's own manifests.
pub fn control_plane_leftovers(init: &InitConfiguration, host: &Host, proxy_env: &[EnvVar]) -> Leftovers {
    Leftovers { own: own_manifests(init, host, proxy_env), ..Leftovers::default() }
}
