//! `kbinit upgrade` on netns test nodes (kubelet stand-ins that restart a static Pod when its manifest changes
//! and publish the new mirror-Pod hash; real etcd; the fake API server):
//! - `chain`: a v1.28.7 control plane and a worker go v1.28 → v1.29 → v1.30 with `upgrade apply` / `upgrade
//!   node`; plan (text and JSON), diff, --dry-run, a skipped minor and bad input are checked on the way; the
//!   upgraded files equal a fresh init at the new version;
//! - `rollback`: the second-newest → newest minor of kbinit's table with a new kube-apiserver (then a new etcd)
//!   that never becomes healthy (old manifest back byte for byte, etcd data restored, exit non-zero naming it),
//!   and `kill -9` during the control-plane phase followed by a re-run that converges; the snapshot apply takes
//!   first is named in the rollback message and restores;
//! - `ha`: three control planes and a worker, apply on cp1 and node on the others, addons by the last one;
//! - `health`: apply's cluster health checks: a NotReady control plane, the health-check Job, `--dry-run`;
//! - `local_mode`: kubelet.conf moved to the local API server with the minor that wants it;
//! - `proxy`: a cluster on kbinit's node-local API server proxy stays on it;
//! - `etcd_trap`: etcd 3.5 below 3.5.26 → 3.6 warned in plan, refused in apply; the pre-upgrade snapshot in a dry run.
//!
//! fake-api: the upgrade cases' shared helpers; each case says why below.

mod bad_input;
mod chain;
mod etcd_trap;
mod ha;
mod health;
mod local_mode;
mod proxy;
mod rollback;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::Stdio;

use crate::support::Run;
use crate::support::nodes::testnode::TestNode;

/// An UpgradeConfiguration with a short per-component timeout (the stand-ins restart in well under a second);
/// the image pre-pull only warns where a test node has no container runtime (the chain test gives cp1 one).
pub const UPGRADE_CONFIG: &str = "apiVersion: kubeadm.k8s.io/v1beta4
kind: UpgradeConfiguration
apply:
  ignorePreflightErrors: [ImagePull]
node:
  ignorePreflightErrors: [ImagePull]
timeouts:
  upgradeManifests: 25s
";

/// Runs `upgrade apply` and kills it (SIGKILL to its process group) once it printed a line containing `at`.
pub fn apply_killed_at(node: &TestNode, args: &[&str], at: &str) -> String {
    let mut c = node.ns.command(env!("CARGO_BIN_EXE_kbinit"));
    c.arg("--root").arg(node.node.root()).args(args).env_remove("KUBECONFIG");
    let mut child = c.stdout(Stdio::piped()).stderr(Stdio::null()).process_group(0).spawn().unwrap();
    let pid = child.id() as i32;
    let mut seen = String::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains(at) {
            // SAFETY: kill(2) on the process group this test spawned
            unsafe { nix::libc::kill(-pid, nix::libc::SIGKILL) };
            break;
        }
    }
    let _ = child.wait();
    assert!(seen.contains(at), "the run never reached {at:?}:\n{seen}");
    seen
}

/// Asserts success, showing what the node and the stand-in said otherwise.
pub fn ok(run: Run, what: &str, node: &TestNode) -> Run {
    assert_eq!(
        run.code,
        0,
        "{what} failed\nstdout:\n{}\nstderr:\n{}\nstand-in: {:?}\netcd log tail:\n{}",
        run.stdout,
        run.stderr,
        node.standin.events(),
        node.standin.etcd_log().lines().rev().take(10).collect::<Vec<_>>().join("\n")
    );
    run
}

/// Writes the UpgradeConfiguration into the node root and returns its host path.
pub fn upgrade_config(node: &TestNode) -> String {
    let p = node.node.root().join("upgrade.yaml");
    std::fs::write(&p, UPGRADE_CONFIG).unwrap();
    p.display().to_string()
}

/// The four manifests' bytes.
pub fn manifests(node: &TestNode) -> BTreeMap<String, Vec<u8>> {
    ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"]
        .iter()
        .map(|c| (c.to_string(), node.node.read(&format!("/etc/kubernetes/manifests/{c}.yaml"))))
        .collect()
}

/// `etcdctl put|get` against this node's etcd with its healthcheck-client identity.
pub fn etcdctl(node: &TestNode, address: &str, args: &[&str]) -> String {
    let pki = node.node.path("/etc/kubernetes/pki");
    let o = node
        .ns
        .command("etcdctl")
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints=https://{address}:2379"))
        .arg(format!("--cacert={}", pki.join("etcd/ca.crt").display()))
        .arg(format!("--cert={}", pki.join("etcd/healthcheck-client.crt").display()))
        .arg(format!("--key={}", pki.join("etcd/healthcheck-client.key").display()))
        .args(["--command-timeout=10s"])
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "etcdctl {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The manifests and kubelet files (config.yaml, kubeadm-flags.env, instance-config.yaml when the version has it) a fresh `kbinit init` at `version` writes for this node's
/// configuration, rendered with the init phases into an empty root.
pub fn fresh_init_files(config: &str) -> BTreeMap<String, Vec<u8>> {
    let node = crate::support::Node::new();
    let cfg = node.root().join("kbinit.yaml");
    std::fs::write(&cfg, config).unwrap();
    let cfg = cfg.display().to_string();
    for phase in [&["etcd", "local"][..], &["control-plane", "all"], &["kubelet-start"]] {
        let mut args = vec!["init", "phase"];
        args.extend_from_slice(phase);
        args.extend(["--config", &cfg]);
        node.kbinit(&args).ok();
    }
    let mut out = BTreeMap::new();
    for f in ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"] {
        let p = format!("/etc/kubernetes/manifests/{f}.yaml");
        out.insert(p.clone(), node.read(&p));
    }
    for f in
        ["/var/lib/kubelet/config.yaml", "/var/lib/kubelet/kubeadm-flags.env", "/var/lib/kubelet/instance-config.yaml"]
    {
        if node.path(f).exists() {
            out.insert(f.into(), node.read(f));
        }
    }
    out
}
