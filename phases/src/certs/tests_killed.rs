//! A run killed between a key and its certificate: the key is written first, and the next run issues the
//! certificate for that key instead of refusing (a certificate without its key would read as an external CA).

#![allow(clippy::unwrap_used)]

use std::sync::atomic::Ordering;

use super::tests::{CountingKeys, now, reference_cluster, reference_node, says, writes};
use super::*;
use crate::config::KeyAlgorithm;

const PKI: &str = "/etc/kubernetes/pki";

#[test]
fn the_key_is_written_before_its_certificate() {
    let cluster = reference_cluster(KeyAlgorithm::EcdsaP256);
    let node = reference_node();
    let ctx = PkiContext { cluster: &cluster, node: &node, now: now() };
    for (phase, base) in
        [("ca", "ca"), ("apiserver", "apiserver"), ("etcd-ca", "etcd/ca"), ("etcd-server", "etcd/server")]
    {
        let mut disk = MemoryNode::default();
        disk.absorb(&plan_all(&ctx, &disk, &CountingKeys::default()).unwrap());
        disk.files.remove(&format!("{PKI}/{base}.crt"));
        disk.files.remove(&format!("{PKI}/{base}.key"));
        let steps = plan_one(phase, &ctx, &disk, &CountingKeys::default()).unwrap();
        let order: Vec<&str> = steps
            .iter()
            .filter_map(|s| if let Step::WriteFile { path, .. } = s { Some(path.as_str()) } else { None })
            .collect();
        assert_eq!(order, [format!("{PKI}/{base}.key"), format!("{PKI}/{base}.crt")], "{phase}");
    }
}

#[test]
fn a_key_left_without_its_certificate_gets_one() {
    let cluster = reference_cluster(KeyAlgorithm::EcdsaP256);
    let node = reference_node();
    let ctx = PkiContext { cluster: &cluster, node: &node, now: now() };
    let mut disk = MemoryNode::default();
    disk.absorb(&plan_all(&ctx, &disk, &CountingKeys::default()).unwrap());
    // killed after etcd/ca.key and after front-proxy-client.key were written
    for f in ["etcd/ca.crt", "etcd/server.crt", "etcd/server.key", "front-proxy-client.crt"] {
        disk.files.remove(&format!("{PKI}/{f}"));
    }
    let (ca_key, leaf_key) = (
        disk.files[&format!("{PKI}/etcd/ca.key")].clone(),
        disk.files[&format!("{PKI}/front-proxy-client.key")].clone(),
    );
    assert_eq!(keys_needed(&ctx, &disk), 1, "only etcd/server needs a new key");
    let keys = CountingKeys::default();
    let steps = plan_all(&ctx, &disk, &keys).unwrap();
    assert_eq!(keys.0.load(Ordering::SeqCst), 1);
    let w = writes(&steps);
    assert!(
        !w.contains_key(&format!("{PKI}/etcd/ca.key")) && !w.contains_key(&format!("{PKI}/front-proxy-client.key"))
    );
    assert!(says(&steps).contains(&"[certs] Generating \"etcd/ca\" certificate and key".to_string()));
    disk.absorb(&steps);
    // each new certificate carries the key that was left, and the leaf signed by the new etcd CA verifies
    for (crt, key) in [("etcd/ca.crt", &ca_key), ("front-proxy-client.crt", &leaf_key)] {
        let cert = issue::LoadedCert::parse(crt, &disk.files[&format!("{PKI}/{crt}")]).unwrap();
        let pair = keys::load_private_key(key, crt).unwrap();
        assert_eq!(
            cert.x509().unwrap().public_key().raw,
            rcgen::PublicKeyData::subject_public_key_info(&pair).as_slice(),
            "{crt}"
        );
    }
    let ca = issue::LoadedCert::parse("ca", &disk.files[&format!("{PKI}/etcd/ca.crt")]).unwrap();
    let server = issue::LoadedCert::parse("server", &disk.files[&format!("{PKI}/etcd/server.crt")]).unwrap();
    assert!(issue::signed_by(&server, &ca));
    assert!(writes(&plan_all(&ctx, &disk, &CountingKeys::default()).unwrap()).is_empty(), "converged");
}

#[test]
fn a_lone_key_that_is_not_kbinits_is_refused() {
    let cluster = reference_cluster(KeyAlgorithm::EcdsaP256);
    let node = reference_node();
    let ctx = PkiContext { cluster: &cluster, node: &node, now: now() };
    let mut disk = MemoryNode::default();
    disk.files.insert(format!("{PKI}/ca.key"), b"garbage".to_vec());
    let err = plan_one("ca", &ctx, &disk, &CountingKeys::default()).unwrap_err().to_string();
    assert!(err.contains("/etc/kubernetes/pki/ca.key") && err.contains("not a private key"), "{err}");
    let rsa = private_key_pem(&generate_key(KeyAlgorithm::Rsa2048).unwrap()).unwrap();
    disk.files.insert(format!("{PKI}/ca.key"), rsa.into_bytes());
    let err = plan_one("ca", &ctx, &disk, &CountingKeys::default()).unwrap_err().to_string();
    assert!(err.contains("encryptionAlgorithm"), "{err}");
}
