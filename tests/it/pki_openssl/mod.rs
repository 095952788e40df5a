//! openssl as an independent judge of the PKI and kubeconfigs kbinit writes (§B, §C.1, §Q.7): every leaf verifies
//! against its own CA and fails against a wrong one, every key matches its certificate, `openssl x509 -text` shows
//! kubeadm's fields (subject, key usages, EKU, basic constraints, SANs in kubeadm's order, SKI/AKI, validity), keys
//! have kubeadm's PEM encoding, size and curve, files have kubeadm's modes, and the CA pin (§Q.1) computed by openssl
//! agrees with the one Python's `cryptography` computes. Runs for RSA-2048 (v1.28.7 reference input), ECDSA-P256
//! (v1beta4, v1.31.0), RSA-3072 and ECDSA-P384 (v1beta4, v1.34.0).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::config::init_yaml;
use crate::support::{Node, mode, reference, require_tool, run_ok};

mod judge;
use judge::*;

/// kubeadm 1.28.7's CA from §Q.1, with the pin kubeadm printed for it.
const VECTOR_CA: &str = "-----BEGIN CERTIFICATE-----
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
const VECTOR_PIN: &str = "sha256:7d9be530bbd9026b979e7e184a1403c3bba86eab1e4f56ae0f013b85a97fc77a";

const PKI: &str = "/etc/kubernetes/pki";
const DAY: i64 = 86_400;
const BACKDATE: i64 = 5 * 60;
/// How much later than the CA's clock a leaf's clock may read (the kubeconfig phase is a second process).
const SLACK: i64 = 60;

/// The key algorithm a case asks for.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Alg {
    Rsa(u32),
    Ec(u32),
}

impl Alg {
    fn signature(self) -> &'static str {
        match self {
            Alg::Rsa(_) => "sha256WithRSAEncryption",
            Alg::Ec(256) => "ecdsa-with-SHA256",
            Alg::Ec(_) => "ecdsa-with-SHA384",
        }
    }
    fn key_pem_header(self) -> &'static str {
        match self {
            Alg::Rsa(_) => "-----BEGIN RSA PRIVATE KEY-----",
            Alg::Ec(_) => "-----BEGIN EC PRIVATE KEY-----",
        }
    }
    fn bits(self) -> u32 {
        match self {
            Alg::Rsa(b) | Alg::Ec(b) => b,
        }
    }
    fn curve(self) -> Option<&'static str> {
        match self {
            Alg::Rsa(_) => None,
            Alg::Ec(256) => Some("prime256v1"),
            Alg::Ec(_) => Some("secp384r1"),
        }
    }
}

/// One input and what openssl must see for it.
struct Case {
    config: String,
    alg: Alg,
    node: &'static str,
    /// The apiserver's SAN line as openssl prints it, in kubeadm's order (§B.2).
    apiserver_sans: &'static str,
    /// etcd server and peer SAN line.
    etcd_sans: &'static str,
    /// admin.conf's organization: 1.29+ `kubeadm:cluster-admins`.
    admin_org: &'static str,
    /// super-admin.conf is written (1.29+).
    super_admin: bool,
}

fn v1beta4(version: &str, alg: &str, node: &str, extra_cluster: &str) -> String {
    init_yaml(version, "192.168.5.20")
        .v1beta4()
        .node_name(node)
        .cluster(&format!("encryptionAlgorithm: {alg}\n{extra_cluster}"))
        .build()
}

/// The v1beta4 cluster with an IP endpoint, extra SANs (one upper-case), a custom service subnet and DNS domain.
const V134_CLUSTER: &str = "controlPlaneEndpoint: 192.168.5.100:6443
apiServer:
  certSANs:
  - API.Example.org
  - 10.10.10.10
networking:
  serviceSubnet: 10.100.0.0/16
  dnsDomain: corp.local
";
const V134_APISERVER_SANS: &str = "DNS:api.example.org, DNS:kubernetes, DNS:kubernetes.default, \
DNS:kubernetes.default.svc, DNS:kubernetes.default.svc.corp.local, DNS:node-b, IP Address:10.100.0.1, \
IP Address:192.168.5.20, IP Address:192.168.5.100, IP Address:10.10.10.10";
const V134_ETCD_SANS: &str =
    "DNS:localhost, DNS:node-b, IP Address:192.168.5.20, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1";

fn case_reference() -> Case {
    Case {
        config: std::fs::read_to_string(reference("input-config.yaml")).unwrap(),
        alg: Alg::Rsa(2048),
        node: "cp1",
        apiserver_sans: "DNS:cp1, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, \
DNS:kubernetes.default.svc.cluster.local, DNS:lb.example.com, IP Address:10.96.0.1, IP Address:10.0.0.10",
        etcd_sans: "DNS:cp1, DNS:localhost, IP Address:10.0.0.10, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1",
        admin_org: "system:masters",
        super_admin: false,
    }
}

/// The reference render's apiserver and etcd SAN lines are what kubeadm printed, not only what §Q.7 says.
#[test]
fn reference_case_matches_kubeadms_text() {
    let c = case_reference();
    let api = std::fs::read_to_string(reference("pki_apiserver.crt.txt")).unwrap();
    assert!(api.contains(c.apiserver_sans), "kubeadm's apiserver SANs differ from the expected line");
    let etcd = std::fs::read_to_string(reference("pki_etcd_server.crt.txt")).unwrap();
    assert!(etcd.contains(c.etcd_sans), "kubeadm's etcd SANs differ from the expected line");
}

#[test]
fn rsa2048_v1_28_reference_input() {
    check(case_reference());
}

#[test]
fn ecdsa_p256_v1beta4_v1_31() {
    check(Case {
        config: v1beta4(
            "v1.31.0",
            "ECDSA-P256",
            "cp1",
            "controlPlaneEndpoint: lb.example.com:6443\nnetworking:\n  podSubnet: 10.244.0.0/16\n",
        ),
        alg: Alg::Ec(256),
        node: "cp1",
        apiserver_sans: "DNS:cp1, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, \
DNS:kubernetes.default.svc.cluster.local, DNS:lb.example.com, IP Address:10.96.0.1, IP Address:192.168.5.20",
        etcd_sans: "DNS:cp1, DNS:localhost, IP Address:192.168.5.20, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1",
        admin_org: "kubeadm:cluster-admins",
        super_admin: true,
    });
}

#[test]
fn rsa3072_v1beta4_v1_34() {
    check(Case {
        config: v1beta4("v1.34.0", "RSA-3072", "node-b", V134_CLUSTER),
        alg: Alg::Rsa(3072),
        node: "node-b",
        apiserver_sans: V134_APISERVER_SANS,
        etcd_sans: V134_ETCD_SANS,
        admin_org: "kubeadm:cluster-admins",
        super_admin: true,
    });
}

#[test]
fn ecdsa_p384_v1beta4_v1_34() {
    check(Case {
        config: v1beta4("v1.34.0", "ECDSA-P384", "node-b", V134_CLUSTER),
        alg: Alg::Ec(384),
        node: "node-b",
        apiserver_sans: V134_APISERVER_SANS,
        etcd_sans: V134_ETCD_SANS,
        admin_org: "kubeadm:cluster-admins",
        super_admin: true,
    });
}

/// §Q.1: openssl's and Python's pin of kubeadm's CA are the pin kubeadm printed.
#[test]
fn pin_vector_from_kubeadm() {
    if !require_tool("openssl") || !python_cryptography() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.crt");
    std::fs::write(&ca, VECTOR_CA).unwrap();
    assert_eq!(pin_openssl(&ca), VECTOR_PIN);
    assert_eq!(pin_python(&ca), VECTOR_PIN);
    // and the parser below reads kubeadm's CA as §Q.7 describes it
    let c = Cert::read(&ca);
    assert_eq!(c.subject, "CN = kubernetes");
    assert_eq!(c.not_after - c.not_before, 3650 * DAY + BACKDATE);
    assert_eq!(c.serial, 574220251489188453);
    assert_eq!(
        c.ext_names(),
        set(&["Basic Constraints", "Key Usage", "Subject Alternative Name", "Subject Key Identifier"])
    );
}

// ---------------------------------------------------------------------------------------------------------------

/// A leaf: file base under the PKI dir, its CA's base, subject, EKU, SAN line (None: no SAN extension).
struct Leaf {
    base: &'static str,
    ca: &'static str,
    subject: String,
    eku: &'static str,
    sans: Option<&'static str>,
}

const CLIENT: &str = "TLS Web Client Authentication";
const SERVER: &str = "TLS Web Server Authentication";
const BOTH: &str = "TLS Web Server Authentication, TLS Web Client Authentication";

fn leaves(c: &Case) -> Vec<Leaf> {
    let l = |base, ca, subject: &str, eku, sans| Leaf { base, ca, subject: subject.to_string(), eku, sans };
    // 1.29+ (the releases with super-admin.conf): kubeadm:cluster-admins for the kubelet client, no organization
    // on etcd's clients (kubeadm PRs 121837, 119859, 120521)
    let (kubelet_client, etcd_org) =
        if c.super_admin { ("kubeadm:cluster-admins", "") } else { ("system:masters", "O = system:masters, ") };
    vec![
        l("apiserver", "ca", "CN = kube-apiserver", SERVER, Some(c.apiserver_sans)),
        l(
            "apiserver-kubelet-client",
            "ca",
            &format!("O = {kubelet_client}, CN = kube-apiserver-kubelet-client"),
            CLIENT,
            None,
        ),
        l("front-proxy-client", "front-proxy-ca", "CN = front-proxy-client", CLIENT, None),
        l("etcd/server", "etcd/ca", &format!("CN = {}", c.node), BOTH, Some(c.etcd_sans)),
        l("etcd/peer", "etcd/ca", &format!("CN = {}", c.node), BOTH, Some(c.etcd_sans)),
        l("etcd/healthcheck-client", "etcd/ca", &format!("{etcd_org}CN = kube-etcd-healthcheck-client"), CLIENT, None),
        l("apiserver-etcd-client", "etcd/ca", &format!("{etcd_org}CN = kube-apiserver-etcd-client"), CLIENT, None),
    ]
}

const CAS: [(&str, &str); 3] = [("ca", "kubernetes"), ("front-proxy-ca", "front-proxy-ca"), ("etcd/ca", "etcd-ca")];

fn pki(node: &Node, base: &str, ext: &str) -> PathBuf {
    node.path(&format!("{PKI}/{base}.{ext}"))
}

fn check(case: Case) {
    if !require_tool("openssl") {
        return;
    }
    let node = Node::new();
    let config = node.root().join("input.yaml");
    std::fs::write(&config, &case.config).unwrap();
    let config = config.to_str().unwrap();
    node.kbinit(&["init", "phase", "certs", "all", "--config", config]).ok();
    node.kbinit(&["init", "phase", "kubeconfig", "all", "--config", config]).ok();
    let scratch = node.root().join("scratch");
    std::fs::create_dir(&scratch).unwrap();

    // exactly kubeadm's file set (§B.1), with kubeadm's modes (§B.4)
    let mut want: Vec<String> = ["ca", "apiserver", "apiserver-kubelet-client", "front-proxy-ca", "front-proxy-client"]
        .iter()
        .chain(&["etcd/ca", "etcd/server", "etcd/peer", "etcd/healthcheck-client", "apiserver-etcd-client"])
        .flat_map(|b| [format!("{PKI}/{b}.crt"), format!("{PKI}/{b}.key")])
        .chain([format!("{PKI}/sa.key"), format!("{PKI}/sa.pub")])
        .collect();
    want.sort();
    let have: Vec<String> = crate::support::files(node.root()).into_iter().filter(|f| f.starts_with(PKI)).collect();
    assert_eq!(have, want, "the PKI file set");
    for f in &have {
        let m = mode(&node, f);
        let expect = if f.ends_with(".crt") { 0o644 } else { 0o600 };
        assert_eq!(m, expect, "mode of {f}: {m:o}");
    }

    // CAs
    let mut ca_certs = std::collections::BTreeMap::new();
    for (base, cn) in CAS {
        let crt = pki(&node, base, "crt");
        let c = Cert::read(&crt);
        c.common(case.alg, base);
        assert_eq!(c.subject, format!("CN = {cn}"), "{base}");
        assert_eq!(c.issuer, c.subject, "{base} is self-signed");
        assert_eq!(
            c.ext_names(),
            set(&["Basic Constraints", "Key Usage", "Subject Alternative Name", "Subject Key Identifier"]),
            "{base}: SKI only on CAs"
        );
        assert_eq!(
            c.ext("Key Usage"),
            (true, "Digital Signature, Key Encipherment, Certificate Sign".into()),
            "{base}"
        );
        assert_eq!(c.ext("Basic Constraints"), (true, "CA:TRUE".into()), "{base}");
        assert_eq!(c.ext("Subject Alternative Name"), (false, format!("DNS:{cn}")), "{base}");
        assert_eq!(c.not_after - c.not_before, 3650 * DAY + BACKDATE, "{base}: 10 y + 5 min");
        let now = now();
        assert!(
            c.not_before <= now - BACKDATE && c.not_before > now - BACKDATE - 600,
            "{base}: backdated 5 min from now"
        );
        verify_ok(&crt, &crt, base);
        key_matches(&pki(&node, base, "key"), &crt, case.alg, base);
        // §Q.1: openssl and Python agree on the pin
        if base == "ca" && python_cryptography() {
            let pin = pin_openssl(&crt);
            assert!(pin.starts_with("sha256:") && pin.len() == 71, "{pin}");
            assert_eq!(pin_python(&crt), pin, "openssl and Python disagree on the CA pin");
        }
        ca_certs.insert(base, c);
    }
    // one CA never verifies as another
    verify_fails(&pki(&node, "ca", "crt"), &pki(&node, "etcd/ca", "crt"), "etcd/ca vs ca");

    // the same-named CA with another key (kubeadm's §Q.1 vector) must not verify our leaves
    let foreign_ca = scratch.join("foreign-ca.crt");
    std::fs::write(&foreign_ca, VECTOR_CA).unwrap();

    // leaves signed by their CA
    for leaf in leaves(&case) {
        let crt = pki(&node, leaf.base, "crt");
        let ca = &ca_certs[leaf.ca];
        let c = Cert::read(&crt);
        check_leaf(&c, ca, case.alg, leaf.base, &leaf.subject, leaf.eku, leaf.sans, 0);
        verify_ok(&pki(&node, leaf.ca, "crt"), &crt, leaf.base);
        let purpose = if leaf.eku == CLIENT { "sslclient" } else { "sslserver" };
        verify_purpose(&pki(&node, leaf.ca, "crt"), &crt, purpose, leaf.base);
        let wrong = if leaf.ca == "etcd/ca" { "ca" } else { "etcd/ca" };
        verify_fails(&pki(&node, wrong, "crt"), &crt, &format!("{} against {wrong}", leaf.base));
        verify_fails(&foreign_ca, &crt, &format!("{} against a foreign CN=kubernetes CA", leaf.base));
        key_matches(&pki(&node, leaf.base, "key"), &crt, case.alg, leaf.base);
    }

    // sa: a bare key pair, the public half PKIX, same algorithm as the rest
    let sa_pub = node.read_str(&format!("{PKI}/sa.pub"));
    assert!(sa_pub.starts_with("-----BEGIN PUBLIC KEY-----\n"), "sa.pub is PKIX: {sa_pub}");
    assert_eq!(
        openssl(&["pkey", "-in", pki(&node, "sa", "key").to_str().unwrap(), "-pubout"]),
        sa_pub,
        "sa.key ↔ sa.pub"
    );
    key_shape(&pki(&node, "sa", "key"), case.alg, "sa");

    // kubeconfigs: 0600, CA data = ca.crt, client cert signed by ca, key matches
    let ca_pem = node.read_str(&format!("{PKI}/ca.crt"));
    let mut confs = vec![
        ("admin.conf", format!("O = {}, CN = kubernetes-admin", case.admin_org)),
        ("kubelet.conf", format!("O = system:nodes, CN = system:node:{}", case.node)),
        ("controller-manager.conf", "CN = system:kube-controller-manager".to_string()),
        ("scheduler.conf", "CN = system:kube-scheduler".to_string()),
    ];
    if case.super_admin {
        confs.push(("super-admin.conf", "O = system:masters, CN = kubernetes-super-admin".into()));
    }
    let mut want_confs: Vec<String> = confs.iter().map(|(f, _)| format!("/etc/kubernetes/{f}")).collect();
    want_confs.sort();
    let have_confs: Vec<String> =
        crate::support::files(node.root()).into_iter().filter(|f| f.ends_with(".conf")).collect();
    assert_eq!(have_confs, want_confs, "the kubeconfig file set");
    for (file, subject) in confs {
        let path = format!("/etc/kubernetes/{file}");
        assert_eq!(mode(&node, &path), 0o600, "mode of {path}");
        let text = node.read_str(&path);
        let ca_data = String::from_utf8(base64(kubeconfig_field(&text, "certificate-authority-data"))).unwrap();
        assert_eq!(ca_data, ca_pem, "{file}: certificate-authority-data is ca.crt");
        let crt = scratch.join(format!("{file}.crt"));
        let key = scratch.join(format!("{file}.key"));
        std::fs::write(&crt, base64(kubeconfig_field(&text, "client-certificate-data"))).unwrap();
        std::fs::write(&key, base64(kubeconfig_field(&text, "client-key-data"))).unwrap();
        let c = Cert::read(&crt);
        check_leaf(&c, &ca_certs["ca"], case.alg, file, &subject, CLIENT, None, SLACK);
        verify_ok(&pki(&node, "ca", "crt"), &crt, file);
        verify_purpose(&pki(&node, "ca", "crt"), &crt, "sslclient", file);
        verify_fails(&pki(&node, "etcd/ca", "crt"), &crt, &format!("{file} against etcd/ca"));
        verify_fails(&foreign_ca, &crt, &format!("{file} against a foreign CA"));
        key_matches(&key, &crt, case.alg, file);
    }
}

#[allow(clippy::too_many_arguments)]
fn check_leaf(c: &Cert, ca: &Cert, alg: Alg, what: &str, subject: &str, eku: &str, sans: Option<&str>, slack: i64) {
    c.common(alg, what);
    assert_eq!(c.subject, subject, "{what}: subject");
    assert_eq!(c.issuer, ca.subject, "{what}: issuer");
    let mut names = vec!["Authority Key Identifier", "Basic Constraints", "Extended Key Usage", "Key Usage"];
    if sans.is_some() {
        names.push("Subject Alternative Name");
    }
    assert_eq!(c.ext_names(), set(&names), "{what}: extensions (AKI only on leaves, no SKI)");
    assert_eq!(c.ext("Key Usage"), (true, "Digital Signature, Key Encipherment".into()), "{what}");
    assert_eq!(c.ext("Extended Key Usage"), (false, eku.into()), "{what}");
    assert_eq!(c.ext("Basic Constraints"), (true, "CA:FALSE".into()), "{what}");
    if let Some(sans) = sans {
        assert_eq!(c.ext("Subject Alternative Name"), (false, sans.into()), "{what}: SANs in kubeadm's order");
    }
    let aki = c.ext("Authority Key Identifier").1;
    assert_eq!(aki.trim_start_matches("keyid:"), ca.ext("Subject Key Identifier").1, "{what}: AKI = CA's SKI");
    assert_eq!(c.not_before, ca.not_before, "{what}: Not Before is the CA's");
    let span = c.not_after - c.not_before;
    let want = 365 * DAY + BACKDATE;
    assert!((want..=want + slack).contains(&span), "{what}: validity {span} s, want 1 y + 5 min ({want} s)");
}

// ---------------------------------------------------------------------------------------------------------------
