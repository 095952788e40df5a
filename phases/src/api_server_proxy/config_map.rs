//! What records the proxy setting in the cluster so every `kbinit join` sets the proxy up without being told:
//! the `kube-system/kbinit-api-server-proxy` ConfigMap (the settings document under one key, as kubeadm-config
//! holds the ClusterConfiguration), a Role/RoleBinding letting bootstrap tokens and nodes `get` it (the shape of
//! kubeadm's `kubeadm:nodes-kubeadm-config`), and a Role/RoleBinding in `default` letting nodes read the
//! `kubernetes` Service's EndpointSlices, which is how every proxy learns the API servers (the default
//! `system:node` ClusterRole does not grant EndpointSlices).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::rbac::v1::Role;

use super::{ApiServerProxySettings, KIND, document, from_document};
use crate::Error;
use crate::api::ApiStep;
use crate::cluster::rbac::{
    BOOTSTRAPPERS_GROUP, KUBE_SYSTEM, NODES_GROUP, config_map, get_one_role, group, meta, role_binding, rule,
};

/// The ConfigMap's name (in kube-system).
pub const CONFIG_MAP: &str = "kbinit-api-server-proxy";
/// Its data key.
pub const DATA_KEY: &str = KIND;
/// The Role/RoleBinding that lets joining nodes read the ConfigMap.
pub const CONFIG_READER: &str = "kbinit:nodes-api-server-proxy-config";
/// The Role/RoleBinding (in `default`) that lets nodes list and watch the `kubernetes` EndpointSlices.
pub const ENDPOINTS_READER: &str = "kbinit:api-server-proxy-endpointslices";

/// The ConfigMap and both grants.
pub fn plan_upload(settings: &ApiServerProxySettings) -> Result<Vec<ApiStep>, Error> {
    let data = BTreeMap::from([(DATA_KEY.to_string(), document(settings))]);
    let cm = config_map(meta(Some(KUBE_SYSTEM), CONFIG_MAP), data);
    let slices = Role {
        metadata: meta(Some("default"), ENDPOINTS_READER),
        rules: Some(vec![rule("discovery.k8s.io", &["endpointslices"], &[], &["get", "list", "watch"])]),
    };
    let readers = || vec![group(BOOTSTRAPPERS_GROUP), group(NODES_GROUP)];
    Ok(vec![
        ApiStep::say(format!(
            "[upload-config] Storing the API server proxy setting (127.0.0.1:{}) in ConfigMap \"{CONFIG_MAP}\" in the \
             \"{KUBE_SYSTEM}\" Namespace",
            settings.port
        )),
        ApiStep::create_or_update(&cm)?,
        ApiStep::create_or_update(&get_one_role(KUBE_SYSTEM, CONFIG_READER, "configmaps", CONFIG_MAP))?,
        ApiStep::create_or_update(&role_binding(KUBE_SYSTEM, CONFIG_READER, CONFIG_READER, readers()))?,
        ApiStep::create_or_update(&slices)?,
        ApiStep::create_or_update(&role_binding("default", ENDPOINTS_READER, ENDPOINTS_READER, readers()))?,
    ])
}

/// The settings recorded in the ConfigMap (`None` when it says `enabled: false`).
pub fn from_config_map(cm: &ConfigMap) -> Result<Option<ApiServerProxySettings>, Error> {
    let text = cm
        .data
        .as_ref()
        .and_then(|d| d.get(DATA_KEY))
        .ok_or_else(|| Error::Encode(format!("the ConfigMap {KUBE_SYSTEM}/{CONFIG_MAP} has no {DATA_KEY} key")))?;
    let doc = crate::go_format::yaml::from_yaml(text)?;
    from_document(&doc).map_err(|e| Error::Encode(format!("the ConfigMap {KUBE_SYSTEM}/{CONFIG_MAP}: {e}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::api::ApiOp;

    #[test]
    fn configmap_round_trip_and_grants() {
        let steps = plan_upload(&ApiServerProxySettings { port: 7445 }).unwrap();
        let objects: Vec<_> = steps
            .iter()
            .filter_map(|s| match s {
                ApiStep::Op(op) => match op.as_ref() {
                    ApiOp::Write { object, .. } => Some(object.clone()),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        let keys: Vec<String> = objects.iter().map(|o| format!("{} {}", o.resource.kind, o.key())).collect();
        assert_eq!(
            keys,
            [
                "ConfigMap kube-system/kbinit-api-server-proxy",
                "Role kube-system/kbinit:nodes-api-server-proxy-config",
                "RoleBinding kube-system/kbinit:nodes-api-server-proxy-config",
                "Role default/kbinit:api-server-proxy-endpointslices",
                "RoleBinding default/kbinit:api-server-proxy-endpointslices",
            ]
        );
        let cm: ConfigMap = objects[0].typed().unwrap();
        assert_eq!(from_config_map(&cm).unwrap(), Some(ApiServerProxySettings { port: 7445 }));
        let binding = &objects[2].body;
        assert_eq!(binding["subjects"][0]["name"], BOOTSTRAPPERS_GROUP);
        assert_eq!(objects[1].body["rules"][0]["resourceNames"][0], CONFIG_MAP);
    }
}
