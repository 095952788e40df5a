//! The external etcd checks: `ExternalEtcdClientCertificates` (files under `--root`) and `ExternalEtcdVersion`
//! (every endpoint asked for its version).

use kbinit_phases::config::ExternalEtcd;

use super::finding::{Finding, error};
use crate::host::Host;

/// `ExternalEtcdClientCertificates`: the external etcd's CA, certificate and key files exist on the node.
pub fn external_etcd_certs(host: &Host, ext: &ExternalEtcd) -> Vec<Finding> {
    [("ca", &ext.ca_file), ("cert", &ext.cert_file), ("key", &ext.key_file)]
        .into_iter()
        .filter(|(_, p)| !p.is_empty() && !host.path(p).exists())
        .map(|(_, p)| error("ExternalEtcdClientCertificates", format!("{p} doesn't exist")))
        .collect()
}

/// The oldest external etcd kubeadm 1.28 accepts.
const MIN_EXTERNAL_ETCD: (u64, u64, u64) = (3, 4, 13);

fn triple(v: &str) -> Option<(u64, u64, u64)> {
    let mut it = v.trim_start_matches('v').split(['.', '-']).map(|p| p.parse::<u64>().ok());
    Some((it.next()??, it.next()??, it.next()??))
}

/// `ExternalEtcdVersion`: every external etcd endpoint answers and runs 3.4.13 or newer.
pub fn external_etcd_version(host: &Host, ext: &ExternalEtcd) -> Vec<Finding> {
    let name = "ExternalEtcdVersion";
    if ext.ca_file.is_empty() || ext.cert_file.is_empty() {
        return Vec::new(); // plain-HTTP etcd: not checked here
    }
    let read = |p: &str| host.read(p);
    let (Ok(ca), Ok(cert), Ok(key)) = (read(&ext.ca_file), read(&ext.cert_file), read(&ext.key_file)) else {
        return vec![error(
            name,
            "cannot read the external etcd client certificates (see ExternalEtcdClientCertificates)",
        )];
    };
    let tls = crate::etcd::EtcdTls { ca_pem: ca, cert_pem: cert, key_pem: key };
    let client = match crate::etcd::EtcdClient::connect(&ext.endpoints, &tls, std::time::Duration::from_secs(10)) {
        Ok(c) => c,
        Err(e) => return vec![error(name, format!("{e:#}"))],
    };
    let mut out = Vec::new();
    for ep in &ext.endpoints {
        match client.status(ep) {
            Ok(s) => {
                if triple(&s.version).is_some_and(|v| v < MIN_EXTERNAL_ETCD) {
                    out.push(error(
                        name,
                        format!("this version of kubeadm only supports external etcd version >= 3.4.13-4. Current version: {}", s.version),
                    ));
                }
            }
            Err(e) => out.push(error(name, format!("failed to get etcd version of {ep}: {e:#}"))),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etcd_versions_compare_as_numbers() {
        assert!(triple("3.4.9").unwrap() < MIN_EXTERNAL_ETCD);
        assert!(triple("3.5.12-0").unwrap() >= MIN_EXTERNAL_ETCD);
        assert_eq!(triple("nope"), None);
    }
}
