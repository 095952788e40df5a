//! The one integration-test binary. Each module is one kind of evidence; the fixtures they share are under
//! [`support`].

// unwrap is how a test says "this must hold"; helper functions outside #[test] need the same freedom
#![allow(clippy::unwrap_used, clippy::expect_used)]
// fixtures are written directly, and tests print notes about what they skipped or measured
#![allow(clippy::disallowed_methods, clippy::print_stdout, clippy::print_stderr)]

mod apiproxy; // the node-local API server proxy on loopback: TLS through it, failover, cache, discovery
mod bad_input; // malformed configs and flags: exit 3, the field named, the root untouched
mod certs_care; // certs renew --if-expiring-within on a netns node: only what is due, its Pods restarted in order; the timer units
mod certs_cmd; // certs check-expiration, renew and generate-csr, judged by openssl
mod cli; // the command tree, phases, --skip-phases, --root, --dry-run
mod config_migrate; // config migrate: warnings, old and new files render the same init, bad input exits 3
mod cri; // the CRI client against the CRI server stand-in: every RPC, retries, a runtime down or refusing
mod cri_commands; // config images pull, preflight CRI/ImagePull and reset through the CRI stand-in
mod etcd; // real etcd started from the rendered manifest with the generated PKI
mod etcd_rejoin; // three stacked members, two lost: restore on the survivor, etcd rejoin on the others
mod etcd_snapshot; // etcd snapshot save/list/prune and restore against real etcd on a netns node: keys, revision, kill -9, bad snapshots
mod fakeapi_conformance; // the fake held to a recorded v1.28.7 server's answers
mod fields; // every accepted config field has its effect: enumerated from the wire types, each set and checked
mod golden; // renders compared with kubeadm's and with manifests/<scenario>/
mod ha_e2e; // an HA cluster: init, concurrent control-plane joins, a failed member removed, a worker
mod init_dryrun; // init --dry-run's API calls against kubeadm's
mod init_e2e; // init --upload-certs end to end: a netns node, a kubelet stand-in, real etcd, the fake API
mod join_discovery; // join discovery, --check, worker join and --dry-run against the fake API server
mod join_etcd; // kbinit's etcd membership client against real etcd: learner add, promote, remove
mod key_modes; // a watcher over real runs: no key or kubeconfig is ever readable by group or others
mod kill_rerun; // kill -9 at each phase boundary of init and control-plane join, then the same command again: same node
mod kubeconfig_user; // kubeconfig user: openssl judges the certificate, the fake API authenticates both forms
mod oracle; // real kubeadm of ../shared/k8s as the oracle: the same inputs rendered by both, compared file by file
mod output_jsonl;
mod patches; // patches.directory on init and join: kubeadm's lines, bad patches refused before any write // --output jsonl: events parse, phases pair up, files match the disk, failures end in error
mod pki_openssl; // openssl as an independent judge of the generated PKI
mod preflight; // check names, kubeadm's output format, exit codes 2/3, --ignore-preflight-errors
mod proxy_e2e; // HA with no load balancer: the node-local api-server-proxy on netns nodes, failover, a late control-plane node, the cache
mod realk8s; // the real kube-apiserver, controller-manager and scheduler of ../shared/k8s run from what kbinit writes: writes twice, upgrade
mod realnode; // the real kubelet and containerd in network namespaces run what init and join write: init, joins, reset, kill -9
mod rerun; // init re-run on a netns node: nothing to do, restored leftovers, foreign files refused
mod reset; // reset after init on a netns node, --dry-run, and a fresh init afterwards
mod support; // fixtures: temp roots, running the binary, ../shared, the fake API server, the CRI stand-in, netns nodes
mod token_control_plane; // token create --print-join-command --control-plane joins after kubeadm-certs expired
mod upgrade;
mod versions; // v1.35–v1.37: the range, images and defaults per release, kubelet skew in preflight // upgrade plan/apply/node/diff on netns nodes: a minor at a time, rollback, kill -9, bad input
