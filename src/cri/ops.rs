//! What kubeadm (v1.31+, `cmd/kubeadm/app/util/runtime/runtime.go`) does with the CRI, on top of the
//! [`super::CriClient`] calls: whether the runtime runs (`IsRunning`), whether an image is present
//! (`ImageExists`), pulling with `PullImageRetry` = 5 attempts (`PullImage`), and removing every pod sandbox,
//! stop then remove, with `RemoveContainerRetry` = 5 attempts each (`RemoveContainers`). It returns verdicts and
//! never prints.

use super::{CriClient, CriError};

/// kubeadm's `PullImageRetry`: attempts per image.
pub const PULL_IMAGE_RETRY: usize = 5;

/// kubeadm's `RemoveContainerRetry`: attempts per pod sandbox.
pub const REMOVE_CONTAINER_RETRY: usize = 5;

/// kubeadm's `IsRunning`: `Status` answers and the `RuntimeReady` condition is not false (`NetworkReady` is not
/// looked at, as kubeadm does not: there is no pod network before init). The error is kubeadm's text.
pub fn is_running(c: &CriClient) -> Result<(), String> {
    let r = c.status(false).map_err(|e| format!("container runtime is not running: {e}"))?;
    for cond in r.status.iter().flat_map(|s| &s.conditions) {
        if cond.r#type == "RuntimeReady" && !cond.status {
            return Err(format!(
                "container runtime condition \"RuntimeReady\" is not true. reason: {}, message: {}",
                cond.reason, cond.message
            ));
        }
    }
    Ok(())
}

/// kubeadm's `ImageExists`: the runtime reports the image (an error counts as absent, as in kubeadm, which
/// then pulls and reports the pull's error).
pub fn image_exists(c: &CriClient, image: &str) -> bool {
    matches!(c.image_status(image), Ok(Some(_)))
}

/// A pull that did not succeed: the image and the runtime's last answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullFailed {
    /// The image.
    pub image: String,
    /// How many attempts were made.
    pub attempts: usize,
    /// The last error.
    pub last: CriError,
}

impl std::fmt::Display for PullFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tries = if self.attempts == 1 { "1 attempt".to_string() } else { format!("{} attempts", self.attempts) };
        write!(f, "failed to pull image {} ({tries}): {}", self.image, self.last)
    }
}

impl std::error::Error for PullFailed {}

/// kubeadm's `PullImage`: up to `attempts` pulls, back to back; returns the pulled image's reference. A runtime
/// that is down or lacks the RPC is not asked again (the answer would not change).
pub fn pull(c: &CriClient, image: &str, attempts: usize) -> Result<String, PullFailed> {
    let mut tried = 0;
    loop {
        tried += 1;
        match c.pull_image(image) {
            Ok(r) => return Ok(r),
            Err(e) => {
                let hopeless = matches!(e, CriError::Down { .. } | CriError::Unimplemented { .. });
                if hopeless || tried >= attempts.max(1) {
                    return Err(PullFailed { image: image.to_string(), attempts: tried, last: e });
                }
            }
        }
    }
}

/// Go's error aggregate as kubeadm prints it: one error alone, several as `[a, b]`.
pub fn aggregate(errors: &[String]) -> String {
    match errors {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    }
}

/// kubeadm's `ListKubeContainers`: the IDs of every pod sandbox the runtime has (no filter; on a node kubeadm
/// set up, they are the kubelet's).
pub fn list_kube_sandboxes(c: &CriClient) -> Result<Vec<String>, String> {
    let items = c.list_pod_sandboxes().map_err(|e| format!("failed to list pod sandboxes: {e}"))?;
    Ok(items.into_iter().map(|s| s.id).collect())
}

/// kubeadm's `RemoveContainers`: for each sandbox, stop it then remove it, up to [`REMOVE_CONTAINER_RETRY`]
/// times; the errors of the sandboxes that could not be removed (kubeadm's wording), empty when all went.
pub fn remove_sandboxes(c: &CriClient, ids: &[String]) -> Vec<String> {
    let mut errors = Vec::new();
    for id in ids {
        let mut last = None;
        for _ in 0..REMOVE_CONTAINER_RETRY {
            if let Err(e) = c.stop_pod_sandbox(id) {
                last = Some(format!("failed to stop running pod {id}: {e}"));
                continue;
            }
            if let Err(e) = c.remove_pod_sandbox(id) {
                last = Some(format!("failed to remove pod {id}: {e}"));
                continue;
            }
            last = None;
            break;
        }
        errors.extend(last);
    }
    errors
}

/// Whether the runtime implements `RuntimeConfig` (kubeadm 1.35+'s `ContainerRuntimeVersion` check): `Ok(false)`
/// when it answers Unimplemented, an error when it cannot be asked.
pub fn runtime_config_supported(c: &CriClient) -> Result<bool, CriError> {
    match c.runtime_config() {
        Ok(_) => Ok(true),
        Err(e) if e.is_unimplemented() => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregates_read_as_gos() {
        assert_eq!(aggregate(&["a".into()]), "a");
        assert_eq!(aggregate(&["a".into(), "b".into()]), "[a, b]");
    }

    #[test]
    fn a_failed_pull_names_the_image_and_the_runtimes_words() {
        let f = PullFailed {
            image: "registry.k8s.io/pause:3.9".into(),
            attempts: 5,
            last: CriError::Rpc {
                socket: "unix:///run/containerd/containerd.sock".into(),
                method: super::super::proto::path::PULL_IMAGE,
                code: tonic::Code::NotFound,
                message: "not found".into(),
            },
        };
        let text = f.to_string();
        assert!(text.starts_with("failed to pull image registry.k8s.io/pause:3.9 (5 attempts): "), "{text}");
        assert!(text.contains("unix:///run/containerd/containerd.sock"), "{text}");
        assert!(text.ends_with("rpc error: code = NotFound desc = not found"), "{text}");
    }
}
