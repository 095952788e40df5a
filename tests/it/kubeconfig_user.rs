//! `kbinit kubeconfig user` (kubeadm's `kubeconfig user`): a kubeconfig for another user signed by the CA under
//! `--root`, printed on stdout. openssl judges the client certificate (chain, CN/O, NotAfter) and kubeadm's
//! kubeconfig shape is checked; bad input exits 3 with a specific message and prints no kubeconfig. That the
//! real kube-apiserver authenticates both (the certificate user with its group, the token user as a bootstrap
//! token) is `realk8s::cluster_side`.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::Value;

use crate::support::{Node, require_tool, run_ok};

fn doc(text: &str) -> Value {
    kbinit_phases::go_format::yaml::from_yaml(text).unwrap()
}

fn user_field(d: &Value, key: &str) -> Option<String> {
    d.pointer(&format!("/users/0/user/{key}")).and_then(Value::as_str).map(str::to_string)
}

/// A node with the cluster CA of the configuration at `/input.yaml` (v1.28.7, endpoint 10.0.0.10).
fn node() -> Node {
    let node = Node::new();
    node.put("/input.yaml", crate::support::config::init_yaml("v1.28.7", "10.0.0.10").build().as_bytes());
    node.kbinit(&["init", "phase", "certs", "ca", "--config", &config_path(&node)]).ok();
    node
}

fn config_path(node: &Node) -> String {
    node.path("/input.yaml").display().to_string()
}

fn openssl_checkend(cert: &Path, secs: u64) -> bool {
    std::process::Command::new("openssl")
        .args(["x509", "-noout", "-checkend", &secs.to_string(), "-in", cert.to_str().unwrap()])
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn certificate_user_is_signed_by_the_ca_with_its_group() {
    if !require_tool("openssl") {
        return;
    }
    let c = node();
    let cfg = config_path(&c);
    let run = c
        .kbinit(&[
            "kubeconfig",
            "user",
            "--client-name",
            "alice",
            "--org",
            "devs",
            "--validity-period",
            "2h",
            "--config",
            &cfg,
        ])
        .ok();
    let d = doc(&run.stdout);
    // kubeadm's shape: the configuration's endpoint and cluster name, user and context named for the client
    assert_eq!(d["clusters"][0]["cluster"]["server"], "https://10.0.0.10:6443");
    assert_eq!(d["clusters"][0]["name"], "kubernetes");
    assert_eq!(d["current-context"], "alice@kubernetes");
    assert_eq!(d["users"][0]["name"], "alice");
    assert_eq!(user_field(&d, "token"), None);
    let ca_data = d.pointer("/clusters/0/cluster/certificate-authority-data").and_then(Value::as_str).unwrap();
    assert_eq!(B64.decode(ca_data).unwrap(), c.read("/etc/kubernetes/pki/ca.crt"));

    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("alice.crt");
    std::fs::write(&cert, B64.decode(user_field(&d, "client-certificate-data").unwrap()).unwrap()).unwrap();
    let key = dir.path().join("alice.key");
    std::fs::write(&key, B64.decode(user_field(&d, "client-key-data").unwrap()).unwrap()).unwrap();
    let ca = c.path("/etc/kubernetes/pki/ca.crt");
    let verify = run_ok(
        "openssl",
        &["verify", "-purpose", "sslclient", "-CAfile", ca.to_str().unwrap(), cert.to_str().unwrap()],
    );
    assert!(verify.trim_end().ends_with(": OK"), "{verify}");
    let subject =
        run_ok("openssl", &["x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in", cert.to_str().unwrap()]);
    assert_eq!(subject.trim(), "subject=CN=alice,O=devs");
    // valid for 2h from now: still valid in 1h55m, no longer in 2h05m
    assert!(openssl_checkend(&cert, 6900), "the certificate expires before 2h");
    assert!(!openssl_checkend(&cert, 7500), "the certificate outlives 2h");
    // the key belongs to the certificate
    let pub_cert = run_ok("openssl", &["x509", "-noout", "-pubkey", "-in", cert.to_str().unwrap()]);
    let pub_key = run_ok("openssl", &["pkey", "-pubout", "-in", key.to_str().unwrap()]);
    assert_eq!(pub_cert, pub_key);
}

#[test]
fn default_validity_is_a_year_and_the_token_user_carries_only_the_token() {
    if !require_tool("openssl") {
        return;
    }
    let c = node();
    let cfg = config_path(&c);
    let run = c.kbinit(&["kubeconfig", "user", "--client-name", "bob", "--config", &cfg]).ok();
    let d = doc(&run.stdout);
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("bob.crt");
    std::fs::write(&cert, B64.decode(user_field(&d, "client-certificate-data").unwrap()).unwrap()).unwrap();
    assert!(openssl_checkend(&cert, 364 * 86400) && !openssl_checkend(&cert, 366 * 86400), "not 8760h");

    let token = "abcdef.0123456789abcdef";
    let run = c.kbinit(&["kubeconfig", "user", "--client-name", "bob", "--token", token, "--config", &cfg]).ok();
    let d = doc(&run.stdout);
    assert_eq!(user_field(&d, "token").as_deref(), Some(token));
    assert_eq!(d["users"][0]["user"].as_object().unwrap().len(), 1, "only the token: {}", d["users"][0]);
    assert_eq!(d["current-context"], "bob@kubernetes");
}

#[test]
fn bad_input_exits_3_and_prints_no_kubeconfig() {
    let n = node();
    let cfg = config_path(&n);
    let empty = Node::new();
    let cases: [(&Node, Vec<&str>, &str); 6] = [
        (&n, vec!["--config", &cfg], "required flag \"client-name\" not set"),
        (&n, vec!["--client-name", "", "--config", &cfg], "--client-name"),
        (&n, vec!["--client-name", "a", "--validity-period", "1y", "--config", &cfg], "\"--validity-period\""),
        (&n, vec!["--client-name", "a", "--validity-period", "0", "--config", &cfg], "must be longer than 0"),
        (&n, vec!["--client-name", "a", "--org", "x,y", "--config", &cfg], "at most one organization"),
        (&empty, vec!["--client-name", "a", "--config", &cfg], "the CA files couldn't be loaded"),
    ];
    for (node, args, want) in cases {
        let run = node.kbinit(&[&["kubeconfig", "user"][..], &args].concat());
        assert_eq!(run.code, 3, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(want), "{args:?}: {}", run.stderr);
        assert!(!run.stdout.contains("apiVersion"), "{args:?} printed a kubeconfig: {}", run.stdout);
    }
}
