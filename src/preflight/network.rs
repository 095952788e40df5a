//! The network checks: `HTTPProxy` and `HTTPProxyCIDR` (Go's proxy rules: `HTTPS_PROXY`, `NO_PROXY`), and the
//! CIDR arithmetic they and the `/proc/sys` switches need.

use std::net::IpAddr;

use super::finding::{Finding, warning};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs() {
        assert_eq!(parse_cidr("10.96.0.0/12"), Some(("10.96.0.0".parse().unwrap(), 12)));
        assert_eq!(parse_cidr("10.97.3.4/12"), Some(("10.96.0.0".parse().unwrap(), 12)));
        assert_eq!(parse_cidr("fd00::1/64"), Some(("fd00::".parse().unwrap(), 64)));
        assert_eq!(parse_cidr("0.0.0.0/0"), Some(("0.0.0.0".parse().unwrap(), 0)));
        assert_eq!(parse_cidr("10.0.0.0/33"), None);
    }
}
