//! `kbinit join` against a real cluster: cp1 runs the real control plane of ../shared/k8s; a worker joins with
//! token discovery pinned to the CA (cluster-info signed by the real controller-manager's bootstrap signer,
//! `join --check` first, which changes nothing), its kubelet's CSR approved and signed by the real
//! controller-manager; then a second control-plane node joins with the kubeadm-certs Secret downloaded and
//! decrypted, its etcd member added as a learner on real etcd and promoted (v1.29+), its own real API server up.
//! The nodes are network namespaces on a private test LAN.

use serde_json::Value;

use crate::support::nodes::lan::Lan;
use crate::support::nodes::testnode::join_config;
use crate::support::realk8s::node::RealNode;

const TOKEN: &str = "abcdef.0123456789abcdef";
const KEY: &str = "0b3cb3e5d3b4b2b25e0a9cb1b8e3e5a62f0f8e7e1f0c3d2a1b0e9f8d7c6b5a49";

/// v1beta3 for releases that do not read v1beta4 (1.28–1.30).
fn join_text(release_minor: u32, text: String) -> String {
    if release_minor >= 31 { text } else { text.replace("kubeadm.k8s.io/v1beta4", "kubeadm.k8s.io/v1beta3") }
}

/// The etcd members as (name, is learner), asked from inside `node` with its healthcheck-client identity.
fn members(node: &RealNode, address: &str) -> Vec<(String, bool)> {
    let pki = node.node.path("/etc/kubernetes/pki");
    let o = node
        .ns
        .command("etcdctl")
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints=https://{address}:2379"))
        .arg(format!("--cacert={}", pki.join("etcd/ca.crt").display()))
        .arg(format!("--cert={}", pki.join("etcd/healthcheck-client.crt").display()))
        .arg(format!("--key={}", pki.join("etcd/healthcheck-client.key").display()))
        .args(["member", "list", "-w", "json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "etcdctl member list: {}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    v["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["name"].as_str().unwrap_or_default().to_string(), m["isLearner"].as_bool().unwrap_or(false)))
        .collect()
}

fn join_against(release: &str, tag: &str) {
    let minor: u32 = release.split('.').nth(1).unwrap().parse().unwrap();
    let lan = Lan::create(tag, "10.77.0.100");
    let cp1 = RealNode::on_lan(&lan, &format!("{tag}1"), "cp1", "10.77.0.1", release);
    let cfg = cp1.file("kbinit.yaml", &super::init_config(release, "10.77.0.1"));
    let init = cp1.kbinit_ok(&["init", "--config", &cfg, "--upload-certs"]);
    let pin = init.stdout.split_whitespace().find(|w| w.starts_with("sha256:")).unwrap().to_string();
    let endpoint = "10.77.0.1:6443";

    // the real bootstrap signer signs cluster-info for the token
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let ci = cp1.with_admin(|api| {
            api.call_once(http::Method::GET, "/api/v1/namespaces/kube-public/configmaps/cluster-info", None).unwrap()
        });
        if ci.pointer("/data/jws-kubeconfig-abcdef").is_some() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{release}: cluster-info was never signed: {ci}\n{}",
            cp1.report()
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }

    // a worker: --check first (touches nothing), then the join; the supervisor's kubelet bootstraps its TLS
    let w1 = RealNode::on_lan(&lan, &format!("{tag}w"), "w1", "10.77.0.3", release);
    let wcfg = w1.file("join.yaml", &join_text(minor, join_config(endpoint, "w1", TOKEN, &pin, None, None)));
    let before = crate::support::snapshot(&w1.node.path("/etc"));
    let check = w1.kbinit_ok(&["join", "--check", "--config", &wcfg]);
    assert_eq!(
        crate::support::snapshot(&w1.node.path("/etc")),
        before,
        "join --check changed the node\n{}",
        check.stdout
    );
    let wrong = w1.kbinit(&["join", "--check", "--config", &wcfg.replace("join.yaml", "wrong.yaml")]);
    assert_ne!(wrong.code, 0);
    let bad_pin = w1.file(
        "badpin.yaml",
        &join_text(minor, join_config(endpoint, "w1", TOKEN, &format!("sha256:{}", "0".repeat(64)), None, None)),
    );
    let refused = w1.kbinit(&["join", "--check", "--config", &bad_pin]);
    assert_ne!(refused.code, 0, "a wrong CA pin was accepted:\n{}", refused.stdout);
    w1.kbinit_ok(&["join", "--config", &wcfg]);
    let (node, csrs) = cp1.with_admin(|api| {
        let node = api.call_once(http::Method::GET, "/api/v1/nodes/w1", None);
        let csrs = api.call_once(http::Method::GET, "/apis/certificates.k8s.io/v1/certificatesigningrequests", None);
        (node, csrs.unwrap())
    });
    assert!(node.is_ok(), "{release}: Node w1 not registered: {node:?}\n{}", w1.report());
    let approved = csrs["items"].as_array().unwrap().iter().any(|c| {
        c.pointer("/spec/username").and_then(Value::as_str) == Some("system:bootstrap:abcdef")
            && c.pointer("/status/certificate").is_some()
            && c.pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|cs| cs.iter().any(|x| x["type"] == "Approved"))
    });
    assert!(approved, "{release}: no CSR of the bootstrap token approved and signed by the controller-manager: {csrs}");

    // a second control-plane node
    let cp2 = RealNode::on_lan(&lan, &format!("{tag}2"), "cp2", "10.77.0.2", release);
    let ccfg = cp2.file(
        "join.yaml",
        &join_text(minor, join_config(endpoint, "cp2", TOKEN, &pin, Some(("10.77.0.2", KEY)), Some("2m")))
            // a second real control plane starting on a loaded 2-core machine: more than the default minute
            .replace("tlsBootstrap: 60s", "tlsBootstrap: 4m"),
    );
    cp2.kbinit_ok(&["join", "--config", &ccfg]);
    for f in ["ca.crt", "ca.key", "sa.key", "sa.pub", "front-proxy-ca.crt", "etcd/ca.crt"] {
        let p = format!("/etc/kubernetes/pki/{f}");
        assert_eq!(cp1.node.read(&p), cp2.node.read(&p), "{release}: {f} was not taken from kubeadm-certs");
    }
    let m = members(&cp1, "10.77.0.1");
    assert_eq!(m.len(), 2, "{release}: etcd members {m:?}");
    assert!(m.iter().all(|(_, learner)| !learner), "{release}: a member is still a learner: {m:?}");
    let cp2_node = cp1.with_admin(|api| api.call_once(http::Method::GET, "/api/v1/nodes/cp2", None));
    let cp2_node = cp2_node.unwrap_or_else(|e| panic!("{release}: Node cp2: {e}\n{}", cp2.report()));
    assert!(
        cp2_node.pointer("/metadata/labels/node-role.kubernetes.io~1control-plane").is_some(),
        "{release}: cp2 not marked as control plane: {cp2_node}"
    );
    // cp2's own API server answers with the cluster's CA
    crate::support::require_tool("curl");
    let ca = cp2.node.path("/etc/kubernetes/pki/ca.crt");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    let answer = loop {
        let o = cp2
            .ns
            .command("curl")
            .args(["-s", "--max-time", "10", "--cacert", ca.to_str().unwrap(), "https://10.77.0.2:6443/readyz"])
            .output()
            .unwrap();
        let answer = String::from_utf8_lossy(&o.stdout).into_owned();
        if answer == "ok" || std::time::Instant::now() > deadline {
            break answer;
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    };
    assert_eq!(answer, "ok", "{release}: cp2's API server is not ready\n{}", cp2.report());
}

#[test]
fn join_a_worker_and_a_control_plane_to_a_real_cluster_v1_33() {
    join_against("v1.33.3", "rj33");
}

#[test]
fn join_a_worker_and_a_control_plane_to_a_real_cluster_v1_28() {
    join_against("v1.28.7", "rj28");
}
