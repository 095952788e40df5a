//! kubeadm's configuration API: documents (v1beta3, v1beta4) and flags in, a resolved [`InitConfiguration`] or
//! [`JoinConfiguration`] out, with kubeadm's defaulting and validation.

pub mod model;

pub use model::*;
