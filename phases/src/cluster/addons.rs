//! Phase `addon` (§F rows 22–33, §F.2, §F.3): CoreDNS and kube-proxy as typed objects, in kubeadm's order.
//!
//! What kubeadm reads from the cluster first (the replica count of an existing CoreDNS Deployment, whether the
//! existing `coredns` ConfigMap holds a Corefile the operator changed) is read by the binary and passed in as
//! [`CoreDnsState`]; the planners here only decide.

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::apps::v1::{
    DaemonSet, DaemonSetSpec, DaemonSetStatus, DaemonSetUpdateStrategy, Deployment, DeploymentSpec, DeploymentStatus,
    DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ConfigMapVolumeSource, Container, ContainerPort, EnvVar, EnvVarSource, HTTPGetAction,
    HostPathVolumeSource, KeyToPath, ObjectFieldSelector, PodAffinityTerm, PodAntiAffinity, PodSpec, PodTemplateSpec,
    Probe, ResourceRequirements, SecurityContext, Service, ServiceAccount, ServicePort, ServiceSpec, ServiceStatus,
    Toleration, Volume, VolumeMount, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{Value, json};

use crate::Error;
use crate::api::{ApiStep, WritePolicy};
use crate::cluster::rbac::{
    BOOTSTRAPPERS_GROUP, KUBE_SYSTEM, cluster_role, cluster_role_binding, config_map, core_rule, get_one_role, group,
    meta, role_binding, rule, service_account,
};
use crate::cluster::upload_config::COMPONENT_CONFIG_HASH;
use crate::config::{ClusterConfiguration, InitConfiguration};
use crate::go_format::yaml::to_yaml;
use crate::kubeconfig::control_plane_endpoint;
use crate::kubelet::component_config_hash;
use crate::version::KubeVersion;

const DEFAULT_REPOSITORY: &str = "registry.k8s.io";
const DNS_LABEL: &str = "kube-dns";
const COREDNS: &str = "coredns";
const KUBE_PROXY: &str = "kube-proxy";

/// What the binary read from the cluster before the CoreDNS addon is planned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CoreDnsState {
    /// `spec.replicas` of the one existing Deployment labelled `k8s-app=kube-dns`, if exactly one exists.
    pub existing_replicas: Option<i32>,
    /// `true` when a `kube-system/coredns` ConfigMap exists whose Corefile is not a default one (see
    /// [`is_default_corefile`]): it is then kept as the operator left it.
    pub custom_corefile: bool,
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The CoreDNS image: `<dns.imageRepository or imageRepository>/coredns:<dns.imageTag or the release's tag>`, with
/// the `coredns/` path segment kubeadm inserts for the default registry.
pub fn coredns_image(cluster: &ClusterConfiguration) -> String {
    let mut repo = if cluster.dns_image_repository.is_empty() {
        cluster.image_repository.clone()
    } else {
        cluster.dns_image_repository.clone()
    };
    if repo == DEFAULT_REPOSITORY {
        repo = format!("{repo}/coredns");
    }
    let tag = if cluster.dns_image_tag.is_empty() {
        cluster.kubernetes_version.coredns_tag().to_string()
    } else {
        cluster.dns_image_tag.clone()
    };
    format!("{repo}/coredns:{tag}")
}

/// The default Corefile for a cluster DNS domain (§F.2), with its trailing newline.
pub fn default_corefile(dns_domain: &str) -> String {
    format!(
        ".:53 {{
    errors
    health {{
       lameduck 5s
    }}
    ready
    kubernetes {dns_domain} in-addr.arpa ip6.arpa {{
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }}
    prometheus :9153
    forward . /etc/resolv.conf {{
       max_concurrent 1000
    }}
    cache 30
    loop
    reload
    loadbalance
}}
"
    )
}

/// The default Corefile of a release: from 1.35 (kubeadm since 1.32, PR 128359; rendered so by v1.37.0) the
/// `cache 30` line is a block that disables caching of success and denial answers for the cluster domain.
pub fn default_corefile_for(version: &KubeVersion, dns_domain: &str) -> String {
    let plain = default_corefile(dns_domain);
    if !version.coredns_named_probe_ports() || dns_domain.is_empty() {
        return plain;
    }
    plain.replace(
        "    cache 30\n",
        &format!("    cache 30 {{\n       disable success {dns_domain}\n       disable denial {dns_domain}\n    }}\n"),
    )
}

/// `true` when `corefile` is a default Corefile (either layout) for `dns_domain`, up to whitespace (so an
/// untouched ConfigMap of an earlier install is replaced, and an edited one is kept).
pub fn is_default_corefile(corefile: &str, dns_domain: &str) -> bool {
    let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    let newest = KubeVersion::default_version();
    words(corefile) == words(&default_corefile(dns_domain))
        || words(corefile) == words(&default_corefile_for(&newest, dns_domain))
}

/// The tenth address of the first service CIDR (the DNS Service IP, §Q.6).
pub fn dns_service_ip(service_subnet: &str) -> Result<IpAddr, Error> {
    let first = service_subnet.split(',').next().unwrap_or_default().trim();
    let net: ipnet::IpNet =
        first.parse().map_err(|_| Error::invalid("networking.serviceSubnet", service_subnet, "not a CIDR"))?;
    Ok(match net.network() {
        IpAddr::V4(v4) => IpAddr::V4(u32::from(v4).wrapping_add(10).into()),
        IpAddr::V6(v6) => IpAddr::V6(u128::from(v6).wrapping_add(10).into()),
    })
}

fn http_probe(path: &str, port: IntOrString) -> HTTPGetAction {
    HTTPGetAction { path: Some(path.into()), port, scheme: Some("HTTP".into()), ..Default::default() }
}

fn port(name: &str, number: i32, protocol: &str) -> ContainerPort {
    ContainerPort {
        name: Some(name.into()),
        container_port: number,
        protocol: Some(protocol.into()),
        ..Default::default()
    }
}

fn quantities(pairs: &[(&str, &str)]) -> BTreeMap<String, Quantity> {
    pairs.iter().map(|(k, v)| (k.to_string(), Quantity(v.to_string()))).collect()
}

/// The CoreDNS Deployment (§F.2).
pub fn coredns_deployment(cluster: &ClusterConfiguration, replicas: i32) -> Deployment {
    let selector = labels(&[("k8s-app", DNS_LABEL)]);
    let named = cluster.kubernetes_version.coredns_named_probe_ports();
    let mut ports = vec![port("dns", 53, "UDP"), port("dns-tcp", 53, "TCP"), port("metrics", 9153, "TCP")];
    let (live_port, ready_port) = if named {
        ports.push(port("liveness-probe", 8080, "TCP"));
        ports.push(port("readiness-probe", 8181, "TCP"));
        (IntOrString::String("liveness-probe".into()), IntOrString::String("readiness-probe".into()))
    } else {
        (IntOrString::Int(8080), IntOrString::Int(8181))
    };
    let container = Container {
        name: COREDNS.into(),
        image: Some(coredns_image(cluster)),
        image_pull_policy: Some("IfNotPresent".into()),
        args: Some(strings(&["-conf", "/etc/coredns/Corefile"])),
        ports: Some(ports),
        liveness_probe: Some(Probe {
            http_get: Some(http_probe("/health", live_port)),
            initial_delay_seconds: Some(60),
            timeout_seconds: Some(5),
            success_threshold: Some(1),
            failure_threshold: Some(5),
            ..Default::default()
        }),
        readiness_probe: Some(Probe { http_get: Some(http_probe("/ready", ready_port)), ..Default::default() }),
        resources: Some(ResourceRequirements {
            limits: Some(quantities(&[("memory", "170Mi")])),
            requests: Some(quantities(&[("cpu", "100m"), ("memory", "70Mi")])),
            ..Default::default()
        }),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities {
                add: Some(strings(&["NET_BIND_SERVICE"])),
                drop: Some(strings(&[if named { "ALL" } else { "all" }])),
            }),
            read_only_root_filesystem: Some(true),
            ..Default::default()
        }),
        volume_mounts: Some(vec![VolumeMount {
            name: "config-volume".into(),
            mount_path: "/etc/coredns".into(),
            read_only: Some(true),
            ..Default::default()
        }]),
        ..Default::default()
    };
    let anti_affinity = PodAntiAffinity {
        preferred_during_scheduling_ignored_during_execution: Some(vec![WeightedPodAffinityTerm {
            weight: 100,
            pod_affinity_term: PodAffinityTerm {
                label_selector: Some(LabelSelector {
                    match_expressions: Some(vec![LabelSelectorRequirement {
                        key: "k8s-app".into(),
                        operator: "In".into(),
                        values: Some(strings(&[DNS_LABEL])),
                    }]),
                    ..Default::default()
                }),
                topology_key: "kubernetes.io/hostname".into(),
                ..Default::default()
            },
        }]),
        ..Default::default()
    };
    let pod = PodSpec {
        affinity: Some(Affinity { pod_anti_affinity: Some(anti_affinity), ..Default::default() }),
        containers: vec![container],
        dns_policy: Some("Default".into()),
        node_selector: Some(labels(&[("kubernetes.io/os", "linux")])),
        priority_class_name: Some("system-cluster-critical".into()),
        service_account_name: Some(COREDNS.into()),
        tolerations: Some(vec![
            Toleration {
                key: Some("CriticalAddonsOnly".into()),
                operator: Some("Exists".into()),
                ..Default::default()
            },
            Toleration {
                key: Some("node-role.kubernetes.io/control-plane".into()),
                effect: Some("NoSchedule".into()),
                ..Default::default()
            },
        ]),
        volumes: Some(vec![Volume {
            name: "config-volume".into(),
            config_map: Some(ConfigMapVolumeSource {
                name: COREDNS.into(),
                items: Some(vec![KeyToPath { key: "Corefile".into(), path: "Corefile".into(), mode: None }]),
                ..Default::default()
            }),
            ..Default::default()
        }]),
        ..Default::default()
    };
    Deployment {
        metadata: ObjectMeta { labels: Some(selector.clone()), ..meta(Some(KUBE_SYSTEM), COREDNS) },
        spec: Some(DeploymentSpec {
            replicas: Some(replicas),
            selector: LabelSelector { match_labels: Some(selector.clone()), ..Default::default() },
            strategy: Some(DeploymentStrategy {
                rolling_update: Some(RollingUpdateDeployment {
                    max_unavailable: Some(IntOrString::Int(1)),
                    ..Default::default()
                }),
                type_: Some("RollingUpdate".into()),
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(selector), ..Default::default() }),
                spec: Some(pod),
            },
            ..Default::default()
        }),
        status: Some(DeploymentStatus::default()),
    }
}

/// The `kube-dns` Service (§F.2).
pub fn kube_dns_service(cluster: &ClusterConfiguration) -> Result<Service, Error> {
    let svc_port = |name: &str, number: i32, protocol: &str| ServicePort {
        name: Some(name.into()),
        port: number,
        protocol: Some(protocol.into()),
        target_port: Some(IntOrString::Int(number)),
        ..Default::default()
    };
    Ok(Service {
        metadata: ObjectMeta {
            annotations: Some(labels(&[("prometheus.io/port", "9153"), ("prometheus.io/scrape", "true")])),
            labels: Some(labels(&[
                ("k8s-app", DNS_LABEL),
                ("kubernetes.io/cluster-service", "true"),
                ("kubernetes.io/name", "CoreDNS"),
            ])),
            resource_version: Some("0".into()),
            ..meta(Some(KUBE_SYSTEM), "kube-dns")
        },
        spec: Some(ServiceSpec {
            cluster_ip: Some(dns_service_ip(&cluster.networking.service_subnet)?.to_string()),
            ports: Some(vec![
                svc_port("dns", 53, "UDP"),
                svc_port("dns-tcp", 53, "TCP"),
                svc_port("metrics", 9153, "TCP"),
            ]),
            selector: Some(labels(&[("k8s-app", DNS_LABEL)])),
            ..Default::default()
        }),
        status: Some(ServiceStatus { load_balancer: Some(Default::default()), ..Default::default() }),
    })
}

/// Sub-phase `addon/coredns`: ConfigMap `coredns` (replaced, or kept when the operator changed the Corefile),
/// ClusterRole/ClusterRoleBinding `system:coredns`, ServiceAccount, Deployment (replicas kept from an existing
/// one, else 2), Service `kube-dns`. Nothing when `dns.disabled`.
pub fn plan_coredns(cluster: &ClusterConfiguration, state: &CoreDnsState) -> Result<Vec<ApiStep>, Error> {
    if cluster.dns_disabled {
        return Ok(Vec::new());
    }
    let corefile = default_corefile_for(&cluster.kubernetes_version, &cluster.networking.dns_domain);
    let cm = config_map(meta(Some(KUBE_SYSTEM), COREDNS), BTreeMap::from([("Corefile".to_string(), corefile)]));
    let cm_policy = if state.custom_corefile { WritePolicy::CreateOrKeep } else { WritePolicy::CreateOrUpdate };
    let role = cluster_role(
        meta(None, "system:coredns"),
        vec![
            core_rule(&["endpoints", "services", "pods", "namespaces"], &[], &["list", "watch"]),
            rule("discovery.k8s.io", &["endpointslices"], &[], &["list", "watch"]),
        ],
    );
    let binding = cluster_role_binding(
        meta(None, "system:coredns"),
        "system:coredns",
        vec![service_account(KUBE_SYSTEM, COREDNS)],
    );
    let sa = ServiceAccount { metadata: meta(Some(KUBE_SYSTEM), COREDNS), ..Default::default() };
    Ok(vec![
        ApiStep::write(&cm, cm_policy)?,
        ApiStep::create_or_update(&role)?,
        ApiStep::create_or_update(&binding)?,
        ApiStep::write(&sa, WritePolicy::CreateOrKeep)?,
        ApiStep::create_or_update(&coredns_deployment(cluster, state.existing_replicas.unwrap_or(2)))?,
        ApiStep::create_or_update(&kube_dns_service(cluster)?)?,
        ApiStep::say("[addons] Applied essential addon: CoreDNS"),
    ])
}

/// kube-proxy's `KubeProxyConfiguration` (v1alpha1) with every field at its zero value, as Go marshals the
/// struct, before kubeadm's defaults.
fn kube_proxy_zero_config() -> Value {
    json!({
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
    })
}

/// The KubeProxyConfiguration kbinit stores (§F.3): a user-supplied document merged over the zero values, then
/// kubeadm's defaults for the fields still empty: `bindAddress` (`0.0.0.0`, `::` for an IPv6 advertise address),
/// `clusterCIDR` (the pod subnet), `clientConnection.kubeconfig`.
pub fn kube_proxy_configuration(init: &InitConfiguration) -> Value {
    let mut config = kube_proxy_zero_config();
    if let Some(user) = &init.kube_proxy {
        crate::patches::overlay(&mut config, user);
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
fn kube_proxy_kubeconfig(server: &str) -> String {
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

/// The whole `addon` phase: CoreDNS, then kube-proxy.
pub fn plan_addons(
    init: &InitConfiguration,
    dns: &CoreDnsState,
    proxy_env: &[(String, String)],
) -> Result<Vec<ApiStep>, Error> {
    let mut steps = plan_coredns(&init.cluster, dns)?;
    steps.extend(plan_kube_proxy(init, proxy_env)?);
    Ok(steps)
}
