//! Private keys: where fresh ones come from ([`KeySource`], [`OnDemandKeys`], [`KeyPool`]), and how they are
//! written and read in kubeadm's PEM encodings.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, mpsc};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair};
use rcgen::{KeyPair, RsaKeySize, SignatureAlgorithm};

use crate::Error;
use crate::config::KeyAlgorithm;

/// Where fresh private keys come from. Implemented by [`KeyPool`] (pre-generates keys on background threads) and
/// by the simple on-demand generator [`OnDemandKeys`].
pub trait KeySource: Sync {
    /// A fresh, never handed out before, private key of `alg`.
    fn key(&self, alg: KeyAlgorithm) -> Result<KeyPair, Error>;
}

/// Generates every key when it is asked for.
#[derive(Debug, Default, Clone, Copy)]
pub struct OnDemandKeys;

impl KeySource for OnDemandKeys {
    fn key(&self, alg: KeyAlgorithm) -> Result<KeyPair, Error> {
        generate_key(alg)
    }
}

/// The rcgen signature algorithm kbinit signs with for keys of `alg` (SHA-256, SHA-384 for P-384).
pub(crate) fn signature_algorithm(alg: KeyAlgorithm) -> &'static SignatureAlgorithm {
    match alg {
        KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096 => &rcgen::PKCS_RSA_SHA256,
        KeyAlgorithm::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        KeyAlgorithm::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
    }
}

/// Generates one key of `alg` now (RSA-2048 takes tens of milliseconds, RSA-4096 up to a second).
pub fn generate_key(alg: KeyAlgorithm) -> Result<KeyPair, Error> {
    let sig = signature_algorithm(alg);
    let made = match alg {
        KeyAlgorithm::Rsa2048 => KeyPair::generate_rsa_for(sig, RsaKeySize::_2048),
        KeyAlgorithm::Rsa3072 => KeyPair::generate_rsa_for(sig, RsaKeySize::_3072),
        KeyAlgorithm::Rsa4096 => KeyPair::generate_rsa_for(sig, RsaKeySize::_4096),
        KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384 => KeyPair::generate_for(sig),
    };
    made.map_err(|e| Error::Crypto(format!("cannot generate a {} key: {e}", alg.as_str())))
}

/// Generates `count` keys of one algorithm in parallel on background threads (one per core, as reported by
/// [`std::thread::available_parallelism`]) and hands them out as they become ready. When it runs out, or is
/// asked for another algorithm, it generates on demand.
pub struct KeyPool {
    alg: KeyAlgorithm,
    ready: Mutex<mpsc::Receiver<Result<KeyPair, Error>>>,
}

impl std::fmt::Debug for KeyPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPool").field("alg", &self.alg).finish_non_exhaustive()
    }
}

impl KeyPool {
    /// Starts generating `count` keys of `alg` in the background and returns at once.
    pub fn prefetch(alg: KeyAlgorithm, count: usize) -> KeyPool {
        let (tx, rx) = mpsc::channel();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(count.max(1));
        let left = std::sync::Arc::new(AtomicUsize::new(count));
        for _ in 0..threads {
            let tx = tx.clone();
            let left = left.clone();
            // a thread that cannot start just means fewer workers; on-demand generation covers the rest
            let _ = std::thread::Builder::new().name("kbinit-keygen".into()).spawn(move || {
                while left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
                    if tx.send(generate_key(alg)).is_err() {
                        break; // the pool was dropped
                    }
                }
            });
        }
        KeyPool { alg, ready: Mutex::new(rx) }
    }
}

impl KeySource for KeyPool {
    fn key(&self, alg: KeyAlgorithm) -> Result<KeyPair, Error> {
        if alg == self.alg
            && let Ok(rx) = self.ready.lock()
            && let Ok(key) = rx.recv()
        {
            return key;
        }
        generate_key(alg)
    }
}

fn pem_lf(tag: &str, der: &[u8]) -> String {
    pem::encode_config(&pem::Pem::new(tag, der), pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF))
}

const OID_RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";

/// Private key PEM in kubeadm's encoding: RSA → `RSA PRIVATE KEY` (PKCS#1), ECDSA → `EC PRIVATE KEY` (SEC1 with
/// the curve OID).
pub fn private_key_pem(key: &KeyPair) -> Result<String, Error> {
    let der = key.serialized_der();
    let is_rsa = key.algorithm() == &rcgen::PKCS_RSA_SHA256
        || key.algorithm() == &rcgen::PKCS_RSA_SHA384
        || key.algorithm() == &rcgen::PKCS_RSA_SHA512;
    let bad = |e: String| Error::Crypto(format!("cannot encode a private key: {e}"));
    match pkcs8::PrivateKeyInfoRef::try_from(der) {
        Ok(info) => {
            if info.algorithm.oid.to_string() == OID_RSA_ENCRYPTION {
                Ok(pem_lf("RSA PRIVATE KEY", info.private_key.as_bytes()))
            } else {
                let curve = if key.algorithm() == &rcgen::PKCS_ECDSA_P384_SHA384 {
                    &ECDSA_P384_SHA384_ASN1_SIGNING
                } else {
                    &ECDSA_P256_SHA256_ASN1_SIGNING
                };
                let kp = EcdsaKeyPair::from_pkcs8(curve, der).map_err(|e| bad(e.to_string()))?;
                let sec1 = kp.private_key().as_der().map_err(|e| bad(e.to_string()))?;
                Ok(pem_lf("EC PRIVATE KEY", sec1.as_ref()))
            }
        }
        // a key loaded from PKCS#1 or SEC1 keeps that DER: write it back under its own label
        Err(_) if is_rsa => Ok(pem_lf("RSA PRIVATE KEY", der)),
        Err(_) => Ok(pem_lf("EC PRIVATE KEY", der)),
    }
}

/// Reads a private key PEM in any of the encodings kubeadm accepts (PKCS#1, PKCS#8, SEC1; RSA or ECDSA).
pub(crate) fn load_private_key(pem_bytes: &[u8], path: &str) -> Result<KeyPair, Error> {
    let text =
        std::str::from_utf8(pem_bytes).map_err(|_| Error::Crypto(format!("private key {path:?} is not a PEM file")))?;
    KeyPair::from_pem(text)
        .map_err(|e| Error::Crypto(format!("private key {path:?} is neither in RSA nor ECDSA format: {e}")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pem_labels_follow_kubeadm() {
        let ec = generate_key(KeyAlgorithm::EcdsaP256).unwrap();
        let pem = private_key_pem(&ec).unwrap();
        assert!(pem.starts_with("-----BEGIN EC PRIVATE KEY-----\n"), "{pem}");
        // SEC1 carries the namedCurve OID 1.2.840.10045.3.1.7 ([0] tag a0 0a 06 08 ...)
        let der = pem::parse(&pem).unwrap().into_contents();
        let oid = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
        assert!(der.windows(oid.len()).any(|w| w == oid));
        // and reads back to the same public key
        let back = load_private_key(pem.as_bytes(), "k").unwrap();
        assert_eq!(back.public_key_raw(), ec.public_key_raw());
        assert!(private_key_pem(&back).unwrap() == pem);

        let rsa = generate_key(KeyAlgorithm::Rsa2048).unwrap();
        let pem = private_key_pem(&rsa).unwrap();
        assert!(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
        let back = load_private_key(pem.as_bytes(), "k").unwrap();
        assert_eq!(back.public_key_raw(), rsa.public_key_raw());
        assert_eq!(private_key_pem(&back).unwrap(), pem);
    }

    #[test]
    fn p384_and_rsa3072_sizes() {
        let p384 = generate_key(KeyAlgorithm::EcdsaP384).unwrap();
        assert_eq!(p384.public_key_raw().len(), 97); // uncompressed point: 1 + 2 * 48
        assert!(private_key_pem(&p384).unwrap().starts_with("-----BEGIN EC PRIVATE KEY-----"));
        let rsa = generate_key(KeyAlgorithm::Rsa3072).unwrap();
        let spki = rcgen::PublicKeyData::subject_public_key_info(&rsa);
        use x509_parser::prelude::FromDer;
        let (_, parsed) = x509_parser::x509::SubjectPublicKeyInfo::from_der(&spki).unwrap();
        match parsed.parsed().unwrap() {
            x509_parser::public_key::PublicKey::RSA(k) => assert_eq!(k.key_size(), 3072),
            other => panic!("not RSA: {other:?}"),
        }
    }

    #[test]
    fn key_pool_hands_out_distinct_valid_keys() {
        let pool = KeyPool::prefetch(KeyAlgorithm::EcdsaP256, 5);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..7 {
            // 5 from the pool, 2 on demand
            let k = pool.key(KeyAlgorithm::EcdsaP256).unwrap();
            assert_eq!(k.algorithm(), &rcgen::PKCS_ECDSA_P256_SHA256);
            assert!(seen.insert(k.public_key_raw().to_vec()), "a key was handed out twice");
        }
        // another algorithm is generated on demand
        let k = pool.key(KeyAlgorithm::EcdsaP384).unwrap();
        assert_eq!(k.algorithm(), &rcgen::PKCS_ECDSA_P384_SHA384);
    }
}
