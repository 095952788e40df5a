//! Stacked etcd on a joining control-plane node (§J step 8, §D.6): the member to add, whether it joins as a
//! learner, the `--initial-cluster` list kubeadm builds from etcd's answer, and this node's etcd manifest with
//! `--initial-cluster-state=existing`. Talking to etcd (MemberAdd, promote, health) is the binary's.

use crate::Error;
use crate::config::{ClusterConfiguration, Etcd, NodeIdentity};
use crate::manifests::{etcd_pod, pod_yaml};
use crate::paths;
use crate::plan::{FileKind, Step};

/// One etcd member as MemberAdd / MemberList return it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdMember {
    /// Member ID.
    pub id: u64,
    /// Name; empty for a member that was added but has not started yet.
    pub name: String,
    /// Peer URLs (the first one is used).
    pub peer_urls: Vec<String>,
    /// `true` while the member is a learner.
    pub is_learner: bool,
}

/// `https://<advertise>:2380` (IPv6 bracketed): the peer URL this node's member is added with.
pub fn peer_url(node: &NodeIdentity) -> String {
    if node.advertise_address.is_ipv6() {
        format!("https://[{}]:2380", node.advertise_address)
    } else {
        format!("https://{}:2380", node.advertise_address)
    }
}

/// Whether the member is added as a learner and promoted later: `EtcdLearnerMode` (beta and on from 1.29, locked
/// on from 1.32); the feature gate can switch it before 1.32.
pub fn joins_as_learner(cluster: &ClusterConfiguration) -> bool {
    let v = &cluster.kubernetes_version;
    match cluster.feature_gates.get("EtcdLearnerMode") {
        Some(on) if !v.at_least(32) => *on,
        _ => v.etcd_learner_join(),
    }
}

/// The `--initial-cluster` members, as kubeadm builds them from the member list etcd returned after adding this
/// node: etcd's order is kept; the member with this node's peer URL is named after this node; a member without a
/// name (added but not started) is named by its hex ID; each member's first peer URL is used. If etcd's list
/// does not hold this node (it should), it is appended.
pub fn initial_cluster(members: &[EtcdMember], node: &NodeIdentity) -> Vec<(String, String)> {
    let own = peer_url(node);
    let mut out = Vec::new();
    let mut seen_self = false;
    for m in members {
        let Some(url) = m.peer_urls.first() else { continue };
        if *url == own {
            seen_self = true;
            out.push((node.name.clone(), own.clone()));
        } else if m.name.is_empty() {
            out.push((format!("{:x}", m.id), url.clone()));
        } else {
            out.push((m.name.clone(), url.clone()));
        }
    }
    if !seen_self {
        out.push((node.name.clone(), own));
    }
    out
}

/// The `--initial-cluster` value: `name=peerURL` comma-joined.
pub fn initial_cluster_flag(members: &[(String, String)]) -> String {
    members.iter().map(|(n, u)| format!("{n}={u}")).collect::<Vec<_>>().join(",")
}

/// What `control-plane-join/etcd` (or `etcd-join` from 1.33) does for this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdJoinPlan {
    /// The peer URL to add (`MemberAdd` / `MemberAddAsLearner`).
    pub peer_url: String,
    /// Add as a learner, then promote.
    pub as_learner: bool,
    /// The `--initial-cluster` members written into the manifest.
    pub initial_cluster: Vec<(String, String)>,
    /// The steps: data dir (0700), the lines kubeadm prints, the manifest.
    pub steps: Vec<Step>,
}

/// Plans this node's etcd after the binary added it: `members` = the list MemberAdd (or, when the peer URL was
/// already there, MemberList) returned. External etcd has nothing to join.
pub fn plan_etcd_join(
    cluster: &ClusterConfiguration,
    node: &NodeIdentity,
    members: &[EtcdMember],
) -> Result<EtcdJoinPlan, Error> {
    let Etcd::Local(local) = &cluster.etcd else {
        return Err(Error::invalid("etcd", "external", "an external etcd cluster has no member for this node to join"));
    };
    let initial = initial_cluster(members, node);
    let pod = etcd_pod(cluster, node, &initial, true)?;
    let steps = vec![
        Step::EnsureDir { path: local.data_dir.clone(), mode: 0o700 },
        Step::say("[etcd] Announced new etcd member joining to the existing etcd cluster"),
        Step::say("[etcd] Creating static Pod manifest for \"etcd\""),
        Step::EnsureDir { path: paths::MANIFESTS_DIR.into(), mode: 0o700 },
        Step::write(paths::join(paths::MANIFESTS_DIR, "etcd.yaml"), pod_yaml(&pod)?, FileKind::Manifest),
        Step::say("[etcd] Waiting for the new etcd member to join the cluster. This can take up to 40s"),
    ];
    Ok(EtcdJoinPlan {
        peer_url: peer_url(node),
        as_learner: joins_as_learner(cluster),
        initial_cluster: initial,
        steps,
    })
}
