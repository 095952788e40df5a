//! A watcher over real kbinit runs: while the command runs, a thread walks the node root (and the dry-run
//! directory) over and over, stat-ing every entry, and records any private key or kubeconfig — temporary files
//! of an atomic write included — whose mode lets group or others read it. Checking modes only at the end would
//! miss a file created 0644 and narrowed afterwards; this sees the intermediate states a scan can catch.
//!
//! Runs: `init phase certs all` + `kubeconfig all`, a full `init --dry-run --upload-certs`, and a full
//! `init --upload-certs` on a netns node with the kubelet stand-in, real etcd and the fake API server.
//!
//! fake-api: to move: the modes are of files kbinit writes; any API server would do, the real node of `realk8s`
//! included.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use crate::support::config::init_yaml;
use crate::support::fakeapi::FakeApi;
use crate::support::nodes::testnode::TestNode;
use crate::support::{Node, require_tool};

/// Whether a file (by its path under the watched root) holds a private key or credentials. The temporary file of
/// an atomic write (`.ca.key.kbinit-<pid>-<n>.tmp`) counts as the file it becomes.
fn holds_secret(rel: &Path) -> bool {
    let name = rel.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let name = name.trim_start_matches('.');
    let name = name.split(".kbinit-").next().unwrap_or(name);
    let in_kubernetes = rel.components().any(|c| c.as_os_str() == "kubernetes");
    name.ends_with(".key") || (in_kubernetes && name.ends_with(".conf"))
}

/// What the watcher saw.
#[derive(Debug, Default)]
struct Seen {
    scans: u64,
    /// Distinct secret-holding paths seen at least once.
    secrets: std::collections::BTreeSet<PathBuf>,
    /// Temporary files of atomic writes caught mid-write.
    temps: std::collections::BTreeSet<PathBuf>,
    /// (path, mode) of every sighting wider than 0600.
    violations: Vec<(PathBuf, u32)>,
}

struct Watcher {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Seen>,
}

impl Watcher {
    fn start(dirs: Vec<PathBuf>) -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut seen = Seen::default();
            loop {
                // one last scan after the command ended
                let last = flag.load(Ordering::SeqCst);
                for d in &dirs {
                    scan(d, d, &mut seen);
                }
                seen.scans += 1;
                if last {
                    return seen;
                }
            }
        });
        Watcher { stop, handle }
    }

    fn finish(self) -> Seen {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.join().unwrap()
    }
}

fn scan(base: &Path, dir: &Path, seen: &mut Seen) {
    // entries come and go while kbinit runs: anything that vanished between readdir and stat is skipped
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        let Ok(m) = std::fs::symlink_metadata(&p) else { continue };
        if m.is_dir() {
            scan(base, &p, seen);
            continue;
        }
        let rel = p.strip_prefix(base).unwrap_or(&p).to_path_buf();
        if !m.is_file() || !holds_secret(&rel) {
            continue;
        }
        if rel.to_string_lossy().ends_with(".tmp") {
            seen.temps.insert(rel.clone());
        }
        let mode = m.mode() & 0o7777;
        if mode & 0o077 != 0 {
            seen.violations.push((rel.clone(), mode));
        }
        seen.secrets.insert(rel);
    }
}

fn assert_clean(what: &str, seen: &Seen, at_least: usize) {
    assert!(seen.violations.is_empty(), "{what}: readable by group/others at some point: {:?}", seen.violations);
    assert!(seen.scans >= 3, "{what}: the watcher scanned only {} times", seen.scans);
    assert!(
        seen.secrets.len() >= at_least,
        "{what}: the watcher saw only {} key/credential files: {:?}",
        seen.secrets.len(),
        seen.secrets
    );
    eprintln!(
        "{what}: {} scans, {} secret files, {} temporary files caught mid-write",
        seen.scans,
        seen.secrets.len(),
        seen.temps.len()
    );
}

#[test]
fn holds_secret_knows_keys_kubeconfigs_and_their_temporary_files() {
    assert!(holds_secret(Path::new("etc/kubernetes/pki/ca.key")));
    assert!(holds_secret(Path::new("etc/kubernetes/pki/.sa.key.kbinit-12-0.tmp")));
    assert!(holds_secret(Path::new("etc/kubernetes/admin.conf")));
    assert!(holds_secret(Path::new("etc/kubernetes/.kubelet.conf.kbinit-7-1.tmp")));
    assert!(!holds_secret(Path::new("etc/kubernetes/pki/ca.crt")));
    assert!(!holds_secret(Path::new("etc/kubernetes/manifests/etcd.yaml")));
}

#[test]
fn certs_and_kubeconfig_phases_never_expose_a_key() {
    let node = Node::new();
    let w = Watcher::start(vec![node.root().to_path_buf()]);
    node.kbinit(&["init", "phase", "certs", "all"]).ok();
    node.kbinit(&["init", "phase", "kubeconfig", "all"]).ok();
    let seen = w.finish();
    // 10 private keys + sa.key + 5 kubeconfigs (super-admin.conf from v1.29)
    assert_clean("certs + kubeconfig", &seen, 15);
}

#[test]
fn full_dry_run_never_exposes_a_key() {
    let node = Node::new();
    let dry = node.root().join("dry-run");
    let config = crate::support::repo().join("examples/init-config.yaml");
    let w = Watcher::start(vec![node.root().to_path_buf()]);
    node.kbinit(&[
        "init",
        "--dry-run",
        "--dry-run-dir",
        dry.to_str().unwrap(),
        "--upload-certs",
        "--ignore-preflight-errors=all",
        "--config",
        config.to_str().unwrap(),
    ])
    .ok();
    let seen = w.finish();
    assert!(seen.secrets.iter().any(|p| p.starts_with("dry-run/etc/kubernetes/pki")), "{:?}", seen.secrets);
    assert_clean("init --dry-run", &seen, 15);
}

#[test]
fn full_init_on_a_node_never_exposes_a_key() {
    if !require_tool("etcd") || !require_tool("ip") {
        return;
    }
    const ADDRESS: &str = "192.0.2.40";
    let api = FakeApi::new();
    let tn = TestNode::start("keymodes", "cp1", &[ADDRESS], &api, true);
    let cfg = tn.config(&init_yaml("v1.28.7", ADDRESS).endpoint(ADDRESS).build());
    let w = Watcher::start(vec![tn.node.root().to_path_buf()]);
    let run = tn.kbinit(&["init", "--config", &cfg, "--upload-certs", "--ignore-preflight-errors=all"]);
    let seen = w.finish();
    assert_eq!(run.code, 0, "init failed\nstdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    // v1.28: no super-admin.conf, so 10 keys + sa.key + 4 kubeconfigs
    assert_clean("init on a netns node", &seen, 15);
}
