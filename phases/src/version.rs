//! Kubernetes versions kbinit can set up, and what differs between them.
//!
//! One kbinit binary serves every minor from [`MIN_MINOR`] to [`MAX_MINOR`]. Everything that kubeadm does
//! differently from one release to the next (image tags, new files, new probes, new phases) is answered here, by
//! asking a [`KubeVersion`], so the planners never compare version numbers themselves.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// The oldest Kubernetes minor kbinit sets up.
pub const MIN_MINOR: u32 = 28;
/// The newest Kubernetes minor kbinit sets up (the default).
pub const MAX_MINOR: u32 = 34;

/// Images and defaults that change per minor release (kubeadm's `constants.go` of that release).
struct MinorFacts {
    minor: u32,
    /// Patch used when only a label (`stable-1.30`) or nothing was given: kbinit resolves labels offline.
    default_patch: u32,
    etcd: &'static str,
    coredns: &'static str,
    pause: &'static str,
}

const FACTS: &[MinorFacts] = &[
    MinorFacts { minor: 28, default_patch: 7, etcd: "3.5.10-0", coredns: "v1.10.1", pause: "3.9" },
    MinorFacts { minor: 29, default_patch: 0, etcd: "3.5.10-0", coredns: "v1.11.1", pause: "3.9" },
    MinorFacts { minor: 30, default_patch: 0, etcd: "3.5.12-0", coredns: "v1.11.1", pause: "3.9" },
    MinorFacts { minor: 31, default_patch: 0, etcd: "3.5.15-0", coredns: "v1.11.3", pause: "3.10" },
    MinorFacts { minor: 32, default_patch: 0, etcd: "3.5.16-0", coredns: "v1.11.3", pause: "3.10" },
    MinorFacts { minor: 33, default_patch: 0, etcd: "3.5.21-0", coredns: "v1.12.0", pause: "3.10" },
    MinorFacts { minor: 34, default_patch: 0, etcd: "3.6.4-0", coredns: "v1.12.1", pause: "3.10.1" },
];

/// A resolved Kubernetes version such as `v1.28.7` (pre-release suffixes like `-rc.1` are kept verbatim).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KubeVersion {
    /// Always 1.
    pub major: u32,
    /// The minor release, between [`MIN_MINOR`] and [`MAX_MINOR`].
    pub minor: u32,
    /// The patch release.
    pub patch: u32,
    /// Anything after the patch number, with its leading `-` or `+` (e.g. `-rc.1`), or empty.
    pub suffix: String,
}

impl KubeVersion {
    /// The version kbinit sets up when none is given: the newest supported minor.
    pub fn default_version() -> KubeVersion {
        Self::for_minor(MAX_MINOR)
    }

    fn for_minor(minor: u32) -> KubeVersion {
        let patch = FACTS.iter().find(|f| f.minor == minor).map_or(0, |f| f.default_patch);
        KubeVersion { major: 1, minor, patch, suffix: String::new() }
    }

    /// Resolves what an operator wrote in `kubernetesVersion` / `--kubernetes-version`: a version with or
    /// without the leading `v`, or one of kubeadm's labels (`stable`, `stable-1`, `latest`, `stable-1.30`,
    /// `latest-1.30`), which kbinit resolves offline to the versions it knows.
    pub fn resolve(text: &str) -> Result<KubeVersion, Error> {
        let t = text.trim();
        let invalid = |reason: String| Error::invalid("kubernetesVersion", t, reason);
        if t.is_empty() || matches!(t, "stable" | "stable-1" | "latest" | "latest-1") {
            return Ok(Self::default_version());
        }
        let label_minor = t.strip_prefix("stable-1.").or_else(|| t.strip_prefix("latest-1."));
        let v = if let Some(minor) = label_minor {
            let minor: u32 = minor.parse().map_err(|_| invalid("not a known version label".into()))?;
            Self::for_minor(minor)
        } else {
            t.parse::<KubeVersion>().map_err(|e| Error::invalid("kubernetesVersion", t, e))?
        };
        if v.major != 1 || v.minor < MIN_MINOR || v.minor > MAX_MINOR {
            return Err(invalid(format!(
                "kbinit sets up Kubernetes v1.{MIN_MINOR} to v1.{MAX_MINOR}; pick a version in that range"
            )));
        }
        Ok(v)
    }

    fn facts(&self) -> &'static MinorFacts {
        // resolve() guarantees the minor is in the table; fall back to the newest row rather than panic
        FACTS.iter().find(|f| f.minor == self.minor).unwrap_or(&FACTS[FACTS.len() - 1])
    }

    /// `true` when this version is at least `1.<minor>`.
    pub fn at_least(&self, minor: u32) -> bool {
        self.minor >= minor
    }

    /// Image tag for the Kubernetes components: the version with characters outside `[-\w.]` replaced by `_`.
    pub fn image_tag(&self) -> String {
        self.to_string()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
            .collect()
    }

    /// Default etcd image tag for this minor.
    pub fn etcd_tag(&self) -> &'static str {
        self.facts().etcd
    }
    /// Default CoreDNS image tag for this minor.
    pub fn coredns_tag(&self) -> &'static str {
        self.facts().coredns
    }
    /// Default pause image tag for this minor.
    pub fn pause_tag(&self) -> &'static str {
        self.facts().pause
    }
    /// 1.29+: `super-admin.conf` exists and `admin.conf` is in group `kubeadm:cluster-admins`.
    pub fn has_super_admin(&self) -> bool {
        self.at_least(29)
    }
    /// 1.31+: etcd is probed on `/livez` and `/readyz` instead of `/health`.
    pub fn etcd_livez_probes(&self) -> bool {
        self.at_least(31)
    }
    /// 1.29+: a joining control-plane node's etcd member is added as a learner and promoted later.
    pub fn etcd_learner_join(&self) -> bool {
        self.at_least(29)
    }
    /// 1.33+: the kubelet of a control-plane node talks to its local API server (ControlPlaneKubeletLocalMode).
    pub fn kubelet_local_mode(&self) -> bool {
        self.at_least(33)
    }
    /// 1.31+: the `kubeadm.k8s.io/v1beta4` configuration API exists.
    pub fn has_v1beta4(&self) -> bool {
        self.at_least(31)
    }
    /// 1.34+: ECDSA-P384 is an accepted `encryptionAlgorithm`.
    pub fn allows_ecdsa_p384(&self) -> bool {
        self.at_least(34)
    }
    /// 1.34+: the CRI socket is also recorded in `/var/lib/kubelet/instance-config.yaml` (NodeLocalCRISocket).
    pub fn node_local_cri_socket(&self) -> bool {
        self.at_least(34)
    }
    /// Names of the `kubelet-finalize` sub-phases of this release, in order.
    pub fn kubelet_finalize_subphases(&self) -> &'static [&'static str] {
        match self.minor {
            ..=30 => &["experimental-cert-rotation"],
            31 => &["enable-client-cert-rotation", "experimental-cert-rotation"],
            _ => &["enable-client-cert-rotation"],
        }
    }
}

impl FromStr for KubeVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let body = s.strip_prefix('v').unwrap_or(s);
        let split = body.find(['-', '+']).unwrap_or(body.len());
        let (nums, suffix) = body.split_at(split);
        let parts: Vec<&str> = nums.split('.').collect();
        if parts.len() != 3 {
            return Err("expected a version like v1.30.2".into());
        }
        let num = |p: &str| -> Result<u32, String> {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || (p.len() > 1 && p.starts_with('0')) {
                return Err(format!("{p:?} is not a version number"));
            }
            p.parse::<u32>().map_err(|e| e.to_string())
        };
        Ok(KubeVersion { major: num(parts[0])?, minor: num(parts[1])?, patch: num(parts[2])?, suffix: suffix.into() })
    }
}

impl fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}.{}{}", self.major, self.minor, self.patch, self.suffix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_versions_and_labels() {
        assert_eq!(KubeVersion::resolve("1.28.7").unwrap().to_string(), "v1.28.7");
        assert_eq!(KubeVersion::resolve("v1.30.2-rc.1").unwrap().suffix, "-rc.1");
        assert_eq!(KubeVersion::resolve("stable-1.31").unwrap().minor, 31);
        assert_eq!(KubeVersion::resolve("").unwrap().minor, MAX_MINOR);
    }

    #[test]
    fn rejects_out_of_range_and_garbage() {
        for bad in ["v1.27.3", "v1.99.0", "v2.28.0", "1.28", "v1.28.x", "stable-1.x", "v1.028.1"] {
            let err = KubeVersion::resolve(bad).unwrap_err().to_string();
            assert!(err.contains("kubernetesVersion"), "{bad}: {err}");
        }
    }

    #[test]
    fn per_minor_facts() {
        let v = KubeVersion::resolve("v1.28.7").unwrap();
        assert_eq!((v.etcd_tag(), v.coredns_tag(), v.pause_tag()), ("3.5.10-0", "v1.10.1", "3.9"));
        assert!(!v.has_super_admin());
        assert!(KubeVersion::resolve("v1.29.1").unwrap().has_super_admin());
        assert_eq!(KubeVersion::resolve("v1.30.0+meta").unwrap().image_tag(), "v1.30.0_meta");
    }
}
