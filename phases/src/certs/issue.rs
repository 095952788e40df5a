//! Making certificates: self-signed CAs, leaves signed by a CA read back from its PEM files (so the issuer name
//! is the CA's subject byte for byte), subject alternative names, and chain verification of existing files.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rcgen::{CertificateParams, CustomExtension, DistinguishedName, DnType, IsCa, Issuer, KeyPair, SerialNumber};
use time::OffsetDateTime;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::Error;
use crate::config::{ClusterConfiguration, Etcd, NodeIdentity};

use super::ext::{self, KeyUsageBit};
use super::table::{Sans, Usage};

/// A certificate read from a PEM file: its DER (first `CERTIFICATE` block) and where it came from.
#[derive(Debug, Clone)]
pub(crate) struct LoadedCert {
    /// Node path it was read from.
    pub path: String,
    /// The PEM as on disk.
    pub pem: Vec<u8>,
    /// DER of the first certificate block.
    pub der: Vec<u8>,
}

impl LoadedCert {
    /// Parses the first `CERTIFICATE` block of `pem_bytes` (chain files: the first block is the leaf).
    pub fn parse(path: &str, pem_bytes: &[u8]) -> Result<LoadedCert, Error> {
        let bad = |why: String| Error::Crypto(format!("cannot load certificate {path:?}: {why}"));
        let blocks = pem::parse_many(pem_bytes).map_err(|e| bad(e.to_string()))?;
        let block =
            blocks.into_iter().find(|b| b.tag() == "CERTIFICATE").ok_or_else(|| bad("no CERTIFICATE block".into()))?;
        let der = block.into_contents();
        X509Certificate::from_der(&der).map_err(|e| bad(e.to_string()))?;
        Ok(LoadedCert { path: path.to_string(), pem: pem_bytes.to_vec(), der })
    }

    /// The parsed certificate (parsing was checked in [`LoadedCert::parse`]).
    pub fn x509(&self) -> Result<X509Certificate<'_>, Error> {
        X509Certificate::from_der(&self.der)
            .map(|(_, c)| c)
            .map_err(|e| Error::Crypto(format!("cannot load certificate {:?}: {e}", self.path)))
    }

    /// `true` when basic constraints say CA:TRUE.
    pub fn is_ca(&self) -> bool {
        self.x509().map(|c| c.is_ca()).unwrap_or(false)
    }

    /// NotBefore.
    pub fn not_before(&self) -> Result<OffsetDateTime, Error> {
        Ok(self.x509()?.validity().not_before.to_datetime())
    }
}

/// What a new certificate says about its subject and use.
#[derive(Debug, Clone)]
pub(crate) struct Subject<'a> {
    /// Common name.
    pub cn: &'a str,
    /// Organizations: at most one (rcgen keeps one value per attribute type; kubeadm's own certificates have
    /// at most one, and the callers refuse more).
    pub orgs: &'a [&'a str],
    /// DNS names (already de-duplicated and ordered).
    pub dns: Vec<String>,
    /// IP addresses (already de-duplicated and ordered).
    pub ips: Vec<IpAddr>,
    /// Extended key usages.
    pub usage: Usage,
}

/// A random serial in [1, 2^63−1), as Go's kubeadm draws them.
pub(crate) fn random_serial() -> Result<SerialNumber, Error> {
    loop {
        let mut b = [0u8; 8];
        aws_lc_rs::rand::fill(&mut b).map_err(|_| Error::Crypto("the system random generator failed".into()))?;
        let v = u64::from_be_bytes(b) & (u64::MAX >> 1);
        if v != 0 && v != u64::MAX >> 1 {
            return Ok(SerialNumber::from_slice(&v.to_be_bytes()));
        }
    }
}

pub(crate) fn distinguished_name(cn: &str, orgs: &[&str]) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    for o in orgs {
        dn.push(DnType::OrganizationName, *o);
    }
    dn.push(DnType::CommonName, cn);
    dn
}

/// Go's subject key identifier: SHA-1 of the subjectPublicKey bit string.
fn go_key_id(public_key_bits: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, public_key_bits).as_ref().to_vec()
}

/// The key id a leaf's AKI names: the CA's SKI, or Go's key id of its public key when it has none.
fn ca_key_id(ca: &X509Certificate<'_>) -> Vec<u8> {
    ca.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
            _ => None,
        })
        .unwrap_or_else(|| go_key_id(ca.public_key().subject_public_key.data.as_ref()))
}

/// Parameters with no field that rcgen would turn into an extension of its own (is_ca = NoCa, no key usages,
/// no SANs, no AKI): the extensions are all in `extensions`, written in that order.
fn bare_params(
    cn: &str,
    orgs: &[&str],
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    extensions: Vec<CustomExtension>,
) -> Result<CertificateParams, Error> {
    let mut p = CertificateParams::default();
    p.distinguished_name = distinguished_name(cn, orgs);
    p.not_before = not_before;
    p.not_after = not_after;
    p.serial_number = Some(random_serial()?);
    p.is_ca = IsCa::NoCa;
    p.key_usages = Vec::new();
    p.extended_key_usages = Vec::new();
    p.subject_alt_names = Vec::new();
    p.name_constraints = None;
    p.crl_distribution_points = Vec::new();
    p.use_authority_key_identifier_extension = false;
    p.custom_extensions = extensions;
    Ok(p)
}

/// A new self-signed CA (PEM) for `cn`: NotBefore = now − 5 min, NotAfter = now + `validity`, `DNS:<cn>`,
/// SKI = Go's key id; extensions in Go's order (see [`super::ext`]).
pub(crate) fn new_ca(
    cn: &str,
    key: &KeyPair,
    now: OffsetDateTime,
    validity: std::time::Duration,
) -> Result<String, Error> {
    // Go's order for a CA: KU, BC, SKI, SAN
    let mut extensions = vec![
        ext::key_usage(&[KeyUsageBit::DigitalSignature, KeyUsageBit::KeyEncipherment, KeyUsageBit::KeyCertSign]),
        ext::basic_constraints(true),
        ext::subject_key_id(&go_key_id(key.public_key_raw())),
    ];
    extensions.extend(ext::subject_alt_name(&[cn.to_string()], &[])?);
    let p = bare_params(cn, &[], now - time::Duration::minutes(5), now + validity, extensions)?;
    Ok(p.self_signed(key)?.pem())
}

/// Loads a CA's private key and checks it belongs to the CA certificate.
pub(crate) fn load_ca_key(ca: &LoadedCert, key_path: &str, key_pem: &[u8]) -> Result<KeyPair, Error> {
    let key = super::keys::load_private_key(key_pem, key_path)?;
    let cert = ca.x509()?;
    if cert.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
        return Err(Error::Conflict(format!(
            "private key {key_path:?} does not belong to the certificate {:?}",
            ca.path
        )));
    }
    Ok(key)
}

/// A leaf (PEM) for `subject` and `key`, signed by `ca`: NotBefore = the CA's NotBefore, NotAfter = now +
/// `validity`, CA:FALSE, AKI = the CA's SKI, no SKI; extensions in Go's order (see [`super::ext`]).
pub(crate) fn issue_leaf(
    ca: &LoadedCert,
    ca_key: &KeyPair,
    subject: &Subject<'_>,
    key: &KeyPair,
    now: OffsetDateTime,
    validity: std::time::Duration,
) -> Result<String, Error> {
    let purposes: &[&[u64]] = match subject.usage {
        Usage::None => &[],
        Usage::Server => &[ext::EKU_SERVER_AUTH],
        Usage::Client => &[ext::EKU_CLIENT_AUTH],
        Usage::ServerClient => &[ext::EKU_SERVER_AUTH, ext::EKU_CLIENT_AUTH],
    };
    // Go's order for a leaf: KU, EKU, BC, AKI, SAN (no SKI)
    let mut extensions = vec![ext::key_usage(&[KeyUsageBit::DigitalSignature, KeyUsageBit::KeyEncipherment])];
    extensions.extend(ext::extended_key_usage(purposes));
    extensions.push(ext::basic_constraints(false));
    extensions.push(ext::authority_key_id(&ca_key_id(&ca.x509()?)));
    extensions.extend(ext::subject_alt_name(&subject.dns, &subject.ips)?);
    let p = bare_params(subject.cn, subject.orgs, ca.not_before()?, now + validity, extensions)?;
    let issuer = Issuer::from_ca_cert_der(&ca.der.as_slice().into(), ca_key)
        .map_err(|e| Error::Crypto(format!("cannot sign with the CA {:?}: {e}", ca.path)))?;
    let cert = p.signed_by(key, &issuer)?;
    // Go builds chains by raw name bytes: refuse a CA whose subject rcgen cannot reproduce exactly
    let (_, leaf) = X509Certificate::from_der(cert.der())
        .map_err(|e| Error::Crypto(format!("cannot read back a new certificate: {e}")))?;
    if leaf.issuer().as_raw() != ca.x509()?.subject().as_raw() {
        return Err(Error::Crypto(format!(
            "cannot sign with the CA {:?}: its subject cannot be reproduced byte for byte (multi-valued or repeated attributes)",
            ca.path
        )));
    }
    Ok(cert.pem())
}

/// `true` when `leaf` names `ca` as issuer and its signature verifies with the CA's public key.
pub(crate) fn signed_by(leaf: &LoadedCert, ca: &LoadedCert) -> bool {
    use aws_lc_rs::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
    let (Ok(l), Ok(c)) = (leaf.x509(), ca.x509()) else {
        return false;
    };
    if l.issuer().as_raw() != c.subject().as_raw() {
        return false;
    }
    let algs: &[&'static dyn VerificationAlgorithm] = match l.signature_algorithm.algorithm.to_id_string().as_str() {
        "1.2.840.113549.1.1.11" => &[&sig::RSA_PKCS1_2048_8192_SHA256],
        "1.2.840.113549.1.1.12" => &[&sig::RSA_PKCS1_2048_8192_SHA384],
        "1.2.840.113549.1.1.13" => &[&sig::RSA_PKCS1_2048_8192_SHA512],
        "1.2.840.10045.4.3.2" => &[&sig::ECDSA_P256_SHA256_ASN1, &sig::ECDSA_P384_SHA256_ASN1],
        "1.2.840.10045.4.3.3" => &[&sig::ECDSA_P384_SHA384_ASN1, &sig::ECDSA_P256_SHA384_ASN1],
        _ => return false,
    };
    let public = c.public_key().subject_public_key.data.as_ref();
    let message = l.tbs_certificate.as_ref();
    let signature = l.signature_value.data.as_ref();
    algs.iter().any(|a| UnparsedPublicKey::new(*a, public).verify(message, signature).is_ok())
}

/// Splits `host`, `host:port`, `[v6]:port` or a bare IPv6 address into host and optional port.
pub(crate) fn split_host_port(endpoint: &str) -> (String, Option<String>) {
    if let Some(rest) = endpoint.strip_prefix('[')
        && let Some((host, tail)) = rest.split_once(']')
    {
        return (host.to_string(), tail.strip_prefix(':').map(str::to_string));
    }
    if endpoint.parse::<IpAddr>().is_ok() {
        return (endpoint.to_string(), None);
    }
    match endpoint.rsplit_once(':') {
        Some((h, p)) => (h.to_string(), Some(p.to_string())),
        None => (endpoint.to_string(), None),
    }
}

/// The first usable address of the first service CIDR (`10.96.0.0/12` → `10.96.0.1`).
pub(crate) fn service_ip(service_subnet: &str) -> Result<IpAddr, Error> {
    let first = service_subnet.split(',').next().unwrap_or("").trim();
    let net: ipnet::IpNet =
        first.parse().map_err(|_| Error::invalid("networking.serviceSubnet", service_subnet, "not a CIDR"))?;
    Ok(match net.network() {
        IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a).wrapping_add(1))),
        IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a).wrapping_add(1))),
    })
}

/// A DNS-1123 subdomain, optionally with a leading `*.` wildcard label.
fn is_dns_subdomain(name: &str) -> bool {
    let body = name.strip_prefix("*.").unwrap_or(name);
    !body.is_empty()
        && name.len() <= 253
        && body.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn push_ip(ips: &mut Vec<IpAddr>, ip: IpAddr) {
    if !ips.contains(&ip) {
        ips.push(ip);
    }
}

/// Adds user-given SANs: IPs as IPs, valid DNS subdomains as names, anything else dropped (as kubeadm does).
fn extra_sans(list: &[String], dns: &mut Vec<String>, ips: &mut Vec<IpAddr>) {
    for s in list {
        let s = s.trim().to_lowercase();
        if let Ok(ip) = s.parse::<IpAddr>() {
            push_ip(ips, ip);
        } else if is_dns_subdomain(&s) {
            dns.push(s);
        }
    }
}

/// DNS names (sorted, unique) and IPs (unique, first-seen order) for a SAN rule.
pub(crate) fn alt_names(
    rule: Sans,
    cn: &str,
    cluster: &ClusterConfiguration,
    node: &NodeIdentity,
) -> Result<(Vec<String>, Vec<IpAddr>), Error> {
    let mut dns: Vec<String> = Vec::new();
    let mut ips: Vec<IpAddr> = Vec::new();
    match rule {
        Sans::None => {}
        Sans::CaName => dns.push(cn.to_string()),
        Sans::ApiServer => {
            let domain = &cluster.networking.dns_domain;
            dns.push(node.name.clone());
            for d in ["kubernetes", "kubernetes.default", "kubernetes.default.svc"] {
                dns.push(d.to_string());
            }
            dns.push(format!("kubernetes.default.svc.{domain}"));
            push_ip(&mut ips, service_ip(&cluster.networking.service_subnet)?);
            push_ip(&mut ips, node.advertise_address);
            if !cluster.control_plane_endpoint.is_empty() {
                let (host, _) = split_host_port(&cluster.control_plane_endpoint);
                match host.parse::<IpAddr>() {
                    Ok(ip) => push_ip(&mut ips, ip),
                    Err(_) => dns.push(host),
                }
            }
            extra_sans(&cluster.api_server.cert_sans, &mut dns, &mut ips);
        }
        Sans::EtcdServer | Sans::EtcdPeer => {
            dns.push(node.name.clone());
            dns.push("localhost".into());
            push_ip(&mut ips, node.advertise_address);
            push_ip(&mut ips, IpAddr::V4(Ipv4Addr::LOCALHOST));
            push_ip(&mut ips, IpAddr::V6(Ipv6Addr::LOCALHOST));
            if let Etcd::Local(local) = &cluster.etcd {
                let list = if rule == Sans::EtcdServer { &local.server_cert_sans } else { &local.peer_cert_sans };
                extra_sans(list, &mut dns, &mut ips);
            }
        }
    }
    dns.sort();
    dns.dedup();
    Ok((dns, ips))
}
