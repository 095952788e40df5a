//! The Job stand-in: the Job controller together with a kubelet that runs the Job's Pod. A Job without a
//! `Complete` or `Failed` condition completes on the next controller pass when the cluster has a Node that could
//! run its Pod: not `spec.unschedulable`, and every `NoSchedule`/`NoExecute` taint of it tolerated by the Pod
//! template. It then gets `status.conditions: [{type: Complete, status: "True"}]`, `succeeded: 1`, start and
//! completion times, as a v1.28 Job controller writes them for a Pod that exited 0 (what the pause image does
//! with `-v`, which kubeadm's `CreateJob` health check runs).
//!
//! Simplified: no Pods are created, the Node's `Ready` condition is not looked at (the node lifecycle
//! controller's `not-ready` taint is not modelled), and `ttlSecondsAfterFinished` is not acted on (no TTL
//! controller: a finished Job stays in the store, where tests can read it back).

use serde_json::{Value, json};

use super::resources::by_path;
use super::store::{Store, now_rfc3339, str_at};

fn tolerated(taint: &Value, tolerations: &[Value]) -> bool {
    tolerations.iter().any(|t| {
        let key_ok = str_at(t, "/key").is_empty() && str_at(t, "/operator") == "Exists"
            || str_at(t, "/key") == str_at(taint, "/key")
                && (str_at(t, "/operator") == "Exists" || str_at(t, "/value") == str_at(taint, "/value"));
        let effect_ok = str_at(t, "/effect").is_empty() || str_at(t, "/effect") == str_at(taint, "/effect");
        key_ok && effect_ok
    })
}

fn can_run(node: &Value, tolerations: &[Value]) -> bool {
    if node.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        return false;
    }
    let taints = node.pointer("/spec/taints").and_then(Value::as_array).cloned().unwrap_or_default();
    taints
        .iter()
        .filter(|t| matches!(str_at(t, "/effect"), "NoSchedule" | "NoExecute"))
        .all(|t| tolerated(t, tolerations))
}

fn finished(job: &Value) -> bool {
    let conditions = job.pointer("/status/conditions").and_then(Value::as_array);
    conditions.is_some_and(|c| c.iter().any(|x| matches!(str_at(x, "/type"), "Complete" | "Failed")))
}

/// One pass: completes every unfinished Job some Node can run.
pub fn complete_jobs(store: &mut Store) {
    let (Some(jobs), Some(nodes)) = (by_path("batch", "v1", "jobs"), by_path("", "v1", "nodes")) else { return };
    let all_nodes = store.list(nodes, "");
    for job in store.list(jobs, "") {
        if finished(&job) {
            continue;
        }
        let tolerations =
            job.pointer("/spec/template/spec/tolerations").and_then(Value::as_array).cloned().unwrap_or_default();
        if !all_nodes.iter().any(|n| can_run(n, &tolerations)) {
            continue;
        }
        let now = now_rfc3339();
        let mut new = job.clone();
        new["status"] = json!({
            "startTime": now, "completionTime": now, "succeeded": 1, "ready": 0,
            "uncountedTerminatedPods": {},
            "conditions": [{"type": "Complete", "status": "True", "lastProbeTime": now, "lastTransitionTime": now}],
        });
        store.put(jobs, new);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taints_need_tolerations() {
        let cp =
            json!({"spec": {"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]}});
        let tol = [json!({"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"})];
        assert!(can_run(&cp, &tol));
        assert!(!can_run(&cp, &[]));
        assert!(can_run(&cp, &[json!({"operator": "Exists"})]));
        assert!(!can_run(&json!({"spec": {"unschedulable": true}}), &tol));
        let prefer = json!({"spec": {"taints": [{"key": "x", "effect": "PreferNoSchedule"}]}});
        assert!(can_run(&prefer, &[]));
    }
}
