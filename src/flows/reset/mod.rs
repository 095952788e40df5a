//! `kbinit reset`: kubeadm's reset phase tree (preflight, remove-etcd-member, cleanup-node), its run data, the
//! confirmation prompt and what reset says it leaves alone. What the phases do to the node is in
//! [`crate::flows::reset::node`]; everything happens under `--root`, and with `--dry-run` each action is only listed
//! (`[reset] Would …`).

pub mod node;

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::host::Host;
use crate::output::Output;
use crate::workflow::{Phase, Workflow};

/// The options of one `kbinit reset` run (or one `kbinit reset phase …`), as plain values: the command line fills
/// them in (`cli::reset`).
#[derive(Debug, Clone, Default)]
pub struct ResetOptions {
    /// The directory every node path is resolved under (`--root`, `/` on a real node).
    pub root: PathBuf,
    /// `--cert-dir`: where the certificates are kept.
    pub cert_dir: String,
    /// `--cleanup-tmp-dir`: also clean /etc/kubernetes/tmp.
    pub cleanup_tmp_dir: bool,
    /// `--cri-socket` (default: detected).
    pub cri_socket: Option<String>,
    /// `--dry-run`: list every action, change nothing (the host, built from it, is asked from then on).
    pub dry_run: bool,
    /// `--force`: do not ask for confirmation.
    pub force: bool,
    /// `--ignore-preflight-errors`, as given.
    pub ignore_preflight_errors: Vec<String>,
    /// `--skip-phases`.
    pub skip_phases: Vec<String>,
    /// `--config`: a ResetConfiguration file; what it sets applies where no flag said otherwise.
    pub config: Option<PathBuf>,
    /// `unmountFlags` of the ResetConfiguration (umount2 flags for the mounts under /var/lib/kubelet).
    pub unmount_flags: Vec<String>,
}

impl ResetOptions {
    /// The ResetConfiguration of `--config` laid under the flags (kubeadm's `ValueFromFlagsOrConfig`: a flag
    /// the user gave wins; booleans are on when either says so).
    fn with_config(mut self, out: &Output) -> anyhow::Result<ResetOptions> {
        let Some(text) = crate::flows::read_config(self.config.as_ref())? else { return Ok(self) };
        let (c, warnings) = kbinit_phases::config::reset::parse_reset_configuration(&text)?;
        warnings.iter().for_each(|w| out.warn(w));
        self.cleanup_tmp_dir |= c.cleanup_tmp_dir.unwrap_or(false);
        self.dry_run |= c.dry_run.unwrap_or(false);
        self.force |= c.force.unwrap_or(false);
        if self.cert_dir == "/etc/kubernetes/pki"
            && let Some(dir) = c.certificates_dir
        {
            self.cert_dir = dir;
        }
        self.cri_socket = self.cri_socket.or(c.cri_socket);
        if self.ignore_preflight_errors.is_empty() {
            self.ignore_preflight_errors = c.ignore_preflight_errors;
        }
        if self.skip_phases.is_empty() {
            self.skip_phases = c.skip_phases;
        }
        self.unmount_flags = c.unmount_flags;
        Ok(self)
    }
}

/// What reset's phases share.
pub struct ResetData {
    /// The flags.
    pub opts: ResetOptions,
    /// The node (reset never writes, it only deletes; with `--dry-run`, [`Host::is_dry_run`], it deletes
    /// nothing).
    pub host: Host,
    /// `--ignore-preflight-errors`, lower-cased and checked.
    pub ignore: Vec<String>,
}

/// What kubeadm's reset prints about what it leaves alone.
pub const OUTRO: &str = "
The reset process does not clean CNI configuration. To do so, you must remove /etc/cni/net.d

The reset process does not reset or clean up iptables rules or IPVS tables.
If you wish to reset iptables, you must do so manually by using the \"iptables\" command.

If your cluster was setup to utilize IPVS, run ipvsadm --clear (or similar)
to reset your system's IPVS tables.

The reset process does not clean your kubeconfig files and you must remove them manually.
Please, check the contents of the $HOME/.kube/config file.
";

fn run_preflight(d: &mut ResetData, out: &Output, _: &str) -> anyhow::Result<()> {
    if !d.opts.force && !d.host.is_dry_run() {
        out.err_line("[reset] WARNING: Changes made to this host by 'kbinit init' or 'kbinit join' will be reverted.");
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            anyhow::bail!(
                "won't proceed: reset asks for confirmation and stdin is not a terminal, so nobody can answer; run \
                 'kbinit reset --force' to reset without asking (or --dry-run to see what it would do)"
            );
        }
        out.say("[reset] Are you sure you want to proceed? [y/N]: ");
        let mut answer = String::new();
        stdin.read_line(&mut answer).map_err(|e| anyhow::anyhow!("reading the answer from stdin: {e}"))?;
        if !crate::flows::confirmed(&answer) {
            anyhow::bail!("won't proceed; the user didn't answer (Y|y) in order to continue");
        }
    }
    crate::preflight::run_reset(&d.ignore, out)
}

fn run_remove_etcd_member(d: &mut ResetData, out: &Output, _: &str) -> anyhow::Result<()> {
    node::remove_etcd_member(d, out)
}

fn run_cleanup_node(d: &mut ResetData, out: &Output, _: &str) -> anyhow::Result<()> {
    node::cleanup_node(d, out)
}

/// reset's phases in kubeadm's order.
pub fn workflow() -> Workflow<ResetData> {
    Workflow {
        command: "reset",
        phases: vec![
            Phase::leaf("preflight", "Run reset pre-flight checks", run_preflight).aliases(&["pre-flight"]),
            Phase::leaf("remove-etcd-member", "Remove a local etcd member.", run_remove_etcd_member),
            Phase::leaf("cleanup-node", "Run cleanup node.", run_cleanup_node).aliases(&["cleanupnode"]),
        ],
    }
}

/// Runs `kbinit reset` (or one phase of it).
pub fn run(opts: ResetOptions, only: Option<&str>, out: &Output) -> anyhow::Result<()> {
    let opts = opts.with_config(out)?;
    let wf = workflow();
    let selected = wf.select(only, &opts.skip_phases)?;
    let ignore = crate::preflight::normalize_ignore(&opts.ignore_preflight_errors)?;
    let host = Host::for_listing_command(&opts.root, opts.dry_run)?;
    let cleans = selected.iter().any(|p| p == "cleanup-node");
    let mut data = ResetData { opts, host, ignore };
    wf.run(&selected, &mut data, out)?;
    if cleans {
        out.raw(OUTRO);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_are_kubeadms() {
        assert_eq!(workflow().names(), ["preflight", "remove-etcd-member", "cleanup-node"]);
    }
}
