//! `--discovery-token-ca-cert-hash` pins (`sha256:<hex>`), as flags and as config values.

#![no_main]

use kbinit_phases::config::validate::{validate_ca_cert_hash, validate_ca_cert_hash_field};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = validate_ca_cert_hash(&text);
    let _ = validate_ca_cert_hash_field("discovery.bootstrapToken.caCertHashes", &text);
});
