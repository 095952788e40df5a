//! The version skew policy of `upgrade apply` (kubeadm's `EnforceVersionPolicies`, sheet §3), with kubeadm's
//! messages, held against kbinit's own version table: kbinit plays the kubeadm of whichever supported release it
//! upgrades to, so "the kubeadm version" is the target itself and a target outside
//! [`crate::version::MIN_MINOR`]..=[`crate::version::MAX_MINOR`] never gets this far (`KubeVersion::resolve`
//! refuses it).
//!
//! Rules: one minor at a time upward (mandatory); no downgrade across a minor (mandatory — stricter than
//! kubeadm, which allows one minor down: kbinit only renders a release's files forward, as the issue asks);
//! pre-release targets need `--allow-*-upgrades` (skippable); kubelets more than 3 minors (1 before v1.29, PR
//! 120825) older than the target (skippable).

use crate::version::KubeVersion;

/// The outcome: errors `--force` cannot bypass, and errors it can.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SkewErrors {
    /// Cannot be bypassed.
    pub mandatory: Vec<String>,
    /// Bypassed by `--force`.
    pub skippable: Vec<String>,
}

impl SkewErrors {
    /// `true` when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.mandatory.is_empty() && self.skippable.is_empty()
    }
}

/// The kubelet skew kubeadm allows: 3 minors since v1.29, 1 before.
fn kubelet_skew(target: &KubeVersion) -> u32 {
    if target.at_least(29) { 3 } else { 1 }
}

/// Checks `target` against the cluster's version (the newest kube-apiserver) and its kubelets.
pub fn enforce_version_policies(
    cluster: &KubeVersion,
    target: &KubeVersion,
    kubelets: &[KubeVersion],
    allow_experimental: bool,
    allow_rc: bool,
) -> SkewErrors {
    let mut e = SkewErrors::default();
    let prerelease = target.suffix.starts_with('-');
    let too_far = |errs: &mut SkewErrors, msg: String| {
        if prerelease { errs.skippable.push(msg) } else { errs.mandatory.push(msg) }
    };
    if target.minor > cluster.minor + 1 {
        too_far(
            &mut e,
            format!(
                "Specified version to upgrade to {:?} is too high; kubeadm can upgrade only 1 minor version at a time",
                target.to_string()
            ),
        );
    }
    if target.minor < cluster.minor {
        too_far(
            &mut e,
            format!(
                "Specified version to downgrade to {:?} is too low; kbinit does not downgrade across a minor version (the cluster runs {:?})",
                target.to_string(),
                cluster.to_string()
            ),
        );
    }
    if prerelease {
        let rc = target.suffix.starts_with("-rc");
        if !(allow_experimental || (rc && allow_rc)) {
            e.skippable.push(format!(
                "Specified version to upgrade to {:?} is an unstable version and such upgrades weren't allowed via setting the --allow-*-upgrades flags",
                target.to_string()
            ));
        }
    }
    let skew = kubelet_skew(target);
    let mut old: Vec<String> =
        kubelets.iter().filter(|k| target.minor > k.minor + skew).map(ToString::to_string).collect();
    old.sort();
    old.dedup();
    if !old.is_empty() {
        e.skippable.push(format!(
            "There are kubelets in this cluster that are too old that have these versions [{}]",
            old.join(" ")
        ));
    }
    e
}

/// kubeadm's (v1.32+) wording of the result: `Err(text)` when the upgrade must stop, `Ok(Some(warning))` when
/// `--force` bypassed skippable errors, `Ok(None)` when all is well.
pub fn verdict(errors: &SkewErrors, force: bool) -> Result<Option<String>, String> {
    let list = |v: &[String]| v.iter().map(|m| format!("\t- {m}\n")).collect::<String>();
    if !errors.mandatory.is_empty() {
        return Err(format!(
            "the version argument is invalid due to these fatal errors:\n\n{}\nPlease fix the misalignments highlighted above and try upgrading again",
            list(&errors.mandatory)
        ));
    }
    if errors.skippable.is_empty() {
        return Ok(None);
    }
    if force {
        return Ok(Some(format!(
            "[upgrade/preflight] Found {} potential version compatibility errors but skipping since the --force flag is set: \n\n{}",
            errors.skippable.len(),
            list(&errors.skippable)
        )));
    }
    Err(format!(
        "the version argument is invalid due to these errors:\n\n{}\nCan be bypassed if you pass the --force flag",
        list(&errors.skippable)
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::version::{MAX_MINOR, MIN_MINOR};

    fn v(minor: u32, patch: u32) -> KubeVersion {
        KubeVersion { major: 1, minor, patch, suffix: String::new() }
    }

    #[test]
    fn one_minor_at_a_time_over_the_whole_table() {
        for minor in MIN_MINOR..MAX_MINOR {
            let ok = enforce_version_policies(&v(minor, 0), &v(minor + 1, 0), &[v(minor, 0)], false, false);
            assert!(ok.is_empty(), "1.{minor} → 1.{}: {ok:?}", minor + 1);
            let patch = enforce_version_policies(&v(minor, 0), &v(minor, 3), &[], false, false);
            assert!(patch.is_empty());
        }
        let skip = enforce_version_policies(&v(MAX_MINOR - 2, 0), &v(MAX_MINOR, 0), &[], false, false);
        let err = verdict(&skip, true).unwrap_err();
        assert!(err.contains("is too high; kubeadm can upgrade only 1 minor version at a time"), "{err}");
        assert!(err.starts_with("the version argument is invalid due to these fatal errors:"), "{err}");
    }

    #[test]
    fn no_downgrade_across_a_minor_but_patch_downgrades_pass() {
        let down = enforce_version_policies(&v(MAX_MINOR, 0), &v(MAX_MINOR - 1, 9), &[], false, false);
        assert!(down.mandatory[0].contains("is too low"), "{down:?}");
        assert!(enforce_version_policies(&v(MAX_MINOR, 2), &v(MAX_MINOR, 1), &[], false, false).is_empty());
    }

    #[test]
    fn prereleases_and_old_kubelets_are_skippable() {
        let mut rc = v(MAX_MINOR, 0);
        rc.suffix = "-rc.1".into();
        let e = enforce_version_policies(&v(MAX_MINOR - 1, 0), &rc, &[], false, false);
        assert_eq!(e.skippable.len(), 1);
        assert!(enforce_version_policies(&v(MAX_MINOR - 1, 0), &rc, &[], false, true).is_empty());
        let old =
            enforce_version_policies(&v(MAX_MINOR - 1, 0), &v(MAX_MINOR, 0), &[v(MAX_MINOR - 4, 1)], false, false);
        assert!(old.skippable[0].contains("too old"), "{old:?}");
        assert!(verdict(&old, false).unwrap_err().ends_with("Can be bypassed if you pass the --force flag"));
        assert!(verdict(&old, true).unwrap().unwrap().contains("skipping since the --force flag is set"));
    }
}
