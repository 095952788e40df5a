//! CoreDNS (§F.2): its image, the Corefile (per release) and how to tell an operator-changed one, the
//! Deployment, the `kube-dns` Service, the ConfigMap and RBAC, in kubeadm's order.

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStatus, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ConfigMapVolumeSource, Container, KeyToPath, PodAffinityTerm, PodAntiAffinity, PodSpec,
    PodTemplateSpec, Probe, ResourceRequirements, SecurityContext, Service, ServiceAccount, ServicePort, ServiceSpec,
    ServiceStatus, Toleration, Volume, VolumeMount, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::*;

use crate::Error;
use crate::api::{ApiStep, WritePolicy};
use crate::cluster::rbac::{
    KUBE_SYSTEM, cluster_role, cluster_role_binding, config_map, core_rule, meta, rule, service_account,
};
use crate::config::ClusterConfiguration;
use crate::version::KubeVersion;

const DEFAULT_REPOSITORY: &str = "registry.k8s.io";

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

pub(super) const DNS_LABEL: &str = "kube-dns";

pub(super) const COREDNS: &str = "coredns";

/// What the binary read from the cluster before the CoreDNS addon is planned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CoreDnsState {
    /// `spec.replicas` of the one existing Deployment labelled `k8s-app=kube-dns`, if exactly one exists.
    pub existing_replicas: Option<i32>,
    /// `true` when a `kube-system/coredns` ConfigMap exists whose Corefile is not a default one (see
    /// [`is_default_corefile`]): it is then kept as the operator left it.
    pub custom_corefile: bool,
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

/// The default Corefile of a release: where [`KubeVersion::coredns_cache_block`] holds, the `cache 30` line is
/// a block that disables caching of success and denial answers for the cluster domain.
pub fn default_corefile_for(version: &KubeVersion, dns_domain: &str) -> String {
    let plain = default_corefile(dns_domain);
    if !version.coredns_cache_block() || dns_domain.is_empty() {
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
                drop: Some(strings(&[if cluster.kubernetes_version.coredns_drop_all_upper_case() {
                    "ALL"
                } else {
                    "all"
                }])),
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
