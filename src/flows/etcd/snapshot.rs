//! `kbinit etcd snapshot save|list|prune`. `save` streams a snapshot from one etcd member into a temporary file
//! beside its final name, checks etcd's integrity hash, and only then renames it into place (mode 0600) and
//! writes its JSON record: a save that is killed, runs out of disk or loses its member leaves at most a
//! temporary file, which `list` never shows and the next `save` or `prune` removes. `list` shows the snapshots
//! whose record is readable and whose file has the recorded size; `prune --keep N` removes all but the newest N.

use std::time::Duration;

use kbinit_phases::etcd_snapshot::{self as plan, Record, integrity::Verifier};

use super::{ConfigFlags, Source, check_node_dir, source};
use crate::error::invalid;
use crate::etcd::{EndpointStatus, EtcdClient};
use crate::host::Host;
use crate::output::Output;

/// How long the stream may stall before the save is abandoned.
const IDLE: Duration = Duration::from_secs(30);

/// What `snapshot save` was asked.
#[derive(Debug, Clone, Default)]
pub struct SaveOptions {
    /// `--dir` (node path).
    pub dir: String,
    /// `--name`.
    pub name: Option<String>,
    /// Where the configuration comes from.
    pub config: ConfigFlags,
    /// `--dry-run`: connect and say what would be written, write nothing.
    pub dry_run: bool,
}

/// `snapshot save`: returns the record of the snapshot written (or, in a dry run, the one that would be).
pub fn save(host: &Host, o: &SaveOptions, out: &Output) -> anyhow::Result<Option<Record>> {
    check_node_dir("--dir", &o.dir)?;
    let name = o.name.as_deref().map(plan::validate_name).transpose()?;
    let dir_path = host.path(&o.dir);
    if dir_path.exists() && !dir_path.is_dir() {
        return Err(invalid(format!("--dir {}: exists and is not a directory", o.dir)));
    }
    let src = source(host, &o.config, out)?;
    let mut client = src.client()?;
    let (endpoint, status) = first_answering(&client, &src)?;
    let members = client.member_list().unwrap_or_default();
    let member_name = members.iter().find(|m| m.id == status.member_id).map(|m| m.name.clone()).unwrap_or_default();
    let now = time::OffsetDateTime::now_utc();
    let name = name.unwrap_or_else(|| plan::default_name(&member_name, now));
    let (db, json) = plan::file_names(&name);
    let (db_path, json_path) = (kbinit_phases::paths::join(&o.dir, &db), kbinit_phases::paths::join(&o.dir, &json));
    if host.path(&db_path).exists() || host.path(&json_path).exists() {
        return Err(invalid(format!("a snapshot named {name:?} exists in {} already: give another --name", o.dir)));
    }
    out.say(&format!(
        "[etcd-snapshot] Streaming a snapshot from etcd member {} ({endpoint}, etcd {})",
        if member_name.is_empty() { format!("{:x}", status.member_id) } else { member_name.clone() },
        status.version
    ));
    if o.dry_run {
        out.say(&format!("[dryrun] Would write {db_path:?} (mode 0600) and its record {json_path:?}"));
        return Ok(None);
    }
    host.ensure_dir(&o.dir, 0o700).map_err(|e| invalid(format!("cannot write snapshots into {}: {e:#}", o.dir)))?;
    crate::flows::clean_interrupted_writes(host, &[&o.dir], "etcd-snapshot", out)?;
    let mut file = host
        .create_atomic(&db_path, 0o600)
        .map_err(|e| invalid(format!("cannot write snapshots into {}: {e:#}", o.dir)))?;
    let mut verifier = Verifier::new();
    let streamed = client.snapshot(&endpoint, IDLE, &mut |chunk| {
        verifier.update(chunk);
        file.write_all(chunk).map_err(|e| anyhow::anyhow!("writing {db_path}: {e}"))
    })?;
    let checked = verifier.finish(&format!("the snapshot streamed from {endpoint}"))?;
    // etcd 3.5+ puts the snapshot's own header first in the stream; 3.4 sends none, and the Status just before
    // the stream gives cluster and revision instead
    let (cluster_id, revision) =
        streamed.header.as_ref().map_or((status.cluster_id, status.revision), |h| (h.cluster_id, h.revision));
    let record = Record {
        name: name.clone(),
        file: db.clone(),
        cluster_id: format!("{cluster_id:x}"),
        member_id: format!("{:x}", status.member_id),
        member_name,
        endpoint: endpoint.clone(),
        revision,
        etcd_version: status.version.clone(),
        kubernetes_version: src.kubernetes_version.clone(),
        created: plan::rfc3339(time::OffsetDateTime::now_utc()),
        size: checked.size,
        sha256: checked.sha256,
        etcd_ca_sha256: src.ca_sha256.clone(),
    };
    file.commit().map_err(|e| anyhow::anyhow!("writing {db_path}: {e}"))?;
    host.write(&json_path, &record.to_bytes()?, 0o600)?;
    out.say(&format!(
        "[etcd-snapshot] Saved {db_path:?}: revision {}, {} bytes, sha256 {}, integrity hash checked",
        record.revision, record.size, record.sha256
    ));
    Ok(Some(record))
}

/// The first endpoint whose member answers Status, with that answer.
pub(super) fn first_answering(client: &EtcdClient, src: &Source) -> anyhow::Result<(String, EndpointStatus)> {
    let mut why = Vec::new();
    for ep in &src.endpoints {
        match client.status(ep) {
            Ok(s) => return Ok((ep.clone(), s)),
            Err(e) => why.push(format!("{e:#}")),
        }
    }
    anyhow::bail!("no etcd member answers: {}", why.join("; "))
}

/// What a snapshot directory holds: good snapshots oldest first, and lines about what is not a snapshot.
pub fn scan(host: &Host, dir: &str) -> anyhow::Result<(Vec<Record>, Vec<String>)> {
    check_node_dir("--dir", dir)?;
    let path = host.path(dir);
    let entries = match std::fs::read_dir(&path) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(invalid(format!("cannot read {dir}: {e}"))),
    };
    let mut names: Vec<String> = entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    let mut seen = Vec::new();
    let mut orphans = Vec::new();
    for n in &names {
        if let Some(base) = n.strip_suffix(plan::RECORD_EXT).filter(|_| !n.starts_with('.')) {
            let place = kbinit_phases::paths::join(dir, n);
            let record = std::fs::read(path.join(n))
                .map_err(|e| e.to_string())
                .and_then(|b| Record::parse(&b, &place).map_err(|e| e.to_string()));
            let file =
                record.as_ref().map(|r| r.file.clone()).unwrap_or_else(|_| format!("{base}{}", plan::SNAPSHOT_EXT));
            let snapshot_size =
                (!file.contains('/')).then(|| std::fs::metadata(path.join(&file)).ok()).flatten().map(|m| m.len());
            seen.push(plan::Seen { record_file: n.clone(), record, snapshot_size });
        } else if let Some(base) = n.strip_suffix(plan::SNAPSHOT_EXT).filter(|_| !n.starts_with('.'))
            && !names.contains(&format!("{base}{}", plan::RECORD_EXT))
        {
            orphans.push(format!("{n}: no record beside it (a save that did not finish): not a snapshot"));
        }
    }
    let (good, mut bad) = plan::classify(&seen);
    bad.extend(orphans);
    Ok((good, bad))
}

/// `snapshot list [-o text|json|yaml]`.
pub fn list(host: &Host, dir: &str, format: &str, out: &Output) -> anyhow::Result<()> {
    if !matches!(format, "text" | "json" | "yaml") {
        return Err(invalid(format!("invalid output format {format:?}: use text, json or yaml")));
    }
    let (good, bad) = scan(host, dir)?;
    for b in &bad {
        out.warn(b);
    }
    match format {
        "text" => out.raw(&plan::table(&good)),
        "json" => {
            for r in &good {
                out.say(&serde_json::to_string_pretty(&r.to_json()?)?);
            }
        }
        _ => {
            for r in &good {
                out.raw(&format!("---\n{}", kbinit_phases::go_format::yaml::to_yaml(&r.to_json()?)));
            }
        }
    }
    Ok(())
}

/// `snapshot prune --keep N`: removes all but the newest `keep` snapshots (record first, so a snapshot is never
/// listed without its file) and what interrupted saves left.
pub fn prune(host: &Host, dir: &str, keep: usize, out: &Output) -> anyhow::Result<()> {
    let (good, _) = scan(host, dir)?;
    let gone = plan::to_prune(&good, keep)?;
    crate::flows::clean_interrupted_writes(host, &[dir], "etcd-snapshot", out)?;
    for r in &gone {
        let (db, json) = plan::file_names(&r.name);
        host.remove_file(&kbinit_phases::paths::join(dir, &json))?;
        host.remove_file(&kbinit_phases::paths::join(dir, &db))?;
        out.say(&format!("[etcd-snapshot] Removed {} ({})", r.name, r.created));
    }
    out.say(&format!(
        "[etcd-snapshot] Kept the newest {} of {} snapshots in {dir}",
        good.len() - gone.len(),
        good.len()
    ));
    Ok(())
}
