//! The preflight checks that ask the container runtime, over the CRI API ([`crate::cri`], as kubeadm does since
//! v1.31): `CRI` (is it running), `ContainerRuntimeVersion` (v1.35+: does it implement `RuntimeConfig`) and
//! `ImagePull` (each image present per `imagePullPolicy`, else pulled with kubeadm's five attempts). The socket is
//! a node path: it is looked up under `--root`.

use std::path::PathBuf;

use kbinit_phases::version::KubeVersion;

use super::finding::{Finding, error, warning};
use crate::cri::{CriClient, CriError, ops, socket_file};
use crate::host::Host;

/// The socket file of a CRI endpoint on this node (under the root).
pub fn socket_path(host: &Host, socket: &str) -> PathBuf {
    host.path(socket_file(socket))
}

/// A client for the node's runtime at `socket`.
pub fn connect(host: &Host, socket: &str) -> Result<CriClient, CriError> {
    CriClient::connect(socket, &socket_path(host, socket))
}

/// `CRI`: the runtime answers `Status` and its `RuntimeReady` condition holds (kubeadm's `IsRunning`).
pub fn cri(host: &Host, socket: &str) -> Option<Finding> {
    let verdict = connect(host, socket)
        .map_err(|e| format!("container runtime is not running: {e}"))
        .and_then(|c| ops::is_running(&c));
    verdict.err().map(|m| error("CRI", m))
}

/// The kubelet release that, per the `ContainerRuntimeVersion` warning of kubeadm `v`, stops starting on a
/// runtime without `RuntimeConfig`: 1.36 in v1.35.0 (PR 134906), 1.37 in v1.36 (PR 136898), 1.38 in v1.37
/// (PR 139122) and in v1.35 patches after its cherry-pick (PR 139268; the v1.36 one, PR 139267, was still open).
fn kubelet_deadline(v: &KubeVersion) -> u32 {
    if v.minor == 36 { 37 } else { 38 }
}

/// `ContainerRuntimeVersion` (kubeadm v1.35+, PR 134906): a warning when the runtime does not implement the
/// `RuntimeConfig` RPC, through which the kubelet learns the cgroup driver (KEP-4033; containerd has it from
/// v2.0, CRI-O from v1.28).
///
/// kubeadm words it as a warning for kubelets older than the release its message names (1.36–1.38); an error
/// for newer kubelets is only proposed (PR 135923, held, aimed at v1.38), and a kubelet newer than the control
/// plane already fails `KubeletVersion`, so within kbinit's range the finding is always a warning. A runtime that
/// cannot be asked at all is the `CRI` check's finding, not this one's. The wording is kbinit's (kubeadm's
/// exact text was not in the sources read).
pub fn container_runtime_version(host: &Host, socket: &str, v: &KubeVersion) -> Option<Finding> {
    if !v.at_least(35) {
        return None;
    }
    let client = connect(host, socket).ok()?;
    match ops::runtime_config_supported(&client) {
        Ok(true) => None,
        Ok(false) => Some(warning(
            "ContainerRuntimeVersion",
            format!(
                "the container runtime at {socket} does not implement the CRI RuntimeConfig method, which the kubelet \
                 uses to learn the cgroup driver; kubelet v1.{} and newer will not start with it. Upgrade the runtime \
                 (containerd v2.0+, CRI-O v1.28+)",
                kubelet_deadline(v)
            ),
        )),
        Err(e) => Some(warning("ContainerRuntimeVersion", format!("could not ask the container runtime: {e}"))),
    }
}

/// The sandbox (pause) image the runtime is configured with: `sandboxImage` in the `config` JSON of a verbose
/// `Status` (containerd 1.x, CRI-O); `None` when the runtime does not say (containerd 2 keeps it elsewhere, and
/// kubeadm then says nothing either).
pub fn sandbox_image(client: &CriClient) -> Option<String> {
    let status = client.status(true).ok()?;
    let config: serde_json::Value = serde_json::from_str(status.info.get("config")?).ok()?;
    config.get("sandboxImage")?.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

/// kubeadm's warning (logged at the start of its ImagePull check) when the runtime's sandbox image is not the
/// pause image among `images`: the kubelet's static Pods would run on another pause image than the one pulled.
pub fn sandbox_image_warning(host: &Host, socket: &str, images: &[String]) -> Option<String> {
    let pause = images.iter().find(|i| i.rsplit('/').next().is_some_and(|n| n.starts_with("pause:")))?;
    let theirs = sandbox_image(&connect(host, socket).ok()?)?;
    (theirs != *pause).then(|| {
        format!(
            "detected that the sandbox image {theirs:?} of the container runtime is inconsistent with that used by \
             kubeadm. It is recommended to use {pause:?} as the CRI sandbox image."
        )
    })
}

/// `ImagePull`: each image is present (`IfNotPresent`) or pulled (`Always`, or absent), through the CRI with
/// kubeadm's [`ops::PULL_IMAGE_RETRY`] attempts; `Never` checks nothing. `serial` (v1beta4 `imagePullSerial`,
/// default true) pulls one image after the other; without it every image is pulled at once, each on its own
/// connection, as kubeadm's `PullImagesInParallel`. One error per image that could not be pulled, with the
/// runtime's last answer, in the images' order; one error in all when the runtime cannot be reached.
pub fn image_pull(host: &Host, socket: &str, images: &[String], policy: &str, serial: bool) -> Vec<Finding> {
    if policy == "Never" {
        return Vec::new();
    }
    let client = match connect(host, socket) {
        Ok(c) => c,
        Err(e) => return vec![error("ImagePull", format!("the images were neither checked nor pulled: {e}"))],
    };
    if serial {
        return images.iter().filter_map(|image| ensure_image(&client, image, policy)).collect();
    }
    drop(client);
    std::thread::scope(|scope| {
        let pulls: Vec<_> = images
            .iter()
            .map(|image| {
                scope.spawn(move || match connect(host, socket) {
                    Ok(c) => ensure_image(&c, image, policy),
                    Err(e) => Some(error("ImagePull", format!("failed to pull image {image}: {e}"))),
                })
            })
            .collect();
        pulls
            .into_iter()
            .filter_map(|p| p.join().unwrap_or_else(|_| Some(error("ImagePull", "a pull panicked"))))
            .collect()
    })
}

/// One image: present (unless `Always`) or pulled; the finding when neither.
fn ensure_image(client: &CriClient, image: &str, policy: &str) -> Option<Finding> {
    if policy != "Always" && ops::image_exists(client, image) {
        return None;
    }
    ops::pull(client, image, ops::PULL_IMAGE_RETRY).err().map(|f| error("ImagePull", f.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_config_deadline_per_release() {
        let v = |m: u32| KubeVersion { major: 1, minor: m, patch: 0, suffix: String::new() };
        assert_eq!(kubelet_deadline(&v(35)), 38);
        assert_eq!(kubelet_deadline(&v(36)), 37);
        assert_eq!(kubelet_deadline(&v(37)), 38);
    }

    #[test]
    fn no_runtime_config_check_before_1_35() {
        let host = Host::new(std::path::PathBuf::from("/nonexistent-kbinit-root"), None);
        let v = KubeVersion { major: 1, minor: 34, patch: 0, suffix: String::new() };
        assert_eq!(container_runtime_version(&host, "unix:///run/x.sock", &v), None);
    }
}
