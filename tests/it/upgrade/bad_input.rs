//! `kbinit upgrade` refusing bad input before it reads the cluster or touches the node: exit 3, the cause named,
//! the root unchanged (no netns needed: nothing gets as far as the network).

use crate::support::{Node, snapshot};

#[test]
fn bad_upgrade_input_is_refused_before_anything_changes() {
    let node = Node::new();
    node.put("/etc/kubernetes/manifests/kube-apiserver.yaml", b"apiVersion: v1\nkind: Pod\n");
    let bad_field = node.path("/bad.yaml");
    std::fs::write(
        &bad_field,
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: UpgradeConfiguration\nnode:\n  etcdUpgrade: sometimes\n",
    )
    .unwrap();
    let wrong_kind = node.path("/kind.yaml");
    std::fs::write(&wrong_kind, "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n").unwrap();
    let (bad_field, wrong_kind) = (bad_field.display().to_string(), wrong_kind.display().to_string());
    // a malformed patch and a patches directory that is not there: refused naming them (--patches and apply.patches)
    let patches = tempfile::tempdir().unwrap();
    std::fs::write(patches.path().join("kube-scheduler+merge.yaml"), "spec: [unclosed\n").unwrap();
    let bad_patches = patches.path().display().to_string();
    let missing = patches.path().join("nowhere").display().to_string();
    let patches_cfg = node.path("/patches.yaml");
    std::fs::write(
        &patches_cfg,
        format!("apiVersion: kubeadm.k8s.io/v1beta4\nkind: UpgradeConfiguration\napply:\n  patches:\n    directory: {missing}\n"),
    )
    .unwrap();
    let patches_cfg = patches_cfg.display().to_string();
    let before = snapshot(node.root());
    let worker = Node::new();
    let cases: Vec<(&Node, Vec<&str>, &str)> = vec![
        (&node, vec!["upgrade", "apply", "--yes"], "missing the version to upgrade to"),
        (&node, vec!["upgrade", "apply", "v1.27.9", "--yes"], "kbinit sets up Kubernetes v1.28 to"),
        (&node, vec!["upgrade", "apply", "latest-1.x", "--yes"], "kubernetesVersion"),
        (&node, vec!["upgrade", "apply", "v1.30.0", "--yes", "--config", &bad_field], "node.etcdUpgrade"),
        (&node, vec!["upgrade", "node", "--config", &bad_field], "node.etcdUpgrade"),
        (&node, vec!["upgrade", "plan", "--config", &wrong_kind], "takes an UpgradeConfiguration"),
        (&node, vec!["upgrade", "apply", "v1.30.0", "--yes", "--patches", &bad_patches], "kube-scheduler+merge.yaml"),
        (&node, vec!["upgrade", "apply", "v1.30.0", "--yes", "--config", &patches_cfg], "nowhere"),
        (&node, vec!["upgrade", "node", "--patches", &bad_patches], "kube-scheduler+merge.yaml"),
        (&node, vec!["upgrade", "plan", "-o", "xml"], "expected text, json or yaml"),
        (&node, vec!["upgrade", "diff"], "kube-controller-manager.yaml\" does not exist"),
        (&worker, vec!["upgrade", "apply", "v1.30.0", "--yes"], "runs on a control-plane node"),
        (&worker, vec!["upgrade", "node"], "kubelet.conf does not exist on this node"),
    ];
    for (n, args, want) in cases {
        let run = n.kbinit(&args);
        assert_eq!(run.code, 3, "{args:?}\nstdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(want), "{args:?}: {want:?} not in\n{}", run.stderr);
    }
    assert_eq!(snapshot(node.root()), before, "the node is unchanged");
}
