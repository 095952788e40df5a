//! The kubeadm-certs Secret a joining control-plane node downloads: the input's NUL-separated fields become the
//! values of the files the cluster transfers. The first byte picks, per field, whether it is sealed with the
//! key (so its plaintext reaches the certificate/key sniffing) or left as a raw, undecryptable blob.

#![no_main]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kbinit_phases::cluster::certkey::{CertificateKey, seal};
use kbinit_phases::cluster::upload_certs::{certs_to_transfer, decode_certs_secret};
use kbinit_phases::config::{ClusterConfiguration, HostFacts, InitFlags, load_init};
use libfuzzer_sys::fuzz_target;

fn cluster() -> Option<&'static ClusterConfiguration> {
    static CLUSTER: OnceLock<Option<ClusterConfiguration>> = OnceLock::new();
    CLUSTER
        .get_or_init(|| {
            let facts = HostFacts {
                hostname: "cp1".into(),
                default_address: Some([192, 0, 2, 10].into()),
                ..HostFacts::default()
            };
            load_init(None, &InitFlags::default(), &facts).ok().map(|l| l.config.cluster)
        })
        .as_ref()
}

fuzz_target!(|data: &[u8]| {
    let Some(cluster) = cluster() else { return };
    let key = CertificateKey::from_bytes([7; 32]);
    let (mask, rest) = data.split_first().map_or((0, data), |(m, r)| (*m, r));
    let names = certs_to_transfer(cluster);
    let mut values = BTreeMap::new();
    let mut fields = rest.split(|b| *b == 0);
    for (i, (name, _)) in names.iter().enumerate() {
        // every file present (a missing one is a plain error); fields past the input's end are empty
        let field = fields.next().unwrap_or_default();
        let sealed = mask & (1 << (i % 8)) != 0;
        let value = if sealed { seal(&key, field).unwrap_or_default() } else { field.to_vec() };
        values.insert(name.clone(), ByteString(value));
    }
    let secret = Secret { data: Some(values), ..Secret::default() };
    let _ = decode_certs_secret(&secret, &key, cluster);
});
