//! Bootstrap tokens, CA public-key pins and certificate keys, checked as kubeadm's `ValidateToken`,
//! `ValidateTokenUsages`, `ValidateTokenGroups` and `ValidateCertificateKey` check them (token regex
//! `[a-z0-9]{6}\.[a-z0-9]{16}`, usages `signing`/`authentication`, groups `system:bootstrappers:…`, a 32-byte hex key),
//! plus kubeadm's `sha256:<hex>` pin format and random token generation. Rejected secrets are never echoed.

use crate::Error;

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

/// Token usages: each one `signing` or `authentication` (bootstraputil's `ValidateUsages`).
pub fn validate_token_usages(field: &str, usages: &[String]) -> Result<(), Error> {
    match usages.iter().find(|u| !matches!(u.as_str(), "signing" | "authentication")) {
        None => Ok(()),
        Some(u) => Err(Error::invalid(
            field,
            u,
            format!("invalid bootstrap token usage string: {u}, valid usage options: signing, authentication"),
        )),
    }
}

/// Groups given for a token need the `authentication` usage (kubeadm's `ValidateTokenGroups`).
pub fn validate_token_groups(field: &str, usages: &[String], groups: &[String]) -> Result<(), Error> {
    for g in groups {
        validate_token_group(field, g)?;
    }
    if !groups.is_empty() && !usages.iter().any(|u| u == "authentication") {
        return Err(Error::invalid(
            field,
            groups.join(","),
            "token groups cannot be specified unless --usages includes \"authentication\"",
        ));
    }
    Ok(())
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
