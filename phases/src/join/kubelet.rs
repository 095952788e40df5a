//! `kubelet-start` on join (§K.1, §J step 7): the bootstrap kubeconfig, the cluster CA at `caCertPath`, the
//! cluster's KubeletConfiguration and this node's flags. Stopping and starting the kubelet, waiting for its TLS
//! bootstrap, annotating the Node and deleting bootstrap-kubelet.conf afterwards are the binary's.

use serde_json::Value;

use crate::Error;
use crate::config::{ClusterConfiguration, HostFacts, JoinConfiguration};
use crate::plan::{FileKind, NodeView, Step};
use crate::{kubeconfig, paths};

/// `/etc/kubernetes/bootstrap-kubelet.conf`.
pub const BOOTSTRAP_KUBELET_CONF: &str = "/etc/kubernetes/bootstrap-kubelet.conf";
/// `/etc/kubernetes/kubelet.conf`, written by the kubelet once its TLS bootstrap is done (§C.2).
pub const KUBELET_CONF: &str = "/etc/kubernetes/kubelet.conf";

/// The API server the kubelet bootstraps against: this node's own API server for a control-plane join from 1.33
/// on (ControlPlaneKubeletLocalMode, §P.1), else the server cluster-info named (usually the
/// controlPlaneEndpoint).
pub fn tls_bootstrap_server(
    join: &JoinConfiguration,
    cluster: &ClusterConfiguration,
    cluster_info_server: &str,
) -> String {
    match &join.control_plane {
        Some(cp) if cluster.kubernetes_version.kubelet_local_mode() => {
            let node = crate::config::NodeIdentity {
                name: join.node_registration.name.clone(),
                advertise_address: cp.local_api_endpoint.advertise_address,
                bind_port: cp.local_api_endpoint.bind_port,
            };
            kubeconfig::local_endpoint(&node)
        }
        _ => cluster_info_server.to_string(),
    }
}

/// Everything the join `kubelet-start` files are made of.
#[derive(Debug, Clone, Copy)]
pub struct KubeletStartInputs<'a> {
    /// This node's join configuration (registration, caCertPath, control-plane or not).
    pub join: &'a JoinConfiguration,
    /// The cluster's ClusterConfiguration (kubeadm-config).
    pub cluster: &'a ClusterConfiguration,
    /// The cluster's KubeletConfiguration (kubelet-config, see [`super::remote::kubelet_configuration`]).
    pub kubelet_config: &'a Value,
    /// This host (hostname for `--hostname-override`).
    pub host: &'a HostFacts,
    /// The TLS-bootstrap kubeconfig ([`crate::discovery::tls_bootstrap_kubeconfig`]).
    pub bootstrap_kubeconfig: &'a Value,
    /// The trusted cluster CA (PEM), written to caCertPath when that file does not exist.
    pub ca_pem: &'a [u8],
}

/// The files of join `kubelet-start`, in kubeadm's order: bootstrap-kubelet.conf (0600), the CA at caCertPath
/// (0644, only if absent), kubeadm-flags.env (with `--register-with-taints` for workers only), config.yaml (the
/// cluster's KubeletConfiguration, rendered as the Go serializer would), and from 1.34 instance-config.yaml.
pub fn plan_kubelet_start(inp: &KubeletStartInputs<'_>, view: &dyn NodeView) -> Result<Vec<Step>, Error> {
    let join = inp.join;
    let mut steps = vec![
        Step::EnsureDir { path: paths::KUBERNETES_DIR.into(), mode: 0o755 },
        Step::write(
            BOOTSTRAP_KUBELET_CONF,
            crate::go_format::yaml::to_yaml(inp.bootstrap_kubeconfig),
            FileKind::Kubeconfig,
        ),
    ];
    if !view.exists(&join.ca_cert_path) {
        if let Some((dir, _)) = join.ca_cert_path.rsplit_once('/').filter(|(d, _)| !d.is_empty()) {
            steps.push(Step::EnsureDir { path: dir.to_string(), mode: 0o755 });
        }
        steps.push(Step::write(&join.ca_cert_path, inp.ca_pem.to_vec(), FileKind::Cert));
    }
    let worker = join.control_plane.is_none();
    let env = crate::kubelet::flags_env(&join.node_registration, inp.cluster, inp.host, worker);
    steps.extend(crate::kubelet::kubelet_file_steps(
        inp.cluster,
        &join.node_registration.cri_socket,
        env,
        inp.kubelet_config,
    ));
    Ok(steps)
}
