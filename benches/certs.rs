//! Benchmark of `kbinit init phase certs all` as a user runs it: the release binary, a fresh node root per run,
//! RSA-2048 (the v1.28.7 reference input) and ECDSA-P256 (v1beta4, v1.31.0). Prints median / min / max wall time
//! and the child's peak RSS, the 15 MiB memory target and the release binary's size (target ≤ 15 MB).
//!
//! Beside each case it measures, in the same run, the machine's floor for the same work: the keys that run wrote
//! (counted and typed from its `.key` files, not assumed) generated again in this process with aws-lc-rs — the
//! crypto backend kbinit uses — on every core at once, as many timed rounds as kbinit's runs. Key generation is
//! nearly all of the cost, so `ratio` = kbinit's median / the floor's median says how close kbinit is to what this
//! machine can do at all (1.0× would be a process start, parsing and signing for free).
//!
//! Then the same RSA-2048 work against the real thing: kubeadm v1.33.3 and v1.28.7 of ../shared/k8s run `init
//! phase certs all` for the reference input at their release (in a private mount namespace whose /etc/kubernetes
//! is a scratch directory, so the host is untouched), alternately with kbinit on the same input, and the ratio
//! kbinit / kubeadm is printed beside kbinit / floor (goal ≤ 0.25× of kubeadm's wall time). It prints figures and
//! asserts nothing: run it with `cargo bench --bench certs`.

// A bench is a report for a human: printing is its output; it prepares its fixtures directly.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::disallowed_methods)]

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

const RUNS: usize = 15;
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
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("floor: the same keys generated in-process with aws-lc-rs on {threads} threads");
    println!();
    println!(
        "{:<22} {:>4} {:>9} {:>9} {:>9} {:>10} {:>7} {:>9} {:<4}  keys",
        "case", "runs", "median", "min", "max", "floor", "ratio", "peak RSS", ""
    );

    for (name, config) in [("rsa-2048 (v1.28.7)", reference.as_str()), ("ecdsa-p256 (v1.31.0)", ECDSA_CONFIG)] {
        if filter.as_ref().is_some_and(|f| !name.contains(f.as_str())) {
            continue;
        }
        let work = tempfile::tempdir()?;
        let config_path = work.path().join("config.yaml");
        std::fs::write(&config_path, config)?;
        // one untimed run warms the page cache, proves the command works, and says which keys it makes
        let keep = tempfile::tempdir_in(work.path())?;
        run_once(&binary, &config_path, keep.path(), gnu_time)?;
        let algs = key_algorithms(&keep.path().join("etc/kubernetes/pki"))?;
        if algs.is_empty() {
            return Err("the run wrote no keys to measure the floor with".into());
        }
        let mut samples = Vec::with_capacity(RUNS);
        let mut floors = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            // interleaved, so both see the same machine load
            let root = tempfile::tempdir_in(work.path())?;
            samples.push(run_once(&binary, &config_path, root.path(), gnu_time)?);
            floors.push(floor(&algs, threads)?);
        }
        report(name, &mut samples, &mut floors, &algs);
    }
    println!();
    println!(
        "floor = median wall time to generate the same keys in-process on all cores; ratio = kbinit's median / floor; \
         peak RSS = the largest of the runs (target ≤ {TARGET_RSS_MIB} MiB)"
    );
    if filter.as_ref().is_none_or(|f| "kubeadm".contains(f.as_str())) {
        against_kubeadm(&binary, &shared, &reference, gnu_time)?;
    }
    Ok(())
}

/// Runs per release in the comparison with real kubeadm (its Go RSA key generation is slower: fewer runs).
const KUBEADM_RUNS: usize = 7;

/// kbinit against real kubeadm on the same RSA-2048 input, alternately, for each release of ../shared/k8s that has
/// a kubeadm and a `unshare` to isolate it.
fn against_kubeadm(binary: &Path, shared: &Path, reference: &str, gnu_time: bool) -> Result<()> {
    println!();
    println!(
        "against real kubeadm: `init phase certs all`, RSA-2048, the reference input at each release, alternately"
    );
    println!("{:<22} {:>4} {:>12} {:>12} {:>9} {:>9}", "release", "runs", "kubeadm", "kbinit", "ratio", "floor×");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    // /etc/kubernetes must exist as a mount point; made here (and removed again) when the host has none
    let made = !Path::new("/etc/kubernetes").exists();
    if made {
        std::fs::create_dir_all("/etc/kubernetes")?;
    }
    let result = (|| -> Result<()> {
        for release in ["v1.33.3", "v1.28.7"] {
            let kubeadm = unpack_kubeadm(shared, release)?;
            let work = tempfile::tempdir()?;
            let config = work.path().join("config.yaml");
            std::fs::write(&config, reference.replace("v1.28.7", release))?;
            let keep = tempfile::tempdir_in(work.path())?;
            run_once(binary, &config, keep.path(), gnu_time)?;
            let algs = key_algorithms(&keep.path().join("etc/kubernetes/pki"))?;
            let (mut theirs, mut ours, mut floors) = (Vec::new(), Vec::new(), Vec::new());
            kubeadm_once(&kubeadm, &config, work.path())?; // warm-up
            for _ in 0..KUBEADM_RUNS {
                theirs.push(kubeadm_once(&kubeadm, &config, work.path())?);
                let root = tempfile::tempdir_in(work.path())?;
                ours.push(run_once(binary, &config, root.path(), gnu_time)?.wall);
                floors.push(floor(&algs, threads)?);
            }
            let median = |v: &mut Vec<Duration>| {
                v.sort();
                v[v.len() / 2]
            };
            let (k, b, f) = (median(&mut theirs), median(&mut ours), median(&mut floors));
            println!(
                "{release:<22} {:>4} {:>10.1}ms {:>10.1}ms {:>8.2}× {:>8.2}×",
                KUBEADM_RUNS,
                k.as_secs_f64() * 1e3,
                b.as_secs_f64() * 1e3,
                b.as_secs_f64() / k.as_secs_f64(),
                b.as_secs_f64() / f.as_secs_f64(),
            );
        }
        Ok(())
    })();
    if made {
        let _ = std::fs::remove_dir("/etc/kubernetes");
    }
    result?;
    println!(
        "ratio = kbinit's median / kubeadm's median (goal ≤ 0.25×); floor× = kbinit's median / the machine's floor"
    );
    Ok(())
}

/// One `kubeadm init phase certs all` in a private mount namespace over a fresh scratch /etc/kubernetes.
fn kubeadm_once(kubeadm: &Path, config: &Path, work: &Path) -> Result<Duration> {
    let scratch = tempfile::tempdir_in(work)?;
    let script = "mount --bind \"$ROOT\" /etc/kubernetes && exec \"$KUBEADM\" init phase certs all --config \"$CFG\"";
    let start = Instant::now();
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", script])
        .env("ROOT", scratch.path())
        .env("KUBEADM", kubeadm)
        .env("CFG", config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()?;
    let wall = start.elapsed();
    if !out.status.success() || !scratch.path().join("pki/ca.crt").exists() {
        return Err(format!("kubeadm init phase certs all failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(wall)
}

/// `../shared/k8s/<release>/kubeadm.xz` unpacked into the target directory under its SHA256SUMS checksum (the
/// tests' cache), checked.
fn unpack_kubeadm(shared: &Path, release: &str) -> Result<PathBuf> {
    let k8s = shared.join("k8s");
    let sums = std::fs::read_to_string(k8s.join("SHA256SUMS"))?;
    let key = format!("{release}/kubeadm");
    let sum = sums
        .lines()
        .find_map(|l| l.split_once("  ").filter(|(_, f)| *f == key).map(|(s, _)| s.to_string()))
        .ok_or_else(|| format!("{key} is not in SHA256SUMS"))?;
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("realk8s").join(&sum);
    let bin = dir.join("kubeadm");
    if bin.is_file() {
        return Ok(bin);
    }
    std::fs::create_dir_all(&dir)?;
    let partial = dir.join(".kubeadm.bench-partial");
    let status = Command::new("xz")
        .arg("-dc")
        .arg(k8s.join(format!("{key}.xz")))
        .stdout(std::fs::File::create(&partial)?)
        .status()?;
    if !status.success() {
        return Err(format!("xz -dc {key}.xz failed").into());
    }
    let got = Command::new("sha256sum").arg(&partial).output()?;
    if !String::from_utf8_lossy(&got.stdout).starts_with(&sum) {
        return Err(format!("{key} does not match its SHA256SUMS entry").into());
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o755))?;
    std::fs::rename(&partial, &bin)?;
    Ok(bin)
}

/// A key algorithm as read back from a written key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Alg {
    Rsa(usize),
    EcdsaP256,
    EcdsaP384,
}

impl std::fmt::Display for Alg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Alg::Rsa(bits) => write!(f, "RSA-{bits}"),
            Alg::EcdsaP256 => f.write_str("ECDSA-P256"),
            Alg::EcdsaP384 => f.write_str("ECDSA-P384"),
        }
    }
}

/// The algorithm of every `*.key` under `dir` (recursively), parsed with aws-lc-rs.
fn key_algorithms(dir: &Path) -> Result<Vec<Alg>> {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair};
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(key_algorithms(&path)?);
            continue;
        }
        if path.extension().is_none_or(|e| e != "key") {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        let (tag, der) = pem_block(&text).ok_or_else(|| format!("{}: no PEM block", path.display()))?;
        let rsa = match tag.as_str() {
            "RSA PRIVATE KEY" => aws_lc_rs::rsa::KeyPair::from_der(&der).ok(),
            "PRIVATE KEY" => aws_lc_rs::rsa::KeyPair::from_pkcs8(&der).ok(),
            _ => None,
        };
        let alg = if let Some(k) = rsa {
            Alg::Rsa(k.public_modulus_len() * 8)
        } else if EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_ASN1_SIGNING, &der).is_ok() {
            Alg::EcdsaP256
        } else if EcdsaKeyPair::from_private_key_der(&ECDSA_P384_SHA384_ASN1_SIGNING, &der).is_ok() {
            Alg::EcdsaP384
        } else {
            return Err(format!("{}: a {tag} that is neither RSA nor ECDSA P-256/P-384", path.display()).into());
        };
        out.push(alg);
    }
    out.sort();
    Ok(out)
}

/// The first PEM block of a text: (tag, DER).
fn pem_block(text: &str) -> Option<(String, Vec<u8>)> {
    use base64::Engine as _;
    let begin = text.find("-----BEGIN ")?;
    let rest = &text[begin + 11..];
    let tag_end = rest.find("-----")?;
    let tag = rest[..tag_end].to_string();
    let body_start = tag_end + 5;
    let end = rest.find(&format!("-----END {tag}-----"))?;
    let b64: String = rest[body_start..end].chars().filter(|c| !c.is_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    Some((tag, der))
}

/// Wall time to generate one key of each of `algs` on `threads` threads pulling from one queue (largest first,
/// so no thread is left with a long RSA key at the end while the others idle).
fn floor(algs: &[Alg], threads: usize) -> Result<Duration> {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let mut queue = algs.to_vec();
    queue.sort_by(|a, b| b.cmp(a));
    let next = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads.min(queue.len()) {
            s.spawn(|| {
                while let Some(alg) = queue.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let ok = match alg {
                        Alg::Rsa(bits) => {
                            let size = match bits {
                                2048 => aws_lc_rs::rsa::KeySize::Rsa2048,
                                3072 => aws_lc_rs::rsa::KeySize::Rsa3072,
                                4096 => aws_lc_rs::rsa::KeySize::Rsa4096,
                                _ => aws_lc_rs::rsa::KeySize::Rsa8192,
                            };
                            aws_lc_rs::rsa::KeyPair::generate(size)
                                .map(|k| std::hint::black_box(k).public_modulus_len())
                                .is_ok()
                        }
                        Alg::EcdsaP256 => {
                            EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).map(std::hint::black_box).is_ok()
                        }
                        Alg::EcdsaP384 => {
                            EcdsaKeyPair::generate(&ECDSA_P384_SHA384_ASN1_SIGNING).map(std::hint::black_box).is_ok()
                        }
                    };
                    if !ok {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let wall = start.elapsed();
    if failed.load(Ordering::Relaxed) > 0 {
        return Err("aws-lc-rs failed to generate a key".into());
    }
    Ok(wall)
}

/// Runs `kbinit init phase certs all` into `root` (an empty directory).
fn run_once(binary: &Path, config: &Path, root: &Path, gnu_time: bool) -> Result<Sample> {
    let args = ["init", "phase", "certs", "all", "--config", path_str(config)?, "--root", path_str(root)?];
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
    if !root.join("etc/kubernetes/pki/ca.crt").exists() {
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

fn report(name: &str, samples: &mut [Sample], floors: &mut [Duration], algs: &[Alg]) {
    samples.sort_by_key(|s| s.wall);
    floors.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let median = samples[samples.len() / 2].wall;
    let (min, max) = (samples[0].wall, samples[samples.len() - 1].wall);
    let floor = floors[floors.len() / 2];
    let ratio = median.as_secs_f64() / floor.as_secs_f64();
    let rss = samples.iter().filter_map(|s| s.rss_kib).max();
    let rss_mib = rss.map(|k| k as f64 / 1024.0);
    let verdict = |ok: bool| if ok { "ok" } else { "OVER" };
    let mut mix: Vec<(Alg, usize)> = Vec::new();
    for a in algs {
        match mix.last_mut() {
            Some((b, n)) if b == a => *n += 1,
            _ => mix.push((*a, 1)),
        }
    }
    let mix: Vec<String> = mix.iter().map(|(a, n)| format!("{n} × {a}")).collect();
    println!(
        "{name:<22} {:>4} {:>7.1}ms {:>7.1}ms {:>7.1}ms {:>8.1}ms {:>6.2}× {:>9} {:<4}  {}",
        samples.len(),
        ms(median),
        ms(min),
        ms(max),
        ms(floor),
        ratio,
        rss_mib.map(|m| format!("{m:.1}MiB")).unwrap_or_else(|| "n/a".into()),
        rss_mib.map(|m| verdict(m <= TARGET_RSS_MIB)).unwrap_or("?"),
        mix.join(", "),
    );
}
