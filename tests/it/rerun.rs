//! Re-running `kbinit init` on a netns test node (kubelet stand-in, real etcd, the fake API server):
//! - a re-run of a completed init says there is nothing to do and changes no file;
//! - after a certificate and a cluster object were deleted, the re-run passes preflight on kbinit's own
//!   leftovers (manifests, the ports its components hold, its etcd member), says it reuses them, and restores
//!   both;
//! - a certificate signed by another CA is refused by path with the fix, exit 2, and nothing changes.
//!
//! fake-api: to move: re-running init against a real control plane is `realk8s::cluster_twice`; the
//! deleted-certificate and foreign-CA cases are not there yet.

use serde_json::Value;

use crate::support::config::init_yaml;
use crate::support::fakeapi::{FakeApi, ServingTls};
use crate::support::nodes::kubelet::{KubeletStandIn, StandInConfig};
use crate::support::nodes::netns::Netns;
use crate::support::{Node, Run, require_tool, snapshot};

const ADDRESS: &str = "192.0.2.20";

/// The init configuration of these tests (v1.28.7, stacked etcd, node cp1).
pub fn config() -> String {
    init_yaml("v1.28.7", ADDRESS).endpoint(ADDRESS).pod_subnet().build()
}

/// Runs kbinit inside the node's namespace.
pub fn kbinit_in(ns: &Netns, node: &Node, args: &[&str]) -> Run {
    let mut c = ns.command(env!("CARGO_BIN_EXE_kbinit"));
    c.arg("--root").arg(node.root()).args(args).env_remove("KUBECONFIG");
    c.output().unwrap().into()
}

/// The node's kbinit-owned trees (what init writes), for before/after comparisons; etcd's own data changes
/// while it runs and is left out.
fn owned(node: &Node) -> Vec<(std::path::PathBuf, (u32, Vec<u8>))> {
    let mut all: Vec<_> = snapshot(&node.path("/etc/kubernetes")).into_iter().collect();
    all.extend(snapshot(&node.path("/var/lib/kubelet")));
    all
}

/// A client with admin.conf's identity through a listener on this process's loopback (same store).
fn admin_client(node: &Node, api: &FakeApi) -> (kbinit::api::Cluster, crate::support::fakeapi::Listener) {
    let pki = node.path("/etc/kubernetes/pki");
    let read = |f: &str| std::fs::read_to_string(pki.join(f)).unwrap();
    let tls =
        ServingTls { cert_pem: read("apiserver.crt"), key_pem: read("apiserver.key"), client_ca_pem: read("ca.crt") };
    let local = api.serve("127.0.0.1:0".parse().unwrap(), tls);
    let mut kc = kbinit_phases::go_format::yaml::from_yaml(&node.read_str("/etc/kubernetes/admin.conf")).unwrap();
    kc["clusters"][0]["cluster"]["server"] = Value::from(local.url());
    kc["clusters"][0]["cluster"]["tls-server-name"] = Value::from("kubernetes");
    let c = kbinit::api::Cluster::from_kubeconfig_text(
        &kbinit_phases::go_format::yaml::to_yaml(&kc),
        std::time::Duration::from_secs(5),
    )
    .unwrap();
    (c, local)
}

#[test]
fn init_rerun_converges_and_refuses_foreign_files() {
    if !require_tool("etcd") || !require_tool("ip") {
        return;
    }
    let node = Node::new();
    let cfg_path = node.root().join("kbinit.yaml");
    std::fs::write(&cfg_path, config()).unwrap();
    let cfg = cfg_path.to_str().unwrap();
    let ns = Netns::create(format!("kbinit-rerun-{}", std::process::id()), &[ADDRESS]);
    let api = FakeApi::new();
    let standin = KubeletStandIn::start(
        StandInConfig {
            netns: ns.name.clone(),
            root: node.root().to_path_buf(),
            node_name: "cp1".into(),
            run_controllers: true,
            refuse: vec![],
        },
        api.clone(),
    );
    // this host lacks crictl, conntrack, a kubelet binary…: those checks are ignored; kbinit's leftovers must
    // not even show up as (ignored) findings
    let init = ["init", "--config", cfg, "--ignore-preflight-errors=all"];
    let first = kbinit_in(&ns, &node, &init);
    assert_eq!(first.code, 0, "init failed\n{}\n{}\n{:?}", first.stdout, first.stderr, standin.events());

    // 1. completed: nothing to do, nothing changes
    let before = owned(&node);
    let again = kbinit_in(&ns, &node, &init);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert!(
        again.stdout.contains("[init] This node is already initialized with this configuration; nothing to do"),
        "{}",
        again.stdout
    );
    assert!(!again.stdout.contains("[bootstrap-token] Using token"), "no new token on a no-op re-run");
    assert_eq!(owned(&node), before, "a no-op re-run changed files");

    // 2. a certificate and a cluster object deleted: restored; the leftovers are reused, not findings
    std::fs::remove_file(node.path("/etc/kubernetes/pki/apiserver-kubelet-client.crt")).unwrap();
    std::fs::remove_file(node.path("/etc/kubernetes/pki/apiserver-kubelet-client.key")).unwrap();
    let (admin, _local) = admin_client(&node, &api);
    let cms = kbinit_phases::api::ResourceType::of::<k8s_openapi::api::core::v1::ConfigMap>();
    assert!(admin.delete(&cms, Some("kube-system"), "kubelet-config").unwrap());
    let restored = kbinit_in(&ns, &node, &init);
    assert_eq!(restored.code, 0, "{}\n{}", restored.stdout, restored.stderr);
    for line in [
        "[preflight] /etc/kubernetes/manifests/kube-apiserver.yaml is already present from an earlier run; reusing",
        "[preflight] /etc/kubernetes/manifests/etcd.yaml is already present from an earlier run; reusing",
        "[preflight] Port 6443 is in use by kube-apiserver, whose manifest /etc/kubernetes/manifests/kube-apiserver.yaml is already present from an earlier run; reusing",
        "[preflight] Port 2379 is in use by etcd, whose manifest /etc/kubernetes/manifests/etcd.yaml is already present from an earlier run; reusing",
        "[preflight] /var/lib/etcd holds this node's etcd member, already present from an earlier run; reusing",
        "[certs] Using existing ca certificate authority",
        "[certs] Generating \"apiserver-kubelet-client\" certificate and key",
        "[certs] Using existing apiserver certificate and key on disk",
        "[kubeconfig] Using existing kubeconfig file: \"/etc/kubernetes/admin.conf\"",
    ] {
        assert!(restored.stdout.contains(line), "missing {line:?} in\n{}", restored.stdout);
    }
    for name in
        ["Port-6443", "Port-2379", "Port-2380", "FileAvailable--etc-kubernetes-manifests", "DirAvailable--var-lib-etcd"]
    {
        assert!(!restored.stderr.contains(name), "{name} reported although it is kbinit's own:\n{}", restored.stderr);
    }
    assert!(node.path("/etc/kubernetes/pki/apiserver-kubelet-client.crt").exists());
    assert!(api.object("/api/v1/namespaces/kube-system/configmaps/kubelet-config").is_some(), "not restored");
    let openssl = std::process::Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(node.path("/etc/kubernetes/pki/ca.crt"))
        .arg(node.path("/etc/kubernetes/pki/apiserver-kubelet-client.crt"))
        .output();
    if let Ok(o) = openssl {
        assert!(
            o.status.success(),
            "the restored cert does not chain to the CA: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    // 3. a certificate from another CA: refused by path with the fix, exit 2, nothing changed
    let other = Node::new();
    other.put("/kbinit.yaml", config().as_bytes());
    let other_cfg = other.path("/kbinit.yaml");
    other.kbinit(&["init", "phase", "certs", "all", "--config", other_cfg.to_str().unwrap()]).ok();
    for f in ["apiserver.crt", "apiserver.key"] {
        std::fs::copy(other.path(&format!("/etc/kubernetes/pki/{f}")), node.path(&format!("/etc/kubernetes/pki/{f}")))
            .unwrap();
    }
    let before = owned(&node);
    let refused = kbinit_in(&ns, &node, &init);
    assert_eq!(refused.code, 2, "{}\n{}", refused.stdout, refused.stderr);
    assert!(
        refused.stderr.contains(
            "\t/etc/kubernetes/pki/apiserver.crt: it is not signed by the CA certificate /etc/kubernetes/pki/ca.crt\n\t\tfix: delete \
             /etc/kubernetes/pki/apiserver.crt and /etc/kubernetes/pki/apiserver.key (kbinit issues new ones from the CA), or \
             run kbinit reset"
        ),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("--ignore-preflight-errors does not cover these"), "{}", refused.stderr);
    assert!(!refused.stdout.contains("[certs]"), "went past preflight:\n{}", refused.stdout);
    assert_eq!(owned(&node), before, "a refused re-run changed files");
    drop(standin);
}
