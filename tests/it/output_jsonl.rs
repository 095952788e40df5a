//! `--output jsonl`: every stdout line is one JSON event; phase starts and ends nest and pair up in order; the
//! files listed are the files on disk (path, mode, SHA-256); a failing run ends with a failed phase and a failed
//! `done`; no event but a `log` line carries a token secret or the certificate key.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde_json::Value;

use crate::support::{Node, Run, kbinit};

const TOKEN: &str = "abcdef.0123456789abcdef";
const TOKEN_SECRET: &str = "0123456789abcdef";
const CERT_KEY: &str = "3b1a5c0e9d8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b";

/// Every stdout line parsed as a JSON object with an `event` and a `time`.
fn events(run: &Run) -> Vec<Value> {
    assert!(!run.stdout.is_empty(), "no output; stderr:\n{}", run.stderr);
    run.stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
            assert!(v["event"].is_string() && v["time"].is_string(), "{l}");
            v
        })
        .collect()
}

fn of<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == kind).collect()
}

/// Phase events nest like a stack (a child starts and ends inside its parent), every start has its end, and
/// `done` comes last, once. Returns the ended phases in order with their status.
fn check_phases(events: &[Value]) -> Vec<(String, String)> {
    let mut open: Vec<String> = Vec::new();
    let mut ended = Vec::new();
    for e in events {
        match e["event"].as_str().unwrap() {
            "phase-start" => {
                let p = e["phase"].as_str().unwrap().to_string();
                if let Some(parent) = open.last() {
                    assert!(p.starts_with(&format!("{parent}/")), "{p} starts inside {parent}, not its parent");
                }
                open.push(p);
            }
            "phase-end" => {
                let p = e["phase"].as_str().unwrap();
                assert_eq!(open.pop().as_deref(), Some(p), "phase-end {p} does not close the innermost open phase");
                assert!(e["duration_ms"].is_u64(), "{e}");
                let status = e["status"].as_str().unwrap().to_string();
                assert!(["ok", "error", "skipped"].contains(&status.as_str()), "{e}");
                assert_eq!(e.get("error").is_some(), status == "error", "{e}");
                ended.push((p.to_string(), status));
            }
            _ => {}
        }
    }
    assert!(open.is_empty(), "phases never ended: {open:?}");
    assert_eq!(of(events, "done").len(), 1);
    assert_eq!(events.last().unwrap()["event"], "done");
    ended
}

/// Every `file` event names a file on disk with that mode and content hash; returns the node paths.
fn check_files(events: &[Value], dry_run: bool) -> Vec<String> {
    let files = of(events, "file");
    assert!(!files.is_empty(), "no file events");
    files
        .iter()
        .map(|f| {
            let path = Path::new(f["path"].as_str().unwrap());
            let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let mode = std::fs::metadata(path).unwrap().mode() & 0o7777;
            assert_eq!(f["mode"], format!("{mode:04o}"), "{}", path.display());
            assert_eq!(f["sha256"], ::kbinit::events::sha256_hex(&bytes), "{}", path.display());
            assert_eq!(f["dry_run"], dry_run);
            let node_path = f["node_path"].as_str().unwrap();
            assert!(path.ends_with(node_path.trim_start_matches('/')), "{f}");
            node_path.to_string()
        })
        .collect()
}

/// No event other than `log` lines mentions the token secret or the certificate key.
fn check_no_secrets(events: &[Value]) {
    for e in events.iter().filter(|e| e["event"] != "log") {
        let text = e.to_string();
        assert!(!text.contains(TOKEN_SECRET) && !text.contains(CERT_KEY), "a secret in an event: {text}");
    }
}

#[test]
fn certs_and_kubeconfigs_list_every_file_written_with_mode_and_hash() {
    let node = Node::new();
    let certs = events(&node.kbinit(&["init", "phase", "certs", "all", "--output", "jsonl"]).ok());
    let ended = check_phases(&certs);
    assert_eq!(ended.first().map(|(p, _)| p.as_str()), Some("certs/ca"), "children end before their parent");
    assert_eq!(ended.last(), Some(&("certs".to_string(), "ok".to_string())), "the parent ends last: {ended:?}");
    let written = check_files(&certs, false);
    assert!(written.contains(&"/etc/kubernetes/pki/ca.key".to_string()), "{written:?}");
    assert!(written.contains(&"/etc/kubernetes/pki/sa.pub".to_string()), "{written:?}");
    // every file on disk under pki was announced
    let on_disk = crate::support::files(node.root());
    for f in on_disk.iter().filter(|f| f.starts_with("/etc/kubernetes/pki/")) {
        assert!(written.contains(f), "{f} was written without a file event");
    }
    let done = of(&certs, "done")[0];
    assert_eq!((done["status"].as_str(), done["exit_code"].as_u64()), (Some("ok"), Some(0)));
    // human lines are kept as log events
    assert!(of(&certs, "log").iter().any(|l| l["line"] == "[certs] Generating \"ca\" certificate and key"));

    let kc = events(&node.kbinit(&["init", "phase", "kubeconfig", "all", "--output", "jsonl"]).ok());
    check_phases(&kc);
    let written = check_files(&kc, false);
    assert!(written.contains(&"/etc/kubernetes/admin.conf".to_string()), "{written:?}");
    for f in of(&kc, "file") {
        assert_eq!(f["mode"], "0600", "kubeconfigs hold credentials: {f}");
    }
}

#[test]
fn a_failing_phase_ends_in_error_and_done_says_so() {
    let node = Node::new();
    let run = node.kbinit(&["init", "phase", "kubeconfig", "all", "--output", "jsonl"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let evs = events(&run);
    let ended = check_phases(&evs);
    // the failing sub-phase first, then its parent, both failed
    assert_eq!(ended, [("kubeconfig/admin".into(), "error".into()), ("kubeconfig".into(), "error".into())]);
    let failed = of(&evs, "phase-end")[0];
    let cause = failed["error"].as_str().unwrap();
    assert!(
        cause.contains("/etc/kubernetes/pki/ca.crt") && cause.contains("does not exist"),
        "names the path: {cause}"
    );
    let done = of(&evs, "done")[0];
    assert_eq!((done["status"].as_str(), done["exit_code"].as_u64()), (Some("error"), Some(1)));
    assert!(done["error"].as_str().unwrap().starts_with("error execution phase kubeconfig/admin: "), "{done}");
    // the human error still goes to stderr in kubeadm's form
    assert!(run.stderr.contains("error execution phase kubeconfig/admin: "), "{}", run.stderr);
    assert!(of(&evs, "file").is_empty(), "nothing was written");
}

#[test]
fn invalid_input_before_any_phase_still_ends_with_done() {
    let run = kbinit(&["join", "--output", "jsonl", "--root", "/nonexistent-kbinit-root"]);
    assert_ne!(run.code, 0);
    let evs = events(&run);
    assert!(of(&evs, "phase-start").is_empty());
    let done = of(&evs, "done")[0];
    assert_eq!(done["status"], "error");
    assert_eq!(done["exit_code"].as_u64(), Some(run.code as u64));
}

#[test]
fn dry_run_lists_files_in_the_dry_run_directory_and_api_calls_not_sent() {
    let node = Node::new();
    // the sample input with a fixed token and certificate key, to look for them in the events
    let sample = std::fs::read_to_string(crate::support::repo().join("examples/init-config.yaml")).unwrap();
    let with_secrets = sample.replacen(
        "kind: InitConfiguration\n",
        &format!("kind: InitConfiguration\ncertificateKey: {CERT_KEY}\nbootstrapTokens:\n- token: {TOKEN}\n"),
        1,
    );
    node.put("/kbinit.yaml", with_secrets.as_bytes());
    let config = node.path("/kbinit.yaml");
    let run = node
        .kbinit(&[
            "init",
            "--dry-run",
            "--upload-certs",
            "--ignore-preflight-errors=all",
            "--config",
            config.to_str().unwrap(),
            "--output",
            "jsonl",
        ])
        .ok();
    let evs = events(&run);
    let ended = check_phases(&evs);
    for phase in ["preflight", "certs/ca", "kubeconfig/admin", "upload-certs", "bootstrap-token", "show-join-command"] {
        assert!(ended.iter().any(|(p, s)| p == phase && s == "ok"), "{phase} did not end ok: {ended:?}");
    }
    let written = check_files(&evs, true);
    assert!(written.contains(&"/etc/kubernetes/manifests/kube-apiserver.yaml".to_string()), "{written:?}");
    assert!(crate::support::files(node.root()).iter().all(|f| !f.starts_with("/etc/kubernetes")), "root untouched");
    let api = of(&evs, "api");
    assert!(api.len() >= 30, "{} API events", api.len());
    for a in &api {
        assert_eq!((a["status"].as_str(), a["dry_run"].as_bool()), (Some("dry-run"), Some(true)), "{a}");
    }
    assert!(
        api.iter().any(|a| a["verb"] == "CREATE" && a["resource"] == "secrets" && a["namespace"] == "kube-system"),
        "the kubeadm-certs Secret's creation is listed with its namespace"
    );
    check_no_secrets(&evs);
    // the join command kubeadm prints on purpose is still there, as log lines
    assert!(of(&evs, "log").iter().any(|l| l["line"].as_str().unwrap().contains(TOKEN)));
    // text mode prints no JSON
    let text =
        node.kbinit(&["init", "--dry-run", "--ignore-preflight-errors=all", "--config", config.to_str().unwrap()]).ok();
    assert!(!text.stdout.lines().any(|l| l.starts_with("{\"")), "JSON in text mode");
}
