//! The multi-node test harness: network namespaces as nodes, static Pod manifests read as a kubelet would,
//! and a kubelet stand-in that runs them (real etcd; the fake API server in place of kube-apiserver).

pub mod kubelet;
pub mod lan;
pub mod netns;
pub mod nodestatus;
pub mod proxyunit;
pub mod staticpod;
pub mod testnode;
