//! `patches.directory` / `--patches` on init and join: kubeadm's `[patches]` lines, and a bad patches directory
//! (missing, a malformed file, an unknown patch type) refused with exit 3, the file named, before anything on the
//! node changes. What the patches do to every target is held to real kubeadm by tests/it/oracle.rs (case
//! `patches`).

use crate::support::{Node, snapshot};

fn config(dir: &str) -> String {
    format!(
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nlocalAPIEndpoint:\n  advertiseAddress: 10.0.0.10\n\
         nodeRegistration:\n  name: cp1\n  criSocket: unix:///run/containerd/containerd.sock\npatches:\n  directory: {dir}\n\
         ---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: v1.33.3\n"
    )
}

#[test]
fn init_prints_kubeadms_patch_lines_and_refuses_bad_patches_before_writing() {
    let patches = tempfile::tempdir().unwrap();
    std::fs::write(patches.path().join("kube-apiserver+merge.yaml"), "metadata:\n  labels:\n    patched: \"yes\"\n")
        .unwrap();
    std::fs::write(patches.path().join("kubeletconfiguration.yaml"), "maxPods: 99\n").unwrap();
    let node = Node::new();
    let cfg = node.root().join("kbinit.yaml");
    std::fs::write(&cfg, config(patches.path().to_str().unwrap())).unwrap();
    let cfg = cfg.to_str().unwrap();
    let run = node.kbinit(&["init", "phase", "control-plane", "apiserver", "--config", cfg]).ok();
    assert!(
        run.stdout
            .contains("[patches] Applied patch of type \"application/merge-patch+json\" to target \"kube-apiserver\""),
        "{}",
        run.stdout
    );
    assert!(node.read_str("/etc/kubernetes/manifests/kube-apiserver.yaml").contains("patched: \"yes\""));
    let run = node.kbinit(&["init", "phase", "kubelet-start", "--config", cfg]).ok();
    assert!(run.stdout.contains("to target \"kubeletconfiguration\""), "{}", run.stdout);
    assert!(node.read_str("/var/lib/kubelet/config.yaml").contains("maxPods: 99\n"));

    // bad directories: nothing written, the file or directory named, exit 3
    let bad = tempfile::tempdir().unwrap();
    std::fs::write(bad.path().join("etcd.yaml"), "metadata: [unclosed\n").unwrap();
    let missing = bad.path().join("nowhere");
    let wrong_type = tempfile::tempdir().unwrap();
    std::fs::write(wrong_type.path().join("etcd+yolo.yaml"), "a: b\n").unwrap();
    for (dir, named) in [
        (bad.path().to_path_buf(), "etcd.yaml"),
        (missing.clone(), "nowhere"),
        (wrong_type.path().to_path_buf(), "etcd+yolo.yaml"),
    ] {
        let fresh = Node::new();
        let cfg = fresh.root().join("kbinit.yaml");
        std::fs::write(&cfg, config(dir.to_str().unwrap())).unwrap();
        let before = snapshot(fresh.root());
        let run = fresh.kbinit(&["init", "--config", cfg.to_str().unwrap(), "--ignore-preflight-errors=all"]);
        assert_eq!(run.code, 3, "{named}: {}\n{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(named), "{named} not named: {}", run.stderr);
        assert_eq!(snapshot(fresh.root()), before, "{named}: the node changed");
    }
}
