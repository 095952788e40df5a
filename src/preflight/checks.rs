//! The checks of kubeadm's catalogue (§M.1), one function each, named and worded as kubeadm names and words
//! them. Each returns its findings and never prints; [`super`] puts them in each command's order.
//!
//! Where a check looks: node files (manifests, the etcd data dir, the CRI socket, external etcd certificates)
//! are looked up under `--root`; everything that belongs to the machine itself — listening ports, `/proc`, the
//! binaries on PATH, the kubelet binary, systemd, the kernel, the hostname — is the real host's, whatever
//! `--root` says (a different root does not give the machine another network stack or kernel).

use std::net::{IpAddr, TcpListener};
use std::process::{Command, Stdio};

use kbinit_phases::config::ExternalEtcd;
use kbinit_phases::version::KubeVersion;

use super::{Finding, error, path_name, warning};
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

const NO_INIT_SYSTEM: &str = "no supported init system detected, skipping checking for services";

fn systemctl_out(args: &[&str]) -> Option<String> {
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

fn env_either(upper: &str) -> Option<String> {
    std::env::var(upper)
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(|| std::env::var(upper.to_ascii_lowercase()).ok().filter(|v| !v.is_empty()))
}

/// The proxy an `https://<host>` request would use under kbinit's environment (Go's rules: `HTTPS_PROXY`, then
/// `NO_PROXY` entries `*`, exact hosts, domain suffixes and CIDRs; loopback never goes through a proxy).
pub fn https_proxy_for(host: &str) -> Option<String> {
    let proxy = env_either("HTTPS_PROXY")?;
    let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    let ip = host.parse::<IpAddr>().ok();
    if host == "localhost" || ip.is_some_and(|i| i.is_loopback()) {
        return None;
    }
    let no_proxy = env_either("NO_PROXY").unwrap_or_default();
    for entry in no_proxy.split(',').map(|e| e.trim().to_ascii_lowercase()).filter(|e| !e.is_empty()) {
        if entry == "*" {
            return None;
        }
        if let (Some(ip), Some((net, bits))) = (ip, parse_cidr(&entry))
            && network(ip, bits) == Some(net)
        {
            return None;
        }
        let entry_host =
            entry.rsplit_once(':').filter(|(_, p)| p.parse::<u16>().is_ok()).map_or(entry.as_str(), |(h, _)| h);
        let bare = entry_host.trim_start_matches('.');
        if host == bare || host.ends_with(&format!(".{bare}")) {
            return None;
        }
    }
    Some(proxy)
}

/// `a.b.c.d/n` or `v6/n` as (network address, prefix length).
pub fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (ip, bits) = text.split_once('/')?;
    let (ip, bits): (IpAddr, u8) = (ip.parse().ok()?, bits.parse().ok()?);
    Some((network(ip, bits)?, bits))
}

/// The network address of `ip` under a prefix of `bits`.
fn network(ip: IpAddr, bits: u8) -> Option<IpAddr> {
    match ip {
        IpAddr::V4(v4) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            Some(IpAddr::from((u32::from(v4) & mask).to_be_bytes()))
        }
        IpAddr::V6(v6) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            Some(IpAddr::from((u128::from(v6) & mask).to_be_bytes()))
        }
        _ => None,
    }
}

/// `HTTPProxy`: a request to `https://<host>` would go through a proxy.
pub fn http_proxy(host: &str) -> Option<Finding> {
    let url = if host.parse::<IpAddr>().is_ok_and(|i| i.is_ipv6()) {
        format!("https://[{host}]")
    } else {
        format!("https://{host}")
    };
    https_proxy_for(host).map(|p| {
        warning(
            "HTTPProxy",
            format!("Connection to {url:?} uses proxy {p:?}. If that is not intended, adjust your proxy settings"),
        )
    })
}

/// `HTTPProxyCIDR`: requests into a service or pod range would go through a proxy.
pub fn http_proxy_cidr(cidr: &str) -> Option<Finding> {
    let (net, _) = parse_cidr(cidr.trim())?;
    https_proxy_for(&net.to_string()).map(|p| {
        warning(
            "HTTPProxyCIDR",
            format!(
                "connection to {cidr:?} uses proxy {p:?}. This may lead to malfunctional cluster setup. Make sure that \
                 Pod and Services IP ranges specified correctly as exceptions in proxy configuration"
            ),
        )
    })
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

/// The binaries kubeadm looks for after `crictl` ([`crictl_required`]), in its order, and whether each is
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

/// `ExternalEtcdClientCertificates`: the external etcd's CA, certificate and key files exist on the node.
pub fn external_etcd_certs(host: &Host, ext: &ExternalEtcd) -> Vec<Finding> {
    [("ca", &ext.ca_file), ("cert", &ext.cert_file), ("key", &ext.key_file)]
        .into_iter()
        .filter(|(_, p)| !p.is_empty() && !host.path(p).exists())
        .map(|(_, p)| error("ExternalEtcdClientCertificates", format!("{p} doesn't exist")))
        .collect()
}

/// The oldest external etcd kubeadm 1.28 accepts.
const MIN_EXTERNAL_ETCD: (u64, u64, u64) = (3, 4, 13);

fn triple(v: &str) -> Option<(u64, u64, u64)> {
    let mut it = v.trim_start_matches('v').split(['.', '-']).map(|p| p.parse::<u64>().ok());
    Some((it.next()??, it.next()??, it.next()??))
}

/// `ExternalEtcdVersion`: every external etcd endpoint answers and runs 3.4.13 or newer.
pub fn external_etcd_version(host: &Host, ext: &ExternalEtcd) -> Vec<Finding> {
    let name = "ExternalEtcdVersion";
    if ext.ca_file.is_empty() || ext.cert_file.is_empty() {
        return Vec::new(); // plain-HTTP etcd: not checked here
    }
    let read = |p: &str| host.read(p);
    let (Ok(ca), Ok(cert), Ok(key)) = (read(&ext.ca_file), read(&ext.cert_file), read(&ext.key_file)) else {
        return vec![error(
            name,
            "cannot read the external etcd client certificates (see ExternalEtcdClientCertificates)",
        )];
    };
    let tls = crate::etcd::EtcdTls { ca_pem: ca, cert_pem: cert, key_pem: key };
    let client = match crate::etcd::EtcdClient::connect(&ext.endpoints, &tls, std::time::Duration::from_secs(10)) {
        Ok(c) => c,
        Err(e) => return vec![error(name, format!("{e:#}"))],
    };
    let mut out = Vec::new();
    for ep in &ext.endpoints {
        match client.status(ep) {
            Ok(s) => {
                if triple(&s.version).is_some_and(|v| v < MIN_EXTERNAL_ETCD) {
                    out.push(error(
                        name,
                        format!("this version of kubeadm only supports external etcd version >= 3.4.13-4. Current version: {}", s.version),
                    ));
                }
            }
            Err(e) => out.push(error(name, format!("failed to get etcd version of {ep}: {e:#}"))),
        }
    }
    out
}

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
    fn cidrs() {
        assert_eq!(parse_cidr("10.96.0.0/12"), Some(("10.96.0.0".parse().unwrap(), 12)));
        assert_eq!(parse_cidr("10.97.3.4/12"), Some(("10.96.0.0".parse().unwrap(), 12)));
        assert_eq!(parse_cidr("fd00::1/64"), Some(("fd00::".parse().unwrap(), 64)));
        assert_eq!(parse_cidr("0.0.0.0/0"), Some(("0.0.0.0".parse().unwrap(), 0)));
        assert_eq!(parse_cidr("10.0.0.0/33"), None);
    }

    #[test]
    fn kubelet_skew() {
        let v = |s: &str| s.parse::<KubeVersion>().unwrap();
        assert_eq!(v("v1.28.7").minimum_kubelet_minor(), 27);
        assert_eq!(v("v1.32.0").minimum_kubelet_minor(), 29);
    }

    #[test]
    fn etcd_versions_compare_as_numbers() {
        assert!(triple("3.4.9").unwrap() < MIN_EXTERNAL_ETCD);
        assert!(triple("3.5.12-0").unwrap() >= MIN_EXTERNAL_ETCD);
        assert_eq!(triple("nope"), None);
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

    #[test]
    fn missing_binaries_are_errors_or_warnings_as_kubeadm() {
        let f = file_existing("kbinit-no-such-binary", true).unwrap();
        assert_eq!((f.name.as_str(), f.error), ("FileExisting-kbinit-no-such-binary", true));
        assert_eq!(f.message, "kbinit-no-such-binary not found in system path");
        assert!(!file_existing("kbinit-no-such-binary", false).unwrap().error);
    }
}
