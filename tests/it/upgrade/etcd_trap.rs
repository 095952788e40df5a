//! etcd's 3.5 → 3.6 trap on a netns node: a v1.33 cluster (etcd 3.5.21) going to v1.34 (etcd 3.6.4). `upgrade
//! plan` warns, `upgrade apply` refuses it as the preflight check EtcdZombieRisk (exit 2, nothing changed, no
//! snapshot taken), and goes on when the check is ignored; a dry run names the snapshot it would take, unless
//! `--etcd-snapshot=false`.
//!
//! fake-api: the target v1.34 has no real binaries in ../shared/k8s (only v1.28.7 and v1.33.3).

use super::{manifests, ok, upgrade_config};
use crate::support::fakeapi::FakeApi;
use crate::support::nodes::testnode::{TestNode, init_config};
use crate::support::require_tool;

const ADDRESS: &str = "192.0.2.35";

#[test]
fn etcd_35_below_3526_to_36_is_warned_in_plan_and_refused_in_apply() {
    if !require_tool("etcd") || !require_tool("ip") {
        return;
    }
    let api = FakeApi::new();
    let cp = TestNode::start("uptrap", "cp1", &[ADDRESS], &api, true);
    let cfg = cp.config(&init_config("v1.33.0", ADDRESS, ADDRESS));
    ok(cp.kbinit(&["init", "--config", &cfg]), "init", &cp);
    let up = upgrade_config(&cp);

    let plan = ok(cp.kbinit(&["upgrade", "plan", "v1.34.0"]), "plan", &cp);
    assert!(plan.stderr.contains("etcd 3.5.21 → 3.6.4") && plan.stderr.contains("3.5.26"), "{}", plan.stderr);

    let before = manifests(&cp);
    let run = cp.kbinit(&["upgrade", "apply", "v1.34.0", "--yes", "--config", &up]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("[ERROR EtcdZombieRisk]: etcd 3.5.21 → 3.6.4"), "{}", run.stderr);
    assert_eq!(manifests(&cp), before, "nothing changed");
    assert!(!cp.node.path("/var/lib/kbinit/etcd-snapshots").exists(), "no snapshot before a refusal");

    let told = [
        "upgrade",
        "apply",
        "v1.34.0",
        "--yes",
        "--dry-run",
        "--config",
        &up,
        "--ignore-preflight-errors",
        "EtcdZombieRisk,ImagePull",
    ];
    let run = ok(cp.kbinit(&told), "dry run told to go on", &cp);
    assert!(run.stderr.contains("EtcdZombieRisk") && run.stderr.contains("ignored"), "{}", run.stderr);
    assert!(
        run.stdout
            .contains("[dryrun] Would take an etcd snapshot \"/var/lib/kbinit/etcd-snapshots/pre-upgrade-v1.34.0-"),
        "{}",
        run.stdout
    );
    let run = ok(cp.kbinit(&[&told[..], &["--etcd-snapshot=false"]].concat()), "dry run without a snapshot", &cp);
    assert!(!run.stdout.contains("etcd snapshot"), "{}", run.stdout);
    assert_eq!(manifests(&cp), before, "a dry run changes nothing");
}
