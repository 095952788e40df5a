//! Bootstrap tokens: `--token`/`--discovery-token` text, and a bootstrap-token Secret read back from the cluster
//! (the input's NUL-separated fields become its name and data values).

#![no_main]

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kbinit_phases::cluster::token::{Token, TokenInfo};
use kbinit_phases::config::validate::validate_token;
use kbinit_phases::discovery::split_token;
use libfuzzer_sys::fuzz_target;

const KEYS: [&str; 7] = [
    "token-id",
    "token-secret",
    "expiration",
    "usage-bootstrap-authentication",
    "usage-bootstrap-signing",
    "auth-extra-groups",
    "description",
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = Token::parse(&text);
    let _ = validate_token(&text);
    let _ = split_token(&text);
    let mut fields = data.split(|b| *b == 0);
    let name = fields.next().map(|n| String::from_utf8_lossy(n).into_owned());
    let data: BTreeMap<String, ByteString> =
        KEYS.iter().zip(fields).map(|(k, v)| (k.to_string(), ByteString(v.to_vec()))).collect();
    let secret =
        Secret { metadata: ObjectMeta { name, ..ObjectMeta::default() }, data: Some(data), ..Secret::default() };
    let _ = TokenInfo::from_secret(&secret);
});
