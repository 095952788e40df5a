//! `kbinit join`: kubeadm's join phase tree (with the phases newer releases added), the run data, and each
//! phase's wiring. What the cluster says is gathered once, before anything is written
//! ([`crate::flows::join::context`]); the phases that act are in [`crate::flows::join::node`]. `kbinit join --check` runs only
//! the checks.
//!
//! Version-specific phases run as no-ops where the cluster's release does not have them: before 1.33 the
//! kubelet's TLS bootstrap is awaited inside kubelet-start and etcd is joined in control-plane-join/etcd; from
//! 1.33 etcd-join, kubelet-wait-bootstrap and wait-control-plane do it.

pub mod context;
pub mod node;
mod options;
pub mod rerun;

pub use options::JoinOptions;

use kbinit_phases::config::{self, HostFacts, JoinConfiguration};
use kbinit_phases::paths;

use crate::api::discovery::Polling;
use crate::flows::join::context::JoinContext;
use crate::host::{Host, facts};
use crate::output::Output;
use crate::workflow::{Phase, Workflow};

/// What join's phases share.
pub struct JoinData {
    /// The command's options.
    pub opts: JoinOptions,
    /// The node.
    pub host: Host,
    /// What was found out about the machine.
    pub facts: HostFacts,
    /// The resolved configuration.
    pub cfg: JoinConfiguration,
    /// The phases of this run (full names).
    pub selected: Vec<String>,
    /// The time certificates are issued at.
    pub now: time::OffsetDateTime,
    /// The patches of `patches.directory` / `--patches`, applied to the manifests and the kubelet configuration.
    pub patches: Vec<kbinit_phases::patches::Patch>,
    ctx: Option<JoinContext>,
}

impl JoinData {
    /// Builds the cluster context (discovery, configuration, certificate key) unless it exists.
    pub fn ready(&mut self, out: &Output) -> anyhow::Result<()> {
        if self.ctx.is_none() {
            let fetch_certs = self.selected.iter().any(|p| p == "control-plane-prepare/download-certs");
            let p = Polling::new(self.cfg.timeouts.discovery);
            self.ctx = Some(JoinContext::build(&self.cfg, &self.host, &p, fetch_certs, out)?);
        }
        Ok(())
    }
    /// The cluster context, once [`JoinData::ready`] built it.
    pub fn context(&self) -> anyhow::Result<&JoinContext> {
        self.ctx.as_ref().ok_or_else(|| anyhow::anyhow!("the join context was not built"))
    }
    /// Builds the cluster context if needed and returns it.
    pub fn ctx(&mut self, out: &Output) -> anyhow::Result<&JoinContext> {
        self.ready(out)?;
        self.context()
    }
}

fn run_preflight(d: &mut JoinData, out: &Output, _: &str) -> anyhow::Result<()> {
    let leftovers = rerun::node_leftovers(&d.cfg, &d.host);
    crate::preflight::run_join(&d.cfg, &d.host, &leftovers, out)?;
    d.ready(out)?;
    // the proxy's setting comes from the cluster: its port is checked once discovery has it, before any write
    if let Some(settings) = d.context()?.api_server_proxy {
        let ignore = &d.cfg.node_registration.ignore_preflight_errors;
        crate::preflight::proxy::run(&d.host, settings.port, ignore, out)?;
    }
    if d.cfg.control_plane.is_some()
        && let Some(init) = &d.context()?.init
    {
        let download = d.cfg.control_plane.as_ref().is_some_and(|c| !c.certificate_key.is_empty());
        let leftovers = rerun::control_plane_leftovers(init, &d.host, &crate::host::facts::proxy_env());
        crate::preflight::run_join_control_plane(init, &d.host, &leftovers, download, !d.host.is_dry_run(), out)?;
    }
    Ok(())
}

fn run_download_certs(d: &mut JoinData, out: &Output, _: &str) -> anyhow::Result<()> {
    node::download_certs(d, out)
}
fn run_prepare(d: &mut JoinData, out: &Output, name: &str) -> anyhow::Result<()> {
    node::prepare(d, out, name)
}
fn run_check_etcd(d: &mut JoinData, out: &Output, _: &str) -> anyhow::Result<()> {
    node::check_etcd(d, out)
}
fn run_kubelet_start(d: &mut JoinData, out: &Output, _: &str) -> anyhow::Result<()> {
    node::kubelet_start(d, out)
}
fn run_etcd_join(d: &mut JoinData, out: &Output, _: &str) -> anyhow::Result<()> {
    node::etcd_join_phase(d, out)
}
fn run_kubelet_wait_bootstrap(d: &mut JoinData, out: &Output, _: &str) -> anyhow::Result<()> {
    node::kubelet_wait_bootstrap(d, out)
}
fn run_wait_control_plane(d: &mut JoinData, out: &Output, _: &str) -> anyhow::Result<()> {
    node::wait_control_plane(d, out)
}
fn run_cp_join_etcd(d: &mut JoinData, out: &Output, _: &str) -> anyhow::Result<()> {
    node::control_plane_join_etcd(d, out)
}
fn run_update_status(d: &mut JoinData, out: &Output, _: &str) -> anyhow::Result<()> {
    if d.cfg.control_plane.is_some() {
        out.say("The 'update-status' phase is deprecated and will be removed in a future release. Currently it performs no operation");
    }
    Ok(())
}
fn run_mark_control_plane(d: &mut JoinData, out: &Output, _: &str) -> anyhow::Result<()> {
    node::mark_control_plane(d, out)
}

/// The closing text of a successful join (§J, §K.1).
fn summary(d: &JoinData) -> String {
    if d.cfg.control_plane.is_some() {
        let etcd = match d.context().map(|c| &c.cluster.etcd) {
            Ok(config::Etcd::Local(_)) => "* A new etcd member was added to the local/stacked etcd cluster.\n",
            _ => "",
        };
        format!(
            "\nThis node has joined the cluster and a new control plane instance was created:\n\n\
             * Certificate signing request was sent to apiserver and approval was received.\n\
             * The Kubelet was informed of the new secure connection details.\n\
             * Control plane label and taint were applied to the new node.\n\
             * The Kubernetes control plane instances scaled up.\n{etcd}\n\
             To start administering your cluster from this node, you need to run the following as a regular user:\n\n\
             \tmkdir -p $HOME/.kube\n\
             \tsudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config\n\
             \tsudo chown $(id -u):$(id -g) $HOME/.kube/config\n\n\
             Run 'kubectl get nodes' to see this node join the cluster.\n\n"
        )
    } else {
        "\nThis node has joined the cluster:\n\
         * Certificate signing request was sent to apiserver and a response was received.\n\
         * The Kubelet was informed of the new secure connection details.\n\n\
         Run 'kubectl get nodes' on the control-plane to see this node join the cluster.\n\n"
            .to_string()
    }
}

/// join's phases in kubeadm's order (1.33+ adds etcd-join, kubelet-wait-bootstrap and wait-control-plane).
pub fn workflow() -> Workflow<JoinData> {
    Workflow {
        command: "join",
        phases: vec![
            Phase::leaf("preflight", "Check that this machine can join the cluster", run_preflight),
            Phase::parent(
                "control-plane-prepare",
                "Prepare this machine to serve a control plane",
                None,
                vec![
                    Phase::leaf(
                        "download-certs",
                        "Fetch and decrypt the shared control-plane certificates from the kubeadm-certs Secret",
                        run_download_certs,
                    ),
                    Phase::leaf("certs", "Create this node's own control-plane certificates", run_prepare),
                    Phase::leaf("kubeconfig", "Write this node's control-plane kubeconfig files", run_prepare),
                    Phase::leaf("control-plane", "Write this node's control-plane static Pod manifests", run_prepare),
                ],
            ),
            Phase::leaf(
                "check-etcd",
                "Check that the cluster's etcd is healthy before adding a member",
                run_check_etcd,
            )
            .hidden(),
            Phase::leaf(
                "kubelet-start",
                "Write the kubelet's settings and bootstrap kubeconfig, then (re)start it",
                run_kubelet_start,
            ),
            Phase::leaf("etcd-join", "Add this node's etcd member to the cluster", run_etcd_join),
            Phase::leaf(
                "kubelet-wait-bootstrap",
                "Wait for the kubelet's TLS bootstrap to finish",
                run_kubelet_wait_bootstrap,
            ),
            Phase::leaf(
                "wait-control-plane",
                "Wait until this node's control-plane components are healthy",
                run_wait_control_plane,
            ),
            Phase::parent(
                "control-plane-join",
                "Finish joining as a control-plane node",
                None,
                vec![
                    // deprecated and hidden from 1.35 (PR 134106): etcd-join does its work; it still runs for the
                    // releases before 1.33, which have no etcd-join
                    Phase::leaf("etcd", "Add this node's etcd member (releases without etcd-join)", run_cp_join_etcd)
                        .hidden(),
                    Phase::leaf("update-status", "Kept for compatibility; does nothing", run_update_status).hidden(),
                    Phase::leaf(
                        "mark-control-plane",
                        "Label and taint this node as a control-plane node",
                        run_mark_control_plane,
                    ),
                ],
            ),
        ],
    }
}

/// Runs `kbinit join` (or one phase of it).
pub fn run(opts: JoinOptions, only: Option<&str>, out: &Output) -> anyhow::Result<()> {
    let wf = workflow();
    let flag_skips = opts.skip_phases.clone();
    wf.select(only, &flag_skips)?;
    let text = crate::flows::read_config(opts.config.as_ref())?;
    let facts = facts::gather(&Host::new(opts.root.clone(), None));
    let loaded = config::load_join(text.as_deref(), &opts.flags, &facts)?;
    loaded.warnings.iter().for_each(|w| out.warn(w));
    let cfg = loaded.config;
    if opts.check {
        return crate::flows::join::context::check(&cfg, &Host::new(opts.root.clone(), None), out);
    }
    // the cluster's release is known only after discovery; join patches no addon, so the newest release's
    // targets (a superset) read the directory as the joining kubeadm would
    let patches =
        crate::flows::patches::load(&cfg.patches_dir, &kbinit_phases::version::KubeVersion::default_version(), out)?;
    let skips = if flag_skips.is_empty() { cfg.skip_phases.clone() } else { flag_skips };
    let selected = wf.select(only, &skips)?;
    let dry_run = opts.dry_run || cfg.dry_run;
    let host = Host::for_command(&opts.root, dry_run, opts.dry_run_dir.as_ref(), "join", out)?;
    let ca_dir = cfg.ca_cert_path.rsplit_once('/').map_or(paths::KUBERNETES_DIR, |(d, _)| d).to_string();
    // the cluster's certificatesDir is known only after discovery: kubeadm's default and the CA's directory
    let dirs = [
        paths::KUBERNETES_DIR,
        "/etc/kubernetes/pki",
        "/etc/kubernetes/pki/etcd",
        &ca_dir,
        paths::MANIFESTS_DIR,
        paths::KUBELET_DIR,
    ];
    crate::flows::clean_interrupted_writes(&host, &dirs, "join", out)?;
    let mut data = JoinData {
        opts,
        host,
        facts,
        cfg,
        selected: selected.clone(),
        now: time::OffsetDateTime::now_utc(),
        patches,
        ctx: None,
    };
    wf.run(&selected, &mut data, out)?;
    if only.is_none() {
        out.raw(&summary(&data));
    }
    if let Some(d) = data.host.dry_run_dir() {
        out.say(&format!("[dryrun] Finished dry-running successfully; the files are in {:?}", d.display()));
    }
    Ok(())
}
