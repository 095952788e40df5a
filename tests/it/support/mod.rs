//! Test support: a throw-away node root per test, running the kbinit binary, reading ../shared, and
//! snapshots of a tree (to prove a failed command left it untouched); and the fixtures the cases share:
//!
//! | module | holds |
//! |---|---|
//! | [`fakeapi`] | the fake kube-apiserver, a fault injector: only for what a real server cannot be made to show on demand (each test using it says why in a `fake-api:` line, checked by .ci/run) |
//! | [`cri_stub`] | the CRI server stand-in on a unix socket, answering as containerd does |
//! | [`nodes`] | the multi-node harness: netns nodes, static Pods, a kubelet stand-in |
//! | [`realk8s`] | the real binaries of ../shared/k8s (unpacked by checksum) and a node whose supervisor runs kbinit's static Pods with them |
//! | [`config`] | the InitConfiguration documents the cases start from, built in one place |

#![allow(dead_code)]

pub mod config;
pub mod cri_stub;
pub mod fakeapi;
pub mod nodes;
pub mod realk8s;
pub mod realnode;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The directory with the reference material (`../shared` beside the repo, or `$KBINIT_SHARED`).
pub fn shared() -> PathBuf {
    std::env::var_os("KBINIT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

/// kubeadm v1.28.7's render of the sample input.
pub fn reference(name: &str) -> PathBuf {
    shared().join("reference/kubeadm-1.28.7").join(name)
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A node root in a temporary directory, with the CA directories a Debian host has (so the API server's
/// conditional volumes come out as on kubeadm's reference host).
pub struct Node {
    pub dir: tempfile::TempDir,
}

impl Node {
    pub fn new() -> Node {
        let dir = tempfile::tempdir().unwrap();
        for d in
            ["etc/ca-certificates", "usr/local/share/ca-certificates", "usr/share/ca-certificates", "etc/ssl/certs"]
        {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        Node { dir }
    }
    pub fn root(&self) -> &Path {
        self.dir.path()
    }
    /// A node path under the root.
    pub fn path(&self, node_path: &str) -> PathBuf {
        self.dir.path().join(node_path.trim_start_matches('/'))
    }
    pub fn read(&self, node_path: &str) -> Vec<u8> {
        std::fs::read(self.path(node_path)).unwrap_or_else(|e| panic!("reading {node_path}: {e}"))
    }
    pub fn read_str(&self, node_path: &str) -> String {
        String::from_utf8(self.read(node_path)).unwrap()
    }
    /// Runs `kbinit <args> --root <root>`.
    pub fn kbinit(&self, args: &[&str]) -> Run {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.push("--root".into());
        all.push(self.root().display().to_string());
        kbinit(&all.iter().map(String::as_str).collect::<Vec<_>>())
    }
    /// Writes a file (test input) under the root.
    pub fn put(&self, node_path: &str, bytes: &[u8]) {
        let p = self.path(node_path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
}

/// The outcome of one kbinit run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panics with the whole output unless the run exited 0.
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "kbinit failed\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// Runs the kbinit binary with these arguments.
pub fn kbinit(args: &[&str]) -> Run {
    Command::new(env!("CARGO_BIN_EXE_kbinit")).args(args).env_remove("KUBECONFIG").output().unwrap().into()
}

/// Every path under `dir` with its mode and content hash (directories too), for before/after comparisons.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u32, Vec<u8>)> {
    let mut out = BTreeMap::new();
    fn walk(base: &Path, d: &Path, out: &mut BTreeMap<PathBuf, (u32, Vec<u8>)>) {
        for e in std::fs::read_dir(d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(base).unwrap().to_path_buf();
            if m.is_dir() {
                out.insert(rel, (m.mode(), Vec::new()));
                walk(base, &p, out);
            } else {
                out.insert(rel, (m.mode(), std::fs::read(&p).unwrap_or_default()));
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

/// Every file under `dir`, as node paths (`/etc/kubernetes/pki/ca.crt`), sorted.
pub fn files(dir: &Path) -> Vec<String> {
    snapshot(dir).into_iter().filter(|(p, _)| dir.join(p).is_file()).map(|(p, _)| format!("/{}", p.display())).collect()
}

/// The file mode (permission bits) of a node path.
pub fn mode(node: &Node, node_path: &str) -> u32 {
    std::fs::metadata(node.path(node_path)).unwrap().mode() & 0o777
}

/// Runs a program and returns its output; panics with stderr if it fails.
pub fn run_ok(program: &str, args: &[&str]) -> String {
    let o = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("running {program}: {e}"));
    assert!(o.status.success(), "{program} {args:?} failed: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Asserts that a host tool the test needs is installed, failing the test with what to install otherwise (no
/// silent skip, in CI or outside it: .ci/run installs every one of them on a fresh machine). Returns `true`, so
/// callers read `if !require_tool(..) { return; }` as before.
pub fn require_tool(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(found, "{tool} is not installed: this test needs it (.ci/run installs every tool the tests use)");
    found
}
