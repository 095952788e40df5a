//! Everything that talks to an API server: a blocking client built from an explicit kubeconfig
//! ([`client::Cluster`]), the applier of planned [`kbinit_phases::api::ApiStep`]s with kubeadm's write
//! policies and its dry-run printer ([`apply`]), the wait for a healthy control plane ([`wait`]), and join's
//! discovery of a cluster through `kube-public/cluster-info` ([`discovery`]).

pub mod apply;
pub mod client;
pub mod discovery;
pub mod wait;

pub use apply::{Target, apply_api};
pub use client::{CallError, Cluster};
