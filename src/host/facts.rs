//! What kbinit finds out about the machine for defaulting: hostname, the address of the default-route
//! interface, the CRI sockets present, whether systemd-resolved runs.

use std::net::IpAddr;
use std::os::unix::fs::FileTypeExt;

use kbinit_phases::config::HostFacts;

use super::Host;
use super::services;

/// The CRI sockets kubeadm knows, in its detection order.
pub const KNOWN_CRI_SOCKETS: [&str; 3] = [
    "unix:///var/run/containerd/containerd.sock",
    "unix:///var/run/crio/crio.sock",
    "unix:///var/run/cri-dockerd.sock",
];

/// Gathers the facts. CRI sockets are looked up under the host's root; hostname and addresses are the
/// machine's own (a different `--root` does not change the machine's network).
pub fn gather(host: &Host) -> HostFacts {
    let hostname = nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default();
    let cri_sockets = KNOWN_CRI_SOCKETS
        .iter()
        .filter(|s| {
            let p = host.path(s.trim_start_matches("unix://"));
            std::fs::metadata(p).map(|m| m.file_type().is_socket()).unwrap_or(false)
        })
        .map(|s| s.to_string())
        .collect();
    HostFacts {
        hostname,
        default_address: default_route_address(),
        cri_sockets,
        systemd_resolved: host.is_real_root() && services::unit_active("systemd-resolved"),
    }
}

/// The global unicast IPv4 address of the interface that holds the default route (IPv6 when there is no IPv4
/// default route), as kubeadm picks the advertise address.
pub fn default_route_address() -> Option<IpAddr> {
    let v4_if = default_interface("/proc/net/route", |cols| cols.get(1) == Some(&"00000000"), 0);
    let v6_if = default_interface(
        "/proc/net/ipv6_route",
        |cols| cols.first() == Some(&"00000000000000000000000000000000") && cols.get(1) == Some(&"00"),
        9,
    );
    let addrs: Vec<(String, IpAddr)> = nix::ifaddrs::getifaddrs()
        .ok()?
        .filter_map(|ifa| {
            let addr = ifa.address?;
            let ip = if let Some(v4) = addr.as_sockaddr_in() {
                IpAddr::V4(v4.ip())
            } else {
                IpAddr::V6(addr.as_sockaddr_in6()?.ip())
            };
            Some((ifa.interface_name, ip))
        })
        .collect();
    let pick = |iface: &str, want_v4: bool| {
        addrs.iter().find(|(n, ip)| n == iface && ip.is_ipv4() == want_v4 && is_global_unicast(ip)).map(|(_, ip)| *ip)
    };
    v4_if.and_then(|i| pick(&i, true)).or_else(|| v6_if.and_then(|i| pick(&i, false)))
}

fn default_interface(table: &str, is_default: impl Fn(&[&str]) -> bool, name_col: usize) -> Option<String> {
    let text = std::fs::read_to_string(table).ok()?;
    text.lines().find_map(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        (is_default(&cols) && cols.len() > name_col).then(|| cols[name_col].to_string())
    })
}

/// Not loopback, link-local, multicast or unspecified.
pub fn is_global_unicast(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_loopback() || v4.is_link_local() || v4.is_multicast() || v4.is_unspecified() || v4.is_broadcast())
        }
        IpAddr::V6(v6) => {
            !(v6.is_loopback() || v6.is_multicast() || v6.is_unspecified() || (v6.segments()[0] & 0xffc0) == 0xfe80)
        }
    }
}

/// Variables named `*_proxy` (any case, non-empty) of kbinit's environment, which kubeadm passes on to the
/// control-plane components.
pub fn proxy_env() -> Vec<kbinit_phases::config::EnvVar> {
    let mut vars: Vec<_> = std::env::vars()
        .filter(|(k, v)| k.to_ascii_lowercase().ends_with("_proxy") && !v.is_empty())
        .map(|(name, value)| kbinit_phases::config::EnvVar::new(name, value))
        .collect();
    vars.sort_by(|a, b| a.name.cmp(&b.name));
    vars
}
