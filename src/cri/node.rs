//! Which CRI socket this node's kubelet was set up with, read from the kubelet files kbinit (like kubeadm) wrote:
//! `containerRuntimeEndpoint` in `/var/lib/kubelet/instance-config.yaml` (kubeadm's NodeLocalCRISocket, 1.32+)
//! or `--container-runtime-endpoint` in `/var/lib/kubelet/kubeadm-flags.env` (every release before). kubeadm's
//! reset finds the same value in the cluster (the node's `kubeadm.alpha.kubernetes.io/cri-socket` annotation, or
//! instance-config.yaml from 1.34); the node's own files answer without an API server.

use kbinit_phases::paths;

use crate::host::Host;

/// The endpoint the kubelet on this node talks to, when its kubeadm-written files say.
pub fn kubelet_socket(host: &Host) -> Option<String> {
    from_instance_config(host).or_else(|| from_flags_env(host))
}

fn from_instance_config(host: &Host) -> Option<String> {
    let text = String::from_utf8(host.read(paths::KUBELET_INSTANCE_CONFIG).ok()?).ok()?;
    let doc: serde_json::Value = kbinit_phases::go_format::yaml::from_yaml(&text).ok()?;
    doc.get("containerRuntimeEndpoint")?.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

fn from_flags_env(host: &Host) -> Option<String> {
    let text = String::from_utf8(host.read(paths::KUBELET_FLAGS_ENV).ok()?).ok()?;
    text.split(|c: char| c.is_whitespace() || c == '"')
        .find_map(|arg| arg.strip_prefix("--container-runtime-endpoint="))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // fixtures are written directly
mod tests {
    use super::*;

    fn host_with(files: &[(&str, &str)]) -> (tempfile::TempDir, Host) {
        let dir = tempfile::tempdir().unwrap();
        for (p, text) in files {
            let path = dir.path().join(p.trim_start_matches('/'));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let host = Host::new(dir.path().to_path_buf(), None);
        (dir, host)
    }

    #[test]
    fn instance_config_first_then_the_flags_file() {
        let flags = "KUBELET_KUBEADM_ARGS=\"--container-runtime-endpoint=unix:///var/run/crio/crio.sock --pod-infra-container-image=registry.k8s.io/pause:3.9\"\n";
        let (_d, h) = host_with(&[(paths::KUBELET_FLAGS_ENV, flags)]);
        assert_eq!(kubelet_socket(&h).as_deref(), Some("unix:///var/run/crio/crio.sock"));
        let instance = "containerRuntimeEndpoint: \"unix:///run/containerd/containerd.sock\"\n";
        let (_d, h) = host_with(&[(paths::KUBELET_FLAGS_ENV, flags), (paths::KUBELET_INSTANCE_CONFIG, instance)]);
        assert_eq!(kubelet_socket(&h).as_deref(), Some("unix:///run/containerd/containerd.sock"));
        let (_d, h) = host_with(&[(paths::KUBELET_FLAGS_ENV, "KUBELET_KUBEADM_ARGS=\"\"\n")]);
        assert_eq!(kubelet_socket(&h), None);
    }
}
