//! The run data `upgrade apply` and `upgrade node` share ([`UpgradeData`], plain values read from the flags, the
//! UpgradeConfiguration and the cluster) and which of the two commands runs ([`Mode`]). Whether this is a dry run
//! (`--dry-run` or `dryRun`) is the host's to say: `ctx.host.is_dry_run()`.

use kbinit_phases::config::{InitConfiguration, Timeouts};
use kbinit_phases::version::KubeVersion;

use crate::api::Target;
use crate::api::apply::DryRunForm;
use crate::flows::upgrade::Context;

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
    pub patches: Vec<kbinit_phases::patches::Patch>,
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
        if self.ctx.host.is_dry_run() {
            Target::DryRun(DryRunForm::of(&self.target))
        } else {
            Target::Live(&self.ctx.api)
        }
    }
}

/// The flag's checks and the configuration's, lower-cased, once each.
pub fn merged_ignores(flag: Option<&[String]>, config: &[String]) -> Vec<String> {
    let mut all: Vec<String> = flag.unwrap_or_default().iter().chain(config).map(|s| s.to_ascii_lowercase()).collect();
    all.sort();
    all.dedup();
    all
}
