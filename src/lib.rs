//! kbinit: one binary that makes a machine a Kubernetes node, a drop-in for kubeadm.
//!
//! # Architecture map
//!
//! The binary is a thin command line over phase workflows; every phase calls a pure planner from the
//! `kbinit-phases` crate (config, PKI, kubeconfigs, manifests, kubelet files, cluster objects, discovery checks —
//! no host or network access, which its dependency tree proves) and applies the returned steps here: file steps
//! on the host ([`host::apply`]), API steps against a cluster or printed in `--dry-run` ([`api`]).
//!
//! Every layer points only down: [`cli`] converts flags into a flow's plain `Options` and calls it; [`flows`]
//! never names `cli`; [`preflight`], [`host`], [`api`], [`cri`] and [`etcd`] never name a flow (`.ci/run` greps for
//! both), and no module imports a module that imports it back (`.ci/module_cycles.py`, a parent and its own
//! children excepted). Only [`output`] prints and only [`host`] writes files (clippy's fences).
//!
//! | module | holds |
//! |---|---|
//! | [`cli`] | the command tree: clap flags per command, each `exec` turning them into the flow's plain `Options`; [`cli::phases`] attaches the generated `phase` sub-commands |
//! | [`workflow`] | the phase runner: [`workflow::Phase`], selection, `--skip-phases`, help listing |
//! | [`flows`] | one folder per command (init, join, reset, upgrade, certs, token, config, api-server-proxy, etcd) and `kubeconfig user`: phase trees, run data, what each phase does; the map is in [`flows`]'s own doc |
//! | [`api`] | the API client (explicit kubeconfig, retries), the applier of planned API steps and its dry-run printer, wait-control-plane, join discovery fetching |
//! | [`api_server_proxy`] | the node-local API server proxy (`api-server-proxy run`): TLS pass-through on 127.0.0.1:7445 over every healthy kube-apiserver (splice(2) both ways), `/readyz` health checks over TLS (TCP without a CA), EndpointSlice discovery through itself, the on-disk cache and status |
//! | [`cri`] | the container runtime over the CRI gRPC API on its unix socket (no crictl): status, RuntimeConfig, images and pulls, pod sandbox removal |
//! | [`etcd`] | the etcd v3 membership client over mTLS: member list/add (learner)/promote/remove, endpoint status, the snapshot stream, over tonic with its messages in [`etcd::proto`] (no protoc) |
//! | [`grpc`] | one unary gRPC call with hand-declared prost messages: how kbinit speaks to etcd and the CRI without generated code |
//! | [`host`] | every node path under `--root`, atomic writes, dry-run (decided once: `Host::for_command` renders into a directory, `Host::for_listing_command` only lists; flows ask `is_dry_run()`), planner file steps applied (`host::apply`), whole trees, host facts, systemctl |
//! | [`preflight`] | kubeadm's check catalogue by theme with its names, the per-command lists, `--ignore-preflight-errors`, exit code 2; plain inputs only: what an earlier run left comes in as a [`preflight::Leftovers`] value |
//! | [`output`] | the only module that prints: kubeadm's text, or JSON events with `--output jsonl` |
//! | [`events`] | the `--output jsonl` event schema: phases, files written, API calls, log lines, done |
//! | [`error`] | exit codes: 0 ok, 1 failure, 2 preflight, 3 invalid input |
//!
//! On disk: `phases/` (the planner crate), `manifests/` (golden renders reviewed by diff), `tests/it/` (the
//! integration tests: CLI, goldens against kubeadm, openssl, real etcd, bad input; under `tests/it/support/` the
//! fake API server, the CRI stand-in, the multi-node harness of netns nodes with kubelet stand-ins and the init
//! configuration builder, the realk8s harness of the real control-plane binaries, and `realnode`: the real kubelet
//! and containerd in network namespaces), `fuzz/` (cargo-fuzz targets for every
//! parser of untrusted input), `benches/` (figures).

pub mod api;
pub mod api_server_proxy;
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
