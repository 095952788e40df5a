//! What `kbinit join` takes beyond its configuration documents, as plain values: the command line fills it in
//! (`cli::join`); nothing here knows about clap.

use std::path::PathBuf;

use kbinit_phases::config::JoinFlags;

/// The options of one `kbinit join` run (or one `kbinit join phase …`).
#[derive(Debug, Clone, Default)]
pub struct JoinOptions {
    /// The directory every node path is resolved under (`--root`, `/` on a real node).
    pub root: PathBuf,
    /// `--config`: the configuration file, read by [`crate::flows::read_config`].
    pub config: Option<PathBuf>,
    /// The flags that map onto configuration (kubeadm's `--config` mixing rules apply to them).
    pub flags: JoinFlags,
    /// `--skip-phases` (empty: the configuration's `skipPhases`).
    pub skip_phases: Vec<String>,
    /// `--check`: only say whether this node could join, changing nothing.
    pub check: bool,
    /// `--dry-run`: change nothing on the node (the host then redirects every write).
    pub dry_run: bool,
    /// `--dry-run-dir`: where a dry run renders (default: a fresh temporary directory).
    pub dry_run_dir: Option<PathBuf>,
}
