//! Kubeconfigs from the network: the cluster-info ConfigMap a joining node fetches without TLS verification
//! (signed here with the token, so the fuzzed kubeconfig gets past the signature into the parser), its second
//! fetch, and a `--discovery-file` kubeconfig.

#![no_main]

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use kbinit_phases::discovery::{file_discovery, same_cluster_info, verify_cluster_info};
use kbinit_phases::jws::sign_detached;
use libfuzzer_sys::fuzz_target;

const ID: &str = "abcdef";
const SECRET: &str = "0123456789abcdef";

fn cluster_info(kubeconfig: &str, jws: String) -> ConfigMap {
    let data =
        BTreeMap::from([("kubeconfig".to_string(), kubeconfig.to_string()), (format!("jws-kubeconfig-{ID}"), jws)]);
    ConfigMap { data: Some(data), ..ConfigMap::default() }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = file_discovery(&text);
    let signed = cluster_info(&text, sign_detached(text.as_bytes(), ID, SECRET));
    let token = format!("{ID}.{SECRET}");
    // unsafe-skip: the kubeconfig must still have one cluster with an embedded CA
    if let Ok(trusted) = verify_cluster_info(&signed, &token, &[], true) {
        let _ = same_cluster_info(&trusted, &signed);
    }
    // pinned: the CA's public key is hashed and compared
    let pin = format!("sha256:{}", "0".repeat(64));
    let _ = verify_cluster_info(&signed, &token, &[pin], false);
    // an unsigned or wrongly signed copy
    let _ = verify_cluster_info(&cluster_info(&text, text.to_string()), &token, &[], true);
});
