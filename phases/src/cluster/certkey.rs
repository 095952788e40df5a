//! The certificate key of `upload-certs`: a 32-byte AES-256 key, shown to the operator as 64 hex characters, and the
//! AES-256-GCM sealing kubeadm uses for every value of the `kubeadm-certs` Secret (§I.1, §I.2, §Q.3).
//!
//! A sealed value is `nonce(12) ‖ ciphertext ‖ tag(16)` with a random nonce and no additional data, which is what
//! Go's `gcm.Seal(nonce, nonce, plaintext, nil)` produces, so kubeadm and kbinit read each other's Secrets.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use crate::Error;

/// Length of the GCM authentication tag appended to the ciphertext.
const TAG_LEN: usize = 16;

/// A certificate key: the AES-256 key that encrypts the `kubeadm-certs` Secret.
///
/// `Display` gives the 64 lower-case hex characters kubeadm prints; `Debug` never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct CertificateKey([u8; 32]);

impl CertificateKey {
    /// Parses 64 hex characters (either case), as `--certificate-key` and `certificateKey` take it.
    pub fn parse(text: &str) -> Result<CertificateKey, Error> {
        let text = text.trim();
        if text.len() != 64 {
            return Err(Error::invalid(
                "certificate-key",
                redacted_hint(text),
                format!("the certificate key must be 64 hex characters (32 bytes), got {} characters", text.len()),
            ));
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| {
            Error::invalid(
                "certificate-key",
                redacted_hint(text),
                "the certificate key may only hold hex digits 0-9 and a-f",
            )
        })?;
        Ok(CertificateKey(bytes))
    }

    /// A fresh random key (what `kbinit certs certificate-key` prints and `init --upload-certs` uses by default).
    pub fn generate() -> Result<CertificateKey, Error> {
        let mut bytes = [0u8; 32];
        aws_lc_rs::rand::fill(&mut bytes)
            .map_err(|_| Error::Crypto("cannot draw random bytes for a certificate key".into()))?;
        Ok(CertificateKey(bytes))
    }

    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> CertificateKey {
        CertificateKey(bytes)
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn aead(&self) -> Result<LessSafeKey, Error> {
        let unbound = UnboundKey::new(&AES_256_GCM, &self.0)
            .map_err(|_| Error::Crypto("cannot set up AES-256-GCM with the certificate key".into()))?;
        Ok(LessSafeKey::new(unbound))
    }
}

/// Only the length is echoed back in errors: a mistyped key is still a secret.
fn redacted_hint(text: &str) -> String {
    format!("<{} characters withheld>", text.len())
}

impl fmt::Display for CertificateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for CertificateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CertificateKey(<redacted>)")
    }
}

/// Encrypts `plaintext` with a random nonce: `nonce(12) ‖ ciphertext ‖ tag(16)`.
pub fn seal(key: &CertificateKey, plaintext: &[u8]) -> Result<Vec<u8>, Error> {
    let mut nonce = [0u8; NONCE_LEN];
    aws_lc_rs::rand::fill(&mut nonce).map_err(|_| Error::Crypto("cannot draw a random nonce".into()))?;
    seal_with_nonce(key, nonce, plaintext)
}

/// [`seal`] with a caller-chosen nonce, for reproducible test vectors. A nonce must never be reused with a key.
pub(crate) fn seal_with_nonce(
    key: &CertificateKey,
    nonce: [u8; NONCE_LEN],
    plaintext: &[u8],
) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
    out.extend_from_slice(&nonce);
    let mut body = plaintext.to_vec();
    key.aead()?
        .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut body)
        .map_err(|_| Error::Crypto("cannot encrypt with the certificate key".into()))?;
    out.extend_from_slice(&body);
    Ok(out)
}

/// Decrypts a value made by [`seal`] (or by kubeadm). Fails when the key is not the one the data was sealed with or
/// the data was changed.
pub fn open(key: &CertificateKey, blob: &[u8]) -> Result<Vec<u8>, Error> {
    if blob.len() < NONCE_LEN + TAG_LEN {
        return Err(Error::Crypto(format!(
            "error decoding secret data with provided key: the value is {} bytes, shorter than a nonce and a tag",
            blob.len()
        )));
    }
    let (nonce, sealed) = blob.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce)
        .map_err(|_| Error::Crypto("error decoding secret data with provided key: bad nonce".into()))?;
    let mut body = sealed.to_vec();
    let plain_len = key
        .aead()?
        .open_in_place(nonce, Aad::empty(), &mut body)
        .map_err(|_| {
            Error::Crypto(
                "error decoding secret data with provided key: the certificate key is wrong or the data was tampered \
                 with"
                    .into(),
            )
        })?
        .len();
    body.truncate(plain_len);
    Ok(body)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const STORED: &str = "oKGio6SlpqeoqaqryzVRAGiJR/grK6eDUjiMlzOMElXLmm9BsSMs8hrYAQv/W2rSgmcdeX/MUYpFM8DZDF4fZU/9N1NLOzB3p8RJrGllBU2plO+wTA==";
    const PLAIN: &[u8] = b"-----BEGIN PUBLIC KEY-----\ntest\n-----END PUBLIC KEY-----\n";

    fn nonce() -> [u8; 12] {
        core::array::from_fn(|i| 0xa0 + i as u8)
    }

    #[test]
    fn q3_vector_seals_and_opens() {
        let key = CertificateKey::parse(KEY).unwrap();
        let sealed = seal_with_nonce(&key, nonce(), PLAIN).unwrap();
        assert_eq!(sealed.len(), 85);
        assert_eq!(STANDARD.encode(&sealed), STORED);
        assert_eq!(open(&key, &STANDARD.decode(STORED).unwrap()).unwrap(), PLAIN);
    }

    #[test]
    fn random_seal_round_trips_with_fresh_nonces() {
        let key = CertificateKey::generate().unwrap();
        let a = seal(&key, PLAIN).unwrap();
        let b = seal(&key, PLAIN).unwrap();
        assert_ne!(a[..12], b[..12], "every seal draws a new nonce");
        assert_eq!(open(&key, &a).unwrap(), PLAIN);
        assert_eq!(open(&key, &b).unwrap(), PLAIN);
    }

    #[test]
    fn wrong_key_and_tampering_are_refused() {
        let key = CertificateKey::parse(KEY).unwrap();
        let blob = STANDARD.decode(STORED).unwrap();
        let other = CertificateKey::parse(&KEY.replace("1f", "1e")).unwrap();
        let e = open(&other, &blob).unwrap_err().to_string();
        assert!(e.contains("certificate key is wrong or the data was tampered with"), "{e}");
        for i in [0, 12, 40, blob.len() - 1] {
            let mut bad = blob.clone();
            bad[i] ^= 0x01;
            assert!(open(&key, &bad).is_err(), "flipping byte {i} must be detected");
        }
        assert!(open(&key, &blob[..20]).unwrap_err().to_string().contains("shorter"));
    }

    #[test]
    fn parse_accepts_either_case_and_prints_lower() {
        let k = CertificateKey::parse(&KEY.to_uppercase()).unwrap();
        assert_eq!(k.to_string(), KEY);
        assert_eq!(k.as_bytes()[31], 0x1f);
        assert_eq!(CertificateKey::from_bytes(*k.as_bytes()), k);
        assert_eq!(CertificateKey::generate().unwrap().to_string().len(), 64);
    }

    #[test]
    fn parse_errors_are_specific_and_do_not_echo_the_key() {
        let short = CertificateKey::parse(&KEY[..62]).unwrap_err().to_string();
        assert!(short.contains("64 hex characters") && short.contains("got 62"), "{short}");
        assert!(!short.contains(&KEY[..62]));
        let nonhex = CertificateKey::parse(&KEY.replace('0', "g")).unwrap_err().to_string();
        assert!(nonhex.contains("hex digits"), "{nonhex}");
        assert!(matches!(CertificateKey::parse(""), Err(Error::Invalid { .. })));
    }

    #[test]
    fn debug_is_redacted() {
        let k = CertificateKey::parse(KEY).unwrap();
        let d = format!("{k:?}");
        assert!(!d.contains("0001020304") && d.contains("redacted"), "{d}");
    }
}
