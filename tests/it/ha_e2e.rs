//! A highly available cluster made by kbinit on test nodes: one network namespace per node on a private LAN,
//! a TCP load balancer in front of the control-plane nodes, a kubelet stand-in per node (real etcd from each
//! rendered manifest; a listener of the one fake API server per control-plane node with that node's serving
//! certificate; the TLS bootstrap for kubelets), then:
//! - `init --control-plane-endpoint <lb>:6443 --upload-certs` on cp1;
//! - `join … --control-plane --certificate-key …` on cp2 and cp3 at the same time;
//! - a control-plane join whose etcd never comes up: kbinit removes the member again and the cluster keeps
//!   its healthy members;
//! - `join …` of a worker through the load balancer.
//!
//! Afterwards etcd reports three started voting members with the right peer URLs, each control-plane node has
//! its own serving certificate with its own address chaining to the shared CA, and the store holds the Nodes
//! with the right labels and taints.
//!
//! fake-api: to move: the control-plane join on real components is `realk8s::join`; two control planes joining at
//! once and a join whose etcd never comes up are not there yet.

use std::process::Command;

use serde_json::Value;

use crate::support::fakeapi::FakeApi;
use crate::support::nodes::lan::Lan;
use crate::support::nodes::testnode::{TestNode, join_config};
use crate::support::{Run, require_tool};

const LB: &str = "10.77.0.100";

fn init_config(address: &str) -> String {
    crate::support::nodes::testnode::init_config(&crate::support::nodes::testnode::newest_version(), address, LB)
}

/// Waits until the reset node's Node is no longer Ready (the stand-in writes what the node lifecycle controller
/// does once the kubelet stops posting): join refuses a Ready Node of its name, as kubeadm's does.
fn not_ready_after_reset(node: &TestNode) {
    let start = std::time::Instant::now();
    while !node.standin.events().iter().any(|e| e.contains("Ready=Unknown")) {
        assert!(start.elapsed() < std::time::Duration::from_secs(20), "{:?}", node.standin.events());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn ok(run: Run, what: &str, node: &TestNode) -> Run {
    assert_eq!(
        run.code,
        0,
        "{what} failed\nstdout:\n{}\nstderr:\n{}\nstand-in: {:?}\netcd log tail:\n{}",
        run.stdout,
        run.stderr,
        node.standin.events(),
        node.standin.etcd_log().lines().rev().take(15).collect::<Vec<_>>().join("\n")
    );
    run
}

/// The members as cp1's etcd reports them.
fn members(cp1: &TestNode) -> Vec<(String, String, String, bool)> {
    cp1.etcd_members("https://10.77.0.1:2379")
}

#[test]
fn ha_cluster_with_concurrent_control_plane_joins_and_a_failed_member() {
    if !require_tool("etcd") || !require_tool("etcdctl") || !require_tool("ip") || !require_tool("openssl") {
        return;
    }
    let api = FakeApi::new();
    let lan = Lan::create("ha", LB);
    let addr = |i: u8| format!("10.77.0.{i}");
    let cp1 = TestNode::start("ha1", "cp1", &[], &api, true);
    let cp2 = TestNode::start("ha2", "cp2", &[], &api, false);
    let cp3 = TestNode::start("ha3", "cp3", &[], &api, false);
    let w4 = TestNode::start("ha4", "w4", &[], &api, false);
    let cp5 = TestNode::start_refusing("ha5", "cp5", &[], &api, false, vec!["etcd"]);
    for (i, n) in [&cp1, &cp2, &cp3, &w4, &cp5].iter().enumerate() {
        lan.attach(&n.ns, &addr(i as u8 + 1));
    }
    let backends = [1u8, 2, 3, 5].iter().map(|i| format!("{}:6443", addr(*i)).parse().unwrap()).collect();
    let _lb = lan.balancer(format!("{LB}:6443").parse().unwrap(), backends);

    // cp1: init
    let cfg = cp1.config(&init_config(&addr(1)));
    let run = ok(cp1.kbinit(&["init", "--config", &cfg, "--upload-certs"]), "init on cp1", &cp1);
    let token = run.stdout.lines().find_map(|l| l.strip_prefix("[bootstrap-token] Using token: ")).unwrap().to_string();
    let key =
        run.stdout.lines().skip_while(|l| *l != "[upload-certs] Using certificate key:").nth(1).unwrap().to_string();
    let pin = run.stdout.split_whitespace().find(|w| w.starts_with("sha256:")).unwrap().to_string();
    assert!(run.stdout.contains(&format!("kbinit join {LB}:6443 --token {token}")), "{}", run.stdout);

    // cp2 and cp3 join at the same time
    let joins: Vec<(String, &TestNode)> = [(2u8, &cp2), (3, &cp3)]
        .iter()
        .map(|(i, n)| {
            let name = format!("cp{i}");
            (
                n.config(&join_config(&format!("{LB}:6443"), &name, &token, &pin, Some((&addr(*i), &key)), Some("2m"))),
                *n,
            )
        })
        .collect();
    let results: Vec<Run> = std::thread::scope(|s| {
        let handles: Vec<_> =
            joins.iter().map(|(cfg, n)| s.spawn(move || n.kbinit(&["join", "--config", cfg]))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (run, (_, n)) in results.into_iter().zip(&joins) {
        ok(run, "control-plane join", n);
    }
    let m = members(&cp1);
    assert_eq!(m.len(), 3, "{m:?}");
    for i in 1..=3u8 {
        let want = (String::from("started"), format!("cp{i}"), format!("https://{}:2380", addr(i)), false);
        assert!(m.contains(&want), "member cp{i} missing or not a started voting member: {m:?}");
    }

    // cp5: its etcd never starts → the member is removed again, the cluster keeps its three healthy members
    let cfg5 =
        cp5.config(&join_config(&format!("{LB}:6443"), "cp5", &token, &pin, Some((&addr(5), &key)), Some("15s")));
    let failed = cp5.kbinit(&["join", "--config", &cfg5]);
    assert_ne!(failed.code, 0, "a join whose etcd never came up succeeded:\n{}", failed.stdout);
    let said = format!("{}{}", failed.stdout, failed.stderr);
    assert!(said.contains("removed again"), "{said}");
    let m = members(&cp1);
    assert_eq!(m.len(), 3, "the failed member is still there: {m:?}");
    assert!(m.iter().all(|(status, _, _, learner)| status == "started" && !learner), "{m:?}");

    // w4: a worker through the load balancer
    let cfg4 = w4.config(&join_config(&format!("{LB}:6443"), "w4", &token, &pin, None, Some("2m")));
    ok(w4.kbinit(&["join", "--config", &cfg4]), "worker join", &w4);
    assert!(w4.node.path("/etc/kubernetes/kubelet.conf").exists());
    assert!(!w4.node.path("/etc/kubernetes/pki/ca.key").exists(), "a worker gets no CA key");

    // every control-plane node: its own serving certificate, its own address, the shared CA
    let ca = cp1.node.path("/etc/kubernetes/pki/ca.crt");
    for (i, n) in [(1u8, &cp1), (2, &cp2), (3, &cp3)] {
        let crt = n.node.path("/etc/kubernetes/pki/apiserver.crt");
        let v = Command::new("openssl").arg("verify").arg("-CAfile").arg(&ca).arg(&crt).output().unwrap();
        assert!(v.status.success(), "cp{i}: {}", String::from_utf8_lossy(&v.stdout));
        let text = Command::new("openssl")
            .args(["x509", "-noout", "-ext", "subjectAltName", "-in"])
            .arg(&crt)
            .output()
            .unwrap();
        let sans = String::from_utf8_lossy(&text.stdout);
        assert!(
            sans.contains(&format!("IP Address:{}", addr(i))) && sans.contains(&format!("DNS:cp{i}")),
            "cp{i}: {sans}"
        );
        assert!(sans.contains(&format!("IP Address:{LB}")), "cp{i}: {sans}");
        if i > 1 {
            assert_eq!(
                std::fs::read(n.node.path("/etc/kubernetes/pki/ca.crt")).unwrap(),
                std::fs::read(&ca).unwrap(),
                "cp{i} has the shared CA"
            );
            assert_ne!(
                std::fs::read(&crt).unwrap(),
                std::fs::read(cp1.node.path("/etc/kubernetes/pki/apiserver.crt")).unwrap(),
                "cp{i} has its own serving certificate"
            );
        }
    }

    // reset cp3: its member leaves etcd (the others report it gone), the node keeps only what kubeadm's reset
    // keeps; then it joins again
    ok(cp3.kbinit(&["reset", "--force"]), "reset on cp3", &cp3);
    let m = members(&cp1);
    assert_eq!(m.len(), 2, "{m:?}");
    assert!(!m.iter().any(|(_, name, _, _)| name == "cp3"), "{m:?}");
    for dir in ["/etc/kubernetes/manifests", "/etc/kubernetes/pki", "/var/lib/kubelet", "/var/lib/etcd"] {
        let entries = std::fs::read_dir(cp3.node.path(dir)).map(|d| d.count());
        assert_eq!(entries.ok(), Some(0), "{dir} is kept, emptied");
    }
    for f in ["admin.conf", "super-admin.conf", "kubelet.conf", "controller-manager.conf", "scheduler.conf"] {
        assert!(!cp3.node.path(&format!("/etc/kubernetes/{f}")).exists(), "{f} deleted");
    }
    not_ready_after_reset(&cp3);
    ok(cp3.kbinit(&["join", "--config", &joins[1].0]), "cp3 joining again after reset", &cp3);
    let m = members(&cp1);
    assert_eq!(m.len(), 3, "{m:?}");
    assert!(m.iter().all(|(status, _, _, learner)| status == "started" && !learner), "{m:?}");
    // the worker too
    ok(w4.kbinit(&["reset", "--force"]), "reset on w4", &w4);
    assert!(!w4.node.path("/etc/kubernetes/kubelet.conf").exists());
    not_ready_after_reset(&w4);
    ok(w4.kbinit(&["join", "--config", &cfg4]), "w4 joining again after reset", &w4);

    // the Nodes: three control-plane nodes labelled and tainted, one worker without either
    let nodes = api.objects("/api/v1/nodes");
    let names: Vec<&str> = nodes.iter().filter_map(|n| n.pointer("/metadata/name").and_then(Value::as_str)).collect();
    for want in ["cp1", "cp2", "cp3", "w4"] {
        assert!(names.contains(&want), "{names:?}");
    }
    for n in &nodes {
        let name = n.pointer("/metadata/name").and_then(Value::as_str).unwrap();
        let cp_label = n.pointer("/metadata/labels/node-role.kubernetes.io~1control-plane").is_some();
        let taint = n
            .pointer("/spec/taints")
            .and_then(Value::as_array)
            .is_some_and(|t| t.iter().any(|t| t["key"] == "node-role.kubernetes.io/control-plane"));
        match name {
            "cp1" | "cp2" | "cp3" => assert!(cp_label && taint, "{name}: {n}"),
            "w4" => assert!(!cp_label && !taint, "{name}: {n}"),
            _ => {}
        }
    }
}

/// A control-plane join of a cluster on an external etcd: the etcd client files come from kubeadm-certs to the
/// paths the ClusterConfiguration names, and etcd's membership is left alone.
#[test]
fn control_plane_join_with_external_etcd() {
    if !require_tool("etcd") || !require_tool("etcdctl") || !require_tool("ip") {
        return;
    }
    let api = FakeApi::new();
    let lan = Lan::create("ext", "10.78.0.100");
    let etcd0 = TestNode::start("ext0", "etcd0", &[], &api, false);
    let cp1 = TestNode::start("ext1", "cp1", &[], &api, true);
    let cp2 = TestNode::start("ext2", "cp2", &[], &api, false);
    lan.attach(&etcd0.ns, "10.78.0.9");
    lan.attach(&cp1.ns, "10.78.0.1");
    lan.attach(&cp2.ns, "10.78.0.2");
    let _lb = lan.balancer(
        "10.78.0.100:6443".parse().unwrap(),
        vec!["10.78.0.1:6443".parse().unwrap(), "10.78.0.2:6443".parse().unwrap()],
    );
    // the external etcd: its own PKI and a stacked-style manifest on a node of its own
    let etcd_cfg = etcd0.config(&init_config("10.78.0.9").replace("name: cp1", "name: etcd0"));
    for phase in ["etcd-ca", "etcd-server", "etcd-peer", "etcd-healthcheck-client", "apiserver-etcd-client"] {
        ok(etcd0.kbinit(&["init", "phase", "certs", phase, "--config", &etcd_cfg]), phase, &etcd0);
    }
    ok(etcd0.kbinit(&["init", "phase", "etcd", "local", "--config", &etcd_cfg]), "etcd local", &etcd0);
    // cp1 holds the client files the ClusterConfiguration names
    for f in ["etcd/ca.crt", "apiserver-etcd-client.crt", "apiserver-etcd-client.key"] {
        let p = format!("/etc/kubernetes/pki/{f}");
        cp1.node.put(&p, &etcd0.node.read(&p));
    }
    let external = "etcd:\n  external:\n    endpoints: [https://10.78.0.9:2379]\n    caFile: /etc/kubernetes/pki/etcd/ca.crt\n    \
                    certFile: /etc/kubernetes/pki/apiserver-etcd-client.crt\n    keyFile: /etc/kubernetes/pki/apiserver-etcd-client.key\n";
    let text =
        init_config("10.78.0.1").replace(LB, "10.78.0.100").replace("networking:", &format!("{external}networking:"));
    let run = ok(cp1.kbinit(&["init", "--config", &cp1.config(&text), "--upload-certs"]), "init on cp1", &cp1);
    assert!(!cp1.node.path("/etc/kubernetes/manifests/etcd.yaml").exists(), "no local etcd with an external one");
    let certs = api.object("/api/v1/namespaces/kube-system/secrets/kubeadm-certs").unwrap();
    for k in ["external-etcd-ca.crt", "external-etcd.crt", "external-etcd.key"] {
        assert!(certs["data"].get(k).is_some(), "{k} not uploaded: {certs}");
    }
    let token = run.stdout.lines().find_map(|l| l.strip_prefix("[bootstrap-token] Using token: ")).unwrap().to_string();
    let key =
        run.stdout.lines().skip_while(|l| *l != "[upload-certs] Using certificate key:").nth(1).unwrap().to_string();
    let pin = run.stdout.split_whitespace().find(|w| w.starts_with("sha256:")).unwrap().to_string();
    let join = join_config(&format!("{LB}:6443"), "cp2", &token, &pin, Some(("10.78.0.2", &key)), Some("30s"))
        .replace(LB, "10.78.0.100");
    ok(cp2.kbinit(&["join", "--config", &cp2.config(&join)]), "control-plane join", &cp2);
    for f in ["etcd/ca.crt", "apiserver-etcd-client.crt", "apiserver-etcd-client.key"] {
        let p = format!("/etc/kubernetes/pki/{f}");
        assert_eq!(cp2.node.read(&p), etcd0.node.read(&p), "{p} from kubeadm-certs");
    }
    assert!(!cp2.node.path("/etc/kubernetes/manifests/etcd.yaml").exists());
    assert!(!cp2.node.path("/etc/kubernetes/pki/etcd/ca.key").exists(), "the external etcd CA key stays away");
    let apiserver = cp2.node.read_str("/etc/kubernetes/manifests/kube-apiserver.yaml");
    assert!(apiserver.contains("--etcd-servers=https://10.78.0.9:2379"), "{apiserver}");
    // membership untouched: the one external member
    let list = etcd0.etcd_members("https://10.78.0.9:2379");
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0], ("started".into(), "etcd0".into(), "https://10.78.0.9:2380".into(), false));
}
