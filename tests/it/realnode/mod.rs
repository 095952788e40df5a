//! Real nodes (`support::realnode`): the real kubelet v1.33.3 and Debian's containerd in network namespaces run
//! what `kbinit init` and `kbinit join` write, with a v1beta4 configuration; images made by the fixture.
//!
//! - `walk`: init → the static Pods run through containerd, the node registers and turns Ready → a worker joins
//!   and turns Ready, its kube-proxy Pod running → a second control plane joins (its etcd member promoted) → `kbinit reset` on each leaves it
//!   clean (no containers, nothing of kubeadm's under /etc/kubernetes, /var/lib/kubelet, /var/lib/etcd);
//! - `kill_rerun`: init killed with SIGKILL once the manifests are written, run again: the node converges.
//!
//! Each test starts one cluster (the slow part is the control plane coming up through the kubelet).

mod kill_rerun;
mod walk;

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::realnode::node::RealNode;

/// The static Pods of a control-plane node.
pub const STATIC_PODS: [&str; 4] = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"];

/// Waits until the mirror Pods of `node`'s static Pods report Running and Ready (the kubelet ran them through
/// containerd and their probes pass), asking through `cp`.
pub fn wait_static_pods(cp: &RealNode, node: &RealNode, timeout: Duration) {
    let start = Instant::now();
    let mut last = Vec::new();
    while start.elapsed() < timeout {
        last = STATIC_PODS
            .iter()
            .filter_map(|c| {
                let name = format!("{c}-{}", node.name);
                let pod = cp.with_admin(|api| {
                    api.call_once(http::Method::GET, &format!("/api/v1/namespaces/kube-system/pods/{name}"), None)
                });
                let ok = pod.as_ref().is_ok_and(|p| {
                    p.pointer("/status/phase") == Some(&Value::from("Running"))
                        && p.pointer("/status/conditions")
                            .and_then(Value::as_array)
                            .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
                });
                (!ok).then_some(name)
            })
            .collect();
        if last.is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("static Pods not Running and Ready after {timeout:?}: {last:?}\n{}", node.report());
}

/// The CA pin `kbinit init` printed in its join command.
pub fn pin(init_stdout: &str) -> String {
    init_stdout.split_whitespace().find(|w| w.starts_with("sha256:")).expect("a CA pin in init's output").to_string()
}

/// Waits until the kube-proxy Pod of `node` (the DaemonSet kbinit installed, the fixture's kube-proxy image)
/// reports Running, asking through `cp`.
pub fn wait_kube_proxy(cp: &RealNode, node: &RealNode, timeout: Duration) {
    let start = Instant::now();
    let query = format!("labelSelector=k8s-app%3Dkube-proxy&fieldSelector=spec.nodeName%3D{}", node.name);
    let mut last = Value::Null;
    while start.elapsed() < timeout {
        let pods = cp.with_admin(|api| {
            api.call_once(http::Method::GET, &format!("/api/v1/namespaces/kube-system/pods?{query}"), None)
        });
        if let Ok(list) = pods {
            if list["items"]
                .as_array()
                .is_some_and(|items| items.iter().any(|p| p.pointer("/status/phase") == Some(&Value::from("Running"))))
            {
                return;
            }
            last = list;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("no Running kube-proxy Pod on {} after {timeout:?}: {last}\n{}", node.name, node.report());
}
