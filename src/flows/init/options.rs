//! What `kbinit init` takes beyond its configuration documents, as plain values: the command line fills it in
//! (`cli::init`), tests and other callers can build it directly; nothing here knows about clap.

use std::path::PathBuf;

use kbinit_phases::config::InitFlags;

/// The options of one `kbinit init` run (or one `kbinit init phase …`).
#[derive(Debug, Clone, Default)]
pub struct InitOptions {
    /// The directory every node path is resolved under (`--root`, `/` on a real node).
    pub root: PathBuf,
    /// `--config`: the configuration file, read by [`crate::flows::read_config`] once the phase selection is known
    /// to be valid.
    pub config: Option<PathBuf>,
    /// The flags that map onto configuration (kubeadm's `--config` mixing rules apply to them).
    pub flags: InitFlags,
    /// `--skip-phases` (empty: the configuration's `skipPhases`).
    pub skip_phases: Vec<String>,
    /// `--dry-run`: change nothing on the node (the host then redirects every write).
    pub dry_run: bool,
    /// `--dry-run-dir`: where a dry run renders (default: a fresh temporary directory).
    pub dry_run_dir: Option<PathBuf>,
    /// The kubeconfig init talks to the cluster with (admin.conf).
    pub kubeconfig: String,
    /// Where kubeconfig files are written.
    pub kubeconfig_dir: String,
    /// `--upload-certs`.
    pub upload_certs: bool,
    /// `--skip-token-print`.
    pub skip_token_print: bool,
    /// `--skip-certificate-key-print`.
    pub skip_certificate_key_print: bool,
    /// `--api-server-proxy`.
    pub api_server_proxy: bool,
}
