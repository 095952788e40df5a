//! `kbinit config images pull`, as kubeadm's `PullControlPlaneImages`: every image of the version (the list
//! `config images list` prints), pulled one after the other through the container runtime's CRI API, each with
//! kubeadm's `PullImageRetry` = 5 attempts, a `[config/images] Pulled <image>` line per image, and the first image
//! that cannot be pulled ends the command (exit 1) with the image and the runtime's last answer. kubeadm pulls
//! here serially (its parallel pull, `PullImagesInParallel`, serves only preflight with `imagePullSerial: false`).
//!
//! The CRI socket is `--cri-socket`, else the configuration's `nodeRegistration.criSocket`, else the one detected
//! on the node; it is a node path, looked up under `--root`.

use kbinit_phases::config::InitConfiguration;

use crate::cri::{CriClient, ops, socket_file};
use crate::host::Host;
use crate::output::Output;

/// Pulls every image `cfg` needs through the runtime at its CRI socket.
pub fn pull(host: &Host, cfg: &InitConfiguration, out: &Output) -> anyhow::Result<()> {
    let socket = &cfg.node_registration.cri_socket;
    let client = CriClient::connect(socket, &host.path(socket_file(socket)))?;
    for image in kbinit_phases::config::images(&cfg.cluster) {
        ops::pull(&client, &image, ops::PULL_IMAGE_RETRY)?;
        out.say(&format!("[config/images] Pulled {image}"));
    }
    Ok(())
}
