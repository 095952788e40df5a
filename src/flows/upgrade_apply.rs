//! `kbinit upgrade apply` (and the shared run data and phases of `upgrade node`): kubeadm's v1.32+ phase tree
//! (sheet §1.3) — preflight, control-plane, upload-config, kubeconfig (hidden), kubelet-config, bootstrap-token,
//! addon, post-upgrade — each a few lines over the planners of `kbinit_phases::upgrade` and the ones init uses.
//! Everything that can be refused (target outside the table, the skew policy, a worker node, a bad
//! UpgradeConfiguration) is refused in the data initializer, before any phase changes anything.

use std::collections::BTreeMap;
use std::io::IsTerminal;

use k8s_openapi::api::core::v1::ConfigMap;
use kbinit_phases::api::{ApiObject, ApiOp, ApiStep};
use kbinit_phases::cluster::upload_config;
use kbinit_phases::config::{HostFacts, InitConfiguration, Timeouts};
use kbinit_phases::upgrade::{backup, policy};
use kbinit_phases::version::KubeVersion;

use super::upgrade::{APISERVER_MANIFEST, Context};
use super::upgrade_staticpods::StaticPodUpgrade;
use crate::api::{Target, apply_api};
use crate::cli::Global;
use crate::cli::upgrade::ApplyArgs;
use crate::error::invalid;
use crate::host::Host;
use crate::output::Output;
use crate::workflow::{Phase, Workflow};

/// Which command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `upgrade apply` on the first control-plane node.
    Apply,
    /// `upgrade node` on any other node.
    Node,
}

/// The run data both workflows share.
pub struct UpgradeData {
    /// Which command.
    pub mode: Mode,
    /// `--dry-run` / `dryRun`.
    pub dry_run: bool,
    /// Do not prompt.
    pub yes: bool,
    /// `--force`.
    pub force: bool,
    /// `--certificate-renewal`.
    pub renew_certs: bool,
    /// `--etcd-upgrade`.
    pub etcd_upgrade: bool,
    /// Timeouts of the UpgradeConfiguration.
    pub timeouts: Timeouts,
    /// The kubeconfig (node path).
    pub kubeconfig: String,
    /// The target (apply: argument or config; node: kubeadm-config's).
    pub target: KubeVersion,
    /// What was read.
    pub ctx: Context,
    /// This node at the target.
    pub init: InitConfiguration,
    /// This node runs a control plane.
    pub control_plane: bool,
    /// `--patches`.
    pub patches: Vec<kbinit_phases::upgrade::patches::Patch>,
    /// `--ignore-preflight-errors` merged with the config's, lower-cased.
    pub ignore_preflight_errors: Vec<String>,
    /// The configuration's `imagePullPolicy` and `imagePullSerial` for the pre-pull.
    pub image_pull: (String, bool),
    /// `--etcd-snapshot` (apply only): take a snapshot before etcd is touched.
    pub etcd_snapshot: bool,
}

impl UpgradeData {
    /// Where API steps go: the cluster, or the dry-run printer.
    pub(super) fn target(&self) -> Target<'_> {
        if self.dry_run { Target::DryRun } else { Target::Live(&self.ctx.api) }
    }
}

/// Builds the data of `upgrade apply`, refusing bad input before anything changes.
fn apply_data(g: &Global, a: &ApplyArgs, out: &Output) -> anyhow::Result<UpgradeData> {
    let cfg = super::upgrade::load_config(a.common.config.as_ref())?;
    let s = &cfg.apply;
    let version = a.version.clone().unwrap_or_else(|| s.kubernetes_version.clone());
    if version.is_empty() {
        return Err(invalid(
            "missing the version to upgrade to: kbinit upgrade apply vX.Y.Z (or apply.kubernetesVersion in --config)",
        ));
    }
    let target = super::upgrade::resolve_target(&version)?;
    if !g.root.is_dir() {
        return Err(invalid(format!("--root {:?} is not a directory", g.root.display())));
    }
    let host = Host::new(g.root.clone(), None);
    if !host.path(APISERVER_MANIFEST).exists() {
        return Err(invalid(format!(
            "kbinit upgrade apply runs on a control-plane node, and {APISERVER_MANIFEST} does not exist here: on a \
             worker (or a further control-plane node) run 'kbinit upgrade node' after 'upgrade apply' ran on the first \
             control-plane node"
        )));
    }
    let patches = super::upgrade::load_patches(a.patches.as_deref().unwrap_or(&s.patches_dir), out)?;
    let ctx = Context::read(host, &a.common.kubeconfig, &cfg.timeouts, Some("upgrade"), out)?;
    let init = ctx.node_init(&target, &cfg.timeouts);
    Ok(UpgradeData {
        mode: Mode::Apply,
        dry_run: a.dry_run || s.dry_run,
        yes: a.yes,
        force: a.force || s.force,
        renew_certs: a.certificate_renewal.unwrap_or(s.certificate_renewal),
        etcd_upgrade: a.common.etcd_upgrade.unwrap_or(s.etcd_upgrade),
        timeouts: cfg.timeouts.clone(),
        kubeconfig: a.common.kubeconfig.clone(),
        target,
        ctx,
        init,
        control_plane: true,
        patches,
        ignore_preflight_errors: merged_ignores(
            a.common.ignore_preflight_errors.as_deref(),
            &s.ignore_preflight_errors,
        ),
        image_pull: (s.image_pull_policy.clone(), s.image_pull_serial),
        etcd_snapshot: a.etcd_snapshot,
    })
    .and_then(|d| {
        let allow = (
            a.common.allow_experimental_upgrades || s.allow_experimental,
            a.common.allow_release_candidate_upgrades || s.allow_rc,
        );
        check_policy(d, allow, out)
    })
    .inspect(|d| {
        if a.common.print_config || s.print_config {
            print_config(d, out);
        }
    })
}

/// The flag's checks and the configuration's, lower-cased, once each.
pub fn merged_ignores(flag: Option<&[String]>, config: &[String]) -> Vec<String> {
    let mut all: Vec<String> = flag.unwrap_or_default().iter().chain(config).map(|s| s.to_ascii_lowercase()).collect();
    all.sort();
    all.dedup();
    all
}

/// `--print-config`: the ClusterConfiguration the upgrade works with, each line indented with a tab.
fn print_config(d: &UpgradeData, out: &Output) {
    let doc = kbinit_phases::config::cluster_configuration_document(
        &d.init.cluster,
        d.init.local_api_endpoint.bind_port,
        kbinit_phases::cluster::upload_config::stored_api_version(&d.init),
    );
    out.say("[upgrade/config] Configuration used:");
    out.raw(&kbinit_phases::yaml::to_yaml(&doc).lines().map(|l| format!("\t{l}\n")).collect::<String>());
}

/// The skew policy (sheet §3), printed as kubeadm prints it; a refusal is invalid input.
fn check_policy(
    d: UpgradeData,
    (allow_experimental, allow_rc): (bool, bool),
    out: &Output,
) -> anyhow::Result<UpgradeData> {
    let cluster = d.ctx.state.cluster_version()?;
    if d.ctx.state.mixed_apiserver_versions() {
        out.warn(
            "Different API server versions in the cluster were discovered. Please upgrade your control plane nodes to the same version of Kubernetes",
        );
    }
    let errors = policy::enforce_version_policies(
        &cluster,
        &d.target,
        &d.ctx.state.kubelet_versions(),
        allow_experimental,
        allow_rc,
    );
    match policy::verdict(&errors, d.force) {
        Ok(Some(warning)) => out.say(&warning),
        Ok(None) => {}
        Err(text) => return Err(invalid(text)),
    }
    Ok(d)
}

/// Phase `preflight`.
pub fn run_preflight(d: &mut UpgradeData, out: &Output, _: &str) -> anyhow::Result<()> {
    if d.mode == Mode::Node {
        out.say("[upgrade/preflight] Running pre-flight checks");
        if !d.control_plane {
            out.say("[upgrade/preflight] Skipping prepull. Not a control plane node.");
            return Ok(());
        }
        return prepull(d, out);
    }
    out.say("[upgrade/preflight] Running preflight checks");
    super::upgrade_health::check_cluster_health(d, out)?;
    super::etcd::upgrade::check_zombie_trap(d, out)?;
    out.say(&format!(
        "[upgrade/preflight] You have chosen to upgrade the cluster version to {:?}",
        d.target.to_string()
    ));
    out.say(&format!("[upgrade/versions] Cluster version: {}", d.ctx.state.cluster_version()?));
    out.say(&format!("[upgrade/versions] kubeadm version: {}", d.target));
    if !(d.yes || d.force || d.dry_run) {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            anyhow::bail!("won't proceed: upgrade apply asks for confirmation and stdin is not a terminal; pass --yes");
        }
        out.say("[upgrade] Are you sure you want to proceed? [y/N]: ");
        let mut answer = String::new();
        stdin.read_line(&mut answer)?;
        if !super::reset::confirmed(&answer) {
            anyhow::bail!("won't proceed; the user didn't answer (Y|y) in order to continue");
        }
    }
    prepull(d, out)
}

/// The image pre-pull of a control-plane node's upgrade: the target release's images through the CRI, with the
/// configuration's pull policy (kubeadm's ImagePull check, so `--ignore-preflight-errors=ImagePull` applies).
fn prepull(d: &UpgradeData, out: &Output) -> anyhow::Result<()> {
    let p = crate::preflight::Prepull {
        cluster: &d.init.cluster,
        socket: &d.ctx.cri_socket,
        policy: &d.image_pull.0,
        serial: d.image_pull.1,
        ignore: &d.ignore_preflight_errors,
        dry_run: d.dry_run,
    };
    crate::preflight::run_upgrade_prepull(&p, &d.ctx.host, out)
}

/// Phase `control-plane`.
pub fn run_control_plane(d: &mut UpgradeData, out: &Output, _: &str) -> anyhow::Result<()> {
    if !d.control_plane {
        out.say("[upgrade/control-plane] Skipping phase. Not a control plane node.");
        return Ok(());
    }
    let up = StaticPodUpgrade {
        ctx: &d.ctx,
        init: &d.init,
        renew_certs: d.renew_certs,
        etcd_upgrade: d.etcd_upgrade,
        dry_run: d.dry_run,
        timeout: super::upgrade::upgrade_timeout(&d.timeouts),
        patches: &d.patches,
        instance: d.mode == Mode::Node,
    };
    let snapshot = super::etcd::upgrade::snapshot_before(d, out)?;
    up.run(out).map_err(|e| super::etcd::upgrade::name_snapshot(e, snapshot.as_deref()))
}

fn run_upload_config(d: &mut UpgradeData, out: &Output, name: &str) -> anyhow::Result<()> {
    let steps = if name.ends_with("kubeadm") {
        upload_config::plan_upload_kubeadm_config(&d.init)?
    } else {
        let mut steps = upload_config::plan_upload_kubelet_config(&d.init, &HostFacts::default())?;
        let stored_hash = d.ctx.kubelet_cm.as_ref().and_then(|cm| {
            cm.pointer("/metadata/annotations").and_then(|a| a.get(upload_config::COMPONENT_CONFIG_HASH)).cloned()
        });
        // a kbinit/kubeadm-generated KubeletConfiguration keeps its hash annotation (what a fresh init writes)
        if stored_hash.is_some() {
            for s in &mut steps {
                if let ApiStep::Op(op) = s
                    && let ApiOp::Write { object, .. } = op.as_mut()
                    && object.resource.kind == "ConfigMap"
                {
                    let mut cm: ConfigMap = object.typed()?;
                    let data: BTreeMap<String, String> = cm.data.clone().unwrap_or_default();
                    let hash = kbinit_phases::kubelet::component_config_hash(&data);
                    cm.metadata.annotations =
                        Some(BTreeMap::from([(upload_config::COMPONENT_CONFIG_HASH.into(), hash)]));
                    *object = ApiObject::new(&cm)?;
                }
            }
        }
        steps
    };
    apply_api(&steps, d.target(), out)
}

/// Phase `kubeconfig`.
pub fn run_kubeconfig(d: &mut UpgradeData, out: &Output, _: &str) -> anyhow::Result<()> {
    if !d.control_plane {
        out.say("[upgrade/kubeconfig] Skipping phase. Not a control plane node.");
        return Ok(());
    }
    super::upgrade_node::kubelet_local_mode(d, out)?;
    out.say("[upgrade/kubeconfig] The kubeconfig files for this node were successfully upgraded!");
    Ok(())
}

/// Phase `kubelet-config`.
pub fn run_kubelet_config(d: &mut UpgradeData, out: &Output, _: &str) -> anyhow::Result<()> {
    super::upgrade_node::write_kubelet_files(d, out)
}

/// Phase `post-upgrade`.
pub fn run_post_upgrade(_: &mut UpgradeData, _: &Output, _: &str) -> anyhow::Result<()> {
    Ok(())
}

/// The phases of `upgrade apply`, in kubeadm's order.
pub fn workflow() -> Workflow<UpgradeData> {
    Workflow {
        command: "upgrade apply",
        phases: vec![
            Phase::leaf("preflight", "Run preflight checks before upgrade", run_preflight),
            Phase::leaf("control-plane", "Upgrade the control plane", run_control_plane),
            Phase::parent(
                "upload-config",
                "Upload the kubeadm and kubelet configurations to ConfigMaps",
                None,
                vec![
                    Phase::leaf("kubeadm", "Upload the kubeadm ClusterConfiguration to a ConfigMap", run_upload_config),
                    Phase::leaf("kubelet", "Upload the kubelet configuration to a ConfigMap", run_upload_config),
                ],
            )
            .aliases(&["uploadconfig"]),
            Phase::leaf("kubeconfig", "Upgrade kubeconfig files for this node", run_kubeconfig).hidden(),
            Phase::leaf("kubelet-config", "Upgrade the kubelet configuration for this node", run_kubelet_config),
            Phase::leaf(
                "bootstrap-token",
                "Generates bootstrap tokens used to join a node to a cluster",
                super::upgrade_cluster::run_bootstrap_token,
            )
            .aliases(&["bootstraptoken"]),
            super::upgrade_cluster::addon_phase(),
            Phase::leaf("post-upgrade", "Run post upgrade tasks", run_post_upgrade),
        ],
    }
}

/// Shared phase functions for `upgrade node`.
pub mod shared {
    pub use super::super::upgrade_cluster::run_addon;
    pub use super::{run_control_plane, run_kubeconfig, run_kubelet_config, run_post_upgrade, run_preflight};
}

/// Runs `kbinit upgrade apply` (or one phase of it).
pub fn exec(g: &Global, a: ApplyArgs, only: Option<&str>, out: &Output) -> anyhow::Result<()> {
    let wf = workflow();
    let skips = a.skip_phases.clone().unwrap_or_default();
    let selected = wf.select(only, &skips)?;
    let mut data = apply_data(g, &a, out)?;
    wf.run(&selected, &mut data, out)?;
    if only.is_none() {
        if data.dry_run {
            out.say("[upgrade/successful] Finished dryrunning successfully!");
        } else {
            out.say("");
            out.say(&format!(
                "[upgrade] SUCCESS! A control plane node of your cluster was upgraded to {:?}.",
                data.target.to_string()
            ));
            out.say("");
            out.say("[upgrade] Now please proceed with upgrading the rest of the nodes by following the right order.");
            out.say("[upgrade] On every node, drain it, upgrade the kubelet package to the same version, run 'systemctl daemon-reload && systemctl restart kubelet', and uncordon it.");
        }
    }
    let _ = backup::TMP_DIR;
    Ok(())
}
