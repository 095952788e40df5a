//! `kbinit join`: kubeadm's join phase tree (with the phases newer releases added), the run data, and each
//! phase's action. Discovery, TLS bootstrap and etcd membership need the cluster and come with the API client.

use kbinit_phases::config::{self, JoinConfiguration};

use crate::cli::Global;
use crate::cli::join::JoinArgs;
use crate::host::{Host, facts};
use crate::output::Output;
use crate::workflow::{Phase, Workflow};

/// What join's phases share.
pub struct JoinData {
    /// The flags.
    pub args: JoinArgs,
    /// The node.
    pub host: Host,
    /// The resolved configuration.
    pub cfg: JoinConfiguration,
}

fn run_preflight(d: &mut JoinData, out: &Output, _: &str) -> anyhow::Result<()> {
    use crate::preflight::{Finding, report};
    out.say("[preflight] Running pre-flight checks");
    let mut findings = Vec::new();
    if !nix::unistd::Uid::effective().is_root() {
        findings.push(Finding {
            name: "IsPrivilegedUser".into(),
            error: true,
            message: "user is not running as root".into(),
        });
    }
    for f in ["/etc/kubernetes/kubelet.conf", "/etc/kubernetes/bootstrap-kubelet.conf"] {
        if d.host.path(f).exists() {
            findings.push(Finding {
                name: format!("FileAvailable-{}", crate::preflight::path_name(f)),
                error: true,
                message: format!("{f} already exists"),
            });
        }
    }
    report(&findings, &d.cfg.node_registration.ignore_preflight_errors, out)
}

fn run_cluster(d: &mut JoinData, out: &Output, name: &str) -> anyhow::Result<()> {
    super::needs_cluster(d.args.dry_run, name, out)
}

/// join's phases in kubeadm's order (1.33+ adds etcd-join, kubelet-wait-bootstrap and wait-control-plane).
pub fn workflow() -> Workflow<JoinData> {
    let c = |n: &'static str, s: &str| Phase::leaf(n, s, run_cluster);
    Workflow {
        command: "join",
        phases: vec![
            Phase::leaf("preflight", "Check that this machine can join the cluster", run_preflight),
            Phase::parent(
                "control-plane-prepare",
                "Prepare this machine to serve a control plane",
                None,
                vec![
                    c(
                        "download-certs",
                        "Fetch and decrypt the shared control-plane certificates from the kubeadm-certs Secret",
                    ),
                    c("certs", "Create this node's own control-plane certificates"),
                    c("kubeconfig", "Write this node's control-plane kubeconfig files"),
                    c("control-plane", "Write this node's control-plane static Pod manifests"),
                ],
            ),
            c("check-etcd", "Check that the cluster's etcd is healthy before adding a member").hidden(),
            c("kubelet-start", "Write the kubelet's settings and bootstrap kubeconfig, then (re)start it"),
            c("etcd-join", "Add this node's etcd member to the cluster"),
            c("kubelet-wait-bootstrap", "Wait for the kubelet's TLS bootstrap to finish"),
            c("wait-control-plane", "Wait until this node's control-plane components are healthy"),
            Phase::parent(
                "control-plane-join",
                "Finish joining as a control-plane node",
                None,
                vec![
                    c("etcd", "Add this node's etcd member (releases without etcd-join)"),
                    c("update-status", "Kept for compatibility; does nothing").hidden(),
                    c("mark-control-plane", "Label and taint this node as a control-plane node"),
                ],
            ),
        ],
    }
}

/// Runs `kbinit join` (or one phase of it).
pub fn exec(g: &Global, args: JoinArgs, only: Option<&str>, out: &Output) -> anyhow::Result<()> {
    let wf = workflow();
    let flag_skips = args.skip_phases.clone().unwrap_or_default();
    wf.select(only, &flag_skips)?;
    let text = super::read_config(args.config.as_ref())?;
    let facts = facts::gather(&Host::new(g.root.clone(), None));
    let loaded = config::load_join(text.as_deref(), &args.flags(), &facts)?;
    loaded.warnings.iter().for_each(|w| out.warn(w));
    let cfg = loaded.config;
    let skips = if flag_skips.is_empty() { cfg.skip_phases.clone() } else { flag_skips };
    let selected = wf.select(only, &skips)?;
    let host = super::host_for(&g.root, args.dry_run, args.dry_run_dir.as_ref(), "join", out)?;
    let mut data = JoinData { args, host, cfg };
    wf.run(&selected, &mut data, out)
}
