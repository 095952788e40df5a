//! `kbinit upgrade`: the flags of `plan`, `apply` (and `apply phase …`), `node` (and `node phase …`) and `diff`,
//! as kubeadm's `cmd/kubeadm/app/cmd/upgrade` defines them (sheet §1). Flags default to "unset" so that an
//! `UpgradeConfiguration` given with `--config` fills what the command line does not say (kubeadm's
//! `ValueFromFlagsOrConfig`). `exec` converts them into the plain options of [`crate::flows::upgrade`] and runs
//! the flow.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::Global;
use crate::flows::upgrade::{self, ApplyOptions, CommonOptions, DiffOptions, NodeOptions, PlanOptions};
use crate::output::Output;

/// `kbinit upgrade …`.
#[derive(Subcommand, Debug)]
pub enum UpgradeCommand {
    /// Check which versions are available to upgrade to and validate whether your current cluster is upgradeable.
    Plan(PlanArgs),
    /// Upgrade your Kubernetes cluster to the specified version.
    Apply(ApplyArgs),
    /// Upgrade commands for a node in the cluster.
    Node(NodeArgs),
    /// Show what differences would be applied to existing static pod manifests. See also: kbinit upgrade apply --dry-run.
    Diff(DiffArgs),
}

/// A boolean flag that also takes `=false` (`--etcd-upgrade=false`).
fn parse_bool(s: &str) -> Result<bool, String> {
    match s {
        "true" | "1" | "t" | "T" | "TRUE" | "True" => Ok(true),
        "false" | "0" | "f" | "F" | "FALSE" | "False" => Ok(false),
        _ => Err(format!("{s:?} is not a boolean (true or false)")),
    }
}

/// Flags `plan` and `apply` share (kubeadm's `addApplyPlanFlags`).
#[derive(Args, Debug, Clone, Default)]
pub struct ApplyPlanFlags {
    /// The kubeconfig file to use when talking to the cluster.
    #[arg(long, value_name = "FILE", default_value = "/etc/kubernetes/admin.conf")]
    pub kubeconfig: String,
    /// Path to an UpgradeConfiguration (kubeadm.k8s.io/v1beta4) file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Show unstable versions of Kubernetes as an upgrade alternative and allow upgrading to an alpha/beta/release candidate versions of Kubernetes.
    #[arg(long)]
    pub allow_experimental_upgrades: bool,
    /// Show release candidate versions of Kubernetes as an upgrade alternative and allow upgrading to a release candidate versions of Kubernetes.
    #[arg(long)]
    pub allow_release_candidate_upgrades: bool,
    /// Specifies whether the configuration file that will be used in the upgrade should be printed or not.
    #[arg(long)]
    pub print_config: bool,
    /// A list of checks whose errors will be shown as warnings. Example: 'IsPrivilegedUser,Swap'. Value 'all' ignores errors from all checks.
    #[arg(long, value_name = "CHECKS", value_delimiter = ',')]
    pub ignore_preflight_errors: Option<Vec<String>>,
    /// Perform the upgrade of etcd.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = parse_bool)]
    pub etcd_upgrade: Option<bool>,
}

/// `kbinit upgrade plan [version]`.
#[derive(Args, Debug, Clone)]
pub struct PlanArgs {
    /// The version to plan an upgrade to (default: what kbinit's version table offers).
    pub version: Option<String>,
    /// Shared flags.
    #[command(flatten)]
    pub common: ApplyPlanFlags,
    /// Output format: text, json or yaml.
    #[arg(short, long, value_name = "FORMAT", default_value = "text")]
    pub output: String,
}

/// `kbinit upgrade apply [version]` and every `kbinit upgrade apply phase …`.
#[derive(Args, Debug, Clone, Default)]
pub struct ApplyArgs {
    /// The version to upgrade to (or `apply.kubernetesVersion` of --config).
    pub version: Option<String>,
    /// Shared flags.
    #[command(flatten)]
    pub common: ApplyPlanFlags,
    /// Perform the upgrade and do not prompt for confirmation (non-interactive mode).
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Force upgrading although some requirements might not be met. This also implies non-interactive mode.
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Do not change any state, just output what actions would be performed.
    #[arg(long)]
    pub dry_run: bool,
    /// Perform the renewal of certificates used by component changed during upgrades.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = parse_bool)]
    pub certificate_renewal: Option<bool>,
    /// A directory of patches (files named target, suffix, patch type and extension, as kubeadm's).
    #[arg(
        long,
        value_name = "DIR",
        help = "Path to a directory that contains files named \"target[suffix][+patchtype].extension\"."
    )]
    pub patches: Option<String>,
    /// List of phases to be skipped.
    #[arg(long, value_name = "PHASES", value_delimiter = ',')]
    pub skip_phases: Option<Vec<String>>,
    /// Take an etcd snapshot (under /var/lib/kbinit/etcd-snapshots) before etcd is touched (stacked etcd).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = parse_bool, default_value = "true")]
    pub etcd_snapshot: bool,
}

/// `kbinit upgrade node` and every `kbinit upgrade node phase …`.
#[derive(Args, Debug, Clone, Default)]
pub struct NodeArgs {
    /// The kubeconfig file to use when talking to the cluster (default: admin.conf on a control-plane node, kubelet.conf elsewhere).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<String>,
    /// Path to an UpgradeConfiguration (kubeadm.k8s.io/v1beta4) file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Do not change any state, just output the actions that would be performed.
    #[arg(long)]
    pub dry_run: bool,
    /// Perform the renewal of certificates used by component changed during upgrades.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = parse_bool)]
    pub certificate_renewal: Option<bool>,
    /// Perform the upgrade of etcd.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = parse_bool)]
    pub etcd_upgrade: Option<bool>,
    /// A list of checks whose errors will be shown as warnings.
    #[arg(long, value_name = "CHECKS", value_delimiter = ',')]
    pub ignore_preflight_errors: Option<Vec<String>>,
    /// A directory of patches (files named target, suffix, patch type and extension, as kubeadm's).
    #[arg(
        long,
        value_name = "DIR",
        help = "Path to a directory that contains files named \"target[suffix][+patchtype].extension\"."
    )]
    pub patches: Option<String>,
    /// List of phases to be skipped.
    #[arg(long, value_name = "PHASES", value_delimiter = ',')]
    pub skip_phases: Option<Vec<String>>,
}

/// `kbinit upgrade diff [version]`.
#[derive(Args, Debug, Clone)]
pub struct DiffArgs {
    /// The version to compare against (default: kubeadm-config's kubernetesVersion).
    pub version: Option<String>,
    /// The kubeconfig file to use when talking to the cluster.
    #[arg(long, value_name = "FILE", default_value = "/etc/kubernetes/admin.conf")]
    pub kubeconfig: String,
    /// Path to an UpgradeConfiguration (kubeadm.k8s.io/v1beta4) file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// How many lines of context in the diff.
    #[arg(short = 'c', long, value_name = "N")]
    pub context_lines: Option<usize>,
}

/// Adds the generated `phase` trees to `upgrade apply` and `upgrade node`.
pub fn with_phase_commands(c: clap::Command) -> clap::Command {
    use clap::Args as _;
    c.mut_subcommand("apply", |a| super::phases::attach(a, &upgrade::apply::workflow(), ApplyArgs::augment_args))
        .mut_subcommand("node", |n| super::phases::attach(n, &upgrade::node::workflow(), NodeArgs::augment_args))
}

impl ApplyPlanFlags {
    /// What plan and apply share, as plain options.
    fn options(self) -> CommonOptions {
        CommonOptions {
            kubeconfig: self.kubeconfig,
            config: self.config,
            allow_experimental_upgrades: self.allow_experimental_upgrades,
            allow_release_candidate_upgrades: self.allow_release_candidate_upgrades,
            print_config: self.print_config,
            ignore_preflight_errors: self.ignore_preflight_errors,
            etcd_upgrade: self.etcd_upgrade,
        }
    }
}

impl PlanArgs {
    /// The plain options of `upgrade plan`: these flags, under `root`.
    pub fn options(self, root: &Path) -> PlanOptions {
        PlanOptions {
            root: root.to_path_buf(),
            version: self.version,
            common: self.common.options(),
            output: self.output,
        }
    }
}

impl ApplyArgs {
    /// The plain options of `upgrade apply`: these flags, under `root`.
    pub fn options(self, root: &Path) -> ApplyOptions {
        ApplyOptions {
            root: root.to_path_buf(),
            version: self.version,
            common: self.common.options(),
            yes: self.yes,
            force: self.force,
            dry_run: self.dry_run,
            certificate_renewal: self.certificate_renewal,
            patches: self.patches,
            skip_phases: self.skip_phases.unwrap_or_default(),
            etcd_snapshot: self.etcd_snapshot,
        }
    }
}

impl NodeArgs {
    /// The plain options of `upgrade node`: these flags, under `root`.
    pub fn options(self, root: &Path) -> NodeOptions {
        NodeOptions {
            root: root.to_path_buf(),
            kubeconfig: self.kubeconfig,
            config: self.config,
            dry_run: self.dry_run,
            certificate_renewal: self.certificate_renewal,
            etcd_upgrade: self.etcd_upgrade,
            ignore_preflight_errors: self.ignore_preflight_errors,
            patches: self.patches,
            skip_phases: self.skip_phases.unwrap_or_default(),
        }
    }
}

impl DiffArgs {
    /// The plain options of `upgrade diff`: these flags, under `root`.
    pub fn options(self, root: &Path) -> DiffOptions {
        DiffOptions {
            root: root.to_path_buf(),
            version: self.version,
            kubeconfig: self.kubeconfig,
            config: self.config,
            context_lines: self.context_lines,
        }
    }
}

/// Runs `kbinit upgrade apply|node phase …`: the leaf's flags become the flow's options.
pub fn exec_phase(g: &Global, cmd: &str, m: &clap::ArgMatches, out: &Output) -> anyhow::Result<()> {
    use clap::FromArgMatches as _;
    let Some((phase, leaf)) = super::phases::phase_of(m) else { anyhow::bail!("no phase given") };
    if cmd == "apply" {
        upgrade::apply::run(ApplyArgs::from_arg_matches(leaf)?.options(&g.root), Some(&phase), out)
    } else {
        upgrade::node::run(NodeArgs::from_arg_matches(leaf)?.options(&g.root), Some(&phase), out)
    }
}

/// Runs `kbinit upgrade …`: the flags become the flow's options, and the flow runs.
pub fn exec(g: &Global, c: UpgradeCommand, out: &Output) -> anyhow::Result<()> {
    match c {
        UpgradeCommand::Plan(a) => upgrade::plan(a.options(&g.root), out),
        UpgradeCommand::Apply(a) => upgrade::apply::run(a.options(&g.root), None, out),
        UpgradeCommand::Node(a) => upgrade::node::run(a.options(&g.root), None, out),
        UpgradeCommand::Diff(a) => upgrade::diff(a.options(&g.root), out),
    }
}
