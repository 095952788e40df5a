//! Where kubeadm keeps what an upgrade replaced (sheet §4.3): `/etc/kubernetes/tmp/kubeadm-backup-manifests-
//! YYYY-MM-DD-HH-MM-SS` (old manifests, kept), `kubeadm-backup-etcd-YYYY-MM-DD-HH-MM-SS` (a copy of etcd's data
//! dir), and kbinit's record of an upgrade in progress, so a re-run after `kill -9` knows what is half done.

use time::OffsetDateTime;

/// `/etc/kubernetes/tmp`.
pub const TMP_DIR: &str = "/etc/kubernetes/tmp";

/// kubeadm's timestamp in backup directory names (UTC).
pub fn stamp(now: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}-{:02}-{:02}-{:02}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

/// The manifest backup directory of a run started at `now`.
pub fn manifests_dir(now: OffsetDateTime) -> String {
    format!("{TMP_DIR}/kubeadm-backup-manifests-{}", stamp(now))
}

/// The etcd data backup directory of a run started at `now`.
pub fn etcd_dir(now: OffsetDateTime) -> String {
    format!("{TMP_DIR}/kubeadm-backup-etcd-{}", stamp(now))
}

/// kbinit's journal of an upgrade in progress: one line per event (`begin <version> <backup dir>`, `swapped
/// <component>`, `done <component>`); removed when the control-plane phase completes.
pub const JOURNAL: &str = "/etc/kubernetes/tmp/kbinit-upgrade-in-progress";

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_like_kubeadm() {
        let t = time::macros::datetime!(2026-04-14 14:17:07 UTC);
        assert_eq!(manifests_dir(t), "/etc/kubernetes/tmp/kubeadm-backup-manifests-2026-04-14-14-17-07");
        assert_eq!(etcd_dir(t), "/etc/kubernetes/tmp/kubeadm-backup-etcd-2026-04-14-14-17-07");
    }
}
