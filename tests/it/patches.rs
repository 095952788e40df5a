//! `patches.directory` / `--patches` on init and join: kubeadm's `[patches]` lines, and a bad patches directory
//! (missing, a malformed file, an unknown patch type) refused with exit 3, the file named, before anything on the
//! node changes. What the patches do to every target is held to real kubeadm by tests/it/oracle.rs (case
//! `patches`).
//! fake-api: to move: the control-plane join case only needs discovery and kubeadm-config answered for a
//! join --dry-run (join_discovery's seeded fixture); a real control plane could serve it, at one more start-up.

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
        // join reads the directory before discovery: the same refusal, nothing written, no server asked
        let join = fresh.root().join("join.yaml");
        std::fs::write(
            &join,
            format!(
                "apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    \
                 apiServerEndpoint: 127.0.0.1:1\n    token: abcdef.0123456789abcdef\n    unsafeSkipCAVerification: true\n\
                 patches:\n  directory: {}\n",
                dir.display()
            ),
        )
        .unwrap();
        let before = snapshot(fresh.root());
        let run = fresh.kbinit(&["join", "--config", join.to_str().unwrap()]);
        assert_eq!(run.code, 3, "join {named}: {}\n{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(named), "join: {named} not named: {}", run.stderr);
        assert!(!run.stdout.contains("[discovery]"), "join asked the server: {}", run.stdout);
        assert_eq!(snapshot(fresh.root()), before, "join {named}: the node changed");
    }
}

/// `corednsdeployment` (kubeadm 1.31+) and `kubeproxydaemonset` (1.37+): the addon objects `init --dry-run` would
/// create carry the patch, after kubeadm's `[patches]` line; a release that does not know the target skips the
/// file with kubeadm's line and creates the objects unpatched.
#[test]
fn addon_targets_patch_the_coredns_deployment_and_kube_proxy_daemonset_from_their_releases() {
    let patches = tempfile::tempdir().unwrap();
    std::fs::write(patches.path().join("corednsdeployment+merge.yaml"), "metadata:\n  labels:\n    patched: dns\n")
        .unwrap();
    std::fs::write(
        patches.path().join("kubeproxydaemonset.yaml"),
        "spec:\n  template:\n    spec:\n      containers:\n      - name: kube-proxy\n        args: [--v=4]\n",
    )
    .unwrap();
    let dir = patches.path().to_str().unwrap();
    for (version, dns, proxy) in [("v1.30.0", false, false), ("v1.33.3", true, false), ("v1.37.0", true, true)] {
        let node = Node::new();
        let cfg = node.root().join("kbinit.yaml");
        let text = config(dir)
            .replace("v1.33.3", version)
            .replace("kind: ClusterConfiguration\n", "kind: ClusterConfiguration\nencryptionAlgorithm: ECDSA-P256\n");
        let text = if version == "v1.30.0" {
            text.replace("v1beta4", "v1beta3").replace("encryptionAlgorithm: ECDSA-P256\n", "")
        } else {
            text
        };
        std::fs::write(&cfg, text).unwrap();
        let out = tempfile::tempdir().unwrap();
        let run = node
            .kbinit(&[
                "init",
                "--dry-run",
                "--dry-run-dir",
                out.path().to_str().unwrap(),
                "--skip-phases",
                "preflight",
                "--config",
                cfg.to_str().unwrap(),
            ])
            .ok();
        let calls = crate::init_dryrun::calls(&run.stdout);
        let body = |kind: &str| {
            calls.iter().find(|c| c.kind == kind && c.verb == "CREATE").and_then(|c| c.body.clone()).unwrap()
        };
        let deployment = body("Deployment");
        let daemonset = body("DaemonSet");
        assert_eq!(deployment.pointer("/metadata/labels/patched").is_some(), dns, "{version}: {deployment}");
        let args = daemonset.pointer("/spec/template/spec/containers/0/args");
        assert_eq!(args.is_some(), proxy, "{version}: {daemonset}");
        if proxy {
            // a strategic merge on the container named kube-proxy: its command and image stay
            assert!(daemonset.pointer("/spec/template/spec/containers/0/command").is_some(), "{daemonset}");
        }
        let all = format!("{}{}", run.stdout, run.stderr);
        for (target, file, on) in [
            ("corednsdeployment", "corednsdeployment+merge.yaml", dns),
            ("kubeproxydaemonset", "kubeproxydaemonset.yaml", proxy),
        ] {
            let applied = format!("to target \"{target}\"");
            let ignored = format!("Ignoring file \"{file}\": unknown target");
            assert_eq!(all.contains(&applied), on, "{version} {target}:\n{all}");
            assert_eq!(all.contains(&ignored), !on, "{version} {target}:\n{all}");
        }
    }
}

/// A control-plane `join --dry-run` against the seeded fake API server with a patch for every target a join
/// writes: the control-plane manifests (strategic, merge and JSON patches) and the kubelet configuration, each
/// patched in what the join renders, with kubeadm's `[patches]` line for each. (etcd's manifest needs the member
/// list etcd answers after the member is added, so a dry run does not render it; the real join patches it through
/// the same `patch_steps`, src/flows/join/node.rs.)
#[test]
fn control_plane_join_patches_every_target_it_writes() {
    use crate::join_discovery::{TOKEN, fixture};
    let f = fixture(None);
    // ECDSA leaf keys through the cluster's PublicKeysECDSA gate: the join renders in milliseconds
    let cluster = format!(
        "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: v1.28.7\n\
         controlPlaneEndpoint: {}\nfeatureGates:\n  PublicKeysECDSA: true\n",
        f.endpoint
    );
    f.c.api.upsert(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "kubeadm-config", "namespace": "kube-system"}, "data": {"ClusterConfiguration": cluster}}));
    let patches = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("etcd.yaml", "metadata:\n  labels:\n    patched: etcd\n"),
        ("kube-apiserver+merge.yaml", "metadata:\n  labels:\n    patched: apiserver\n"),
        ("kube-controller-manager+json.yaml", "- op: add\n  path: /metadata/labels/patched\n  value: kcm\n"),
        ("kube-scheduler+strategic.json", "{\"metadata\": {\"labels\": {\"patched\": \"scheduler\"}}}"),
        ("kubeletconfiguration+merge.yaml", "maxPods: 77\n"),
    ] {
        std::fs::write(patches.path().join(name), text).unwrap();
    }
    let config = serde_json::json!({
        "apiVersion": "kubeadm.k8s.io/v1beta4", "kind": "JoinConfiguration",
        "discovery": {"bootstrapToken": {"apiServerEndpoint": f.endpoint, "token": TOKEN, "caCertHashes": [f.pin]}},
        "nodeRegistration": {"name": "cp2", "criSocket": "unix:///run/containerd/containerd.sock"},
        "controlPlane": {"localAPIEndpoint": {"advertiseAddress": "10.0.0.11"},
            "certificateKey": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
        "skipPhases": ["preflight"],
        "patches": {"directory": patches.path()},
        "timeouts": {"discovery": "2s", "tlsBootstrap": "20s"},
    });
    let node = Node::new();
    let cfg = node.root().join("join.yaml");
    std::fs::write(&cfg, config.to_string()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("dry");
    let run = node
        .kbinit(&["join", "--dry-run", "--dry-run-dir", out.to_str().unwrap(), "--config", cfg.to_str().unwrap()])
        .ok();
    for (target, label) in
        [("kube-apiserver", "apiserver"), ("kube-controller-manager", "kcm"), ("kube-scheduler", "scheduler")]
    {
        let manifest = std::fs::read_to_string(out.join(format!("etc/kubernetes/manifests/{target}.yaml")))
            .unwrap_or_else(|e| panic!("{target}: {e}: {:?}\n{}", crate::support::files(&out), run.stdout));
        assert!(manifest.contains(&format!("patched: {label}")), "{target} not patched:\n{manifest}");
        assert!(run.stdout.contains(&format!("to target \"{target}\"")), "{target}: no [patches] line\n{}", run.stdout);
    }
    let kubelet = std::fs::read_to_string(out.join("var/lib/kubelet/config.yaml")).unwrap();
    assert!(kubelet.contains("maxPods: 77"), "{kubelet}");
    assert!(run.stdout.contains("to target \"kubeletconfiguration\""), "{}", run.stdout);
}
