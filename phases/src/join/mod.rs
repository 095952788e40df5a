//! `kbinit join`'s pure part: from what a joining node read from the cluster to the files it writes.
//!
//! Discovery (trusting the cluster) is [`crate::discovery`]. After it, the node reads kubeadm-config and
//! kubelet-config ([`remote`]), a control-plane node turns them into an InitConfiguration-equivalent for its own
//! files ([`control_plane`]), every node writes its kubelet files ([`kubelet`]), and a stacked-etcd control-plane
//! node joins etcd ([`mod@etcd`]).
//!
//! | module | holds |
//! |---|---|
//! | [`remote`] | kubeadm-config → [`crate::config::ClusterConfiguration`]; kubelet-config → KubeletConfiguration |
//! | [`control_plane`] | the node's InitConfiguration; `control-plane-prepare` certs, kubeconfig, control-plane |
//! | [`kubelet`] | `kubelet-start`: bootstrap-kubelet.conf, caCertPath, kubeadm-flags.env, config.yaml |
//! | [`mod@etcd`] | member to add, learner or not, `--initial-cluster`, the etcd manifest |
//!
//! [`join_phases`] lists the phases in kubeadm's order with what each produces and which function plans it.

pub mod control_plane;
pub mod etcd;
pub mod kubelet;
pub mod remote;

use crate::version::KubeVersion;

/// One phase of `kbinit join`, in execution order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinPhase {
    /// `parent/child` name as `--skip-phases` takes it.
    pub name: &'static str,
    /// A no-op on worker nodes.
    pub control_plane_only: bool,
    /// What it produces, and where it is planned.
    pub produces: &'static str,
}

const fn phase(name: &'static str, control_plane_only: bool, produces: &'static str) -> JoinPhase {
    JoinPhase { name, control_plane_only, produces }
}

const PREFLIGHT: JoinPhase = phase(
    "preflight",
    false,
    "checks; discovery (discovery::verify_cluster_info + same_cluster_info, or discovery::file_discovery); \
     kubeadm-config and kubelet-config read (remote::cluster_configuration, remote::kubelet_configuration); \
     control-plane: control_plane::control_plane_init_configuration (needs a controlPlaneEndpoint)",
);
const DOWNLOAD_CERTS: JoinPhase = phase(
    "control-plane-prepare/download-certs",
    true,
    "with a certificate key: the shared CAs, sa and etcd CA from Secret kube-system/kubeadm-certs \
     (cluster::upload_certs::decode_certs_secret)",
);
const CERTS: JoinPhase = phase(
    "control-plane-prepare/certs",
    true,
    "this node's leaf certificates from the shared CAs (control_plane::plan_certs)",
);
const KUBECONFIG: JoinPhase = phase(
    "control-plane-prepare/kubeconfig",
    true,
    "admin.conf, controller-manager.conf, scheduler.conf (control_plane::plan_kubeconfigs)",
);
const CONTROL_PLANE: JoinPhase = phase(
    "control-plane-prepare/control-plane",
    true,
    "kube-apiserver, kube-controller-manager, kube-scheduler manifests (control_plane::plan_control_plane)",
);
const CHECK_ETCD: JoinPhase =
    phase("check-etcd", true, "nothing written: the stacked etcd cluster must be healthy (binary, etcd client)");
const KUBELET_START: JoinPhase = phase(
    "kubelet-start",
    false,
    "bootstrap-kubelet.conf, caCertPath, kubeadm-flags.env, config.yaml (kubelet::plan_kubelet_start); the binary \
     restarts the kubelet and waits for kubelet.conf",
);
const CP_JOIN_ETCD: JoinPhase = phase(
    "control-plane-join/etcd",
    true,
    "MemberAdd (binary), then the etcd manifest with --initial-cluster-state=existing (etcd::plan_etcd_join)",
);
const ETCD_JOIN: JoinPhase = phase(
    "etcd-join",
    true,
    "MemberAdd as learner (binary), the etcd manifest (etcd::plan_etcd_join), promote (binary)",
);
const KUBELET_WAIT_BOOTSTRAP: JoinPhase =
    phase("kubelet-wait-bootstrap", false, "nothing written: waits for the kubelet's TLS bootstrap (binary)");
const WAIT_CONTROL_PLANE: JoinPhase =
    phase("wait-control-plane", true, "nothing written: waits for the local control-plane components (binary)");
const UPDATE_STATUS: JoinPhase = phase("control-plane-join/update-status", true, "nothing (deprecated no-op)");
const MARK_CONTROL_PLANE: JoinPhase = phase(
    "control-plane-join/mark-control-plane",
    true,
    "the control-plane label and taints on this Node (api::NodeChange, as init)",
);

/// The join phases of a release in execution order (§A.4, §J). Up to 1.32 etcd is joined in
/// `control-plane-join/etcd` after `kubelet-start`; from 1.33 (ControlPlaneKubeletLocalMode) it is joined in
/// `etcd-join` right after `kubelet-start`, followed by `kubelet-wait-bootstrap` and `wait-control-plane`, and
/// `control-plane-join/etcd` is a no-op.
pub fn join_phases(version: &KubeVersion) -> Vec<JoinPhase> {
    let mut list = vec![PREFLIGHT, DOWNLOAD_CERTS, CERTS, KUBECONFIG, CONTROL_PLANE, CHECK_ETCD, KUBELET_START];
    if version.kubelet_local_mode() {
        list.extend([ETCD_JOIN, KUBELET_WAIT_BOOTSTRAP, WAIT_CONTROL_PLANE]);
    }
    list.extend([CP_JOIN_ETCD, UPDATE_STATUS, MARK_CONTROL_PLANE]);
    list
}

#[cfg(test)]
mod tests;
