//! `certs generate-csr` (§A.6, §B.4; kubeadm's external-CA preparation): a new key and a certificate signing
//! request for every leaf certificate (`<cert dir>/<base>.key` + `<base>.csr`), and for every kubeconfig file a
//! partial kubeconfig holding only the server and the new `client-key-data` plus `<file>.csr` beside it.
//!
//! Like kubeadm it refuses when a key, CSR or kubeconfig it would write already exists — but it checks every
//! target before writing anything, so a refused run leaves the node as it was.

use std::net::IpAddr;

use rcgen::{CertificateParams, KeyPair, SanType};

use crate::Error;
use crate::certs::issue::{self, distinguished_name};
use crate::certs::keys::{KeySource, private_key_pem};
use crate::certs::table::{Kind, TABLE};
use crate::certs::{PkiContext, common_name, parent_dir};
use crate::kubeconfig::{UserAuth, kubeconfig_value, users};
use crate::paths;
use crate::plan::{FileKind, NodeView, Step};

/// Mode of the directories generate-csr creates for keys and CSRs (§B.4).
const CSR_DIR_MODE: u32 = 0o700;

/// A PEM `CERTIFICATE REQUEST` for this subject, signed with `key` (no extensions but the SANs, as Go's
/// `x509.CreateCertificateRequest` makes kubeadm's).
fn csr_pem(cn: &str, org: Option<&str>, dns: &[String], ips: &[IpAddr], key: &KeyPair) -> Result<String, Error> {
    let mut p = CertificateParams::default();
    p.distinguished_name = distinguished_name(cn, org.as_slice());
    for d in dns {
        let name = d.clone().try_into().map_err(|_| Error::invalid("certSANs", d.as_str(), "not a valid DNS name"))?;
        p.subject_alt_names.push(SanType::DnsName(name));
    }
    p.subject_alt_names.extend(ips.iter().map(|ip| SanType::IpAddress(*ip)));
    let csr = p.serialize_request(key)?;
    csr.pem().map_err(|e| Error::Crypto(format!("cannot encode a certificate signing request: {e}")))
}

fn refuse_existing(view: &dyn NodeView, ctx: &PkiContext, kubeconfig_dir: &str) -> Result<(), Error> {
    let dir = &ctx.cluster.certificates_dir;
    for spec in TABLE.iter().filter(|s| matches!(s.kind, Kind::Leaf { .. })) {
        let base = paths::join(dir, spec.base);
        if view.exists(&format!("{base}.key")) || view.exists(&format!("{base}.csr")) {
            return Err(Error::Conflict(format!("file already exists: key or CSR {base}")));
        }
    }
    for (file, ..) in users(ctx) {
        let path = paths::join(kubeconfig_dir, file);
        if view.exists(&path) {
            return Err(Error::Conflict(format!("file already exists: kube config: {path}")));
        }
        if view.exists(&format!("{path}.key")) || view.exists(&format!("{path}.csr")) {
            return Err(Error::Conflict(format!("file already exists: csr: {path}")));
        }
    }
    Ok(())
}

/// How many keys [`plan_generate_csr`] generates (all of `ctx.cluster.encryption_algorithm`).
pub fn csr_keys_needed(ctx: &PkiContext) -> usize {
    TABLE.iter().filter(|s| matches!(s.kind, Kind::Leaf { .. })).count() + users(ctx).len()
}

/// Plans `certs generate-csr`: `generating keys and CSRs in <dir>` then `  <name>` per pair written, first
/// under the certificate dir (every leaf of kubeadm's default list, etcd's included), then the kubeconfig dir.
pub fn plan_generate_csr(
    ctx: &PkiContext,
    kubeconfig_dir: &str,
    view: &dyn NodeView,
    keys: &dyn KeySource,
) -> Result<Vec<Step>, Error> {
    refuse_existing(view, ctx, kubeconfig_dir)?;
    let alg = ctx.cluster.encryption_algorithm;
    let dir = &ctx.cluster.certificates_dir;
    let mut steps = vec![Step::say(format!("generating keys and CSRs in {dir}"))];
    for spec in TABLE.iter().filter(|s| matches!(s.kind, Kind::Leaf { .. })) {
        let cn = common_name(spec, ctx.node);
        let (dns, ips) = issue::alt_names(spec.sans, &cn, ctx.cluster, ctx.node)?;
        let key = keys.key(alg)?;
        let base = paths::join(dir, spec.base);
        steps.push(Step::EnsureDir { path: parent_dir(&base), mode: CSR_DIR_MODE });
        steps.push(Step::write(format!("{base}.key"), private_key_pem(&key)?, FileKind::Key));
        steps.push(Step::write(
            format!("{base}.csr"),
            csr_pem(&cn, spec.org_for(&ctx.cluster.kubernetes_version), &dns, &ips, &key)?,
            FileKind::Key,
        ));
        steps.push(Step::say(format!("  {}", spec.base)));
    }
    steps.push(Step::say(format!("generating keys and CSRs in {kubeconfig_dir}")));
    for (file, cn, org, server) in users(ctx) {
        let key = keys.key(alg)?;
        let key_pem = private_key_pem(&key)?.into_bytes();
        let auth = UserAuth::ClientCert { cert_pem: Vec::new(), key_pem };
        let mut value = kubeconfig_value(&ctx.cluster.cluster_name, &server, &[], &cn, auth);
        // Go's kubeconfig writer leaves out empty byte fields: no CA data and no certificate yet
        if let Some(c) = value.pointer_mut("/clusters/0/cluster").and_then(|c| c.as_object_mut()) {
            c.remove("certificate-authority-data");
        }
        if let Some(u) = value.pointer_mut("/users/0/user").and_then(|u| u.as_object_mut()) {
            u.remove("client-certificate-data");
        }
        let path = paths::join(kubeconfig_dir, file);
        steps.push(Step::EnsureDir { path: kubeconfig_dir.to_string(), mode: 0o755 });
        steps.push(Step::write(path.clone(), crate::go_format::yaml::to_yaml(&value), FileKind::Kubeconfig));
        steps.push(Step::write(format!("{path}.csr"), csr_pem(&cn, org, &[], &[], &key)?, FileKind::Key));
        steps.push(Step::say(format!("  {file}")));
    }
    Ok(steps)
}
