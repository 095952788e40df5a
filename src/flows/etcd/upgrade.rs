//! What `upgrade apply` does about etcd's data before it touches etcd: a snapshot through
//! [`super::snapshot::save`] (named in the output and in the rollback message, so the way back is one
//! `kbinit etcd restore` away; `--etcd-snapshot=false` turns it off), and the refusal of etcd's 3.5 → 3.6 trap
//! (a 3.5 below 3.5.26 going to 3.6, see [`kbinit_phases::etcd_snapshot::version::zombie_trap`]) as the
//! preflight check `EtcdZombieRisk`, which `--ignore-preflight-errors` can turn into a warning.

use kbinit_phases::config::Etcd;
use kbinit_phases::etcd_snapshot::{DEFAULT_DIR, stamp, version::zombie_trap};
use kbinit_phases::upgrade::target::manifest_image_tag;

use super::ConfigFlags;
use super::snapshot::{SaveOptions, save};
use crate::error::{Exit, PreflightFailed, exit_code};
use crate::flows::upgrade::data::UpgradeData;
use crate::output::Output;

/// The preflight check's name.
pub const CHECK: &str = "EtcdZombieRisk";

/// The running etcd's tag (this node's manifest) and the target's, when this upgrade touches a stacked etcd.
fn etcd_tags(d: &UpgradeData) -> Option<(String, String)> {
    if !d.etcd_upgrade || !matches!(d.init.cluster.etcd, Etcd::Local(_)) {
        return None;
    }
    let yaml = d.ctx.host.read("/etc/kubernetes/manifests/etcd.yaml").ok()?;
    let current = manifest_image_tag(&String::from_utf8_lossy(&yaml));
    let target = kbinit_phases::upgrade::plan::etcd_tag(&d.init.cluster, &d.target);
    Some((current, target))
}

/// Refuses etcd's 3.5 → 3.6 trap unless `EtcdZombieRisk` (or `all`) is in `--ignore-preflight-errors`.
pub fn check_zombie_trap(d: &UpgradeData, out: &Output) -> anyhow::Result<()> {
    let Some(warning) = etcd_tags(d).and_then(|(current, target)| zombie_trap(&current, &target)) else {
        return Ok(());
    };
    let ignored = d.ignore_preflight_errors.iter().any(|c| c == "all" || c == &CHECK.to_ascii_lowercase());
    if ignored {
        out.warn(&format!("{CHECK}: {warning} (ignored: --ignore-preflight-errors)"));
        return Ok(());
    }
    Err(anyhow::Error::new(PreflightFailed(format!(
        "[preflight] Some fatal errors occurred:\n\t[ERROR {CHECK}]: {warning}; set etcd.local.imageTag to 3.5.26 or \
         later and apply that first\n[preflight] If you know what you are doing, you can make a check non-fatal with \
         `--ignore-preflight-errors=...`"
    ))))
}

/// Takes the pre-upgrade snapshot when the upgrade will touch a stacked etcd and `--etcd-snapshot` is on;
/// returns its path. In a dry run it only says so.
pub fn snapshot_before(d: &UpgradeData, out: &Output) -> anyhow::Result<Option<String>> {
    if !d.etcd_snapshot || etcd_tags(d).is_none() {
        return Ok(None);
    }
    let name = format!("pre-upgrade-{}-{}", d.target, stamp(time::OffsetDateTime::now_utc()));
    let path = format!("{DEFAULT_DIR}/{name}.db");
    if d.ctx.host.is_dry_run() {
        out.say(&format!("[dryrun] Would take an etcd snapshot {path:?} before touching etcd"));
        return Ok(None);
    }
    out.say("[upgrade/etcd] Taking an etcd snapshot before touching etcd (--etcd-snapshot=false turns this off)");
    let o = SaveOptions {
        dir: DEFAULT_DIR.to_string(),
        name: Some(name),
        config: ConfigFlags { config: None, kubeconfig: d.kubeconfig.clone() },
        dry_run: false,
    };
    save(&d.ctx.host, &o, out).map_err(|e| {
        anyhow::anyhow!(
            "{e:#}: the etcd snapshot before the upgrade failed, nothing was upgraded (--etcd-snapshot=false skips it)"
        )
    })?;
    out.say(&format!(
        "[upgrade/etcd] etcd snapshot {path:?}: 'kbinit etcd restore --snapshot {path}' brings etcd back to it"
    ));
    Ok(Some(path))
}

/// A control-plane failure, with the snapshot named (the exit code of other errors is kept as it is).
pub fn name_snapshot(e: anyhow::Error, snapshot: Option<&str>) -> anyhow::Error {
    match snapshot {
        Some(p) if exit_code(&e) == Exit::Failure => anyhow::anyhow!(
            "{e:#}. The etcd snapshot taken before this upgrade is {p}: 'kbinit etcd restore --snapshot {p}' brings \
             etcd back to it"
        ),
        _ => e,
    }
}
