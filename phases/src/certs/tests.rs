//! Tests of the PKI planner, against kubeadm v1.28.7's render of the reference input (node cp1, advertise
//! 10.0.0.10, controlPlaneEndpoint lb.example.com:6443) and the vectors of the compatibility reference.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use time::OffsetDateTime;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::*;
use crate::config::{ApiServer, KeyAlgorithm, LocalEtcd, Networking};
use crate::version::KubeVersion;

/// The reference input's ClusterConfiguration (v1.28.7 defaults) with a chosen key algorithm.
pub(crate) fn reference_cluster(alg: KeyAlgorithm) -> ClusterConfiguration {
    ClusterConfiguration {
        kubernetes_version: KubeVersion::resolve("v1.28.7").unwrap(),
        control_plane_endpoint: "lb.example.com:6443".into(),
        cluster_name: "kubernetes".into(),
        certificates_dir: "/etc/kubernetes/pki".into(),
        image_repository: "registry.k8s.io".into(),
        networking: Networking {
            service_subnet: "10.96.0.0/12".into(),
            pod_subnet: "10.244.0.0/16".into(),
            dns_domain: "cluster.local".into(),
        },
        etcd: Etcd::Local(LocalEtcd {
            image_repository: String::new(),
            image_tag: String::new(),
            data_dir: "/var/lib/etcd".into(),
            extra_args: vec![],
            extra_envs: vec![],
            server_cert_sans: vec![],
            peer_cert_sans: vec![],
        }),
        api_server: ApiServer::default(),
        controller_manager: Default::default(),
        scheduler: Default::default(),
        dns_image_repository: String::new(),
        dns_image_tag: String::new(),
        dns_disabled: false,
        proxy_disabled: false,
        feature_gates: BTreeMap::new(),
        encryption_algorithm: alg,
        certificate_validity: Duration::from_secs(8760 * 3600),
        ca_certificate_validity: Duration::from_secs(87600 * 3600),
    }
}

/// The reference node: cp1 at 10.0.0.10:6443.
pub(crate) fn reference_node() -> NodeIdentity {
    NodeIdentity { name: "cp1".into(), advertise_address: "10.0.0.10".parse().unwrap(), bind_port: 6443 }
}

/// A fixed issuing time.
pub(crate) fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
}

/// Counts the keys handed out.
#[derive(Default)]
pub(crate) struct CountingKeys(pub AtomicUsize);

impl KeySource for CountingKeys {
    fn key(&self, alg: KeyAlgorithm) -> Result<rcgen::KeyPair, Error> {
        self.0.fetch_add(1, Ordering::SeqCst);
        generate_key(alg)
    }
}

pub(crate) fn says(steps: &[Step]) -> Vec<String> {
    steps.iter().filter_map(|s| if let Step::Say(l) = s { Some(l.clone()) } else { None }).collect()
}

pub(crate) fn writes(steps: &[Step]) -> BTreeMap<String, (Vec<u8>, FileKind)> {
    steps
        .iter()
        .filter_map(|s| match s {
            Step::WriteFile { path, bytes, kind } => Some((path.clone(), (bytes.clone(), *kind))),
            _ => None,
        })
        .collect()
}

fn der_of(pem_bytes: &[u8]) -> Vec<u8> {
    pem::parse(pem_bytes).unwrap().into_contents()
}

/// Subject as `(short name, value)` pairs in RDN order, e.g. `[("O", "system:masters"), ("CN", "x")]`.
pub(crate) fn subject_of(c: &X509Certificate<'_>) -> Vec<(String, String)> {
    c.subject()
        .iter_attributes()
        .map(|a| {
            let name = match a.attr_type().to_id_string().as_str() {
                "2.5.4.3" => "CN".to_string(),
                "2.5.4.10" => "O".to_string(),
                other => other.to_string(),
            };
            (name, a.as_str().unwrap().to_string())
        })
        .collect()
}

fn sans_of(c: &X509Certificate<'_>) -> (Vec<String>, Vec<String>) {
    let (mut dns, mut ips) = (vec![], vec![]);
    if let Ok(Some(san)) = c.subject_alternative_name() {
        for n in &san.value.general_names {
            match n {
                GeneralName::DNSName(d) => dns.push(d.to_string()),
                GeneralName::IPAddress(b) => ips.push(match b.len() {
                    4 => IpAddr::from(<[u8; 4]>::try_from(*b).unwrap()).to_string(),
                    _ => IpAddr::from(<[u8; 16]>::try_from(*b).unwrap()).to_string(),
                }),
                other => panic!("unexpected SAN {other:?}"),
            }
        }
    }
    (dns, ips)
}

/// (serverAuth, clientAuth, EKU present).
fn eku_of(c: &X509Certificate<'_>) -> (bool, bool, bool) {
    match c.extended_key_usage().unwrap() {
        Some(e) => (e.value.server_auth, e.value.client_auth, true),
        None => (false, false, false),
    }
}

fn has_ext(c: &X509Certificate<'_>, f: impl Fn(&ParsedExtension) -> bool) -> bool {
    c.extensions().iter().any(|e| f(e.parsed_extension()))
}

const PKI: &str = "/etc/kubernetes/pki";

/// Everything kubeadm prints and writes for the reference input, checked field by field against the
/// pki_*.crt.txt files (§Q.7).
#[test]
fn reference_pki_matches_kubeadm() {
    let cluster = reference_cluster(KeyAlgorithm::Rsa2048);
    let node = reference_node();
    let ctx = PkiContext { cluster: &cluster, node: &node, now: now() };
    let steps = plan_all(&ctx, &MemoryNode::default(), &OnDemandKeys).unwrap();
    let expected = r#"[certs] Using certificateDir folder "/etc/kubernetes/pki"
[certs] Generating "ca" certificate and key
[certs] Generating "apiserver" certificate and key
[certs] apiserver serving cert is signed for DNS names [cp1 kubernetes kubernetes.default kubernetes.default.svc kubernetes.default.svc.cluster.local lb.example.com] and IPs [10.96.0.1 10.0.0.10]
[certs] Generating "apiserver-kubelet-client" certificate and key
[certs] Generating "front-proxy-ca" certificate and key
[certs] Generating "front-proxy-client" certificate and key
[certs] Generating "etcd/ca" certificate and key
[certs] Generating "etcd/server" certificate and key
[certs] etcd/server serving cert is signed for DNS names [cp1 localhost] and IPs [10.0.0.10 127.0.0.1 ::1]
[certs] Generating "etcd/peer" certificate and key
[certs] etcd/peer serving cert is signed for DNS names [cp1 localhost] and IPs [10.0.0.10 127.0.0.1 ::1]
[certs] Generating "etcd/healthcheck-client" certificate and key
[certs] Generating "apiserver-etcd-client" certificate and key
[certs] Generating "sa" key and public key"#;
    assert_eq!(says(&steps).join("\n"), expected);
    assert!(steps.contains(&Step::EnsureDir { path: PKI.into(), mode: 0o755 }));
    assert!(steps.contains(&Step::EnsureDir { path: format!("{PKI}/etcd"), mode: 0o755 }));

    let files = writes(&steps);
    assert_eq!(files.len(), 22);
    let ca_nb: BTreeMap<&str, OffsetDateTime> = ["ca", "front-proxy-ca", "etcd/ca"]
        .iter()
        .map(|b| {
            let der = der_of(&files[&format!("{PKI}/{b}.crt")].0);
            let (_, c) = X509Certificate::from_der(&der).unwrap();
            (*b, c.validity().not_before.to_datetime())
        })
        .collect();

    // (base, CA base, subject, DNS SANs, IP SANs, server, client)
    type Row<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], &'a [&'a str], &'a [&'a str], bool, bool);
    let rows: &[Row] = &[
        ("ca", "ca", &[("CN", "kubernetes")], &["kubernetes"], &[], false, false),
        (
            "apiserver",
            "ca",
            &[("CN", "kube-apiserver")],
            &[
                "cp1",
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local",
                "lb.example.com",
            ],
            &["10.96.0.1", "10.0.0.10"],
            true,
            false,
        ),
        (
            "apiserver-kubelet-client",
            "ca",
            &[("O", "system:masters"), ("CN", "kube-apiserver-kubelet-client")],
            &[],
            &[],
            false,
            true,
        ),
        ("front-proxy-ca", "front-proxy-ca", &[("CN", "front-proxy-ca")], &["front-proxy-ca"], &[], false, false),
        ("front-proxy-client", "front-proxy-ca", &[("CN", "front-proxy-client")], &[], &[], false, true),
        ("etcd/ca", "etcd/ca", &[("CN", "etcd-ca")], &["etcd-ca"], &[], false, false),
        (
            "etcd/server",
            "etcd/ca",
            &[("CN", "cp1")],
            &["cp1", "localhost"],
            &["10.0.0.10", "127.0.0.1", "::1"],
            true,
            true,
        ),
        (
            "etcd/peer",
            "etcd/ca",
            &[("CN", "cp1")],
            &["cp1", "localhost"],
            &["10.0.0.10", "127.0.0.1", "::1"],
            true,
            true,
        ),
        (
            "etcd/healthcheck-client",
            "etcd/ca",
            &[("O", "system:masters"), ("CN", "kube-etcd-healthcheck-client")],
            &[],
            &[],
            false,
            true,
        ),
        (
            "apiserver-etcd-client",
            "etcd/ca",
            &[("O", "system:masters"), ("CN", "kube-apiserver-etcd-client")],
            &[],
            &[],
            false,
            true,
        ),
    ];
    for (base, ca_base, subject, dns, ips, server, client) in rows {
        let crt = format!("{PKI}/{base}.crt");
        let (crt_pem, kind) = &files[&crt];
        assert_eq!(*kind, FileKind::Cert, "{crt}");
        let (key_pem, key_kind) = &files[&format!("{PKI}/{base}.key")];
        assert_eq!(*key_kind, FileKind::Key);
        assert!(key_pem.starts_with(b"-----BEGIN RSA PRIVATE KEY-----\n"), "{base}");
        let der = der_of(crt_pem);
        let (_, c) = X509Certificate::from_der(&der).unwrap();
        let is_ca = base == ca_base;
        assert_eq!(c.version().0, 2, "{base}: v3");
        let want: Vec<(String, String)> = subject.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        assert_eq!(subject_of(&c), want, "{base}: subject");
        let (got_dns, got_ips) = sans_of(&c);
        assert_eq!(got_dns, *dns, "{base}: DNS SANs");
        assert_eq!(got_ips, *ips, "{base}: IP SANs");
        assert_eq!(eku_of(&c), (*server, *client, *server || *client), "{base}: EKU");
        let ku = c.key_usage().unwrap().unwrap();
        assert!(ku.critical, "{base}: key usage critical");
        assert!(ku.value.digital_signature() && ku.value.key_encipherment(), "{base}");
        assert_eq!(ku.value.key_cert_sign(), is_ca, "{base}: certSign");
        let bc = c.basic_constraints().unwrap().unwrap();
        assert!(bc.critical, "{base}: basic constraints critical");
        assert_eq!(bc.value.ca, is_ca, "{base}: CA flag");
        assert!(bc.value.path_len_constraint.is_none());
        assert_eq!(has_ext(&c, |e| matches!(e, ParsedExtension::SubjectKeyIdentifier(_))), is_ca, "{base}: SKI");
        assert_eq!(has_ext(&c, |e| matches!(e, ParsedExtension::AuthorityKeyIdentifier(_))), !is_ca, "{base}: AKI");
        assert_eq!(c.signature_algorithm.algorithm.to_id_string(), "1.2.840.113549.1.1.11", "{base}: sha256WithRSA");
        match c.public_key().parsed().unwrap() {
            x509_parser::public_key::PublicKey::RSA(k) => assert_eq!(k.key_size(), 2048),
            other => panic!("{base}: not RSA {other:?}"),
        }
        // serial in [1, 2^63-1)
        let serial = c.tbs_certificate.serial.to_u64_digits();
        assert!(serial.len() == 1 && serial[0] >= 1 && serial[0] < (1u64 << 63) - 1, "{base}: serial {serial:?}");
        // validity: CA now-5m .. now+10y; leaf CA's NotBefore .. now+1y
        let (nb, na) = (c.validity().not_before.to_datetime(), c.validity().not_after.to_datetime());
        if is_ca {
            assert_eq!(nb, now() - time::Duration::minutes(5), "{base}");
            assert_eq!(na, now() + time::Duration::hours(87600), "{base}");
        } else {
            assert_eq!(nb, ca_nb[ca_base], "{base}: NotBefore = its CA's");
            assert_eq!(na, now() + time::Duration::hours(8760), "{base}");
        }
        // issuer is the CA's subject, and the signature verifies
        let ca = LoadedCert::parse("ca", &files[&format!("{PKI}/{ca_base}.crt")].0).unwrap();
        let me = LoadedCert::parse(&crt, crt_pem).unwrap();
        assert!(issue::signed_by(&me, &ca), "{base} not signed by {ca_base}");
    }
    // AKI of a leaf = SKI of its CA
    let ski = |b: &str| {
        let der = der_of(&files[&format!("{PKI}/{b}.crt")].0);
        let (_, c) = X509Certificate::from_der(&der).unwrap();
        c.extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
                ParsedExtension::AuthorityKeyIdentifier(a) => a.key_identifier.as_ref().map(|k| k.0.to_vec()),
                _ => None,
            })
            .unwrap()
    };
    assert_eq!(ski("ca"), ski("apiserver"));
    assert_eq!(ski("etcd/ca"), ski("etcd/peer"));
    assert_eq!(ski("ca").len(), 20, "Go-style SHA-1 key id");

    let (sa_key, kind) = &files[&format!("{PKI}/sa.key")];
    assert_eq!(*kind, FileKind::Key);
    assert!(sa_key.starts_with(b"-----BEGIN RSA PRIVATE KEY-----\n"));
    let (sa_pub, kind) = &files[&format!("{PKI}/sa.pub")];
    assert_eq!(*kind, FileKind::Key, "sa.pub is written 0600 like a key");
    assert!(sa_pub.starts_with(b"-----BEGIN PUBLIC KEY-----\n"));
}

#[test]
fn rerun_reuses_everything() {
    let cluster = reference_cluster(KeyAlgorithm::EcdsaP256);
    let node = reference_node();
    let ctx = PkiContext { cluster: &cluster, node: &node, now: now() };
    let mut disk = MemoryNode::default();
    disk.absorb(&plan_all(&ctx, &disk, &OnDemandKeys).unwrap());
    let keys = CountingKeys::default();
    let again = plan_all(&ctx, &disk, &keys).unwrap();
    assert_eq!(keys.0.load(Ordering::SeqCst), 0);
    assert!(writes(&again).is_empty());
    let lines = says(&again);
    assert_eq!(lines[1], "[certs] Using existing ca certificate authority");
    assert_eq!(lines[2], "[certs] Using existing apiserver certificate and key on disk");
    assert_eq!(lines[6], "[certs] Using existing etcd/ca certificate authority");
    assert_eq!(lines[11], "[certs] Using the existing \"sa\" key");
    assert_eq!(keys_needed(&ctx, &disk), 0);
}

#[test]
fn keys_needed_matches_what_plan_all_uses() {
    let node = reference_node();
    let mut cluster = reference_cluster(KeyAlgorithm::EcdsaP256);
    let ctx = PkiContext { cluster: &cluster, node: &node, now: now() };
    let empty = MemoryNode::default();
    assert_eq!(keys_needed(&ctx, &empty), 11);
    let keys = CountingKeys::default();
    let mut disk = MemoryNode::default();
    disk.absorb(&plan_all(&ctx, &empty, &keys).unwrap());
    assert_eq!(keys.0.load(Ordering::SeqCst), 11);

    // a node with two leaves and sa removed needs exactly three
    for f in ["apiserver.crt", "apiserver.key", "etcd/peer.crt", "etcd/peer.key", "sa.key", "sa.pub"] {
        disk.files.remove(&format!("{PKI}/{f}"));
    }
    assert_eq!(keys_needed(&ctx, &disk), 3);
    let keys = CountingKeys::default();
    plan_all(&ctx, &disk, &keys).unwrap();
    assert_eq!(keys.0.load(Ordering::SeqCst), 3);

    // external etcd: 5 fewer
    cluster.etcd = Etcd::External(Default::default());
    let ctx = PkiContext { cluster: &cluster, node: &node, now: now() };
    assert_eq!(keys_needed(&ctx, &empty), 6);
}

#[test]
fn external_etcd_skips_etcd_certs() {
    let node = reference_node();
    let mut cluster = reference_cluster(KeyAlgorithm::EcdsaP256);
    cluster.etcd = Etcd::External(Default::default());
    let ctx = PkiContext { cluster: &cluster, node: &node, now: now() };
    let keys = CountingKeys::default();
    let steps = plan_all(&ctx, &MemoryNode::default(), &keys).unwrap();
    let lines = says(&steps);
    assert_eq!(lines[7], "[certs] External etcd mode: Skipping etcd/ca certificate authority generation");
    assert_eq!(lines[8], "[certs] External etcd mode: Skipping etcd/server certificate generation");
    assert_eq!(lines[11], "[certs] External etcd mode: Skipping apiserver-etcd-client certificate generation");
    assert_eq!(lines[12], "[certs] Generating \"sa\" key and public key");
    assert!(!writes(&steps).keys().any(|p| p.contains("etcd")));
    assert_eq!(keys.0.load(Ordering::SeqCst), 6);
}

#[test]
fn ipv6_advertise_address() {
    let mut cluster = reference_cluster(KeyAlgorithm::EcdsaP256);
    cluster.networking.service_subnet = "fd00:10:96::/108,10.96.0.0/12".into();
    cluster.control_plane_endpoint = "[fd00::100]:6443".into();
    cluster.api_server.cert_sans =
        vec!["Extra.Example.com".into(), "10.1.1.1".into(), "fd00::10".into(), "bad_name!".into()];
    let node = NodeIdentity { name: "cp1".into(), advertise_address: "fd00::10".parse().unwrap(), bind_port: 6443 };
    let ctx = PkiContext { cluster: &cluster, node: &node, now: now() };
    let mut disk = MemoryNode::default();
    disk.absorb(&plan_one("ca", &ctx, &disk, &OnDemandKeys).unwrap());
    let steps = plan_one("apiserver", &ctx, &disk, &OnDemandKeys).unwrap();
    assert_eq!(
        says(&steps)[1],
        "[certs] apiserver serving cert is signed for DNS names [cp1 extra.example.com kubernetes kubernetes.default \
         kubernetes.default.svc kubernetes.default.svc.cluster.local] and IPs [fd00:10:96::1 fd00::10 fd00::100 10.1.1.1]"
    );
    let files = writes(&steps);
    let der = der_of(&files[&format!("{PKI}/apiserver.crt")].0);
    let (_, c) = X509Certificate::from_der(&der).unwrap();
    assert_eq!(sans_of(&c).1, ["fd00:10:96::1", "fd00::10", "fd00::100", "10.1.1.1"]);
    let etcd = plan_one("etcd-ca", &ctx, &disk, &OnDemandKeys).unwrap();
    disk.absorb(&etcd);
    let steps = plan_one("etcd-server", &ctx, &disk, &OnDemandKeys).unwrap();
    assert!(says(&steps)[1].ends_with("and IPs [fd00::10 127.0.0.1 ::1]"), "{:?}", says(&steps));
}

fn ca_cert(files: &BTreeMap<String, (Vec<u8>, FileKind)>, base: &str) -> Vec<u8> {
    der_of(&files[&format!("{PKI}/{base}.crt")].0)
}

#[test]
fn ecdsa_p256_p384_and_rsa3072_keys() {
    let node = reference_node();
    for (alg, sig_oid, key_label) in [
        (KeyAlgorithm::EcdsaP256, "1.2.840.10045.4.3.2", "EC PRIVATE KEY"),
        (KeyAlgorithm::EcdsaP384, "1.2.840.10045.4.3.3", "EC PRIVATE KEY"),
        (KeyAlgorithm::Rsa3072, "1.2.840.113549.1.1.11", "RSA PRIVATE KEY"),
    ] {
        let cluster = reference_cluster(alg);
        let ctx = PkiContext { cluster: &cluster, node: &node, now: now() };
        let mut disk = MemoryNode::default();
        disk.absorb(&plan_one("ca", &ctx, &disk, &OnDemandKeys).unwrap());
        let leaf = plan_one("apiserver-kubelet-client", &ctx, &disk, &OnDemandKeys).unwrap();
        disk.absorb(&leaf);
        disk.absorb(&plan_one("sa", &ctx, &disk, &OnDemandKeys).unwrap());
        let files = writes(&leaf);
        for base in ["ca", "apiserver-kubelet-client"] {
            let der = if base == "ca" {
                disk.files[&format!("{PKI}/ca.crt")].clone()
            } else {
                files[&format!("{PKI}/{base}.crt")].0.clone()
            };
            let der = der_of(&der);
            let (_, c) = X509Certificate::from_der(&der).unwrap();
            assert_eq!(c.signature_algorithm.algorithm.to_id_string(), sig_oid, "{alg:?} {base}");
            let size = match c.public_key().parsed().unwrap() {
                x509_parser::public_key::PublicKey::RSA(k) => k.key_size(),
                x509_parser::public_key::PublicKey::EC(p) => p.key_size(),
                other => panic!("{other:?}"),
            };
            let want = match alg {
                KeyAlgorithm::EcdsaP256 => 256,
                KeyAlgorithm::EcdsaP384 => 384,
                _ => 3072,
            };
            assert_eq!(size, want, "{alg:?} {base}");
            let key = &disk.files[&format!("{PKI}/{base}.key")];
            assert!(key.starts_with(format!("-----BEGIN {key_label}-----").as_bytes()), "{alg:?} {base}");
        }
        let sa = &disk.files[&format!("{PKI}/sa.key")];
        assert!(sa.starts_with(format!("-----BEGIN {key_label}-----").as_bytes()), "{alg:?} sa uses the algorithm too");
        let _ = ca_cert(&files, "apiserver-kubelet-client");
    }
}

/// Runs openssl in `dir`; panics with its stderr on failure.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("openssl").args(args).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn reuses_an_openssl_ca_with_pkcs8_and_sec1_keys() {
    let tmp = std::env::temp_dir().join(format!("kbinit-certs-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let ext =
        ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,digitalSignature"];
    // RSA, PKCS#8 key ("PRIVATE KEY")
    openssl(&tmp, &["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "rsa.key"]);
    let mut args =
        vec!["req", "-x509", "-new", "-key", "rsa.key", "-subj", "/CN=kubernetes", "-days", "10", "-out", "rsa.crt"];
    args.extend(ext);
    openssl(&tmp, &args);
    // ECDSA P-256, SEC1 key ("EC PRIVATE KEY")
    openssl(&tmp, &["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ec.key"]);
    let mut args =
        vec!["req", "-x509", "-new", "-key", "ec.key", "-subj", "/CN=kubernetes", "-days", "10", "-out", "ec.crt"];
    args.extend(ext);
    openssl(&tmp, &args);

    let cluster = reference_cluster(KeyAlgorithm::EcdsaP256);
    let node = reference_node();
    let ctx = PkiContext { cluster: &cluster, node: &node, now: OffsetDateTime::now_utc() };
    for (name, label) in [("rsa", "-----BEGIN PRIVATE KEY-----"), ("ec", "-----BEGIN EC PRIVATE KEY-----")] {
        let crt = std::fs::read(tmp.join(format!("{name}.crt"))).unwrap();
        let key = std::fs::read(tmp.join(format!("{name}.key"))).unwrap();
        assert!(key.starts_with(label.as_bytes()), "{name}");
        let mut disk = MemoryNode::default();
        disk.files.insert(format!("{PKI}/ca.crt"), crt.clone());
        disk.files.insert(format!("{PKI}/ca.key"), key);
        let steps = plan_all(&ctx, &disk, &OnDemandKeys).unwrap();
        assert_eq!(says(&steps)[1], "[certs] Using existing ca certificate authority");
        let files = writes(&steps);
        assert!(!files.contains_key(&format!("{PKI}/ca.crt")));
        let leaf_pem = &files[&format!("{PKI}/apiserver.crt")].0;
        let ca = LoadedCert::parse("ca", &crt).unwrap();
        let leaf = LoadedCert::parse("apiserver", leaf_pem).unwrap();
        assert!(issue::signed_by(&leaf, &ca), "{name}");
        assert_eq!(leaf.x509().unwrap().issuer().as_raw(), ca.x509().unwrap().subject().as_raw());
        assert_eq!(leaf.not_before().unwrap(), ca.not_before().unwrap(), "{name}: NotBefore from the CA on disk");
        // openssl agrees, including hostname checks
        std::fs::write(tmp.join("leaf.crt"), leaf_pem).unwrap();
        let path = format!("{name}.crt");
        openssl(
            &tmp,
            &["verify", "-CAfile", &path, "-purpose", "sslserver", "-verify_hostname", "lb.example.com", "leaf.crt"],
        );
        openssl(&tmp, &["verify", "-CAfile", &path, "-verify_ip", "10.96.0.1", "leaf.crt"]);
    }
    std::fs::remove_dir_all(&tmp).unwrap();
}

#[test]
fn leaf_from_another_ca_is_refused() {
    let cluster = reference_cluster(KeyAlgorithm::EcdsaP256);
    let node = reference_node();
    let ctx = PkiContext { cluster: &cluster, node: &node, now: now() };
    let mut disk = MemoryNode::default();
    disk.absorb(&plan_one("ca", &ctx, &disk, &OnDemandKeys).unwrap());
    disk.absorb(&plan_one("apiserver", &ctx, &disk, &OnDemandKeys).unwrap());
    // replace the CA
    let mut other = MemoryNode::default();
    other.absorb(&plan_one("ca", &ctx, &other, &OnDemandKeys).unwrap());
    disk.files.extend(other.files);
    let err = plan_one("apiserver", &ctx, &disk, &OnDemandKeys).unwrap_err().to_string();
    assert_eq!(
        err,
        "certificate \"/etc/kubernetes/pki/apiserver.crt\" is not signed by the CA certificate \"/etc/kubernetes/pki/ca.crt\""
    );
}

#[test]
fn external_ca_and_broken_files() {
    let cluster = reference_cluster(KeyAlgorithm::EcdsaP256);
    let node = reference_node();
    let ctx = PkiContext { cluster: &cluster, node: &node, now: now() };
    let mut disk = MemoryNode::default();
    disk.absorb(&plan_one("ca", &ctx, &disk, &OnDemandKeys).unwrap());
    disk.absorb(&plan_one("apiserver", &ctx, &disk, &OnDemandKeys).unwrap());
    disk.files.remove(&format!("{PKI}/ca.key"));
    assert!(is_external_ca(&cluster, &disk));
    assert_eq!(
        says(&plan_one("ca", &ctx, &disk, &OnDemandKeys).unwrap()),
        ["[certs] Using existing ca keyless certificate authority"]
    );
    assert_eq!(says(&plan_one("sa", &ctx, &disk, &OnDemandKeys).unwrap()), ["[certs] Using existing sa keys"]);
    assert_eq!(
        says(&plan_one("apiserver", &ctx, &disk, &OnDemandKeys).unwrap()),
        ["[certs] Using existing apiserver certificate and key on disk"]
    );
    let err = plan_one("apiserver-kubelet-client", &ctx, &disk, &OnDemandKeys).unwrap_err().to_string();
    assert!(err.contains("/etc/kubernetes/pki/ca.key") && err.contains("does not exist"), "{err}");

    let mut disk = MemoryNode::default();
    disk.files.insert(format!("{PKI}/sa.key"), b"garbage".to_vec());
    let err = plan_one("sa", &ctx, &disk, &OnDemandKeys).unwrap_err().to_string();
    assert_eq!(err, "file \"/etc/kubernetes/pki/sa.key\" existed but it could not be loaded properly");
    assert!(plan_one("nope", &ctx, &disk, &OnDemandKeys).is_err());
}

#[test]
fn subphases_are_kubeadms() {
    let names: Vec<&str> = subphases().iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "ca",
            "apiserver",
            "apiserver-kubelet-client",
            "front-proxy-ca",
            "front-proxy-client",
            "etcd-ca",
            "etcd-server",
            "etcd-peer",
            "etcd-healthcheck-client",
            "apiserver-etcd-client",
            "sa"
        ]
    );
    assert_eq!(
        subphases()[0].1,
        "Generate the self-signed Kubernetes CA to provision identities for other Kubernetes components"
    );
}

/// §Q.1: the pin kubeadm printed for its CA.
#[test]
fn ca_pin_vector() {
    let pem = Q1_CA;
    assert_eq!(ca_cert_hash(pem.as_bytes()).unwrap(), Q1_PIN);
    // a kubeadm CA on disk (PrintableString subject) can sign new leaves with the same issuer bytes
    let ca = LoadedCert::parse("ca", pem.as_bytes()).unwrap();
    assert!(ca.is_ca());
    assert!(ca_cert_hash(b"not a pem").is_err());
}

/// The extension OIDs of a certificate with their criticality, in the order they are written.
fn extension_order(pem_bytes: &[u8]) -> Vec<(String, bool)> {
    let der = der_of(pem_bytes);
    let (_, c) = X509Certificate::from_der(&der).unwrap();
    c.extensions().iter().map(|e| (e.oid.to_id_string(), e.critical)).collect()
}

#[test]
fn extensions_are_in_gos_order() {
    const KU: (&str, bool) = ("2.5.29.15", true);
    const EKU: (&str, bool) = ("2.5.29.37", false);
    const BC: (&str, bool) = ("2.5.29.19", true);
    const SKI: (&str, bool) = ("2.5.29.14", false);
    const AKI: (&str, bool) = ("2.5.29.35", false);
    const SAN: (&str, bool) = ("2.5.29.17", false);
    let cluster = reference_cluster(KeyAlgorithm::EcdsaP256);
    let node = reference_node();
    let ctx = PkiContext { cluster: &cluster, node: &node, now: now() };
    let files = writes(&plan_all(&ctx, &MemoryNode::default(), &OnDemandKeys).unwrap());
    let want = |list: &[(&str, bool)]| list.iter().map(|(o, c)| (o.to_string(), *c)).collect::<Vec<_>>();
    for (base, order) in [
        ("ca", want(&[KU, BC, SKI, SAN])),
        ("front-proxy-ca", want(&[KU, BC, SKI, SAN])),
        ("etcd/ca", want(&[KU, BC, SKI, SAN])),
        ("apiserver", want(&[KU, EKU, BC, AKI, SAN])),
        ("etcd/server", want(&[KU, EKU, BC, AKI, SAN])),
        ("etcd/peer", want(&[KU, EKU, BC, AKI, SAN])),
        ("apiserver-kubelet-client", want(&[KU, EKU, BC, AKI])),
        ("front-proxy-client", want(&[KU, EKU, BC, AKI])),
        ("etcd/healthcheck-client", want(&[KU, EKU, BC, AKI])),
        ("apiserver-etcd-client", want(&[KU, EKU, BC, AKI])),
    ] {
        assert_eq!(extension_order(&files[&format!("{PKI}/{base}.crt")].0), order, "{base}");
    }
    // the exact DER of the fixed-content extensions, as Go writes them
    let der = der_of(&files[&format!("{PKI}/ca.crt")].0);
    let (_, c) = X509Certificate::from_der(&der).unwrap();
    let value = |oid: &str| c.extensions().iter().find(|e| e.oid.to_id_string() == oid).unwrap().value.to_vec();
    assert_eq!(value(KU.0), [0x03, 0x02, 0x02, 0xa4]);
    assert_eq!(value(BC.0), [0x30, 0x03, 0x01, 0x01, 0xff]);
    let der = der_of(&files[&format!("{PKI}/front-proxy-client.crt")].0);
    let (_, c) = X509Certificate::from_der(&der).unwrap();
    let value = |oid: &str| c.extensions().iter().find(|e| e.oid.to_id_string() == oid).unwrap().value.to_vec();
    assert_eq!(value(KU.0), [0x03, 0x02, 0x05, 0xa0]);
    assert_eq!(value(BC.0), [0x30, 0x00]);
}

/// §Q.1: a CA made by kubeadm 1.28.7 and its pin.
pub(crate) const Q1_CA: &str = "-----BEGIN CERTIFICATE-----
MIIDBTCCAe2gAwIBAgIIB/gKRsDZOmUwDQYJKoZIhvcNAQELBQAwFTETMBEGA1UE
AxMKa3ViZXJuZXRlczAeFw0yNjExMjIxMjU0MTNaFw0zNjExMTkxMjU5MTNaMBUx
EzARBgNVBAMTCmt1YmVybmV0ZXMwggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEK
AoIBAQDFFM6kwW9OPWR2KX7Kuc6utQ4PBSUjz4GGLOVr+VURUDToKhMv5+aHP3sv
6K8WEJQxyLupb3Z3sZleSWhSU2CIBa1YveqEbtMkjCC3rIwjTz7DbadF+tRmJ4vf
PcAHuFHyTnVrqRty+mzHoUQtJZT5VxSYJ8Biqs1tM5ZVEcgoXuU1Q6U8oZi/N/uK
b7e7P4Toh2gjvWdiPiOmaIeP4LBdxm3AYExQAc3m/2WXp9de+Nl/jzdMrrpKq/Ee
hLIMhHOIgxWt6O869cMHsSQyH+q1geTM1tDN/MD/tLBYTxIjDmkosenV3HlDTSZ+
NTiL5ZVK3LNSffdymm0JR8wNRtb9AgMBAAGjWTBXMA4GA1UdDwEB/wQEAwICpDAP
BgNVHRMBAf8EBTADAQH/MB0GA1UdDgQWBBQMa2dKRVLhDsa2KuGbc2L2c4JQ2jAV
BgNVHREEDjAMggprdWJlcm5ldGVzMA0GCSqGSIb3DQEBCwUAA4IBAQBNsjjbJ1JA
9oHegBn50or108YA1tcBFSb6k66UpXO9FAWKw5xcwhEc8XOR35qFRqbDasIi/mmv
MeHgWEacJiUX3G0WmGPqsuPZrt8+zkVAte2cOpPZGkCmu1xVrntF4UZndeUgPJEq
Z8MLVBR+g+Nm+zLhPZufYB7Ux+oVOo2p0eMQ2WV0cDKLSUW3K2ZGaqm3LMiyegZ6
xmDzzd5TP3rtrOFHnMBTOQHLGS+K6VORwe198XlGdjt/5zuNlk2etPuCJKj/E3wA
ABqAUnxJIOBbDq29mpB473vFyKtDCOl5TEoCfVv+d05wMcKBcBuaULW5nUJGCSAi
LufAw1/dNrsN
-----END CERTIFICATE-----
";
pub(crate) const Q1_PIN: &str = "sha256:7d9be530bbd9026b979e7e184a1403c3bba86eab1e4f56ae0f013b85a97fc77a";
