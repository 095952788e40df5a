//! Documents kbinit prints or uploads: `config print init-defaults` / `join-defaults`, the ClusterConfiguration
//! stored in the kubeadm-config ConfigMap, and `config images list`.
//!
//! Documents are built as JSON values with kubeadm's field names and omitempty rules and written with
//! [`crate::go_format::yaml::to_yaml`], which sorts keys like Go does.

use serde_json::{Map, Value, json};

use super::load::{DEFAULT_CRI_SOCKET, DEFAULT_TOKEN_GROUP, api_version_string};
use super::model::*;
use crate::Error;
use crate::go_format::duration::format_duration;
use crate::version::KubeVersion;

/// Placeholder token of the printed defaults.
pub const PLACEHOLDER_TOKEN: &str = "abcdef.0123456789abcdef";

fn args_value(args: &[Arg], api: ApiVersion) -> Value {
    match api {
        ApiVersion::V1beta3 => Value::Object(args.iter().map(|a| (a.name.clone(), json!(a.value))).collect()),
        ApiVersion::V1beta4 => Value::Array(args.iter().map(|a| json!({"name": a.name, "value": a.value})).collect()),
    }
}

fn envs_value(envs: &[EnvVar]) -> Value {
    Value::Array(
        envs.iter()
            .map(|e| {
                let mut v = json!({"name": e.name, "value": e.value});
                if let Some(from) = e.value_from.as_deref().and_then(|t| serde_json::from_str::<Value>(t).ok()) {
                    v["valueFrom"] = from;
                }
                v
            })
            .collect(),
    )
}

fn component_value(c: &ControlPlaneComponent, api: ApiVersion) -> Map<String, Value> {
    let mut m = Map::new();
    if !c.extra_args.is_empty() {
        m.insert("extraArgs".into(), args_value(&c.extra_args, api));
    }
    if !c.extra_volumes.is_empty() {
        let vols = c.extra_volumes.iter().map(|v| {
            let mut o = Map::new();
            o.insert("name".into(), json!(v.name));
            o.insert("hostPath".into(), json!(v.host_path));
            o.insert("mountPath".into(), json!(v.mount_path));
            if v.read_only {
                o.insert("readOnly".into(), json!(true));
            }
            if !v.path_type.is_empty() {
                o.insert("pathType".into(), json!(v.path_type));
            }
            Value::Object(o)
        });
        m.insert("extraVolumes".into(), Value::Array(vols.collect()));
    }
    if api == ApiVersion::V1beta4 && !c.extra_envs.is_empty() {
        m.insert("extraEnvs".into(), envs_value(&c.extra_envs));
    }
    m
}

fn insert_nonempty(m: &mut Map<String, Value>, key: &str, v: &str) {
    if !v.is_empty() {
        m.insert(key.into(), json!(v));
    }
}

fn cluster_value(c: &ClusterConfiguration, version_text: String, api: ApiVersion) -> Value {
    let mut api_server = component_value(&c.api_server.component, api);
    if !c.api_server.cert_sans.is_empty() {
        api_server.insert("certSANs".into(), json!(c.api_server.cert_sans));
    }
    if api == ApiVersion::V1beta3 {
        api_server.insert("timeoutForControlPlane".into(), json!("4m0s"));
    }
    let etcd = match &c.etcd {
        Etcd::Local(l) => {
            let mut m = Map::new();
            insert_nonempty(&mut m, "imageRepository", &l.image_repository);
            insert_nonempty(&mut m, "imageTag", &l.image_tag);
            m.insert("dataDir".into(), json!(l.data_dir));
            if !l.extra_args.is_empty() {
                m.insert("extraArgs".into(), args_value(&l.extra_args, api));
            }
            if api == ApiVersion::V1beta4 && !l.extra_envs.is_empty() {
                m.insert("extraEnvs".into(), envs_value(&l.extra_envs));
            }
            if !l.server_cert_sans.is_empty() {
                m.insert("serverCertSANs".into(), json!(l.server_cert_sans));
            }
            if !l.peer_cert_sans.is_empty() {
                m.insert("peerCertSANs".into(), json!(l.peer_cert_sans));
            }
            json!({ "local": m })
        }
        Etcd::External(x) => json!({ "external": {
            "endpoints": x.endpoints, "caFile": x.ca_file, "certFile": x.cert_file, "keyFile": x.key_file,
        }}),
    };
    let mut networking = Map::new();
    networking.insert("dnsDomain".into(), json!(c.networking.dns_domain));
    insert_nonempty(&mut networking, "podSubnet", &c.networking.pod_subnet);
    networking.insert("serviceSubnet".into(), json!(c.networking.service_subnet));
    let mut dns = Map::new();
    insert_nonempty(&mut dns, "imageRepository", &c.dns_image_repository);
    insert_nonempty(&mut dns, "imageTag", &c.dns_image_tag);
    if api == ApiVersion::V1beta4 && c.dns_disabled {
        dns.insert("disabled".into(), json!(true));
    }

    let mut m = Map::new();
    m.insert("apiVersion".into(), json!(api_version_string(api)));
    m.insert("kind".into(), json!("ClusterConfiguration"));
    m.insert("apiServer".into(), Value::Object(api_server));
    m.insert("certificatesDir".into(), json!(c.certificates_dir));
    m.insert("clusterName".into(), json!(c.cluster_name));
    insert_nonempty(&mut m, "controlPlaneEndpoint", &c.control_plane_endpoint);
    m.insert("controllerManager".into(), Value::Object(component_value(&c.controller_manager, api)));
    m.insert("dns".into(), Value::Object(dns));
    m.insert("etcd".into(), etcd);
    if !c.feature_gates.is_empty() {
        m.insert("featureGates".into(), json!(c.feature_gates));
    }
    m.insert("imageRepository".into(), json!(c.image_repository));
    m.insert("kubernetesVersion".into(), json!(version_text));
    m.insert("networking".into(), Value::Object(networking));
    m.insert("scheduler".into(), Value::Object(component_value(&c.scheduler, api)));
    if api == ApiVersion::V1beta4 {
        m.insert("caCertificateValidityPeriod".into(), json!(format_duration(c.ca_certificate_validity)));
        m.insert("certificateValidityPeriod".into(), json!(format_duration(c.certificate_validity)));
        m.insert("encryptionAlgorithm".into(), json!(c.encryption_algorithm.as_str()));
        let proxy = if c.proxy_disabled { json!({"disabled": true}) } else { json!({}) };
        m.insert("proxy".into(), proxy);
    }
    Value::Object(m)
}

/// `host:port` with the port defaulted to `bind_port` (IPv6 hosts in brackets).
fn endpoint_with_port(cpe: &str, bind_port: u16) -> String {
    if cpe.is_empty() {
        return String::new();
    }
    if cpe.parse::<std::net::Ipv6Addr>().is_ok() {
        return format!("[{cpe}]:{bind_port}");
    }
    let has_port = if cpe.starts_with('[') { cpe.contains("]:") } else { cpe.contains(':') };
    if has_port { cpe.to_string() } else { format!("{cpe}:{bind_port}") }
}

/// The ClusterConfiguration document as kubeadm stores it in the kubeadm-config ConfigMap (§O.2/§O.3: resolved
/// version, controlPlaneEndpoint with :port, and before 1.30 authorization-mode added) in the given API version.
pub fn cluster_configuration_document(cluster: &ClusterConfiguration, bind_port: u16, api: ApiVersion) -> Value {
    let mut c = cluster.clone();
    c.control_plane_endpoint = endpoint_with_port(&c.control_plane_endpoint, bind_port);
    if !c.kubernetes_version.authorization_mode_in_manifest_only()
        && !c.api_server.component.extra_args.iter().any(|a| a.name == "authorization-mode")
    {
        c.api_server.component.extra_args.push(Arg { name: "authorization-mode".into(), value: "Node,RBAC".into() });
    }
    cluster_value(&c, c.kubernetes_version.to_string(), api)
}

fn node_registration_value(name: &str, api: ApiVersion) -> Value {
    let mut m = Map::new();
    m.insert("criSocket".into(), json!(DEFAULT_CRI_SOCKET));
    m.insert("imagePullPolicy".into(), json!("IfNotPresent"));
    if api == ApiVersion::V1beta4 {
        m.insert("imagePullSerial".into(), json!(true));
    }
    m.insert("name".into(), json!(name));
    m.insert("taints".into(), Value::Null);
    Value::Object(m)
}

fn timeouts_value(t: &Timeouts) -> Value {
    json!({
        "controlPlaneComponentHealthCheck": format_duration(t.control_plane_component_health_check),
        "discovery": format_duration(t.discovery),
        "etcdAPICall": format_duration(t.etcd_api_call),
        "kubeletHealthCheck": format_duration(t.kubelet_health_check),
        "kubernetesAPICall": format_duration(t.kubernetes_api_call),
        "tlsBootstrap": format_duration(t.tls_bootstrap),
        "upgradeManifests": format_duration(t.upgrade_manifests),
    })
}

fn defaults_cluster(version: &KubeVersion) -> ClusterConfiguration {
    ClusterConfiguration {
        kubernetes_version: version.clone(),
        control_plane_endpoint: String::new(),
        cluster_name: "kubernetes".into(),
        certificates_dir: "/etc/kubernetes/pki".into(),
        image_repository: "registry.k8s.io".into(),
        networking: Networking {
            service_subnet: "10.96.0.0/12".into(),
            pod_subnet: String::new(),
            dns_domain: "cluster.local".into(),
        },
        etcd: Etcd::Local(LocalEtcd {
            image_repository: String::new(),
            image_tag: String::new(),
            data_dir: "/var/lib/etcd".into(),
            extra_args: Vec::new(),
            extra_envs: Vec::new(),
            server_cert_sans: Vec::new(),
            peer_cert_sans: Vec::new(),
        }),
        api_server: ApiServer::default(),
        controller_manager: ControlPlaneComponent::default(),
        scheduler: ControlPlaneComponent::default(),
        dns_image_repository: String::new(),
        dns_image_tag: String::new(),
        dns_disabled: false,
        proxy_disabled: false,
        feature_gates: Default::default(),
        encryption_algorithm: KeyAlgorithm::Rsa2048,
        certificate_validity: std::time::Duration::from_secs(8760 * 3600),
        ca_certificate_validity: std::time::Duration::from_secs(87600 * 3600),
    }
}

fn component_config(name: &str, version: &KubeVersion) -> Result<Value, Error> {
    match name {
        "KubeletConfiguration" => Ok(json!({
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "authentication": {
                "anonymous": {"enabled": false},
                "webhook": {"cacheTTL": "0s", "enabled": true},
                "x509": {"clientCAFile": "/etc/kubernetes/pki/ca.crt"},
            },
            "authorization": {"mode": "Webhook", "webhook": {"cacheAuthorizedTTL": "0s", "cacheUnauthorizedTTL": "0s"}},
            "cgroupDriver": "systemd",
            "clusterDNS": ["10.96.0.10"],
            "clusterDomain": "cluster.local",
            "healthzBindAddress": "127.0.0.1",
            "healthzPort": 10248,
            "rotateCertificates": true,
            "staticPodPath": "/etc/kubernetes/manifests",
        })),
        "KubeProxyConfiguration" => Ok(json!({
            "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
            "kind": "KubeProxyConfiguration",
            "bindAddress": "0.0.0.0",
            "clientConnection": {"kubeconfig": "/var/lib/kube-proxy/kubeconfig.conf"},
            "clusterCIDR": "",
            // 1.37 writes an empty mode as iptables (PR 139777)
            "mode": if version.kube_proxy_explicit_iptables() { "iptables" } else { "" },
        })),
        other => Err(Error::invalid(
            "--component-configs",
            other,
            "unknown component config: use KubeletConfiguration or KubeProxyConfiguration",
        )),
    }
}

fn join_docs(docs: &[Value]) -> String {
    docs.iter().map(crate::go_format::yaml::to_yaml).collect::<Vec<_>>().join("---\n")
}

/// `kbinit config print init-defaults` (placeholders as kubeadm: advertiseAddress 1.2.3.4, name node, token
/// abcdef.0123456789abcdef); `component_configs` e.g. `["KubeletConfiguration","KubeProxyConfiguration"]`.
pub fn init_defaults_document(
    version: &KubeVersion,
    api: ApiVersion,
    component_configs: &[String],
) -> Result<String, Error> {
    if api == ApiVersion::V1beta4 && !version.has_v1beta4() {
        return Err(Error::invalid(
            "apiVersion",
            api_version_string(api),
            format!("kubeadm of Kubernetes {version} does not know kubeadm.k8s.io/v1beta4 (1.31+)"),
        ));
    }
    let mut init = Map::new();
    init.insert("apiVersion".into(), json!(api_version_string(api)));
    init.insert("kind".into(), json!("InitConfiguration"));
    init.insert(
        "bootstrapTokens".into(),
        json!([{
            "groups": [DEFAULT_TOKEN_GROUP],
            "token": PLACEHOLDER_TOKEN,
            "ttl": "24h0m0s",
            "usages": ["signing", "authentication"],
        }]),
    );
    init.insert("localAPIEndpoint".into(), json!({"advertiseAddress": "1.2.3.4", "bindPort": 6443}));
    init.insert("nodeRegistration".into(), node_registration_value("node", api));
    if api == ApiVersion::V1beta4 {
        init.insert("timeouts".into(), timeouts_value(&Timeouts::default()));
    }
    let version_text = format!("{}.{}.0", version.major, version.minor);
    let mut docs = vec![Value::Object(init), cluster_value(&defaults_cluster(version), version_text, api)];
    for name in component_configs {
        docs.push(component_config(name, version)?);
    }
    Ok(join_docs(&docs))
}

/// `kbinit config print join-defaults` (placeholders: apiServerEndpoint kube-apiserver:6443, name vm).
pub fn join_defaults_document(api: ApiVersion) -> Result<String, Error> {
    let mut discovery = Map::new();
    discovery.insert(
        "bootstrapToken".into(),
        json!({"apiServerEndpoint": "kube-apiserver:6443", "token": PLACEHOLDER_TOKEN, "unsafeSkipCAVerification": true}),
    );
    discovery.insert("tlsBootstrapToken".into(), json!(PLACEHOLDER_TOKEN));
    let mut m = Map::new();
    m.insert("apiVersion".into(), json!(api_version_string(api)));
    m.insert("kind".into(), json!("JoinConfiguration"));
    m.insert("caCertPath".into(), json!("/etc/kubernetes/pki/ca.crt"));
    m.insert("nodeRegistration".into(), node_registration_value("vm", api));
    match api {
        ApiVersion::V1beta3 => {
            discovery.insert("timeout".into(), json!("5m0s"));
        }
        ApiVersion::V1beta4 => {
            m.insert("timeouts".into(), timeouts_value(&Timeouts::default()));
        }
    }
    m.insert("discovery".into(), Value::Object(discovery));
    Ok(join_docs(&[Value::Object(m)]))
}

/// `kbinit config images list`: apiserver, controller-manager, scheduler, proxy, coredns, pause, etcd (local only)
/// from 1.29 (1.28: pause, etcd, then coredns), full references. Disabled addons (v1beta4 `dns.disabled`, `proxy.disabled`) are left out.
pub fn images(cluster: &ClusterConfiguration) -> Vec<String> {
    let repo = &cluster.image_repository;
    let v = &cluster.kubernetes_version;
    let tag = v.image_tag();
    let mut out: Vec<String> = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"]
        .iter()
        .map(|c| format!("{repo}/{c}:{tag}"))
        .collect();
    if !cluster.proxy_disabled {
        out.push(format!("{repo}/kube-proxy:{tag}"));
    }
    let mut pause_etcd = vec![format!("{repo}/pause:{}", v.pause_tag())];
    if let Etcd::Local(l) = &cluster.etcd {
        let r = if l.image_repository.is_empty() { repo } else { &l.image_repository };
        let t = if l.image_tag.is_empty() { v.etcd_tag() } else { &l.image_tag };
        pause_etcd.push(format!("{r}/etcd:{t}"));
    }
    if !v.coredns_image_before_pause() {
        out.append(&mut pause_etcd);
    }
    if !cluster.dns_disabled {
        let r = if !cluster.dns_image_repository.is_empty() {
            cluster.dns_image_repository.clone()
        } else if repo == "registry.k8s.io" {
            format!("{repo}/coredns")
        } else {
            repo.clone()
        };
        let t = if cluster.dns_image_tag.is_empty() { v.coredns_tag() } else { &cluster.dns_image_tag };
        out.push(format!("{r}/coredns:{t}"));
    }
    out.append(&mut pause_etcd);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{InitFlags, JoinFlags, load_init, load_join};

    fn host() -> HostFacts {
        HostFacts { hostname: "h".into(), default_address: None, cri_sockets: Vec::new(), systemd_resolved: false }
    }

    #[test]
    fn init_defaults_round_trip_through_load_init() {
        for (minor, api) in [(28, ApiVersion::V1beta3), (31, ApiVersion::V1beta4), (34, ApiVersion::V1beta4)] {
            let v = KubeVersion::resolve(&format!("v1.{minor}.3")).unwrap();
            let comps = vec!["KubeletConfiguration".to_string(), "KubeProxyConfiguration".to_string()];
            let text = init_defaults_document(&v, api, &comps).unwrap();
            let l = load_init(Some(&text), &InitFlags::default(), &host()).unwrap();
            assert!(l.warnings.is_empty(), "{minor}: {:?}", l.warnings);
            let c = l.config;
            assert_eq!(c.api_version, api);
            assert_eq!(c.cluster.kubernetes_version.to_string(), format!("v1.{minor}.0"));
            assert_eq!(c.local_api_endpoint.advertise_address.to_string(), "1.2.3.4");
            assert_eq!(c.node_registration.name, "node");
            assert_eq!(c.bootstrap_tokens[0].token.as_deref(), Some(PLACEHOLDER_TOKEN));
            assert_eq!(c.node_registration.taints[0].key, super::super::load::CONTROL_PLANE_TAINT);
            assert_eq!(c.kubelet.as_ref().unwrap()["kind"], "KubeletConfiguration");
            assert_eq!(c.kube_proxy.as_ref().unwrap()["kind"], "KubeProxyConfiguration");
        }
        let v128 = KubeVersion::resolve("v1.28.7").unwrap();
        assert!(init_defaults_document(&v128, ApiVersion::V1beta4, &[]).is_err());
        assert!(init_defaults_document(&v128, ApiVersion::V1beta3, &["Nope".into()]).is_err());
    }

    #[test]
    fn join_defaults_round_trip_through_load_join() {
        for api in [ApiVersion::V1beta3, ApiVersion::V1beta4] {
            let text = join_defaults_document(api).unwrap();
            let l = load_join(Some(&text), &JoinFlags::default(), &host()).unwrap();
            assert!(l.warnings.is_empty(), "{:?}", l.warnings);
            assert_eq!(l.config.node_registration.name, "vm");
            assert!(matches!(l.config.discovery, Discovery::BootstrapToken { unsafe_skip_ca_verification: true, .. }));
        }
    }

    const REFERENCE: &str =
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/reference/kubeadm-1.28.7/input-config.yaml"));

    #[test]
    fn cluster_configuration_matches_the_kubeadm_config_configmap() {
        let h = HostFacts { default_address: Some("10.0.0.10".parse().unwrap()), ..host() };
        let l = load_init(Some(REFERENCE), &InitFlags::default(), &h).unwrap();
        let doc = cluster_configuration_document(&l.config.cluster, 6443, ApiVersion::V1beta3);
        let want = serde_json::json!({
            "apiServer": {"extraArgs": {"authorization-mode": "Node,RBAC"}, "timeoutForControlPlane": "4m0s"},
            "apiVersion": "kubeadm.k8s.io/v1beta3",
            "certificatesDir": "/etc/kubernetes/pki",
            "clusterName": "kubernetes",
            "controlPlaneEndpoint": "lb.example.com:6443",
            "controllerManager": {},
            "dns": {},
            "etcd": {"local": {"dataDir": "/var/lib/etcd"}},
            "imageRepository": "registry.k8s.io",
            "kind": "ClusterConfiguration",
            "kubernetesVersion": "v1.28.7",
            "networking": {"dnsDomain": "cluster.local", "podSubnet": "10.244.0.0/16", "serviceSubnet": "10.96.0.0/12"},
            "scheduler": {},
        });
        assert_eq!(doc, want);
        let mut c = l.config.cluster.clone();
        c.control_plane_endpoint = "lb.example.com".into();
        let v4 = cluster_configuration_document(&c, 8443, ApiVersion::V1beta4);
        assert_eq!(v4["controlPlaneEndpoint"], "lb.example.com:8443");
        assert_eq!(v4["apiServer"]["extraArgs"][0]["name"], "authorization-mode");
        assert_eq!(v4["encryptionAlgorithm"], "RSA-2048");
    }

    #[test]
    fn image_list() {
        let h = HostFacts { default_address: Some("10.0.0.10".parse().unwrap()), ..host() };
        let l = load_init(Some(REFERENCE), &InitFlags::default(), &h).unwrap();
        assert_eq!(
            images(&l.config.cluster),
            [
                "registry.k8s.io/kube-apiserver:v1.28.7",
                "registry.k8s.io/kube-controller-manager:v1.28.7",
                "registry.k8s.io/kube-scheduler:v1.28.7",
                "registry.k8s.io/kube-proxy:v1.28.7",
                "registry.k8s.io/pause:3.9",
                "registry.k8s.io/etcd:3.5.10-0",
                "registry.k8s.io/coredns/coredns:v1.10.1",
            ]
        );
        let mut c = l.config.cluster;
        c.image_repository = "my.reg/k8s".into();
        c.etcd = Etcd::External(ExternalEtcd { endpoints: vec!["https://e:2379".into()], ..Default::default() });
        let list = images(&c);
        assert_eq!(list.len(), 6);
        assert_eq!(list[5], "my.reg/k8s/coredns:v1.10.1");
    }
}
