//! How a joining node comes to trust a cluster (§H.3, §H.4) and the kubeconfig its kubelet bootstraps with
//! (§C.3, §E.5), as pure checks over what the binary fetched or read.
//!
//! * token discovery: [`verify_cluster_info`] checks a `kube-public/cluster-info` ConfigMap fetched over an
//!   unverified connection (JWS signed with the token, one cluster, CA embedded, CA pinned), and
//!   [`same_cluster_info`] checks the second fetch made with that CA;
//! * file discovery: [`file_discovery`] checks a kubeconfig given with `--discovery-file`;
//! * [`bootstrap_kubeconfig`] builds `/etc/kubernetes/bootstrap-kubelet.conf`, and [`tls_bootstrap_kubeconfig`]
//!   picks the TLS-bootstrap kubeconfig for either discovery.
//!
//! Fetching, polling and timeouts are the binary's; this module never touches the network or a clock. Every
//! failure is its own [`DiscoveryError`] variant whose message says which check failed.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use k8s_openapi::api::core::v1::ConfigMap;
use serde_json::Value;

use crate::Error;
use crate::kubeconfig::{UserAuth, kubeconfig_value};

/// Namespace of the cluster-info ConfigMap.
pub const CLUSTER_INFO_NAMESPACE: &str = "kube-public";
/// Name of the cluster-info ConfigMap.
pub const CLUSTER_INFO_NAME: &str = "cluster-info";
/// The data key holding the kubeconfig.
pub const KUBECONFIG_KEY: &str = "kubeconfig";
/// Prefix of the data keys holding a detached JWS per token id (`jws-kubeconfig-<id>`).
pub const JWS_KEY_PREFIX: &str = "jws-kubeconfig-";
/// The user name of the TLS-bootstrap kubeconfig.
pub const TLS_BOOTSTRAP_USER: &str = "tls-bootstrap-token-user";
/// The cluster name the TLS-bootstrap kubeconfig's context is named after (kubeadm builds it with the default
/// name before renaming the cluster entry).
const BOOTSTRAP_CONTEXT_CLUSTER: &str = "kubernetes";

/// Why discovery refused what it was given. Each variant names the check that failed.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// The token or a pin is malformed (caught by config validation normally).
    #[error(transparent)]
    Input(Error),
    /// cluster-info has no `jws-kubeconfig-<id>` for this token: unknown, expired or not a signing token. The
    /// binary keeps polling on this one until the discovery timeout (§H.3 step 3).
    #[error(
        "token id {id:?} is invalid for this cluster or it has expired. Use \"kbinit token create\" on the \
         control-plane node to create a new valid token"
    )]
    TokenNotFound {
        /// The token id.
        id: String,
    },
    /// cluster-info has no `kubeconfig` key.
    #[error(
        "there is no kubeconfig key in the cluster-info ConfigMap. This API Server isn't set up for token \
         bootstrapping, can't connect"
    )]
    MissingKubeconfig,
    /// The JWS does not verify with the token.
    #[error("failed to verify JWS signature of received cluster info object, can't trust this API Server")]
    BadSignature,
    /// A kubeconfig could not be parsed or lacks a required field.
    #[error("couldn't parse the kubeconfig file in {source_name}: {reason}")]
    BadKubeconfig {
        /// Where it came from (`the cluster-info ConfigMap`, `the discovery file`).
        source_name: String,
        /// What is wrong.
        reason: String,
    },
    /// The cluster-info kubeconfig does not hold exactly one cluster.
    #[error("expected the kubeconfig file in the cluster-info configmap to have a single cluster, but it had {count}")]
    ClusterCount {
        /// How many it had.
        count: usize,
    },
    /// The CA is referenced by file or missing instead of embedded as `certificate-authority-data`.
    #[error(
        "the cluster {cluster:?} in {source_name} has no embedded CA (certificate-authority-data); a file \
         reference can not be trusted or pinned here: embed the CA (kubectl config ... --embed-certs)"
    )]
    CaNotEmbedded {
        /// Where it came from.
        source_name: String,
        /// The cluster entry's name.
        cluster: String,
    },
    /// The embedded CA data holds no parsable certificate.
    #[error("failed to parse cluster CA from {source_name}: {reason}")]
    BadCa {
        /// Where it came from.
        source_name: String,
        /// What is wrong.
        reason: String,
    },
    /// Token discovery without pins and without unsafe-skip mode.
    #[error(
        "no CA public-key pins given: pass --discovery-token-ca-cert-hash sha256:<hex> (printed by kbinit init), \
         or accept the risk with --discovery-token-unsafe-skip-ca-verification"
    )]
    NoPins,
    /// None of the CA certificates' keys is among the pins.
    #[error(
        "cluster CA found in cluster-info ConfigMap is invalid: none of the public keys {:?} are pinned; check \
         --discovery-token-ca-cert-hash against `kbinit token create --print-join-command` on a control-plane node",
        hashes.join(":")
    )]
    NotPinned {
        /// `sha256:<hex>` of every CA certificate found, in order.
        hashes: Vec<String>,
    },
    /// The second, CA-verified fetch returned another kubeconfig than the first.
    #[error(
        "the cluster-info ConfigMap changed between the insecure and the CA-pinned fetch (the second kubeconfig, \
         fetched with validated TLS, differs from the first): retry the join, and if it keeps failing check that \
         nothing between this node and {server} is rewriting responses"
    )]
    Changed {
        /// The server the first fetch named.
        server: String,
    },
    /// The discovery file has no usable cluster.
    #[error("the discovery file has no usable cluster: {0}")]
    NoCluster(String),
    /// The discovery file's credentials reference files instead of embedding them.
    #[error(
        "the discovery file's user {user:?} references {field} by file; credentials must be embedded \
         (client-certificate-data, client-key-data or token)"
    )]
    CredentialsNotEmbedded {
        /// The user entry.
        user: String,
        /// The offending key (`client-certificate`, `client-key`, `tokenFile`).
        field: String,
    },
    /// File discovery without credentials in the file and without a TLS-bootstrap token.
    #[error(
        "the discovery file holds no credentials, so a TLS bootstrap token is required: pass --tls-bootstrap-token \
         (or --token), or set discovery.tlsBootstrapToken"
    )]
    TlsBootstrapTokenRequired,
}

impl DiscoveryError {
    /// `true` when fetching cluster-info again may succeed (the signer has not signed with this token yet).
    pub fn is_retryable(&self) -> bool {
        matches!(self, DiscoveryError::TokenNotFound { .. })
    }
}

impl From<DiscoveryError> for Error {
    fn from(e: DiscoveryError) -> Self {
        match e {
            DiscoveryError::Input(inner) => inner,
            DiscoveryError::TlsBootstrapTokenRequired => {
                Error::invalid("discovery.tlsBootstrapToken", "", DiscoveryError::TlsBootstrapTokenRequired.to_string())
            }
            e @ (DiscoveryError::BadKubeconfig { .. } | DiscoveryError::BadCa { .. }) => Error::Encode(e.to_string()),
            other => Error::Conflict(other.to_string()),
        }
    }
}

/// A cluster this node now trusts: where its API server is and the CA that signs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedClusterInfo {
    /// The kubeconfig text exactly as received (compared byte for byte on the second fetch).
    pub kubeconfig_text: String,
    /// The cluster's `server` (usually the controlPlaneEndpoint; may differ from the discovery endpoint).
    pub server: String,
    /// The CA bundle (PEM) from `certificate-authority-data`.
    pub ca_pem: Vec<u8>,
    /// The name of the cluster entry used (`""` in cluster-info).
    pub cluster_name: String,
    /// `sha256:<hex>` pin of every certificate in the CA bundle, in order.
    pub ca_hashes: Vec<String>,
}

/// Splits `id.secret` after checking the token's form.
pub fn split_token(token: &str) -> Result<(&str, &str), DiscoveryError> {
    crate::config::validate::validate_token_field("discovery.bootstrapToken.token", token)
        .map_err(DiscoveryError::Input)?;
    token.split_once('.').ok_or_else(|| {
        DiscoveryError::Input(Error::invalid("discovery.bootstrapToken.token", token, "missing the '.' separator"))
    })
}

fn data(cm: &ConfigMap) -> BTreeMap<String, String> {
    cm.data.clone().unwrap_or_default()
}

/// §H.3 steps 4–7 over a cluster-info ConfigMap fetched without verifying TLS.
///
/// Checks, in kubeadm's order: `kubeconfig` present, `jws-kubeconfig-<id>` present, the JWS verifies with the
/// token, the kubeconfig parses and has exactly one cluster with an embedded CA, and (when pins are given) one
/// CA certificate's public key is pinned. With no pins, `unsafe_skip_ca_verification` must be set and the pin
/// check is skipped; pins given together with unsafe-skip are still checked, as kubeadm does.
///
/// kbinit requires one cluster and an embedded CA even in unsafe-skip mode (kubeadm only checks them when
/// pinning), because the node needs that CA to talk to the cluster afterwards.
pub fn verify_cluster_info(
    cm: &ConfigMap,
    token: &str,
    ca_cert_hashes: &[String],
    unsafe_skip_ca_verification: bool,
) -> Result<TrustedClusterInfo, DiscoveryError> {
    let (id, secret) = split_token(token)?;
    let data = data(cm);
    let kubeconfig_text =
        data.get(KUBECONFIG_KEY).filter(|s| !s.is_empty()).ok_or(DiscoveryError::MissingKubeconfig)?;
    let jws = data
        .get(&format!("{JWS_KEY_PREFIX}{id}"))
        .filter(|s| !s.is_empty())
        .ok_or_else(|| DiscoveryError::TokenNotFound { id: id.to_string() })?;
    crate::jws::verify_detached(kubeconfig_text.as_bytes(), jws, id, secret)
        .map_err(|_| DiscoveryError::BadSignature)?;

    let source = "the cluster-info ConfigMap";
    let doc = parse_kubeconfig(kubeconfig_text, source)?;
    let clusters = doc["clusters"].as_array().cloned().unwrap_or_default();
    let [entry] = clusters.as_slice() else {
        return Err(DiscoveryError::ClusterCount { count: clusters.len() });
    };
    let trusted = cluster_entry(entry, kubeconfig_text, source)?;

    if ca_cert_hashes.is_empty() {
        return if unsafe_skip_ca_verification { Ok(trusted) } else { Err(DiscoveryError::NoPins) };
    }
    let mut pins = Vec::new();
    for pin in ca_cert_hashes {
        crate::config::validate::validate_ca_cert_hash_field("discovery.bootstrapToken.caCertHashes", pin)
            .map_err(DiscoveryError::Input)?;
        pins.push(pin.to_ascii_lowercase());
    }
    if trusted.ca_hashes.iter().any(|h| pins.contains(h)) {
        Ok(trusted)
    } else {
        Err(DiscoveryError::NotPinned { hashes: trusted.ca_hashes })
    }
}

/// §H.3 step 8: the cluster-info fetched again over TLS verified with the trusted CA must carry the very same
/// kubeconfig bytes.
pub fn same_cluster_info(first: &TrustedClusterInfo, second: &ConfigMap) -> Result<(), DiscoveryError> {
    let data = data(second);
    let text = data.get(KUBECONFIG_KEY).filter(|s| !s.is_empty()).ok_or(DiscoveryError::MissingKubeconfig)?;
    if text.as_bytes() == first.kubeconfig_text.as_bytes() {
        Ok(())
    } else {
        Err(DiscoveryError::Changed { server: first.server.clone() })
    }
}

fn parse_kubeconfig(text: &str, source: &str) -> Result<Value, DiscoveryError> {
    let doc = crate::go_format::yaml::from_yaml(text)
        .map_err(|e| DiscoveryError::BadKubeconfig { source_name: source.into(), reason: e.to_string() })?;
    if !doc.is_object() {
        return Err(DiscoveryError::BadKubeconfig { source_name: source.into(), reason: "not a mapping".into() });
    }
    Ok(doc)
}

/// Reads one `clusters[]` entry: server, embedded CA, its pins.
fn cluster_entry(entry: &Value, text: &str, source: &str) -> Result<TrustedClusterInfo, DiscoveryError> {
    let name = entry["name"].as_str().unwrap_or_default().to_string();
    let cluster = &entry["cluster"];
    let server = cluster["server"].as_str().unwrap_or_default().to_string();
    if server.is_empty() {
        return Err(DiscoveryError::BadKubeconfig {
            source_name: source.into(),
            reason: format!("the cluster {name:?} has no server"),
        });
    }
    let ca_b64 = cluster["certificate-authority-data"].as_str().unwrap_or_default();
    if ca_b64.trim().is_empty() {
        return Err(DiscoveryError::CaNotEmbedded { source_name: source.into(), cluster: name });
    }
    let bad_ca = |reason: String| DiscoveryError::BadCa { source_name: source.into(), reason };
    let ca_pem = B64.decode(ca_b64.trim()).map_err(|e| bad_ca(format!("certificate-authority-data: {e}")))?;
    let ca_hashes = ca_hashes(&ca_pem).map_err(bad_ca)?;
    Ok(TrustedClusterInfo { kubeconfig_text: text.to_string(), server, ca_pem, cluster_name: name, ca_hashes })
}

/// The pin of every `CERTIFICATE` block of a PEM bundle; an error when there is none or one does not parse.
fn ca_hashes(pem_bytes: &[u8]) -> Result<Vec<String>, String> {
    let blocks = pem::parse_many(pem_bytes).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for block in blocks.iter().filter(|b| b.tag() == "CERTIFICATE") {
        out.push(crate::certs::ca_cert_hash(pem::encode(block).as_bytes()).map_err(|e| e.to_string())?);
    }
    if out.is_empty() {
        return Err("no CERTIFICATE block in certificate-authority-data".into());
    }
    Ok(out)
}

/// A `--discovery-file` kubeconfig that passed §H.4's checks.
#[derive(Debug, Clone, PartialEq)]
pub struct FileDiscovery {
    /// The cluster it names (for a file, `kubeconfig_text` is the file as given).
    pub cluster: TrustedClusterInfo,
    /// The current context's user and its (embedded) credentials, when the file has any.
    pub user: Option<(String, Value)>,
    /// The parsed file.
    pub kubeconfig: Value,
}

/// Keys of a kubeconfig user that carry credentials.
const CREDENTIAL_KEYS: [&str; 9] = [
    "client-certificate",
    "client-certificate-data",
    "client-key",
    "client-key-data",
    "token",
    "tokenFile",
    "username",
    "exec",
    "auth-provider",
];

/// §H.4: the cluster named `""` if there is one, else the current context's cluster; its CA must be embedded;
/// credentials of the current context's user, if any, must be embedded.
pub fn file_discovery(text: &str) -> Result<FileDiscovery, DiscoveryError> {
    let source = "the discovery file";
    let doc = parse_kubeconfig(text, source)?;
    let clusters = doc["clusters"].as_array().cloned().unwrap_or_default();
    if clusters.is_empty() {
        return Err(DiscoveryError::NoCluster("it has no clusters".into()));
    }
    let find = |list: &str, name: &str| -> Option<Value> {
        doc[list].as_array()?.iter().find(|e| e["name"].as_str().unwrap_or_default() == name).cloned()
    };
    let current = doc["current-context"].as_str().unwrap_or_default();
    let context = (!current.is_empty()).then(|| find("contexts", current)).flatten();
    let entry = match find("clusters", "") {
        Some(e) => e,
        None => {
            let Some(ctx) = &context else {
                return Err(DiscoveryError::NoCluster(format!(
                    "no cluster is named \"\" and the current context {current:?} does not exist"
                )));
            };
            let name = ctx["context"]["cluster"].as_str().unwrap_or_default();
            find("clusters", name).ok_or_else(|| {
                DiscoveryError::NoCluster(format!("the current context {current:?} names a missing cluster {name:?}"))
            })?
        }
    };
    let cluster = cluster_entry(&entry, text, source)?;

    let user_name = context.as_ref().and_then(|c| c["context"]["user"].as_str()).unwrap_or_default().to_string();
    let user = if user_name.is_empty() { None } else { find("users", &user_name) };
    let creds = user.map(|u| u["user"].clone()).unwrap_or(Value::Null);
    let has_credentials = CREDENTIAL_KEYS.iter().any(|k| !creds[*k].is_null() && creds[*k] != "");
    let user = if has_credentials {
        for (file_key, data_key) in [
            ("client-certificate", "client-certificate-data"),
            ("client-key", "client-key-data"),
            ("tokenFile", "token"),
        ] {
            let by_file = creds[file_key].as_str().is_some_and(|s| !s.is_empty());
            let embedded = creds[data_key].as_str().is_some_and(|s| !s.is_empty());
            if by_file && !embedded {
                return Err(DiscoveryError::CredentialsNotEmbedded { user: user_name, field: file_key.into() });
            }
        }
        Some((user_name, creds))
    } else {
        None
    };
    Ok(FileDiscovery { cluster, user, kubeconfig: doc })
}

/// A warning when the cluster-info ConfigMap read with the discovery file's kubeconfig names another server than
/// the file (kubeadm only warns and keeps the file's server); `None` when they agree or cluster-info has none.
pub fn file_cluster_info_warning(file: &FileDiscovery, cluster_info: &ConfigMap) -> Option<String> {
    let text = data(cluster_info).remove(KUBECONFIG_KEY)?;
    let doc = crate::go_format::yaml::from_yaml(&text).ok()?;
    let server = doc["clusters"].as_array()?.first()?["cluster"]["server"].as_str()?.to_string();
    (server != file.cluster.server).then(|| {
        format!(
            "[discovery] the cluster-info ConfigMap names the API server {server:?}, the discovery file {:?}; \
             using the discovery file's",
            file.cluster.server
        )
    })
}

/// `/etc/kubernetes/bootstrap-kubelet.conf` (§C.3): one cluster named `cluster_name` (the ClusterConfiguration's
/// `clusterName`) with `server` and the CA embedded, user `tls-bootstrap-token-user` with the token, context
/// `tls-bootstrap-token-user@kubernetes`. Render with [`crate::go_format::yaml::to_yaml`]; mode 0600.
pub fn bootstrap_kubeconfig(cluster_name: &str, server: &str, ca_pem: &[u8], token: &str) -> Value {
    let mut v = kubeconfig_value(
        BOOTSTRAP_CONTEXT_CLUSTER,
        server,
        ca_pem,
        TLS_BOOTSTRAP_USER,
        UserAuth::Token(token.to_string()),
    );
    v["clusters"][0]["name"] = Value::String(cluster_name.to_string());
    v["contexts"][0]["context"]["cluster"] = Value::String(cluster_name.to_string());
    v
}

/// The kubeconfig the kubelet TLS-bootstraps with, after either discovery: the discovery file itself when it
/// carries credentials, else [`bootstrap_kubeconfig`] with the TLS-bootstrap token (required then).
pub fn tls_bootstrap_kubeconfig(
    file: Option<&FileDiscovery>,
    trusted: &TrustedClusterInfo,
    cluster_name: &str,
    server: &str,
    tls_bootstrap_token: &str,
) -> Result<Value, DiscoveryError> {
    if let Some(f) = file.filter(|f| f.user.is_some()) {
        return Ok(f.kubeconfig.clone());
    }
    if tls_bootstrap_token.is_empty() {
        return Err(DiscoveryError::TlsBootstrapTokenRequired);
    }
    crate::config::validate::validate_token_field("discovery.tlsBootstrapToken", tls_bootstrap_token)
        .map_err(DiscoveryError::Input)?;
    Ok(bootstrap_kubeconfig(cluster_name, server, &trusted.ca_pem, tls_bootstrap_token))
}

#[cfg(test)]
mod tests;
