//! `kbinit join` discovery and `join --check` against the fake API server on 127.0.0.1, seeded with what
//! `kubeadm init` leaves behind (RBAC for joining nodes, a signing token, cluster-info signed by the fake's
//! bootstrap signer, kubeadm-config, kubelet-config, kubeadm-certs sealed with a known key). Every refusal —
//! wrong pin, unknown token, tampered signature, a server the pinned CA does not sign, an endpoint that is not a
//! cluster, nothing listening, a wrong or missing certificate key — exits non-zero with its own message, never
//! shows the token secret or the key, and leaves the node's root exactly as it was. A worker join runs to the end
//! when the test plays the kubelet (kubelet.conf + Node).
//!
//! fake-api: cluster-info with a tampered JWS signature (the real bootstrap signer re-signs it within seconds), a
//! server whose CA the pin does not match and kubeadm-certs sealed with a chosen key, all on demand.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use serde_json::json;

use crate::support::fakeapi::testkit::{self, seed_kubeadm_rbac, token_secret};
use crate::support::{Node, Run, reference, snapshot};

pub(crate) const TOKEN: &str = "abcdef.0123456789abcdef";
const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

pub(crate) struct Fixture {
    pub(crate) c: testkit::Cluster,
    pub(crate) endpoint: String,
    pub(crate) pin: String,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `sha256:<hex>` of a CA certificate's SubjectPublicKeyInfo.
fn pin_of(ca_pem: &[u8]) -> String {
    let (_, p) = x509_parser::pem::parse_x509_pem(ca_pem).unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(&p.contents).unwrap();
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, cert.tbs_certificate.subject_pki.raw);
    format!("sha256:{}", hex::encode(d.as_ref()))
}

fn cluster_info(server: &str, ca_pem: &[u8]) -> String {
    format!(
        "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {}\n    server: {server}\n  name: \"\"\n\
         contexts: null\ncurrent-context: \"\"\nkind: Config\npreferences: {{}}\nusers: null\n",
        b64(ca_pem)
    )
}

/// The fake, seeded; `cluster_info_ca` = the CA cluster-info embeds (the serving CA unless a test lies).
pub(crate) fn fixture(cluster_info_ca: Option<&[u8]>) -> Fixture {
    fixture_with(cluster_info_ca, true)
}

fn fixture_with(cluster_info_ca: Option<&[u8]>, with_certs: bool) -> Fixture {
    let c = testkit::cluster();
    let api = &c.api;
    seed_kubeadm_rbac(api);
    // upload-config/kubelet's Role and RoleBinding (§F), which the testkit seed leaves out
    let rbac = "rbac.authorization.k8s.io/v1";
    api.insert(json!({"apiVersion": rbac, "kind": "Role",
        "metadata": {"name": "kubeadm:kubelet-config", "namespace": "kube-system"},
        "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["kubelet-config"]}]}));
    api.insert(json!({"apiVersion": rbac, "kind": "RoleBinding",
        "metadata": {"name": "kubeadm:kubelet-config", "namespace": "kube-system"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "kubeadm:kubelet-config"},
        "subjects": [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": testkit::NODE_TOKEN_GROUP},
            {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "system:nodes"}]}));
    api.insert(token_secret("abcdef", "0123456789abcdef", 3600, true));
    let url = c.listener.url();
    let endpoint = url.trim_start_matches("https://").to_string();
    let ca = c.node.read("/etc/kubernetes/pki/ca.crt");
    let embedded = cluster_info_ca.map(<[u8]>::to_vec).unwrap_or_else(|| ca.clone());
    let cm = |ns: &str, name: &str, data: serde_json::Value| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": data});
    api.insert(cm("kube-public", "cluster-info", json!({"kubeconfig": cluster_info(&url, &embedded)})));
    let cluster_cfg = format!(
        "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: v1.28.7\n\
         controlPlaneEndpoint: {endpoint}\nnetworking:\n  podSubnet: 10.244.0.0/16\n"
    );
    api.insert(cm("kube-system", "kubeadm-config", json!({"ClusterConfiguration": cluster_cfg})));
    let kubelet = std::fs::read_to_string(reference("kubelet-config.yaml")).unwrap();
    api.insert(cm("kube-system", "kubelet-config", json!({"kubelet": kubelet})));
    // kubeadm-certs sealed with KEY, owned by a 2h token as upload-certs leaves it
    api.insert(token_secret("certs0", "0123456789abcdef", 7200, false));
    let with_certs_secret = with_certs;
    let key = kbinit_phases::cluster::certkey::CertificateKey::parse(KEY).unwrap();
    let mut data = serde_json::Map::new();
    for (k, f) in [
        ("ca.crt", "ca.crt"),
        ("ca.key", "ca.key"),
        ("front-proxy-ca.crt", "front-proxy-ca.crt"),
        ("front-proxy-ca.key", "front-proxy-ca.key"),
        ("sa.key", "sa.key"),
        ("sa.pub", "sa.pub"),
        ("etcd-ca.crt", "etcd/ca.crt"),
        ("etcd-ca.key", "etcd/ca.key"),
    ] {
        let plain = c.node.read(&format!("/etc/kubernetes/pki/{f}"));
        data.insert(k.into(), b64(&kbinit_phases::cluster::certkey::seal(&key, &plain).unwrap()).into());
    }
    if with_certs_secret {
        api.insert(json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": "kubeadm-certs", "namespace": "kube-system",
            "ownerReferences": [{"apiVersion": "v1", "kind": "Secret", "name": "bootstrap-token-certs0",
                "uid": "x", "controller": true, "blockOwnerDeletion": true}]},
        "data": data}));
    }
    api.reconcile_once();
    let signed = api.object("/api/v1/namespaces/kube-public/configmaps/cluster-info").unwrap();
    assert!(signed["data"]["jws-kubeconfig-abcdef"].is_string(), "the fake's signer did not sign: {signed}");
    Fixture { pin: pin_of(&ca), endpoint, c }
}

/// A JoinConfiguration (v1beta4, for short timeouts) for token discovery.
pub(crate) fn token_config(endpoint: &str, token: &str, pins: &[&str], control_plane: Option<&str>) -> String {
    let pins = if pins.is_empty() {
        "    unsafeSkipCAVerification: true\n".to_string()
    } else {
        format!("    caCertHashes:\n{}", pins.iter().map(|p| format!("    - {p}\n")).collect::<String>())
    };
    let cp = control_plane
        .map(|key| {
            format!("controlPlane:\n  localAPIEndpoint:\n    advertiseAddress: 10.0.0.11\n  certificateKey: {key}\n")
        })
        .unwrap_or_default();
    format!(
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    \
         apiServerEndpoint: {endpoint}\n    token: {token}\n{pins}  tlsBootstrapToken: {token}\nnodeRegistration:\n  \
         name: w1\n  criSocket: unix:///run/containerd/containerd.sock\n  ignorePreflightErrors:\n  - all\n{cp}\
         timeouts:\n  discovery: 2s\n  tlsBootstrap: 20s\n"
    )
}

/// Runs `kbinit join` with `config` on a fresh node; returns the run and whether the root stayed untouched.
fn join(config: &str, extra: &[&str]) -> (Run, Node, bool) {
    let node = Node::new();
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = cfg_dir.path().join("join.yaml");
    std::fs::write(&cfg, config).unwrap();
    let before = snapshot(node.root());
    let mut args = vec!["join", "--config", cfg.to_str().unwrap()];
    args.extend_from_slice(extra);
    let run = node.kbinit(&args);
    let untouched = snapshot(node.root()) == before;
    (run, node, untouched)
}

fn refused(run: &Run, untouched: bool, want: &str) {
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(run.code != 0, "should fail with {want:?}:\n{all}");
    assert!(all.contains(want), "expected {want:?} in:\n{all}");
    assert!(!all.contains("0123456789abcdef0123"), "a secret leaked:\n{all}");
    assert!(untouched, "the root changed although the join was refused:\n{all}");
}

#[test]
fn wrong_pin_is_refused() {
    let f = fixture(None);
    let other = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let (run, _, untouched) = join(&token_config(&f.endpoint, TOKEN, &[other], None), &[]);
    refused(&run, untouched, &format!("none of the public keys \"{}\" are pinned", f.pin));
}

#[test]
fn unknown_token_is_refused_after_polling() {
    let f = fixture(None);
    let (run, _, untouched) = join(&token_config(&f.endpoint, "zzzzzz.0123456789abcdef", &[&f.pin], None), &[]);
    refused(&run, untouched, "token id \"zzzzzz\" is invalid for this cluster or it has expired");
    assert!(run.stderr.contains("gave up") || run.stdout.contains("gave up"), "{}", run.stderr);
}

#[test]
fn tampered_signature_is_refused() {
    let f = fixture(None);
    // right id, wrong secret: the JWS cluster-info carries does not verify with it
    let (run, _, untouched) = join(&token_config(&f.endpoint, "abcdef.ffffffffffffffff", &[&f.pin], None), &[]);
    refused(&run, untouched, "failed to verify JWS signature of received cluster info object");
}

#[test]
fn server_not_signed_by_the_pinned_ca_is_refused() {
    // cluster-info (signed correctly) offers CA X, pinned by the joiner; the server's certificate comes from
    // another CA: the second, verified fetch must fail as an impersonation
    let other = testkit::pki();
    let x = other.read("/etc/kubernetes/pki/ca.crt");
    let f = fixture(Some(&x));
    let (run, _, untouched) = join(&token_config(&f.endpoint, TOKEN, &[&pin_of(&x)], None), &[]);
    refused(&run, untouched, "presents a certificate that the pinned cluster CA");
}

#[test]
fn endpoint_that_is_not_a_cluster_is_refused_at_once() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot here\n");
        }
    });
    let pin = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let start = std::time::Instant::now();
    let (run, _, untouched) = join(&token_config(&addr.to_string(), TOKEN, &[pin], None), &[]);
    refused(&run, untouched, "is not a Kubernetes API server");
    assert!(start.elapsed() < Duration::from_secs(20), "it kept polling a non-cluster");
}

#[test]
fn nothing_listening_times_out_with_the_reason() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let pin = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let (run, _, untouched) = join(&token_config(&format!("127.0.0.1:{port}"), TOKEN, &[pin], None), &[]);
    refused(&run, untouched, "cannot reach https://127.0.0.1");
    assert!(run.stderr.contains("gave up"), "{}", run.stderr);
}

#[test]
fn check_reports_a_joinable_cluster_and_touches_nothing() {
    let f = fixture(None);
    let (run, _, untouched) = join(&token_config(&f.endpoint, TOKEN, &[&f.pin], None), &["--check"]);
    assert!((run.code == 0), "{}{}", run.stdout, run.stderr);
    assert!(untouched);
    assert!(run.stdout.contains("[check] This node can join the cluster"), "{}", run.stdout);
    assert!(run.stdout.contains("can not be read with bootstrap rights"), "{}", run.stdout);
    assert!(run.stdout.contains(&f.pin), "{}", run.stdout);
}

#[test]
fn unsafe_skip_warns_loudly() {
    let f = fixture(None);
    let (run, _, _) = join(&token_config(&f.endpoint, TOKEN, &[], None), &["--check"]);
    assert!((run.code == 0), "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("the cluster CA is NOT pinned"), "{}", run.stderr);
}

#[test]
fn control_plane_check_with_the_certificate_key() {
    let f = fixture(None);
    let (run, _, untouched) = join(&token_config(&f.endpoint, TOKEN, &[&f.pin], Some(KEY)), &["--check"]);
    assert!((run.code == 0), "{}{}", run.stdout, run.stderr);
    assert!(untouched);
    assert!(run.stdout.contains("The certificate key opens Secret kube-system/kubeadm-certs"), "{}", run.stdout);
    assert!(!run.stdout.contains(KEY) && !run.stderr.contains(KEY));
}

#[test]
fn wrong_certificate_key_is_refused_before_any_write() {
    let f = fixture(None);
    let wrong = "f".repeat(64);
    for extra in [&["--check"][..], &[][..]] {
        let (run, _, untouched) = join(&token_config(&f.endpoint, TOKEN, &[&f.pin], Some(&wrong)), extra);
        refused(&run, untouched, "The certificate key must be the one printed by the upload");
        assert!(run.stderr.contains("kbinit init phase upload-certs --upload-certs"), "{}", run.stderr);
        assert!(!run.stderr.contains(&wrong));
    }
}

#[test]
fn missing_kubeadm_certs_is_refused_with_the_fix() {
    let f = fixture_with(None, false);
    let (run, _, untouched) = join(&token_config(&f.endpoint, TOKEN, &[&f.pin], Some(KEY)), &[]);
    refused(&run, untouched, "Secret \"kubeadm-certs\" was not found in the \"kube-system\" Namespace");
}

/// Plays the kubelet: once bootstrap-kubelet.conf appears, writes kubelet.conf (the admin identity stands in for
/// the kubelet's signed certificate) and registers the Node.
fn fake_kubelet(f: &Fixture, root: &Path) -> std::thread::JoinHandle<bool> {
    let root = root.to_path_buf();
    let admin = f.c.node.read_str("/etc/kubernetes/admin.conf");
    let url = f.c.listener.url();
    let api = f.c.api.clone();
    std::thread::spawn(move || {
        let boot = root.join("etc/kubernetes/bootstrap-kubelet.conf");
        for _ in 0..200 {
            if boot.exists() {
                let server = admin.lines().find(|l| l.trim_start().starts_with("server:")).unwrap().to_string();
                let conf = admin.replace(&server, &format!("    server: {url}"));
                std::fs::write(root.join("etc/kubernetes/kubelet.conf"), conf).unwrap();
                api.insert(json!({"apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": "w1", "labels": {"kubernetes.io/hostname": "w1"}}}));
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    })
}

#[test]
fn worker_join_runs_to_the_end() {
    let f = fixture(None);
    let node = Node::new();
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = cfg_dir.path().join("join.yaml");
    std::fs::write(&cfg, token_config(&f.endpoint, TOKEN, &[&f.pin], None)).unwrap();
    let kubelet = fake_kubelet(&f, node.root());
    let run = node.kbinit(&["join", "--config", cfg.to_str().unwrap()]);
    assert!(kubelet.join().unwrap(), "kbinit never wrote bootstrap-kubelet.conf:\n{}{}", run.stdout, run.stderr);
    assert!((run.code == 0), "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("This node has joined the cluster:"), "{}", run.stdout);
    // the kubelet's files, the CA at caCertPath, bootstrap-kubelet.conf gone again
    assert_eq!(node.read("/etc/kubernetes/pki/ca.crt"), f.c.node.read("/etc/kubernetes/pki/ca.crt"));
    assert!(node.read_str("/var/lib/kubelet/config.yaml").contains("kind: KubeletConfiguration"));
    let flags = node.read_str("/var/lib/kubelet/kubeadm-flags.env");
    assert!(flags.contains("--container-runtime-endpoint=unix:///run/containerd/containerd.sock"), "{flags}");
    assert!(!node.path("/etc/kubernetes/bootstrap-kubelet.conf").exists());
    // the CRI socket annotation (1.28)
    let n = f.c.api.object("/api/v1/nodes/w1").unwrap();
    assert_eq!(
        n["metadata"]["annotations"]["kubeadm.alpha.kubernetes.io/cri-socket"],
        "unix:///run/containerd/containerd.sock"
    );
}

#[test]
fn worker_join_times_out_naming_what_is_missing() {
    let f = fixture(None);
    let cfg = token_config(&f.endpoint, TOKEN, &[&f.pin], None).replace("tlsBootstrap: 20s", "tlsBootstrap: 2s");
    let (run, node, _) = join(&cfg, &[]);
    assert!(run.code != 0);
    assert!(run.stderr.contains("/etc/kubernetes/kubelet.conf does not exist yet"), "{}", run.stderr);
    assert!(run.stderr.contains("journalctl -xeu kubelet"), "{}", run.stderr);
    assert!(node.path("/etc/kubernetes/bootstrap-kubelet.conf").exists());
}

#[test]
fn dry_run_discovers_for_real_and_writes_only_the_dry_run_dir() {
    let f = fixture(None);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (run, _, untouched) = join(
        &token_config(&f.endpoint, TOKEN, &[&f.pin], Some(KEY)),
        &["--dry-run", "--dry-run-dir", out.to_str().unwrap()],
    );
    assert!((run.code == 0), "{}{}", run.stdout, run.stderr);
    assert!(untouched);
    assert!(run.stdout.contains("[discovery] Successfully established connection"), "{}", run.stdout);
    for f in [
        "etc/kubernetes/pki/ca.key",
        "etc/kubernetes/pki/apiserver.crt",
        "etc/kubernetes/admin.conf",
        "etc/kubernetes/manifests/kube-apiserver.yaml",
        "etc/kubernetes/bootstrap-kubelet.conf",
    ] {
        assert!(out.join(f).exists(), "{f} not rendered:\n{}", run.stdout);
    }
    assert!(
        run.stdout.contains("[dryrun] Would add etcd member https://10.0.0.11:2380 as a voting member"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("[dryrun] Would perform action PATCH on resource \"nodes\""), "{}", run.stdout);
}

#[test]
fn tampered_cluster_info_is_refused() {
    let f = fixture(None);
    // the kubeconfig changed after the signer signed it (its JWS kept): another server
    f.c.api.tamper("/api/v1/namespaces/kube-public/configmaps/cluster-info", |cm| {
        let kc = cm["data"]["kubeconfig"].as_str().unwrap().replace("server: https://", "server: https://evil.");
        cm["data"]["kubeconfig"] = kc.into();
    });
    let (run, _, untouched) = join(&token_config(&f.endpoint, TOKEN, &[&f.pin], None), &[]);
    refused(&run, untouched, "failed to verify JWS signature of received cluster info object");
}

#[test]
fn signature_made_with_another_token_is_refused() {
    let f = fixture(None);
    // a second valid token: the signer signs cluster-info for both; swap its signature into abcdef's key
    f.c.api.insert(token_secret("ghijkl", "fedcba9876543210", 3600, true));
    f.c.api.reconcile_once();
    f.c.api.tamper("/api/v1/namespaces/kube-public/configmaps/cluster-info", |cm| {
        let other = cm["data"]["jws-kubeconfig-ghijkl"].clone();
        assert!(other.is_string());
        cm["data"]["jws-kubeconfig-abcdef"] = other;
    });
    let (run, _, untouched) = join(&token_config(&f.endpoint, TOKEN, &[&f.pin], None), &[]);
    refused(&run, untouched, "failed to verify JWS signature of received cluster info object");
}

#[test]
fn expired_token_is_refused() {
    let f = fixture(None);
    // expired a minute ago: the signer does not sign for it and the token cleaner deletes it
    f.c.api.insert(token_secret("expird", "0123456789abcdef", -60, true));
    f.c.api.reconcile_once();
    assert!(f.c.api.object("/api/v1/namespaces/kube-system/secrets/bootstrap-token-expird").is_none());
    let (run, _, untouched) = join(&token_config(&f.endpoint, "expird.0123456789abcdef", &[&f.pin], None), &[]);
    refused(&run, untouched, "token id \"expird\" is invalid for this cluster or it has expired");
}

#[test]
fn expired_kubeadm_certs_is_refused_with_the_fix() {
    let f = fixture_with(None, false);
    // upload-certs two hours ago: its owner token has expired; the token cleaner deletes it and the garbage
    // collector the kubeadm-certs Secret it owns
    let owner = f.c.api.insert(token_secret("certs1", "0123456789abcdef", -1, false));
    let uid = owner["metadata"]["uid"].clone();
    f.c.api.insert(json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": "kubeadm-certs", "namespace": "kube-system",
            "ownerReferences": [{"apiVersion": "v1", "kind": "Secret", "name": "bootstrap-token-certs1",
                "uid": uid, "controller": true, "blockOwnerDeletion": true}]},
        "data": {"ca.crt": b64(b"sealed")}}));
    f.c.api.reconcile_once();
    assert!(f.c.api.object("/api/v1/namespaces/kube-system/secrets/kubeadm-certs").is_none(), "GC");
    let (run, _, untouched) = join(&token_config(&f.endpoint, TOKEN, &[&f.pin], Some(KEY)), &[]);
    refused(&run, untouched, "This Secret might have expired");
    assert!(run.stderr.contains("kbinit init phase upload-certs --upload-certs"), "{}", run.stderr);
}

#[test]
fn jsonl_reports_every_api_call_discovery_makes() {
    let f = fixture(None);
    let (run, _, untouched) =
        join(&token_config(&f.endpoint, TOKEN, &[&f.pin], Some(KEY)), &["--check", "--output", "jsonl"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(untouched);
    let api: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event"] == "api")
        .collect();
    let seen = |verb: &str, resource: &str, name: &str| {
        api.iter().any(|e| e["verb"] == verb && e["resource"] == resource && e["name"] == name && e["status"] == "ok")
    };
    // the insecure and the pinned fetch of cluster-info, then what the bootstrap token reads
    let cluster_info = api.iter().filter(|e| e["name"] == "cluster-info" && e["status"] == "ok").count();
    assert!(cluster_info >= 2, "{api:?}");
    assert!(seen("GET", "configmaps", "kubeadm-config"), "{api:?}");
    assert!(seen("GET", "secrets", "kubeadm-certs"), "{api:?}");
    assert!(!run.stdout.contains(KEY) && !run.stdout.contains("0123456789abcdef"), "a secret in the events");
}
