//! Files an earlier run left in the certificate directory, held against what this configuration would issue:
//! a re-run reuses what fits (kubeadm's rule, §B.5) and this module names what does not, by path, with the fix.
//!
//! kubeadm checks less on reuse (a leaf only has to chain to its CA); kbinit also checks the common name, that
//! every SAN the configuration asks for is present, and that the key belongs to the certificate, so a file
//! from another node name, another endpoint or another CA is refused before anything is written.

use std::net::IpAddr;

use x509_parser::extensions::{GeneralName, ParsedExtension};

use super::issue::{self, LoadedCert};
use super::table::{Kind, TABLE};
use super::{PkiContext, common_name, crt_path, external_etcd, key_path, keys, load_cert};
use crate::paths;
use crate::plan::NodeView;

/// A file on the node that kbinit would reuse but that does not fit the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unusable {
    /// The node path.
    pub path: String,
    /// What is wrong with it.
    pub why: String,
    /// What the operator can do about it.
    pub fix: String,
}

fn fix_pair(crt: &str, key: &str) -> String {
    format!("delete {crt} and {key} (kbinit issues new ones from the CA), or run kbinit reset")
}

/// The SANs of a certificate: DNS names and IP addresses.
fn sans(cert: &LoadedCert) -> (Vec<String>, Vec<IpAddr>) {
    let (mut dns, mut ips) = (Vec::new(), Vec::new());
    let Ok(x) = cert.x509() else { return (dns, ips) };
    for e in x.extensions() {
        if let ParsedExtension::SubjectAlternativeName(san) = e.parsed_extension() {
            for n in &san.general_names {
                match n {
                    GeneralName::DNSName(d) => dns.push(d.to_string()),
                    GeneralName::IPAddress(b) => match b.len() {
                        4 => ips.push(IpAddr::from(<[u8; 4]>::try_from(*b).unwrap_or_default())),
                        16 => ips.push(IpAddr::from(<[u8; 16]>::try_from(*b).unwrap_or_default())),
                        _ => {}
                    },
                    _ => {}
                }
            }
        }
    }
    (dns, ips)
}

fn cn_of(cert: &LoadedCert) -> String {
    cert.x509()
        .ok()
        .and_then(|x| x.subject().iter_common_name().next().and_then(|c| c.as_str().ok()).map(str::to_string))
        .unwrap_or_default()
}

/// Every existing file of the certificate directory that this configuration cannot reuse: unreadable files,
/// CAs that are not CAs, leaves not signed by their CA, another common name, a SAN missing, a key that does not
/// belong to its certificate. Files that do not exist are not reported (they will be created).
pub fn check_existing(ctx: &PkiContext, view: &dyn NodeView) -> Vec<Unusable> {
    let mut out = Vec::new();
    for spec in TABLE.iter().filter(|s| !(s.etcd && external_etcd(ctx.cluster))) {
        let (crt, key) = (crt_path(ctx.cluster, spec.base), key_path(ctx.cluster, spec.base));
        let mut bad = |path: &str, why: String, fix: String| out.push(Unusable { path: path.into(), why, fix });
        if spec.kind == Kind::Sa {
            let sa = paths::join(&ctx.cluster.certificates_dir, "sa.key");
            if view.exists(&sa) && view.read(&sa).is_none_or(|k| keys::load_private_key(&k, &sa).is_err()) {
                let public = paths::join(&ctx.cluster.certificates_dir, "sa.pub");
                bad(
                    &sa,
                    "it is not a private key kbinit can load".into(),
                    format!("delete {sa} and {public}, or run kbinit reset"),
                );
            }
            continue;
        }
        let cert = match load_cert(view, &crt) {
            Ok(Some(c)) => c,
            Ok(None) => continue,
            Err(e) => {
                bad(&crt, e.to_string(), fix_pair(&crt, &key));
                continue;
            }
        };
        if let Some(k) = view.read(&key)
            && issue::load_ca_key(&cert, &key, &k).is_err()
        {
            bad(&key, format!("it is not the private key of {crt}"), fix_pair(&crt, &key));
        }
        let Kind::Leaf { ca } = spec.kind else {
            if !cert.is_ca() {
                bad(
                    &crt,
                    "it is not a CA certificate (no CA:TRUE)".into(),
                    format!("delete {crt} and {key}, or run kbinit reset"),
                );
            }
            continue;
        };
        let Some(ca_spec) = TABLE.iter().find(|s| s.phase == ca) else { continue };
        let ca_crt = crt_path(ctx.cluster, ca_spec.base);
        match load_cert(view, &ca_crt) {
            Ok(Some(ca_cert)) if issue::signed_by(&cert, &ca_cert) => {}
            Ok(Some(_)) => {
                bad(&crt, format!("it is not signed by the CA certificate {ca_crt}"), fix_pair(&crt, &key));
                continue;
            }
            _ => {
                bad(&crt, format!("its CA certificate {ca_crt} is missing or unreadable"), fix_pair(&crt, &key));
                continue;
            }
        }
        let want_cn = common_name(spec, ctx.node);
        let got_cn = cn_of(&cert);
        if got_cn != want_cn {
            bad(
                &crt,
                format!("it is issued to {got_cn:?}, this configuration needs {want_cn:?}"),
                fix_pair(&crt, &key),
            );
            continue;
        }
        if let Ok((want_dns, want_ips)) = issue::alt_names(spec.sans, &want_cn, ctx.cluster, ctx.node) {
            let (dns, ips) = sans(&cert);
            let mut missing: Vec<String> = want_dns.into_iter().filter(|d| !dns.contains(d)).collect();
            missing.extend(want_ips.into_iter().filter(|i| !ips.contains(i)).map(|i| i.to_string()));
            if !missing.is_empty() {
                bad(
                    &crt,
                    format!("it lacks the names [{}] this configuration needs", missing.join(" ")),
                    fix_pair(&crt, &key),
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::certs::tests::{now, reference_cluster, reference_node};
    use crate::certs::{OnDemandKeys, plan_all, plan_one};
    use crate::config::KeyAlgorithm;
    use crate::plan::MemoryNode;

    #[test]
    fn a_fresh_pki_is_reusable_as_is() {
        let cluster = reference_cluster(KeyAlgorithm::EcdsaP256);
        let node = reference_node();
        let ctx = PkiContext { cluster: &cluster, node: &node, now: now() };
        let mut disk = MemoryNode::default();
        disk.absorb(&plan_all(&ctx, &disk, &OnDemandKeys).unwrap());
        assert_eq!(check_existing(&ctx, &disk), vec![]);
    }

    #[test]
    fn another_node_name_another_ca_and_a_foreign_key_are_named() {
        let cluster = reference_cluster(KeyAlgorithm::EcdsaP256);
        let node = reference_node();
        let ctx = PkiContext { cluster: &cluster, node: &node, now: now() };
        let mut disk = MemoryNode::default();
        disk.absorb(&plan_all(&ctx, &disk, &OnDemandKeys).unwrap());
        // the same PKI seen by a node with another name: the node-named certificates no longer fit
        let other = crate::config::NodeIdentity { name: "cp2".into(), ..reference_node() };
        let ctx2 = PkiContext { cluster: &cluster, node: &other, now: now() };
        let paths: Vec<String> = check_existing(&ctx2, &disk).into_iter().map(|u| u.path).collect();
        assert_eq!(
            paths,
            [
                "/etc/kubernetes/pki/apiserver.crt",
                "/etc/kubernetes/pki/etcd/server.crt",
                "/etc/kubernetes/pki/etcd/peer.crt"
            ]
        );
        // a new CA under the old leaves
        let mut fresh = MemoryNode::default();
        fresh.absorb(&plan_one("ca", &ctx, &fresh, &OnDemandKeys).unwrap());
        let key = fresh.files.get("/etc/kubernetes/pki/ca.key").cloned().unwrap();
        disk.files.extend(fresh.files);
        let found = check_existing(&ctx, &disk);
        let apiserver = found.iter().find(|u| u.path == "/etc/kubernetes/pki/apiserver.crt").unwrap();
        assert_eq!(apiserver.why, "it is not signed by the CA certificate /etc/kubernetes/pki/ca.crt");
        assert_eq!(
            apiserver.fix,
            "delete /etc/kubernetes/pki/apiserver.crt and /etc/kubernetes/pki/apiserver.key (kbinit issues new ones \
             from the CA), or run kbinit reset"
        );
        // a key that belongs to another certificate
        disk.files.insert("/etc/kubernetes/pki/etcd/ca.key".into(), key);
        assert!(check_existing(&ctx, &disk).iter().any(|u| u.path == "/etc/kubernetes/pki/etcd/ca.key"));
    }
}
