//! kube-proxy (§F.3): its KubeProxyConfiguration (kubeadm's defaults under the user's), the ConfigMap with the
//! kubeconfig, the DaemonSet and RBAC, in kubeadm's order.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetSpec, DaemonSetStatus, DaemonSetUpdateStrategy};
use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, Container, EnvVar, EnvVarSource, HostPathVolumeSource, ObjectFieldSelector, PodSpec,
    PodTemplateSpec, ResourceRequirements, SecurityContext, ServiceAccount, Toleration, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde_json::{Value, json};

use super::*;
use crate::Error;
use crate::api::{ApiStep, WritePolicy};
use crate::cluster::rbac::{
    BOOTSTRAPPERS_GROUP, KUBE_SYSTEM, cluster_role_binding, config_map, get_one_role, group, meta, role_binding,
    service_account,
};
use crate::cluster::upload_config::COMPONENT_CONFIG_HASH;
use crate::config::{ClusterConfiguration, InitConfiguration};
use crate::go_format::yaml::to_yaml;
use crate::kubeconfig::control_plane_endpoint;
use crate::kubelet::component_config_hash;

pub(super) const KUBE_PROXY: &str = "kube-proxy";

/// kube-proxy's `KubeProxyConfiguration` (v1alpha1) of `version` with every field at its zero value, as Go
/// marshals the struct, before kubeadm's defaults.
pub(super) fn kube_proxy_zero_config(version: &crate::version::KubeVersion) -> Value {
    let mut zero = json!({
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "bindAddress": "",
        "bindAddressHardFail": false,
        "clientConnection": {"acceptContentTypes": "", "burst": 0, "contentType": "", "kubeconfig": "", "qps": 0},
        "clusterCIDR": "",
        "configSyncPeriod": "0s",
        "conntrack": {"maxPerCore": null, "min": null, "tcpCloseWaitTimeout": null, "tcpEstablishedTimeout": null},
        "detectLocal": {"bridgeInterface": "", "interfaceNamePrefix": ""},
        "detectLocalMode": "",
        "enableProfiling": false,
        "healthzBindAddress": "",
        "hostnameOverride": "",
        "iptables": {
            "localhostNodePorts": null, "masqueradeAll": false, "masqueradeBit": null,
            "minSyncPeriod": "0s", "syncPeriod": "0s",
        },
        "ipvs": {
            "excludeCIDRs": null, "minSyncPeriod": "0s", "scheduler": "", "strictARP": false, "syncPeriod": "0s",
            "tcpFinTimeout": "0s", "tcpTimeout": "0s", "udpTimeout": "0s",
        },
        "logging": {"flushFrequency": 0, "options": {"json": {"infoBufferSize": "0"}}, "verbosity": 0},
        "metricsBindAddress": "",
        "mode": "",
        "nodePortAddresses": null,
        "oomScoreAdj": null,
        "portRange": "",
        "showHiddenMetricsForVersion": "",
        "winkernel": {
            "enableDSR": false, "forwardHealthCheckVip": false, "networkName": "", "rootHnsEndpointName": "",
            "sourceVip": "",
        },
    });
    if version.kube_proxy_conntrack_nftables_fields() {
        zero["conntrack"]["tcpBeLiberal"] = json!(false);
        zero["conntrack"]["udpTimeout"] = json!("0s");
        zero["conntrack"]["udpStreamTimeout"] = json!("0s");
        zero["nftables"] =
            json!({"masqueradeAll": false, "masqueradeBit": null, "minSyncPeriod": "0s", "syncPeriod": "0s"});
    }
    if version.kubelet_text_logging_options() {
        // the same component-base logging options as the kubelet's (PR 114672)
        zero["logging"]["options"]["text"] = json!({"infoBufferSize": "0"});
    }
    zero
}

/// The KubeProxyConfiguration kbinit stores (§F.3): a user-supplied document merged over the zero values, then
/// kubeadm's defaults for the fields still empty: `bindAddress` (`0.0.0.0`, `::` for an IPv6 advertise address),
/// `clusterCIDR` (the pod subnet), `clientConnection.kubeconfig`.
pub fn kube_proxy_configuration(init: &InitConfiguration) -> Value {
    let mut config = kube_proxy_zero_config(&init.cluster.kubernetes_version);
    if let Some(user) = &init.kube_proxy {
        crate::patches::overlay_as_go_decodes(&mut config, user);
    }
    let empty = |v: &Value| v.as_str().is_none_or(str::is_empty);
    if empty(&config["bindAddress"]) {
        let any = if init.local_api_endpoint.advertise_address.is_ipv6() { "::" } else { "0.0.0.0" };
        config["bindAddress"] = json!(any);
    }
    if empty(&config["clusterCIDR"]) {
        config["clusterCIDR"] = json!(init.cluster.networking.pod_subnet);
    }
    if empty(&config["clientConnection"]["kubeconfig"]) {
        config["clientConnection"]["kubeconfig"] = json!("/var/lib/kube-proxy/kubeconfig.conf");
    }
    if empty(&config["mode"]) && init.cluster.kubernetes_version.kube_proxy_explicit_iptables() {
        // 1.37 (PR 139777): an unset mode is written as iptables, ahead of an nftables default
        config["mode"] = json!("iptables");
    }
    config["apiVersion"] = json!("kubeproxy.config.k8s.io/v1alpha1");
    config["kind"] = json!("KubeProxyConfiguration");
    config
}

/// The in-cluster kubeconfig kube-proxy reads (`kubeconfig.conf`). kubeadm writes it from a fixed text layout
/// (apiVersion, kind, clusters, … in that order, unlike sorted YAML), so the same layout is reproduced here as the
/// data string it is, without a trailing newline.
pub(super) fn kube_proxy_kubeconfig(server: &str) -> String {
    [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- cluster:",
        "    certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
        &format!("    server: {server}"),
        "  name: default",
        "contexts:",
        "- context:",
        "    cluster: default",
        "    namespace: default",
        "    user: default",
        "  name: default",
        "current-context: default",
        "users:",
        "- name: default",
        "  user:",
        "    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token",
    ]
    .join("\n")
}

/// The `kube-system/kube-proxy` ConfigMap: `config.conf` and `kubeconfig.conf` (both without a trailing newline),
/// label `app: kube-proxy`, and the component-config hash unless the configuration was supplied by the user.
pub fn kube_proxy_configmap(init: &InitConfiguration) -> k8s_openapi::api::core::v1::ConfigMap {
    let server = control_plane_endpoint(&init.cluster, &init.node());
    let config = to_yaml(&kube_proxy_configuration(init)).trim_end_matches('\n').to_string();
    let data = BTreeMap::from([
        ("config.conf".to_string(), config),
        ("kubeconfig.conf".to_string(), kube_proxy_kubeconfig(&server)),
    ]);
    let mut cm = config_map(meta(Some(KUBE_SYSTEM), KUBE_PROXY), data.clone());
    cm.metadata.labels = Some(labels(&[("app", KUBE_PROXY)]));
    if init.kube_proxy.is_none() {
        cm.metadata.annotations =
            Some(BTreeMap::from([(COMPONENT_CONFIG_HASH.to_string(), component_config_hash(&data))]));
    }
    cm
}

/// The kube-proxy DaemonSet (§F.3); `proxy_env` are the `*_proxy` variables of kbinit's environment, passed on
/// after `NODE_NAME` in the order given.
pub fn kube_proxy_daemonset(cluster: &ClusterConfiguration, proxy_env: &[(String, String)]) -> DaemonSet {
    let selector = labels(&[("k8s-app", KUBE_PROXY)]);
    let mut env = vec![EnvVar {
        name: "NODE_NAME".into(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector { field_path: "spec.nodeName".into(), api_version: None }),
            ..Default::default()
        }),
        ..Default::default()
    }];
    env.extend(proxy_env.iter().map(|(name, value)| EnvVar {
        name: name.clone(),
        value: Some(value.clone()),
        ..Default::default()
    }));
    let mount = |name: &str, path: &str, read_only: bool| VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        read_only: read_only.then_some(true),
        ..Default::default()
    };
    let host_path = |name: &str, path: &str, kind: Option<&str>| Volume {
        name: name.into(),
        host_path: Some(HostPathVolumeSource { path: path.into(), type_: kind.map(str::to_string) }),
        ..Default::default()
    };
    let container = Container {
        name: KUBE_PROXY.into(),
        image: Some(format!("{}/kube-proxy:{}", cluster.image_repository, cluster.kubernetes_version.image_tag())),
        image_pull_policy: Some("IfNotPresent".into()),
        command: Some(strings(&[
            "/usr/local/bin/kube-proxy",
            "--config=/var/lib/kube-proxy/config.conf",
            "--hostname-override=$(NODE_NAME)",
        ])),
        env: Some(env),
        resources: Some(ResourceRequirements::default()),
        security_context: Some(SecurityContext { privileged: Some(true), ..Default::default() }),
        volume_mounts: Some(vec![
            mount(KUBE_PROXY, "/var/lib/kube-proxy", false),
            mount("xtables-lock", "/run/xtables.lock", false),
            mount("lib-modules", "/lib/modules", true),
        ]),
        ..Default::default()
    };
    let pod = PodSpec {
        containers: vec![container],
        host_network: Some(true),
        node_selector: Some(labels(&[("kubernetes.io/os", "linux")])),
        priority_class_name: Some("system-node-critical".into()),
        service_account_name: Some(KUBE_PROXY.into()),
        tolerations: Some(vec![Toleration { operator: Some("Exists".into()), ..Default::default() }]),
        volumes: Some(vec![
            Volume {
                name: KUBE_PROXY.into(),
                config_map: Some(ConfigMapVolumeSource { name: KUBE_PROXY.into(), ..Default::default() }),
                ..Default::default()
            },
            host_path("xtables-lock", "/run/xtables.lock", Some("FileOrCreate")),
            host_path("lib-modules", "/lib/modules", None),
        ]),
        ..Default::default()
    };
    DaemonSet {
        metadata: ObjectMeta { labels: Some(selector.clone()), ..meta(Some(KUBE_SYSTEM), KUBE_PROXY) },
        spec: Some(DaemonSetSpec {
            selector: LabelSelector { match_labels: Some(selector.clone()), ..Default::default() },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(selector), ..Default::default() }),
                spec: Some(pod),
            },
            update_strategy: Some(DaemonSetUpdateStrategy {
                type_: Some("RollingUpdate".into()),
                ..Default::default()
            }),
            ..Default::default()
        }),
        status: Some(DaemonSetStatus::default()),
    }
}

/// Sub-phase `addon/kube-proxy`: ConfigMap, DaemonSet, ServiceAccount, ClusterRoleBinding `kubeadm:node-proxier`,
/// Role/RoleBinding `kube-proxy` (bootstrap tokens may read the ConfigMap). Nothing when `proxy.disabled`.
pub fn plan_kube_proxy(init: &InitConfiguration, proxy_env: &[(String, String)]) -> Result<Vec<ApiStep>, Error> {
    if init.cluster.proxy_disabled {
        return Ok(Vec::new());
    }
    let sa = ServiceAccount { metadata: meta(Some(KUBE_SYSTEM), KUBE_PROXY), ..Default::default() };
    Ok(vec![
        ApiStep::create_or_update(&kube_proxy_configmap(init))?,
        ApiStep::create_or_update(&kube_proxy_daemonset(&init.cluster, proxy_env))?,
        ApiStep::write(&sa, WritePolicy::CreateOrKeep)?,
        ApiStep::create_or_update(&cluster_role_binding(
            meta(None, "kubeadm:node-proxier"),
            "system:node-proxier",
            vec![service_account(KUBE_SYSTEM, KUBE_PROXY)],
        ))?,
        ApiStep::create_or_update(&get_one_role(KUBE_SYSTEM, KUBE_PROXY, "configmaps", KUBE_PROXY))?,
        ApiStep::create_or_update(&role_binding(
            KUBE_SYSTEM,
            KUBE_PROXY,
            KUBE_PROXY,
            vec![group(BOOTSTRAPPERS_GROUP)],
        ))?,
        ApiStep::say("[addons] Applied essential addon: kube-proxy"),
    ])
}
