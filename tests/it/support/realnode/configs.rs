//! The kubeadm configuration documents (v1beta4) of a real node, read alike by kbinit and real kubeadm: images
//! never pulled (the node's images are imported, there is no registry), the kubelet on the cgroupfs driver (no
//! systemd), kube-proxy told to leave the global conntrack sysctls alone (a network namespace cannot set them),
//! node pod CIDRs allocated by the controller-manager (from `networking.podSubnet`).

/// The bootstrap token of every real-node cluster.
pub const TOKEN: &str = "abcdef.0123456789abcdef";
/// The certificate key for `--upload-certs` and control-plane joins.
pub const CERT_KEY: &str = "0b3cb3e5d3b4b2b25e0a9cb1b8e3e5a62f0f8e7e1f0c3d2a1b0e9f8d7c6b5a49";

/// Init of node `name` at `address` (also the control-plane endpoint), ignoring the preflight errors listed.
pub fn init(name: &str, address: &str, ignore: &[&str]) -> String {
    format!(
        "apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
bootstrapTokens:
- token: {TOKEN}
  ttl: 24h0m0s
  usages: [signing, authentication]
  groups: [system:bootstrappers:kubeadm:default-node-token]
certificateKey: {CERT_KEY}
localAPIEndpoint:
  advertiseAddress: {address}
  bindPort: 6443
nodeRegistration:
  name: {name}
  criSocket: unix:///run/containerd/containerd.sock
  imagePullPolicy: Never
  ignorePreflightErrors: {ignore:?}
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: {release}
controlPlaneEndpoint: {address}:6443
networking:
  podSubnet: 10.244.0.0/16
  serviceSubnet: 10.96.0.0/16
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
failSwapOn: false
---
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
conntrack:
  maxPerCore: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
",
        release = super::RELEASE
    )
}

/// Join of node `name` through `endpoint` with the CA pinned to `pin`; a control plane at `control_plane`
/// (its advertise address) when given.
pub fn join(endpoint: &str, name: &str, pin: &str, control_plane: Option<&str>, ignore: &[&str]) -> String {
    let mut text = format!(
        "apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: {endpoint}
    token: {TOKEN}
    caCertHashes: [\"{pin}\"]
nodeRegistration:
  name: {name}
  criSocket: unix:///run/containerd/containerd.sock
  imagePullPolicy: Never
  ignorePreflightErrors: {ignore:?}
"
    );
    if let Some(address) = control_plane {
        text.push_str(&format!(
            "controlPlane:\n  localAPIEndpoint:\n    advertiseAddress: {address}\n    bindPort: 6443\n  certificateKey: {CERT_KEY}\n"
        ));
    }
    text
}
