//! `upgrade apply`'s cluster health checks on one control-plane node (second-newest minor → newest): a NotReady
//! control plane fails preflight (exit 2, kubeadm's text, the node named, nothing changed), `--dry-run` only says
//! it would create the health-check Job, and `--ignore-preflight-errors=ControlPlaneNodesReady` lets the upgrade
//! through, with the Job created as kubeadm creates it (read back from the fake store) and completed by the fake's
//! Job stand-in.
//!
//! fake-api: the newest minors of kbinit's table have no real binaries in ../shared/k8s (only v1.28.7 and v1.33.3).

use std::time::{Duration, Instant};

use kbinit_phases::version::{KubeVersion, MAX_MINOR};
use serde_json::{Value, json};

use super::{manifests, ok, upgrade_config};
use crate::support::fakeapi::FakeApi;
use crate::support::nodes::testnode::{TestNode, init_config};
use crate::support::require_tool;

const ADDRESS: &str = "192.0.2.32";
const JOBS: &str = "/apis/batch/v1/namespaces/kube-system/jobs";

fn wait_posted(cp: &TestNode, ready: bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while cp.standin.posted_ready() != Some(ready) {
        assert!(Instant::now() < deadline, "the kubelet never posted Ready={ready}: {:?}", cp.standin.events());
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn ready_status(api: &FakeApi) -> String {
    let node = api.object("/api/v1/nodes/cp1").expect("Node cp1");
    let conditions = node.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default();
    let ready = conditions.iter().find(|c| c["type"] == "Ready").expect("a Ready condition");
    ready["status"].as_str().unwrap_or_default().to_string()
}

#[test]
fn health_checks_stop_a_notready_control_plane_and_run_kubeadms_job() {
    if !require_tool("etcd") || !require_tool("etcdctl") || !require_tool("ip") {
        return;
    }
    let old = KubeVersion::resolve(&format!("v1.{}.0", MAX_MINOR - 1)).unwrap();
    let new = KubeVersion::resolve(&format!("v1.{MAX_MINOR}.0")).unwrap();
    let api = FakeApi::new();
    let cp = TestNode::start("uphc", "cp1", &[ADDRESS], &api, true);
    let cfg = cp.config(&init_config(&old.to_string(), ADDRESS, ADDRESS));
    ok(cp.kbinit(&["init", "--config", &cfg]), "init", &cp);
    wait_posted(&cp, true);
    assert_eq!(ready_status(&api), "True", "the kubelet stand-in reports its Node Ready");
    let up = upgrade_config(&cp);
    let target = new.to_string();
    let apply = ["upgrade", "apply", &target, "--yes", "--config", &up];

    // a NotReady control plane: preflight fails with kubeadm's text, exit 2, nothing on disk changes
    cp.standin.set_ready(false);
    wait_posted(&cp, false);
    assert_eq!(ready_status(&api), "False");
    let before = manifests(&cp);
    let run = cp.kbinit(&apply);
    assert_eq!(run.code, 2, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let want = "[upgrade/health] FATAL: [preflight] Some fatal errors occurred:\n\t[ERROR ControlPlaneNodesReady]: \
                there are NotReady control-planes in the cluster: [cp1]\n[preflight] If you know what you are doing, \
                you can make a check non-fatal with `--ignore-preflight-errors=...`";
    assert!(run.stderr.contains(want), "{}", run.stderr);
    assert!(run.stdout.contains("[upgrade] Running cluster health checks"), "{}", run.stdout);
    assert!(!run.stdout.contains("You have chosen to upgrade"), "nothing past the health checks ran: {}", run.stdout);
    assert_eq!(manifests(&cp), before, "every manifest is byte for byte as it was");
    // CreateJob ran first, as in kubeadm (all checks run before the verdict)
    let jobs_after_failure = api.objects(JOBS).len();
    assert_eq!(jobs_after_failure, 1, "the CreateJob check ran before ControlPlaneNodesReady");

    // --dry-run: the Would-create line, a warning for the ignored check, no Job, nothing on disk
    let ignore = "--ignore-preflight-errors=ControlPlaneNodesReady";
    let run = ok(cp.kbinit(&[&apply[..], &["--dry-run", ignore]].concat()), "apply --dry-run", &cp);
    assert!(
        run.stdout.contains(
            "[upgrade/health] Would create the Job with the prefix \"upgrade-health-check\" in namespace \"kube-system\" and wait until it completes"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr
            .contains("\t[WARNING ControlPlaneNodesReady]: there are NotReady control-planes in the cluster: [cp1]"),
        "{}",
        run.stderr
    );
    assert_eq!(api.objects(JOBS).len(), jobs_after_failure, "the dry run created no Job");
    assert_eq!(manifests(&cp), before, "the dry run changed no manifest");

    // the check ignored: the upgrade goes through, after kubeadm's Job completed
    let run = ok(cp.kbinit(&[&apply[..], &[ignore]].concat()), "apply ignoring ControlPlaneNodesReady", &cp);
    assert!(run.stdout.contains("[upgrade] SUCCESS!"), "{}", run.stdout);
    assert!(run.stderr.contains("[WARNING ControlPlaneNodesReady]"), "{}", run.stderr);
    assert_ne!(manifests(&cp)["kube-apiserver"], before["kube-apiserver"], "the upgrade went on");
    let jobs = api.objects(JOBS);
    assert_eq!(jobs.len(), jobs_after_failure + 1, "one more health-check Job");
    let job = jobs.iter().max_by_key(|j| j["metadata"]["resourceVersion"].as_str().unwrap().parse::<u64>().unwrap());
    let job = job.unwrap();
    let name = job["metadata"]["name"].as_str().unwrap();
    assert_eq!(job["metadata"]["generateName"], "upgrade-health-check-");
    assert!(name.len() == "upgrade-health-check-".len() + 5 && name.starts_with("upgrade-health-check-"), "{name}");
    assert_eq!(job["metadata"]["namespace"], "kube-system");
    let timeout = if new.at_least(36) { 60 } else { 15 };
    assert_eq!(
        job["spec"],
        json!({
            "backoffLimit": 0,
            "activeDeadlineSeconds": timeout,
            "ttlSecondsAfterFinished": timeout + 5,
            "template": {"spec": {
                "restartPolicy": "Never",
                "securityContext": {"runAsUser": 999, "runAsGroup": 999, "runAsNonRoot": true},
                "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}],
                "containers": [{
                    "name": "upgrade-health-check",
                    "image": format!("registry.k8s.io/pause:{}", new.pause_tag()),
                    "args": ["-v"],
                }],
            }},
        }),
        "kubeadm's Job spec, and nothing else"
    );
    assert_eq!(job["status"]["conditions"][0]["type"], "Complete", "the Job stand-in completed it");
}
