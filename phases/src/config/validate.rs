//! Field checks shared by the config loader and the CLI: token, CA hash and certificate-key formats, addresses,
//! CIDRs, DNS names, endpoints, feature gates and `k=v` flag strings. Every check returns an [`Error::Invalid`]
//! naming the field (config path or flag) and the value.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::Error;
use crate::version::KubeVersion;

const TOKEN_ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

fn is_token_part(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// A bootstrap token: `[a-z0-9]{6}\.[a-z0-9]{16}`.
pub fn validate_token(s: &str) -> Result<(), Error> {
    validate_token_field("token", s)
}

/// [`validate_token`] with the field name to report.
pub fn validate_token_field(field: &str, s: &str) -> Result<(), Error> {
    match s.split_once('.') {
        Some((id, secret)) if is_token_part(id, 6) && is_token_part(secret, 16) => Ok(()),
        _ => Err(Error::invalid(
            field,
            withheld_token(s),
            "the bootstrap token must be of the form \"[a-z0-9]{6}.[a-z0-9]{16}\"",
        )),
    }
}

/// What an error may show of a rejected token: its id part only (a near-miss must not leak its secret).
fn withheld_token(s: &str) -> String {
    s.split_once('.').map_or_else(|| format!("<{} characters withheld>", s.len()), |(id, _)| format!("{id}.<withheld>"))
}

/// A CA public-key pin: `sha256:` and 64 lower-case hex characters.
pub fn validate_ca_cert_hash(s: &str) -> Result<(), Error> {
    validate_ca_cert_hash_field("discovery.bootstrapToken.caCertHashes", s)
}

/// [`validate_ca_cert_hash`] with the field name to report.
pub fn validate_ca_cert_hash_field(field: &str, s: &str) -> Result<(), Error> {
    let Some((kind, hex)) = s.split_once(':') else {
        return Err(Error::invalid(field, s, "expected \"sha256:<hex>\" (the hash format is missing)"));
    };
    if !kind.eq_ignore_ascii_case("sha256") {
        return Err(Error::invalid(field, s, format!("unsupported hash type {kind:?}, only sha256 is known")));
    }
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b.to_ascii_lowercase())) {
        return Err(Error::invalid(field, s, "a sha256 pin is 64 hex characters"));
    }
    Ok(())
}

/// A certificate key (AES-256 key for kubeadm-certs): 64 hex characters.
pub fn validate_certificate_key(s: &str) -> Result<(), Error> {
    validate_certificate_key_field("certificateKey", s)
}

/// [`validate_certificate_key`] with the field name to report.
pub fn validate_certificate_key_field(field: &str, s: &str) -> Result<(), Error> {
    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        // never echo a certificate key back, not even a malformed one (it may be a typo of the real one)
        Err(Error::invalid(
            field,
            format!("<{} characters withheld>", s.len()),
            "the certificate key must be 64 hex characters (32 bytes)",
        ))
    }
}

fn random_bytes(buf: &mut [u8]) {
    if aws_lc_rs::rand::fill(buf).is_ok() {
        return;
    }
    // aws-lc's RNG does not fail in practice; keep a process-seeded fallback rather than panic
    use std::hash::{BuildHasher, Hasher};
    let state = std::collections::hash_map::RandomState::new();
    for (i, b) in buf.iter_mut().enumerate() {
        let mut h = state.build_hasher();
        h.write_usize(i);
        *b = h.finish().to_le_bytes()[0];
    }
}

/// A random, valid bootstrap token (unbiased over `[a-z0-9]`, as kubeadm draws it).
pub fn generate_token() -> String {
    let mut out = String::with_capacity(23);
    while out.len() < 23 {
        if out.len() == 6 {
            out.push('.');
            continue;
        }
        let mut b = [0u8; 1];
        random_bytes(&mut b);
        if b[0] < 252 {
            out.push(char::from(TOKEN_ALPHABET[usize::from(b[0] % 36)]));
        }
    }
    out
}

/// A bootstrap token extra group: `system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]`.
pub fn validate_token_group(field: &str, g: &str) -> Result<(), Error> {
    let rest = g.strip_prefix("system:bootstrappers:").unwrap_or("");
    let ok = !rest.is_empty()
        && rest.len() <= 256
        && rest.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b':' || b == b'-')
        && rest.bytes().last().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(field, g, "bootstrap group must match \"system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]\""))
    }
}

/// A DNS-1123 label: lower-case alphanumerics and `-`, starting and ending alphanumeric, at most 63 characters.
pub fn is_dns1123_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A DNS-1123 subdomain: dot-separated labels, at most 253 characters.
pub fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns1123_label)
}

/// `*.` followed by a DNS-1123 subdomain.
pub fn is_wildcard_dns1123_subdomain(s: &str) -> bool {
    s.strip_prefix("*.").is_some_and(is_dns1123_subdomain)
}

/// Parses an IP address given for `field`.
pub fn parse_ip(field: &str, s: &str) -> Result<IpAddr, Error> {
    s.trim().parse::<IpAddr>().map_err(|_| Error::invalid(field, s, "not a valid IP address"))
}

/// An advertise address: a valid IP that is not loopback, unspecified or multicast.
pub fn validate_advertise_address(field: &str, s: &str) -> Result<IpAddr, Error> {
    let ip = parse_ip(field, s)?;
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

/// A port number 1-65535 given as an integer of any width.
pub fn validate_port(field: &str, p: i64) -> Result<u16, Error> {
    u16::try_from(p)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| Error::invalid(field, p.to_string(), "port must be between 1 and 65535"))
}

fn parse_port(field: &str, whole: &str, p: &str) -> Result<u16, Error> {
    let n: i64 = p.parse().map_err(|_| Error::invalid(field, whole, format!("port {p:?} is not a number")))?;
    validate_port(field, n).map_err(|_| Error::invalid(field, whole, "port must be between 1 and 65535"))
}

/// Splits `host`, `host:port`, `[v6]` or `[v6]:port`; the host must be an IP or a DNS-1123 subdomain.
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
    if host.parse::<IpAddr>().is_err() && !is_dns1123_subdomain(&host) {
        return Err(Error::invalid(field, s, format!("{host:?} is neither an IP address nor a valid DNS name")));
    }
    if port_required && port.is_none() {
        return Err(Error::invalid(field, s, "expected host:port"));
    }
    Ok((host, port))
}

/// Parses a comma-separated CIDR list (at most one per IP family).
pub fn parse_cidrs(field: &str, s: &str) -> Result<Vec<IpNet>, Error> {
    let mut nets = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        let net: IpNet = part.parse().map_err(|_| Error::invalid(field, s, format!("{part:?} is not a valid CIDR")))?;
        // like Go's net.ParseCIDR, host bits are accepted and dropped
        nets.push(net.trunc());
    }
    let v4 = nets.iter().filter(|n| matches!(n, IpNet::V4(_))).count();
    let v6 = nets.len() - v4;
    if nets.len() > 2 || v4 > 1 || v6 > 1 {
        return Err(Error::invalid(field, s, "expected at most one CIDR per IP family (dual-stack)"));
    }
    Ok(nets)
}

/// A service subnet: valid CIDRs each holding at least 10 addresses and at most 20 host bits.
pub fn validate_service_subnet(field: &str, s: &str) -> Result<(), Error> {
    for net in parse_cidrs(field, s)? {
        let host_bits = u32::from(net.max_prefix_len() - net.prefix_len());
        if host_bits > 20 {
            return Err(Error::invalid(
                field,
                s,
                format!(
                    "{net} is too large: a service subnet may have at most 20 host bits (e.g. /12 IPv4, /108 IPv6)"
                ),
            ));
        }
        if host_bits < 4 {
            return Err(Error::invalid(field, s, format!("{net} is too small: it must hold at least 10 addresses")));
        }
    }
    Ok(())
}

/// A pod subnet: valid CIDRs that do not overlap the service subnets.
pub fn validate_pod_subnet(field: &str, s: &str, service: &str) -> Result<(), Error> {
    let pods = parse_cidrs(field, s)?;
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

/// Feature gates kbinit knows for `version` (the release's kubeadm list, [`crate::features`]).
pub fn known_feature_gates(version: &KubeVersion) -> Vec<&'static str> {
    crate::features::known(version).into_iter().map(|(n, _)| n).collect()
}

/// Checks feature gates against `version`'s kubeadm ([`crate::features::check`]): unknown and removed gates,
/// and locked (GA) gates switched off, are refused.
pub fn validate_feature_gates(field: &str, gates: &BTreeMap<String, bool>, version: &KubeVersion) -> Result<(), Error> {
    for (name, value) in gates {
        crate::features::check(field, name, *value, version)?;
    }
    Ok(())
}

/// Parses `--feature-gates=A=true,B=false`.
pub fn parse_feature_gates(field: &str, s: &str) -> Result<BTreeMap<String, bool>, Error> {
    let mut out = BTreeMap::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((k, v)) = part.split_once('=') else {
            return Err(Error::invalid(field, s, format!("missing bool value for feature-gate key {part:?}")));
        };
        let b = match v.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "t" => true,
            "false" | "0" | "f" => false,
            _ => {
                return Err(Error::invalid(field, s, format!("invalid value {v:?} of feature-gate key {k:?}")));
            }
        };
        out.insert(k.trim().to_string(), b);
    }
    Ok(out)
}

/// Parses `k=v,k=v` extra-args flag strings (`--apiserver-extra-args`), sorted by name like a v1beta3 map.
pub fn parse_extra_args(field: &str, s: &str) -> Result<BTreeMap<String, String>, Error> {
    let mut out = BTreeMap::new();
    for part in s.split(',').filter(|p| !p.trim().is_empty()) {
        match part.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                out.insert(k.trim().trim_start_matches("--").to_string(), v.to_string());
            }
            _ => {
                return Err(Error::invalid(field, s, format!("{part:?} is not of the form key=value")));
            }
        }
    }
    Ok(out)
}

/// An absolute path.
pub fn validate_absolute(field: &str, s: &str) -> Result<(), Error> {
    if s.starts_with('/') { Ok(()) } else { Err(Error::invalid(field, s, "must be an absolute path")) }
}

/// An etcd endpoint URL (`http://` or `https://` with a host).
pub fn validate_url(field: &str, s: &str) -> Result<(), Error> {
    let rest = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() => {
            let hostport = r.split('/').next().unwrap_or("");
            split_host_port(field, hostport, false).map(|_| ())
        }
        _ => Err(Error::invalid(field, s, "must be an http:// or https:// URL")),
    }
}

/// Lower-cases `--ignore-preflight-errors` names and refuses `all` mixed with names.
pub fn normalize_ignore_preflight(field: &str, names: &[String]) -> Result<Vec<String>, Error> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        let n = n.trim().to_ascii_lowercase();
        if !n.is_empty() && !out.contains(&n) {
            out.push(n);
        }
    }
    if out.iter().any(|n| n == "all") && out.len() > 1 {
        return Err(Error::invalid(field, out.join(","), "don't specify individual checks if 'all' is used"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert!(validate_token("abcdef.0123456789abcdef").is_ok());
        assert!(validate_token("ABCDEF.0123456789abcdef").is_err());
        assert!(validate_token("abcdef0123456789abcdef").is_err());
        for _ in 0..20 {
            let t = generate_token();
            validate_token(&t).unwrap();
        }
        assert_ne!(generate_token(), generate_token());
    }

    #[test]
    fn hashes_and_keys() {
        let hex64 = "0123456789abcdef".repeat(4);
        assert!(validate_ca_cert_hash(&format!("sha256:{hex64}")).is_ok());
        assert!(validate_ca_cert_hash(&hex64).is_err());
        assert!(validate_ca_cert_hash(&format!("md5:{hex64}")).is_err());
        assert!(validate_ca_cert_hash("sha256:abc").is_err());
        assert!(validate_certificate_key(&hex64).is_ok());
        assert!(validate_certificate_key(&hex64[1..]).is_err());
        assert!(validate_certificate_key(&format!("{}zz", &hex64[2..])).is_err());
    }

    #[test]
    fn endpoints_and_addresses() {
        assert_eq!(split_host_port("f", "lb.example.com:6443", false).unwrap(), ("lb.example.com".into(), Some(6443)));
        assert_eq!(split_host_port("f", "[fd00::1]:443", true).unwrap(), ("fd00::1".into(), Some(443)));
        assert_eq!(split_host_port("f", "10.0.0.1", false).unwrap().1, None);
        assert!(split_host_port("f", "lb.example.com:99999", false).is_err());
        assert!(split_host_port("f", "Bad_Host:6443", false).is_err());
        assert!(split_host_port("f", "lb.example.com", true).is_err());
        assert!(validate_advertise_address("f", "127.0.0.1").is_err());
        assert!(validate_advertise_address("f", "0.0.0.0").is_err());
        assert!(validate_advertise_address("f", "224.0.0.1").is_err());
        assert!(validate_advertise_address("f", "10.1.2.3").is_ok());
    }

    #[test]
    fn subnets() {
        assert!(validate_service_subnet("s", "10.96.0.0/12").is_ok());
        assert!(validate_service_subnet("s", "10.10.0.0/16,fd00::/108").is_ok());
        assert!(validate_service_subnet("s", "10.0.0.0/8").is_err());
        assert!(validate_service_subnet("s", "10.0.0.0/30").is_err());
        assert!(validate_service_subnet("s", "10.0.0.0/16,10.1.0.0/16").is_err());
        assert!(validate_pod_subnet("p", "10.96.0.0/16", "10.96.0.0/12").is_err());
        assert!(validate_pod_subnet("p", "10.244.0.0/16", "10.96.0.0/12").is_ok());
    }

    #[test]
    fn names_and_lists() {
        assert!(is_dns1123_subdomain("k8s.example.com"));
        assert!(!is_dns1123_subdomain("K8s.example.com"));
        assert!(is_wildcard_dns1123_subdomain("*.example.com"));
        assert!(validate_token_group("g", "system:bootstrappers:kubeadm:default-node-token").is_ok());
        assert!(validate_token_group("g", "system:masters").is_err());
        assert_eq!(normalize_ignore_preflight("f", &["Swap".into(), "NumCPU".into()]).unwrap(), ["swap", "numcpu"]);
        assert!(normalize_ignore_preflight("f", &["all".into(), "Swap".into()]).is_err());
        assert_eq!(parse_extra_args("f", "v=2,profiling=false").unwrap().len(), 2);
        assert!(parse_extra_args("f", "novalue").is_err());
        assert!(parse_feature_gates("f", "PublicKeysECDSA=true").unwrap()["PublicKeysECDSA"]);
        assert!(parse_feature_gates("f", "PublicKeysECDSA=maybe").is_err());
    }

    #[test]
    fn rejected_tokens_and_certificate_keys_are_not_echoed() {
        // one character off: uppercase in the secret; the secret must not reach the message
        let err = validate_token("abcdef.0123456789ABCDEF").unwrap_err().to_string();
        assert!(!err.contains("0123456789ABCDEF"), "{err}");
        assert!(err.contains("abcdef.<withheld>"), "{err}");
        let err = validate_token("0123456789abcdef").unwrap_err().to_string();
        assert!(!err.contains("0123456789abcdef"), "{err}");
        let key = "g".repeat(64);
        let err = validate_certificate_key(&key).unwrap_err().to_string();
        assert!(!err.contains(&key) && err.contains("64 characters withheld"), "{err}");
    }
}
