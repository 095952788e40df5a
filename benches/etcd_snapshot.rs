//! Benchmark of etcd snapshots against real etcd (Debian's, started from the manifest kbinit renders, in a
//! network namespace), side by side with etcd's own client in one run on the same data: `kbinit etcd snapshot
//! save` next to `etcdctl snapshot save`, and `kbinit etcd restore` (the whole command: etcd stopped, data dir
//! rebuilt, etcd started and healthy) next to `etcdctl snapshot restore` (the rebuild step alone, which kbinit
//! runs inside its restore). A small loop plays the kubelet: it stops etcd when its manifest leaves and starts
//! it when it comes back. Each figure is MB/s of the snapshot's size over the command's wall time, best of
//! three. It prints figures and asserts only that every command succeeded: `cargo bench --bench etcd_snapshot`
//! (needs root, `ip`, `etcd` and `etcdctl`, as the integration tests do).

// A bench is a report for a human: printing is its output.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used, clippy::disallowed_methods)]

#[path = "../tests/it/support/nodes/netns.rs"]
mod netns;
#[path = "../tests/it/support/nodes/staticpod.rs"]
mod staticpod;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use netns::Netns;

const ADDRESS: &str = "192.0.2.90";
const VALUES: usize = 48;
const ROUNDS: usize = 3;

fn config() -> String {
    format!(
        "apiVersion: kubeadm.k8s.io/v1beta3
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: {ADDRESS}
  bindPort: 6443
nodeRegistration:
  name: cp1
  criSocket: unix:///run/containerd/containerd.sock
---
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
kubernetesVersion: v1.28.7
"
    )
}

fn kbinit(ns: &Netns, root: &Path, args: &[&str]) -> Duration {
    let start = Instant::now();
    let o = ns.command(env!("CARGO_BIN_EXE_kbinit")).arg("--root").arg(root).args(args).output().unwrap();
    let took = start.elapsed();
    assert!(
        o.status.success(),
        "kbinit {args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    took
}

fn etcdctl(ns: &Netns, root: &Path, args: &[&str]) -> Duration {
    let pki = root.join("etc/kubernetes/pki");
    let start = Instant::now();
    let o = ns
        .command("etcdctl")
        .env("ETCDCTL_API", "3")
        .arg("--endpoints=https://127.0.0.1:2379")
        .arg(format!("--cacert={}", pki.join("etcd/ca.crt").display()))
        .arg(format!("--cert={}", pki.join("etcd/healthcheck-client.crt").display()))
        .arg(format!("--key={}", pki.join("etcd/healthcheck-client.key").display()))
        .args(args)
        .output()
        .unwrap();
    let took = start.elapsed();
    assert!(o.status.success(), "etcdctl {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    took
}

/// The kubelet's part: etcd runs while its manifest is in the manifests directory.
struct Kubelet {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Kubelet {
    fn start(ns: String, root: PathBuf) -> Kubelet {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let etcd: Arc<Mutex<Option<Child>>> = Arc::new(Mutex::new(None));
        let thread = std::thread::spawn(move || {
            let manifest = root.join("etc/kubernetes/manifests/etcd.yaml");
            while !flag.load(Ordering::Relaxed) {
                let mut e = etcd.lock().unwrap();
                match (std::fs::read_to_string(&manifest).ok(), e.is_some()) {
                    (Some(yaml), false) => {
                        let mounts = staticpod::host_paths(&yaml);
                        let args: Vec<String> = staticpod::manifest_command(&yaml)
                            .iter()
                            .map(|f| staticpod::resolve(f, &mounts, &root))
                            .collect();
                        let log = std::fs::File::create(root.join("etcd.log")).unwrap();
                        let child = Command::new("ip")
                            .args(["netns", "exec", &ns])
                            .args(&args)
                            .stdin(Stdio::null())
                            .stdout(log.try_clone().unwrap())
                            .stderr(log)
                            .spawn()
                            .unwrap();
                        *e = Some(child);
                    }
                    (None, true) => {
                        if let Some(mut c) = e.take() {
                            let _ = c.kill();
                            let _ = c.wait();
                        }
                    }
                    _ => {}
                }
                drop(e);
                std::thread::sleep(Duration::from_millis(50));
            }
            if let Some(mut c) = etcd.lock().unwrap().take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        });
        Kubelet { stop, thread: Some(thread) }
    }
}

impl Drop for Kubelet {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn mbps(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

fn best(ds: &[Duration]) -> Duration {
    ds.iter().copied().min().unwrap()
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let ns = Netns::create(format!("kb-bench-etcd-{}", std::process::id()), &[ADDRESS]);
    let cfg = root.join("kbinit.yaml");
    std::fs::write(&cfg, config()).unwrap();
    let cfg = cfg.to_str().unwrap();
    for phase in [&["certs", "all"][..], &["etcd", "local"]] {
        kbinit(&ns, &root, &[&["init", "phase"][..], phase, &["--config", cfg]].concat());
    }
    let _kubelet = Kubelet::start(ns.name.clone(), root.clone());
    let start = Instant::now();
    let pki = root.join("etc/kubernetes/pki");
    let healthy = || {
        ns.command("etcdctl")
            .env("ETCDCTL_API", "3")
            .arg("--endpoints=https://127.0.0.1:2379")
            .arg(format!("--cacert={}", pki.join("etcd/ca.crt").display()))
            .arg(format!("--cert={}", pki.join("etcd/healthcheck-client.crt").display()))
            .arg(format!("--key={}", pki.join("etcd/healthcheck-client.key").display()))
            .args(["endpoint", "health"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    while !healthy() {
        assert!(start.elapsed() < Duration::from_secs(30), "etcd did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let value = root.join("value");
    std::fs::write(&value, vec![b'x'; 1 << 20]).unwrap();
    for i in 0..VALUES {
        let o = ns
            .command("sh")
            .arg("-c")
            .arg(format!(
                "ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert={p}/etcd/ca.crt \
                 --cert={p}/etcd/healthcheck-client.crt --key={p}/etcd/healthcheck-client.key put /bench/{i} < {v}",
                p = pki.display(),
                v = value.display()
            ))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }

    let mut kb = Vec::new();
    for r in 0..ROUNDS {
        kb.push(kbinit(&ns, &root, &["etcd", "snapshot", "save", "--name", &format!("bench-{r}")]));
    }
    let snap = root.join("var/lib/kbinit/etcd-snapshots/bench-0.db");
    let size = std::fs::metadata(&snap).unwrap().len();
    let mut ec = Vec::new();
    for r in 0..ROUNDS {
        let out = root.join(format!("etcdctl-{r}.db"));
        ec.push(etcdctl(&ns, &root, &["snapshot", "save", out.to_str().unwrap()]));
    }
    let mut rebuild = Vec::new();
    for r in 0..ROUNDS {
        let d = root.join(format!("restored-{r}"));
        let start = Instant::now();
        let o = Command::new("etcdctl")
            .env("ETCDCTL_API", "3")
            .args(["snapshot", "restore", snap.to_str().unwrap(), "--data-dir", d.to_str().unwrap()])
            .output()
            .unwrap();
        rebuild.push(start.elapsed());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let mut restore = Vec::new();
    for r in 0..ROUNDS {
        let s = format!("/var/lib/kbinit/etcd-snapshots/bench-{r}.db");
        restore.push(kbinit(&ns, &root, &["etcd", "restore", "--force", "--snapshot", &s]));
    }

    println!("etcd snapshot benchmark: {:.1} MB snapshot, best of {ROUNDS}, whole commands", size as f64 / 1e6);
    println!("  kbinit etcd snapshot save      {:>8.1} MB/s  ({:?})", mbps(size, best(&kb)), best(&kb));
    println!("  etcdctl snapshot save          {:>8.1} MB/s  ({:?})", mbps(size, best(&ec)), best(&ec));
    println!(
        "  kbinit etcd restore            {:>8.1} MB/s  ({:?}: stop etcd, rebuild, start, healthy)",
        mbps(size, best(&restore)),
        best(&restore)
    );
    println!(
        "  etcdctl snapshot restore       {:>8.1} MB/s  ({:?}: the rebuild step alone)",
        mbps(size, best(&rebuild)),
        best(&rebuild)
    );
}
