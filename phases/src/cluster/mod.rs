//! The cluster phases of `init` (and their counterparts for `join` and `token`): what kbinit asks of the API server
//! after the control plane is up, as [`crate::api::ApiStep`]s in kubeadm's exact order, with the lines kubeadm
//! prints between the calls.
//!
//! | module | holds |
//! |---|---|
//! | [`certkey`] | the certificate key and the AES-256-GCM sealing of `kubeadm-certs` values |
//! | [`token`] | bootstrap tokens: parsing, their Secrets, reading them back, the `token list` table |
//! | [`upload_config`] | phase `upload-config`: `kubeadm-config`, `kubelet-config`, the cri-socket annotation |
//! | [`upload_certs`] | phase `upload-certs` and its reverse for `join --control-plane` |
//! | [`mark_control_plane`] | phase `mark-control-plane`: labels and taints |
//! | [`bootstrap_token`] | phase `bootstrap-token`: token Secrets, bootstrap RBAC, `cluster-info`; `kubeadm:cluster-admins` |
//! | [`addons`] | phase `addon`: CoreDNS and kube-proxy |
//! | [`join_command`] | the join command and the init success summary |

pub mod addons;
pub mod bootstrap_token;
pub mod certkey;
pub mod join_command;
pub mod mark_control_plane;
pub(crate) mod rbac;
pub mod token;
pub mod upload_certs;
pub mod upload_config;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_versions;
