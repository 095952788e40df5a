//! Benchmark of `init` and a worker `join` on a real node (the integration tests' real-node fixture: the real
//! kubelet v1.33.3 and Debian's containerd in network namespaces, images imported without a registry), real
//! kubeadm v1.33.3 and kbinit alternately with the same v1beta4 configuration, each cluster reset (by the tool
//! that made it) before the next run. Before a worker join is timed the bootstrap signer has signed
//! cluster-info, so both tools' joins start from the same state. The preflight errors ignored (alike by both,
//! `--ignore-preflight-errors`) are those kubeadm's own preflight reports on this node, printed first. It prints
//! each wall time and kbinit's ratios to kubeadm (goals: init ≤ 0.6×, worker join ≤ 0.5×) and asserts only that
//! every command succeeded: `cargo bench --bench realnode` (needs root and what the real-node tests need).

// A bench is a report for a human: printing is its output.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods
)]

#[allow(dead_code)] // the tests use more of the fixture than the bench does
#[path = "../tests/it/support/realnode/mod.rs"]
mod realnode;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use realnode::node::RealNode;
use realnode::{RELEASE, Site, configs};

const ROUNDS: usize = 3;

fn main() {
    let site = Site::create("bench", "10.81.0");
    let cp1 = RealNode::start(&site, "cp1", "10.81.0.1");
    let w1 = RealNode::start(&site, "w1", "10.81.0.3");
    let kubeadm = realnode::k8s_binary(RELEASE, "kubeadm");
    let kbinit = PathBuf::from(env!("CARGO_BIN_EXE_kbinit"));
    let init_cfg = cp1.file("init.yaml", &configs::init("cp1", "10.81.0.1", &[]));

    // what kubeadm's preflight flags on this node is what both tools are told to ignore
    let pre = cp1.run(&kubeadm, &["init", "phase", "preflight", "--config", &init_cfg]);
    let mut ignore: Vec<String> = errors(&pre.stdout, &pre.stderr);
    let wcfg_probe = w1.file("join.yaml", &configs::join("10.81.0.1:6443", "w1", "sha256:00", None, &[]));
    let pre_w = w1.run(&kubeadm, &["join", "phase", "preflight", "--config", &wcfg_probe]);
    for e in errors(&pre_w.stdout, &pre_w.stderr) {
        if !ignore.contains(&e) && e != "FileAvailable--etc-kubernetes-pki-ca.crt" {
            ignore.push(e);
        }
    }
    let ignore_flag =
        format!("--ignore-preflight-errors={}", if ignore.is_empty() { "none".into() } else { ignore.join(",") });
    println!("realnode bench (real kubelet {RELEASE}, containerd in network namespaces; kubeadm {RELEASE} vs kbinit)");
    println!("preflight errors kubeadm reports on this node, ignored by both: {ignore:?}");

    let mut init = [Vec::new(), Vec::new()];
    let mut join = [Vec::new(), Vec::new()];
    for round in 0..ROUNDS {
        // alternate who goes first, so a warm-up effect favours neither
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            let (name, tool): (&str, &Path) = if i == 0 { ("kubeadm", &kubeadm) } else { ("kbinit", &kbinit) };
            let t = Instant::now();
            let out = cp1.run_ok(tool, &["init", "--config", &init_cfg, &ignore_flag]);
            let took_init = t.elapsed();
            let pin = out.stdout.split_whitespace().find(|w| w.starts_with("sha256:")).unwrap().to_string();
            cp1.wait_for("cluster-info signed for the token", Duration::from_secs(60), signed);
            let wcfg = w1.file("join.yaml", &configs::join("10.81.0.1:6443", "w1", &pin, None, &[]));
            let t = Instant::now();
            w1.run_ok(tool, &["join", "--config", &wcfg, &ignore_flag]);
            let took_join = t.elapsed();
            println!(
                "round {} {name:8} init {:6.2} s   worker join {:6.2} s",
                round + 1,
                secs(took_init),
                secs(took_join)
            );
            // where init's time went: the tool's own "healthy after" lines (the kubelet, then each component)
            let waits: Vec<&str> = out.stdout.lines().filter(|l| l.contains("healthy after")).collect();
            println!("         {}", waits.join(" | "));
            init[i].push(took_init);
            join[i].push(took_join);
            w1.run_ok(tool, &["reset", "--force"]);
            cp1.run_ok(tool, &["reset", "--force"]);
        }
    }
    // one more kbinit init, with its phase events, to show where its time goes (not part of the figures above)
    let events = cp1.run_ok(&kbinit, &["init", "--config", &init_cfg, &ignore_flag, "--output", "jsonl"]);
    let phases: Vec<String> = events
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["event"] == "phase-end" && e["duration_ms"].as_u64().is_some_and(|d| d >= 100))
        .map(|e| format!("{} {} ms", e["phase"].as_str().unwrap_or_default(), e["duration_ms"]))
        .collect();
    println!("kbinit init phases of 100 ms or more: {}", phases.join(", "));
    cp1.run_ok(&kbinit, &["reset", "--force"]);
    for (what, t) in [("init", &init), ("worker join", &join)] {
        let (k, b) = (median(&t[0]), median(&t[1]));
        println!(
            "{what:12} median: kubeadm {:6.2} s, kbinit {:6.2} s, kbinit/kubeadm {:.2}x (goal {})",
            secs(k),
            secs(b),
            secs(b) / secs(k),
            if what == "init" { "<= 0.6x" } else { "<= 0.5x" }
        );
    }
}

/// The check names of `[ERROR Name]: …` lines.
fn errors(stdout: &str, stderr: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in stdout.lines().chain(stderr.lines()) {
        if let Some(rest) = line.trim().strip_prefix("[ERROR ")
            && let Some((name, _)) = rest.split_once(']')
            && !out.iter().any(|o| o == name)
        {
            out.push(name.to_string());
        }
    }
    out
}

/// cluster-info carries the bootstrap signer's signature for the token.
fn signed(cp: &RealNode) -> bool {
    let id = configs::TOKEN.split('.').next().unwrap_or_default();
    cp.with_admin(|api| {
        api.call_once(http::Method::GET, "/api/v1/namespaces/kube-public/configmaps/cluster-info", None)
            .is_ok_and(|ci| ci.pointer(&format!("/data/jws-kubeconfig-{id}")).is_some())
    })
}

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[v.len() / 2]
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}
