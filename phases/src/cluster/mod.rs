//! The cluster phases of `init` (and their counterparts for `join` and `token`): what kbinit asks of the API server
//! after the control plane is up, as [`crate::api::ApiStep`]s in kubeadm's exact order, with the lines kubeadm
//! prints between the calls.
//!
//! | module | holds |
//! |---|---|
//! | [`certkey`] | the certificate key and the AES-256-GCM sealing of `kubeadm-certs` values |
//! | [`token`] | bootstrap tokens: parsing, their Secrets, reading them back, the `token list` table |

pub mod certkey;
pub mod token;
