//! Phase `mark-control-plane` (§F row 12): the control-plane labels and the configured taints on this node, and the
//! two lines kubeadm prints. `nodeRegistration.taints` decides the taints: an empty list adds none.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Taint;

use crate::api::{ApiOp, ApiStep, NodeChange};
use crate::config;

/// Labels every control-plane node gets, in the order kubeadm prints them.
pub const CONTROL_PLANE_LABELS: [&str; 2] =
    ["node-role.kubernetes.io/control-plane", "node.kubernetes.io/exclude-from-external-load-balancers"];

/// A configured taint as the API writes it.
pub fn api_taint(t: &config::Taint) -> Taint {
    Taint {
        key: t.key.clone(),
        value: (!t.value.is_empty()).then(|| t.value.clone()),
        effect: t.effect.clone(),
        time_added: (!t.time_added.is_empty())
            .then(|| serde_json::from_value(serde_json::Value::String(t.time_added.clone())).ok())
            .flatten(),
    }
}

/// A taint as Go's `Taint.ToString` writes it: `key=value:effect`, `key:effect` without a value.
fn taint_text(t: &config::Taint) -> String {
    match (t.value.is_empty(), t.effect.is_empty()) {
        (true, false) => format!("{}:{}", t.key, t.effect),
        (false, false) => format!("{}={}:{}", t.key, t.value, t.effect),
        (true, true) => t.key.clone(),
        (false, true) => format!("{}={}", t.key, t.value),
    }
}

/// The mark-control-plane lines and node change for node `node` with the configured `taints`.
pub fn plan_mark_control_plane(node: &str, taints: &[config::Taint]) -> Vec<ApiStep> {
    let mut steps = vec![ApiStep::say(format!(
        "[mark-control-plane] Marking the node {node} as control-plane by adding the labels: [{}]",
        CONTROL_PLANE_LABELS.join(" ")
    ))];
    if !taints.is_empty() {
        let texts: Vec<String> = taints.iter().map(taint_text).collect();
        steps.push(ApiStep::say(format!(
            "[mark-control-plane] Marking the node {node} as control-plane by adding the taints [{}]",
            texts.join(" ")
        )));
    }
    let change = NodeChange {
        labels: CONTROL_PLANE_LABELS.iter().map(|l| (l.to_string(), String::new())).collect::<BTreeMap<_, _>>(),
        annotations: BTreeMap::new(),
        taints: (!taints.is_empty()).then(|| taints.iter().map(api_taint).collect()),
    };
    steps.push(ApiStep::op(ApiOp::PatchNode { name: node.to_string(), change }));
    steps
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use k8s_openapi::api::core::v1::Node;

    fn taint(key: &str, value: &str, effect: &str) -> config::Taint {
        config::Taint { key: key.into(), value: value.into(), effect: effect.into(), time_added: String::new() }
    }

    #[test]
    fn empty_taint_list_adds_no_taints_and_no_taint_line() {
        let steps = plan_mark_control_plane("cp1", &[]);
        assert_eq!(steps.len(), 2);
        let ApiStep::Op(op) = &steps[1] else { panic!("expected the node change") };
        let ApiOp::PatchNode { change, .. } = op.as_ref() else { panic!("expected a node patch") };
        assert_eq!(change.taints, None);
        let patch = change.patch_for(&Node::default()).unwrap();
        assert!(patch.get("spec").is_none());
    }

    #[test]
    fn custom_taints_print_like_go() {
        let steps = plan_mark_control_plane("n", &[taint("a", "b", "NoExecute"), taint("c", "", "NoSchedule")]);
        assert_eq!(
            steps[1],
            ApiStep::say(
                "[mark-control-plane] Marking the node n as control-plane by adding the taints [a=b:NoExecute c:NoSchedule]"
            )
        );
        let ApiStep::Op(op) = &steps[2] else { panic!("expected the node change") };
        let ApiOp::PatchNode { change, .. } = op.as_ref() else { panic!("expected a node patch") };
        let patch = change.patch_for(&Node::default()).unwrap();
        assert_eq!(patch["spec"]["taints"][0], serde_json::json!({"effect": "NoExecute", "key": "a", "value": "b"}));
    }
}
