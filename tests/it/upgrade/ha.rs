//! A three-control-plane + one-worker cluster made by `kbinit init`/`join` at the second-newest minor of kbinit's
//! table, behind a load balancer, upgraded to the newest with `upgrade apply` on cp1 and `upgrade node` on the
//! others, in kubeadm's order: the addons wait for the last control plane. Afterwards every control plane's
//! manifests equal what init/join write at the new version for that node, kubeadm-config and kubelet-config
//! equal a fresh init's, the addons run the new images, certificates were renewed, backups exist, and etcd kept
//! its key and its three voting members.
//!
//! fake-api: the newest minors of kbinit's table have no real binaries in ../shared/k8s (only v1.28.7 and v1.33.3).

use kbinit_phases::version::{KubeVersion, MAX_MINOR};
use serde_json::Value;

use super::{etcdctl, fresh_init_files, ok, upgrade_config};
use crate::support::fakeapi::FakeApi;
use crate::support::nodes::lan::Lan;
use crate::support::nodes::testnode::{TestNode, init_config, join_config};
use crate::support::{Node, require_tool};

const LB: &str = "10.79.0.100";

fn addr(i: u8) -> String {
    format!("10.79.0.{i}")
}

/// init's configuration for node `cp<i>` (what a fresh init or control-plane join renders for it).
fn node_config(version: &KubeVersion, i: u8) -> String {
    init_config(&version.to_string(), &addr(i), LB).replace("name: cp1", &format!("name: cp{i}"))
}

/// The ConfigMaps a fresh `kbinit init --dry-run` at `version` would create, by name.
fn fresh_configmaps(version: &KubeVersion) -> Vec<Value> {
    let node = Node::new();
    let cfg = node.root().join("kbinit.yaml");
    std::fs::write(&cfg, init_config(&version.to_string(), &addr(1), LB)).unwrap();
    let run = node.kbinit(&["init", "--dry-run", "--config", &cfg.display().to_string()]).ok();
    crate::init_dryrun::calls(&run.stdout)
        .into_iter()
        .filter(|c| c.verb == "CREATE" && c.resource == "configmaps")
        .filter_map(|c| c.body)
        .collect()
}

#[test]
fn ha_cluster_upgraded_node_by_node_equals_a_fresh_cluster_at_the_newest_minor() {
    if !require_tool("etcd") || !require_tool("etcdctl") || !require_tool("ip") || !require_tool("openssl") {
        return;
    }
    let old = KubeVersion::resolve(&format!("v1.{}.0", MAX_MINOR - 1)).unwrap();
    let new = KubeVersion::resolve(&format!("v1.{MAX_MINOR}.0")).unwrap();
    let api = FakeApi::new();
    let lan = Lan::create("upha", LB);
    let cps: Vec<TestNode> =
        (1..=3u8).map(|i| TestNode::start(&format!("upha{i}"), &format!("cp{i}"), &[], &api, i == 1)).collect();
    let w = TestNode::start("upha4", "w4", &[], &api, false);
    for (i, n) in cps.iter().enumerate() {
        lan.attach(&n.ns, &addr(i as u8 + 1));
    }
    lan.attach(&w.ns, &addr(4));
    let backends = (1..=3u8).map(|i| format!("{}:6443", addr(i)).parse().unwrap()).collect();
    let _lb = lan.balancer(format!("{LB}:6443").parse().unwrap(), backends);

    let cfg = cps[0].config(&node_config(&old, 1));
    let run = ok(cps[0].kbinit(&["init", "--config", &cfg, "--upload-certs"]), "init on cp1", &cps[0]);
    let token = run.stdout.lines().find_map(|l| l.strip_prefix("[bootstrap-token] Using token: ")).unwrap().to_string();
    let key =
        run.stdout.lines().skip_while(|l| *l != "[upload-certs] Using certificate key:").nth(1).unwrap().to_string();
    let pin = run.stdout.split_whitespace().find(|x| x.starts_with("sha256:")).unwrap().to_string();
    for (i, n) in cps.iter().enumerate().skip(1) {
        let name = format!("cp{}", i + 1);
        let a = addr(i as u8 + 1);
        let c = n.config(&join_config(&format!("{LB}:6443"), &name, &token, &pin, Some((&a, &key)), None));
        ok(n.kbinit(&["join", "--config", &c]), "control-plane join", n);
    }
    ok(
        w.kbinit(&["join", "--config", &w.config(&join_config(&format!("{LB}:6443"), "w4", &token, &pin, None, None))]),
        "worker join",
        &w,
    );
    etcdctl(&cps[0], &addr(1), &["put", "written-before-the-upgrade", "kept"]);
    let crts: Vec<Vec<u8>> = cps.iter().map(|n| n.node.read("/etc/kubernetes/pki/apiserver.crt")).collect();

    // cp1: upgrade apply; the addons wait for cp2 and cp3
    let up = upgrade_config(&cps[0]);
    let run =
        ok(cps[0].kbinit(&["upgrade", "apply", &new.to_string(), "--yes", "--config", &up]), "apply on cp1", &cps[0]);
    assert!(
        run.stdout.contains("[upgrade/addon] Skipping upgrade of addons because control plane instances [cp2 cp3] have not been upgraded"),
        "{}",
        run.stdout
    );
    // cp2, cp3: upgrade node; the last one applies the addons
    for (i, n) in cps.iter().enumerate().skip(1) {
        let up = upgrade_config(n);
        let run = ok(n.kbinit(&["upgrade", "node", "--config", &up]), "upgrade node on a control plane", n);
        assert!(
            run.stdout.contains("[upgrade/staticpods] Component \"kube-apiserver\" upgraded successfully!"),
            "{}",
            run.stdout
        );
        let applied = run.stdout.contains("[addons] Applied essential addon: CoreDNS");
        assert_eq!(applied, i == 2, "addons only with the last control plane:\n{}", run.stdout);
    }
    ok(w.kbinit(&["upgrade", "node"]), "upgrade node on the worker", &w);

    // every control plane: what init/join write at the new version for it
    for (i, n) in cps.iter().enumerate() {
        let fresh = fresh_init_files(&node_config(&new, i as u8 + 1));
        for (path, bytes) in &fresh {
            let got = String::from_utf8(n.node.read(path)).unwrap();
            let want = String::from_utf8(bytes.clone()).unwrap();
            if path.ends_with("etcd.yaml") && i > 0 {
                // a joined member keeps its --initial-cluster and --initial-cluster-state=existing, as join writes
                let strip =
                    |t: &str| t.lines().filter(|l| !l.contains("--initial-cluster")).collect::<Vec<_>>().join("\n");
                assert_eq!(strip(&got), strip(&want), "cp{} {path}", i + 1);
                assert!(got.contains("--initial-cluster-state=existing") && got.contains("cp1=https://"), "{got}");
            } else {
                assert_eq!(got, want, "cp{} {path}", i + 1);
            }
        }
        assert_ne!(
            n.node.read("/etc/kubernetes/pki/apiserver.crt"),
            crts[i],
            "cp{} renewed its serving certificate",
            i + 1
        );
        let tmp = n.node.path("/etc/kubernetes/tmp");
        assert!(
            std::fs::read_dir(&tmp)
                .unwrap()
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("kubeadm-backup-manifests-")),
            "cp{} has its manifest backup",
            i + 1
        );
    }
    assert_eq!(w.node.read("/var/lib/kubelet/config.yaml"), cps[0].node.read("/var/lib/kubelet/config.yaml"));
    // kubeadm-config and kubelet-config: what a fresh init at the new version creates
    let mut compared = Vec::new();
    for want in fresh_configmaps(&new) {
        let name = want["metadata"]["name"].as_str().unwrap().to_string();
        if name != "kubeadm-config" && name != "kubelet-config" {
            continue;
        }
        compared.push(name.clone());
        let got = api.object(&format!("/api/v1/namespaces/kube-system/configmaps/{name}")).unwrap();
        assert_eq!(got["data"], want["data"], "{name}");
        assert_eq!(got["metadata"].get("annotations"), want["metadata"].get("annotations"), "{name}");
    }
    compared.sort();
    assert_eq!(compared, ["kubeadm-config", "kubelet-config"]);
    let proxy = api.object("/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy").unwrap();
    assert_eq!(
        proxy["spec"]["template"]["spec"]["containers"][0]["image"],
        format!("registry.k8s.io/kube-proxy:{new}")
    );
    let dns = api.object("/apis/apps/v1/namespaces/kube-system/deployments/coredns").unwrap();
    assert_eq!(
        dns["spec"]["template"]["spec"]["containers"][0]["image"],
        format!("registry.k8s.io/coredns/coredns:{}", new.coredns_tag())
    );
    assert!(etcdctl(&cps[0], &addr(1), &["get", "written-before-the-upgrade"]).contains("kept"));
    let members = cps[0].etcd_members(&format!("https://{}:2379", addr(1)));
    assert!(members.len() == 3 && members.iter().all(|(s, _, _, learner)| s == "started" && !learner), "{members:?}");
}
