//! Fixed node paths kubeadm uses (the certificate directory is configurable and lives in the config).

/// Where kubeconfig files live.
pub const KUBERNETES_DIR: &str = "/etc/kubernetes";
/// Where static Pod manifests live.
pub const MANIFESTS_DIR: &str = "/etc/kubernetes/manifests";
/// The kubelet's state directory.
pub const KUBELET_DIR: &str = "/var/lib/kubelet";
/// The kubelet configuration written by kubelet-start.
pub const KUBELET_CONFIG: &str = "/var/lib/kubelet/config.yaml";
/// The kubelet flags environment file written by kubelet-start.
pub const KUBELET_FLAGS_ENV: &str = "/var/lib/kubelet/kubeadm-flags.env";
/// Per-node kubelet settings (NodeLocalCRISocket, 1.34+).
pub const KUBELET_INSTANCE_CONFIG: &str = "/var/lib/kubelet/instance-config.yaml";
/// The kubelet's rotated client certificate (kubelet-finalize).
pub const KUBELET_CLIENT_CURRENT: &str = "/var/lib/kubelet/pki/kubelet-client-current.pem";

/// Joins a directory and a relative name with exactly one `/`.
pub fn join(dir: &str, name: &str) -> String {
    format!("{}/{}", dir.trim_end_matches('/'), name.trim_start_matches('/'))
}
