//! `certs check-expiration` and `certs renew` (§A.6, §N.4): the certificates kubeadm can renew (leaf certificates
//! under the certificate dir and the client certificates embedded in admin.conf, super-admin.conf (1.29+),
//! controller-manager.conf and scheduler.conf — never kubelet.conf), when each one and each CA expires, and the
//! [`Step`]s that renew them with the local CA.
//!
//! Renewal follows kubeadm's `RenewUsingLocalCA`: a new key every time (here: of the same algorithm as the old
//! one), CN/O/DNS and IP SANs/EKUs copied from the existing certificate, signed by the CA on disk with the
//! configured validity. A CA without its key (§B.6 external CA) is reported and its certificates skipped.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use time::OffsetDateTime;
use x509_parser::extensions::GeneralName;
use x509_parser::public_key::PublicKey;

use super::issue::{self, LoadedCert, Subject};
use super::keys::{KeySource, private_key_pem};
use super::table::{Kind, TABLE, Usage};
use super::{crt_path, external_etcd, key_path, load_cert, load_signing_ca};
use crate::Error;
use crate::config::{ClusterConfiguration, KeyAlgorithm};
use crate::paths;
use crate::plan::{FileKind, NodeView, Step};

/// The line `certs renew all` ends with.
pub const RENEW_ALL_DONE: &str = "Done renewing certificates. You must restart the kube-apiserver, \
kube-controller-manager, kube-scheduler and etcd, so that they can use the new certificates.";

/// The kubeconfig files whose embedded client certificate `certs renew` renews: (name, kubeadm's long name).
/// kubelet.conf is left to the kubelet's own rotation, as kubeadm leaves it.
const KUBECONFIGS: [(&str, &str); 4] = [
    ("admin.conf", "certificate embedded in the kubeconfig file for the admin to use and for kubeadm itself"),
    ("super-admin.conf", "certificate embedded in the kubeconfig file for the super-admin"),
    ("controller-manager.conf", "certificate embedded in the kubeconfig file for the controller manager to use"),
    ("scheduler.conf", "certificate embedded in the kubeconfig file for the scheduler manager to use"),
];

/// The CAs of the `CERTIFICATE AUTHORITY` table: (name, file base, belongs to stacked etcd).
pub(super) const CAS: [(&str, &str, bool); 3] =
    [("ca", "ca", false), ("etcd-ca", "etcd/ca", true), ("front-proxy-ca", "front-proxy-ca", false)];

/// Where a renewable certificate lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    /// `<base>.crt` / `<base>.key` under the certificate dir.
    Cert { base: &'static str },
    /// The current user's embedded client certificate of this kubeconfig file (absolute node path).
    Kubeconfig { path: String },
}

/// One certificate `certs renew` knows by name.
#[derive(Debug, Clone)]
pub(super) struct Renewable {
    pub name: &'static str,
    pub long_name: &'static str,
    pub ca_name: &'static str,
    pub ca_base: &'static str,
    pub target: Target,
}

/// Every renewable certificate of this configuration, sorted by name (kubeadm's order for `renew all` and for
/// `check-expiration`).
pub(super) fn renewables(cluster: &ClusterConfiguration, kubeconfig_dir: &str) -> Vec<Renewable> {
    let mut out: Vec<Renewable> = TABLE
        .iter()
        .filter(|s| !(s.etcd && external_etcd(cluster)))
        .filter_map(|s| {
            let Kind::Leaf { ca } = s.kind else { return None };
            let ca_base = super::table::find(ca).map_or(ca, |c| c.base);
            Some(Renewable {
                name: s.phase,
                long_name: s.help.strip_prefix("Generate the ").unwrap_or(s.help),
                ca_name: ca,
                ca_base,
                target: Target::Cert { base: s.base },
            })
        })
        .collect();
    for (file, long_name) in KUBECONFIGS {
        if file == "super-admin.conf" && !cluster.kubernetes_version.has_super_admin() {
            continue;
        }
        out.push(Renewable {
            name: file,
            long_name,
            ca_name: "ca",
            ca_base: "ca",
            target: Target::Kubeconfig { path: paths::join(kubeconfig_dir, file) },
        });
    }
    out.sort_by_key(|r| r.name);
    out
}

/// The names `certs renew` accepts for this configuration (without `all`), sorted.
pub fn renew_names(cluster: &ClusterConfiguration) -> Vec<&'static str> {
    renewables(cluster, paths::KUBERNETES_DIR).iter().map(|r| r.name).collect()
}

/// A CA is externally managed when its certificate is a CA and its key file does not exist (§B.6).
pub(super) fn ca_external(cluster: &ClusterConfiguration, view: &dyn NodeView, ca_base: &str) -> bool {
    matches!(load_cert(view, &crt_path(cluster, ca_base)), Ok(Some(c)) if c.is_ca())
        && !view.exists(&key_path(cluster, ca_base))
}

/// The client certificate embedded in a kubeconfig, `None` when the file does not exist.
fn kubeconfig_cert(path: &str, view: &dyn NodeView) -> Result<Option<LoadedCert>, Error> {
    let Some(bytes) = view.read(path) else {
        return if view.exists(path) {
            Err(Error::Conflict(format!("cannot read kubeconfig file {path:?}")))
        } else {
            Ok(None)
        };
    };
    let doc = parse_kubeconfig(path, &bytes)?;
    let (user, _) = current_user_and_cluster(path, &doc)?;
    let data = doc["users"]
        .as_array()
        .and_then(|us| us.iter().find(|u| u["name"].as_str() == Some(&user)))
        .and_then(|u| u["user"]["client-certificate-data"].as_str())
        .ok_or_else(|| {
            Error::Conflict(format!(
                "the kubeconfig file {path:?} has no embedded client certificate for its current user"
            ))
        })?;
    let pem = B64
        .decode(data.trim())
        .map_err(|_| Error::Conflict(format!("the kubeconfig file {path:?}: client-certificate-data is not base64")))?;
    LoadedCert::parse(path, &pem).map(Some)
}

fn parse_kubeconfig(path: &str, bytes: &[u8]) -> Result<Value, Error> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| Error::Conflict(format!("kubeconfig file {path:?} is not UTF-8")))?;
    crate::go_format::yaml::from_yaml(text).map_err(|e| Error::Conflict(format!("kubeconfig file {path:?}: {e}")))
}

/// (user name, cluster name) of the kubeconfig's current context.
fn current_user_and_cluster(path: &str, doc: &Value) -> Result<(String, String), Error> {
    let bad = |why: &str| Error::Conflict(format!("kubeconfig file {path:?}: {why}"));
    let current = doc["current-context"].as_str().filter(|c| !c.is_empty()).ok_or_else(|| bad("no current context"))?;
    let context = doc["contexts"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"].as_str() == Some(current)))
        .ok_or_else(|| bad("its current context does not exist"))?;
    let user = context["context"]["user"].as_str().ok_or_else(|| bad("its current context names no user"))?;
    let cluster = context["context"]["cluster"].as_str().ok_or_else(|| bad("its current context names no cluster"))?;
    Ok((user.to_string(), cluster.to_string()))
}

pub(super) fn load_target(
    cluster: &ClusterConfiguration,
    target: &Target,
    view: &dyn NodeView,
) -> Result<Option<LoadedCert>, Error> {
    match target {
        Target::Cert { base } => load_cert(view, &crt_path(cluster, base)),
        Target::Kubeconfig { path } => kubeconfig_cert(path, view),
    }
}

/// What renewal copies from an existing certificate (kubeadm's `certToConfig`), and its key algorithm.
struct Copied {
    cn: String,
    orgs: Vec<String>,
    dns: Vec<String>,
    ips: Vec<std::net::IpAddr>,
    usage: Usage,
    alg: KeyAlgorithm,
}

fn copy_fields(cert: &LoadedCert) -> Result<Copied, Error> {
    let path = &cert.path;
    let bad = |why: String| Error::Crypto(format!("cannot renew {path:?}: {why}"));
    let x = cert.x509()?;
    let cn = x.subject().iter_common_name().next().and_then(|c| c.as_str().ok()).unwrap_or_default().to_string();
    let orgs: Vec<String> =
        x.subject().iter_organization().filter_map(|o| o.as_str().ok()).map(str::to_string).collect();
    if orgs.len() > 1 {
        return Err(bad(format!("its subject has {} organizations; kbinit issues at most one", orgs.len())));
    }
    let (mut dns, mut ips) = (Vec::new(), Vec::new());
    if let Ok(Some(san)) = x.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(d) => dns.push(d.to_string()),
                GeneralName::IPAddress(b) => match b.len() {
                    4 => {
                        ips.push(std::net::IpAddr::from(<[u8; 4]>::try_from(*b).map_err(|_| bad("bad IP SAN".into()))?))
                    }
                    16 => ips
                        .push(std::net::IpAddr::from(<[u8; 16]>::try_from(*b).map_err(|_| bad("bad IP SAN".into()))?)),
                    _ => return Err(bad("an IP address SAN is neither IPv4 nor IPv6".into())),
                },
                _ => {} // kubeadm copies only DNS names and IP addresses
            }
        }
    }
    let usage = match x.extended_key_usage() {
        Ok(None) => Usage::None,
        Ok(Some(e)) => {
            let k = e.value;
            if k.any || k.code_signing || k.email_protection || k.time_stamping || k.ocsp_signing || !k.other.is_empty()
            {
                return Err(bad("it has extended key usages other than serverAuth and clientAuth".into()));
            }
            match (k.server_auth, k.client_auth) {
                (true, true) => Usage::ServerClient,
                (true, false) => Usage::Server,
                (false, true) => Usage::Client,
                (false, false) => Usage::None,
            }
        }
        Err(e) => return Err(bad(format!("its extended key usage cannot be read: {e}"))),
    };
    let alg = match x.public_key().parsed() {
        Ok(PublicKey::RSA(k)) => match k.key_size() {
            2048 => KeyAlgorithm::Rsa2048,
            3072 => KeyAlgorithm::Rsa3072,
            4096 => KeyAlgorithm::Rsa4096,
            n => return Err(bad(format!("RSA keys of {n} bits are not supported"))),
        },
        Ok(PublicKey::EC(p)) => match p.key_size() {
            256 => KeyAlgorithm::EcdsaP256,
            384 => KeyAlgorithm::EcdsaP384,
            n => return Err(bad(format!("ECDSA keys of {n} bits are not supported"))),
        },
        _ => return Err(bad("its key is neither RSA nor ECDSA".into())),
    };
    Ok(Copied { cn, orgs, dns, ips, usage, alg })
}

/// The existing certificate's key algorithm for each certificate `name` would renew (skipping missing ones and
/// those of external CAs), so the caller can generate the keys ahead.
pub fn renew_key_algorithms(
    name: &str,
    cluster: &ClusterConfiguration,
    kubeconfig_dir: &str,
    view: &dyn NodeView,
) -> Result<Vec<KeyAlgorithm>, Error> {
    let mut out = Vec::new();
    for r in selected(name, cluster, kubeconfig_dir)? {
        if ca_external(cluster, view, r.ca_base) {
            continue;
        }
        if let Some(c) = load_target(cluster, &r.target, view)? {
            out.push(copy_fields(&c)?.alg);
        }
    }
    Ok(out)
}

fn selected(name: &str, cluster: &ClusterConfiguration, kubeconfig_dir: &str) -> Result<Vec<Renewable>, Error> {
    let all = renewables(cluster, kubeconfig_dir);
    if name == "all" {
        return Ok(all);
    }
    match all.into_iter().find(|r| r.name == name) {
        Some(r) => Ok(vec![r]),
        None => Err(Error::invalid(
            "certs renew",
            name,
            format!("not a certificate kbinit renews; use all or one of {}", renew_names(cluster).join(", ")),
        )),
    }
}

/// Plans `certs renew <name>` (or `all`): per certificate `<long name> renewed`, `MISSING! <long name>`, or
/// `Detected external <ca>, <long name> can't be renewed`; `all` ends with [`RENEW_ALL_DONE`] after a blank line.
pub fn plan_renew(
    name: &str,
    cluster: &ClusterConfiguration,
    kubeconfig_dir: &str,
    now: OffsetDateTime,
    view: &dyn NodeView,
    keys: &dyn KeySource,
) -> Result<Vec<Step>, Error> {
    let mut steps = Vec::new();
    for r in selected(name, cluster, kubeconfig_dir)? {
        let Some(old) = load_target(cluster, &r.target, view)? else {
            steps.push(Step::say(format!("MISSING! {}", r.long_name)));
            continue;
        };
        if ca_external(cluster, view, r.ca_base) {
            steps.push(Step::say(format!("Detected external {}, {} can't be renewed", r.ca_base, r.long_name)));
            continue;
        }
        let (ca_crt, ca_key) = (crt_path(cluster, r.ca_base), key_path(cluster, r.ca_base));
        let (ca, signing) = load_signing_ca(view, &ca_crt, &ca_key, &format!("a new {}", r.name))?;
        let c = copy_fields(&old)?;
        let orgs: Vec<&str> = c.orgs.iter().map(String::as_str).collect();
        let subject = Subject { cn: &c.cn, orgs: &orgs, dns: c.dns.clone(), ips: c.ips.clone(), usage: c.usage };
        let key = keys.key(c.alg)?;
        let cert_pem = issue::issue_leaf(&ca, &signing, &subject, &key, now, cluster.certificate_validity)?;
        let key_pem = private_key_pem(&key)?;
        match &r.target {
            Target::Cert { base } => {
                // kubeadm writes the key, then the certificate
                steps.push(Step::write(key_path(cluster, base), key_pem, FileKind::Key));
                steps.push(Step::write(crt_path(cluster, base), cert_pem, FileKind::Cert));
            }
            Target::Kubeconfig { path } => {
                let bytes = view.read(path).unwrap_or_default();
                let text = renewed_kubeconfig(path, &bytes, &ca, &cert_pem, &key_pem)?;
                steps.push(Step::write(path.clone(), text, FileKind::Kubeconfig));
            }
        }
        steps.push(Step::say(format!("{} renewed", r.long_name)));
    }
    if name == "all" {
        steps.push(Step::say(""));
        steps.push(Step::say(RENEW_ALL_DONE));
    }
    Ok(steps)
}

/// The kubeconfig with the current user's client certificate and key replaced and the current cluster's CA data
/// set to the CA that signed them (kubeadm's `kubeConfigReadWriter.Write`).
fn renewed_kubeconfig(
    path: &str,
    bytes: &[u8],
    ca: &LoadedCert,
    cert_pem: &str,
    key_pem: &str,
) -> Result<String, Error> {
    let mut doc = parse_kubeconfig(path, bytes)?;
    let (user, cluster) = current_user_and_cluster(path, &doc)?;
    let ca_pem = pem::encode_config(
        &pem::Pem::new("CERTIFICATE", ca.der.clone()),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    );
    let missing = |what: &str| Error::Conflict(format!("kubeconfig file {path:?}: its current {what} does not exist"));
    let entry = doc["clusters"]
        .as_array_mut()
        .and_then(|cs| cs.iter_mut().find(|c| c["name"].as_str() == Some(&cluster)))
        .and_then(|c| c.get_mut("cluster"))
        .and_then(Value::as_object_mut)
        .ok_or_else(|| missing("cluster"))?;
    entry.insert("certificate-authority-data".into(), json!(B64.encode(ca_pem)));
    let entry = doc["users"]
        .as_array_mut()
        .and_then(|us| us.iter_mut().find(|u| u["name"].as_str() == Some(&user)))
        .and_then(|u| u.get_mut("user"))
        .and_then(Value::as_object_mut)
        .ok_or_else(|| missing("user"))?;
    entry.insert("client-certificate-data".into(), json!(B64.encode(cert_pem)));
    entry.insert("client-key-data".into(), json!(B64.encode(key_pem)));
    Ok(crate::go_format::yaml::to_yaml(&doc))
}

#[cfg(test)]
mod tests;
