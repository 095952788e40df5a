//! `kbinit upgrade`'s pure part: what the cluster runs, what it may move to, and what the upgraded node holds.
//!
//! | module | holds |
//! |---|---|
//! | [`state`] | the cluster read into a typed model: versions per component and node, kubelets, CoreDNS, etcd |
//! | [`policy`] | the version skew policy with kubeadm's messages, against kbinit's version table |
//! | [`plan`] | `upgrade plan`: available upgrades, kubeadm's tables, the `output.kubeadm.k8s.io/v1alpha3` UpgradePlan |
//! | [`target`] | this node at the target version: its configuration, manifests (init's renderers), kubelet config |
//! | [`config`] | `UpgradeConfiguration` (v1beta4), unknown fields refused |
//! | [`diff`] | the unified diff of `upgrade diff` |
//! | [`health`] | `upgrade apply`'s cluster health checks: the `CreateJob` Job, its timeout, NotReady control planes |
//! | [`backup`] | kubeadm's backup directory names under `/etc/kubernetes/tmp` |

pub mod backup;
pub mod config;
pub mod diff;
pub mod health;
pub mod plan;
pub mod policy;
pub mod state;
pub mod target;
