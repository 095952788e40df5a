//! The three workflows (init, join, reset): their phase trees, their run data, and what each phase does —
//! each phase a few lines that call a planner and apply its steps.

pub mod apiproxy;
pub mod apiproxy_setup;
pub mod certs;
pub mod certs_care;
pub mod config_migrate;
pub mod etcd;
pub mod images;
pub mod init;
pub mod init_cluster;
pub mod join;
pub mod join_cluster;
pub mod join_node;
pub mod kubeconfig_user;
pub mod reset;
pub mod reset_node;
pub mod static_pod_restart;
pub mod token;
pub mod token_control_plane;
pub mod upgrade;
pub mod upgrade_apply;
pub mod upgrade_cluster;
pub mod upgrade_etcd;
pub mod upgrade_health;
pub mod upgrade_node;
pub mod upgrade_staticpods;

use std::path::{Path, PathBuf};

use crate::error::invalid;
use crate::host::Host;
use crate::output::Output;

/// Builds the host for a command: the root, and with `--dry-run` a fresh directory that receives every write.
pub fn host_for(
    root: &Path,
    dry_run: bool,
    dry_run_dir: Option<&PathBuf>,
    cmd: &str,
    out: &Output,
) -> anyhow::Result<Host> {
    if !root.is_dir() {
        return Err(invalid(format!("--root {:?} is not a directory", root.display())));
    }
    let dir = match (dry_run, dry_run_dir) {
        (false, Some(_)) => return Err(invalid("--dry-run-dir can only be used with --dry-run")),
        (false, None) => None,
        (true, Some(d)) => {
            let non_empty = std::fs::read_dir(d).map(|mut e| e.next().is_some()).unwrap_or(false);
            if non_empty {
                return Err(invalid(format!(
                    "--dry-run-dir {:?} is not empty: pick a new or empty directory",
                    d.display()
                )));
            }
            std::fs::create_dir_all(d).map_err(|e| anyhow::anyhow!("creating {}: {e}", d.display()))?;
            Some(d.clone())
        }
        (true, None) => Some(
            tempfile::Builder::new()
                .prefix(&format!("kbinit-{cmd}-dryrun"))
                .tempdir()
                .map_err(|e| anyhow::anyhow!("creating the dry-run directory: {e}"))?
                .keep(),
        ),
    };
    if let Some(d) = &dir {
        out.say(&format!("[dryrun] Nothing on the node changes; every file is rendered into {:?}", d.display()));
    }
    Ok(Host::new(root.to_path_buf(), dir))
}

/// Removes the temporary files of writes an interrupted run (kill -9, power loss) did not finish in the
/// directories kbinit writes to, and says which: a re-run then ends with the same files as an uninterrupted
/// run (what it reuses instead of rewriting would otherwise keep its half-written sibling).
pub fn clean_interrupted_writes(host: &Host, dirs: &[&str], tag: &str, out: &Output) -> anyhow::Result<()> {
    let mut unique: Vec<&str> = Vec::new();
    for d in dirs {
        if !unique.contains(d) {
            unique.push(d);
        }
    }
    for path in host.remove_stale_temps(&unique)? {
        out.say(&format!("[{tag}] Removed {path:?}, a partly written file left by an interrupted run"));
    }
    Ok(())
}

/// Reads a `--config` file; a missing or unreadable file is invalid input.
pub fn read_config(path: Option<&PathBuf>) -> anyhow::Result<Option<String>> {
    path.map(|p| {
        std::fs::read_to_string(p).map_err(|e| invalid(format!("unable to read config from {:?}: {e}", p.display())))
    })
    .transpose()
}

/// A phase that needs a running cluster. Until the API client lands it fails in a real run, and in a dry run
/// says plainly that it was not rendered.
pub fn needs_cluster(dry_run: bool, phase: &str, out: &Output) -> anyhow::Result<()> {
    if dry_run {
        out.say(&format!(
            "[dryrun] Phase {phase:?} talks to the cluster: not implemented yet in this kbinit build, nothing rendered"
        ));
        Ok(())
    } else {
        anyhow::bail!("phase {phase:?} talks to the cluster, which is not implemented yet in this kbinit build")
    }
}
