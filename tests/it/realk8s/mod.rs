//! Real Kubernetes under test: the real kube-apiserver, kube-controller-manager and kube-scheduler of
//! `../shared/k8s`, started from the manifests and PKI kbinit writes (`support::realk8s::node::RealNode`), against which kbinit's
//! cluster side runs; a 422 or 403 from the real server is a failure of the test, never retried away.
//!
//! - `cluster_twice`: every create-or-update of init (ConfigMaps, Secrets, RBAC, Deployment, DaemonSet, Service)
//!   run twice, by a second init and by each cluster phase alone, leaves the objects as one run does (v1.33.3 and
//!   v1.28.7);
//! - `cluster_side`: mark-control-plane, `token create|list|delete`, `kubeconfig user` (certificate and token)
//!   authenticated by the real server, `certs renew` with the restart seen on the wire, `upgrade plan|diff`
//!   (v1.33.3 and v1.28.7);
//! - `join`: a worker (token discovery against the real bootstrap signer's cluster-info, `--check`, a CSR approved
//!   and signed by the real controller-manager) and a second control plane (kubeadm-certs, etcd member on real
//!   etcd, its own API server) on a test LAN (v1.33.3 and v1.28.7);
//! - `upgrade`: `upgrade apply` on a real control plane updates kube-dns/CoreDNS and kube-proxy to the target and
//!   renews admin.conf and super-admin.conf as kubeadm does;
//! - `kubespray`: kubespray's kubeadm roles, command for command, through the `kubeadm` name (config validate,
//!   init with its flags, `--kubeconfig` before `token create`, `init phase --config … upload-certs`, a worker's
//!   join, `upgrade apply` with the multi-document kubeadm-config.yaml);
//! - `proxy`: kbinit's node-local API server proxy in front of two real kube-apiservers on one etcd, learnt from
//!   the real `kubernetes` EndpointSlice; kubelet- and kube-proxy-shaped traffic through it while one server is
//!   stopped and one blackholed (v1.33.3);
//! - `restore`: `etcd restore` under the real API server: objects from before the snapshot only, the API back.

mod cluster_api;
mod cluster_side;
mod cluster_twice;
mod join;
pub(crate) mod kubespray;
mod proxy;
mod restore;
mod upgrade;

/// An InitConfiguration + ClusterConfiguration for node `cp1` at `address` (also the control-plane endpoint), at
/// `version`, in the newest config API that version reads, with a fixed bootstrap token and certificate key so
/// that two runs write the same objects. Preflight errors are ignored: the test host is no real node.
pub fn init_config(version: &str, address: &str) -> String {
    let minor: u32 = version.trim_start_matches('v').split('.').nth(1).and_then(|m| m.parse().ok()).unwrap();
    let api = if minor >= 31 { "v1beta4" } else { "v1beta3" };
    format!(
        "apiVersion: kubeadm.k8s.io/{api}
kind: InitConfiguration
bootstrapTokens:
- token: abcdef.0123456789abcdef
  ttl: 24h0m0s
  usages: [signing, authentication]
  groups: [system:bootstrappers:kubeadm:default-node-token]
certificateKey: 0b3cb3e5d3b4b2b25e0a9cb1b8e3e5a62f0f8e7e1f0c3d2a1b0e9f8d7c6b5a49
localAPIEndpoint:
  advertiseAddress: {address}
  bindPort: 6443
nodeRegistration:
  name: cp1
  criSocket: unix:///run/containerd/containerd.sock
  ignorePreflightErrors: [all]
---
apiVersion: kubeadm.k8s.io/{api}
kind: ClusterConfiguration
kubernetesVersion: {version}
controlPlaneEndpoint: {address}:6443
networking:
  podSubnet: 10.244.0.0/16
"
    )
}
