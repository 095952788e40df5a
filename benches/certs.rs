//! Benchmark of `kbinit init phase certs all` as a user runs it: the release binary, a fresh node root per run,
//! RSA-2048 (the v1.28.7 reference input) and ECDSA-P256 (v1beta4, v1.31.0). Prints median / min / max wall time
//! and the child's peak RSS, the ratio to kubeadm's reference figure (1.2 s; target ≤ 0.35×), the 15 MiB memory
//! target and the release binary's size (target ≤ 15 MB). It prints figures and asserts nothing: run it with
//! `cargo bench --bench certs`.

// A bench is a report for a human: printing is its output.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

const RUNS: usize = 15;
const KUBEADM_SECONDS: f64 = 1.2;
const TARGET_RATIO: f64 = 0.35;
const TARGET_RSS_MIB: f64 = 15.0;
const TARGET_BINARY_MB: f64 = 15.0;

const ECDSA_CONFIG: &str = "apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: 10.0.0.10
  bindPort: 6443
nodeRegistration:
  name: cp1
  criSocket: unix:///run/containerd/containerd.sock
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.31.0
encryptionAlgorithm: ECDSA-P256
controlPlaneEndpoint: lb.example.com:6443
networking:
  podSubnet: 10.244.0.0/16
";

/// One timed run: wall time and peak resident set size in KiB (None if it could not be measured).
struct Sample {
    wall: Duration,
    rss_kib: Option<u64>,
}

fn main() -> Result<()> {
    // `cargo bench` passes `--bench`; a filter argument (if any) selects cases by name
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_kbinit"));
    let shared = std::env::var_os("KBINIT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let reference = std::fs::read_to_string(shared.join("reference/kubeadm-1.28.7/input-config.yaml"))?;
    let gnu_time = Path::new("/usr/bin/time").exists();

    let size = std::fs::metadata(&binary)?.len() as f64 / 1e6;
    println!("kbinit binary {}: {size:.2} MB (target ≤ {TARGET_BINARY_MB} MB)", binary.display());
    println!(
        "peak RSS via {}",
        if gnu_time { "/usr/bin/time -f %M" } else { "polling /proc/<pid>/status VmHWM (a lower bound)" }
    );
    println!();
    println!(
        "{:<24} {:>5} {:>9} {:>9} {:>9} {:>7} {:<4} {:>9} {:<4}",
        "case", "runs", "median", "min", "max", "ratio", "", "peak RSS", ""
    );

    for (name, config) in [("rsa-2048 (v1.28.7)", reference.as_str()), ("ecdsa-p256 (v1.31.0)", ECDSA_CONFIG)] {
        if filter.as_ref().is_some_and(|f| !name.contains(f.as_str())) {
            continue;
        }
        let work = tempfile::tempdir()?;
        let config_path = work.path().join("config.yaml");
        std::fs::write(&config_path, config)?;
        // one untimed run warms the page cache, and proves the command works
        run_once(&binary, &config_path, work.path(), gnu_time)?;
        let mut samples = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            samples.push(run_once(&binary, &config_path, work.path(), gnu_time)?);
        }
        report(name, &mut samples);
    }
    println!();
    println!(
        "ratio = median / kubeadm's {KUBEADM_SECONDS} s (target ≤ {TARGET_RATIO}× = {:.0} ms); peak RSS = the largest \
         of the runs (target ≤ {TARGET_RSS_MIB} MiB)",
        KUBEADM_SECONDS * TARGET_RATIO * 1e3
    );
    Ok(())
}

/// Runs `kbinit init phase certs all` into a fresh root under `work`.
fn run_once(binary: &Path, config: &Path, work: &Path, gnu_time: bool) -> Result<Sample> {
    let root = tempfile::tempdir_in(work)?;
    let args = ["init", "phase", "certs", "all", "--config", path_str(config)?, "--root", path_str(root.path())?];
    let mut cmd = if gnu_time {
        let mut c = Command::new("/usr/bin/time");
        c.args(["-f", "%M"]).arg(binary);
        c
    } else {
        Command::new(binary)
    };
    cmd.args(args).stdout(Stdio::null()).stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn()?;
    let mut hwm = None;
    if !gnu_time {
        // poll VmHWM while the child lives; the last reading before exit is a lower bound of the peak
        while child.try_wait()?.is_none() {
            if let Some(k) = vm_hwm_kib(child.id()) {
                hwm = Some(k);
            }
            std::thread::sleep(Duration::from_micros(500));
        }
    }
    let out = child.wait_with_output()?;
    let wall = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("kbinit {args:?} failed ({}):\n{stderr}", out.status).into());
    }
    if !root.path().join("etc/kubernetes/pki/ca.crt").exists() {
        return Err("kbinit succeeded but wrote no etc/kubernetes/pki/ca.crt".into());
    }
    let rss_kib = if gnu_time { stderr.lines().last().and_then(|l| l.trim().parse().ok()) } else { hwm };
    Ok(Sample { wall, rss_kib })
}

fn path_str(p: &Path) -> Result<&str> {
    p.to_str().ok_or_else(|| format!("{} is not UTF-8", p.display()).into())
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn report(name: &str, samples: &mut [Sample]) {
    samples.sort_by_key(|s| s.wall);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let median = samples[samples.len() / 2].wall;
    let (min, max) = (samples[0].wall, samples[samples.len() - 1].wall);
    let ratio = median.as_secs_f64() / KUBEADM_SECONDS;
    let rss = samples.iter().filter_map(|s| s.rss_kib).max();
    let rss_mib = rss.map(|k| k as f64 / 1024.0);
    let verdict = |ok: bool| if ok { "ok" } else { "OVER" };
    println!(
        "{name:<24} {:>5} {:>7.1}ms {:>7.1}ms {:>7.1}ms {:>6.3}× {:<4} {:>9} {:<4}",
        samples.len(),
        ms(median),
        ms(min),
        ms(max),
        ratio,
        verdict(ratio <= TARGET_RATIO),
        rss_mib.map(|m| format!("{m:.1}MiB")).unwrap_or_else(|| "n/a".into()),
        rss_mib.map(|m| verdict(m <= TARGET_RSS_MIB)).unwrap_or("?"),
    );
}
