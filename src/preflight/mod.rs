//! Preflight checks that need no cluster: each has kubeadm's name, so `--ignore-preflight-errors=Port-6443,Swap`
//! and `all` work the same; findings print as kubeadm prints them and a remaining error fails with exit code 2.

use std::net::TcpListener;

use kbinit_phases::config::{Etcd, InitConfiguration};

use crate::error::PreflightFailed;
use crate::host::Host;
use crate::output::Output;

/// One check's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// kubeadm's check name, e.g. `Port-6443`.
    pub name: String,
    /// An error (fatal unless ignored) rather than a warning.
    pub error: bool,
    /// What was found.
    pub message: String,
}

fn error(name: impl Into<String>, message: impl Into<String>) -> Finding {
    Finding { name: name.into(), error: true, message: message.into() }
}
fn warning(name: impl Into<String>, message: impl Into<String>) -> Finding {
    Finding { name: name.into(), error: false, message: message.into() }
}

/// kubeadm's name for a file or directory check: `/etc/kubernetes/x.yaml` → `-etc-kubernetes-x.yaml`.
pub fn path_name(path: &str) -> String {
    path.replace('/', "-")
}

fn port_free(port: u16) -> Option<Finding> {
    TcpListener::bind(("0.0.0.0", port)).err().map(|_| error(format!("Port-{port}"), format!("Port {port} is in use")))
}

fn file_available(host: &Host, path: &str) -> Option<Finding> {
    host.path(path)
        .symlink_metadata()
        .is_ok()
        .then(|| error(format!("FileAvailable-{}", path_name(path)), format!("{path} already exists")))
}

fn dir_available(host: &Host, path: &str) -> Option<Finding> {
    let p = host.path(path);
    let non_empty = std::fs::read_dir(&p).map(|mut d| d.next().is_some()).unwrap_or(false);
    non_empty.then(|| error(format!("DirAvailable-{}", path_name(path)), format!("{path} is not empty")))
}

fn proc_is_one(path: &str) -> Option<Finding> {
    let ok = std::fs::read(path).map(|b| b.first() == Some(&b'1')).unwrap_or(false);
    (!ok).then(|| error(format!("FileContent-{}", path_name(path)), format!("{path} contents are not set to 1")))
}

fn swap() -> Option<Finding> {
    let on = std::fs::read_to_string("/proc/swaps").map(|s| s.lines().count() > 1).unwrap_or(false);
    on.then(|| warning("Swap", "swap is supported for cgroup v2 only; the NodeSwap feature gate of the kubelet is beta but disabled by default"))
}

fn privileged() -> Option<Finding> {
    (!nix::unistd::Uid::effective().is_root()).then(|| error("IsPrivilegedUser", "user is not running as root"))
}

fn cri(host: &Host, socket: &str) -> Option<Finding> {
    let path = socket.trim_start_matches("unix://");
    use std::os::unix::fs::FileTypeExt;
    let is_socket = std::fs::metadata(host.path(path)).map(|m| m.file_type().is_socket()).unwrap_or(false);
    (!is_socket).then(|| error("CRI", format!("container runtime is not running: no socket at {socket}")))
}

/// The checks `kbinit init` runs before touching anything (kubeadm's order, without the ones that need a
/// container runtime's tools or the kubelet binary).
pub fn init_findings(cfg: &InitConfiguration, host: &Host) -> Vec<Finding> {
    let manifests = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"]
        .map(|m| format!("{}/{m}.yaml", kbinit_phases::paths::MANIFESTS_DIR));
    let mut checks: Vec<Option<Finding>> =
        vec![port_free(cfg.local_api_endpoint.bind_port), port_free(10259), port_free(10257)];
    checks.extend(manifests.iter().map(|m| file_available(host, m)));
    checks.push(cri(host, &cfg.node_registration.cri_socket));
    checks.push(swap());
    checks.push(port_free(10250));
    checks.push(proc_is_one("/proc/sys/net/ipv4/ip_forward"));
    if let Etcd::Local(l) = &cfg.cluster.etcd {
        checks.push(port_free(2379));
        checks.push(port_free(2380));
        checks.push(dir_available(host, &l.data_dir));
    }
    checks.into_iter().flatten().collect()
}

/// Prints findings and fails (exit 2) when an error remains that `ignore` does not cover.
pub fn report(findings: &[Finding], ignore: &[String], out: &Output) -> anyhow::Result<()> {
    let ignored = |name: &str| ignore.iter().any(|i| i == "all" || i.eq_ignore_ascii_case(name));
    let mut fatal = Vec::new();
    for f in findings {
        if !f.error || ignored(&f.name) {
            out.err_line(&format!("\t[WARNING {}]: {}", f.name, f.message));
        } else {
            fatal.push(format!("\t[ERROR {}]: {}", f.name, f.message));
        }
    }
    if fatal.is_empty() {
        return Ok(());
    }
    Err(anyhow::Error::new(PreflightFailed(format!(
        "[preflight] Some fatal errors occurred:\n{}\n[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`",
        fatal.join("\n")
    ))))
}

/// Runs init's preflight: root first (fail fast, as kubeadm), then the rest.
pub fn run_init(cfg: &InitConfiguration, host: &Host, out: &Output) -> anyhow::Result<()> {
    let ignore = &cfg.node_registration.ignore_preflight_errors;
    out.say("[preflight] Running pre-flight checks");
    report(&privileged().into_iter().collect::<Vec<_>>(), ignore, out)?;
    report(&init_findings(cfg, host), ignore, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_kubeadm() {
        assert_eq!(path_name("/etc/kubernetes/manifests/etcd.yaml"), "-etc-kubernetes-manifests-etcd.yaml");
        assert_eq!(format!("DirAvailable-{}", path_name("/var/lib/etcd")), "DirAvailable--var-lib-etcd");
    }

    #[test]
    fn ignore_downgrades_errors() {
        let out = Output::new(0);
        let f = vec![error("Port-6443", "Port 6443 is in use"), warning("Swap", "on")];
        assert!(report(&f, &["port-6443".into()], &out).is_ok());
        assert!(report(&f, &["all".into()], &out).is_ok());
        let err = report(&f, &[], &out).unwrap_err().to_string();
        assert!(err.contains("[ERROR Port-6443]: Port 6443 is in use"), "{err}");
    }

    #[test]
    fn busy_port_is_found() {
        let l = TcpListener::bind("0.0.0.0:0").unwrap();
        let port = l.local_addr().unwrap().port();
        assert_eq!(port_free(port).unwrap().name, format!("Port-{port}"));
    }
}
