//! The field-effect test for ResetConfiguration (`kbinit reset --config`): each field set, `reset --dry-run` on a
//! fresh root compared with the run without it; fields that steer what reset does rather than what it lists
//! (the CRI socket it removes containers through, the umount2 flags, the confirmation) reach the parsed
//! configuration that reset's flow lays under its flags.

use kbinit_phases::config::reset::{field_paths, parse_reset_configuration};
use serde_json::json;

use crate::support::Node;

enum Effect {
    /// The dry run prints this, which the run without the field does not.
    Says(&'static str),
    /// The dry run's output changes.
    Output,
    /// The parsed configuration changes; the text names where reset acts on it.
    Resolved(&'static str),
}
use Effect::*;

fn dry_run(text: &str) -> (i32, String) {
    let node = Node::new();
    let cfg = node.root().join("reset.yaml");
    std::fs::write(&cfg, text).unwrap();
    let run = node.kbinit(&["reset", "--dry-run", "--config", cfg.to_str().unwrap()]);
    (run.code, format!("{}{}", run.stdout, run.stderr))
}

#[test]
fn every_reset_configuration_field_has_its_effect() {
    #[rustfmt::skip]
    let cases = [
        ("cleanupTmpDir", json!(true), Says("/etc/kubernetes/tmp]")),
        ("certificatesDir", json!("/srv/pki"), Says("Cleaning a non-default certificate directory: \"/srv/pki\"")),
        ("criSocket", json!("unix:///var/run/crio/crio.sock"), Resolved("reset removes the containers through it (src/flows/reset/node.rs)")),
        ("dryRun", json!(true), Resolved("reset lists instead of deleting (src/flows/reset/mod.rs)")),
        ("force", json!(true), Resolved("reset does not ask for confirmation (src/flows/reset/mod.rs run_preflight)")),
        ("ignorePreflightErrors", json!(["all"]), Resolved("reset's preflight (src/preflight run_reset)")),
        ("skipPhases", json!(["cleanup-node"]), Output),
        ("unmountFlags", json!(["MNT_DETACH"]), Resolved("the umount2 flags for the mounts under /var/lib/kubelet (src/flows/reset/node.rs)")),
    ];
    let head = json!({"apiVersion": "kubeadm.k8s.io/v1beta4", "kind": "ResetConfiguration"});
    let (code, base) = dry_run(&head.to_string());
    assert_eq!(code, 0, "{base}");
    let parsed = |t: &str| format!("{:?}", parse_reset_configuration(t).map(|c| c.0));
    let mut failures = Vec::new();
    let paths = field_paths().unwrap();
    for p in &paths {
        if !cases.iter().any(|c| c.0 == p) {
            failures.push(format!("ResetConfiguration.{p}: no expectation (give it one in tests/it/fields/reset.rs)"));
        }
    }
    for (path, value, effect) in &cases {
        if !paths.iter().any(|p| p == path) {
            failures.push(format!("ResetConfiguration.{path}: expectation for a field that does not exist"));
            continue;
        }
        let mut doc = head.clone();
        doc[*path] = value.clone();
        let text = doc.to_string();
        let (code, out) = dry_run(&text);
        let ok = code == 0
            && match effect {
                Says(m) => out.contains(m) && !base.contains(m),
                Output => out != base,
                Resolved(_) => parsed(&text) != parsed(&head.to_string()),
            };
        if !ok {
            let why = if let Resolved(w) = effect { w } else { "" };
            failures.push(format!("ResetConfiguration.{path}: no effect {why} (exit {code}):\n{out}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
