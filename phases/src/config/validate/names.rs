//! Names: DNS-1123 labels and subdomains (apimachinery's `IsDNS1123Label`, `IsDNS1123Subdomain`,
//! `IsWildcardDNS1123Subdomain`), certificate SANs (kubeadm's `ValidateCertSANs`), node names (kubelet's
//! `GetHostname` normalisation, then `IsDNS1123Subdomain`) and image repositories (kubeadm's
//! `ValidateImageRepository`: `<repository>/name:tag` must be a valid image reference).

use std::net::IpAddr;

use crate::Error;

/// One DNS-1123 label character run: lower-case alphanumerics and `-`, starting and ending alphanumeric.
fn is_label_shape(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A DNS-1123 label: lower-case alphanumerics and `-`, starting and ending alphanumeric, at most 63 characters.
pub fn is_dns1123_label(s: &str) -> bool {
    s.len() <= 63 && is_label_shape(s)
}

/// A DNS-1123 subdomain: dot-separated label shapes, at most 253 characters in all. Like apimachinery's regex,
/// a single part is not held to the 63-character label limit.
pub fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_label_shape)
}

/// `*.` followed by a DNS-1123 subdomain, at most 253 characters in all.
pub fn is_wildcard_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.strip_prefix("*.").is_some_and(is_dns1123_subdomain)
}

/// Certificate SANs: each an IP address, a DNS-1123 subdomain or a wildcard subdomain (`ValidateCertSANs`).
/// The caller lower-cases `apiServer.certSANs` first, as kubeadm's dynamic defaulting does; etcd SANs are checked as
/// given.
pub fn validate_cert_sans(field: &str, sans: &[String]) -> Result<(), Error> {
    for s in sans {
        if !(is_dns1123_subdomain(s) || is_wildcard_dns1123_subdomain(s) || s.parse::<IpAddr>().is_ok()) {
            return Err(Error::invalid(
                field,
                s,
                "altname is not a valid IP address, DNS label or a DNS label with subdomain wildcards",
            ));
        }
    }
    Ok(())
}

/// The node name as kubeadm resolves it: the given name (or the hostname) trimmed and lower-cased, then required to
/// be a DNS-1123 subdomain (`GetHostname`, then `ValidateNodeRegistrationOptions`).
pub fn normalize_node_name(field: &str, given: &str) -> Result<String, Error> {
    let name = given.trim().to_ascii_lowercase();
    if name.is_empty() {
        return Err(Error::invalid(field, given, "empty hostname is invalid"));
    }
    if !is_dns1123_subdomain(&name) {
        return Err(Error::invalid(
            field,
            &name,
            "the node name must be a DNS-1123 subdomain (lower-case alphanumerics, '-' and '.')",
        ));
    }
    Ok(name)
}

/// One registry host component: alphanumerics (any case) and `-`, starting and ending alphanumeric.
fn is_domain_component(c: &str) -> bool {
    !c.is_empty()
        && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !c.starts_with('-')
        && !c.ends_with('-')
}

/// A registry host: DNS components (any case) or a bracketed IPv6 address, with an optional numeric port.
fn is_registry_domain(s: &str) -> bool {
    let (host_ok, port) = if let Some(rest) = s.strip_prefix('[') {
        match rest.split_once(']') {
            Some((v6, after)) => (!v6.is_empty() && v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':'), after),
            None => return false,
        }
    } else {
        let (h, port) = s.find(':').map_or((s, ""), |i| (&s[..i], &s[i..]));
        (!h.is_empty() && h.split('.').all(is_domain_component), port)
    };
    let port_ok = port.is_empty()
        || port.strip_prefix(':').is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    host_ok && port_ok
}

/// One path component of an image name: `[a-z0-9]+` runs joined by `.`, `_`, `__` or any number of `-`.
fn is_path_component(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !b[0].is_ascii_lowercase() && !b[0].is_ascii_digit() {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_lowercase() || b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        // a separator, then an alphanumeric must follow
        let start = i;
        match b[i] {
            b'.' => i += 1,
            b'_' => i += if b.get(i + 1) == Some(&b'_') { 2 } else { 1 },
            b'-' => {
                while b.get(i) == Some(&b'-') {
                    i += 1;
                }
            }
            _ => return false,
        }
        if i == start || !b.get(i).is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
            return false;
        }
    }
    true
}

/// An image repository (`imageRepository`, `dns.imageRepository`, `etcd.local.imageRepository`): kubeadm appends
/// `/name:tag` and matches distribution's reference grammar, `[domain[:port]/]component(/component)*`.
pub fn validate_image_repository(field: &str, repo: &str) -> Result<(), Error> {
    let parts: Vec<&str> = repo.split('/').collect();
    let all_paths = |p: &[&str]| p.iter().all(|c| is_path_component(c));
    let ok = !repo.is_empty() && (all_paths(&parts) || (is_registry_domain(parts[0]) && all_paths(&parts[1..])));
    if ok { Ok(()) } else { Err(Error::invalid(field, repo, "invalid image repository format")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names() {
        assert!(is_dns1123_subdomain("k8s.example.com"));
        assert!(!is_dns1123_subdomain("K8s.example.com"));
        assert!(!is_dns1123_subdomain("a..b") && !is_dns1123_subdomain("-a") && !is_dns1123_subdomain(""));
        // apimachinery's subdomain regex does not cap one part at 63 characters, only the whole at 253
        assert!(is_dns1123_subdomain(&"a".repeat(64)));
        assert!(!is_dns1123_label(&"a".repeat(64)));
        assert!(!is_dns1123_subdomain(&format!("{}.b", "a".repeat(252))));
        assert!(is_wildcard_dns1123_subdomain("*.example.com"));
        assert!(!is_wildcard_dns1123_subdomain("*") && !is_wildcard_dns1123_subdomain("a.*.example.com"));
        assert!(!is_wildcard_dns1123_subdomain(&format!("*.{}", "a".repeat(252))));
    }

    #[test]
    fn sans_and_node_names() {
        let sans = |v: &[&str]| validate_cert_sans("s", &v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert!(sans(&["lb.example.com", "*.example.com", "10.0.0.1", "fd00::1"]).is_ok());
        assert!(sans(&["bad name!"]).is_err());
        assert!(sans(&["LB.example.com"]).is_err(), "checked as given: the caller lower-cases apiServer SANs");
        assert_eq!(normalize_node_name("n", " CP-1 ").unwrap(), "cp-1");
        assert!(normalize_node_name("n", "  ").unwrap_err().to_string().contains("empty hostname is invalid"));
        assert!(normalize_node_name("n", "bad_name").is_err());
    }

    #[test]
    fn image_repositories() {
        for ok in [
            "registry.k8s.io",
            "registry.k8s.io/coredns",
            "Registry.Example.com:5000/team/k8s",
            "localhost:5000",
            "10.0.0.1:5000/mirror",
            "[fd00::1]:5000/mirror",
            "docker.io/library",
            "my-registry/a__b/c.d/e---f",
        ] {
            assert!(validate_image_repository("r", ok).is_ok(), "{ok}");
        }
        for bad in ["", "registry.k8s.io/", "a//b", "registry/Team", "reg istry", "registry:port/x", "x/-y", "x/y_"] {
            assert!(validate_image_repository("r", bad).is_err(), "{bad}");
        }
    }
}
