//! Addresses, ports, endpoints and subnets, checked as kubeadm's validation package checks them:
//! `ValidateIPFromString`, `ValidatePort`, `ValidateHostPort` (kubeadm's `ParseHostPort` over Go's
//! `net.SplitHostPort`), `ValidateIPNetFromString` (CIDR syntax, dual-stack counts and families, minimum sizes),
//! `ValidateServiceSubnetSize` (at most 20 host bits) and `ValidatePodSubnetNodeMask` (the controller-manager's
//! `node-cidr-mask-size-ipv4/-ipv6` against the pod subnet). Constants from kubeadm's `constants.go`.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::Error;
use crate::config::model::Arg;

/// `MinimumAddressesInServiceSubnet`: the DNS service takes the tenth address.
const MIN_SERVICE_ADDRESSES: u128 = 10;
/// `MinimumAddressesInPodSubnet`.
const MIN_POD_ADDRESSES: u128 = 14;
/// `MaximumBitsForServiceSubnet`: /12 for IPv4, /108 for IPv6.
const MAX_SERVICE_HOST_BITS: u8 = 20;
/// `PodSubnetNodeMaskMaxDiff`.
const POD_NODE_MASK_MAX_DIFF: i64 = 16;
/// The controller-manager's default node mask sizes (`getClusterNodeMask`).
const DEFAULT_NODE_MASK_V4: i64 = 24;
const DEFAULT_NODE_MASK_V6: i64 = 64;

const PORT_RANGE: &str = "port must be a valid number between 1 and 65535, inclusive";

/// Parses an IP address given for `field` (`ValidateIPFromString`).
pub fn parse_ip(field: &str, s: &str) -> Result<IpAddr, Error> {
    s.parse::<IpAddr>().map_err(|_| Error::invalid(field, s, "ip address is not valid"))
}

/// `0.0.0.0` or `::`: kubeadm replaces an unspecified advertise address with the default-route address
/// (`SetAPIEndpointDynamicDefaults` → `ChooseAPIServerBindAddress`), as if none was given.
pub fn is_unspecified_address(s: &str) -> bool {
    s.parse::<IpAddr>().is_ok_and(|ip| ip.is_unspecified())
}

/// An advertise address: a valid IP that is not loopback, unspecified, multicast or broadcast.
pub fn validate_advertise_address(field: &str, s: &str) -> Result<IpAddr, Error> {
    let ip = s.parse::<IpAddr>().map_err(|_| {
        Error::invalid(
            field,
            s,
            format!("couldn't use {s:?} as \"apiserver-advertise-address\", must be ipv4 or ipv6 address"),
        )
    })?;
    if ip.is_loopback() || ip.is_unspecified() || ip.is_multicast() {
        return Err(Error::invalid(
            field,
            s,
            "the advertise address must be a unicast address of this node (not loopback, unspecified or multicast)",
        ));
    }
    if let IpAddr::V4(v4) = ip
        && v4.is_broadcast()
    {
        return Err(Error::invalid(field, s, "the advertise address must not be the broadcast address"));
    }
    Ok(ip)
}

/// A port number 1-65535 given as an integer of any width (`ValidatePort`).
pub fn validate_port(field: &str, p: i64) -> Result<u16, Error> {
    u16::try_from(p).ok().filter(|p| *p != 0).ok_or_else(|| Error::invalid(field, p.to_string(), PORT_RANGE))
}

/// kubeadm's `ParsePort`: decimal digits only (utils' `ParsePort` is `strconv.ParseUint`, no sign), 1-65535.
fn parse_port(field: &str, whole: &str, p: &str) -> Result<u16, Error> {
    let n = if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) { p.parse::<u32>().ok() } else { None };
    n.and_then(|n| u16::try_from(n).ok()).filter(|n| *n != 0).ok_or_else(|| {
        Error::invalid(
            field,
            whole,
            format!("hostport {whole}: port {p} must be a valid number between 1 and 65535, inclusive"),
        )
    })
}

/// Splits `host`, `host:port`, `[v6]` or `[v6]:port`; the host must be an IP or a DNS-1123 subdomain.
/// Used where kbinit needs the parts (discovery's `apiServerEndpoint`, URL hosts).
pub fn split_host_port(field: &str, s: &str, port_required: bool) -> Result<(String, Option<u16>), Error> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let Some((h, after)) = rest.split_once(']') else {
            return Err(Error::invalid(field, s, "missing \"]\" after an IPv6 address"));
        };
        if h.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(Error::invalid(field, s, "the bracketed host is not an IPv6 address"));
        }
        match after {
            "" => (h.to_string(), None),
            a => match a.strip_prefix(':') {
                Some(p) => (h.to_string(), Some(parse_port(field, s, p)?)),
                None => return Err(Error::invalid(field, s, "expected \":port\" after \"]\"")),
            },
        }
    } else if s.parse::<std::net::Ipv6Addr>().is_ok() {
        (s.to_string(), None)
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(parse_port(field, s, p)?)),
            None => (s.to_string(), None),
        }
    };
    if host.parse::<IpAddr>().is_err() && !super::is_dns1123_subdomain(&host) {
        return Err(Error::invalid(field, s, format!("{host:?} is neither an IP address nor a valid DNS name")));
    }
    if port_required && port.is_none() {
        return Err(Error::invalid(field, s, "expected host:port"));
    }
    Ok((host, port))
}

/// Go's `net.SplitHostPort`: `None` where it returns an error.
fn go_split_host_port(s: &str) -> Option<(&str, &str)> {
    let i = s.rfind(':')?;
    let (host, j, k) = if s.starts_with('[') {
        let end = s.find(']')?;
        if end + 1 != i {
            return None;
        }
        (&s[1..end], 1, end + 1)
    } else {
        let h = &s[..i];
        if h.contains(':') {
            return None;
        }
        (h, 0, 0)
    };
    if s[j..].contains('[') || s[k..].contains(']') {
        return None;
    }
    Some((host, &s[i + 1..]))
}

/// A `host[:port]` endpoint (`controlPlaneEndpoint`), accepted exactly where kubeadm's `ParseHostPort` accepts it:
/// what `net.SplitHostPort` cannot split is all host (so a bare IPv6 address is a host, `[fd00::1]` without a port
/// is not); a port, when present, is 1-65535; the host is an IP or a DNS-1123 subdomain. Returns host and port text
/// (empty when none).
pub fn validate_host_port<'a>(field: &str, s: &'a str) -> Result<(&'a str, &'a str), Error> {
    let (host, port) = go_split_host_port(s).unwrap_or((s, ""));
    if !port.is_empty() {
        parse_port(field, s, port)?;
    }
    if host.parse::<IpAddr>().is_ok() || super::is_dns1123_subdomain(host) {
        return Ok((host, port));
    }
    Err(Error::invalid(
        field,
        s,
        format!("hostport {s}: host '{host}' must be a valid IP address or a valid RFC-1123 DNS subdomain"),
    ))
}

const DUAL_STACK: &str = "expected one (IPv4 or IPv6) CIDR or two CIDRs from each family for dual-stack networking";

/// Parses a comma-separated CIDR list as `netutils.ParseCIDRs` does (no spaces; host bits allowed and dropped),
/// at most two, of different families when two.
pub fn parse_cidrs(field: &str, s: &str) -> Result<Vec<IpNet>, Error> {
    let mut nets = Vec::new();
    for part in s.split(',') {
        let net: IpNet = part.parse().map_err(|_| Error::invalid(field, s, "couldn't parse subnet"))?;
        nets.push(net.trunc());
    }
    let v4 = nets.iter().filter(|n| matches!(n, IpNet::V4(_))).count();
    if nets.len() > 2 || (nets.len() == 2 && v4 != 1) {
        return Err(Error::invalid(field, s, DUAL_STACK));
    }
    Ok(nets)
}

fn host_bits(net: &IpNet) -> u8 {
    net.max_prefix_len() - net.prefix_len()
}

fn check_min_size(field: &str, net: &IpNet, min: u128) -> Result<(), Error> {
    let size = 1u128.checked_shl(u32::from(host_bits(net))).unwrap_or(u128::MAX);
    if size < min {
        return Err(Error::invalid(
            field,
            net.to_string(),
            format!("subnet with {size} address(es) is too small, the minimum is {min}"),
        ));
    }
    Ok(())
}

/// A service subnet: valid CIDRs (`ValidateIPNetFromString`, at least 10 addresses each) of at most 20 host bits
/// (`ValidateServiceSubnetSize`).
pub fn validate_service_subnet(field: &str, s: &str) -> Result<(), Error> {
    for net in parse_cidrs(field, s)? {
        check_min_size(field, &net, MIN_SERVICE_ADDRESSES)?;
        if host_bits(&net) > MAX_SERVICE_HOST_BITS {
            let bits = net.max_prefix_len();
            return Err(Error::invalid(
                field,
                net.to_string(),
                format!(
                    "specified service subnet is too large; for {bits}-bit addresses, the mask must be >= {}",
                    bits - MAX_SERVICE_HOST_BITS
                ),
            ));
        }
    }
    Ok(())
}

/// The last value of a controller-manager flag, as kubeadm's `GetArgValue(args, name, -1)` finds it.
fn last_arg<'a>(args: &'a [Arg], name: &str) -> Option<&'a str> {
    args.iter().rev().find(|a| a.name == name).map(|a| a.value.as_str())
}

/// The node mask the controller-manager will cut from `net` (`getClusterNodeMask`).
fn node_mask(field: &str, net: &IpNet, controller_manager: &[Arg]) -> Result<i64, Error> {
    let (flag, default) = match net {
        IpNet::V4(_) => ("node-cidr-mask-size-ipv4", DEFAULT_NODE_MASK_V4),
        IpNet::V6(_) => ("node-cidr-mask-size-ipv6", DEFAULT_NODE_MASK_V6),
    };
    match last_arg(controller_manager, flag).filter(|v| !v.is_empty()) {
        None => Ok(default),
        // Go's strconv.Atoi: an optional sign and decimal digits
        Some(v) => v.strip_prefix('+').unwrap_or(v).parse::<i64>().map_err(|_| {
            Error::invalid(
                field,
                net.to_string(),
                format!("could not parse the value of the kube-controller-manager flag {flag} as an integer"),
            )
        }),
    }
}

/// A pod subnet: valid CIDRs (at least 14 addresses each); unless the controller-manager runs with
/// `allocate-node-cidrs=false`, each must hold whole node subnets (`node-cidr-mask-size-ipv4`, default 24;
/// `-ipv6`, default 64) and at most 2^16 of them (`ValidatePodSubnetNodeMask`). kbinit also refuses a pod subnet that
/// overlaps the service subnet (kubeadm does not check; the cluster's routing breaks).
pub fn validate_pod_subnet(field: &str, s: &str, service: &str, controller_manager: &[Arg]) -> Result<(), Error> {
    let pods = parse_cidrs(field, s)?;
    for p in &pods {
        check_min_size(field, p, MIN_POD_ADDRESSES)?;
    }
    if last_arg(controller_manager, "allocate-node-cidrs") != Some("false") {
        for p in &pods {
            let mask = i64::from(p.prefix_len());
            let node = node_mask(field, p, controller_manager)?;
            if mask > node {
                return Err(Error::invalid(
                    field,
                    p.to_string(),
                    format!(
                        "the size of pod subnet with mask {mask} is smaller than the size of node subnet with mask {node}"
                    ),
                ));
            }
            if node - mask > POD_NODE_MASK_MAX_DIFF {
                return Err(Error::invalid(
                    field,
                    p.to_string(),
                    format!(
                        "pod subnet mask ({mask}) and node-mask ({node}) difference is greater than {POD_NODE_MASK_MAX_DIFF}"
                    ),
                ));
            }
        }
    }
    let services = parse_cidrs("networking.serviceSubnet", service).unwrap_or_default();
    for p in &pods {
        for svc in &services {
            if p.contains(&svc.network()) || svc.contains(&p.network()) {
                return Err(Error::invalid(field, s, format!("{p} overlaps the service subnet {svc}")));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_and_addresses() {
        assert_eq!(split_host_port("f", "lb.example.com:6443", false).unwrap(), ("lb.example.com".into(), Some(6443)));
        assert_eq!(split_host_port("f", "[fd00::1]:443", true).unwrap(), ("fd00::1".into(), Some(443)));
        assert_eq!(split_host_port("f", "10.0.0.1", false).unwrap().1, None);
        assert!(split_host_port("f", "lb.example.com:99999", false).is_err());
        assert!(split_host_port("f", "lb.example.com:+6443", false).is_err());
        assert!(split_host_port("f", "Bad_Host:6443", false).is_err());
        assert!(split_host_port("f", "lb.example.com", true).is_err());
        assert!(validate_advertise_address("f", "127.0.0.1").is_err());
        assert!(validate_advertise_address("f", "0.0.0.0").is_err());
        assert!(validate_advertise_address("f", "224.0.0.1").is_err());
        assert!(validate_advertise_address("f", "10.1.2.3").is_ok());
        assert!(is_unspecified_address("::") && is_unspecified_address("0.0.0.0") && !is_unspecified_address("x"));
    }

    #[test]
    fn host_port_follows_parse_host_port() {
        for (s, host, port) in [
            ("lb.example.com", "lb.example.com", ""),
            ("lb.example.com:6443", "lb.example.com", "6443"),
            ("lb.example.com:", "lb.example.com", ""),
            ("10.0.0.1:443", "10.0.0.1", "443"),
            ("fd00::1", "fd00::1", ""),
            ("[fd00::1]:6443", "fd00::1", "6443"),
        ] {
            assert_eq!(validate_host_port("f", s).unwrap(), (host, port), "{s}");
        }
        for bad in ["[fd00::1]", "lb:0", "lb:65536", "lb:x", "LB_example:6443", "lb:+1", "[fd00::1]x:1", ""] {
            assert!(validate_host_port("f", bad).is_err(), "{bad}");
        }
    }

    fn cm(args: &[(&str, &str)]) -> Vec<Arg> {
        args.iter().map(|(n, v)| Arg { name: n.to_string(), value: v.to_string() }).collect()
    }

    #[test]
    fn subnets() {
        assert!(validate_service_subnet("s", "10.96.0.0/12").is_ok());
        assert!(validate_service_subnet("s", "10.10.0.0/16,fd00::/108").is_ok());
        assert!(validate_service_subnet("s", "10.0.0.0/8").is_err());
        assert!(validate_service_subnet("s", "fd00::/107").is_err());
        assert!(validate_service_subnet("s", "10.0.0.0/28").is_ok());
        assert!(validate_service_subnet("s", "10.0.0.0/29").is_err());
        assert!(validate_service_subnet("s", "10.0.0.0/16,10.1.0.0/16").is_err());
        assert!(validate_service_subnet("s", "10.96.0.0/12, fd00::/108").is_err(), "ParseCIDRs does not trim");
        assert!(validate_service_subnet("s", "10.96.0.0/12,").is_err());
        assert!(validate_pod_subnet("p", "10.96.0.0/16", "10.96.0.0/12", &[]).is_err());
        assert!(validate_pod_subnet("p", "10.244.0.0/16", "10.96.0.0/12", &[]).is_ok());
    }

    #[test]
    fn pod_subnets_hold_node_subnets() {
        let svc = "10.96.0.0/12";
        assert!(validate_pod_subnet("p", "10.244.0.0/24", svc, &[]).is_ok());
        assert!(validate_pod_subnet("p", "10.244.0.0/25", svc, &[]).is_err());
        assert!(validate_pod_subnet("p", "11.0.0.0/8", svc, &[]).is_ok());
        assert!(validate_pod_subnet("p", "8.0.0.0/7", svc, &[]).is_err());
        assert!(validate_pod_subnet("p", "fd00:1::/48", svc, &[]).is_ok());
        assert!(validate_pod_subnet("p", "fd00:1::/47", svc, &[]).is_err());
        let m26 = cm(&[("node-cidr-mask-size-ipv4", "24"), ("node-cidr-mask-size-ipv4", "26")]);
        assert!(validate_pod_subnet("p", "10.244.0.0/25", svc, &m26).is_ok(), "the last value counts");
        assert!(validate_pod_subnet("p", "10.244.0.0/25", svc, &cm(&[("node-cidr-mask-size-ipv4", "x")])).is_err());
        let off = cm(&[("allocate-node-cidrs", "false")]);
        assert!(validate_pod_subnet("p", "10.244.0.0/28", svc, &off).is_ok());
        assert!(validate_pod_subnet("p", "10.244.0.0/29", svc, &off).is_err(), "fewer than 14 addresses");
    }
}
