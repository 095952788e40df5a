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
//! | [`flows`] | init (node phases; `init_cluster`: the phases that talk to the cluster), join (`join_cluster`: discovery and what the cluster says, before any write; `join_node`: the phases that act), reset (`reset_node`), token (`token_control_plane`: a fresh kubeadm-certs and a control-plane join command), certs (`certs_care`: renew what is due and the renew timer; `static_pod_restart`: one static Pod restarted and seen healthy), `kubeconfig_user`, config migrate, `config images pull` (`images`), `api-server-proxy` (`apiproxy`: run/status; `apiproxy_setup`: install/uninstall and the init/join/reset hooks), upgrade (`upgrade`: reading the cluster, plan, diff; `upgrade_apply`, `upgrade_node`: the phases; `upgrade_cluster`: bootstrap-token and addon; `upgrade_health`: apply's cluster health checks (CreateJob, ControlPlaneNodesReady, StaticPodManifest); `upgrade_staticpods`: backup, swap, hash and health wait, rollback; `upgrade_etcd`: etcd data backup/restore, restart), etcd (`etcd/`: snapshot save/list/prune, snapshot-timer, restore) |
//! | [`api`] | the API client (explicit kubeconfig, retries), the applier of planned API steps and its dry-run printer, wait-control-plane, join discovery fetching |
//! | [`apiproxy`] | the node-local API server proxy (`api-server-proxy run`): TLS pass-through on 127.0.0.1:7445 over every healthy kube-apiserver (splice(2) both ways), `/readyz` health checks over TLS (TCP without a CA), EndpointSlice discovery through itself, the on-disk cache and status |
//! | [`apply`] | carries out planner steps on the host, announces dry-run writes |
//! | [`cri`] | the container runtime over the CRI gRPC API on its unix socket (no crictl): status, RuntimeConfig, images and pulls, pod sandbox removal |
//! | [`etcd`] | the etcd v3 membership client over mTLS: member list/add (learner)/promote/remove, endpoint status, the snapshot stream, over tonic with its messages in [`etcd::proto`] (no protoc) |
//! | [`grpc`] | one unary gRPC call with hand-declared prost messages: how kbinit speaks to etcd and the CRI without generated code |
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
pub mod apiproxy;
pub mod apply;
pub mod cli;
pub mod cri;
pub mod error;
pub mod etcd;
pub mod events;
pub mod flows;
pub mod grpc;
pub mod host;
pub mod output;
pub mod preflight;
pub mod workflow;
