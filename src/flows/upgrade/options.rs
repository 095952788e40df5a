//! What `kbinit upgrade plan|apply|node|diff` take, as plain values: the command line fills them in
//! (`cli::upgrade`), tests and other callers can build them directly; nothing here knows about clap. A flag left
//! unset (`None`) lets the UpgradeConfiguration of `--config` decide (kubeadm's `ValueFromFlagsOrConfig`).

use std::path::PathBuf;

/// What `plan` and `apply` share (kubeadm's `addApplyPlanFlags`).
#[derive(Debug, Clone, Default)]
pub struct CommonOptions {
    /// The kubeconfig to talk to the cluster with (a node path).
    pub kubeconfig: String,
    /// `--config`: an UpgradeConfiguration file.
    pub config: Option<PathBuf>,
    /// `--allow-experimental-upgrades`.
    pub allow_experimental_upgrades: bool,
    /// `--allow-release-candidate-upgrades`.
    pub allow_release_candidate_upgrades: bool,
    /// `--print-config`.
    pub print_config: bool,
    /// `--ignore-preflight-errors`, as given.
    pub ignore_preflight_errors: Option<Vec<String>>,
    /// `--etcd-upgrade`.
    pub etcd_upgrade: Option<bool>,
}

/// The options of `kbinit upgrade plan [version]`.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// The directory every node path is resolved under (`--root`).
    pub root: PathBuf,
    /// The version to plan an upgrade to.
    pub version: Option<String>,
    /// What plan shares with apply.
    pub common: CommonOptions,
    /// `--output`: text, json or yaml.
    pub output: String,
}

/// The options of `kbinit upgrade apply [version]` (or one phase of it).
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// The directory every node path is resolved under (`--root`).
    pub root: PathBuf,
    /// The version to upgrade to (or `apply.kubernetesVersion` of `--config`).
    pub version: Option<String>,
    /// What apply shares with plan.
    pub common: CommonOptions,
    /// `--yes`: do not prompt.
    pub yes: bool,
    /// `--force`.
    pub force: bool,
    /// `--dry-run`.
    pub dry_run: bool,
    /// `--certificate-renewal`.
    pub certificate_renewal: Option<bool>,
    /// `--patches`.
    pub patches: Option<String>,
    /// `--skip-phases`.
    pub skip_phases: Vec<String>,
    /// `--etcd-snapshot`: take an etcd snapshot before etcd is touched.
    pub etcd_snapshot: bool,
}

/// The options of `kbinit upgrade node` (or one phase of it).
#[derive(Debug, Clone, Default)]
pub struct NodeOptions {
    /// The directory every node path is resolved under (`--root`).
    pub root: PathBuf,
    /// `--kubeconfig` (default: admin.conf on a control-plane node, kubelet.conf elsewhere).
    pub kubeconfig: Option<String>,
    /// `--config`: an UpgradeConfiguration file.
    pub config: Option<PathBuf>,
    /// `--dry-run`.
    pub dry_run: bool,
    /// `--certificate-renewal`.
    pub certificate_renewal: Option<bool>,
    /// `--etcd-upgrade`.
    pub etcd_upgrade: Option<bool>,
    /// `--ignore-preflight-errors`, as given.
    pub ignore_preflight_errors: Option<Vec<String>>,
    /// `--patches`.
    pub patches: Option<String>,
    /// `--skip-phases`.
    pub skip_phases: Vec<String>,
}

/// The options of `kbinit upgrade diff [version]`.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// The directory every node path is resolved under (`--root`).
    pub root: PathBuf,
    /// The version to compare against (default: the configuration's, else kubeadm-config's).
    pub version: Option<String>,
    /// The kubeconfig to talk to the cluster with (a node path).
    pub kubeconfig: String,
    /// `--config`: an UpgradeConfiguration file.
    pub config: Option<PathBuf>,
    /// `--context-lines`.
    pub context_lines: Option<usize>,
}
