//! A v1.28.7 cluster (one control plane, one worker) made by `kbinit init`/`join` goes v1.28 → v1.29 → v1.30, one
//! minor at a time; on the way: plan (text and `-o json` agree), diff (exactly the image tags change), `--dry-run`
//! (nothing changes on disk or in the store), a skipped minor and other bad input (refused, exit 3, nothing
//! changed), and `kill -9` at the phase boundaries of the second step. After each step the control plane's manifests and every node's kubelet config equal a fresh init at
//! the new version, certificates were renewed (same subject and SANs, openssl verifies), the backups are where
//! kubeadm keeps them, and etcd kept the key written before.
//!
//! fake-api: the minors upgraded through (v1.29, v1.30) have no real binaries in ../shared/k8s (only v1.28.7 and
//! v1.33.3).

use std::process::Command;

use serde_json::Value;

use super::{apply_killed_at, etcdctl, fresh_init_files, manifests, ok, upgrade_config};
use crate::support::config::init_yaml;
use crate::support::fakeapi::FakeApi;
use crate::support::nodes::lan::Lan;
use crate::support::nodes::testnode::TestNode;
use crate::support::{Run, require_tool, snapshot};

const CP: &str = "10.78.0.1";
const W: &str = "10.78.0.2";

fn config(version: &str) -> String {
    init_yaml(version, CP).ignore_all_preflight().endpoint(CP).pod_subnet().build()
}

fn join_config(token: &str, pin: &str) -> String {
    format!(
        "apiVersion: kubeadm.k8s.io/v1beta3
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: {CP}:6443
    token: {token}
    caCertHashes: [\"{pin}\"]
  timeout: 60s
nodeRegistration:
  name: w2
  criSocket: unix:///run/containerd/containerd.sock
  ignorePreflightErrors: [all]
"
    )
}

/// The node's files, without what the stand-in itself writes (etcd's log and data).
fn node_files(n: &TestNode) -> Vec<(String, Vec<u8>)> {
    snapshot(n.node.root())
        .into_iter()
        .map(|(p, (_, b))| (p.display().to_string(), b))
        .filter(|(p, _)| !p.contains("etcd.log") && !p.contains("var/lib/etcd"))
        .collect()
}

/// What the store holds in kube-system and kube-public (ConfigMaps, Deployments, DaemonSets).
fn store(api: &FakeApi) -> Vec<Value> {
    let mut all = Vec::new();
    for p in [
        "/api/v1/namespaces/kube-system/configmaps",
        "/api/v1/namespaces/kube-public/configmaps",
        "/apis/apps/v1/namespaces/kube-system/deployments",
        "/apis/apps/v1/namespaces/kube-system/daemonsets",
    ] {
        all.extend(api.objects(p));
    }
    all
}

fn openssl(args: &[&str]) -> String {
    let o = Command::new("openssl").args(args).output().unwrap();
    assert!(o.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn refused(run: Run, want: &str) {
    assert_eq!(run.code, 3, "expected invalid input ({want})\nstdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains(want), "{want:?} not in\n{}", run.stderr);
}

/// `upgrade apply <version>` (first killed with SIGKILL once at each of `kills`, then run again to the end) and
/// the checks every minor step gets.
fn upgrade_to(api: &FakeApi, cp: &TestNode, w: &TestNode, version: &str, cfg: &str, kills: &[&str]) {
    let old = manifests(cp);
    let crt = cp.node.path("/etc/kubernetes/pki/apiserver.crt").display().to_string();
    let before = openssl(&["x509", "-noout", "-enddate", "-serial", "-in", &crt]);
    let ident = |f: &str| openssl(&["x509", "-noout", "-subject", "-ext", "subjectAltName", "-in", f]);
    let before_ident = ident(&crt);
    std::thread::sleep(std::time::Duration::from_secs(1)); // a renewed NotAfter differs by at least a second
    for at in kills {
        apply_killed_at(cp, &["upgrade", "apply", version, "--yes", "--config", cfg], at);
    }
    let run = ok(cp.kbinit(&["upgrade", "apply", version, "--yes", "--config", cfg]), "upgrade apply", cp);
    assert!(
        run.stdout.contains(&format!(
            "[upgrade] SUCCESS! A control plane node of your cluster was upgraded to \"{version}\"."
        ))
    );
    // files equal a fresh init at the new version, field by field (byte for byte)
    for (path, bytes) in fresh_init_files(&config(version)) {
        assert_eq!(
            String::from_utf8_lossy(&cp.node.read(&path)),
            String::from_utf8_lossy(&bytes),
            "{path} at {version}"
        );
    }
    // certificates renewed: new NotAfter and serial, same subject and SANs, chaining to the CA
    assert_ne!(openssl(&["x509", "-noout", "-enddate", "-serial", "-in", &crt]), before);
    assert_eq!(ident(&crt), before_ident);
    let ca = cp.node.path("/etc/kubernetes/pki/ca.crt").display().to_string();
    assert!(openssl(&["verify", "-CAfile", &ca, &crt]).contains(": OK"));
    // backups where kubeadm keeps them: the old manifest of every component that changed
    let tmp = cp.node.path("/etc/kubernetes/tmp");
    let mut dirs: Vec<_> = std::fs::read_dir(&tmp).unwrap().flatten().map(|e| e.path()).collect();
    dirs.sort();
    let backup = dirs.iter().rev().find(|d| d.display().to_string().contains("kubeadm-backup-manifests-")).unwrap();
    assert_eq!(std::fs::read(backup.join("kube-apiserver.yaml")).unwrap(), old["kube-apiserver"]);
    // the cluster objects
    let kc = api.object("/api/v1/namespaces/kube-system/configmaps/kubeadm-config").unwrap();
    assert!(kc["data"]["ClusterConfiguration"].as_str().unwrap().contains(&format!("kubernetesVersion: {version}")));
    let proxy = api.object("/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy").unwrap();
    assert_eq!(
        proxy["spec"]["template"]["spec"]["containers"][0]["image"],
        format!("registry.k8s.io/kube-proxy:{version}")
    );
    assert!(etcdctl(cp, CP, &["get", "written-before-the-upgrade"]).contains("kept"), "etcd kept its keys");
    // the worker
    ok(w.kbinit(&["upgrade", "node"]), "upgrade node on the worker", w);
    assert_eq!(w.node.read("/var/lib/kubelet/config.yaml"), cp.node.read("/var/lib/kubelet/config.yaml"));
}

#[test]
fn a_cluster_goes_one_minor_at_a_time_from_1_28_to_1_30() {
    if !require_tool("etcd") || !require_tool("etcdctl") || !require_tool("ip") || !require_tool("openssl") {
        return;
    }
    let api = FakeApi::new();
    let lan = Lan::create("upch", "10.78.0.100");
    let cp = TestNode::start("upch1", "cp1", &[], &api, true);
    let w = TestNode::start("upch2", "w2", &[], &api, false);
    lan.attach(&cp.ns, CP);
    lan.attach(&w.ns, W);
    let cfg = cp.config(&config("v1.28.7"));
    let run = ok(cp.kbinit(&["init", "--config", &cfg]), "init", &cp);
    let token = run.stdout.lines().find_map(|l| l.strip_prefix("[bootstrap-token] Using token: ")).unwrap().to_string();
    let pin = run.stdout.split_whitespace().find(|x| x.starts_with("sha256:")).unwrap().to_string();
    ok(w.kbinit(&["join", "--config", &w.config(&join_config(&token, &pin))]), "worker join", &w);
    etcdctl(&cp, CP, &["put", "written-before-the-upgrade", "kept"]);
    let up = upgrade_config(&cp);
    // cp1's container runtime: the upgrade pre-pulls the target release's images through it
    let cri =
        crate::support::cri_stub::CriStub::start(&cp.node.path("/run/containerd/containerd.sock"), Default::default());

    // plan: the JSON parses, and its rows are the text's rows
    let text = ok(cp.kbinit(&["upgrade", "plan"]), "plan", &cp).stdout;
    let json = ok(cp.kbinit(&["upgrade", "plan", "-o", "json"]), "plan -o json", &cp).stdout;
    let plan: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        (plan["apiVersion"].as_str(), plan["kind"].as_str()),
        (Some("output.kubeadm.k8s.io/v1alpha3"), Some("UpgradePlan"))
    );
    let up0 = &plan["availableUpgrades"][0];
    assert!(text.contains(&format!("Upgrade to the latest {}:", up0["description"].as_str().unwrap())), "{text}");
    for c in up0["components"].as_array().unwrap().iter().filter(|c| c["name"] != "kubeadm") {
        let want: Vec<&str> = [&c["name"], &c["nodeName"], &c["currentVersion"], &c["newVersion"]]
            .iter()
            .filter_map(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .collect();
        assert!(text.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == want), "row {want:?} not in\n{text}");
    }
    assert!(text.contains("\tkbinit upgrade apply v1.29.0\n"), "{text}");
    assert!(text.contains("Cluster version: 1.28.7"), "{text}");

    // diff: exactly the three image tags change (etcd keeps 3.5.10-0 from 1.28 to 1.29), and the kubelet
    // configuration gains 1.29's imageMaximumGCAge
    let diff = ok(cp.kbinit(&["upgrade", "diff", "v1.29.0"]), "diff", &cp).stdout;
    let changed: Vec<&str> = diff
        .lines()
        .filter(|l| (l.starts_with('-') || l.starts_with('+')) && !l.starts_with("---") && !l.starts_with("+++"))
        .collect();
    let mut want = Vec::new();
    for c in ["kube-apiserver", "kube-controller-manager", "kube-scheduler"] {
        want.push(format!("-    image: registry.k8s.io/{c}:v1.28.7"));
        want.push(format!("+    image: registry.k8s.io/{c}:v1.29.0"));
    }
    want.push("+imageMaximumGCAge: 0s".into());
    assert_eq!(changed, want, "{diff}");
    assert!(diff.contains("--- /etc/kubernetes/manifests/kube-apiserver.yaml\n+++ new manifest\n"), "{diff}");

    // nothing changes: --dry-run, a skipped minor, bad input
    let bad = cp.node.root().join("bad-upgrade.yaml");
    std::fs::write(
        &bad,
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: UpgradeConfiguration\napply:\n  etcdUpgarde: false\n",
    )
    .unwrap();
    let bad = bad.display().to_string();
    let (files, objects) = (node_files(&cp), store(&api));
    let dry =
        ok(cp.kbinit(&["upgrade", "apply", "v1.29.0", "--dry-run", "--print-config", "--config", &up]), "dry-run", &cp);
    assert!(
        dry.stdout.contains("[upgrade/config] Configuration used:\n\tapiServer:\n")
            && dry.stdout.contains("\tapiVersion: kubeadm.k8s.io/v1beta3\n"),
        "{}",
        dry.stdout
    );
    assert!(dry.stdout.contains("\tkubernetesVersion: v1.29.0\n"), "{}", dry.stdout);
    for c in ["kube-apiserver", "kube-controller-manager", "kube-scheduler"] {
        assert!(
            dry.stdout
                .contains(&format!("[dryrun] Would write file \"/etc/kubernetes/manifests/{c}.yaml\" with content:")),
            "{}",
            dry.stdout
        );
    }
    assert!(dry.stdout.contains("\t    image: registry.k8s.io/kube-apiserver:v1.29.0"), "{}", dry.stdout);
    refused(
        cp.kbinit(&["upgrade", "apply", "v1.30.0", "--yes"]),
        "is too high; kubeadm can upgrade only 1 minor version at a time",
    );
    refused(cp.kbinit(&["upgrade", "apply", "v1.30.0", "--yes", "--force"]), "is too high");
    refused(cp.kbinit(&["upgrade", "apply", "v1.99.0", "--yes"]), "kbinit sets up Kubernetes v1.28 to");
    refused(cp.kbinit(&["upgrade", "apply", "1.29", "--yes"]), "kubernetesVersion");
    refused(cp.kbinit(&["upgrade", "apply", "v1.29.0", "--yes", "--config", &bad]), "etcdUpgarde");
    refused(w.kbinit(&["upgrade", "apply", "v1.29.0", "--yes"]), "runs on a control-plane node");
    let now = node_files(&cp);
    let differ: Vec<&String> = now.iter().filter(|f| !files.contains(f)).map(|(p, _)| p).collect();
    assert!(differ.is_empty() && now.len() == files.len(), "the node changed: {differ:?}");
    assert_eq!(store(&api), objects, "the store is unchanged");

    upgrade_to(&api, &cp, &w, "v1.29.0", &up, &[]);
    let pulled: Vec<String> =
        cri.calls().into_iter().filter(|(rpc, _)| rpc.ends_with("/PullImage")).map(|(_, image)| image).collect();
    for c in ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"] {
        assert!(pulled.contains(&format!("registry.k8s.io/{c}:v1.29.0")), "{c} was not pre-pulled: {pulled:?}");
    }
    refused(cp.kbinit(&["upgrade", "apply", "v1.28.7", "--yes"]), "is too low");
    // 1.29 → 1.30 changes etcd (3.5.10-0 → 3.5.12-0): its data is backed up first
    // killed in every phase on the way (preflight's health checks, etcd's swap in flight, after the control plane,
    // between the ConfigMaps, after the kubelet config, in bootstrap-token, between and after the addons): each
    // re-run carries on, the last one finishes
    let kills = [
        "[upgrade] Running cluster health checks",
        "manifests/etcd.yaml\" and backing up",
        "[upgrade/control-plane] The control plane instance for this node was successfully upgraded!",
        "[kubelet] Creating a ConfigMap \"kubelet-config\"",
        "[upgrade/kubelet-config] The kubelet configuration for this node was successfully upgraded!",
        "[upgrade/bootstrap-token] Configuring bootstrap token and cluster-info RBAC rules",
        "[addons] Applied essential addon: CoreDNS",
        "[addons] Applied essential addon: kube-proxy",
    ];
    upgrade_to(&api, &cp, &w, "v1.30.0", &up, &kills);
    let tmp = cp.node.path("/etc/kubernetes/tmp");
    let etcd_backup = std::fs::read_dir(&tmp)
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("kubeadm-backup-etcd-"));
    assert!(etcd_backup.unwrap().path().join("member").is_dir(), "etcd's data was backed up");
    let dns = api.object("/apis/apps/v1/namespaces/kube-system/deployments/coredns").unwrap();
    assert_eq!(dns["spec"]["template"]["spec"]["containers"][0]["image"], "registry.k8s.io/coredns/coredns:v1.11.1");
}
