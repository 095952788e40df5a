//! What `kbinit upgrade` reads from the cluster, as a typed model (sheet §2.2): the control-plane static Pods'
//! versions per node (the tag of the first container's image of `component=<name>,tier=control-plane` Pods in
//! kube-system), the kubelets (`Node.status.nodeInfo.kubeletVersion`), the CoreDNS Deployment's image tag, and
//! whether etcd is local (etcd Pods exist). Built from the objects as the API returns them, so it is pure.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::Error;
use crate::version::KubeVersion;

/// The control-plane static Pods kubeadm upgrades, in its order.
pub const CONTROL_PLANE: [&str; 3] = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"];

/// The cluster as `upgrade plan` and `upgrade apply` see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterState {
    /// component → node → image tag (`v1.30.2`, `3.5.12-0`); components: the three of [`CONTROL_PLANE`] and etcd.
    pub components: BTreeMap<String, BTreeMap<String, String>>,
    /// node → kubeletVersion (`v1.30.2`; empty when the node has not reported one).
    pub kubelets: BTreeMap<String, String>,
    /// node → the kube-apiserver container's image (the addon gate compares images, sheet §4.8).
    pub apiserver_images: BTreeMap<String, String>,
    /// The CoreDNS Deployment's image tag; empty when CoreDNS is not deployed.
    pub coredns_tag: String,
    /// The kube-proxy DaemonSet exists.
    pub kube_proxy: bool,
}

fn str_at<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or_default()
}

/// The tag of an image reference (`registry.k8s.io/kube-apiserver:v1.30.2` → `v1.30.2`); empty if untagged.
pub fn image_tag(image: &str) -> &str {
    let name = image.split('@').next().unwrap_or(image);
    match name.rsplit_once(':') {
        Some((_, tag)) if !tag.contains('/') => tag,
        _ => "",
    }
}

impl ClusterState {
    /// From the kube-system Pods (any list; only control-plane static Pods are read), the Nodes, the CoreDNS
    /// Deployment (if any) and whether the kube-proxy DaemonSet exists.
    pub fn from_objects(pods: &[Value], nodes: &[Value], coredns: Option<&Value>, kube_proxy: bool) -> ClusterState {
        let mut s = ClusterState { kube_proxy, ..ClusterState::default() };
        for pod in pods {
            let component = str_at(pod, "/metadata/labels/component");
            let tier = str_at(pod, "/metadata/labels/tier");
            if tier != "control-plane" || !(CONTROL_PLANE.contains(&component) || component == "etcd") {
                continue;
            }
            let node = str_at(pod, "/spec/nodeName").to_string();
            let image = str_at(pod, "/spec/containers/0/image");
            s.components.entry(component.to_string()).or_default().insert(node.clone(), image_tag(image).to_string());
            if component == "kube-apiserver" {
                s.apiserver_images.insert(node, image.to_string());
            }
        }
        for node in nodes {
            let name = str_at(node, "/metadata/name").to_string();
            s.kubelets.insert(name, str_at(node, "/status/nodeInfo/kubeletVersion").to_string());
        }
        if let Some(d) = coredns {
            s.coredns_tag = image_tag(str_at(d, "/spec/template/spec/containers/0/image")).to_string();
        }
        s
    }

    /// The cluster version: the newest kube-apiserver tag (kubeadm warns when several exist).
    pub fn cluster_version(&self) -> Result<KubeVersion, Error> {
        let tags = self.components.get("kube-apiserver").map(|m| m.values().collect::<Vec<_>>()).unwrap_or_default();
        let mut versions: Vec<KubeVersion> = tags.iter().filter_map(|t| t.parse().ok()).collect();
        versions.sort();
        versions.pop().ok_or_else(|| {
            Error::Document(
                "no kube-apiserver Pod with label component=kube-apiserver,tier=control-plane in kube-system: the \
                 control plane is not static Pod-hosted, or its mirror Pods are not there yet"
                    .into(),
            )
        })
    }

    /// More than one kube-apiserver version runs.
    pub fn mixed_apiserver_versions(&self) -> bool {
        let mut tags: Vec<&String> =
            self.components.get("kube-apiserver").map(|m| m.values().collect()).unwrap_or_default();
        tags.sort();
        tags.dedup();
        tags.len() > 1
    }

    /// Etcd is local (static Pods found).
    pub fn local_etcd(&self) -> bool {
        self.components.get("etcd").is_some_and(|m| !m.is_empty())
    }

    /// The kubelet versions that parse.
    pub fn kubelet_versions(&self) -> Vec<KubeVersion> {
        self.kubelets.values().filter_map(|v| v.parse().ok()).collect()
    }

    /// The control-plane nodes whose kube-apiserver image differs from `node`'s (kubeadm's
    /// `UnupgradedControlPlaneInstances`), sorted.
    pub fn unupgraded_control_planes(&self, node: &str) -> Vec<String> {
        let mine = self.apiserver_images.get(node);
        self.apiserver_images
            .iter()
            .filter(|(n, img)| Some(*img) != mine && n.as_str() != node)
            .map(|(n, _)| n.clone())
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(component: &str, node: &str, image: &str) -> Value {
        json!({"metadata": {"name": format!("{component}-{node}"), "labels": {"component": component, "tier": "control-plane"}},
               "spec": {"nodeName": node, "containers": [{"image": image}]}})
    }

    #[test]
    fn reads_versions_per_node_and_the_newest_apiserver() {
        let pods = [
            pod("kube-apiserver", "cp1", "registry.k8s.io/kube-apiserver:v1.30.2"),
            pod("kube-apiserver", "cp2", "registry.k8s.io/kube-apiserver:v1.29.4"),
            pod("etcd", "cp1", "registry.k8s.io/etcd:3.5.12-0"),
            json!({"metadata": {"labels": {"k8s-app": "kube-dns"}}, "spec": {"containers": [{"image": "x:1"}]}}),
        ];
        let nodes = [json!({"metadata": {"name": "cp1"}, "status": {"nodeInfo": {"kubeletVersion": "v1.29.4"}}})];
        let dns = json!({"spec": {"template": {"spec": {"containers": [{"image": "registry.k8s.io/coredns/coredns:v1.11.1"}]}}}});
        let s = ClusterState::from_objects(&pods, &nodes, Some(&dns), true);
        assert_eq!(s.cluster_version().unwrap().to_string(), "v1.30.2");
        assert!(s.mixed_apiserver_versions() && s.local_etcd());
        assert_eq!(s.components["etcd"]["cp1"], "3.5.12-0");
        assert_eq!(s.coredns_tag, "v1.11.1");
        assert_eq!(s.unupgraded_control_planes("cp1"), ["cp2"]);
        assert_eq!(image_tag("localhost:5000/kube-apiserver"), "");
        assert!(ClusterState::default().cluster_version().is_err());
    }
}
