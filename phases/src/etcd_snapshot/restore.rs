//! What `etcd restore` needs decided before it changes anything: this node's member (name, peer URL, data dir,
//! client URL, etcd version) read from its etcd manifest, where the old data goes (moved aside, never deleted),
//! where etcd's own restore tool builds the new one, the tool's arguments, and the journal a re-run after a
//! kill -9 resumes from.

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::upgrade::target::{manifest_flag, manifest_image_tag};

/// Where the etcd manifest is.
pub const ETCD_MANIFEST: &str = "/etc/kubernetes/manifests/etcd.yaml";
/// The journal of a restore in progress.
pub const JOURNAL: &str = "/var/lib/kbinit/etcd-restore-in-progress.json";

/// This node's etcd member as its manifest runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// `--name`.
    pub name: String,
    /// `--initial-advertise-peer-urls`.
    pub peer_url: String,
    /// `--advertise-client-urls` (the first).
    pub client_url: String,
    /// `--data-dir`.
    pub data_dir: String,
    /// The image tag (`3.5.21-0`), i.e. the etcd version the node runs.
    pub image_tag: String,
}

impl Member {
    /// Reads the member from the etcd manifest's command line.
    pub fn from_manifest(yaml: &str) -> Result<Member, Error> {
        let need = |flag: &str| -> Result<String, Error> {
            manifest_flag(yaml, flag)?
                .filter(|v| !v.is_empty())
                .ok_or_else(|| Error::Document(format!("{ETCD_MANIFEST} has no --{flag}: not a stacked etcd member")))
        };
        let data_dir = need("data-dir")?;
        if !data_dir.starts_with('/') || data_dir.trim_end_matches('/').is_empty() || data_dir.contains("..") {
            return Err(Error::invalid(format!("{ETCD_MANIFEST}: --data-dir"), data_dir, "not an absolute directory"));
        }
        Ok(Member {
            name: need("name")?,
            peer_url: need("initial-advertise-peer-urls")?.split(',').next().unwrap_or_default().to_string(),
            client_url: need("advertise-client-urls")?.split(',').next().unwrap_or_default().to_string(),
            data_dir: data_dir.trim_end_matches('/').to_string(),
            image_tag: manifest_image_tag(yaml),
        })
    }
}

/// A restore's directories and the snapshot it restores: the journal's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Journal {
    /// The snapshot file (node path).
    pub snapshot: String,
    /// The data dir the manifest uses.
    pub data_dir: String,
    /// Where the old data dir goes.
    pub aside: String,
    /// Where the restore tool writes the new one (renamed to `data_dir` when complete).
    pub staging: String,
    /// The new cluster's token (a restored cluster is a new cluster with a new ID).
    pub token: String,
}

impl Journal {
    /// The directories of a restore started at `stamp` (`20261206T201500Z`).
    pub fn new(snapshot: &str, data_dir: &str, stamp: &str) -> Journal {
        Journal {
            snapshot: snapshot.to_string(),
            data_dir: data_dir.to_string(),
            aside: format!("{data_dir}.before-restore-{stamp}"),
            staging: format!("{data_dir}.restoring-{stamp}"),
            token: format!("kbinit-restore-{stamp}"),
        }
    }

    /// Bytes for the journal file.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        serde_json::to_vec_pretty(self).map_err(|e| Error::Encode(format!("encoding the restore journal: {e}")))
    }

    /// Reads the journal file.
    pub fn parse(bytes: &[u8]) -> Result<Journal, Error> {
        serde_json::from_slice(bytes).map_err(|e| Error::Document(format!("{JOURNAL} is not a restore journal: {e}")))
    }
}

/// The arguments of `etcdutl|etcdctl snapshot restore` building a one-member cluster of this node into
/// `journal.staging` (`snapshot` is the path as the tool sees it).
pub fn restore_args(snapshot: &str, member: &Member, journal: &Journal, staging: &str) -> Vec<String> {
    vec![
        "snapshot".into(),
        "restore".into(),
        snapshot.into(),
        format!("--name={}", member.name),
        format!("--initial-cluster={}={}", member.name, member.peer_url),
        format!("--initial-advertise-peer-urls={}", member.peer_url),
        format!("--initial-cluster-token={}", journal.token),
        format!("--data-dir={staging}"),
    ]
}

/// The version `etcdctl version` / `etcdutl version` prints first (`etcdctl version: 3.4.23`).
pub fn tool_version(output: &str) -> Option<String> {
    output.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().ends_with("version").then(|| v.trim().to_string()).filter(|v| !v.is_empty())
    })
}

/// What the other control-plane nodes must do after a restore on `member`.
pub fn next_steps(member: &Member, snapshot: &str) -> Vec<String> {
    vec![
        format!("etcd now runs as a one-member cluster on {} with the data of {snapshot}.", member.name),
        format!(
            "On every other control-plane node, one at a time, run 'kbinit etcd rejoin --endpoint {}': it moves that \
             node's stale etcd data aside and joins it to the restored cluster as a learner, promoted once in sync \
             (as join --control-plane does).",
            member.client_url
        ),
        "Worker nodes need nothing.".to_string(),
    ]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const MANIFEST: &str = "apiVersion: v1
kind: Pod
metadata:
  name: etcd
  namespace: kube-system
spec:
  containers:
  - command:
    - etcd
    - --advertise-client-urls=https://10.0.0.10:2379
    - --data-dir=/var/lib/etcd
    - --initial-advertise-peer-urls=https://10.0.0.10:2380
    - --initial-cluster=cp1=https://10.0.0.10:2380
    - --name=cp1
    image: registry.k8s.io/etcd:3.5.21-0
    name: etcd
";

    #[test]
    fn the_member_comes_from_the_manifest() {
        let m = Member::from_manifest(MANIFEST).unwrap();
        assert_eq!(
            m,
            Member {
                name: "cp1".into(),
                peer_url: "https://10.0.0.10:2380".into(),
                client_url: "https://10.0.0.10:2379".into(),
                data_dir: "/var/lib/etcd".into(),
                image_tag: "3.5.21-0".into(),
            }
        );
        let e = Member::from_manifest(&MANIFEST.replace("    - --name=cp1\n", "")).unwrap_err().to_string();
        assert!(e.contains("has no --name"), "{e}");
        assert!(Member::from_manifest(&MANIFEST.replace("=/var/lib/etcd", "=var/lib")).is_err());
    }

    #[test]
    fn old_data_goes_aside_and_the_tool_builds_a_one_member_cluster() {
        let m = Member::from_manifest(MANIFEST).unwrap();
        let j = Journal::new("/s/a.db", &m.data_dir, "20261206T201500Z");
        assert_eq!(j.aside, "/var/lib/etcd.before-restore-20261206T201500Z");
        assert_eq!(j.staging, "/var/lib/etcd.restoring-20261206T201500Z");
        assert_eq!(Journal::parse(&j.to_bytes().unwrap()).unwrap(), j);
        let args = restore_args("/root/s/a.db", &m, &j, "/root/var/lib/etcd.restoring-x");
        assert_eq!(
            args[..5],
            ["snapshot", "restore", "/root/s/a.db", "--name=cp1", "--initial-cluster=cp1=https://10.0.0.10:2380"]
        );
        assert!(args.contains(&"--initial-cluster-token=kbinit-restore-20261206T201500Z".to_string()));
        assert_eq!(args.last().unwrap(), "--data-dir=/root/var/lib/etcd.restoring-x");
        assert_eq!(tool_version("etcdctl version: 3.4.23\nAPI version: 3.4\n").as_deref(), Some("3.4.23"));
        assert_eq!(tool_version("etcdutl version: 3.5.21\nAPI version: 3.5\n").as_deref(), Some("3.5.21"));
        assert_eq!(tool_version("nothing"), None);
        assert!(next_steps(&m, "a.db").iter().any(|l| l.contains("kbinit etcd rejoin")));
    }
}
