//! etcd snapshots, planned: file names under `/var/lib/kbinit/etcd-snapshots`, the JSON record written beside
//! each snapshot, which snapshots `list` shows and `prune --keep N` removes, the integrity check of a v3
//! snapshot ([`integrity`]), the systemd units of `etcd snapshot-timer` ([`timer`]), what `etcd restore` refuses
//! and the directories it uses ([`restore`]), and etcd version rules ([`version`]).
//!
//! Nothing here touches the node: the binary streams the snapshot, hashes it through [`integrity::Verifier`],
//! and writes the files this module names. kubeadm has no snapshot command; names and record fields are
//! kbinit's own.

pub mod integrity;
pub mod rejoin;
pub mod restore;
pub mod timer;
pub mod version;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Error;

/// Where snapshots go unless `--dir` says otherwise.
pub const DEFAULT_DIR: &str = "/var/lib/kbinit/etcd-snapshots";
/// The snapshot file's extension.
pub const SNAPSHOT_EXT: &str = ".db";
/// The record's extension (the record is named as its snapshot, with this extension instead).
pub const RECORD_EXT: &str = ".json";
/// The `kind` of a record and of each `list -o json|yaml` object.
pub const KIND: &str = "EtcdSnapshot";
/// The `apiVersion` of a record: kbinit's own output group (kubeadm's output API has no such kind).
pub const API_VERSION: &str = "output.kbinit.dev/v1alpha1";

/// What kbinit knows about one snapshot, written beside it as `<name>.json` once the snapshot is complete and
/// its integrity hash checked. A snapshot without its record is not a snapshot (a cut-short save never gets one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// The snapshot's name (file name without [`SNAPSHOT_EXT`]).
    pub name: String,
    /// The snapshot file's name in the same directory.
    pub file: String,
    /// The etcd cluster ID, hex.
    pub cluster_id: String,
    /// The member the snapshot was streamed from: ID (hex).
    pub member_id: String,
    /// The member's name, when it is known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub member_name: String,
    /// The endpoint it was streamed from.
    pub endpoint: String,
    /// The store revision of the snapshot.
    pub revision: i64,
    /// The etcd version that served it.
    pub etcd_version: String,
    /// The cluster's Kubernetes version, when known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kubernetes_version: String,
    /// When the save finished (RFC 3339, UTC).
    pub created: String,
    /// The file's size in bytes.
    pub size: u64,
    /// sha256 of the whole file, hex.
    pub sha256: String,
    /// sha256 of the etcd CA certificate (DER) of the cluster it came from, hex: how `restore` tells a snapshot of
    /// another cluster.
    pub etcd_ca_sha256: String,
}

impl Record {
    /// The record as JSON, with `kind` and `apiVersion` first.
    pub fn to_json(&self) -> Result<Value, Error> {
        let body = serde_json::to_value(self).map_err(|e| Error::Encode(format!("encoding a snapshot record: {e}")))?;
        let mut v = json!({ "kind": KIND, "apiVersion": API_VERSION });
        if let (Some(o), Value::Object(b)) = (v.as_object_mut(), body) {
            o.extend(b);
        }
        Ok(v)
    }

    /// The record file's bytes (pretty JSON and a newline).
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut b = serde_json::to_vec_pretty(&self.to_json()?)
            .map_err(|e| Error::Encode(format!("encoding a snapshot record: {e}")))?;
        b.push(b'\n');
        Ok(b)
    }

    /// Reads a record file; `place` names it in the error.
    pub fn parse(bytes: &[u8], place: &str) -> Result<Record, Error> {
        let v: Value = serde_json::from_slice(bytes)
            .map_err(|e| Error::Document(format!("{place} is not a snapshot record: {e}")))?;
        if v.get("kind").and_then(Value::as_str) != Some(KIND) {
            return Err(Error::Document(format!("{place} is not a snapshot record: its kind is not {KIND}")));
        }
        serde_json::from_value(v).map_err(|e| Error::Document(format!("{place} is not a snapshot record: {e}")))
    }
}

/// Checks a `--name`: a plain file name (letters, digits, `.`, `_`, `-`; not starting with `.`; at most 200
/// characters); a trailing [`SNAPSHOT_EXT`] is dropped. Returns the name without it.
pub fn validate_name(name: &str) -> Result<String, Error> {
    let base = name.strip_suffix(SNAPSHOT_EXT).unwrap_or(name);
    let ok = !base.is_empty()
        && base.len() <= 200
        && !base.starts_with('.')
        && base.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(base.to_string())
    } else {
        Err(Error::invalid(
            "--name",
            name,
            "must be a file name of letters, digits, '.', '_' and '-' that does not start with '.'",
        ))
    }
}

/// The default name: `etcd-snapshot-<member>-<UTC time to the second>`, e.g.
/// `etcd-snapshot-cp1-20261206T201500Z`; `member` is cut to what [`validate_name`] accepts.
pub fn default_name(member: &str, now: time::OffsetDateTime) -> String {
    let member: String = member
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '-' })
        .collect();
    let member = if member.is_empty() { "etcd".to_string() } else { member };
    format!("etcd-snapshot-{member}-{}", stamp(now))
}

/// A UTC time to the second for names: `20261206T201500Z`.
pub fn stamp(now: time::OffsetDateTime) -> String {
    let t = now.to_offset(time::UtcOffset::UTC);
    format!("{:04}{:02}{:02}T{:02}{:02}{:02}Z", t.year(), t.month() as u8, t.day(), t.hour(), t.minute(), t.second())
}

/// RFC 3339 in UTC to the second.
pub fn rfc3339(now: time::OffsetDateTime) -> String {
    let t = now.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// sha256 (hex) of the first certificate of a PEM bundle: the etcd CA's fingerprint a record carries.
pub fn ca_fingerprint(pem_bytes: &[u8], place: &str) -> Result<String, Error> {
    let block = pem::parse_many(pem_bytes)
        .map_err(|e| Error::Document(format!("{place}: {e}")))?
        .into_iter()
        .find(|b| b.tag() == "CERTIFICATE")
        .ok_or_else(|| Error::Document(format!("{place} holds no certificate")))?;
    Ok(hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, block.contents()).as_ref()))
}

/// The snapshot and record file names of `name`.
pub fn file_names(name: &str) -> (String, String) {
    (format!("{name}{SNAPSHOT_EXT}"), format!("{name}{RECORD_EXT}"))
}

/// One entry of a snapshot directory as the binary saw it: a record (parsed, or why not) and whether its
/// snapshot file is there with the recorded size.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The record file's name.
    pub record_file: String,
    /// The record, or why it could not be read.
    pub record: Result<Record, String>,
    /// The size of the snapshot file the record names, when it exists.
    pub snapshot_size: Option<u64>,
}

/// What `list` makes of a directory: good snapshots (record readable, file there with the recorded size),
/// oldest first; and one line per thing that is not a snapshot (a broken record, a missing or short file).
pub fn classify(seen: &[Seen]) -> (Vec<Record>, Vec<String>) {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for s in seen {
        match &s.record {
            Err(e) => bad.push(format!("{}: {e}", s.record_file)),
            Ok(r) => match s.snapshot_size {
                None => bad.push(format!("{}: its snapshot {} is missing", s.record_file, r.file)),
                Some(n) if n != r.size => {
                    bad.push(format!("{}: {} has {n} bytes, the record says {}", s.record_file, r.file, r.size))
                }
                Some(_) => good.push(r.clone()),
            },
        }
    }
    good.sort_by(|a, b| (&a.created, &a.name).cmp(&(&b.created, &b.name)));
    (good, bad)
}

/// Which good snapshots `prune --keep N` removes: all but the newest `keep` (by creation time). `keep` must be at
/// least 1: pruning every snapshot is never what a schedule wants.
pub fn to_prune(good: &[Record], keep: usize) -> Result<Vec<Record>, Error> {
    if keep == 0 {
        return Err(Error::invalid("--keep", "0", "keep at least one snapshot"));
    }
    let mut sorted = good.to_vec();
    sorted.sort_by(|a, b| (&a.created, &a.name).cmp(&(&b.created, &b.name)));
    let n = sorted.len().saturating_sub(keep);
    Ok(sorted.into_iter().take(n).collect())
}

/// The text table of `list`: name, time, revision, size, etcd version, member.
pub fn table(good: &[Record]) -> String {
    let mut rows =
        vec![["NAME".to_string(), "CREATED".into(), "REVISION".into(), "SIZE".into(), "ETCD".into(), "MEMBER".into()]];
    for r in good {
        let member = if r.member_name.is_empty() { r.member_id.clone() } else { r.member_name.clone() };
        rows.push([
            r.name.clone(),
            r.created.clone(),
            r.revision.to_string(),
            r.size.to_string(),
            r.etcd_version.clone(),
            member,
        ]);
    }
    let widths: Vec<usize> = (0..6).map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0)).collect();
    let mut text = String::new();
    for r in rows {
        let cells: Vec<String> = r.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        text.push_str(cells.join("   ").trim_end());
        text.push('\n');
    }
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn record(name: &str, created: &str) -> Record {
        Record {
            name: name.into(),
            file: format!("{name}.db"),
            cluster_id: "cdf818194e3a8c32".into(),
            member_id: "8e9e05c52164694d".into(),
            member_name: "cp1".into(),
            endpoint: "https://127.0.0.1:2379".into(),
            revision: 42,
            etcd_version: "3.4.23".into(),
            kubernetes_version: "v1.33.3".into(),
            created: created.into(),
            size: 20512,
            sha256: "00".repeat(32),
            etcd_ca_sha256: "11".repeat(32),
        }
    }

    #[test]
    fn names_are_plain_file_names() {
        assert_eq!(validate_name("before-upgrade").unwrap(), "before-upgrade");
        assert_eq!(validate_name("nightly.db").unwrap(), "nightly");
        for bad in ["", ".db", ".hidden", "a/b", "../x", "a b", "ä"] {
            let e = validate_name(bad).unwrap_err();
            assert!(e.is_invalid_input() && e.to_string().contains("--name"), "{bad:?}: {e}");
        }
        let t = time::OffsetDateTime::from_unix_timestamp(1_796_588_100).unwrap();
        assert_eq!(default_name("cp1", t), "etcd-snapshot-cp1-20261206T201500Z");
        assert_eq!(rfc3339(t), "2026-12-06T20:15:00Z");
        assert_eq!(validate_name(&default_name("a b/c", t)).unwrap(), "etcd-snapshot-a-b-c-20261206T201500Z");
    }

    #[test]
    fn record_round_trips_with_kind_and_refuses_other_json() {
        let r = record("s1", "2026-12-06T20:15:00Z");
        let bytes = r.to_bytes().unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["kind"], KIND);
        assert_eq!(v["clusterId"], "cdf818194e3a8c32");
        assert_eq!(v["etcdCaSha256"], "11".repeat(32));
        assert_eq!(Record::parse(&bytes, "s1.json").unwrap(), r);
        let e = Record::parse(b"{\"kind\":\"Other\"}", "x.json").unwrap_err();
        assert!(e.to_string().contains("x.json is not a snapshot record"), "{e}");
        assert!(Record::parse(b"{tru", "y.json").unwrap_err().to_string().contains("y.json"));
    }

    #[test]
    fn only_complete_snapshots_are_listed_and_prune_keeps_the_newest() {
        let a = record("a", "2026-12-01T00:00:00Z");
        let b = record("b", "2026-12-03T00:00:00Z");
        let c = record("c", "2026-12-02T00:00:00Z");
        let seen = vec![
            Seen { record_file: "b.json".into(), record: Ok(b.clone()), snapshot_size: Some(20512) },
            Seen { record_file: "a.json".into(), record: Ok(a.clone()), snapshot_size: Some(20512) },
            Seen { record_file: "c.json".into(), record: Ok(c.clone()), snapshot_size: Some(20512) },
            Seen { record_file: "d.json".into(), record: Ok(record("d", "x")), snapshot_size: None },
            Seen { record_file: "e.json".into(), record: Ok(record("e", "x")), snapshot_size: Some(100) },
            Seen { record_file: "f.json".into(), record: Err("not JSON".into()), snapshot_size: None },
        ];
        let (good, bad) = classify(&seen);
        assert_eq!(good.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["a", "c", "b"]);
        assert_eq!(bad.len(), 3, "{bad:?}");
        assert!(bad[1].contains("e.db has 100 bytes, the record says 20512"), "{bad:?}");
        let gone = to_prune(&good, 2).unwrap();
        assert_eq!(gone.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["a"]);
        assert!(to_prune(&good, 5).unwrap().is_empty());
        assert!(to_prune(&good, 0).unwrap_err().is_invalid_input());
        let t = table(&good);
        assert_eq!(t.lines().count(), 4);
        assert!(t.lines().next().unwrap().starts_with("NAME"));
        assert!(t.contains("a      2026-12-01T00:00:00Z   42         20512"), "{t}");
    }
}
