//! kbinit's pure planners: everything kbinit writes on a node or sends to a cluster, computed from the
//! configuration and a read-only view of the node, without touching the host.
//!
//! The crate's dependency tree is the proof of that: no tokio, no kube, no nix, no file system access. The
//! binary (`kbinit`) observes the node through a [`plan::NodeView`], calls a planner, and applies the returned
//! [`plan::Step`]s. No module imports a module that imports it back (a parent and its own children excepted;
//! `.ci/module_cycles.py` checks it).
//!
//! | module | holds |
//! |---|---|
//! | [`config`] | kubeadm's configuration API (v1beta3/v1beta4): loading, flags, defaulting, validation, printing |
//! | [`version`] | supported Kubernetes versions and what differs between them |
//! | [`features`] | kubeadm's feature gates per release: known, locked (GA), removed |
//! | [`certs`] | the PKI under `/etc/kubernetes/pki`: the certificate table, key generation, reuse rules; `certs renew`, `check-expiration`, `generate-csr` |
//! | [`csr`] | `certs generate-csr`: keys, CSRs and partial kubeconfigs for an external CA (spans certs and kubeconfigs, so above both) |
//! | [`kubeconfig`] | admin.conf, super-admin.conf, kubelet.conf, controller-manager.conf, scheduler.conf |
//! | [`manifests`] | static Pod manifests for etcd and the control-plane components |
//! | [`kubelet`] | /var/lib/kubelet/config.yaml, kubeadm-flags.env, instance-config.yaml |
//! | [`go_format`] | the text Go's libraries print: YAML as sigs.k8s.io/yaml writes it, durations, RFC 3339 times, tabwriter tables |
//! | [`api_server_proxy`] | the node-local API server proxy: kbinit's settings document, its ConfigMap and RBAC, kubeconfig rewrites, the systemd unit |
//! | [`api`] | what cluster phases ask of the API server: typed objects, write policies, node changes |
//! | [`cluster`] | cluster phases: upload-config, upload-certs, bootstrap tokens, addons, join command |
//! | [`jws`] | the detached JWS (HS256, bootstrap-token keyed) that signs cluster-info |
//! | [`discovery`] | join discovery: cluster-info trust (token, pins), discovery files, bootstrap-kubelet.conf |
//! | [`join`] | join planning: kubeadm-config, a joining node's PKI/kubeconfigs/manifests, kubelet files, etcd |
//! | [`plan`] | [`plan::Step`], [`plan::NodeView`] |
//! | [`paths`] | fixed node paths |
//! | [`patches`] | `--patches` (strategic, merge, JSON patches) and the overlay of user component configuration |
//! | [`etcd_snapshot`] | etcd snapshots: names, JSON records, list/prune, the integrity check, the snapshot timer's units, restore's decisions, etcd version rules |
//! | [`upgrade`] | `upgrade plan/apply/node/diff`: cluster state, skew policy, UpgradePlan, target manifests, UpgradeConfiguration |

#![warn(missing_docs)]

pub mod api;
pub mod api_server_proxy;
pub mod certs;
pub mod cluster;
pub mod config;
pub mod csr;
pub mod discovery;
mod error;
pub mod etcd_snapshot;
pub mod features;
pub mod go_format;
pub mod join;
pub mod jws;
pub mod kubeconfig;
pub mod kubelet;
pub mod manifests;
pub mod patches;
pub mod paths;
pub mod plan;
pub mod upgrade;
pub mod version;

pub use error::Error;
