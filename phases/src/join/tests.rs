//! Join planning end to end, without a cluster: a first control-plane node's PKI stands in for kubeadm-certs, its
//! uploaded ClusterConfiguration for kubeadm-config, and a member list for etcd's answer.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use time::OffsetDateTime;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::control_plane::*;
use super::etcd::*;
use super::kubelet::*;
use super::*;
use crate::certs::{OnDemandKeys, PkiContext};
use crate::config::{
    ApiVersion, ClusterConfiguration, Etcd, ExternalEtcd, HostFacts, JoinConfiguration, JoinFlags, KeyAlgorithm, Taint,
    cluster_configuration_document, load_join,
};
use crate::manifests::fixture;
use crate::plan::{FileKind, MemoryNode, Step};

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
}

fn host(hostname: &str) -> HostFacts {
    HostFacts { hostname: hostname.into(), default_address: Some("10.0.0.11".parse().unwrap()), ..fixture::host() }
}

/// The reference cluster with ECDSA keys (fast to generate), as the first node uploaded it.
fn uploaded_cluster(version: &str) -> ClusterConfiguration {
    let mut cluster = fixture::init().cluster;
    cluster.kubernetes_version = crate::version::KubeVersion::resolve(version).unwrap();
    cluster.encryption_algorithm = KeyAlgorithm::EcdsaP256;
    let text = crate::go_format::yaml::to_yaml(&cluster_configuration_document(&cluster, 6443, ApiVersion::V1beta3));
    let cm = ConfigMap {
        data: Some(BTreeMap::from([(remote::CLUSTER_CONFIGURATION_KEY.to_string(), text)])),
        ..Default::default()
    };
    remote::cluster_configuration(&cm).unwrap().config
}

/// The shared files of a first node cp1 (10.0.0.10), as download-certs would put them on the joining node.
fn shared_pki(cluster: &ClusterConfiguration) -> MemoryNode {
    let first = fixture::init().node();
    let ctx = PkiContext { cluster, node: &first, now: now() };
    let mut cp1 = MemoryNode::default();
    cp1.absorb(&crate::certs::plan_all(&ctx, &MemoryNode::default(), &OnDemandKeys).unwrap());
    let mut node = MemoryNode::default();
    for f in shared_cert_files(cluster) {
        let p = format!("/etc/kubernetes/pki/{f}");
        node.files.insert(p.clone(), cp1.files[&p].clone());
    }
    node
}

fn join_cp2() -> JoinConfiguration {
    let flags = JoinFlags {
        api_server_endpoint: Some("lb.example.com:6443".into()),
        token: Some("abcdef.0123456789abcdef".into()),
        discovery_token_ca_cert_hash: Some(vec![format!("sha256:{}", "ab".repeat(32))]),
        control_plane: true,
        apiserver_advertise_address: Some("10.0.0.11".into()),
        node_name: Some("cp2".into()),
        certificate_key: Some("0".repeat(64)),
        ..Default::default()
    };
    load_join(None, &flags, &host("cp2")).unwrap().config
}

fn written<'a>(steps: &'a [Step], path: &str) -> Option<&'a [u8]> {
    steps.iter().find_map(|s| match s {
        Step::WriteFile { path: p, bytes, .. } if p == path => Some(bytes.as_slice()),
        _ => None,
    })
}

fn text(steps: &[Step], path: &str) -> String {
    String::from_utf8(written(steps, path).unwrap_or_else(|| panic!("{path} not written")).to_vec()).unwrap()
}

fn sans(pem_text: &str) -> (Vec<String>, Vec<String>) {
    let der = pem::parse(pem_text).unwrap().into_contents();
    let (_, cert) = X509Certificate::from_der(&der).unwrap();
    let (mut dns, mut ips) = (Vec::new(), Vec::new());
    for ext in cert.extensions() {
        if let ParsedExtension::SubjectAlternativeName(san) = ext.parsed_extension() {
            for n in &san.general_names {
                match n {
                    GeneralName::DNSName(d) => dns.push(d.to_string()),
                    GeneralName::IPAddress(b) if b.len() == 4 => {
                        ips.push(std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string())
                    }
                    _ => {}
                }
            }
        }
    }
    (dns, ips)
}

#[test]
fn second_control_plane_node_renders_its_own_files() {
    let cluster = uploaded_cluster("v1.28.7");
    assert_eq!(cluster.control_plane_endpoint, "lb.example.com:6443");
    let join = join_cp2();
    let init = control_plane_init_configuration(&join, &cluster, None).unwrap();
    assert_eq!(init.node().name, "cp2");
    assert_eq!(init.node().advertise_address.to_string(), "10.0.0.11");
    assert_eq!(init.cluster, cluster);

    let view = shared_pki(&cluster);
    let steps = plan_prepare(&init, &view, &OnDemandKeys, now(), &[]).unwrap();

    // the shared CAs are used, never made again
    assert!(steps.contains(&Step::say("[certs] Using existing ca certificate authority")));
    assert!(written(&steps, "/etc/kubernetes/pki/ca.crt").is_none());
    assert!(written(&steps, "/etc/kubernetes/pki/sa.key").is_none());
    let valid = steps
        .iter()
        .position(|s| *s == Step::say("[certs] Valid certificates and keys now exist in \"/etc/kubernetes/pki\""));
    let sa = steps.iter().position(|s| *s == Step::say("[certs] Using the existing \"sa\" key"));
    assert!(valid.unwrap() + 1 == sa.unwrap(), "{steps:#?}");

    // apiserver serving cert: this node's name and address, the cluster's endpoint
    let (dns, ips) = sans(&text(&steps, "/etc/kubernetes/pki/apiserver.crt"));
    assert!(dns.contains(&"cp2".to_string()) && dns.contains(&"lb.example.com".to_string()), "{dns:?}");
    assert!(!dns.contains(&"cp1".to_string()));
    assert_eq!(ips, ["10.96.0.1", "10.0.0.11"]);
    let (dns, ips) = sans(&text(&steps, "/etc/kubernetes/pki/etcd/peer.crt"));
    assert_eq!(
        (dns, ips),
        (vec!["cp2".to_string(), "localhost".to_string()], vec!["10.0.0.11".to_string(), "127.0.0.1".to_string()])
    );

    // kubeconfigs: admin via the endpoint, the components via this node; no kubelet.conf, no super-admin.conf
    assert!(text(&steps, "/etc/kubernetes/admin.conf").contains("server: https://lb.example.com:6443\n"));
    assert!(text(&steps, "/etc/kubernetes/scheduler.conf").contains("server: https://10.0.0.11:6443\n"));
    assert!(written(&steps, "/etc/kubernetes/kubelet.conf").is_none());
    let kubeconfigs = steps.iter().filter(|s| matches!(s, Step::WriteFile { kind: FileKind::Kubeconfig, .. })).count();
    assert_eq!(kubeconfigs, 3);

    // manifests on this node's address
    let apiserver = text(&steps, "/etc/kubernetes/manifests/kube-apiserver.yaml");
    assert!(apiserver.contains("- --advertise-address=10.0.0.11\n"), "{apiserver}");
    assert!(apiserver.contains("kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint: 10.0.0.11:6443"));
    assert!(written(&steps, "/etc/kubernetes/manifests/kube-scheduler.yaml").is_some());

    // etcd: cp1 is there, cp2 was just added (no name yet)
    let members = [
        EtcdMember {
            id: 0x8e9e05c52164694d,
            name: "cp1".into(),
            peer_urls: vec!["https://10.0.0.10:2380".into()],
            is_learner: false,
        },
        EtcdMember {
            id: 0x91bc3c398fb3c146,
            name: String::new(),
            peer_urls: vec!["https://10.0.0.11:2380".into()],
            is_learner: true,
        },
    ];
    let plan = plan_etcd_join(&init.cluster, &init.node(), &members).unwrap();
    assert_eq!(plan.peer_url, "https://10.0.0.11:2380");
    assert!(!plan.as_learner, "1.28 adds a voting member");
    assert_eq!(initial_cluster_flag(&plan.initial_cluster), "cp1=https://10.0.0.10:2380,cp2=https://10.0.0.11:2380");
    let etcd = text(&plan.steps, "/etc/kubernetes/manifests/etcd.yaml");
    for want in [
        "- --initial-cluster=cp1=https://10.0.0.10:2380,cp2=https://10.0.0.11:2380\n",
        "- --initial-cluster-state=existing\n",
        "- --name=cp2\n",
        "- --initial-advertise-peer-urls=https://10.0.0.11:2380\n",
    ] {
        assert!(etcd.contains(want), "{want}\n{etcd}");
    }
    assert_eq!(plan.steps[0], Step::EnsureDir { path: "/var/lib/etcd".into(), mode: 0o700 });
}

#[test]
fn refusals_before_any_file() {
    let cluster = uploaded_cluster("v1.28.7");
    let join = join_cp2();
    let init = control_plane_init_configuration(&join, &cluster, None).unwrap();

    // nothing shared on the node and no download: refused, listing what is missing
    let e = plan_prepare(&init, &MemoryNode::default(), &OnDemandKeys, now(), &[]).unwrap_err().to_string();
    assert!(e.contains("/etc/kubernetes/pki/ca.key") && e.contains("/etc/kubernetes/pki/etcd/ca.crt"), "{e}");
    assert!(e.contains("--certificate-key"), "{e}");

    let mut no_cpe = cluster.clone();
    no_cpe.control_plane_endpoint.clear();
    let e = control_plane_init_configuration(&join, &no_cpe, None).unwrap_err().to_string();
    assert!(e.contains("doesn't have a stable controlPlaneEndpoint address"), "{e}");

    let worker = JoinConfiguration { control_plane: None, ..join.clone() };
    assert!(control_plane_init_configuration(&worker, &cluster, None).is_err());

    let mut external = cluster.clone();
    external.etcd = Etcd::External(ExternalEtcd { endpoints: vec!["https://e:2379".into()], ..Default::default() });
    assert!(plan_etcd_join(&external, &init.node(), &[]).is_err());
    assert!(!shared_cert_files(&external).contains(&"etcd/ca.crt"));
}

#[test]
fn initial_cluster_follows_etcds_answer() {
    let node = crate::config::NodeIdentity {
        name: "cp3".into(),
        advertise_address: "fd00::3".parse().unwrap(),
        bind_port: 6443,
    };
    assert_eq!(peer_url(&node), "https://[fd00::3]:2380");
    let members = [
        EtcdMember { id: 0xa, name: String::new(), peer_urls: vec!["https://[fd00::2]:2380".into()], is_learner: true },
        EtcdMember {
            id: 0xb,
            name: "cp1".into(),
            peer_urls: vec!["https://[fd00::1]:2380".into(), "https://x:2380".into()],
            is_learner: false,
        },
        EtcdMember {
            id: 0xc,
            name: "cp3-old-name".into(),
            peer_urls: vec!["https://[fd00::3]:2380".into()],
            is_learner: true,
        },
    ];
    assert_eq!(
        initial_cluster_flag(&initial_cluster(&members, &node)),
        "a=https://[fd00::2]:2380,cp1=https://[fd00::1]:2380,cp3=https://[fd00::3]:2380"
    );
    // not in the answer: appended
    assert_eq!(
        initial_cluster(&members[1..2], &node).last().unwrap(),
        &("cp3".to_string(), "https://[fd00::3]:2380".to_string())
    );
}

#[test]
fn learner_mode_by_version_and_gate() {
    let mut c = uploaded_cluster("v1.29.2");
    assert!(joins_as_learner(&c));
    c.feature_gates.insert("EtcdLearnerMode".into(), false);
    assert!(!joins_as_learner(&c));
    c.kubernetes_version = crate::version::KubeVersion::resolve("v1.32.0").unwrap();
    assert!(joins_as_learner(&c), "locked on from 1.32");
    let mut old = uploaded_cluster("v1.28.7");
    assert!(!joins_as_learner(&old));
    old.feature_gates.insert("EtcdLearnerMode".into(), true);
    assert!(joins_as_learner(&old));
}

fn kubelet_cm_value() -> serde_json::Value {
    let cm = ConfigMap {
        data: Some(BTreeMap::from([(remote::KUBELET_KEY.to_string(), fixture::reference("kubelet-config.yaml"))])),
        ..Default::default()
    };
    remote::kubelet_configuration(&cm).unwrap()
}

#[test]
fn worker_kubelet_start_files() {
    let cluster = uploaded_cluster("v1.28.7");
    let flags = JoinFlags {
        api_server_endpoint: Some("lb.example.com:6443".into()),
        token: Some("abcdef.0123456789abcdef".into()),
        discovery_token_unsafe_skip_ca_verification: true,
        node_name: Some("worker1".into()),
        ..Default::default()
    };
    let mut join = load_join(None, &flags, &host("worker1")).unwrap().config;
    join.node_registration.taints = vec![Taint {
        key: "dedicated".into(),
        value: "gpu".into(),
        effect: "NoSchedule".into(),
        time_added: String::new(),
    }];
    let kubelet_config = kubelet_cm_value();
    let server = tls_bootstrap_server(&join, &cluster, "https://lb.example.com:6443");
    assert_eq!(server, "https://lb.example.com:6443");
    let boot =
        crate::discovery::bootstrap_kubeconfig(&cluster.cluster_name, &server, b"CA PEM", &join.tls_bootstrap_token);
    let host = host("worker1");
    let inp = KubeletStartInputs {
        join: &join,
        cluster: &cluster,
        kubelet_config: &kubelet_config,
        host: &host,
        bootstrap_kubeconfig: &boot,
        ca_pem: b"CA PEM",
    };
    let steps = plan_kubelet_start(&inp, &MemoryNode::default()).unwrap();
    assert_eq!(text(&steps, "/var/lib/kubelet/config.yaml"), fixture::reference("kubelet-config.yaml"));
    assert_eq!(written(&steps, "/etc/kubernetes/pki/ca.crt").unwrap(), b"CA PEM");
    assert!(
        matches!(&steps[1], Step::WriteFile { path, kind: FileKind::Kubeconfig, .. } if path == BOOTSTRAP_KUBELET_CONF)
    );
    assert!(text(&steps, BOOTSTRAP_KUBELET_CONF).contains("    token: abcdef.0123456789abcdef\n"));
    assert_eq!(
        text(&steps, "/var/lib/kubelet/kubeadm-flags.env"),
        "KUBELET_KUBEADM_ARGS=\"--container-runtime-endpoint=unix:///run/containerd/containerd.sock \
         --pod-infra-container-image=registry.k8s.io/pause:3.9 --register-with-taints=dedicated=gpu:NoSchedule\"\n"
    );

    // a CA already at caCertPath is left alone
    let mut with_ca = MemoryNode::default();
    with_ca.files.insert("/etc/kubernetes/pki/ca.crt".into(), b"old".to_vec());
    assert!(written(&plan_kubelet_start(&inp, &with_ca).unwrap(), "/etc/kubernetes/pki/ca.crt").is_none());
}

#[test]
fn control_plane_kubelet_start_and_local_mode() {
    let join = join_cp2();
    let kubelet_config = kubelet_cm_value();
    let host = host("cp2");
    for (version, server, instance) in
        [("v1.28.7", "https://lb.example.com:6443", false), ("v1.34.1", "https://10.0.0.11:6443", true)]
    {
        let cluster = uploaded_cluster(version);
        assert_eq!(tls_bootstrap_server(&join, &cluster, "https://lb.example.com:6443"), server);
        let boot = crate::discovery::bootstrap_kubeconfig("kubernetes", server, b"CA", &join.tls_bootstrap_token);
        let inp = KubeletStartInputs {
            join: &join,
            cluster: &cluster,
            kubelet_config: &kubelet_config,
            host: &host,
            bootstrap_kubeconfig: &boot,
            ca_pem: b"CA",
        };
        let steps = plan_kubelet_start(&inp, &MemoryNode::default()).unwrap();
        let env = text(&steps, "/var/lib/kubelet/kubeadm-flags.env");
        assert!(!env.contains("register-with-taints"), "control-plane taints come from mark-control-plane: {env}");
        assert_eq!(written(&steps, "/var/lib/kubelet/instance-config.yaml").is_some(), instance);
    }
}

#[test]
fn phase_order_per_release() {
    let names = |v: &str| -> Vec<&str> {
        join_phases(&crate::version::KubeVersion::resolve(v).unwrap()).iter().map(|p| p.name).collect()
    };
    assert_eq!(
        names("v1.28.7"),
        [
            "preflight",
            "control-plane-prepare/download-certs",
            "control-plane-prepare/certs",
            "control-plane-prepare/kubeconfig",
            "control-plane-prepare/control-plane",
            "check-etcd",
            "kubelet-start",
            "control-plane-join/etcd",
            "control-plane-join/update-status",
            "control-plane-join/mark-control-plane",
        ]
    );
    let new = names("v1.33.0");
    let at = |n: &str| new.iter().position(|p| *p == n).unwrap();
    assert!(at("kubelet-start") + 1 == at("etcd-join"));
    assert!(at("etcd-join") < at("kubelet-wait-bootstrap") && at("kubelet-wait-bootstrap") < at("wait-control-plane"));
    assert!(at("wait-control-plane") < at("control-plane-join/etcd"));
    let phases = join_phases(&crate::version::KubeVersion::resolve("v1.28.7").unwrap());
    assert!(!phases[0].control_plane_only && phases[2].control_plane_only);
}
