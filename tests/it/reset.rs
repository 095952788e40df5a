//! `kbinit reset` after `kbinit init` on a netns test node (kubelet stand-in, real etcd, the fake API server):
//! `--dry-run` lists every action and changes nothing; without a terminal and without `--force` it refuses;
//! `--force` leaves exactly the paths kubeadm's reset leaves (the directories, emptied) and says what it leaves
//! alone; a fresh init on the reset node then works (with a new stand-in: reset removes the containers, which
//! the stand-in models by being dropped).
//!
//! fake-api: to move: tests/it/realnode/walk.rs now resets every node of a real cluster (real kubelet and
//! containerd); this file's `--dry-run`, its refusal without `--force` and init after reset could go there too,
//! at one more real-node start-up.

use crate::rerun::{config, kbinit_in};
use crate::support::fakeapi::FakeApi;
use crate::support::nodes::kubelet::{KubeletStandIn, StandInConfig};
use crate::support::nodes::netns::Netns;
use crate::support::{Node, files, require_tool, snapshot};

fn standin(ns: &Netns, node: &Node, api: &FakeApi) -> KubeletStandIn {
    KubeletStandIn::start(
        StandInConfig {
            netns: ns.name.clone(),
            root: node.root().to_path_buf(),
            node_name: "cp1".into(),
            run_controllers: true,
            refuse: vec![],
        },
        api.clone(),
    )
}

#[test]
fn reset_after_init_then_init_again() {
    if !require_tool("etcd") || !require_tool("ip") {
        return;
    }
    let node = Node::new();
    let cfg_path = node.root().join("kbinit.yaml");
    std::fs::write(&cfg_path, config()).unwrap();
    let cfg = cfg_path.to_str().unwrap();
    let ns = Netns::create(format!("kbinit-reset-{}", std::process::id()), &["192.0.2.20"]);
    let api = FakeApi::new();
    let first = standin(&ns, &node, &api);
    let init = ["init", "--config", cfg, "--ignore-preflight-errors=all"];
    let run = kbinit_in(&ns, &node, &init);
    assert_eq!(run.code, 0, "init failed\n{}\n{}", run.stdout, run.stderr);

    // --dry-run: every action listed, nothing changed
    let before = snapshot(&node.path("/etc"));
    let etcd_before = files(&node.path("/var/lib/etcd")).len();
    let dry = kbinit_in(&ns, &node, &["reset", "--dry-run"]);
    assert_eq!(dry.code, 0, "{}\n{}", dry.stdout, dry.stderr);
    for line in [
        "[reset] Would remove the etcd member on this node from the etcd cluster",
        "[reset] Would delete contents of the etcd data directory: /var/lib/etcd",
        "[reset] Would stop the kubelet service",
        "[reset] Would unmount mounted directories in \"/var/lib/kubelet\"",
        "[reset] Would remove Kubernetes-managed containers",
        "[reset] Would delete contents of directories: [/etc/kubernetes/manifests /var/lib/kubelet /etc/kubernetes/pki]",
        "[reset] Would delete files: [/etc/kubernetes/admin.conf /etc/kubernetes/super-admin.conf /etc/kubernetes/kubelet.conf /etc/kubernetes/bootstrap-kubelet.conf /etc/kubernetes/controller-manager.conf /etc/kubernetes/scheduler.conf]",
    ] {
        assert!(dry.stdout.contains(line), "missing {line:?} in\n{}", dry.stdout);
    }
    assert_eq!(snapshot(&node.path("/etc")), before, "reset --dry-run changed /etc");
    assert!(
        files(&node.path("/var/lib/etcd")).len() >= etcd_before.min(1),
        "reset --dry-run emptied the etcd data dir"
    );

    // no terminal, no --force: refused, nothing changed
    let asked = kbinit_in(&ns, &node, &["reset"]);
    assert_eq!(asked.code, 1, "{}\n{}", asked.stdout, asked.stderr);
    assert!(
        asked
            .stderr
            .contains("[reset] WARNING: Changes made to this host by 'kbinit init' or 'kbinit join' will be reverted.")
    );
    assert!(asked.stderr.contains("stdin is not a terminal") && asked.stderr.contains("--force"), "{}", asked.stderr);
    assert_eq!(snapshot(&node.path("/etc")), before);

    // --force
    let reset = kbinit_in(&ns, &node, &["reset", "--force"]);
    assert_eq!(reset.code, 0, "{}\n{}", reset.stdout, reset.stderr);
    for line in [
        "[preflight] Running pre-flight checks",
        "[reset] This is the only remaining etcd member in the etcd cluster, skip removing it",
        "[reset] Deleted contents of the etcd data directory: /var/lib/etcd",
        "[reset] Deleting contents of directories: [/etc/kubernetes/manifests /var/lib/kubelet /etc/kubernetes/pki]",
        "The reset process does not clean CNI configuration. To do so, you must remove /etc/cni/net.d",
        "If your cluster was setup to utilize IPVS, run ipvsadm --clear (or similar)",
        "Please, check the contents of the $HOME/.kube/config file.",
    ] {
        assert!(reset.stdout.contains(line), "missing {line:?} in\n{}", reset.stdout);
    }
    // what kubeadm's reset leaves: the directories, empty; no file of init's is left
    assert_eq!(files(&node.path("/etc/kubernetes")), Vec::<String>::new());
    assert_eq!(files(&node.path("/var/lib")), Vec::<String>::new());
    for d in ["/etc/kubernetes/manifests", "/etc/kubernetes/pki", "/var/lib/kubelet", "/var/lib/etcd"] {
        assert!(node.path(d).is_dir(), "{d} was removed; reset keeps directories");
    }
    // the CA directories init found are not reset's business
    assert!(node.path("/etc/ssl/certs").is_dir());

    // a fresh init on the reset node works (new containers: a new stand-in in a new namespace, as the old
    // stand-in's kubelet health endpoint outlives it; a new etcd: a new store)
    drop(first);
    drop(ns);
    let ns = Netns::create(format!("kbinit-reset2-{}", std::process::id()), &["192.0.2.20"]);
    let api2 = FakeApi::new();
    let _second = standin(&ns, &node, &api2);
    // the second cluster is of the newest supported version (v1beta4), so reset is exercised at both ends
    let newest = crate::support::nodes::testnode::newest_version();
    let cfg2_path = node.root().join("kbinit-newest.yaml");
    std::fs::write(
        &cfg2_path,
        config().replace("v1.28.7", &newest).replace("kubeadm.k8s.io/v1beta3", "kubeadm.k8s.io/v1beta4"),
    )
    .unwrap();
    let init2 = ["init", "--config", cfg2_path.to_str().unwrap(), "--ignore-preflight-errors=all"];
    let again = kbinit_in(&ns, &node, &init2);
    assert_eq!(again.code, 0, "init after reset failed\n{}\n{}", again.stdout, again.stderr);
    assert!(again.stdout.contains(&format!("[init] Using Kubernetes version: {newest}")), "{}", again.stdout);
    assert!(again.stdout.contains("[certs] Generating \"ca\" certificate and key"), "{}", again.stdout);
    assert!(!again.stdout.contains("nothing to do"));
    assert!(api2.object("/api/v1/namespaces/kube-system/configmaps/kubeadm-config").is_some());
    assert!(node.path("/var/lib/kubelet/instance-config.yaml").is_file());

    let reset2 = kbinit_in(&ns, &node, &["reset", "--force"]);
    assert_eq!(reset2.code, 0, "{}\n{}", reset2.stdout, reset2.stderr);
    assert!(reset2.stdout.contains("[reset] Deleted contents of the etcd data directory: /var/lib/etcd"));
    assert_eq!(files(&node.path("/etc/kubernetes")), Vec::<String>::new());
    assert_eq!(files(&node.path("/var/lib")), Vec::<String>::new(), "instance-config.yaml and the rest are gone");
}

/// init and reset decide "is there an init system" by one rule, kubeadm's (`systemctl` on PATH): a node where
/// `systemctl` is there but `/run/systemd/system` is not (systemd not PID 1, as in this sandbox) has its kubelet
/// started by init and stopped by reset through it. Runs on the real root (that is where kbinit drives services)
/// inside a private mount namespace whose /etc/kubernetes, /var/lib/kubelet, /etc/systemd/system and /run/systemd
/// are empty tmpfs mounts, with a stand-in `systemctl` that records its calls; the host is not touched.
#[test]
fn reset_stops_the_kubelet_that_init_started_by_kubeadms_init_system_rule() {
    require_tool("unshare");
    let work = tempfile::tempdir().unwrap();
    let bin = work.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = work.path().join("systemctl.log");
    let stub = bin.join("systemctl");
    std::fs::write(&stub, format!("#!/bin/sh\necho \"$*\" >> {}\nexit 0\n", log.display())).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cfg = work.path().join("kbinit.yaml");
    std::fs::write(&cfg, crate::support::nodes::testnode::init_config("v1.33.3", "192.0.2.21", "192.0.2.21")).unwrap();
    // the mount points must exist; ones this test makes on the host are removed again (empty, never mounted there)
    let made: Vec<&str> = ["/etc/kubernetes", "/var/lib/kubelet"]
        .into_iter()
        .filter(|d| !std::path::Path::new(d).exists())
        .inspect(|d| std::fs::create_dir_all(d).unwrap())
        .collect();
    let script = r#"set -e
for d in /etc/kubernetes /var/lib/kubelet /etc/systemd/system /run/systemd; do
  if [ -d "$d" ]; then mount -t tmpfs kbinit-test "$d"; fi
done
test ! -e /run/systemd/system
echo "== init"
"$KBINIT" init phase kubelet-start --config "$CFG"
echo "== reset"
"$KBINIT" reset --force --cri-socket "unix://$WORK/no-runtime.sock"
"#;
    let out = std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", script])
        .env("KBINIT", env!("CARGO_BIN_EXE_kbinit"))
        .env("CFG", &cfg)
        .env("WORK", work.path())
        .env("PATH", format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default()))
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    for d in made.iter().rev() {
        let _ = std::fs::remove_dir(d);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let calls = std::fs::read_to_string(&log).unwrap_or_default();
    let calls: Vec<&str> = calls.lines().collect();
    assert!(calls.contains(&"restart kubelet"), "init did not start the kubelet: {calls:?}\n{stdout}");
    assert_eq!(calls.last(), Some(&"stop kubelet"), "reset did not stop the kubelet: {calls:?}\n{stdout}\n{stderr}");
    assert!(stdout.contains("[reset] Stopping the kubelet service"), "{stdout}");
    assert!(!stdout.contains("no supported init system") && !stderr.contains("no supported init system"), "{stderr}");
}
