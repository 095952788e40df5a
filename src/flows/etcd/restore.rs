//! `kbinit etcd restore --snapshot FILE` on a control-plane node with stacked etcd.
//!
//! Everything that can be refused is refused before the node changes: a missing file or record, a file whose
//! size or sha256 is not the record's or whose etcd integrity hash fails, a snapshot of another cluster (its
//! record names another etcd CA), a snapshot from a newer etcd than the node's manifest runs or than the restore
//! tool is, no restore tool, and a healthy etcd unless `--force`. Then, as upgrade does, the kube-apiserver and
//! etcd static Pods are stopped by moving their manifests aside and seen stopped
//! ([`crate::flows::certs::restart`]); the old data dir is moved aside (never deleted); etcd's own restore
//! (`etcdutl snapshot restore`, else `etcdctl snapshot restore`, of the host) builds a new one-member cluster
//! with this node's name and peer URL in a staging dir, which is renamed into place; etcd and the
//! kube-apiserver come back and are waited for.
//!
//! A journal (`/var/lib/kbinit/etcd-restore-in-progress.json`) names the directories while this runs: the same
//! command after a kill -9 resumes where it stopped (a half-built staging dir is rebuilt; it holds nothing
//! but what the snapshot holds), and a different snapshot is refused until that restore is finished.

use std::path::Path;
use std::time::Duration;

use kbinit_phases::etcd_snapshot::integrity::Verifier;
use kbinit_phases::etcd_snapshot::restore::{
    ETCD_MANIFEST, JOURNAL, Journal, Member, next_steps, restore_args, tool_version,
};
use kbinit_phases::etcd_snapshot::{self as plan, Record, version::check_restorable};

use super::{ConfigFlags, source};
use crate::error::invalid;
use crate::flows::certs::restart::{self as static_pod_restart, PARK_DIR};
use crate::host::Host;
use crate::output::Output;

/// How long etcd and the kube-apiserver may take to be healthy again.
const HEALTHY_TIMEOUT: Duration = Duration::from_secs(180);

/// What `etcd restore` was asked.
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// `--snapshot` (a node path).
    pub snapshot: String,
    /// `--force`: restore over an etcd that is healthy.
    pub force: bool,
    /// `--dry-run`: check everything, change nothing.
    pub dry_run: bool,
    /// Where the configuration comes from (for the etcd health check).
    pub config: ConfigFlags,
}

/// Reads and checks the snapshot and its record; the error says what is wrong.
pub fn check_snapshot(host: &Host, snapshot: &str) -> anyhow::Result<Record> {
    let Some(base) = snapshot.strip_suffix(plan::SNAPSHOT_EXT) else {
        return Err(invalid(format!("--snapshot {snapshot}: not a kbinit snapshot (its name must end in .db)")));
    };
    let path = host.path(snapshot);
    let mut file = std::fs::File::open(&path).map_err(|e| invalid(format!("--snapshot {snapshot}: {e}")))?;
    let record_path = format!("{base}{}", plan::RECORD_EXT);
    let bytes = host.read(&record_path).map_err(|e| {
        invalid(format!(
            "--snapshot {snapshot}: its record {record_path} cannot be read ({e}): kbinit cannot tell which cluster and \
             etcd version the snapshot is from"
        ))
    })?;
    let record = Record::parse(&bytes, &record_path)?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size != record.size {
        return Err(invalid(format!(
            "--snapshot {snapshot}: {size} bytes, its record says {}: the file is truncated or not the one recorded",
            record.size
        )));
    }
    let mut verifier = Verifier::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        use std::io::Read;
        let n = file.read(&mut buf).map_err(|e| anyhow::anyhow!("reading {snapshot}: {e}"))?;
        if n == 0 {
            break;
        }
        verifier.update(&buf[..n]);
    }
    let checked = verifier.finish(snapshot).map_err(|e| invalid(format!("--snapshot {e}")))?;
    if checked.sha256 != record.sha256 {
        return Err(invalid(format!(
            "--snapshot {snapshot}: its sha256 is {}, its record says {}: not the snapshot recorded",
            checked.sha256, record.sha256
        )));
    }
    Ok(record)
}

/// The restore tool of the host: `etcdutl` (etcd 3.5+), else `etcdctl`, with its version.
fn restore_tool() -> anyhow::Result<(&'static str, String)> {
    for tool in ["etcdutl", "etcdctl"] {
        let Ok(o) = std::process::Command::new(tool).arg("version").env("ETCDCTL_API", "3").output() else { continue };
        if let Some(v) = tool_version(&String::from_utf8_lossy(&o.stdout)).filter(|_| o.status.success()) {
            return Ok((tool, v));
        }
    }
    Err(invalid(
        "neither etcdutl nor etcdctl is installed: kbinit restores with etcd's own tool (install etcd's client tools)",
    ))
}

/// `etcd restore`.
pub fn restore(host: &Host, o: &RestoreOptions, out: &Output) -> anyhow::Result<()> {
    super::check_node_dir("--snapshot", &o.snapshot)?;
    let record = check_snapshot(host, &o.snapshot)?;
    out.say(&format!(
        "[etcd-restore] {} passes its integrity check: revision {}, etcd {}, taken {} from {}",
        o.snapshot, record.revision, record.etcd_version, record.created, record.endpoint
    ));
    let journal = match host.read(JOURNAL) {
        Ok(b) => Some(Journal::parse(&b)?),
        Err(_) => None,
    };
    if let Some(j) = &journal
        && j.snapshot != o.snapshot
    {
        return Err(invalid(format!(
            "a restore of {} was interrupted on this node ({JOURNAL}): run 'kbinit etcd restore --snapshot {}' to \
             finish it first",
            j.snapshot, j.snapshot
        )));
    }
    let manifest_bytes =
        host.read(ETCD_MANIFEST).or_else(|_| host.read(&format!("{PARK_DIR}/etcd.yaml"))).map_err(|_| {
            invalid(format!(
                "{ETCD_MANIFEST} does not exist: etcd restore runs on a control-plane node with stacked etcd"
            ))
        })?;
    let yaml = String::from_utf8_lossy(&manifest_bytes).into_owned();
    let member = Member::from_manifest(&yaml)?;
    let ca_dir = super::cert_dir_of(&yaml);
    let ca = host
        .read(&format!("{ca_dir}/etcd/ca.crt"))
        .map_err(|e| invalid(format!("reading {ca_dir}/etcd/ca.crt: {e}")))?;
    if plan::ca_fingerprint(&ca, "etcd/ca.crt")? != record.etcd_ca_sha256 {
        return Err(invalid(format!(
            "--snapshot {}: it was taken from another cluster (its etcd CA is not this node's {ca_dir}/etcd/ca.crt)",
            o.snapshot
        )));
    }
    check_restorable(&record.etcd_version, &member.image_tag, "this node's etcd (its manifest's image)")
        .map_err(|e| invalid(format!("--snapshot {}: {e}", o.snapshot)))?;
    let (tool, tool_v) = restore_tool()?;
    check_restorable(&record.etcd_version, &tool_v, &format!("the host's {tool}"))
        .map_err(|e| invalid(format!("--snapshot {}: {e}", o.snapshot)))?;
    if journal.is_none() {
        refuse_healthy(host, o, out)?;
    }
    let j = journal
        .clone()
        .unwrap_or_else(|| Journal::new(&o.snapshot, &member.data_dir, &plan::stamp(time::OffsetDateTime::now_utc())));
    if o.dry_run {
        out.say(&format!("[dryrun] Would stop kube-apiserver and etcd (manifests moved to {PARK_DIR})"));
        out.say(&format!("[dryrun] Would move {} to {} (kept)", j.data_dir, j.aside));
        out.say(&format!(
            "[dryrun] Would run: {tool} {}",
            restore_args(&o.snapshot, &member, &j, &j.staging).join(" ")
        ));
        out.say(&format!(
            "[dryrun] Would move {} to {} and start etcd and kube-apiserver again",
            j.staging, j.data_dir
        ));
        return Ok(());
    }
    if journal.is_some() {
        out.say(&format!("[etcd-restore] Resuming the interrupted restore recorded in {JOURNAL}"));
    } else {
        host.write(JOURNAL, &j.to_bytes()?, 0o600)?;
    }
    let apiserver = static_pod_restart::stop(host, "kube-apiserver", out)?;
    let etcd = static_pod_restart::stop(host, "etcd", out)?
        .ok_or_else(|| anyhow::anyhow!("{ETCD_MANIFEST} vanished while restoring"))?;
    rebuild(host, &j, &member, tool, out)?;
    static_pod_restart::unpark(host, &etcd, out)?;
    wait_etcd(host, o, &j, out)?;
    if let Some(a) = &apiserver {
        static_pod_restart::start(host, a, HEALTHY_TIMEOUT, out)?;
    }
    host.remove_file(JOURNAL)?;
    out.say(&format!(
        "[etcd-restore] Restored {} into {}; the previous data is in {}",
        o.snapshot, j.data_dir, j.aside
    ));
    for line in next_steps(&member, &o.snapshot) {
        out.say(&format!("[etcd-restore] {line}"));
    }
    Ok(())
}

/// Waits until the restored member answers etcd's Status with a leader (etcd's own view of its health, the same
/// for every etcd version; the manifest's liveness path differs between 3.4 and 3.5+).
fn wait_etcd(host: &Host, o: &RestoreOptions, j: &Journal, out: &Output) -> anyhow::Result<()> {
    let src = source(host, &o.config, out)?;
    let client = src.client()?;
    let deadline = std::time::Instant::now() + HEALTHY_TIMEOUT;
    let ep = src.endpoints.first().cloned().unwrap_or_default();
    let up = client
        .wait_endpoints_healthy(std::slice::from_ref(&ep), deadline, Duration::from_millis(500))
        .map_err(|e| anyhow::anyhow!("{e:#}; the old data is in {}", j.aside))?;
    let rev = up.first().map(|s| s.revision).unwrap_or_default();
    out.say(&format!("[etcd-restore] etcd is healthy at {ep}: a one-member cluster at revision {rev}"));
    Ok(())
}

/// Refuses when this node's etcd answers healthy (unless `--force`).
fn refuse_healthy(host: &Host, o: &RestoreOptions, out: &Output) -> anyhow::Result<()> {
    let src = source(host, &o.config, out)?;
    let client = src.client()?;
    let healthy =
        src.endpoints.iter().find_map(|ep| client.status(ep).ok().filter(|s| s.leader != 0 && s.errors.is_empty()));
    match healthy {
        Some(s) if !o.force => Err(invalid(format!(
            "etcd at {} is healthy (leader {:x}, revision {}): restoring would throw away everything written since the \
             snapshot; give --force to restore anyway",
            s.endpoint, s.leader, s.revision
        ))),
        Some(_) => {
            out.warn("etcd is healthy; restoring anyway (--force)");
            Ok(())
        }
        None => Ok(()),
    }
}

/// Moves the old data aside and builds the new data dir with etcd's tool (each step skipped when an interrupted
/// run did it already).
fn rebuild(host: &Host, j: &Journal, member: &Member, tool: &str, out: &Output) -> anyhow::Result<()> {
    let exists = |p: &str| host.path(p).exists();
    if exists(&j.aside) && exists(&j.data_dir) && !exists(&j.staging) {
        out.say(&format!("[etcd-restore] {} was rebuilt by the interrupted run", j.data_dir));
        return Ok(());
    }
    if !exists(&j.aside) && exists(&j.data_dir) {
        host.rename(&j.data_dir, &j.aside)?;
        out.say(&format!("[etcd-restore] Moved the old data dir {} to {} (kept)", j.data_dir, j.aside));
    }
    if exists(&j.staging) {
        host.remove_dir_all(&j.staging)?;
        out.say(&format!("[etcd-restore] Removed {}, half built by the interrupted run", j.staging));
    }
    let staging = host.path(&j.staging);
    let args = restore_args(&path_str(&host.path(&j.snapshot))?, member, j, &path_str(&staging)?);
    out.say(&format!(
        "[etcd-restore] Running {tool} snapshot restore into {} as member {} ({})",
        j.staging, member.name, member.peer_url
    ));
    let o = std::process::Command::new(tool)
        .args(&args)
        .env("ETCDCTL_API", "3")
        .output()
        .map_err(|e| anyhow::anyhow!("running {tool}: {e}"))?;
    if !o.status.success() {
        anyhow::bail!(
            "{tool} snapshot restore failed ({}): {}{}; the old data is in {}, the manifests are parked in {PARK_DIR}",
            o.status,
            String::from_utf8_lossy(&o.stdout).trim(),
            String::from_utf8_lossy(&o.stderr).trim(),
            j.aside
        );
    }
    host.rename(&j.staging, &j.data_dir)?;
    out.say(&format!("[etcd-restore] Moved the restored data into {}", j.data_dir));
    Ok(())
}

fn path_str(p: &Path) -> anyhow::Result<String> {
    p.to_str().map(str::to_string).ok_or_else(|| anyhow::anyhow!("{} is not UTF-8", p.display()))
}
