//! Tests of the kubeconfig planner against kubeadm v1.28.7's admin.conf, kubelet.conf, controller-manager.conf
//! and scheduler.conf for the reference input, plus the 1.29 and 1.33 differences.

#![allow(clippy::unwrap_used)]

use x509_parser::prelude::{FromDer, X509Certificate};

use super::*;
use crate::certs::tests::{CountingKeys, now, reference_cluster, reference_node, subject_of};
use crate::certs::{self, OnDemandKeys};
use crate::config::KeyAlgorithm;
use crate::plan::MemoryNode;

const DIR: &str = "/etc/kubernetes";

fn pki_node(cluster: &ClusterConfiguration, node: &NodeIdentity) -> MemoryNode {
    let ctx = PkiContext { cluster, node, now: now() };
    let mut disk = MemoryNode::default();
    disk.absorb(&certs::plan_one("ca", &ctx, &disk, &OnDemandKeys).unwrap());
    disk
}

fn says(steps: &[Step]) -> Vec<String> {
    steps.iter().filter_map(|s| if let Step::Say(l) = s { Some(l.clone()) } else { None }).collect()
}

fn subject_and_server(disk: &MemoryNode, file: &str) -> (Vec<(String, String)>, String, Value) {
    let text = String::from_utf8(disk.files[&format!("{DIR}/{file}")].clone()).unwrap();
    let doc = crate::go_format::yaml::from_yaml(&text).unwrap();
    let cert = B64.decode(doc["users"][0]["user"]["client-certificate-data"].as_str().unwrap()).unwrap();
    let der = pem::parse(&cert).unwrap().into_contents();
    let (_, c) = X509Certificate::from_der(&der).unwrap();
    let server = doc["clusters"][0]["cluster"]["server"].as_str().unwrap().to_string();
    (subject_of(&c), server, doc)
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[test]
fn reference_kubeconfigs_match_kubeadm() {
    let cluster = reference_cluster(KeyAlgorithm::EcdsaP256);
    let node = reference_node();
    let mut disk = pki_node(&cluster, &node);
    let ctx = PkiContext { cluster: &cluster, node: &node, now: now() };
    assert_eq!(keys_needed(&ctx, DIR, &disk), 4);
    let keys = CountingKeys::default();
    let steps = plan_all(&ctx, DIR, &disk, &keys).unwrap();
    assert_eq!(keys.0.load(std::sync::atomic::Ordering::SeqCst), 4);
    assert_eq!(
        says(&steps).join("\n"),
        r#"[kubeconfig] Using kubeconfig folder "/etc/kubernetes"
[kubeconfig] Writing "admin.conf" kubeconfig file
[kubeconfig] Writing "kubelet.conf" kubeconfig file
[kubeconfig] Writing "controller-manager.conf" kubeconfig file
[kubeconfig] Writing "scheduler.conf" kubeconfig file"#
    );
    assert!(steps.iter().all(|s| !matches!(s, Step::WriteFile { kind, .. } if *kind != FileKind::Kubeconfig)));
    disk.absorb(&steps);
    let ca_pem = disk.files["/etc/kubernetes/pki/ca.crt"].clone();
    let cases = [
        ("admin.conf", &[("O", "system:masters"), ("CN", "kubernetes-admin")][..], "https://lb.example.com:6443"),
        ("kubelet.conf", &[("O", "system:nodes"), ("CN", "system:node:cp1")][..], "https://lb.example.com:6443"),
        ("controller-manager.conf", &[("CN", "system:kube-controller-manager")][..], "https://10.0.0.10:6443"),
        ("scheduler.conf", &[("CN", "system:kube-scheduler")][..], "https://10.0.0.10:6443"),
    ];
    for (file, subject, server) in cases {
        let (got_subject, got_server, doc) = subject_and_server(&disk, file);
        assert_eq!(got_subject, pairs(subject), "{file}");
        assert_eq!(got_server, server, "{file}");
        let user = subject.last().unwrap().1;
        assert_eq!(doc["current-context"], format!("{user}@kubernetes"), "{file}");
        assert_eq!(doc["contexts"][0]["context"]["cluster"], "kubernetes");
        assert_eq!(doc["contexts"][0]["context"]["user"], user);
        assert_eq!(doc["clusters"][0]["name"], "kubernetes");
        assert_eq!(doc["kind"], "Config");
        assert_eq!(doc["preferences"], serde_json::json!({}));
        let ca = B64.decode(doc["clusters"][0]["cluster"]["certificate-authority-data"].as_str().unwrap()).unwrap();
        assert_eq!(ca, ca_pem, "{file}: CA data is ca.crt");
        let key = B64.decode(doc["users"][0]["user"]["client-key-data"].as_str().unwrap()).unwrap();
        assert!(key.starts_with(b"-----BEGIN EC PRIVATE KEY-----"), "{file}: encryptionAlgorithm applies to clients");
    }

    // a re-run keeps every file
    let again = plan_all(&ctx, DIR, &disk, &OnDemandKeys).unwrap();
    assert_eq!(says(&again)[1], "[kubeconfig] Using existing kubeconfig file: \"/etc/kubernetes/admin.conf\"");
    assert!(again.iter().all(|s| matches!(s, Step::Say(_))));
    assert_eq!(keys_needed(&ctx, DIR, &disk), 0);
}

#[test]
fn super_admin_from_1_29_and_local_kubelet_from_1_33() {
    let node = reference_node();
    let mut cluster = reference_cluster(KeyAlgorithm::EcdsaP256);
    cluster.kubernetes_version = KubeVersion::resolve("v1.29.2").unwrap();
    let mut disk = pki_node(&cluster, &node);
    let ctx = PkiContext { cluster: &cluster, node: &node, now: now() };
    let names: Vec<&str> = subphases(&cluster.kubernetes_version).iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["admin", "super-admin", "kubelet", "controller-manager", "scheduler"]);
    disk.absorb(&plan_all(&ctx, DIR, &disk, &OnDemandKeys).unwrap());
    let (admin, _, _) = subject_and_server(&disk, "admin.conf");
    assert_eq!(admin, pairs(&[("O", "kubeadm:cluster-admins"), ("CN", "kubernetes-admin")]));
    let (sup, server, _) = subject_and_server(&disk, "super-admin.conf");
    assert_eq!(sup, pairs(&[("O", "system:masters"), ("CN", "kubernetes-super-admin")]));
    assert_eq!(server, "https://lb.example.com:6443");

    cluster.kubernetes_version = KubeVersion::resolve("v1.33.0").unwrap();
    let ctx = PkiContext { cluster: &cluster, node: &node, now: now() };
    let mut disk = pki_node(&cluster, &node);
    disk.absorb(&plan_one("kubelet", &ctx, DIR, &disk, &OnDemandKeys).unwrap());
    assert_eq!(subject_and_server(&disk, "kubelet.conf").1, "https://10.0.0.10:6443");

    let old = reference_cluster(KeyAlgorithm::EcdsaP256);
    let ctx = PkiContext { cluster: &old, node: &node, now: now() };
    assert!(plan_one("super-admin", &ctx, DIR, &disk, &OnDemandKeys).is_err(), "no super-admin in 1.28");
    assert_eq!(subphases(&old.kubernetes_version).len(), 4);
}

#[test]
fn existing_file_with_another_ca_is_refused() {
    let cluster = reference_cluster(KeyAlgorithm::EcdsaP256);
    let node = reference_node();
    let ctx = PkiContext { cluster: &cluster, node: &node, now: now() };
    let mut disk = pki_node(&cluster, &node);
    disk.absorb(&plan_one("admin", &ctx, DIR, &disk, &OnDemandKeys).unwrap());
    let other = pki_node(&cluster, &node);
    disk.files.extend(other.files);
    let err = plan_one("admin", &ctx, DIR, &disk, &OnDemandKeys).unwrap_err().to_string();
    assert_eq!(err, "a kubeconfig file \"/etc/kubernetes/admin.conf\" exists already but has got the wrong CA cert");
}

#[test]
fn external_ca_mode_uses_the_provided_files() {
    let cluster = reference_cluster(KeyAlgorithm::EcdsaP256);
    let node = reference_node();
    let ctx = PkiContext { cluster: &cluster, node: &node, now: now() };
    let mut disk = pki_node(&cluster, &node);
    disk.absorb(&plan_one("admin", &ctx, DIR, &disk, &OnDemandKeys).unwrap());
    disk.files.remove("/etc/kubernetes/pki/ca.key");
    assert_eq!(
        says(&plan_one("admin", &ctx, DIR, &disk, &OnDemandKeys).unwrap()),
        ["[kubeconfig] External CA mode: Using user provided admin.conf"]
    );
    let err = plan_one("scheduler", &ctx, DIR, &disk, &OnDemandKeys).unwrap_err().to_string();
    assert!(err.contains("invalid or incomplete external CA") && err.contains("scheduler.conf"), "{err}");
    assert_eq!(keys_needed(&ctx, DIR, &disk), 0);
}

#[test]
fn endpoints() {
    let mut cluster = reference_cluster(KeyAlgorithm::EcdsaP256);
    let mut node = reference_node();
    assert_eq!(control_plane_endpoint(&cluster, &node), "https://lb.example.com:6443");
    cluster.control_plane_endpoint = "lb.example.com".into();
    node.bind_port = 7443;
    assert_eq!(control_plane_endpoint(&cluster, &node), "https://lb.example.com:7443");
    cluster.control_plane_endpoint = "fd00::1".into();
    assert_eq!(control_plane_endpoint(&cluster, &node), "https://[fd00::1]:7443");
    cluster.control_plane_endpoint = "[fd00::1]:9443".into();
    assert_eq!(control_plane_endpoint(&cluster, &node), "https://[fd00::1]:9443");
    cluster.control_plane_endpoint = String::new();
    node.advertise_address = "fd00::10".parse().unwrap();
    assert_eq!(control_plane_endpoint(&cluster, &node), "https://[fd00::10]:7443");
    assert_eq!(local_endpoint(&node), "https://[fd00::10]:7443");
}

#[test]
fn value_layout_follows_kubeadm() {
    let v = kubeconfig_value("kubernetes", "https://x:6443", b"CA", "u", UserAuth::Token("t".into()));
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["apiVersion", "clusters", "contexts", "current-context", "kind", "preferences", "users"]);
    assert_eq!(v["users"][0]["user"], serde_json::json!({ "token": "t" }));
    assert_eq!(v["clusters"][0]["cluster"]["certificate-authority-data"], "Q0E=");
    let info = kubeconfig_value("", "https://10.0.0.1:6443", b"CA", "", UserAuth::None);
    assert_eq!(info["contexts"], Value::Null);
    assert_eq!(info["users"], Value::Null);
    assert_eq!(info["current-context"], "");
    assert_eq!(info["clusters"][0]["name"], "");
}

#[test]
fn reuse_check_names_another_node_endpoint_and_ca() {
    let cluster = reference_cluster(KeyAlgorithm::EcdsaP256);
    let node = reference_node();
    let ctx = PkiContext { cluster: &cluster, node: &node, now: now() };
    let mut disk = pki_node(&cluster, &node);
    disk.absorb(&plan_all(&ctx, DIR, &disk, &OnDemandKeys).unwrap());
    assert_eq!(check_existing(&ctx, DIR, &disk), vec![]);
    // another node name and another advertise address: kubelet.conf is someone else's, the local ones point
    // at the old address
    let other = NodeIdentity { name: "cp2".into(), advertise_address: "10.0.0.11".parse().unwrap(), bind_port: 6443 };
    let ctx2 = PkiContext { cluster: &cluster, node: &other, now: now() };
    let found = check_existing(&ctx2, DIR, &disk);
    let by_path = |p: &str| found.iter().find(|u| u.path == format!("{DIR}/{p}")).map(|u| u.why.clone());
    assert_eq!(
        by_path("kubelet.conf").unwrap(),
        "its client certificate is issued to \"system:node:cp1\", this configuration needs \"system:node:cp2\""
    );
    assert_eq!(
        by_path("scheduler.conf").unwrap(),
        "it points at https://10.0.0.10:6443, this configuration needs https://10.0.0.11:6443"
    );
    assert_eq!(by_path("admin.conf"), None, "admin.conf names the control-plane endpoint, which did not change");
    // another CA
    let fresh = pki_node(&cluster, &node);
    disk.files.extend(fresh.files);
    let found = check_existing(&ctx, DIR, &disk);
    assert_eq!(found.len(), 4, "{found:?}");
    assert!(found.iter().all(|u| u.why == "it trusts another CA than /etc/kubernetes/pki/ca.crt"));
    assert_eq!(found[0].fix, "delete /etc/kubernetes/admin.conf (kbinit writes a new one), or run kbinit reset");
}
