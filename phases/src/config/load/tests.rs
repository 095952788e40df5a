//! The loader's tests: kubeadm's reference config, flag mixes, both API versions, defaults and refusals.

use std::time::Duration;

use super::*;

fn host() -> HostFacts {
    HostFacts {
        hostname: "CP-1".into(),
        default_address: Some("192.168.1.5".parse().unwrap()),
        cri_sockets: Vec::new(),
        systemd_resolved: false,
    }
}

const REFERENCE: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/reference/kubeadm-1.28.7/input-config.yaml"));

#[test]
fn reference_input_loads_to_kubeadms_values() {
    let l = load_init(Some(REFERENCE), &InitFlags::default(), &host()).unwrap();
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    let c = &l.config;
    assert_eq!(c.api_version, ApiVersion::V1beta3);
    assert_eq!(c.cluster.kubernetes_version.to_string(), "v1.28.7");
    assert_eq!(c.cluster.control_plane_endpoint, "lb.example.com:6443");
    assert_eq!(c.cluster.networking.pod_subnet, "10.244.0.0/16");
    assert_eq!(c.cluster.networking.service_subnet, "10.96.0.0/12");
    assert_eq!(c.cluster.networking.dns_domain, "cluster.local");
    assert_eq!(c.cluster.certificates_dir, "/etc/kubernetes/pki");
    assert_eq!(c.cluster.image_repository, "registry.k8s.io");
    assert_eq!(c.cluster.cluster_name, "kubernetes");
    assert!(matches!(&c.cluster.etcd, Etcd::Local(l) if l.data_dir == "/var/lib/etcd"));
    assert_eq!(c.cluster.encryption_algorithm, KeyAlgorithm::Rsa2048);
    assert_eq!(c.cluster.certificate_validity, Duration::from_secs(8760 * 3600));
    assert_eq!(c.node_registration.name, "cp1");
    assert_eq!(c.node_registration.cri_socket, "unix:///run/containerd/containerd.sock");
    assert_eq!(c.node_registration.image_pull_policy, "IfNotPresent");
    assert_eq!(c.node_registration.taints.len(), 1);
    assert_eq!(c.node_registration.taints[0].key, CONTROL_PLANE_TAINT);
    assert_eq!(c.node_registration.taints[0].effect, "NoSchedule");
    assert_eq!(c.local_api_endpoint.advertise_address.to_string(), "10.0.0.10");
    assert_eq!(c.local_api_endpoint.bind_port, 6443);
    assert_eq!(c.bootstrap_tokens.len(), 1);
    let t = &c.bootstrap_tokens[0];
    assert_eq!((t.token.as_deref(), t.ttl, t.description.as_str()), (None, Some(Duration::from_secs(86_400)), ""));
    assert_eq!(t.usages, ["signing", "authentication"]);
    assert_eq!(t.groups, [DEFAULT_TOKEN_GROUP]);
    assert_eq!(c.timeouts, Timeouts::default());
    assert!(c.kubelet.is_none() && c.kube_proxy.is_none());
}

#[test]
fn v1beta4_list_extra_args_and_timeouts() {
    let text = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\ntimeouts:\n  controlPlaneComponentHealthCheck: 10m\n\
nodeRegistration:\n  kubeletExtraArgs:\n  - name: v\n    value: \"4\"\n  taints: []\n---\n\
apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: v1.31.2\nencryptionAlgorithm: ECDSA-P256\n\
apiServer:\n  extraArgs:\n  - name: feature-gates\n    value: A=true\n  - name: feature-gates\n    value: B=true\n  extraEnvs:\n  - name: HTTP_PROXY\n    value: http://p:3128\n\
---\napiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: cgroupfs\n";
    let l = load_init(Some(text), &InitFlags::default(), &host()).unwrap();
    let c = &l.config;
    assert_eq!(c.api_version, ApiVersion::V1beta4);
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    let a = &c.cluster.api_server.component;
    assert_eq!(a.extra_args.len(), 2);
    assert_eq!((a.extra_args[1].name.as_str(), a.extra_args[1].value.as_str()), ("feature-gates", "B=true"));
    assert_eq!(a.extra_envs[0].value, "http://p:3128");
    assert_eq!(c.node_registration.kubelet_extra_args, [Arg { name: "v".into(), value: "4".into() }]);
    assert!(c.node_registration.taints.is_empty());
    assert_eq!(c.cluster.encryption_algorithm, KeyAlgorithm::EcdsaP256);
    assert_eq!(c.timeouts.control_plane_component_health_check, Duration::from_secs(600));
    assert_eq!(c.node_registration.name, "cp-1");
    assert_eq!(c.local_api_endpoint.advertise_address.to_string(), "192.168.1.5");
    assert_eq!(c.kubelet.as_ref().unwrap()["cgroupDriver"], "cgroupfs");
}

#[test]
fn v1beta3_quirks_map_onto_the_model() {
    let text = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: v1.32.1\n\
featureGates:\n  PublicKeysECDSA: true\napiServer:\n  timeoutForControlPlane: 7m0s\n  certSANs: [LB.Example.com, 10.0.0.99]\n";
    let l = load_init(Some(text), &InitFlags::default(), &host()).unwrap();
    assert_eq!(l.config.cluster.encryption_algorithm, KeyAlgorithm::EcdsaP256);
    assert_eq!(l.config.timeouts.control_plane_component_health_check, Duration::from_secs(420));
    assert_eq!(l.config.cluster.api_server.cert_sans, ["lb.example.com", "10.0.0.99"]);
    assert!(l.warnings.iter().any(|w| w.contains("deprecated")), "{:?}", l.warnings);
    // kubeadm's ValidateCertSANs refuses what is neither an IP nor a DNS name (kbinit once warned and dropped it)
    let bad = text.replace("10.0.0.99]", "10.0.0.99, \"bad name!\"]");
    let err = load_init(Some(&bad), &InitFlags::default(), &host()).unwrap_err().to_string();
    assert!(err.contains("apiServer.certSANs") && err.contains("bad name!"), "{err}");
}

#[test]
fn flags_only() {
    let flags = InitFlags {
        kubernetes_version: Some("stable-1.30".into()),
        pod_network_cidr: Some("10.244.0.0/16".into()),
        token: Some("abcdef.0123456789abcdef".into()),
        token_ttl: Some("0".into()),
        apiserver_extra_args: Some("v=2,profiling=false".into()),
        cri_socket: Some("/run/crio/crio.sock".into()),
        ignore_preflight_errors: Some(vec!["Swap".into(), "NumCPU".into()]),
        skip_phases: Some(vec!["addon/kube-proxy".into()]),
        ..Default::default()
    };
    let l = load_init(None, &flags, &host()).unwrap();
    let c = &l.config;
    assert_eq!(c.api_version, ApiVersion::V1beta3, "1.30 has no v1beta4");
    assert_eq!(c.cluster.kubernetes_version.minor, 30);
    let t = &c.bootstrap_tokens[0];
    assert_eq!(t.token.as_deref(), Some("abcdef.0123456789abcdef"));
    assert_eq!(t.ttl, None);
    assert_eq!(t.description, INIT_TOKEN_DESCRIPTION);
    let names: Vec<&str> = c.cluster.api_server.component.extra_args.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["profiling", "v"]);
    assert_eq!(c.node_registration.cri_socket, "unix:///run/crio/crio.sock");
    assert!(l.warnings.iter().any(|w| w.contains("without URL scheme")));
    assert_eq!(c.node_registration.ignore_preflight_errors, ["swap", "numcpu"]);
    assert_eq!(c.skip_phases, ["addon/kube-proxy"]);
    let newest = load_init(None, &InitFlags::default(), &host()).unwrap();
    assert_eq!(newest.config.api_version, ApiVersion::V1beta4);
}

#[test]
fn unknown_fields_warn_with_path_and_kind() {
    let text = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: v1.28.7\n\
networking:\n  podSubnett: 10.244.0.0/16\ntimeouts: {}\n";
    let l = load_init(Some(text), &InitFlags::default(), &host()).unwrap();
    assert!(l.warnings.contains(
        &r#"unknown field "networking.podSubnett" in ClusterConfiguration (kubeadm.k8s.io/v1beta3)"#.to_string()
    ));
    assert_eq!(l.config.cluster.networking.pod_subnet, "");
}

#[test]
fn allowed_flags_overlay_the_config() {
    let text = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nskipPhases: [addon/coredns]\n\
nodeRegistration:\n  name: fromconfig\n  ignorePreflightErrors: [Swap]\n";
    let flags = InitFlags {
        node_name: Some("fromflag".into()),
        ignore_preflight_errors: Some(vec!["NumCPU".into()]),
        skip_phases: Some(vec!["preflight".into()]),
        ..Default::default()
    };
    let l = load_init(Some(text), &flags, &host()).unwrap();
    assert_eq!(l.config.node_registration.name, "fromflag");
    assert_eq!(l.config.node_registration.ignore_preflight_errors, ["swap", "numcpu"]);
    assert_eq!(l.config.skip_phases, ["preflight"]);
}

#[test]
fn v1beta3_is_read_until_1_36_and_refused_by_1_37() {
    let doc = |v: &str| {
        format!(
            "apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\n---\napiVersion: kubeadm.k8s.io/v1beta3\n\
             kind: ClusterConfiguration\nkubernetesVersion: {v}\n"
        )
    };
    for v in ["v1.35.3", "v1.36.1"] {
        let l = load_init(Some(&doc(v)), &InitFlags::default(), &host()).unwrap();
        assert_eq!(l.config.api_version, ApiVersion::V1beta3);
        assert!(l.warnings.iter().any(|w| w.contains("deprecated")), "{v}: {:?}", l.warnings);
    }
    for text in [doc("v1.37.0"), "apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\n".to_string()] {
        let e = load_init(Some(&text), &InitFlags::default(), &host()).unwrap_err();
        assert!(e.is_invalid_input());
        let e = e.to_string();
        assert!(e.contains("InitConfiguration"), "names the document: {e}");
        assert!(e.contains("your configuration file uses an old API spec: \"kubeadm.k8s.io/v1beta3\""), "{e}");
        assert!(e.contains("kubeadm config migrate --old-config old.yaml --new-config new.yaml"), "{e}");
        assert!(e.contains("v1.37.0"), "names the version: {e}");
    }
    let v4 = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: v1.37.2\n";
    let l = load_init(Some(v4), &InitFlags::default(), &host()).unwrap();
    assert_eq!(l.config.api_version, ApiVersion::V1beta4);
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    let ipvs =
        format!("{v4}---\napiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\n");
    let l = load_init(Some(&ipvs), &InitFlags::default(), &host()).unwrap();
    assert!(l.warnings.iter().any(|w| w.contains("\"ipvs\" is deprecated")), "{:?}", l.warnings);
}

#[test]
fn cri_socket_detection() {
    let mut h = host();
    h.cri_sockets = vec!["unix:///var/run/crio/crio.sock".into()];
    let l = load_init(None, &InitFlags::default(), &h).unwrap();
    assert_eq!(l.config.node_registration.cri_socket, "unix:///var/run/crio/crio.sock");
    h.cri_sockets.push(DEFAULT_CRI_SOCKET.into());
    let err = load_init(None, &InitFlags::default(), &h).unwrap_err().to_string();
    assert!(err.contains("found multiple CRI endpoints on the host"), "{err}");
    h.cri_sockets.clear();
    let l = load_init(None, &InitFlags::default(), &h).unwrap();
    assert_eq!(l.config.node_registration.cri_socket, DEFAULT_CRI_SOCKET);
}

#[test]
fn advertise_address_needs_a_route_or_a_value() {
    let mut h = host();
    h.default_address = None;
    let err = load_init(None, &InitFlags::default(), &h).unwrap_err().to_string();
    assert!(err.contains("--apiserver-advertise-address"), "{err}");
    let err =
        load_init(Some("apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\n"), &InitFlags::default(), &h)
            .unwrap_err()
            .to_string();
    assert!(err.contains("localAPIEndpoint.advertiseAddress"), "{err}");
}

fn hash() -> String {
    format!("sha256:{}", "ab".repeat(32))
}

#[test]
fn join_with_flags() {
    let flags = JoinFlags {
        api_server_endpoint: Some("10.0.0.10:6443".into()),
        token: Some("abcdef.0123456789abcdef".into()),
        discovery_token_ca_cert_hash: Some(vec![hash()]),
        certificate_key: Some("00".repeat(32)),
        ..Default::default()
    };
    let l = load_join(None, &flags, &host()).unwrap();
    let c = &l.config;
    assert!(matches!(&c.discovery, Discovery::BootstrapToken { token, api_server_endpoint, .. }
        if token == "abcdef.0123456789abcdef" && api_server_endpoint == "10.0.0.10:6443"));
    assert_eq!(c.tls_bootstrap_token, "abcdef.0123456789abcdef");
    assert!(c.control_plane.is_none());
    assert!(c.node_registration.taints.is_empty());
    assert!(l.warnings.iter().any(|w| w.contains("certificate-key")), "{:?}", l.warnings);

    let cp = JoinFlags { control_plane: true, ..flags.clone() };
    let l = load_join(None, &cp, &host()).unwrap();
    let jcp = l.config.control_plane.unwrap();
    assert_eq!(jcp.certificate_key, "00".repeat(32));
    assert_eq!(jcp.local_api_endpoint.bind_port, 6443);
    assert_eq!(l.config.node_registration.taints[0].key, CONTROL_PLANE_TAINT);

    let no_hash = JoinFlags { discovery_token_ca_cert_hash: None, ..flags.clone() };
    assert!(load_join(None, &no_hash, &host()).unwrap_err().to_string().contains("--discovery-token-ca-cert-hash"));
    let neither = JoinFlags { api_server_endpoint: None, ..flags };
    assert!(load_join(None, &neither, &host()).is_err());
}

#[test]
fn join_with_config() {
    let text = format!(
        "apiVersion: kubeadm.k8s.io/v1beta3\nkind: JoinConfiguration\ndiscovery:\n  timeout: 2m0s\n  bootstrapToken:\n    \
token: abcdef.0123456789abcdef\n    apiServerEndpoint: \"[fd00::1]:6443\"\n    caCertHashes: [\"{}\"]\n",
        hash()
    );
    let l = load_join(Some(&text), &JoinFlags::default(), &host()).unwrap();
    assert_eq!(l.config.api_version, ApiVersion::V1beta3);
    assert_eq!(l.config.timeouts.discovery, Duration::from_secs(120));
    assert_eq!(l.config.ca_cert_path, "/etc/kubernetes/pki/ca.crt");
    let mixed = JoinFlags { control_plane: true, token: Some("x".into()), ..Default::default() };
    let err = load_join(Some(&text), &mixed, &host()).unwrap_err().to_string();
    assert!(err.contains("can not mix '--config' with arguments [control-plane token]"), "{err}");
    let bad = text.replace("kind: JoinConfiguration\n", "kind: JoinConfiguration\ncaCertPath: /etc/ca.pem\n");
    assert!(load_join(Some(&bad), &JoinFlags::default(), &host()).unwrap_err().to_string().contains("caCertPath"));
    let file = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\ndiscovery:\n  file:\n    kubeConfigPath: /etc/kubernetes/discovery.conf\n";
    let l = load_join(Some(file), &JoinFlags::default(), &host()).unwrap();
    assert!(matches!(l.config.discovery, Discovery::File { .. }));
    assert_eq!(l.config.tls_bootstrap_token, "");
}
