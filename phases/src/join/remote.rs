//! What a joining node reads from the cluster, decoded into the configuration the planners use: the
//! ClusterConfiguration in `kube-system/kubeadm-config` (§O.2) and the KubeletConfiguration in
//! `kube-system/kubelet-config` (§E.4).
//!
//! The ClusterConfiguration goes through [`crate::config::load_init`], so a stored document gets exactly the
//! decoding, defaulting and validation a `--config` file gets on init. Errors name the ConfigMap and the field.

use k8s_openapi::api::core::v1::ConfigMap;
use serde_json::Value;

use crate::Error;
use crate::config::{ClusterConfiguration, HostFacts, InitFlags, Loaded};

/// `kube-system/kubeadm-config`.
pub const KUBEADM_CONFIG: &str = "kube-system/kubeadm-config";
/// The key of kubeadm-config that holds the ClusterConfiguration.
pub const CLUSTER_CONFIGURATION_KEY: &str = "ClusterConfiguration";
/// `kube-system/kubelet-config`.
pub const KUBELET_CONFIG: &str = "kube-system/kubelet-config";
/// The key of kubelet-config that holds the KubeletConfiguration.
pub const KUBELET_KEY: &str = "kubelet";

fn value_of<'a>(cm: &'a ConfigMap, key: &str, name: &str) -> Result<&'a str, Error> {
    cm.data.as_ref().and_then(|d| d.get(key)).map(String::as_str).filter(|s| !s.trim().is_empty()).ok_or_else(|| {
        Error::Document(format!(
            "the {name} ConfigMap has no {key:?} key: the cluster was not set up by kbinit or kubeadm init, or its \
             upload-config phase did not run"
        ))
    })
}

/// The ClusterConfiguration stored in the kubeadm-config ConfigMap (`kubeadm.k8s.io/v1beta3` or `v1beta4`), with
/// kubeadm's defaulting. Warnings (unknown fields, ignored SANs, deprecations) come back prefixed with the
/// ConfigMap's name.
pub fn cluster_configuration(cm: &ConfigMap) -> Result<Loaded<ClusterConfiguration>, Error> {
    let text = value_of(cm, CLUSTER_CONFIGURATION_KEY, KUBEADM_CONFIG)?;
    let place = format!("{KUBEADM_CONFIG} ConfigMap, key {CLUSTER_CONFIGURATION_KEY}");
    let docs = crate::go_format::yaml::documents(text).map_err(|e| Error::Document(format!("{place}: {e}")))?;
    let kind = |d: &Value| d.get("kind").and_then(Value::as_str).map(str::to_string);
    match docs.as_slice() {
        [one] if kind(one).as_deref() == Some("ClusterConfiguration") => {}
        [one] => {
            return Err(Error::Document(format!(
                "{place}: expected a ClusterConfiguration document, found kind {:?}",
                kind(one).unwrap_or_default()
            )));
        }
        many => {
            return Err(Error::Document(format!("{place}: expected one document, found {}", many.len())));
        }
    }
    // The InitConfiguration part of load_init is defaulted from these facts and thrown away: only the
    // ClusterConfiguration is kept, so they never reach a planner.
    let placeholder = HostFacts {
        hostname: "kubeadm-config".into(),
        default_address: Some(std::net::IpAddr::from([10, 0, 0, 1])),
        cri_sockets: Vec::new(),
        systemd_resolved: false,
    };
    let loaded = crate::config::load_init(Some(text), &InitFlags::default(), &placeholder).map_err(|e| match e {
        Error::Invalid { field, value, reason } => Error::Invalid { field: format!("{place}: {field}"), value, reason },
        Error::Document(m) => Error::Document(format!("{place}: {m}")),
        other => other,
    })?;
    Ok(Loaded {
        config: loaded.config.cluster,
        warnings: loaded.warnings.into_iter().map(|w| format!("{KUBEADM_CONFIG}: {w}")).collect(),
    })
}

/// The KubeletConfiguration stored in the kubelet-config ConfigMap, checked for its apiVersion and kind.
pub fn kubelet_configuration(cm: &ConfigMap) -> Result<Value, Error> {
    let text = value_of(cm, KUBELET_KEY, KUBELET_CONFIG)?;
    let place = format!("{KUBELET_CONFIG} ConfigMap, key {KUBELET_KEY}");
    let doc = crate::go_format::yaml::from_yaml(text).map_err(|e| Error::Document(format!("{place}: {e}")))?;
    let api = doc.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
    if (api, kind) != ("kubelet.config.k8s.io/v1beta1", "KubeletConfiguration") {
        return Err(Error::invalid(
            format!("{place}: apiVersion/kind"),
            format!("{api}/{kind}"),
            "expected kubelet.config.k8s.io/v1beta1 KubeletConfiguration",
        ));
    }
    Ok(doc)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::config::{ApiVersion, Arg, cluster_configuration_document};
    use crate::manifests::fixture;

    fn cm(key: &str, text: String) -> ConfigMap {
        ConfigMap { data: Some(BTreeMap::from([(key.to_string(), text)])), ..Default::default() }
    }

    #[test]
    fn round_trip_through_the_configmap() {
        for api in [ApiVersion::V1beta3, ApiVersion::V1beta4] {
            let mut cluster = fixture::init().cluster;
            if api == ApiVersion::V1beta4 {
                cluster.kubernetes_version = crate::version::KubeVersion::resolve("v1.31.2").unwrap();
            }
            cluster.api_server.cert_sans = vec!["lb.example.com".into(), "10.0.0.99".into()];
            cluster.controller_manager.extra_args = vec![Arg { name: "v".into(), value: "2".into() }];
            let text = crate::go_format::yaml::to_yaml(&cluster_configuration_document(&cluster, 6443, api));
            let loaded = cluster_configuration(&cm(CLUSTER_CONFIGURATION_KEY, text.clone())).unwrap();
            // what upload-config adds (§O.3): before 1.30 the authorization mode; the endpoint already has its port
            let mut expected = cluster.clone();
            if !cluster.kubernetes_version.authorization_mode_in_manifest_only() {
                expected
                    .api_server
                    .component
                    .extra_args
                    .push(Arg { name: "authorization-mode".into(), value: "Node,RBAC".into() });
            }
            assert_eq!(loaded.config, expected, "{api:?}\n{text}");
            // and once uploaded, a second round trip is exact
            let again = crate::go_format::yaml::to_yaml(&cluster_configuration_document(&loaded.config, 6443, api));
            assert_eq!(again, text);
            assert_eq!(cluster_configuration(&cm(CLUSTER_CONFIGURATION_KEY, again)).unwrap().config, loaded.config);
        }
    }

    #[test]
    fn endpoint_port_and_defaults_as_kubeadm_stores_them() {
        let text = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: v1.28.7\n\
controlPlaneEndpoint: lb.example.com:6443\nnetworking:\n  podSubnet: 10.244.0.0/16\n  bogus: 1\n";
        let loaded = cluster_configuration(&cm(CLUSTER_CONFIGURATION_KEY, text.into())).unwrap();
        let c = &loaded.config;
        assert_eq!(c.control_plane_endpoint, "lb.example.com:6443");
        assert_eq!(c.networking.service_subnet, "10.96.0.0/12");
        assert_eq!(c.certificates_dir, "/etc/kubernetes/pki");
        assert_eq!(c.cluster_name, "kubernetes");
        assert_eq!(
            loaded.warnings,
            [
                r#"kube-system/kubeadm-config: unknown field "networking.bogus" in ClusterConfiguration (kubeadm.k8s.io/v1beta3)"#
            ]
        );
    }

    #[test]
    fn errors_name_the_configmap_and_field() {
        let e = cluster_configuration(&ConfigMap::default()).unwrap_err().to_string();
        assert!(e.contains("kube-system/kubeadm-config") && e.contains("\"ClusterConfiguration\""), "{e}");
        let bad = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: v1.28.7\n\
networking:\n  serviceSubnet: not-a-cidr\n";
        let e = cluster_configuration(&cm(CLUSTER_CONFIGURATION_KEY, bad.into())).unwrap_err();
        let Error::Invalid { field, value, .. } = &e else { panic!("{e:?}") };
        assert_eq!(field, "kube-system/kubeadm-config ConfigMap, key ClusterConfiguration: networking.serviceSubnet");
        assert_eq!(value, "not-a-cidr");
        let init = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\n";
        let e = cluster_configuration(&cm(CLUSTER_CONFIGURATION_KEY, init.into())).unwrap_err().to_string();
        assert!(e.contains("found kind \"InitConfiguration\""), "{e}");
        let old = "apiVersion: kubeadm.k8s.io/v1beta2\nkind: ClusterConfiguration\n";
        let e = cluster_configuration(&cm(CLUSTER_CONFIGURATION_KEY, old.into())).unwrap_err().to_string();
        assert!(e.contains("kubeadm-config") && e.contains("apiVersion"), "{e}");
    }

    #[test]
    fn kubelet_config_is_checked() {
        let good = fixture::reference("kubelet-config.yaml");
        let v = kubelet_configuration(&cm(KUBELET_KEY, good)).unwrap();
        assert_eq!(v["clusterDNS"][0], "10.96.0.10");
        let e = kubelet_configuration(&cm(KUBELET_KEY, "apiVersion: v1\nkind: ConfigMap\n".into())).unwrap_err();
        assert!(e.to_string().contains("kube-system/kubelet-config"), "{e}");
        assert!(kubelet_configuration(&ConfigMap::default()).unwrap_err().to_string().contains("\"kubelet\""));
    }
}
