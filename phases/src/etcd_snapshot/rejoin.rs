//! What `etcd rejoin` writes on a control-plane node after a restore elsewhere: the `--initial-cluster` list
//! from the restored cluster's member list (as join builds it: etcd's order, this node named by its peer URL)
//! and this node's etcd manifest with that list and `--initial-cluster-state=existing`, everything else as the
//! node had it (same image, same flags).

use serde_json::Value;

use crate::Error;
use crate::join::etcd::{EtcdMember, initial_cluster_flag};

/// `--initial-cluster` after this node's member (`own_name`, `own_peer`) was added: every member with its first
/// peer URL, this node under its own name, a member that has not started yet under its hex ID.
pub fn initial_cluster(members: &[EtcdMember], own_name: &str, own_peer: &str) -> String {
    let mut list = Vec::new();
    for m in members {
        let Some(url) = m.peer_urls.first() else { continue };
        let name = if url == own_peer {
            own_name.to_string()
        } else if m.name.is_empty() {
            format!("{:x}", m.id)
        } else {
            m.name.clone()
        };
        list.push((name, url.clone()));
    }
    if !list.iter().any(|(_, u)| u == own_peer) {
        list.push((own_name.to_string(), own_peer.to_string()));
    }
    initial_cluster_flag(&list)
}

/// The etcd manifest with `--initial-cluster=<initial>` and `--initial-cluster-state=existing` in place of the
/// old ones (where `--initial-cluster` was).
pub fn rejoin_manifest(yaml: &str, initial: &str) -> Result<String, Error> {
    let mut pod =
        crate::go_format::yaml::from_yaml(yaml).map_err(|e| Error::Document(format!("the etcd manifest: {e}")))?;
    let cmd = pod
        .pointer_mut("/spec/containers/0/command")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| Error::Document("the etcd manifest has no container command".into()))?;
    let at =
        cmd.iter().position(|a| a.as_str().is_some_and(|s| s.starts_with("--initial-cluster="))).unwrap_or(cmd.len());
    cmd.retain(|a| {
        a.as_str().is_none_or(|s| !s.starts_with("--initial-cluster=") && !s.starts_with("--initial-cluster-state="))
    });
    let at = at.min(cmd.len());
    cmd.insert(at, Value::from("--initial-cluster-state=existing"));
    cmd.insert(at, Value::from(format!("--initial-cluster={initial}")));
    Ok(crate::go_format::yaml::to_yaml(&pod))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::upgrade::target::{etcd_membership, manifest_flag};

    const MANIFEST: &str = "apiVersion: v1
kind: Pod
metadata:
  name: etcd
spec:
  containers:
  - command:
    - etcd
    - --data-dir=/var/lib/etcd
    - --initial-advertise-peer-urls=https://10.0.0.12:2380
    - --initial-cluster=cp1=https://10.0.0.11:2380,cp2=https://10.0.0.12:2380,cp3=https://10.0.0.13:2380
    - --initial-cluster-state=existing
    - --name=cp2
    image: registry.k8s.io/etcd:3.5.21-0
    name: etcd
";

    #[test]
    fn the_restored_clusters_members_and_this_node_make_the_initial_cluster() {
        let m = |id: u64, name: &str, url: &str| EtcdMember {
            id,
            name: name.into(),
            peer_urls: vec![url.into()],
            is_learner: name.is_empty(),
        };
        let members = [m(1, "cp1", "https://10.0.0.11:2380"), m(0xab, "", "https://10.0.0.12:2380")];
        assert_eq!(
            initial_cluster(&members, "cp2", "https://10.0.0.12:2380"),
            "cp1=https://10.0.0.11:2380,cp2=https://10.0.0.12:2380"
        );
        let members = [m(1, "cp1", "https://10.0.0.11:2380"), m(0xab, "", "https://10.0.0.13:2380")];
        assert_eq!(
            initial_cluster(&members, "cp2", "https://10.0.0.12:2380"),
            "cp1=https://10.0.0.11:2380,ab=https://10.0.0.13:2380,cp2=https://10.0.0.12:2380"
        );
    }

    #[test]
    fn only_the_membership_flags_change() {
        let new = rejoin_manifest(MANIFEST, "cp1=https://10.0.0.11:2380,cp2=https://10.0.0.12:2380").unwrap();
        let (members, existing) = etcd_membership(&new).unwrap();
        assert_eq!(members.len(), 2);
        assert!(existing);
        assert_eq!(manifest_flag(&new, "name").unwrap().as_deref(), Some("cp2"));
        assert_eq!(manifest_flag(&new, "data-dir").unwrap().as_deref(), Some("/var/lib/etcd"));
        assert!(new.contains("image: registry.k8s.io/etcd:3.5.21-0"));
        assert_eq!(new.matches("--initial-cluster-state=").count(), 1);
        let fresh = MANIFEST.replace("    - --initial-cluster-state=existing\n", "");
        let new = rejoin_manifest(&fresh, "cp1=https://10.0.0.11:2380").unwrap();
        assert!(etcd_membership(&new).unwrap().1);
    }
}
