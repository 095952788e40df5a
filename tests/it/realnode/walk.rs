//! One cluster walked through: init on a real node, a worker joins, a second control plane joins, every node
//! reset (see the module doc of `realnode`).

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::realnode::node::RealNode;
use crate::support::realnode::{Site, configs};

/// The etcd members as (name, is learner), asked on `node` with its healthcheck-client identity.
fn members(node: &RealNode) -> Vec<(String, bool)> {
    let o = node
        .command("etcdctl")
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints=https://{}:2379", node.address))
        .args([
            "--cacert=/etc/kubernetes/pki/etcd/ca.crt",
            "--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt",
            "--key=/etc/kubernetes/pki/etcd/healthcheck-client.key",
            "member",
            "list",
            "-w",
            "json",
        ])
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

/// Every file left under a node directory (directories alone do not count).
fn files_under(node: &RealNode, node_path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![node.path(node_path)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    out
}

/// What kubeadm's reset removes is gone from `node`, and containerd holds no container.
fn assert_reset(node: &RealNode) {
    let containers = node.containers();
    assert!(containers.is_empty(), "{}: containers left after reset: {containers:?}", node.name);
    for dir in ["/etc/kubernetes", "/var/lib/kubelet", "/var/lib/etcd"] {
        let left = files_under(node, dir);
        assert!(left.is_empty(), "{}: files left under {dir} after reset: {left:?}", node.name);
    }
}

#[test]
fn init_worker_join_control_plane_join_reset() {
    let t0 = Instant::now();
    let site = Site::create("walk", "10.78.0");
    let cp1 = RealNode::start(&site, "cp1", "10.78.0.1");
    let cfg = cp1.file("init.yaml", &configs::init("cp1", "10.78.0.1", &["all"]));
    let t_init = Instant::now();
    let init = cp1.kbinit_ok(&["init", "--config", &cfg, "--upload-certs"]);
    let init_took = t_init.elapsed();
    assert!(init.stdout.contains("Your Kubernetes control-plane has initialized successfully"), "{}", init.stdout);
    super::wait_static_pods(&cp1, &cp1, Duration::from_secs(120));
    let running = cp1.containers();
    assert!(running.len() >= 8, "the four static Pods (sandbox + container each) in containerd: {running:?}");
    let cp1_ready = cp1.wait_ready(&cp1, Duration::from_secs(180));
    let pin = super::pin(&init.stdout);
    let endpoint = "10.78.0.1:6443";

    let w1 = RealNode::start(&site, "w1", "10.78.0.3");
    let wcfg = w1.file("join.yaml", &configs::join(endpoint, "w1", &pin, None, &["all"]));
    let t_join = Instant::now();
    w1.kbinit_ok(&["join", "--config", &wcfg]);
    let join_took = t_join.elapsed();
    assert!(w1.path("/etc/kubernetes/kubelet.conf").exists(), "the worker's kubelet finished its TLS bootstrap");
    let w1_ready = cp1.wait_ready(&w1, Duration::from_secs(120));
    super::wait_kube_proxy(&cp1, &w1, Duration::from_secs(90));

    let cp2 = RealNode::start(&site, "cp2", "10.78.0.2");
    let ccfg = cp2.file("join.yaml", &configs::join(endpoint, "cp2", &pin, Some("10.78.0.2"), &["all"]));
    let t_cp = Instant::now();
    cp2.kbinit_ok(&["join", "--config", &ccfg]);
    let cp_join_took = t_cp.elapsed();
    super::wait_static_pods(&cp1, &cp2, Duration::from_secs(120));
    let mut m = members(&cp1);
    m.sort();
    assert_eq!(m, vec![("cp1".to_string(), false), ("cp2".to_string(), false)], "etcd members after the join");
    cp1.wait_ready(&cp2, Duration::from_secs(120));

    for node in [&w1, &cp2, &cp1] {
        node.kbinit_ok(&["reset", "--force"]);
        assert_reset(node);
    }
    eprintln!(
        "realnode walk: init {init_took:?} (cp1 Ready {cp1_ready:?} later), worker join {join_took:?} (Ready \
         {w1_ready:?} later), control-plane join {cp_join_took:?}; whole test {:?}",
        t0.elapsed()
    );
}
