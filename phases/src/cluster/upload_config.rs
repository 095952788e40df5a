//! Phase `upload-config` (§F rows 1–7): the `kubeadm-config` ConfigMap holding the ClusterConfiguration (§O.2,
//! §O.3) with the Role/RoleBinding that lets joining nodes read it, then the `kubelet-config` ConfigMap (§E.4) with
//! its Role/RoleBinding, and — before NodeLocalCRISocket (1.34) — the node's `cri-socket` annotation.

use std::collections::BTreeMap;

use crate::Error;
use crate::api::{ApiOp, ApiStep, NodeChange};
use crate::cluster::rbac::{
    BOOTSTRAPPERS_GROUP, KUBE_SYSTEM, NODES_GROUP, config_map, get_one_role, group, meta, role_binding,
};
use crate::config::{ApiVersion, HostFacts, InitConfiguration, cluster_configuration_document};
use crate::go_format::yaml::to_yaml;
use crate::kubelet::{component_config_hash, kubelet_configuration};

/// Name of the ConfigMap holding the ClusterConfiguration.
pub const KUBEADM_CONFIG: &str = "kubeadm-config";
/// Its data key.
pub const CLUSTER_CONFIGURATION_KEY: &str = "ClusterConfiguration";
/// Name of the ConfigMap holding the cluster-wide KubeletConfiguration.
pub const KUBELET_CONFIG: &str = "kubelet-config";
/// Its data key.
pub const KUBELET_CONFIG_KEY: &str = "kubelet";
/// Annotation carrying the component-config hash of a kubeadm-generated ConfigMap.
pub const COMPONENT_CONFIG_HASH: &str = "kubeadm.kubernetes.io/component-config.hash";
/// Node annotation recording the CRI socket (before NodeLocalCRISocket).
pub const CRI_SOCKET_ANNOTATION: &str = "kubeadm.alpha.kubernetes.io/cri-socket";

/// The API version kbinit stores the ClusterConfiguration in: the newest the target release's kubeadm writes.
pub fn stored_api_version(init: &InitConfiguration) -> ApiVersion {
    if init.cluster.kubernetes_version.has_v1beta4() { ApiVersion::V1beta4 } else { ApiVersion::V1beta3 }
}

/// `upload-config/kubeadm`: the line, the `kube-system/kubeadm-config` ConfigMap and
/// Role/RoleBinding `kubeadm:nodes-kubeadm-config` (bootstrap tokens and nodes may read it).
pub fn plan_upload_kubeadm_config(init: &InitConfiguration) -> Result<Vec<ApiStep>, Error> {
    let doc =
        cluster_configuration_document(&init.cluster, init.local_api_endpoint.bind_port, stored_api_version(init));
    let data = BTreeMap::from([(CLUSTER_CONFIGURATION_KEY.to_string(), to_yaml(&doc))]);
    let cm = config_map(meta(Some(KUBE_SYSTEM), KUBEADM_CONFIG), data);
    let name = "kubeadm:nodes-kubeadm-config";
    Ok(vec![
        ApiStep::say(format!(
            "[upload-config] Storing the configuration used in ConfigMap \"{KUBEADM_CONFIG}\" in the \"{KUBE_SYSTEM}\" \
             Namespace"
        )),
        ApiStep::create_or_update(&cm)?,
        ApiStep::create_or_update(&get_one_role(KUBE_SYSTEM, name, "configmaps", KUBEADM_CONFIG))?,
        ApiStep::create_or_update(&role_binding(
            KUBE_SYSTEM,
            name,
            name,
            vec![group(BOOTSTRAPPERS_GROUP), group(NODES_GROUP)],
        ))?,
    ])
}

/// `upload-config/kubelet`: the line, the `kube-system/kubelet-config` ConfigMap (hash annotation only when the
/// KubeletConfiguration was not supplied by the user), Role/RoleBinding `kubeadm:kubelet-config`, and the node's
/// `cri-socket` annotation unless the release records the socket on the node itself (NodeLocalCRISocket).
pub fn plan_upload_kubelet_config(init: &InitConfiguration, host: &HostFacts) -> Result<Vec<ApiStep>, Error> {
    let data = BTreeMap::from([(KUBELET_CONFIG_KEY.to_string(), to_yaml(&kubelet_configuration(init, host)))]);
    let mut cm = config_map(meta(Some(KUBE_SYSTEM), KUBELET_CONFIG), data.clone());
    if init.kubelet.is_none() {
        cm.metadata.annotations =
            Some(BTreeMap::from([(COMPONENT_CONFIG_HASH.to_string(), component_config_hash(&data))]));
    }
    let name = "kubeadm:kubelet-config";
    let mut steps = vec![
        ApiStep::say(format!(
            "[kubelet] Creating a ConfigMap \"{KUBELET_CONFIG}\" in namespace {KUBE_SYSTEM} with the configuration \
             for the kubelets in the cluster"
        )),
        ApiStep::create_or_update(&cm)?,
        ApiStep::create_or_update(&get_one_role(KUBE_SYSTEM, name, "configmaps", KUBELET_CONFIG))?,
        ApiStep::create_or_update(&role_binding(
            KUBE_SYSTEM,
            name,
            name,
            vec![group(NODES_GROUP), group(BOOTSTRAPPERS_GROUP)],
        ))?,
    ];
    if !crate::kubelet::cri_socket_recorded_locally(&init.cluster) {
        steps.push(ApiStep::op(ApiOp::PatchNode {
            name: init.node_registration.name.clone(),
            change: NodeChange {
                annotations: BTreeMap::from([(
                    CRI_SOCKET_ANNOTATION.to_string(),
                    init.node_registration.cri_socket.clone(),
                )]),
                ..Default::default()
            },
        }));
    }
    Ok(steps)
}

/// The whole `upload-config` phase: [`plan_upload_kubeadm_config`] then [`plan_upload_kubelet_config`].
pub fn plan_upload_config(init: &InitConfiguration, host: &HostFacts) -> Result<Vec<ApiStep>, Error> {
    let mut steps = plan_upload_kubeadm_config(init)?;
    steps.extend(plan_upload_kubelet_config(init, host)?);
    Ok(steps)
}
