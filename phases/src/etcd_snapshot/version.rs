//! etcd versions as kbinit compares them: an image tag (`3.5.21-0`), etcd's own `3.4.23`, or `v3.6.4`; what
//! `etcd restore` refuses (a snapshot of a newer etcd than the node runs or the restore tool is), and etcd's
//! known upgrade trap: 3.5 → 3.6 is safe only from 3.5.26 (older members can come back as "zombies" after the
//! upgrade; kubernetes/kubeadm#3247 left the check to operators, kubernetes/kops#18288).

use std::fmt;

use crate::Error;

/// major.minor.patch of an etcd release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct EtcdVersion {
    /// Major.
    pub major: u32,
    /// Minor.
    pub minor: u32,
    /// Patch.
    pub patch: u32,
}

impl fmt::Display for EtcdVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The first 3.5 release from which an upgrade to 3.6 is safe.
pub const SAFE_FOR_36: EtcdVersion = EtcdVersion { major: 3, minor: 5, patch: 26 };

impl EtcdVersion {
    /// Parses `3.5.21-0`, `v3.4.23`, `3.6.4`; `None` when it is none of these.
    pub fn parse(text: &str) -> Option<EtcdVersion> {
        let t = text.trim().trim_start_matches('v');
        let t = t.split(['-', '+']).next()?;
        let mut p = t.split('.').map(|x| x.parse::<u32>().ok());
        let v = EtcdVersion { major: p.next()??, minor: p.next()??, patch: p.next()?? };
        p.next().is_none().then_some(v)
    }
}

/// `restore`'s version rule: a snapshot taken by `snapshot` may be restored by an etcd at `node` only when
/// `node`'s major.minor is at least the snapshot's (etcd upgrades its storage schema one minor at a time and
/// never down). `what` names the side that is too old.
pub fn check_restorable(snapshot: &str, node: &str, what: &str) -> Result<(), Error> {
    let (Some(s), Some(n)) = (EtcdVersion::parse(snapshot), EtcdVersion::parse(node)) else {
        return Err(Error::Conflict(format!(
            "cannot compare etcd versions: the snapshot's is {snapshot:?}, {what}'s is {node:?}"
        )));
    };
    if (s.major, s.minor) > (n.major, n.minor) {
        return Err(Error::Conflict(format!(
            "the snapshot was taken from etcd {s}, newer than {what} ({n}): etcd cannot restore a newer minor's data"
        )));
    }
    Ok(())
}

/// The 3.5 → 3.6 trap: `Some(warning)` when `running` is a 3.5 below [`SAFE_FOR_36`] and `target` is 3.6 or
/// later.
pub fn zombie_trap(running: &str, target: &str) -> Option<String> {
    let (r, t) = (EtcdVersion::parse(running)?, EtcdVersion::parse(target)?);
    let to_36 = (t.major, t.minor) >= (3, 6);
    (r.major == 3 && r.minor == 5 && r < SAFE_FOR_36 && to_36).then(|| {
        format!(
            "etcd {r} → {t}: etcd supports upgrades to 3.6 only from {SAFE_FOR_36} on (older 3.5 members can come back \
             as zombie members after the upgrade); move etcd to {SAFE_FOR_36} or later first"
        )
    })
}

/// The trap's warnings for an `upgrade plan`: one per available upgrade whose etcd row goes from a 3.5 below
/// [`SAFE_FOR_36`] to 3.6 or later, naming the upgrade.
pub fn plan_warnings(plan: &crate::upgrade::plan::UpgradePlan) -> Vec<String> {
    plan.available_upgrades
        .iter()
        .flat_map(|up| {
            up.components
                .iter()
                .filter(|c| c.name == "etcd")
                .filter_map(|c| zombie_trap(&c.current_version, &c.new_version))
                .map(move |w| format!("{} ({}): {w}", up.description, "upgrade apply refuses it unless told to go on"))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_tags_and_etcds_own_versions() {
        assert_eq!(EtcdVersion::parse("3.5.21-0").unwrap().to_string(), "3.5.21");
        assert_eq!(EtcdVersion::parse("v3.4.23").unwrap().to_string(), "3.4.23");
        assert_eq!(EtcdVersion::parse("3.6.4").unwrap(), EtcdVersion { major: 3, minor: 6, patch: 4 });
        for bad in ["", "3.5", "latest", "3.5.x", "3.5.1.2"] {
            assert_eq!(EtcdVersion::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_newer_minor_cannot_be_restored() {
        check_restorable("3.4.23", "3.5.21-0", "this node's etcd").unwrap();
        check_restorable("3.5.21", "3.5.9-0", "this node's etcd").unwrap();
        let e = check_restorable("3.6.1", "3.5.21-0", "this node's etcd").unwrap_err().to_string();
        assert!(e.contains("etcd 3.6.1, newer than this node's etcd (3.5.21)"), "{e}");
        assert!(check_restorable("3.5.1", "garbage", "etcdctl").is_err());
    }

    #[test]
    fn only_35_below_3526_to_36_is_the_trap() {
        assert!(zombie_trap("3.5.21-0", "3.6.4-0").unwrap().contains("3.5.26"));
        assert!(zombie_trap("3.5.25", "3.7.0").is_some());
        assert_eq!(zombie_trap("3.5.26-0", "3.6.4-0"), None);
        assert_eq!(zombie_trap("3.5.21-0", "3.5.26-0"), None);
        assert_eq!(zombie_trap("3.4.23", "3.6.4-0"), None, "3.4 → 3.6 is another (refused elsewhere) story");
        assert_eq!(zombie_trap("3.6.1", "3.6.4"), None);
    }
}
