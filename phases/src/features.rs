//! kubeadm's own feature gates (`ClusterConfiguration.featureGates`, `--feature-gates`) per release: which are
//! known, their stage and default, which are locked (GA: cannot be switched off) and which were removed.
//!
//! kubeadm keeps one `InitFeatureGates` list per release (`cmd/kubeadm/app/features/features.go`). A gate it
//! removed is simply no longer in that list, so kubeadm reports it like any unknown name: in a config file
//! `<name> is not a valid feature name.` (`ValidateFeatureGates`), on the command line
//! `unrecognized feature-gate key: <name>` (`NewFeatureGate`) — both texts read from stored kubeadm sources of
//! 1.2x–1.30. kbinit keeps kubeadm's sentence and adds when and why the gate went away.
//!
//! A GA gate is `LockToDefault`: setting it to the other value is an error. The wording kbinit uses is
//! component-base's `cannot set feature gate <name> to <value>, feature is locked to <default>` (stored
//! `featuregate/feature_gate.go`); whether kubeadm's validation words it the same way is **unconfirmed** (no
//! stored kubeadm validation.go of 1.32+ was found).
//!
//! Stages per release (kubeadm-reference.md §P.1, kubeadm-1.35-1.38.md §2/§3):
//!
//! | gate | alpha | beta (on) | GA (locked) | removed |
//! |---|---|---|---|---|
//! | EtcdLearnerMode | 1.27 | 1.29 | 1.32 | 1.33 |
//! | UpgradeAddonsBeforeControlPlane | (deprecated) | | | 1.31 |
//! | WaitForAllControlPlaneComponents | 1.30 | 1.33 | 1.34 | 1.35 (PR 134781) |
//! | ControlPlaneKubeletLocalMode | 1.31 | 1.33 | 1.35 (PR 134106) | 1.36 (PR 135773) |
//! | NodeLocalCRISocket | 1.32 | 1.34 | 1.36 (PR 135742) | 1.37 (PR 138645) |
//! | PublicKeysECDSA | 1.19 | deprecated 1.31 | | 1.37 (PR 136016) |
//! | RootlessControlPlane | 1.22 | | | still listed in the 1.36 help; kept for 1.37 (Q10, inferred) |
//!
//! kbinit before 1.35 support did not know WaitForAllControlPlaneComponents in 1.34 (kubeadm 1.34 lists it as
//! GA); it is known there now, locked to true.

use crate::Error;
use crate::version::KubeVersion;

/// The stage of a gate in one release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Alpha, off by default.
    Alpha,
    /// Beta, on by default.
    Beta,
    /// GA: on and locked.
    Ga,
    /// Deprecated, off by default (setting it warns).
    Deprecated,
}

/// One gate's history: the first minor of each stage (`None` = never) and the minor it was removed in.
struct Gate {
    name: &'static str,
    alpha: u32,
    beta: Option<u32>,
    ga: Option<u32>,
    deprecated: Option<u32>,
    removed: Option<u32>,
    /// What replaces it, for the removal message.
    instead: &'static str,
}

const GATES: &[Gate] = &[
    Gate {
        name: "EtcdLearnerMode",
        alpha: 27,
        beta: Some(29),
        ga: Some(32),
        deprecated: None,
        removed: Some(33),
        instead: "a joining etcd member is always added as a learner",
    },
    Gate {
        name: "UpgradeAddonsBeforeControlPlane",
        alpha: 28,
        beta: None,
        ga: None,
        deprecated: Some(28),
        removed: Some(31),
        instead: "the addons are upgraded after the control plane",
    },
    Gate {
        name: "WaitForAllControlPlaneComponents",
        alpha: 30,
        beta: Some(33),
        ga: Some(34),
        deprecated: None,
        removed: Some(35),
        instead: "init and join always wait for every control-plane component",
    },
    Gate {
        name: "ControlPlaneKubeletLocalMode",
        alpha: 31,
        beta: Some(33),
        ga: Some(35),
        deprecated: None,
        removed: Some(36),
        instead: "a control-plane kubelet always talks to its local API server",
    },
    Gate {
        name: "NodeLocalCRISocket",
        alpha: 32,
        beta: Some(34),
        ga: Some(36),
        deprecated: None,
        removed: Some(37),
        instead: "the CRI socket is always kept in /var/lib/kubelet/instance-config.yaml",
    },
    Gate {
        name: "PublicKeysECDSA",
        alpha: 19,
        beta: None,
        ga: None,
        deprecated: Some(31),
        removed: Some(37),
        instead: "set ClusterConfiguration.encryptionAlgorithm (kubeadm.k8s.io/v1beta4) instead",
    },
    Gate {
        name: "RootlessControlPlane",
        alpha: 22,
        beta: None,
        ga: None,
        deprecated: None,
        removed: None,
        instead: "",
    },
];

impl Gate {
    fn stage(&self, minor: u32) -> Option<Stage> {
        if minor < self.alpha || self.removed.is_some_and(|r| minor >= r) {
            return None;
        }
        let at = |m: Option<u32>| m.is_some_and(|m| minor >= m);
        Some(if at(self.ga) {
            Stage::Ga
        } else if at(self.deprecated) {
            Stage::Deprecated
        } else if at(self.beta) {
            Stage::Beta
        } else {
            Stage::Alpha
        })
    }
}

/// The gates `version`'s kubeadm knows, with their stage, in kubeadm's help order (by name).
pub fn known(version: &KubeVersion) -> Vec<(&'static str, Stage)> {
    let mut list: Vec<_> = GATES.iter().filter_map(|g| g.stage(version.minor).map(|s| (g.name, s))).collect();
    list.sort_by_key(|(n, _)| *n);
    list
}

/// The stage of `name` in `version`, `None` when that release does not know it.
pub fn stage(version: &KubeVersion, name: &str) -> Option<Stage> {
    GATES.iter().find(|g| g.name == name).and_then(|g| g.stage(version.minor))
}

/// The default of a gate in `version` (false for unknown gates).
pub fn default_of(version: &KubeVersion, name: &str) -> bool {
    matches!(stage(version, name), Some(Stage::Beta | Stage::Ga))
}

/// Checks one requested gate against `version`: unknown and removed gates and locked gates switched off are
/// errors ([`Error::Invalid`] for `field`); a deprecated gate gives kubeadm's warning.
pub fn check(field: &str, name: &str, value: bool, version: &KubeVersion) -> Result<Option<String>, Error> {
    let from_flag = field.starts_with("--");
    let unknown = if from_flag {
        format!("unrecognized feature-gate key: {name}")
    } else {
        format!("{name} is not a valid feature name.")
    };
    let Some(stage) = stage(version, name) else {
        let gate = GATES.iter().find(|g| g.name == name);
        let reason = match gate {
            Some(g) if g.removed.is_some_and(|r| version.minor >= r) => format!(
                "{unknown} (the {name} feature gate was removed in Kubernetes v1.{}: {})",
                g.removed.unwrap_or_default(),
                g.instead
            ),
            Some(g) => format!("{unknown} (the {name} feature gate exists from Kubernetes v1.{} on)", g.alpha),
            None => {
                let names: Vec<&str> = known(version).into_iter().map(|(n, _)| n).collect();
                format!("{unknown} Known feature gates of Kubernetes {version}: {}", names.join(", "))
            }
        };
        return Err(Error::invalid(field, format!("{name}={value}"), reason));
    };
    match stage {
        Stage::Ga if !value => Err(Error::invalid(
            field,
            format!("{name}={value}"),
            format!(
                "cannot set feature gate {name} to {value}, feature is locked to true (GA in Kubernetes {version})"
            ),
        )),
        Stage::Deprecated => {
            Ok(Some(format!("Setting deprecated feature gate {name}={value}. It will be removed in a future release.")))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn v(s: &str) -> KubeVersion {
        KubeVersion::resolve(s).unwrap()
    }

    fn names(version: &str) -> Vec<&'static str> {
        known(&v(version)).into_iter().map(|(n, _)| n).collect()
    }

    #[test]
    fn known_gates_per_release_follow_kubeadm() {
        // 1.35 help text: ControlPlaneKubeletLocalMode (GA), NodeLocalCRISocket (beta), PublicKeysECDSA
        // (deprecated), RootlessControlPlane (alpha); WaitForAllControlPlaneComponents removed
        assert_eq!(
            names("v1.35.0"),
            ["ControlPlaneKubeletLocalMode", "NodeLocalCRISocket", "PublicKeysECDSA", "RootlessControlPlane"]
        );
        assert_eq!(stage(&v("v1.35.2"), "ControlPlaneKubeletLocalMode"), Some(Stage::Ga));
        assert_eq!(stage(&v("v1.35.2"), "NodeLocalCRISocket"), Some(Stage::Beta));
        // 1.36: NodeLocalCRISocket GA, ControlPlaneKubeletLocalMode removed
        assert_eq!(names("v1.36.1"), ["NodeLocalCRISocket", "PublicKeysECDSA", "RootlessControlPlane"]);
        assert_eq!(stage(&v("v1.36.1"), "NodeLocalCRISocket"), Some(Stage::Ga));
        // 1.37: NodeLocalCRISocket and PublicKeysECDSA removed
        assert_eq!(names("v1.37.0"), ["RootlessControlPlane"]);
        // the releases before keep their lists
        assert_eq!(
            names("v1.34.0"),
            [
                "ControlPlaneKubeletLocalMode",
                "NodeLocalCRISocket",
                "PublicKeysECDSA",
                "RootlessControlPlane",
                "WaitForAllControlPlaneComponents"
            ]
        );
        assert!(names("v1.28.7").contains(&"EtcdLearnerMode"));
        assert!(names("v1.28.7").contains(&"UpgradeAddonsBeforeControlPlane"));
        assert!(!names("v1.33.0").contains(&"EtcdLearnerMode"));
        assert!(default_of(&v("v1.35.0"), "NodeLocalCRISocket"));
        assert!(!default_of(&v("v1.35.0"), "RootlessControlPlane"));
    }

    #[test]
    fn locked_removed_and_deprecated_gates() {
        let e = check("featureGates", "ControlPlaneKubeletLocalMode", false, &v("v1.35.0")).unwrap_err().to_string();
        assert!(e.contains("cannot set feature gate ControlPlaneKubeletLocalMode to false, feature is locked to true"));
        assert!(check("featureGates", "ControlPlaneKubeletLocalMode", true, &v("v1.35.0")).unwrap().is_none());
        let e = check("featureGates", "ControlPlaneKubeletLocalMode", true, &v("v1.36.0")).unwrap_err().to_string();
        assert!(e.contains("ControlPlaneKubeletLocalMode is not a valid feature name."), "{e}");
        assert!(e.contains("removed in Kubernetes v1.36"), "{e}");
        let e = check("--feature-gates", "PublicKeysECDSA", true, &v("v1.37.0")).unwrap_err().to_string();
        assert!(e.contains("unrecognized feature-gate key: PublicKeysECDSA"), "{e}");
        assert!(e.contains("encryptionAlgorithm"), "{e}");
        let w = check("featureGates", "PublicKeysECDSA", true, &v("v1.36.0")).unwrap().unwrap();
        assert!(w.contains("Setting deprecated feature gate PublicKeysECDSA=true"), "{w}");
        let e = check("featureGates", "Bogus", true, &v("v1.37.0")).unwrap_err().to_string();
        assert!(e.contains("Bogus is not a valid feature name.") && e.contains("RootlessControlPlane"), "{e}");
        let e = check("featureGates", "WaitForAllControlPlaneComponents", false, &v("v1.34.0")).unwrap_err();
        assert!(e.to_string().contains("locked to true"));
    }
}
