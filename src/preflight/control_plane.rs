//! The checks `init` and `join --control-plane` share, written once: CPUs, memory, the Kubernetes version,
//! firewalld, the control-plane ports, the static Pod manifests, the HTTP proxy for the API server and the
//! cluster's ranges, and the local etcd's ports and data dir. What an earlier run left ([`Leftovers`]) turns a
//! finding into a `reusing` note when it is kbinit's own.

use kbinit_phases::config::InitConfiguration;

use super::finding::Finding;
use super::leftovers::{Leftovers, manifest_path, own_manifest_note};
use super::{cidrs, machine, network};
use crate::host::Host;

/// `Port-<p>`, unless the port is free or held by this node's own component from an earlier run (a note then).
pub(super) fn port(cfg: &InitConfiguration, left: &Leftovers, p: u16, f: &mut Vec<Finding>, notes: &mut Vec<String>) {
    if machine::port_in_use(p) {
        match left.port_note(cfg.local_api_endpoint.bind_port, p) {
            Some(note) => notes.push(note),
            None => f.extend(machine::port(p)),
        }
    }
}

/// The shared block before the checks each command adds (§M.2 order): NumCPU, Mem, KubernetesVersion,
/// Firewalld, the API server, scheduler and controller-manager ports, the four manifests, HTTPProxy and
/// HTTPProxyCIDR.
pub(super) fn node(
    cfg: &InitConfiguration,
    host: &Host,
    left: &Leftovers,
    f: &mut Vec<Finding>,
    notes: &mut Vec<String>,
) {
    f.extend(machine::num_cpu());
    f.extend(machine::mem());
    f.extend(machine::kubernetes_version(&cfg.cluster.kubernetes_version));
    f.extend(machine::firewalld(&[cfg.local_api_endpoint.bind_port, 10250]));
    for p in [cfg.local_api_endpoint.bind_port, 10259, 10257] {
        port(cfg, left, p, f, notes);
    }
    for c in ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"] {
        let m = manifest_path(c);
        let Some(mut finding) = machine::file_available(host, &m) else { continue };
        if left.is_own(&m) {
            notes.push(own_manifest_note(&m));
        } else {
            if left.planned.contains(&m) {
                finding
                    .message
                    .push_str(" and differs from what this configuration renders (delete it or run kbinit reset)");
            }
            f.push(finding);
        }
    }
    f.extend(network::http_proxy(&cfg.local_api_endpoint.advertise_address.to_string()));
    let net = &cfg.cluster.networking;
    f.extend(cidrs(&net.service_subnet).chain(cidrs(&net.pod_subnet)).filter_map(network::http_proxy_cidr));
}

/// The local etcd's ports (2379, 2380) and `DirAvailable` for its data dir, which is reused when this node's
/// own etcd manifest runs a member kept there (`member/` inside).
pub(super) fn local_etcd(
    cfg: &InitConfiguration,
    data_dir: &str,
    host: &Host,
    left: &Leftovers,
    f: &mut Vec<Finding>,
    notes: &mut Vec<String>,
) {
    port(cfg, left, 2379, f, notes);
    port(cfg, left, 2380, f, notes);
    if let Some(finding) = machine::dir_available(host, data_dir) {
        // asked here, when the check runs: an earlier run's etcd may still be creating member/
        if left.is_own(&manifest_path("etcd")) && host.path(&kbinit_phases::paths::join(data_dir, "member")).is_dir() {
            notes.push(format!(
                "[preflight] {data_dir} holds this node's etcd member, already present from an earlier run; reusing"
            ));
        } else {
            f.push(finding);
        }
    }
}
