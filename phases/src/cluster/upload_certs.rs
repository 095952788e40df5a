//! Phase `upload-certs` (§I.2, §F rows 8–11) and its reverse for `join --control-plane` (§I.3).
//!
//! Upload: a short-lived bootstrap token Secret (2h, no usages, no groups) created new, the `kubeadm-certs` Secret
//! holding every CA and the service-account key pair sealed with the certificate key and owned by that token
//! Secret (the token cleaner's deletion takes the certificates with it), and Role/RoleBinding
//! `kubeadm:kubeadm-certs` so bootstrap tokens may read it.
//!
//! Download: [`decode_certs_secret`] opens the values of a `kubeadm-certs` Secret and returns the files to write.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use time::OffsetDateTime;

use crate::Error;
use crate::api::{ApiOp, ApiStep, ObjectKey, Owner, ResourceType, WritePolicy};
use crate::cluster::certkey::{CertificateKey, open, seal};
use crate::cluster::rbac::{BOOTSTRAPPERS_GROUP, KUBE_SYSTEM, get_one_role, group, meta, role_binding};
use crate::cluster::token::{Token, certs_owner_token, token_secret};
use crate::config::{ClusterConfiguration, Etcd};
use crate::paths;
use crate::plan::{FileKind, NodeView, Step};

/// Name of the Secret holding the sealed certificates.
pub const KUBEADM_CERTS: &str = "kubeadm-certs";
/// Name of the Role and RoleBinding that let bootstrap tokens read it.
pub const KUBEADM_CERTS_ROLE: &str = "kubeadm:kubeadm-certs";
/// What kbinit prints when `--upload-certs` was not given.
pub const SKIPPED_LINE: &str = "[upload-certs] Skipping phase. Please see --upload-certs";

/// What an operator runs to upload the certificates again with a new key.
const REUPLOAD_HINT: &str = "run \"kbinit init phase upload-certs --upload-certs\" on a control-plane node to upload \
                             the certificates again and print a new certificate key (or \"kbinit token create \
                             --print-join-command --control-plane\" for a whole new control-plane join command)";

/// The files `kubeadm-certs` carries for this cluster: `(Secret key, node path)`, in kubeadm's table order.
/// Stacked etcd adds the etcd CA; external etcd adds the configured client files instead.
pub fn certs_to_transfer(cluster: &ClusterConfiguration) -> Vec<(String, String)> {
    let dir = &cluster.certificates_dir;
    let mut files: Vec<(String, String)> =
        ["ca.crt", "ca.key", "front-proxy-ca.crt", "front-proxy-ca.key", "sa.key", "sa.pub"]
            .iter()
            .map(|f| (f.to_string(), paths::join(dir, f)))
            .collect();
    match &cluster.etcd {
        Etcd::Local(_) => {
            for f in ["etcd/ca.crt", "etcd/ca.key"] {
                files.push((f.replace('/', "-"), paths::join(dir, f)));
            }
        }
        Etcd::External(e) => {
            files.push(("external-etcd-ca.crt".into(), e.ca_file.clone()));
            files.push(("external-etcd.crt".into(), e.cert_file.clone()));
            files.push(("external-etcd.key".into(), e.key_file.clone()));
        }
    }
    files
}

/// The `upload-certs` phase: lines, the owner token Secret ([`WritePolicy::CreateNew`]), `kubeadm-certs` (each file
/// sealed; a missing file is an empty value) owned by it, Role/RoleBinding `kubeadm:kubeadm-certs`, and the
/// certificate key (unless `print_key` is false, i.e. `--skip-certificate-key-print`).
pub fn plan_upload_certs(
    cluster: &ClusterConfiguration,
    key: &CertificateKey,
    owner_token: &Token,
    now: OffsetDateTime,
    print_key: bool,
    view: &dyn NodeView,
) -> Result<Vec<ApiStep>, Error> {
    let owner = token_secret(&certs_owner_token(), owner_token, now)?;
    let mut data = BTreeMap::new();
    for (name, path) in certs_to_transfer(cluster) {
        let value = match view.read(&path) {
            Some(content) => seal(key, &content)?,
            None => Vec::new(),
        };
        data.insert(name, ByteString(value));
    }
    let certs = Secret {
        metadata: meta(Some(KUBE_SYSTEM), KUBEADM_CERTS),
        // kubeadm sets no type; the server defaults it to Opaque
        data: Some(data),
        ..Default::default()
    };
    let owner_key = ObjectKey {
        resource: ResourceType::of::<Secret>(),
        namespace: Some(KUBE_SYSTEM.into()),
        name: owner_token.secret_name(),
    };
    let mut steps = vec![
        ApiStep::say(format!(
            "[upload-certs] Storing the certificates in Secret \"{KUBEADM_CERTS}\" in the \"{KUBE_SYSTEM}\" Namespace"
        )),
        ApiStep::write(&owner, WritePolicy::CreateNew)?,
        ApiStep::op(ApiOp::Write {
            object: crate::api::ApiObject::new(&certs)?,
            policy: WritePolicy::CreateOrUpdate,
            owner: Some(Owner { key: owner_key }),
        }),
        ApiStep::create_or_update(&get_one_role(KUBE_SYSTEM, KUBEADM_CERTS_ROLE, "secrets", KUBEADM_CERTS))?,
        ApiStep::create_or_update(&role_binding(
            KUBE_SYSTEM,
            KUBEADM_CERTS_ROLE,
            KUBEADM_CERTS_ROLE,
            vec![group(BOOTSTRAPPERS_GROUP)],
        ))?,
    ];
    if print_key {
        steps.push(ApiStep::say("[upload-certs] Using certificate key:"));
        steps.push(ApiStep::say(key.to_string()));
    }
    Ok(steps)
}

/// The line kbinit prints before fetching `kubeadm-certs` on `join --control-plane`.
pub fn download_line() -> String {
    format!(
        "[download-certs] Downloading the certificates in Secret \"{KUBEADM_CERTS}\" in the \"{KUBE_SYSTEM}\" Namespace"
    )
}

/// The error for a `kubeadm-certs` Secret that does not exist (any more): it expires two hours after upload.
pub fn certs_secret_missing() -> Error {
    Error::Conflict(format!(
        "Secret \"{KUBEADM_CERTS}\" was not found in the \"{KUBE_SYSTEM}\" Namespace. This Secret might have \
         expired: {REUPLOAD_HINT}"
    ))
}

/// What a PEM value is, by its blocks: a private key (0600) or certificates / public keys (0644).
fn sniff(name: &str, content: &[u8]) -> Result<FileKind, Error> {
    let unknown = || Error::Encode(format!("unknown data found in Secret entry {name:?}"));
    let blocks = pem::parse_many(content).map_err(|_| unknown())?;
    let Some(first) = blocks.first() else { return Err(unknown()) };
    let private = |tag: &str| matches!(tag, "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY");
    let public = |tag: &str| matches!(tag, "CERTIFICATE" | "PUBLIC KEY" | "RSA PUBLIC KEY");
    if private(first.tag()) {
        Ok(FileKind::Key)
    } else if blocks.iter().all(|b| public(b.tag())) {
        for b in blocks.iter().filter(|b| b.tag() == "CERTIFICATE") {
            x509_parser::parse_x509_certificate(b.contents()).map_err(|_| unknown())?;
        }
        Ok(FileKind::Cert)
    } else {
        Err(unknown())
    }
}

/// Opens a `kubeadm-certs` Secret with the certificate key and returns the files to write under the cluster's
/// certificate directory (external etcd files at their configured paths): a `[download-certs]` line, the
/// directories, and one [`Step::WriteFile`] per non-empty value, a private key as [`FileKind::Key`] and a
/// certificate or public key as [`FileKind::Cert`].
///
/// Fails when a value cannot be opened (wrong or expired key), when a file the cluster needs is not in the Secret,
/// or when a value is neither a key nor a certificate.
pub fn decode_certs_secret(
    secret: &Secret,
    key: &CertificateKey,
    cluster: &ClusterConfiguration,
) -> Result<Vec<Step>, Error> {
    let empty = BTreeMap::new();
    let data = secret.data.as_ref().unwrap_or(&empty);
    let mut opened: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
    for (name, value) in data {
        if value.0.is_empty() {
            opened.insert(name, Vec::new());
            continue;
        }
        let plain = open(key, &value.0).map_err(|e| {
            Error::Crypto(format!(
                "cannot open {name:?} of Secret \"{KUBEADM_CERTS}\": {e}. The certificate key must be the one printed \
                 by the upload, and the upload expires after two hours: {REUPLOAD_HINT}"
            ))
        })?;
        opened.insert(name, plain);
    }
    let mut steps = vec![Step::say(format!(
        "[download-certs] Saving the certificates to the folder: {:?}",
        cluster.certificates_dir
    ))];
    let mut dirs: Vec<String> = Vec::new();
    let mut writes = Vec::new();
    for (name, path) in certs_to_transfer(cluster) {
        let Some(content) = opened.get(name.as_str()) else {
            return Err(Error::Encode(format!(
                "the Secret \"{KUBEADM_CERTS}\" does not include the required certificate or key - name: {name}, \
                 path: {path}"
            )));
        };
        if content.is_empty() {
            continue;
        }
        let kind = sniff(&name, content)?;
        if let Some((dir, _)) = path.rsplit_once('/').filter(|(d, _)| !d.is_empty())
            && !dirs.iter().any(|d| d == dir)
        {
            dirs.push(dir.to_string());
        }
        writes.push(Step::write(path, content.clone(), kind));
    }
    steps.extend(dirs.into_iter().map(|path| Step::EnsureDir { path, mode: 0o755 }));
    steps.extend(writes);
    Ok(steps)
}
