//! The machine checks of kubeadm's catalogue (§M.1), one function each, named and worded as kubeadm names and
//! words them: user, CPUs, memory, swap, firewalld, ports, files and directories, binaries, hostname, the
//! `/proc/sys` switches. Each returns its findings and never prints; [`super`] puts them in each command's order;
//! the network, kubelet and etcd checks have their own files.
//!
//! Where a check looks: node files (manifests, the etcd data dir, the CRI socket, external etcd certificates)
//! are looked up under `--root`; everything that belongs to the machine itself — listening ports, `/proc`, the
//! binaries on PATH, the kubelet binary, systemd, the kernel, the hostname — is the real host's, whatever
//! `--root` says (a different root does not give the machine another network stack or kernel).

use std::net::TcpListener;
use std::process::{Command, Stdio};

use kbinit_phases::version::KubeVersion;

use super::finding::{Finding, error, path_name, warning};
use crate::host::Host;
use crate::host::services::which;

/// `IsPrivilegedUser`: kbinit must run as root.
pub fn is_privileged_user() -> Option<Finding> {
    (!nix::unistd::Uid::effective().is_root()).then(|| error("IsPrivilegedUser", "user is not running as root"))
}

/// `NumCPU`: at least 2 CPUs.
pub fn num_cpu() -> Option<Finding> {
    let n = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    (n < 2).then(|| error("NumCPU", format!("the number of available CPUs {n} is less than the required 2")))
}

/// `Mem`: at least 1700 MB of RAM.
pub fn mem() -> Option<Finding> {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kb: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mb = kb / 1024;
    (mb < 1700).then(|| error("Mem", format!("the system RAM ({mb} MB) is less than the minimum 1700 MB")))
}

/// `KubernetesVersion`: the version to set up is not newer than what kbinit knows.
pub fn kubernetes_version(v: &KubeVersion) -> Option<Finding> {
    let newest = KubeVersion::default_version();
    (v.minor > newest.minor).then(|| {
        warning(
            "KubernetesVersion",
            format!(
                "Kubernetes version is greater than kubeadm version. Please consider to upgrade kubeadm. Kubernetes \
                 version: {v}. Kubeadm version: 1.{}.x",
                newest.minor
            ),
        )
    })
}

pub(super) const NO_INIT_SYSTEM: &str = "no supported init system detected, skipping checking for services";

pub(super) fn systemctl_out(args: &[&str]) -> Option<String> {
    let o = Command::new("systemctl").args(args).stdin(Stdio::null()).stderr(Stdio::null()).output().ok()?;
    Some(String::from_utf8_lossy(&o.stdout).into_owned())
}

/// `Firewalld`: an active firewalld may block the API server and kubelet ports.
pub fn firewalld(ports: &[u16]) -> Option<Finding> {
    if !crate::host::services::has_systemd() {
        return Some(warning("Firewalld", NO_INIT_SYSTEM));
    }
    let status = systemctl_out(&["status", "firewalld"]).unwrap_or_default();
    if status.contains("could not be found") || status.contains("Loaded: not-found") || status.is_empty() {
        return None;
    }
    let active = systemctl_out(&["is-active", "firewalld"]).is_some_and(|s| s.trim() == "active");
    let list: Vec<String> = ports.iter().map(u16::to_string).collect();
    active.then(|| {
        warning(
            "Firewalld",
            format!(
                "firewalld is active, please ensure ports [{}] are open or your cluster may not function correctly",
                list.join(" ")
            ),
        )
    })
}

/// `Port-<n>`: nothing listens on the port (of the real host's network namespace).
pub fn port(port: u16) -> Option<Finding> {
    port_in_use(port).then(|| error(format!("Port-{port}"), format!("Port {port} is in use")))
}

/// `true` when `listen tcp :<port>` fails.
pub fn port_in_use(port: u16) -> bool {
    TcpListener::bind(("0.0.0.0", port)).is_err()
}

/// `FileAvailable-<path>`: the node path does not exist.
pub fn file_available(host: &Host, path: &str) -> Option<Finding> {
    host.path(path)
        .symlink_metadata()
        .is_ok()
        .then(|| error(format!("FileAvailable-{}", path_name(path)), format!("{path} already exists")))
}

/// `true` when the node directory exists and has an entry.
pub fn dir_non_empty(host: &Host, path: &str) -> bool {
    std::fs::read_dir(host.path(path)).map(|mut d| d.next().is_some()).unwrap_or(false)
}

/// `DirAvailable-<path>`: the node directory is absent or empty.
pub fn dir_available(host: &Host, path: &str) -> Option<Finding> {
    dir_non_empty(host, path)
        .then(|| error(format!("DirAvailable-{}", path_name(path)), format!("{path} is not empty")))
}

/// `Swap`: swap is on.
pub fn swap() -> Option<Finding> {
    let on = std::fs::read_to_string("/proc/swaps").map(|s| s.lines().count() > 1).unwrap_or(false);
    on.then(|| {
        warning(
            "Swap",
            "swap is supported for cgroup v2 only; the NodeSwap feature gate of the kubelet is beta but disabled by default",
        )
    })
}

/// The binaries kubeadm looks for after `crictl` ([`super::kubelet::crictl_required`]), in its order, and whether each is
/// required.
pub const BINARIES: [(&str, bool); 10] = [
    ("conntrack", true),
    ("ip", true),
    ("iptables", true),
    ("mount", true),
    ("nsenter", true),
    ("ebtables", false),
    ("ethtool", false),
    ("socat", false),
    ("tc", false),
    ("touch", false),
];

/// `FileExisting-<binary>`: the binary is on PATH (an error when required, else a warning).
pub fn file_existing(name: &str, required: bool) -> Option<Finding> {
    if which(name) {
        return None;
    }
    let f = Finding {
        name: format!("FileExisting-{name}"),
        error: required,
        message: format!("{name} not found in system path"),
    };
    Some(f)
}

/// `Hostname`: the node name is a DNS name and resolves.
pub fn hostname(node_name: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let valid = !node_name.is_empty()
        && node_name.len() <= 253
        && node_name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    if !valid {
        out.push(warning(
            "Hostname",
            format!("invalid node name format {node_name:?}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'"),
        ));
    }
    use std::net::ToSocketAddrs;
    match (node_name, 0).to_socket_addrs().map(Iterator::count) {
        Ok(n) if n > 0 => {}
        Ok(_) => out.push(warning("Hostname", format!("hostname \"{node_name}\" could not be reached"))),
        Err(e) => {
            out.push(warning("Hostname", format!("hostname \"{node_name}\" could not be reached")));
            out.push(warning("Hostname", format!("hostname \"{node_name}\": lookup {node_name}: {e}")));
        }
    }
    out
}

/// `FileContent-<path>`: a `/proc/sys` switch of the real host is `1`.
pub fn file_content_one(path: &str) -> Option<Finding> {
    let name = format!("FileContent-{}", path_name(path));
    match std::fs::read(path) {
        Err(_) => Some(error(name, format!("{path} does not exist"))),
        Ok(b) if b.first() == Some(&b'1') => None,
        Ok(_) => Some(error(name, format!("{path} contents are not set to 1"))),
    }
}

/// The `/proc/sys` switches for IPv4 and for IPv6 nodes.
pub const IPV4_SWITCHES: [&str; 2] = ["/proc/sys/net/bridge/bridge-nf-call-iptables", "/proc/sys/net/ipv4/ip_forward"];

/// See [`IPV4_SWITCHES`].
pub const IPV6_SWITCHES: [&str; 2] =
    ["/proc/sys/net/bridge/bridge-nf-call-ip6tables", "/proc/sys/net/ipv6/conf/default/forwarding"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_port_is_found() {
        let l = TcpListener::bind("0.0.0.0:0").unwrap();
        let p = l.local_addr().unwrap().port();
        assert_eq!(port(p).unwrap().name, format!("Port-{p}"));
    }

    #[test]
    fn missing_binaries_are_errors_or_warnings_as_kubeadm() {
        let f = file_existing("kbinit-no-such-binary", true).unwrap();
        assert_eq!((f.name.as_str(), f.error), ("FileExisting-kbinit-no-such-binary", true));
        assert_eq!(f.message, "kbinit-no-such-binary not found in system path");
        assert!(!file_existing("kbinit-no-such-binary", false).unwrap().error);
    }
}
