//! kbinit: one binary that makes a machine a Kubernetes node, a drop-in for kubeadm.
//!
//! # Architecture map
//!
//! The binary is a thin command line over phase workflows; every phase calls a pure planner from the
//! `kbinit-phases` crate (config, PKI, kubeconfigs, manifests, kubelet files, cluster objects, discovery checks —
//! no host or network access, which its dependency tree proves) and applies the returned steps here: file steps
//! on the host ([`apply`]), API steps against a cluster or printed in `--dry-run` ([`api`]).
//!
//! | module | holds |
//! |---|---|
//! | [`cli`] | the command tree: clap flags per command, generated `phase` sub-commands, dispatch |
//! | [`workflow`] | the phase runner: [`workflow::Phase`], selection, `--skip-phases`, help listing |
//! | [`flows`] | init (node phases; `init_cluster`: the phases that talk to the cluster), join (`join_cluster`: discovery and what the cluster says, before any write; `join_node`: the phases that act), reset (`reset_node`), token, upgrade (`upgrade`: reading the cluster, plan, diff; `upgrade_apply`, `upgrade_node`: the phases; `upgrade_cluster`: bootstrap-token and addon; `upgrade_staticpods`: backup, swap, hash and health wait, rollback; `upgrade_etcd`: etcd data backup/restore, restart) |
//! | [`api`] | the API client (explicit kubeconfig, retries), the applier of planned API steps and its dry-run printer, wait-control-plane, join discovery fetching |
//! | [`apply`] | carries out planner steps on the host, announces dry-run writes |
//! | [`etcd`] | the etcd v3 membership client over mTLS: member list/add (learner)/promote/remove, endpoint status |
//! | [`host`] | every node path under `--root`, atomic writes, dry-run redirect, host facts, systemctl |
//! | [`preflight`] | kubeadm's check catalogue with its names, `--ignore-preflight-errors`, exit code 2; re-run awareness (own leftovers reused, unusable files named) |
//! | [`output`] | the only module that prints: kubeadm's text, or JSON events with `--output jsonl` |
//! | [`events`] | the `--output jsonl` event schema: phases, files written, API calls, log lines, done |
//! | [`error`] | exit codes: 0 ok, 1 failure, 2 preflight, 3 invalid input |
//!
//! On disk: `phases/` (the planner crate), `manifests/` (golden renders reviewed by diff), `tests/it/` (the
//! integration tests: CLI, goldens against kubeadm, openssl, real etcd, bad input, the fake API server fixture
//! and the multi-node harness of netns nodes with kubelet stand-ins), `fuzz/` (cargo-fuzz targets for every
//! parser of untrusted input), `benches/` (figures).

pub mod api;
pub mod apply;
pub mod cli;
pub mod error;
pub mod etcd;
pub mod events;
pub mod flows;
pub mod host;
pub mod output;
pub mod preflight;
pub mod workflow;
