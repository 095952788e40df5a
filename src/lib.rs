//! kbinit: one binary that makes a machine a Kubernetes node, a drop-in for kubeadm.
//!
//! # Architecture map
//!
//! The binary is a thin command line over phase workflows; every phase calls a pure planner from the
//! `kbinit-phases` crate (config, PKI, kubeconfigs, manifests, kubelet files — no host access, which its
//! dependency tree proves) and applies the returned steps here.
//!
//! | module | holds |
//! |---|---|
//! | [`cli`] | the command tree: clap flags per command, generated `phase` sub-commands, dispatch |
//! | [`workflow`] | the phase runner: [`workflow::Phase`], selection, `--skip-phases`, help listing |
//! | [`flows`] | init, join, reset: their phase trees, run data, and each phase's few lines |
//! | [`api`] | the API client (explicit kubeconfig, retries), the applier of planned API steps and its dry-run printer, wait-control-plane |
//! | [`apply`] | carries out planner steps on the host, announces dry-run writes |
//! | [`etcd`] | the etcd v3 membership client over mTLS: member list/add (learner)/promote/remove, endpoint status |
//! | [`host`] | every node path under `--root`, atomic writes, dry-run redirect, host facts, systemctl |
//! | [`preflight`] | checks with kubeadm's names, `--ignore-preflight-errors`, exit code 2 |
//! | [`output`] | the only module that prints: kubeadm's text, or JSON events with `--output jsonl` |
//! | [`events`] | the `--output jsonl` event schema: phases, files written, API calls, log lines, done |
//! | [`error`] | exit codes: 0 ok, 1 failure, 2 preflight, 3 invalid input |
//!
//! On disk: `phases/` (the planner crate), `manifests/` (golden renders reviewed by diff), `tests/it/` (the
//! integration tests: CLI, goldens against kubeadm, openssl, real etcd, bad input).

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
