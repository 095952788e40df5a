//! The kubelet checks: `KubeletVersion` against the control plane, `Service-Kubelet`, and which release's kubeadm
//! still looks for `crictl`. They look at the real host's kubelet binary and systemd, whatever `--root` says.

use std::process::{Command, Stdio};

use kbinit_phases::version::KubeVersion;

use super::finding::{Finding, error, warning};
use super::machine::{NO_INIT_SYSTEM, systemctl_out};
use crate::host::services::which;

/// Whether kubeadm of release `v` looks for `crictl` (`FileExisting-crictl`): required (an error when missing)
/// up to v1.30, a warning in v1.31 (kubernetes PR 125212, when kubeadm moved to the CRI API), not checked from
/// v1.32 (PR 126596). kbinit itself never runs crictl ([`crate::cri`]).
pub fn crictl_required(v: &KubeVersion) -> Option<bool> {
    match v.minor {
        ..=30 => Some(true),
        31 => Some(false),
        _ => None,
    }
}

/// The version `kubelet --version` reports, when a kubelet is on PATH and answers.
pub fn installed_kubelet() -> Option<KubeVersion> {
    if !which("kubelet") {
        return None;
    }
    let o = Command::new("kubelet").arg("--version").stdin(Stdio::null()).output().ok()?;
    let text = String::from_utf8_lossy(&o.stdout).trim().to_string();
    text.strip_prefix("Kubernetes ").and_then(|v| v.parse::<KubeVersion>().ok())
}

/// `KubeletVersion`: `kubelet --version` is supported with control plane `cp` (on join only the minimum is
/// checked: `newest_check` false).
pub fn kubelet_version(cp: &KubeVersion, newest_check: bool) -> Option<Finding> {
    let name = "KubeletVersion";
    if !which("kubelet") {
        return Some(error(
            name,
            "couldn't get kubelet version: cannot execute 'kubelet --version': the kubelet binary is not on PATH \
             (install the kubelet package of your Kubernetes version)",
        ));
    }
    let o = match Command::new("kubelet").arg("--version").stdin(Stdio::null()).output() {
        Ok(o) => o,
        Err(e) => {
            return Some(error(name, format!("couldn't get kubelet version: cannot execute 'kubelet --version': {e}")));
        }
    };
    let text = String::from_utf8_lossy(&o.stdout).trim().to_string();
    let Some(v) = text.strip_prefix("Kubernetes ").and_then(|v| v.parse::<KubeVersion>().ok()) else {
        return Some(error(name, format!("couldn't parse kubelet version from {text:?}")));
    };
    // kubeadm's MinimumKubeletVersion (minor − 3 from 1.32, minor − 1 before; KubeVersion::minimum_kubelet_minor)
    let min = cp.minimum_kubelet_minor();
    if v.minor < min {
        return Some(error(
            name,
            format!("Kubelet version \"{v}\" is lower than kubeadm can support. Please upgrade kubelet"),
        ));
    }
    (newest_check && v.minor > cp.minor).then(|| {
        error(
            name,
            format!(
                "the kubelet version is higher than the control plane version. This is not a supported version skew \
                 and may lead to a malfunctional cluster. Kubelet version: \"{v}\" Control plane version: \"{cp}\""
            ),
        )
    })
}

/// `Service-Kubelet`: the kubelet unit exists and is enabled.
pub fn service_kubelet() -> Vec<Finding> {
    let name = "Service-Kubelet";
    if !crate::host::services::has_systemd() {
        return vec![warning(name, NO_INIT_SYSTEM)];
    }
    let status = systemctl_out(&["status", "kubelet"]).unwrap_or_default();
    if status.contains("Loaded: not-found") || status.trim().is_empty() {
        return vec![warning(name, "kubelet service does not exist")];
    }
    let enabled = systemctl_out(&["is-enabled", "kubelet"]).is_some_and(|s| s.trim() == "enabled");
    if enabled {
        Vec::new()
    } else {
        vec![warning(name, "kubelet service is not enabled, please run 'systemctl enable kubelet.service'")]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preflight::machine::BINARIES;

    #[test]
    fn kubelet_skew() {
        let v = |s: &str| s.parse::<KubeVersion>().unwrap();
        assert_eq!(v("v1.28.7").minimum_kubelet_minor(), 27);
        assert_eq!(v("v1.32.0").minimum_kubelet_minor(), 29);
    }

    #[test]
    fn crictl_is_looked_for_until_1_31() {
        let v = |m: u32| KubeVersion { major: 1, minor: m, patch: 0, suffix: String::new() };
        assert_eq!(crictl_required(&v(28)), Some(true));
        assert_eq!(crictl_required(&v(30)), Some(true));
        assert_eq!(crictl_required(&v(31)), Some(false));
        assert_eq!(crictl_required(&v(32)), None);
        assert_eq!(crictl_required(&v(37)), None);
        assert!(BINARIES.iter().all(|(b, _)| *b != "crictl"));
    }
}
