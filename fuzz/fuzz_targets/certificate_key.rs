//! `--certificate-key` text, and opening an arbitrary sealed blob with a key (what a tampered or truncated
//! kubeadm-certs value looks like).

#![no_main]

use kbinit_phases::cluster::certkey::{CertificateKey, open};
use kbinit_phases::config::validate::validate_certificate_key;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = CertificateKey::parse(&text);
    let _ = validate_certificate_key(&text);
    let _ = open(&CertificateKey::from_bytes([7; 32]), data);
});
