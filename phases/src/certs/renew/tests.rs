//! Tests of renewal, expiration rows and CSR planning on an in-memory node set up by the init planners.

#![allow(clippy::unwrap_used)]

use time::macros::datetime;

use super::*;
use crate::certs::expiration::{check_expiration, expiration_text, format_expiry};
use crate::certs::tests::{reference_cluster, reference_node};
use crate::certs::{OnDemandKeys, PkiContext, plan_all};
use crate::plan::MemoryNode;
use crate::version::KubeVersion;

const NOW: OffsetDateTime = datetime!(2026-11-22 12:58:30 UTC);

fn node_with_pki(cluster: &ClusterConfiguration) -> MemoryNode {
    let node = reference_node();
    let ctx = PkiContext { cluster, node: &node, now: NOW };
    let mut mem = MemoryNode::default();
    mem.absorb(&plan_all(&ctx, &mem, &OnDemandKeys).unwrap());
    let steps = crate::kubeconfig::plan_all(&ctx, "/etc/kubernetes", &mem, &OnDemandKeys).unwrap();
    mem.absorb(&steps);
    mem
}

fn cluster_131() -> ClusterConfiguration {
    let mut c = reference_cluster(KeyAlgorithm::EcdsaP256);
    c.kubernetes_version = KubeVersion::resolve("v1.31.0").unwrap();
    c
}

#[test]
fn names_are_sorted_and_never_kubelet_conf() {
    let names = renew_names(&cluster_131());
    assert_eq!(
        names,
        [
            "admin.conf",
            "apiserver",
            "apiserver-etcd-client",
            "apiserver-kubelet-client",
            "controller-manager.conf",
            "etcd-healthcheck-client",
            "etcd-peer",
            "etcd-server",
            "front-proxy-client",
            "scheduler.conf",
            "super-admin.conf"
        ]
    );
    let v128 = renew_names(&reference_cluster(KeyAlgorithm::EcdsaP256));
    assert!(!v128.contains(&"super-admin.conf") && v128.len() == 10);
}

#[test]
fn expiration_table_has_kubeadms_layout() {
    let cluster = cluster_131();
    let mut mem = node_with_pki(&cluster);
    mem.files.remove("/etc/kubernetes/pki/front-proxy-client.crt");
    let report = check_expiration(&cluster, "/etc/kubernetes", &mem).unwrap();
    let text = expiration_text(&report, NOW + time::Duration::minutes(1));
    let leaf = format_expiry(NOW + time::Duration::days(365));
    assert_eq!(leaf, "Nov 22, 2027 12:58 UTC");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "CERTIFICATE                    EXPIRES                  RESIDUAL TIME   CERTIFICATE AUTHORITY   EXTERNALLY MANAGED"
    );
    assert_eq!(
        lines[1],
        format!("admin.conf                     {leaf}   364d            ca                      no      ")
    );
    // the widest name sets the first column (28 + padding 3); empty cells are padded like any other
    assert_eq!(lines[9], format!("!MISSING! front-proxy-client{}", " ".repeat(3 + 25 + 16 + 24)));
    assert_eq!(lines[12], "");
    assert_eq!(lines[13], "CERTIFICATE AUTHORITY   EXPIRES                  RESIDUAL TIME   EXTERNALLY MANAGED");
    assert_eq!(lines[14], "ca                      Nov 19, 2036 12:58 UTC   9y              no      ");
    assert_eq!(lines.len(), 17);
}

#[test]
fn renew_copies_the_subject_and_replaces_the_key() {
    let cluster = cluster_131();
    let mem = node_with_pki(&cluster);
    let later = NOW + time::Duration::days(30);
    let steps = plan_renew("all", &cluster, "/etc/kubernetes", later, &mem, &OnDemandKeys).unwrap();
    let said: Vec<&str> =
        steps.iter().filter_map(|s| if let Step::Say(l) = s { Some(l.as_str()) } else { None }).collect();
    assert_eq!(
        said[0],
        "certificate embedded in the kubeconfig file for the admin to use and for kubeadm itself renewed"
    );
    assert_eq!(said[1], "certificate for serving the Kubernetes API renewed");
    assert_eq!(said[2], "certificate the apiserver uses to access etcd renewed");
    assert_eq!(said[11..], ["", RENEW_ALL_DONE]);
    let mut after = mem.clone();
    after.absorb(&steps);
    assert_eq!(after.files["/etc/kubernetes/kubelet.conf"], mem.files["/etc/kubernetes/kubelet.conf"]);
    assert_eq!(after.files["/etc/kubernetes/pki/ca.crt"], mem.files["/etc/kubernetes/pki/ca.crt"]);
    let old = load_cert(&mem, "/etc/kubernetes/pki/apiserver.crt").unwrap().unwrap();
    let new = load_cert(&after, "/etc/kubernetes/pki/apiserver.crt").unwrap().unwrap();
    let (o, n) = (old.x509().unwrap(), new.x509().unwrap());
    assert_eq!(o.subject().as_raw(), n.subject().as_raw());
    assert_eq!(
        o.subject_alternative_name().unwrap().unwrap().value,
        n.subject_alternative_name().unwrap().unwrap().value
    );
    assert_eq!(o.extended_key_usage().unwrap().unwrap().value, n.extended_key_usage().unwrap().unwrap().value);
    assert_ne!(o.public_key().raw, n.public_key().raw);
    assert!(n.validity().not_after.to_datetime() == later + time::Duration::days(365));
    let ca = load_cert(&mem, "/etc/kubernetes/pki/ca.crt").unwrap().unwrap();
    assert!(issue::signed_by(&new, &ca));
    let old_admin = kubeconfig_cert("/etc/kubernetes/admin.conf", &mem).unwrap().unwrap();
    let new_admin = kubeconfig_cert("/etc/kubernetes/admin.conf", &after).unwrap().unwrap();
    assert_eq!(old_admin.x509().unwrap().subject().as_raw(), new_admin.x509().unwrap().subject().as_raw());
    assert_ne!(old_admin.der, new_admin.der);
}

#[test]
fn external_ca_missing_files_and_unknown_names() {
    let cluster = cluster_131();
    let mut mem = node_with_pki(&cluster);
    mem.files.remove("/etc/kubernetes/pki/front-proxy-ca.key");
    mem.files.remove("/etc/kubernetes/scheduler.conf");
    let steps = plan_renew("front-proxy-client", &cluster, "/etc/kubernetes", NOW, &mem, &OnDemandKeys).unwrap();
    assert_eq!(
        steps,
        [Step::say("Detected external front-proxy-ca, certificate for the front proxy client can't be renewed")]
    );
    let steps = plan_renew("scheduler.conf", &cluster, "/etc/kubernetes", NOW, &mem, &OnDemandKeys).unwrap();
    assert_eq!(
        steps,
        [Step::say("MISSING! certificate embedded in the kubeconfig file for the scheduler manager to use")]
    );
    let report = check_expiration(&cluster, "/etc/kubernetes", &mem).unwrap();
    let fp = report.certificates.iter().find(|c| c.name == "front-proxy-client").unwrap();
    assert!(fp.externally_managed);
    assert!(report.authorities.iter().find(|c| c.name == "front-proxy-ca").unwrap().externally_managed);
    let err = plan_renew("kubelet.conf", &cluster, "/etc/kubernetes", NOW, &mem, &OnDemandKeys).unwrap_err();
    assert!(err.to_string().contains("not a certificate kbinit renews"), "{err}");
}

#[test]
fn generate_csr_writes_pairs_and_refuses_existing() {
    let cluster = cluster_131();
    let node = reference_node();
    let ctx = PkiContext { cluster: &cluster, node: &node, now: NOW };
    let empty = MemoryNode::default();
    let steps = crate::csr::plan_generate_csr(&ctx, "/etc/kubernetes", &empty, &OnDemandKeys).unwrap();
    let mut mem = MemoryNode::default();
    mem.absorb(&steps);
    assert!(mem.files.contains_key("/etc/kubernetes/pki/etcd/server.key"));
    let csr = String::from_utf8(mem.files["/etc/kubernetes/pki/apiserver.csr"].clone()).unwrap();
    assert!(csr.starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
    let admin = String::from_utf8(mem.files["/etc/kubernetes/admin.conf"].clone()).unwrap();
    assert!(admin.contains("client-key-data") && !admin.contains("client-certificate-data"), "{admin}");
    assert!(mem.files.contains_key("/etc/kubernetes/admin.conf.csr"));
    assert!(
        !mem.files.contains_key("/etc/kubernetes/pki/ca.csr") && !mem.files.contains_key("/etc/kubernetes/pki/sa.csr")
    );
    let err = crate::csr::plan_generate_csr(&ctx, "/etc/kubernetes", &mem, &OnDemandKeys).unwrap_err();
    assert_eq!(err.to_string(), "file already exists: key or CSR /etc/kubernetes/pki/apiserver");
}
