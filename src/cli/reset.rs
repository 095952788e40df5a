//! `kbinit reset`: its flags, how they become [`ResetOptions`], and `exec`, which hands them to
//! [`crate::flows::reset`].

use clap::Args;

use super::Global;
use crate::flows::reset::ResetOptions;
use crate::output::Output;

/// Flags of `kbinit reset` and of every `kbinit reset phase …`.
#[derive(Args, Debug, Clone, Default)]
pub struct ResetArgs {
    /// Where certificates are kept [default: /etc/kubernetes/pki].
    #[arg(long, value_name = "DIR", default_value = "/etc/kubernetes/pki")]
    pub cert_dir: String,
    /// Also clean the temporary directory /etc/kubernetes/tmp.
    #[arg(long)]
    pub cleanup_tmp_dir: bool,
    /// CRI socket to talk to (default: detected).
    #[arg(long, value_name = "URL")]
    pub cri_socket: Option<String>,
    /// Print every action, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub force: bool,
    /// Preflight checks whose errors become warnings; 'all' ignores every check.
    #[arg(long, value_name = "CHECKS", value_delimiter = ',')]
    pub ignore_preflight_errors: Option<Vec<String>>,
    /// kubeconfig used to talk to the cluster.
    #[arg(long, value_name = "FILE", default_value = "/etc/kubernetes/admin.conf")]
    pub kubeconfig: String,
    /// Phases to skip.
    #[arg(long, value_name = "PHASES", value_delimiter = ',')]
    pub skip_phases: Option<Vec<String>>,
    /// Path to a ResetConfiguration (kubeadm.k8s.io/v1beta4) file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    /// Output format: text (kubeadm's lines) or jsonl (one JSON event per line on stdout, for automation).
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "text")]
    pub output: crate::output::Format,
}

impl ResetArgs {
    /// The plain options of reset's flow: these flags, under `root`.
    pub fn options(self, root: &std::path::Path) -> ResetOptions {
        ResetOptions {
            root: root.to_path_buf(),
            cert_dir: self.cert_dir,
            cleanup_tmp_dir: self.cleanup_tmp_dir,
            cri_socket: self.cri_socket,
            dry_run: self.dry_run,
            force: self.force,
            ignore_preflight_errors: self.ignore_preflight_errors.unwrap_or_default(),
            skip_phases: self.skip_phases.unwrap_or_default(),
            config: self.config,
            unmount_flags: Vec::new(),
        }
    }
}

/// `kbinit reset` (or one phase of it, `only`): the flags become reset's options, and the flow runs.
pub fn exec(g: &Global, a: ResetArgs, only: Option<&str>, out: &Output) -> anyhow::Result<()> {
    crate::flows::reset::run(a.options(&g.root), only, out)
}
