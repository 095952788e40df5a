//! The kubelet stand-in's Node status: once its Node is registered, the kubelet posts the `Ready` condition
//! (`True`, reason `KubeletReady`, as a real kubelet's status update does) through `nodes/<name>/status` with its
//! own credentials; a test can make the node NotReady (`False`, reason `KubeletNotReady`), as a kubelet whose
//! container runtime or network is down reports it. Only the `Ready` condition is modelled, and it is posted
//! when it changes rather than every `nodeStatusUpdateFrequency`. When the kubelet stops (its `kubelet.conf` is
//! gone, e.g. after `kbinit reset`), the Node's `Ready` turns `Unknown` at once, as the node lifecycle controller
//! sets it once `node-monitor-grace-period` passed without a status update (a node may then join again under
//! its name: join refuses only a `Ready` Node of that name).

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use crate::support::fakeapi::FakeApi;

/// PATCHes the Node's status with a `Ready` condition of `ready`; `Ok(false)` while the API server does not answer.
pub fn post_ready(root: &Path, node_name: &str, ready: bool) -> Result<bool, String> {
    let text = std::fs::read_to_string(root.join("etc/kubernetes/kubelet.conf")).map_err(|e| e.to_string())?;
    let c = kbinit::api::Cluster::from_kubeconfig_text(&text, Duration::from_secs(5)).map_err(|e| format!("{e:#}"))?;
    let nodes = kbinit_phases::api::ResourceType::of::<k8s_openapi::api::core::v1::Node>();
    let t = time::OffsetDateTime::now_utc();
    let now = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let (status, reason, message) = if ready {
        ("True", "KubeletReady", "kubelet is posting ready status")
    } else {
        ("False", "KubeletNotReady", "container runtime network not ready: NetworkReady=false")
    };
    let patch = json!({"status": {"conditions": [{
        "type": "Ready", "status": status, "reason": reason, "message": message,
        "lastHeartbeatTime": now, "lastTransitionTime": now,
    }]}});
    let path = format!("{}/status", nodes.item_path(None, node_name));
    let body = serde_json::to_vec(&patch).unwrap();
    match c.call_once(http::Method::PATCH, &path, Some(("application/strategic-merge-patch+json", body))) {
        Ok(_) => Ok(true),
        Err(e) if e.code().is_none() => Ok(false), // not up yet
        Err(e) => Err(format!("posting the status of Node {node_name}: {e}")),
    }
}

/// What the node lifecycle controller writes for a Node whose kubelet stopped posting: `Ready` `Unknown`.
pub fn kubelet_stopped(api: &FakeApi, node_name: &str) {
    let path = format!("/api/v1/nodes/{node_name}");
    if api.object(&path).is_none() {
        return;
    }
    api.tamper(&path, |node| {
        let Some(conditions) = node.pointer_mut("/status/conditions").and_then(serde_json::Value::as_array_mut) else {
            return;
        };
        for c in conditions.iter_mut().filter(|c| c["type"] == "Ready") {
            c["status"] = json!("Unknown");
            c["reason"] = json!("NodeStatusUnknown");
            c["message"] = json!("Kubelet stopped posting node status.");
        }
    });
}
