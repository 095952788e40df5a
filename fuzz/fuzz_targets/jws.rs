//! Detached JWS strings from cluster-info (`jws-kubeconfig-<id>`): the input's NUL-separated fields are the
//! content, the JWS, the token id and the token secret.

#![no_main]

use kbinit_phases::jws::verify_detached;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut fields = data.splitn(4, |b| *b == 0).map(String::from_utf8_lossy);
    let content = fields.next().unwrap_or_default();
    let jws = fields.next().unwrap_or_default();
    let id = fields.next().unwrap_or_else(|| "abcdef".into());
    let secret = fields.next().unwrap_or_else(|| "0123456789abcdef".into());
    let _ = verify_detached(content.as_bytes(), &jws, &id, &secret);
    let _ = verify_detached(content.as_bytes(), &jws, "abcdef", "0123456789abcdef");
});
