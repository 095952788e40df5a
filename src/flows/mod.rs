//! The commands' flows, one folder per command: phase trees, run data, and what each phase does (a few lines that
//! call a planner and apply its steps). Nothing here names the command line: `cli` converts flags and calls in.
//!
//! | folder | holds |
//! |---|---|
//! | [`init`] | init's workflow and run data; [`init::cluster`]: the phases that talk to the cluster |
//! | [`join`] | join's workflow and run data; [`join::context`]: discovery and what the cluster says, before any write; [`join::node`]: the phases that act |
//! | [`reset`] | reset's workflow; [`reset::node`]: what it removes and stops |
//! | [`upgrade`] | reading the cluster, plan, diff; [`upgrade::options`]: the plain options of plan, apply, node and diff; [`upgrade::apply`], [`upgrade::node`]: the two workflows; [`upgrade::data`]: their run data; [`upgrade::phases`]: the phases they share; [`upgrade::cluster`]: bootstrap-token and addon; [`upgrade::health`]: apply's cluster health checks; [`upgrade::static_pods`]: backup, swap, hash and health wait, rollback; [`upgrade::etcd`]: etcd data backup/restore |
//! | [`certs`] | check-expiration, renew, generate-csr; [`certs::care`]: renew what is due and the renew timer; [`certs::restart`]: one static Pod restarted and seen healthy |
//! | [`token`] | create, list, delete; [`token::control_plane`]: a fresh kubeadm-certs and a control-plane join command |
//! | [`config`] | [`config::migrate`], [`config::images`] (`config images list|pull`) |
//! | [`api_server_proxy`] | run and status; [`api_server_proxy::setup`]: install/uninstall and the init/join/reset hooks |
//! | [`kubeconfig_user`] | `kubeconfig user` |
//! | [`etcd`] | `etcd snapshot save|list|prune`, `snapshot-timer`, `restore`, `rejoin`, and the snapshot `upgrade apply` takes first |
//! | [`patches`] | the patches directory init, join and upgrade apply to what they render |

pub mod api_server_proxy;
pub mod certs;
pub mod config;
pub mod etcd;
pub mod init;
pub mod join;
pub mod kubeconfig_user;
pub mod patches;
pub mod reset;
pub mod token;
pub mod upgrade;

use std::path::PathBuf;

use crate::error::invalid;
use crate::host::Host;
use crate::output::Output;

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

/// The answer to the prompt: `y`/`yes` in any case proceeds.
pub fn confirmed(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_answers() {
        for yes in ["y", "Y", "yes", "YES\n", " Yes "] {
            assert!(confirmed(yes), "{yes:?}");
        }
        for no in ["", "n", "no", "yep", "\n"] {
            assert!(!confirmed(no), "{no:?}");
        }
    }
}
