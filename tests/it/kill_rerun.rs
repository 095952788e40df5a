//! kill -9 at a phase boundary, then the same command again: the node must end as after an uninterrupted run.
//!
//! - init (`--upload-certs`, the newest supported version, stacked etcd) on a netns test node: one uninterrupted `--output jsonl` run
//!   gives the phases, the file set and the cluster objects; then, on a fresh node and a fresh fake API server
//!   per case, kbinit is SIGKILLed right after a `phase-end` (or a `phase-start`) event and run again. The
//!   re-run must exit 0, report none of its own leftovers as preflight findings, leave the same file set
//!   (paths and modes; keys differ between runs, so bytes are not compared), keep every certificate and key
//!   written before the kill byte for byte, and leave the same cluster objects (bootstrap-token and CSR names
//!   normalised);
//! - a crash in the middle of writing files: temporary files as a killed writer leaves them (half a PEM, 0600)
//!   next to targets already written and not yet written; the re-run leaves no temporary file and valid files;
//! - control-plane join of cp2 on a LAN with cp1 initialised once: killed at each join phase boundary, joined
//!   again, then `kbinit reset --force`; each time etcd must end with two started voting members (no stray
//!   learner, no duplicate) and the file set of an uninterrupted join.
//!
//! Init is killed after every one of its leaf phases; join after every join phase.
//!
//! fake-api: to move: a fresh cluster per kill point; a real control plane per case is more than the CI budget allows
//! today.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::Path;
use std::process::Stdio;

use serde_json::Value;

use crate::support::fakeapi::FakeApi;
use crate::support::nodes::lan::Lan;
use crate::support::nodes::testnode::TestNode;
use crate::support::{Run, require_tool};

const INIT_ADDRESS: &str = "192.0.2.30";

fn init_config(address: &str, endpoint: &str) -> String {
    crate::support::nodes::testnode::init_config(&crate::support::nodes::testnode::newest_version(), address, endpoint)
}

/// Where kbinit is stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
enum At {
    /// Right after the `phase-end` (ok) of the phase.
    End(String),
    /// Right after the `phase-start` of the phase.
    Start(String),
}

impl At {
    fn matches(&self, ev: &Value) -> bool {
        let phase = ev["phase"].as_str().unwrap_or_default();
        match self {
            At::End(p) => ev["event"] == "phase-end" && ev["status"] == "ok" && phase == p,
            At::Start(p) => ev["event"] == "phase-start" && phase == p,
        }
    }
}

/// Runs `kbinit --root <root> <args> --output jsonl` in the node's namespace and SIGKILLs it right after the
/// event `at`; panics if the run ended before reaching it. Returns what kbinit printed up to the kill.
fn run_killed(tn: &TestNode, args: &[&str], at: &At) -> Vec<Value> {
    let mut c = tn.ns.command(env!("CARGO_BIN_EXE_kbinit"));
    c.arg("--root").arg(tn.node.root()).args(args).args(["--output", "jsonl"]).env_remove("KUBECONFIG");
    // `ip netns exec` execs kbinit in place: the child's pid is kbinit's
    let mut child = c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut seen = Vec::new();
    let mut killed = false;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let Ok(line) = line else { break };
        let ev: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}"));
        let hit = at.matches(&ev);
        seen.push(ev);
        if hit {
            child.kill().unwrap(); // SIGKILL
            killed = true;
            break;
        }
    }
    let status = child.wait().unwrap();
    let err = err_reader.join().unwrap();
    assert!(
        killed,
        "kbinit ended ({status}) before {at:?}\nevents: {}\nstderr:\n{err}\nstand-in: {:?}",
        seen.iter().map(Value::to_string).collect::<Vec<_>>().join("\n"),
        tn.standin.events()
    );
    seen
}

/// One uninterrupted `--output jsonl` run: the leaf phases that ran (`phase-end` ok, in order, parents left
/// out) and the events.
fn run_jsonl(tn: &TestNode, args: &[&str]) -> (Vec<String>, Run) {
    let run = tn.kbinit(&[args, &["--output", "jsonl"]].concat());
    assert_eq!(run.code, 0, "{}\n{}\n{:?}", run.stdout, run.stderr, tn.standin.events());
    let events: Vec<Value> = run.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let started: Vec<&str> =
        events.iter().filter(|e| e["event"] == "phase-start").filter_map(|e| e["phase"].as_str()).collect();
    let leaves = events
        .iter()
        .filter(|e| e["event"] == "phase-end" && e["status"] == "ok")
        .filter_map(|e| e["phase"].as_str())
        .filter(|p| !started.iter().any(|s| s.starts_with(&format!("{p}/"))))
        .map(str::to_string)
        .collect();
    (leaves, run)
}

/// Every path under the root with its permission bits (directories end in `/`), etcd's own data and the test's
/// config file left out: the node's file set.
fn file_set(root: &Path) -> BTreeMap<String, u32> {
    fn walk(root: &Path, d: &Path, out: &mut BTreeMap<String, u32>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            let rel = format!("/{}", p.strip_prefix(root).unwrap().display());
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                out.insert(format!("{rel}/"), m.mode() & 0o7777);
                if rel != "/var/lib/etcd" {
                    walk(root, &p, out);
                }
            } else if rel != "/kbinit.yaml" {
                out.insert(rel, m.mode() & 0o7777);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// A readable difference of two file sets.
fn set_diff<K: Ord + std::fmt::Debug + Clone, V: PartialEq + std::fmt::Debug>(
    want: &BTreeMap<K, V>,
    got: &BTreeMap<K, V>,
) -> String {
    let mut s = String::new();
    for (k, v) in want {
        match got.get(k) {
            None => s.push_str(&format!("  missing {k:?} ({v:?})\n")),
            Some(g) if g != v => s.push_str(&format!("  {k:?}: {g:?}, uninterrupted {v:?}\n")),
            _ => {}
        }
    }
    for (k, v) in got {
        if !want.contains_key(k) {
            s.push_str(&format!("  extra {k:?} ({v:?})\n"));
        }
    }
    s
}

/// The certificates, keys and kubeconfigs on the node with their bytes: what a re-run must reuse.
fn credentials(root: &Path) -> BTreeMap<String, Vec<u8>> {
    file_set(root)
        .into_keys()
        .filter(|p| {
            let name = p.rsplit('/').next().unwrap_or_default();
            p.starts_with("/etc/kubernetes/pki/") && !name.starts_with('.') && !p.ends_with('/')
                || ["admin.conf", "super-admin.conf", "controller-manager.conf", "scheduler.conf"]
                    .iter()
                    .any(|f| *p == format!("/etc/kubernetes/{f}"))
        })
        .map(|p| {
            let bytes = std::fs::read(root.join(p.trim_start_matches('/'))).unwrap();
            (p, bytes)
        })
        .collect()
}

/// Every object in the fake's store as (kind, namespace, name), names kbinit or the kubelet generate per run
/// normalised.
fn cluster_objects(api: &FakeApi) -> BTreeMap<String, ()> {
    let collections = [
        "/api/v1/namespaces",
        "/api/v1/configmaps",
        "/api/v1/secrets",
        "/api/v1/serviceaccounts",
        "/api/v1/services",
        "/api/v1/endpoints",
        "/api/v1/pods",
        "/api/v1/nodes",
        "/apis/apps/v1/deployments",
        "/apis/apps/v1/daemonsets",
        "/apis/rbac.authorization.k8s.io/v1/roles",
        "/apis/rbac.authorization.k8s.io/v1/rolebindings",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        "/apis/certificates.k8s.io/v1/certificatesigningrequests",
    ];
    let mut out = BTreeMap::new();
    for c in collections {
        for o in api.objects(c) {
            let name = o.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
            let name = if name.starts_with("bootstrap-token-") {
                "bootstrap-token-*"
            } else if name.starts_with("node-csr-") {
                "node-csr-*"
            } else {
                name
            };
            let ns = o.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or_default();
            out.insert(format!("{} {ns}/{name}", o["kind"].as_str().unwrap_or_default()), ());
        }
    }
    out
}

/// The preflight names a re-run must not report (kbinit's own leftovers are reused, not findings).
const LEFTOVER_FINDINGS: [&str; 8] = [
    "Port-6443",
    "Port-2379",
    "Port-2380",
    "Port-10257",
    "Port-10259",
    "FileAvailable--etc-kubernetes",
    "DirAvailable--var-lib-etcd",
    "Port-10250",
];

/// The boundaries to kill init at, from the leaf phases of an uninterrupted run: after every leaf phase but the
/// last (its end is the end of the run), and right as a few phases that write or call the API begin.
fn init_boundaries(leaves: &[String]) -> Vec<At> {
    let mut all: Vec<At> = leaves.iter().take(leaves.len().saturating_sub(1)).map(|p| At::End(p.clone())).collect();
    all.extend(
        ["certs/apiserver", "upload-certs", "bootstrap-token", "mark-control-plane"].map(|p| At::Start(p.into())),
    );
    all
}

#[test]
fn init_killed_at_each_phase_boundary_converges_on_rerun() {
    if !require_tool("etcd") || !require_tool("ip") {
        return;
    }
    let args = |cfg: &str| -> Vec<String> {
        ["init", "--config", cfg, "--upload-certs"].iter().map(|s| s.to_string()).collect()
    };

    // the reference: one uninterrupted run
    let api = FakeApi::new();
    let tn = TestNode::start("kr0", "cp1", &[INIT_ADDRESS], &api, true);
    let cfg = tn.config(&init_config(INIT_ADDRESS, INIT_ADDRESS));
    let a = args(&cfg);
    let (leaves, _) = run_jsonl(&tn, &a.iter().map(String::as_str).collect::<Vec<_>>());
    let want_files = file_set(tn.node.root());
    let want_objects = cluster_objects(&api);
    eprintln!(
        "uninterrupted init: {} leaf phases, {} files, {} objects",
        leaves.len(),
        want_files.len(),
        want_objects.len()
    );
    drop(tn);
    for top in ["preflight", "certs", "kubeconfig", "etcd", "control-plane", "kubelet-start", "upload-certs"] {
        assert!(leaves.iter().any(|l| l.split('/').next() == Some(top)), "{top} did not run: {leaves:?}");
    }

    let boundaries = init_boundaries(&leaves);
    let mut failures = Vec::new();
    for (i, at) in boundaries.iter().enumerate() {
        let api = FakeApi::new();
        let tn = TestNode::start(&format!("kr{}", i + 1), "cp1", &[INIT_ADDRESS], &api, true);
        let cfg = tn.config(&init_config(INIT_ADDRESS, INIT_ADDRESS));
        let a = args(&cfg);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let started = std::time::Instant::now();
        let before = run_killed(&tn, &a, at);
        let kept = credentials(tn.node.root());
        let rerun = tn.kbinit(&a);
        if let Some(why) = judge_init(&tn, &api, &rerun, &kept, &want_files, &want_objects) {
            failures.push(format!("killed at {at:?}: {why}"));
        }
        eprintln!(
            "init killed at {at:?} after {} events, {} credentials kept; re-run exit {} ({:.1}s)",
            before.len(),
            kept.len(),
            rerun.code,
            started.elapsed().as_secs_f64()
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {} boundaries did not converge:\n{}",
        failures.len(),
        boundaries.len(),
        failures.join("\n")
    );
}

/// `None` when the re-run converged to the uninterrupted run's state, else why not.
fn judge_init(
    tn: &TestNode,
    api: &FakeApi,
    rerun: &Run,
    kept: &BTreeMap<String, Vec<u8>>,
    want_files: &BTreeMap<String, u32>,
    want_objects: &BTreeMap<String, ()>,
) -> Option<String> {
    if rerun.code != 0 {
        return Some(format!(
            "re-run exit {}\nstdout:\n{}\nstderr:\n{}\nstand-in: {:?}",
            rerun.code,
            rerun.stdout,
            rerun.stderr,
            tn.standin.events()
        ));
    }
    let mut why = String::new();
    for name in LEFTOVER_FINDINGS {
        if rerun.stderr.contains(name) {
            why.push_str(&format!("  its own leftovers reported as a finding ({name}):\n{}\n", rerun.stderr));
        }
    }
    let files = file_set(tn.node.root());
    if &files != want_files {
        why.push_str(&format!("  file set differs from the uninterrupted run:\n{}", set_diff(want_files, &files)));
    }
    let now = credentials(tn.node.root());
    for (path, bytes) in kept {
        if now.get(path) != Some(bytes) {
            why.push_str(&format!("  {path} was written before the kill but not reused by the re-run\n"));
        }
    }
    let objects = cluster_objects(api);
    if &objects != want_objects {
        why.push_str(&format!("  cluster objects differ:\n{}", set_diff(want_objects, &objects)));
    }
    (!why.is_empty()).then_some(why)
}

/// A pid no process has (a killed writer's), starting from 99999.
fn dead_pid() -> u32 {
    (99999..).find(|p| !Path::new(&format!("/proc/{p}")).exists()).unwrap()
}

/// Leaves a temporary file as kbinit's atomic writer names it, killed half-way: `half` of `bytes`, mode 0600.
fn plant_partial(root: &Path, node_path: &str, bytes: &[u8], pid: u32) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let target = root.join(node_path.trim_start_matches('/'));
    let name = target.file_name().unwrap().to_string_lossy().into_owned();
    let tmp = target.with_file_name(format!(".{name}.kbinit-{pid}-0.tmp"));
    std::fs::write(&tmp, &bytes[..bytes.len() / 2]).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).unwrap();
    tmp
}

#[test]
fn init_crash_mid_write_leaves_no_partial_file_after_rerun() {
    if !require_tool("etcd") || !require_tool("ip") || !require_tool("openssl") {
        return;
    }
    // the reference file set
    let api = FakeApi::new();
    let tn = TestNode::start("krw0", "cp1", &[INIT_ADDRESS], &api, true);
    let cfg = tn.config(&init_config(INIT_ADDRESS, INIT_ADDRESS));
    run_jsonl(&tn, &["init", "--config", &cfg, "--upload-certs"]);
    let want_files = file_set(tn.node.root());
    let want_objects = cluster_objects(&api);
    drop(tn);

    // a node where init died while writing: the certificates and admin.conf are there; a rewrite of ca.key, the
    // first write of scheduler.conf and of the etcd manifest were cut off half-way
    let api = FakeApi::new();
    let tn = TestNode::start("krw1", "cp1", &[INIT_ADDRESS], &api, true);
    let cfg = tn.config(&init_config(INIT_ADDRESS, INIT_ADDRESS));
    let args = ["init", "--config", cfg.as_str(), "--upload-certs"];
    run_killed(&tn, &args, &At::End("kubeconfig/admin".into()));
    let root = tn.node.root();
    let key = tn.node.read("/etc/kubernetes/pki/ca.key");
    let pid = dead_pid();
    // the manifest directory as kbinit creates it, before its first manifest
    std::fs::DirBuilder::new().mode(0o700).create(root.join("etc/kubernetes/manifests")).unwrap();
    let planted = [
        plant_partial(root, "/etc/kubernetes/pki/ca.key", &key, pid),
        plant_partial(root, "/etc/kubernetes/scheduler.conf", &tn.node.read("/etc/kubernetes/admin.conf"), pid),
        plant_partial(root, "/etc/kubernetes/manifests/etcd.yaml", b"apiVersion: v1\nkind: Pod\nmetadata:\n", pid),
    ];
    let kept = credentials(root);
    let rerun = tn.kbinit(&args);
    let verdict = judge_init(&tn, &api, &rerun, &kept, &want_files, &want_objects);
    assert!(verdict.is_none(), "{}", verdict.unwrap_or_default());
    for p in &planted {
        assert!(!p.exists(), "{} left behind", p.display());
        let node_path = format!("/{}", p.strip_prefix(root).unwrap().display());
        let said = format!("[init] Removed {node_path:?}, a partly written file left by an interrupted run");
        assert!(rerun.stdout.contains(&said), "not said: {said}\n{}", rerun.stdout);
    }
    // and what is there is whole: the CA key is the CA certificate's key, the certificates chain to the CA, the
    // kubeconfig and the manifest parse
    let pki = root.join("etc/kubernetes/pki");
    let pubkey = |args: &[&str], file: &str| {
        let o = std::process::Command::new("openssl").args(args).arg(pki.join(file)).output().unwrap();
        assert!(o.status.success(), "openssl {args:?} {file}: {}", String::from_utf8_lossy(&o.stderr));
        o.stdout
    };
    assert_eq!(pubkey(&["pkey", "-pubout", "-in"], "ca.key"), pubkey(&["x509", "-noout", "-pubkey", "-in"], "ca.crt"));
    let v = std::process::Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(pki.join("ca.crt"))
        .arg(pki.join("apiserver.crt"))
        .output()
        .unwrap();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
    for f in ["/etc/kubernetes/scheduler.conf", "/etc/kubernetes/manifests/etcd.yaml"] {
        let doc = kbinit_phases::go_format::yaml::from_yaml(&tn.node.read_str(f)).unwrap();
        assert!(doc.get("kind").is_some(), "{f}: {doc}");
    }
}

const LB: &str = "10.79.0.100";

fn join_config(token: &str, pin: &str, key: &str) -> String {
    format!(
        "apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: {LB}:6443
    token: {token}
    caCertHashes: [\"{pin}\"]
nodeRegistration:
  name: cp2
  criSocket: unix:///run/containerd/containerd.sock
  ignorePreflightErrors: [all]
timeouts:
  etcdAPICall: 1m
  tlsBootstrap: 60s
  discovery: 60s
controlPlane:
  localAPIEndpoint:
    advertiseAddress: 10.79.0.2
    bindPort: 6443
  certificateKey: {key}
"
    )
}

/// `etcdctl member list` through cp1's etcd: (status, name, peer URL, is learner).
fn members(cp1: &TestNode) -> Vec<(String, String, String, bool)> {
    let pki = cp1.node.path("/etc/kubernetes/pki");
    let o = cp1
        .ns
        .command("etcdctl")
        .env("ETCDCTL_API", "3")
        .arg("--endpoints=https://10.79.0.1:2379")
        .arg(format!("--cacert={}", pki.join("etcd/ca.crt").display()))
        .arg(format!("--cert={}", pki.join("etcd/healthcheck-client.crt").display()))
        .arg(format!("--key={}", pki.join("etcd/healthcheck-client.key").display()))
        .args(["member", "list"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "member list: {text}{}", String::from_utf8_lossy(&o.stderr));
    let mut m: Vec<_> = text
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(", ").collect();
            (f[1].to_string(), f[2].to_string(), f[3].to_string(), f.get(5) == Some(&"true"))
        })
        .collect();
    m.sort();
    m
}

/// The two members an HA pair must end with: both started, both voting, one each.
fn two_voting_members() -> Vec<(String, String, String, bool)> {
    (1..=2u8).map(|i| ("started".to_string(), format!("cp{i}"), format!("https://10.79.0.{i}:2380"), false)).collect()
}

/// Resets cp2 and waits until etcd is back to cp1 alone.
fn reset_cp2(cp1: &TestNode, cp2: &TestNode) -> Result<(), String> {
    let run = cp2.kbinit(&["reset", "--force"]);
    if run.code != 0 {
        return Err(format!("reset failed\n{}\n{}", run.stdout, run.stderr));
    }
    let m = members(cp1);
    if m.len() != 1 {
        return Err(format!("after reset etcd still has {m:?}\n{}", run.stdout));
    }
    Ok(())
}

/// The join boundaries to kill at: after every leaf phase that ran (the last one, mark-control-plane, ends the
/// run), and as the etcd member is being added and the kubelet started.
fn join_boundaries(leaves: &[String]) -> Vec<At> {
    let mut all: Vec<At> = leaves[..leaves.len().saturating_sub(1)].iter().map(|p| At::End(p.clone())).collect();
    all.extend(["etcd-join", "kubelet-start", "control-plane-prepare/download-certs"].map(|p| At::Start(p.into())));
    all
}

#[test]
fn control_plane_join_killed_at_each_phase_boundary_converges_on_rerun() {
    if !require_tool("etcd") || !require_tool("etcdctl") || !require_tool("ip") {
        return;
    }
    let api = FakeApi::new();
    let lan = Lan::create("krj", LB);
    let cp1 = TestNode::start("krj1", "cp1", &[], &api, true);
    let cp2 = TestNode::start("krj2", "cp2", &[], &api, false);
    lan.attach(&cp1.ns, "10.79.0.1");
    lan.attach(&cp2.ns, "10.79.0.2");
    let _lb = lan.balancer(
        format!("{LB}:6443").parse().unwrap(),
        vec!["10.79.0.1:6443".parse().unwrap(), "10.79.0.2:6443".parse().unwrap()],
    );
    let cfg1 = cp1.config(&init_config("10.79.0.1", LB));
    let run = cp1.kbinit(&["init", "--config", &cfg1, "--upload-certs"]);
    assert_eq!(run.code, 0, "init on cp1\n{}\n{}", run.stdout, run.stderr);
    let token = run.stdout.lines().find_map(|l| l.strip_prefix("[bootstrap-token] Using token: ")).unwrap();
    let key = run.stdout.lines().skip_while(|l| *l != "[upload-certs] Using certificate key:").nth(1).unwrap();
    let pin = run.stdout.split_whitespace().find(|w| w.starts_with("sha256:")).unwrap();
    let cfg2 = cp2.config(&join_config(token, pin, key));
    let join = ["join", "--config", cfg2.as_str()];

    // the reference: one uninterrupted join
    let (leaves, _) = run_jsonl(&cp2, &join);
    let want_files = file_set(cp2.node.root());
    assert_eq!(members(&cp1), two_voting_members());
    eprintln!("uninterrupted join: {leaves:?}, {} files", want_files.len());
    for top in ["preflight", "control-plane-prepare", "kubelet-start", "etcd-join", "control-plane-join"] {
        assert!(leaves.iter().any(|l| l.split('/').next() == Some(top)), "{top} did not run: {leaves:?}");
    }
    reset_cp2(&cp1, &cp2).unwrap();

    let boundaries = join_boundaries(&leaves);
    let mut failures = Vec::new();
    for at in &boundaries {
        let started = std::time::Instant::now();
        run_killed(&cp2, &join, at);
        let kept = credentials(cp2.node.root());
        let rerun = cp2.kbinit(&join);
        let mut why = String::new();
        if rerun.code != 0 {
            why.push_str(&format!(
                "  re-run exit {}\nstdout:\n{}\nstderr:\n{}\nstand-in: {:?}\n",
                rerun.code,
                rerun.stdout,
                rerun.stderr,
                cp2.standin.events()
            ));
        } else {
            for name in LEFTOVER_FINDINGS {
                if rerun.stderr.contains(name) {
                    why.push_str(&format!("  its own leftovers reported as a finding ({name}):\n{}\n", rerun.stderr));
                }
            }
            let files = file_set(cp2.node.root());
            if files != want_files {
                why.push_str(&format!("  file set differs:\n{}", set_diff(&want_files, &files)));
            }
            let now = credentials(cp2.node.root());
            for (path, bytes) in &kept {
                if now.get(path) != Some(bytes) {
                    why.push_str(&format!("  {path} was written before the kill but not reused by the re-run\n"));
                }
            }
        }
        let m = members(&cp1);
        if m != two_voting_members() {
            why.push_str(&format!("  etcd members: {m:?}\n"));
        }
        if !why.is_empty() {
            failures.push(format!("killed at {at:?}:\n{why}"));
        }
        eprintln!("join killed at {at:?}: re-run exit {} ({:.1}s)", rerun.code, started.elapsed().as_secs_f64());
        if let Err(e) = reset_cp2(&cp1, &cp2) {
            failures.push(format!("after the case killed at {at:?}: {e}"));
            break;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} join boundaries did not converge:\n{}",
        failures.len(),
        boundaries.len(),
        failures.join("\n")
    );
}
