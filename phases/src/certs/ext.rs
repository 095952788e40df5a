//! The X.509 extensions kbinit writes, DER-encoded by hand and in the order Go's crypto/x509 (and so kubeadm)
//! writes them:
//!
//! - CA: Key Usage (critical), Basic Constraints (critical, CA:TRUE), Subject Key Identifier,
//!   Subject Alternative Name.
//! - leaf: Key Usage (critical), Extended Key Usage (if any), Basic Constraints (critical, CA:FALSE),
//!   Authority Key Identifier, Subject Alternative Name (if any).
//!
//! rcgen writes its own extensions in another order, so every field it would turn into an extension is left
//! empty and these are handed to it as [`CustomExtension`]s, which it writes as given and in the given order.

use std::net::IpAddr;

use rcgen::CustomExtension;

use crate::Error;

const OID_KEY_USAGE: &[u64] = &[2, 5, 29, 15];
const OID_EXT_KEY_USAGE: &[u64] = &[2, 5, 29, 37];
const OID_BASIC_CONSTRAINTS: &[u64] = &[2, 5, 29, 19];
const OID_SUBJECT_KEY_ID: &[u64] = &[2, 5, 29, 14];
const OID_AUTHORITY_KEY_ID: &[u64] = &[2, 5, 29, 35];
const OID_SUBJECT_ALT_NAME: &[u64] = &[2, 5, 29, 17];

/// serverAuth (1.3.6.1.5.5.7.3.1).
pub(crate) const EKU_SERVER_AUTH: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 3, 1];
/// clientAuth (1.3.6.1.5.5.7.3.2).
pub(crate) const EKU_CLIENT_AUTH: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 3, 2];

/// KeyUsage bit numbers (RFC 5280 §4.2.1.3) that kbinit uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyUsageBit {
    /// digitalSignature (0).
    DigitalSignature = 0,
    /// keyEncipherment (2).
    KeyEncipherment = 2,
    /// keyCertSign (5).
    KeyCertSign = 5,
}

/// DER tag-length-value.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let be = n.to_be_bytes();
        let skip = be.iter().take_while(|b| **b == 0).count();
        let len = &be[skip..];
        out.push(0x80 | len.len() as u8);
        out.extend_from_slice(len);
    }
    out.extend_from_slice(content);
    out
}

/// DER OBJECT IDENTIFIER of `arcs` (at least two arcs, first ≤ 2).
fn oid(arcs: &[u64]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut push_arc = |mut v: u64| {
        let mut chunk = vec![(v & 0x7f) as u8];
        v >>= 7;
        while v > 0 {
            chunk.push(0x80 | (v & 0x7f) as u8);
            v >>= 7;
        }
        chunk.reverse();
        body.extend(chunk);
    };
    match arcs {
        [a, b, rest @ ..] => {
            push_arc(a * 40 + b);
            rest.iter().copied().for_each(push_arc);
        }
        [a] => push_arc(a * 40),
        [] => {}
    }
    tlv(0x06, &body)
}

fn extension(oid: &[u64], critical: bool, content: Vec<u8>) -> CustomExtension {
    let mut ext = CustomExtension::from_oid_content(oid, content);
    ext.set_criticality(critical);
    ext
}

/// Key Usage (critical): a BIT STRING without trailing zero bits, as Go and rcgen encode it.
pub(crate) fn key_usage(bits: &[KeyUsageBit]) -> CustomExtension {
    let mask = bits.iter().fold(0u16, |m, b| m | (0x8000u16 >> (*b as u16)));
    let bytes = mask.to_be_bytes();
    let used = if bytes[1] == 0 { &bytes[..1] } else { &bytes[..] };
    let unused = used.last().map_or(0, |b| if *b == 0 { 0 } else { b.trailing_zeros() as u8 });
    let mut content = vec![unused];
    content.extend_from_slice(used);
    extension(OID_KEY_USAGE, true, tlv(0x03, &content))
}

/// Extended Key Usage (not critical): SEQUENCE OF KeyPurposeId; `None` without purposes.
pub(crate) fn extended_key_usage(purposes: &[&[u64]]) -> Option<CustomExtension> {
    if purposes.is_empty() {
        return None;
    }
    let body: Vec<u8> = purposes.iter().flat_map(|p| oid(p)).collect();
    Some(extension(OID_EXT_KEY_USAGE, false, tlv(0x30, &body)))
}

/// Basic Constraints (critical): `SEQUENCE { cA TRUE }` for a CA (no path length), an empty SEQUENCE (cA
/// defaults to FALSE) otherwise.
pub(crate) fn basic_constraints(ca: bool) -> CustomExtension {
    let body: &[u8] = if ca { &[0x01, 0x01, 0xff] } else { &[] };
    extension(OID_BASIC_CONSTRAINTS, true, tlv(0x30, body))
}

/// Subject Key Identifier (not critical): OCTET STRING `key_id`.
pub(crate) fn subject_key_id(key_id: &[u8]) -> CustomExtension {
    extension(OID_SUBJECT_KEY_ID, false, tlv(0x04, key_id))
}

/// Authority Key Identifier (not critical): `SEQUENCE { [0] keyIdentifier }`.
pub(crate) fn authority_key_id(key_id: &[u8]) -> CustomExtension {
    extension(OID_AUTHORITY_KEY_ID, false, tlv(0x30, &tlv(0x80, key_id)))
}

/// Subject Alternative Name: `[2] dNSName` entries then `[7] iPAddress` entries; `None` when both are empty.
/// Not critical: kbinit's subjects always carry a common name (RFC 5280 §4.2.1.6 asks for critical only with an
/// empty subject). DNS names must be ASCII (IA5String).
pub(crate) fn subject_alt_name(dns: &[String], ips: &[IpAddr]) -> Result<Option<CustomExtension>, Error> {
    if dns.is_empty() && ips.is_empty() {
        return Ok(None);
    }
    let mut body = Vec::new();
    for d in dns {
        if !d.is_ascii() {
            return Err(Error::invalid("certSANs", d.as_str(), "not a valid DNS name"));
        }
        body.extend(tlv(0x82, d.as_bytes()));
    }
    for ip in ips {
        match ip {
            IpAddr::V4(a) => body.extend(tlv(0x87, &a.octets())),
            IpAddr::V6(a) => body.extend(tlv(0x87, &a.octets())),
        }
    }
    Ok(Some(extension(OID_SUBJECT_ALT_NAME, false, tlv(0x30, &body))))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn encodings_match_go() {
        use KeyUsageBit::*;
        let ku = key_usage(&[DigitalSignature, KeyEncipherment, KeyCertSign]);
        assert!(ku.criticality());
        assert_eq!(ku.content(), [0x03, 0x02, 0x02, 0xa4]);
        assert_eq!(key_usage(&[DigitalSignature, KeyEncipherment]).content(), [0x03, 0x02, 0x05, 0xa0]);
        let eku = extended_key_usage(&[EKU_SERVER_AUTH, EKU_CLIENT_AUTH]).unwrap();
        assert_eq!(
            eku.content(),
            [
                0x30, 0x14, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01, 0x06, 0x08, 0x2b, 0x06, 0x01,
                0x05, 0x05, 0x07, 0x03, 0x02
            ]
        );
        assert!(!eku.criticality());
        assert!(extended_key_usage(&[]).is_none());
        assert_eq!(basic_constraints(true).content(), [0x30, 0x03, 0x01, 0x01, 0xff]);
        assert_eq!(basic_constraints(false).content(), [0x30, 0x00]);
        assert_eq!(subject_key_id(&[1, 2]).content(), [0x04, 0x02, 1, 2]);
        assert_eq!(authority_key_id(&[1, 2]).content(), [0x30, 0x04, 0x80, 0x02, 1, 2]);
        let san = subject_alt_name(
            &["a.b".to_string()],
            &[IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), IpAddr::V6(Ipv6Addr::LOCALHOST)],
        )
        .unwrap()
        .unwrap();
        let mut want = vec![0x30, 29, 0x82, 3, b'a', b'.', b'b', 0x87, 4, 10, 0, 0, 1, 0x87, 16];
        want.extend([0u8; 15]);
        want.push(1);
        assert_eq!(san.content(), want.as_slice());
        assert!(subject_alt_name(&[], &[]).unwrap().is_none());
        assert!(subject_alt_name(&["ü".to_string()], &[]).is_err());
    }

    #[test]
    fn long_lengths() {
        let long = vec![0u8; 300];
        let enc = tlv(0x04, &long);
        assert_eq!(&enc[..4], [0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(enc.len(), 304);
        assert_eq!(tlv(0x04, &[0u8; 200])[..3], [0x04, 0x81, 200]);
    }
}
