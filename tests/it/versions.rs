//! Kubernetes v1.35–v1.37 as an operator meets them (issue 9): `kbinit version` states the range, the default
//! and the per-release image list, `config print` in each release's default API, and the kubelet version skew
//! kubeadm enforces in preflight (exit 2, nothing written), judged with a stand-in `kubelet` on PATH.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use crate::support::{Node, Run, kbinit, snapshot};

#[test]
fn version_states_the_range() {
    let r = kbinit(&["version"]).ok();
    assert!(r.stdout.contains("(sets up Kubernetes v1.28 to v1.37)"), "{}", r.stdout);
    let r = kbinit(&["version", "-o", "json"]).ok();
    assert!(r.stdout.contains("\"kubernetesVersions\": \"v1.28-v1.37\""), "{}", r.stdout);
}

#[test]
fn images_list_per_release_and_default() {
    for (version, etcd, coredns, pause) in [
        ("v1.35.8", "3.6.6-0", "v1.13.1", "3.10.1"),
        ("v1.36.2", "3.6.8-0", "v1.14.2", "3.10.2"),
        ("v1.37.0", "3.7.0-0", "v1.14.3", "3.10.2"),
    ] {
        let r = kbinit(&["config", "images", "list", "--kubernetes-version", version]).ok();
        let want = format!(
            "registry.k8s.io/kube-apiserver:{version}\nregistry.k8s.io/kube-controller-manager:{version}\n\
             registry.k8s.io/kube-scheduler:{version}\nregistry.k8s.io/kube-proxy:{version}\n\
             registry.k8s.io/coredns/coredns:{coredns}\nregistry.k8s.io/pause:{pause}\nregistry.k8s.io/etcd:{etcd}\n"
        );
        assert_eq!(r.stdout, want, "{version}");
    }
    let r = kbinit(&["config", "images", "list"]).ok();
    assert!(
        r.stdout.starts_with("registry.k8s.io/kube-apiserver:v1.37.0\n"),
        "the newest is the default: {}",
        r.stdout
    );
    let r = kbinit(&["config", "images", "list", "--kubernetes-version", "v1.38.0"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("kbinit sets up Kubernetes v1.28 to v1.37"), "{}", r.stderr);
}

#[test]
fn print_defaults_in_each_releases_api() {
    for (version, api, text) in [
        ("v1.30.2", "kubeadm.k8s.io/v1beta3", "kubernetesVersion: 1.30.0"),
        ("v1.36.1", "kubeadm.k8s.io/v1beta4", "kubernetesVersion: 1.36.0"),
        ("v1.37.0", "kubeadm.k8s.io/v1beta4", "kubernetesVersion: 1.37.0"),
    ] {
        let r = kbinit(&["config", "print", "init-defaults", "--kubernetes-version", version]).ok();
        assert!(r.stdout.starts_with(&format!("apiVersion: {api}\n")), "{version}: {}", r.stdout);
        assert!(r.stdout.contains("kind: InitConfiguration\n"), "{version}: {}", r.stdout);
        assert!(r.stdout.contains(text), "{version}: {}", r.stdout);
        let r = kbinit(&["config", "print", "join-defaults", "--kubernetes-version", version]).ok();
        assert!(r.stdout.contains(&format!("apiVersion: {api}\n")), "{version}: {}", r.stdout);
    }
    // kube-proxy's mode: empty before 1.37, iptables from 1.37 (PR 139777)
    for (version, mode) in [("v1.36.1", "mode: \"\""), ("v1.37.0", "mode: iptables")] {
        let r = kbinit(&[
            "config",
            "print",
            "init-defaults",
            "--kubernetes-version",
            version,
            "--component-configs",
            "KubeProxyConfiguration",
        ])
        .ok();
        assert!(r.stdout.lines().any(|l| l == mode), "{version}: {}", r.stdout);
    }
    // without a version: the newest release, v1beta4
    let r = kbinit(&["config", "print", "init-defaults"]).ok();
    assert!(r.stdout.contains("kubernetesVersion: 1.37.0") && r.stdout.contains("kubeadm.k8s.io/v1beta4"));
}

/// A directory holding a `kubelet` that answers `--version` with `version`.
fn fake_kubelet(version: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("kubelet");
    std::fs::write(&p, format!("#!/bin/sh\necho 'Kubernetes {version}'\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn preflight_with_kubelet(node: &Node, kubelet: &str, cp: &str) -> Run {
    let cfg = format!(
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nnodeRegistration:\n  name: cp1\n---\n\
         apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: {cp}\n"
    );
    node.put("/kbinit.yaml", cfg.as_bytes());
    let bin = fake_kubelet(kubelet);
    let path = format!("{}:{}", bin.path().display(), std::env::var("PATH").unwrap_or_default());
    let cfg_path = node.path("/kbinit.yaml");
    Command::new(env!("CARGO_BIN_EXE_kbinit"))
        .args(["init", "phase", "preflight", "--config", cfg_path.to_str().unwrap(), "--root"])
        .arg(node.root())
        .env("PATH", path)
        .env_remove("KUBECONFIG")
        .output()
        .unwrap()
        .into()
}

#[test]
fn kubelet_far_outside_the_skew_is_a_preflight_error() {
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("note: preflight needs root; skipped");
        return;
    }
    // kubeadm 1.37's MinimumKubeletVersion is v1.34.0 (minor − 3)
    let node = Node::new();
    let before = snapshot(node.root());
    let r = preflight_with_kubelet(&node, "v1.30.4", "v1.37.0");
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(
            "[ERROR KubeletVersion]: Kubelet version \"v1.30.4\" is lower than kubeadm can support. Please upgrade kubelet"
        ),
        "{}",
        r.stderr
    );
    let r = preflight_with_kubelet(&node, "v1.37.1", "v1.36.2");
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(
            "the kubelet version is higher than the control plane version. This is not a supported version skew and \
             may lead to a malfunctional cluster. Kubelet version: \"v1.37.1\" Control plane version: \"v1.36.2\""
        ),
        "{}",
        r.stderr
    );
    // three minors back is still supported
    let r = preflight_with_kubelet(&node, "v1.34.3", "v1.37.0");
    assert!(!r.stderr.contains("KubeletVersion"), "{}", r.stderr);
    // nothing but the test's own config file was added
    let mut after = snapshot(node.root());
    after.retain(|p, _| !p.ends_with("kbinit.yaml"));
    assert_eq!(after, before, "preflight changed the node");
}
