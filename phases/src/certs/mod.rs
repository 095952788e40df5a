//! The PKI under the certificate directory (`/etc/kubernetes/pki`): the `certs` sub-phases in kubeadm's order,
//! what each one generates or reuses, and the key sources that feed them.
//!
//! | module | holds |
//! |---|---|
//! | `table` | the 11 sub-phases as data (kubeadm's certlist) |
//! | `issue` | CA and leaf issuance, SANs, chain verification |
//! | `ext` | the X.509 extensions, DER-encoded in Go's order |
//! | [`keys`] | [`KeySource`], [`KeyPool`], kubeadm's private-key PEM encodings |
//! | [`renew`] | `certs renew`: the renewable certificates by name, renewal with the local CA |
//! | [`expiration`] | `certs check-expiration`: expiry rows and kubeadm's tables |
//! | [`care`] | `certs renew --if-expiring-within`: what is due, which static Pod uses it, restart order |
//! | [`timer`] | `certs renew-timer`: the systemd service and timer units |
//!
//! The planners never write: they read the node through a [`NodeView`] and return [`Step`]s.

pub mod care;
pub mod expiration;
pub mod keys;
pub mod renew;
pub mod timer;

mod ext;
pub(crate) mod issue;
mod reuse;
pub(crate) mod table;

use time::OffsetDateTime;

use crate::Error;
use crate::config::{ClusterConfiguration, Etcd, NodeIdentity};
use crate::paths;
use crate::plan::{FileKind, MemoryNode, NodeView, Step};

pub use keys::{KeyPool, KeySource, OnDemandKeys, generate_key, private_key_pem};
pub use reuse::{Unusable, check_existing};

use issue::{LoadedCert, Subject};
use table::{CertSpec, Cn, Kind, TABLE};

/// What the PKI planner needs to know.
#[derive(Debug, Clone, Copy)]
pub struct PkiContext<'a> {
    /// The cluster-wide configuration (certificate dir, SANs, validity, key algorithm, etcd mode).
    pub cluster: &'a ClusterConfiguration,
    /// This node (name and advertise address).
    pub node: &'a NodeIdentity,
    /// The time certificates are issued at.
    pub now: OffsetDateTime,
}

/// The certs sub-phases in kubeadm order: (phase name, short help). Always all 11.
pub fn subphases() -> &'static [(&'static str, &'static str)] {
    const LIST: [(&str, &str); 11] = {
        let mut out = [("", ""); 11];
        let mut i = 0;
        while i < 11 {
            out[i] = (TABLE[i].phase, TABLE[i].help);
            i += 1;
        }
        out
    };
    &LIST
}

/// A [`NodeView`] that sees the files of earlier plans (in `mem`) on top of the real node.
pub(crate) struct Overlay<'a> {
    pub base: &'a dyn NodeView,
    pub mem: MemoryNode,
}

impl NodeView for Overlay<'_> {
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        self.mem.read(path).or_else(|| self.base.read(path))
    }
    fn exists(&self, path: &str) -> bool {
        self.mem.exists(path) || self.base.exists(path)
    }
    fn is_dir(&self, path: &str) -> bool {
        self.mem.is_dir(path) || self.base.is_dir(path)
    }
}

fn crt_path(cluster: &ClusterConfiguration, base: &str) -> String {
    paths::join(&cluster.certificates_dir, &format!("{base}.crt"))
}

fn key_path(cluster: &ClusterConfiguration, base: &str) -> String {
    paths::join(&cluster.certificates_dir, &format!("{base}.key"))
}

pub(crate) fn parent_dir(path: &str) -> String {
    path.rsplit_once('/').map_or_else(|| "/".to_string(), |(d, _)| if d.is_empty() { "/".into() } else { d.into() })
}

fn external_etcd(cluster: &ClusterConfiguration) -> bool {
    matches!(cluster.etcd, Etcd::External(_))
}

/// Loads `<base>.crt`, `None` when it does not exist.
pub(crate) fn load_cert(view: &dyn NodeView, path: &str) -> Result<Option<LoadedCert>, Error> {
    match view.read(path) {
        Some(bytes) => LoadedCert::parse(path, &bytes).map(Some),
        None if view.exists(path) => Err(Error::Crypto(format!("cannot read certificate {path:?}"))),
        None => Ok(None),
    }
}

/// Loads a CA for signing: certificate (must be a CA) and key (must exist and match).
pub(crate) fn load_signing_ca(
    view: &dyn NodeView,
    crt: &str,
    key: &str,
    for_what: &str,
) -> Result<(LoadedCert, rcgen::KeyPair), Error> {
    let ca = load_cert(view, crt)?.ok_or_else(|| {
        Error::Conflict(format!("cannot create {for_what}: the CA certificate {crt:?} does not exist"))
    })?;
    if !ca.is_ca() {
        return Err(Error::Conflict(format!("certificate {crt:?} is not a CA")));
    }
    let key_pem = view
        .read(key)
        .ok_or_else(|| Error::Conflict(format!("cannot create {for_what}: the CA key {key:?} does not exist")))?;
    let ca_key = issue::load_ca_key(&ca, key, &key_pem)?;
    Ok((ca, ca_key))
}

/// True when `<pki>/ca.crt` is a CA and `ca.key` is absent (external CA mode, §B.6).
pub fn is_external_ca(cluster: &ClusterConfiguration, view: &dyn NodeView) -> bool {
    let key = key_path(cluster, "ca");
    matches!(load_cert(view, &crt_path(cluster, "ca")), Ok(Some(c)) if c.is_ca()) && !view.exists(&key)
}

/// `sha256:<hex>` of the DER SubjectPublicKeyInfo of a PEM CA certificate (§Q.1).
pub fn ca_cert_hash(ca_pem: &[u8]) -> Result<String, Error> {
    let cert = LoadedCert::parse("CA certificate", ca_pem)?;
    let x = cert.x509()?;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, x.public_key().raw);
    Ok(format!("sha256:{}", hex::encode(digest.as_ref())))
}

pub(crate) fn common_name(spec: &CertSpec, node: &NodeIdentity) -> String {
    match spec.cn {
        Cn::Fixed(cn) => cn.to_string(),
        Cn::Node => node.name.clone(),
    }
}

/// Plans one sub-phase (by phase name): the lines kubeadm prints, the directories and the files to write.
pub fn plan_one(name: &str, ctx: &PkiContext, view: &dyn NodeView, keys: &dyn KeySource) -> Result<Vec<Step>, Error> {
    let spec = table::find(name).ok_or_else(|| Error::invalid("phase", name, "not a certs sub-phase"))?;
    let mut steps = Vec::new();
    if spec.etcd && external_etcd(ctx.cluster) {
        let what = if spec.kind == Kind::Ca { "certificate authority generation" } else { "certificate generation" };
        steps.push(Step::say(format!("[certs] External etcd mode: Skipping {} {what}", spec.base)));
        return Ok(steps);
    }
    match spec.kind {
        Kind::Ca => plan_ca(spec, ctx, view, keys, &mut steps)?,
        Kind::Leaf { ca } => plan_leaf(spec, ca, ctx, view, keys, &mut steps)?,
        Kind::Sa => plan_sa(ctx, view, keys, &mut steps)?,
    }
    Ok(steps)
}

/// The key first, then the certificate: a run killed between the two leaves a key without its certificate, which
/// the next run completes ([`existing_key`]), never a certificate without its key — that is how an external CA
/// looks, and it would make the re-run refuse to sign.
fn write_pair(steps: &mut Vec<Step>, crt: &str, crt_pem: String, key: &str, key_pem: Option<String>) {
    steps.push(Step::EnsureDir { path: parent_dir(crt), mode: 0o755 });
    if let Some(key_pem) = key_pem {
        steps.push(Step::write(key, key_pem, FileKind::Key));
    }
    steps.push(Step::write(crt, crt_pem, FileKind::Cert));
}

/// A key an earlier run wrote without the certificate that goes with it (killed in between, see [`write_pair`]):
/// nothing was ever issued for it, so the certificate is made for it now. `None` when there is no key; an error
/// when it cannot be loaded or is not of the configured algorithm (it is not one of kbinit's leftovers then).
fn existing_key(ctx: &PkiContext, view: &dyn NodeView, key: &str, what: &str) -> Result<Option<rcgen::KeyPair>, Error> {
    if !view.exists(key) {
        return Ok(None);
    }
    let refused = |why: &str| {
        Error::Conflict(format!(
            "failure loading {what}: the key {key:?} exists without its certificate and {why}; delete it, or run kbinit reset"
        ))
    };
    let pem = view.read(key).ok_or_else(|| refused("cannot be read"))?;
    let loaded = keys::load_private_key(&pem, key).map_err(|_| refused("is not a private key kbinit can load"))?;
    if loaded.algorithm() != keys::signature_algorithm(ctx.cluster.encryption_algorithm) {
        return Err(refused("is not of the configured encryptionAlgorithm"));
    }
    Ok(Some(loaded))
}

fn plan_ca(
    spec: &CertSpec,
    ctx: &PkiContext,
    view: &dyn NodeView,
    keys: &dyn KeySource,
    steps: &mut Vec<Step>,
) -> Result<(), Error> {
    let (crt, key) = (crt_path(ctx.cluster, spec.base), key_path(ctx.cluster, spec.base));
    if load_cert(view, &crt)?.is_some() {
        let with_key = view.read(&key).is_some_and(|k| keys::load_private_key(&k, &key).is_ok());
        let keyless = if with_key { "" } else { "keyless " };
        steps.push(Step::say(format!("[certs] Using existing {} {keyless}certificate authority", spec.base)));
        return Ok(());
    }
    let lone = existing_key(ctx, view, &key, &format!("{} certificate authority", spec.base))?;
    steps.push(Step::say(format!("[certs] Generating {:?} certificate and key", spec.base)));
    let (ca_key, key_pem) = match lone {
        Some(k) => (k, None),
        None => {
            let k = keys.key(ctx.cluster.encryption_algorithm)?;
            let pem = private_key_pem(&k)?;
            (k, Some(pem))
        }
    };
    let cn = common_name(spec, ctx.node);
    let pem = issue::new_ca(&cn, &ca_key, ctx.now, ctx.cluster.ca_certificate_validity)?;
    write_pair(steps, &crt, pem, &key, key_pem);
    Ok(())
}

fn plan_leaf(
    spec: &CertSpec,
    ca_phase: &str,
    ctx: &PkiContext,
    view: &dyn NodeView,
    keys: &dyn KeySource,
    steps: &mut Vec<Step>,
) -> Result<(), Error> {
    let ca_spec = table::find(ca_phase).ok_or_else(|| Error::invalid("phase", ca_phase, "not a CA sub-phase"))?;
    let (crt, key) = (crt_path(ctx.cluster, spec.base), key_path(ctx.cluster, spec.base));
    let (ca_crt, ca_key_path) = (crt_path(ctx.cluster, ca_spec.base), key_path(ctx.cluster, ca_spec.base));
    if let Some(existing) = load_cert(view, &crt)? {
        let ca = load_cert(view, &ca_crt)?.ok_or_else(|| {
            Error::Conflict(format!("cannot check certificate {crt:?}: its CA certificate {ca_crt:?} does not exist"))
        })?;
        if !issue::signed_by(&existing, &ca) {
            return Err(Error::Conflict(format!("certificate {crt:?} is not signed by the CA certificate {ca_crt:?}")));
        }
        steps.push(Step::say(format!("[certs] Using existing {} certificate and key on disk", spec.base)));
        return Ok(());
    }
    let lone = existing_key(ctx, view, &key, &format!("{} certificate", spec.base))?;
    let (ca, ca_key) = load_signing_ca(view, &ca_crt, &ca_key_path, &format!("{crt:?}"))?;
    steps.push(Step::say(format!("[certs] Generating {:?} certificate and key", spec.base)));
    let cn = common_name(spec, ctx.node);
    let (dns, ips) = issue::alt_names(spec.sans, &cn, ctx.cluster, ctx.node)?;
    if !dns.is_empty() || !ips.is_empty() {
        let ip_list: Vec<String> = ips.iter().map(ToString::to_string).collect();
        steps.push(Step::say(format!(
            "[certs] {} serving cert is signed for DNS names [{}] and IPs [{}]",
            spec.base,
            dns.join(" "),
            ip_list.join(" ")
        )));
    }
    let org = spec.org_for(&ctx.cluster.kubernetes_version);
    let subject = Subject { cn: &cn, orgs: org.as_slice(), dns, ips, usage: spec.usage };
    let (leaf_key, key_pem) = match lone {
        Some(k) => (k, None),
        None => {
            let k = keys.key(ctx.cluster.encryption_algorithm)?;
            let pem = private_key_pem(&k)?;
            (k, Some(pem))
        }
    };
    let pem = issue::issue_leaf(&ca, &ca_key, &subject, &leaf_key, ctx.now, ctx.cluster.certificate_validity)?;
    write_pair(steps, &crt, pem, &key, key_pem);
    Ok(())
}

fn plan_sa(ctx: &PkiContext, view: &dyn NodeView, keys: &dyn KeySource, steps: &mut Vec<Step>) -> Result<(), Error> {
    if is_external_ca(ctx.cluster, view) {
        steps.push(Step::say("[certs] Using existing sa keys"));
        return Ok(());
    }
    let key = paths::join(&ctx.cluster.certificates_dir, "sa.key");
    let public = paths::join(&ctx.cluster.certificates_dir, "sa.pub");
    if view.exists(&key) {
        let loaded = view.read(&key).map(|k| keys::load_private_key(&k, &key));
        if !matches!(loaded, Some(Ok(_))) {
            return Err(Error::Conflict(format!("file {key:?} existed but it could not be loaded properly")));
        }
        steps.push(Step::say("[certs] Using the existing \"sa\" key"));
        return Ok(());
    }
    steps.push(Step::say("[certs] Generating \"sa\" key and public key"));
    let sa = keys.key(ctx.cluster.encryption_algorithm)?;
    steps.push(Step::EnsureDir { path: parent_dir(&key), mode: 0o755 });
    steps.push(Step::write(&key, private_key_pem(&sa)?, FileKind::Key));
    steps.push(Step::write(public, sa.public_key_pem(), FileKind::Key));
    Ok(())
}

/// All sub-phases in order, preceded by `[certs] Using certificateDir folder "<dir>"`. Later sub-phases see the
/// files earlier ones wrote.
pub fn plan_all(ctx: &PkiContext, view: &dyn NodeView, keys: &dyn KeySource) -> Result<Vec<Step>, Error> {
    let mut steps = vec![Step::say(format!("[certs] Using certificateDir folder {:?}", ctx.cluster.certificates_dir))];
    let mut overlay = Overlay { base: view, mem: MemoryNode::default() };
    for (name, _) in subphases() {
        let planned = plan_one(name, ctx, &overlay, keys)?;
        overlay.mem.absorb(&planned);
        steps.extend(planned);
    }
    Ok(steps)
}

/// How many fresh keys [`plan_all`] would generate for this node state (so the binary can prefetch exactly
/// that many).
pub fn keys_needed(ctx: &PkiContext, view: &dyn NodeView) -> usize {
    let cluster = ctx.cluster;
    let external_ca = is_external_ca(cluster, view);
    TABLE
        .iter()
        .filter(|spec| !(spec.etcd && external_etcd(cluster)))
        .filter(|spec| match spec.kind {
            Kind::Ca | Kind::Leaf { .. } => {
                !view.exists(&crt_path(cluster, spec.base)) && !view.exists(&key_path(cluster, spec.base))
            }
            Kind::Sa => !external_ca && !view.exists(&paths::join(&cluster.certificates_dir, "sa.key")),
        })
        .count()
}

#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod tests_killed;

/// The clientAuth usage, for client certificates made outside the table (kubeconfig users).
pub(crate) fn table_usage_client() -> table::Usage {
    table::Usage::Client
}
