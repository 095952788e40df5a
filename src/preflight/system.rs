//! `SystemVerification`, the real host's part of kubeadm's system validators: the OS, the kernel release, the
//! kernel options kubeadm requires, and the cgroup controllers (v1 or v2). Nothing here looks under `--root`.
//!
//! Simplified against kubeadm: a kernel whose configuration cannot be found (no `/boot/config-<release>`, no
//! `/proc/config.gz`) gives a warning that says so instead of an error, and optional kernel options are not
//! listed.

use std::process::Command;

use kbinit_phases::version::KubeVersion;

use super::finding::{Finding, error, warning};

const NAME: &str = "SystemVerification";

/// Kernel options every node needs (kubeadm's DefaultSysSpec).
const REQUIRED_KERNEL: [&str; 19] = [
    "NAMESPACES",
    "NET_NS",
    "PID_NS",
    "IPC_NS",
    "UTS_NS",
    "CGROUPS",
    "CGROUP_CPUACCT",
    "CGROUP_DEVICE",
    "CGROUP_FREEZER",
    "CGROUP_PIDS",
    "CGROUP_SCHED",
    "CPUSETS",
    "MEMCG",
    "INET",
    "EXT4_FS",
    "PROC_FS",
    "NETFILTER_XT_TARGET_REDIRECT",
    "NETFILTER_XT_MATCH_COMMENT",
    "FAIR_GROUP_SCHED",
];

const CGROUPS_V1: [&str; 7] = ["cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids"];
const CGROUPS_V2: [&str; 6] = ["cpu", "cpuset", "devices", "freezer", "memory", "pids"];

fn read_trim(path: &str) -> String {
    std::fs::read_to_string(path).map(|s| s.trim().to_string()).unwrap_or_default()
}

/// `true` for kernel 3.10 and newer.
fn kernel_supported(release: &str) -> bool {
    let mut it = release.split(['.', '-']).map(|p| p.parse::<u32>().ok());
    match (it.next().flatten(), it.next().flatten()) {
        (Some(major), Some(minor)) => major > 3 || (major == 3 && minor >= 10),
        _ => false,
    }
}

/// The kernel's build configuration, where one can be found.
fn kernel_config(release: &str) -> Option<(String, String)> {
    for p in [format!("/boot/config-{release}"), format!("/lib/modules/{release}/config")] {
        if let Ok(t) = std::fs::read_to_string(&p) {
            return Some((p, t));
        }
    }
    let o = Command::new("gzip").args(["-dc", "/proc/config.gz"]).output().ok()?;
    o.status.success().then(|| ("/proc/config.gz".to_string(), String::from_utf8_lossy(&o.stdout).into_owned()))
}

/// The cgroup controllers available, and whether the host runs cgroup v2.
fn cgroups() -> (bool, Vec<String>) {
    if let Ok(t) = std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers") {
        let mut list: Vec<String> = t.split_whitespace().map(str::to_string).collect();
        // v2 has no devices/freezer controllers: the kubelet uses eBPF and cgroup.freeze (as kubeadm assumes)
        list.extend(["devices".to_string(), "freezer".to_string()]);
        return (true, list);
    }
    let t = std::fs::read_to_string("/proc/cgroups").unwrap_or_default();
    let list = t
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (cols.len() >= 4 && cols[3] == "1").then(|| cols[0].to_string())
        })
        .collect();
    (false, list)
}

/// system-validators' warning for a cgroups v1 host (confirmed from stored `cgroup_validator_linux.go` and
/// many 1.33/1.34 console logs).
const CGROUP_V1_WARNING: &str = "cgroups v1 support is in maintenance mode, please migrate to cgroups v2";

/// The cgroups v1 finding for a kubelet of `kubelet`: a warning before 1.35, an error from 1.35
/// (system-validators v1.12.1, PR 134744). The wording of the 1.35 error is **unconfirmed** (the v1.12.1
/// validator source is not in the index); kbinit names the way out kubeadm's release note gives.
fn cgroup_v1_finding(kubelet: &KubeVersion) -> Finding {
    if kubelet.cgroup_v1_is_error() {
        error(
            NAME,
            format!(
                "{CGROUP_V1_WARNING}: the kubelet {kubelet} does not run on cgroups v1 by default (failCgroupV1); to keep \
                 cgroups v1, ignore this check and set failCgroupV1: false in the kubelet configuration"
            ),
        )
    } else {
        warning(NAME, CGROUP_V1_WARNING)
    }
}

/// Runs the verification for a node whose kubelet is `kubelet`: the findings, and the report lines kubeadm
/// prints when it fails.
pub fn system_verification(kubelet: &KubeVersion) -> (Vec<Finding>, Vec<String>) {
    let mut findings = Vec::new();
    let mut report = Vec::new();
    let os = read_trim("/proc/sys/kernel/ostype");
    report.push(format!("OS: {os}"));
    if os != "Linux" {
        findings.push(error(NAME, format!("unsupported operating system: {os}")));
    }
    let release = read_trim("/proc/sys/kernel/osrelease");
    report.push(format!("KERNEL_VERSION: {release}"));
    if !kernel_supported(&release) {
        findings.push(error(NAME, format!("unsupported kernel release: {release} (3.10 or newer is needed)")));
    }
    match kernel_config(&release) {
        Some((_, text)) => {
            let missing: Vec<String> = REQUIRED_KERNEL
                .iter()
                .filter(|o| !text.lines().any(|l| l == format!("CONFIG_{o}=y") || l == format!("CONFIG_{o}=m")))
                .map(|o| format!("CONFIG_{o}"))
                .collect();
            for o in REQUIRED_KERNEL {
                let state = if missing.contains(&format!("CONFIG_{o}")) { "missing" } else { "enabled" };
                report.push(format!("CONFIG_{o}: {state}"));
            }
            if !missing.is_empty() {
                findings.push(error(NAME, format!("missing required kernel config: {}", missing.join(", "))));
            }
        }
        None => findings.push(warning(
            NAME,
            format!(
                "the kernel configuration was not found (/boot/config-{release}, /proc/config.gz): the kernel options \
                 kubeadm requires were not verified"
            ),
        )),
    }
    let (v2, have) = cgroups();
    if !v2 {
        findings.push(cgroup_v1_finding(kubelet));
    }
    let wanted: &[&str] = if v2 { &CGROUPS_V2 } else { &CGROUPS_V1 };
    let mut missing = Vec::new();
    for c in wanted {
        let ok = have.iter().any(|h| h == c);
        report.push(format!("CGROUPS_{}: {}", c.to_ascii_uppercase(), if ok { "enabled" } else { "missing" }));
        if !ok {
            missing.push(*c);
        }
    }
    if !missing.is_empty() {
        findings.push(error(NAME, format!("missing required cgroups: {}", missing.join(" "))));
    }
    (findings, report)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn kernel_releases() {
        assert!(kernel_supported("5.15.0-91-generic"));
        assert!(kernel_supported("3.10.0-1160.el7.x86_64"));
        assert!(!kernel_supported("3.9.1"));
        assert!(!kernel_supported("2.6.32"));
        assert!(!kernel_supported(""));
    }

    #[test]
    fn cgroup_v1_is_an_error_from_kubelet_1_35() {
        let v = |s: &str| KubeVersion::resolve(s).unwrap();
        let old = cgroup_v1_finding(&v("v1.34.2"));
        assert!(!old.error);
        let new = cgroup_v1_finding(&v("v1.35.0"));
        assert!(new.error);
        for f in [old, new] {
            assert!(f.message.contains(CGROUP_V1_WARNING), "{}", f.message);
        }
    }

    #[test]
    fn this_host_reports_os_kernel_and_cgroups() {
        let (_, report) = system_verification(&KubeVersion::default_version());
        assert_eq!(report[0], "OS: Linux");
        assert!(report[1].starts_with("KERNEL_VERSION: "));
        assert!(report.iter().any(|l| l.starts_with("CGROUPS_MEMORY: ")), "{report:?}");
    }
}
