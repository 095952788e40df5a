//! A config file's documents: split, classified by kind and API version, decoded into the wire types (unknown
//! fields become warnings), documents of other groups dropped, and removed API versions refused as kubeadm does.

use serde_json::Value;

use super::super::wire::*;
use super::*;
use crate::Error;
use crate::version::KubeVersion;

pub(super) const KUBEADM_GROUP: &str = "kubeadm.k8s.io";

/// The documents of one config file, classified.
#[derive(Debug, Default)]
pub(super) struct Docs {
    pub(super) api: Option<ApiVersion>,
    pub(super) init: Option<Value>,
    pub(super) cluster: Option<Value>,
    pub(super) join: Option<Value>,
    pub(super) kubelet: Option<Value>,
    pub(super) kube_proxy: Option<Value>,
    /// Kinds of the kubeadm.k8s.io documents, in file order (for messages about their API version).
    pub(super) kubeadm_kinds: Vec<String>,
}

/// `kubeadm.k8s.io/v1beta3` or `v1beta4`.
pub fn api_version_string(api: ApiVersion) -> &'static str {
    match api {
        ApiVersion::V1beta3 => "kubeadm.k8s.io/v1beta3",
        ApiVersion::V1beta4 => "kubeadm.k8s.io/v1beta4",
    }
}

pub(super) fn put(slot: &mut Option<Value>, doc: Value, kind: &str) -> Result<(), Error> {
    if slot.is_some() {
        return Err(Error::invalid("kind", kind, format!("duplicate {kind} document: give each kind at most once")));
    }
    *slot = Some(doc);
    Ok(())
}

pub(super) fn split_documents(text: &str, warnings: &mut Vec<String>) -> Result<Docs, Error> {
    let mut docs = Docs::default();
    for (i, doc) in crate::go_format::yaml::documents(text)?.into_iter().enumerate() {
        let n = i + 1;
        let Some(map) = doc.as_object() else {
            return Err(Error::Document(format!("document {n} is not a mapping with apiVersion and kind")));
        };
        let Some(api) = map.get("apiVersion").and_then(Value::as_str).map(str::to_string) else {
            return Err(Error::Document(format!("document {n} has no \"apiVersion\"")));
        };
        let Some(kind) = map.get("kind").and_then(Value::as_str).map(str::to_string) else {
            return Err(Error::Document(format!("document {n} ({api}) has no \"kind\"")));
        };
        let (group, version) = api.split_once('/').unwrap_or(("", api.as_str()));
        match group {
            KUBEADM_GROUP => {
                let this = match version {
                    "v1beta3" => ApiVersion::V1beta3,
                    "v1beta4" => ApiVersion::V1beta4,
                    _ => {
                        return Err(Error::invalid(
                            "apiVersion",
                            &api,
                            "this kubeadm API version is not supported: use kubeadm.k8s.io/v1beta3 or v1beta4 \
                             (kubeadm config migrate converts older files)",
                        ));
                    }
                };
                if docs.api.is_some_and(|a| a != this) {
                    return Err(Error::invalid(
                        "apiVersion",
                        &api,
                        "kubeadm.k8s.io/v1beta3 and v1beta4 documents can not be mixed in one file",
                    ));
                }
                docs.api = Some(this);
                docs.kubeadm_kinds.push(kind.clone());
                match kind.as_str() {
                    "InitConfiguration" => put(&mut docs.init, doc, &kind)?,
                    "ClusterConfiguration" => put(&mut docs.cluster, doc, &kind)?,
                    "JoinConfiguration" => put(&mut docs.join, doc, &kind)?,
                    "ResetConfiguration" | "UpgradeConfiguration" if this == ApiVersion::V1beta4 => {
                        warnings.push(format!("ignored YAML document with GroupVersionKind {api}, Kind={kind}"));
                    }
                    _ => {
                        return Err(Error::invalid("kind", &kind, format!("unknown kind in {api}")));
                    }
                }
            }
            "kubelet.config.k8s.io" | "kubeproxy.config.k8s.io" => {
                let slot = match (api.as_str(), kind.as_str()) {
                    ("kubelet.config.k8s.io/v1beta1", "KubeletConfiguration") => &mut docs.kubelet,
                    ("kubeproxy.config.k8s.io/v1alpha1", "KubeProxyConfiguration") => &mut docs.kube_proxy,
                    _ => {
                        return Err(Error::invalid(
                            "apiVersion",
                            format!("{api}, Kind={kind}"),
                            "unsupported component config: use kubelet.config.k8s.io/v1beta1 KubeletConfiguration \
                             or kubeproxy.config.k8s.io/v1alpha1 KubeProxyConfiguration",
                        ));
                    }
                };
                put(slot, doc, &kind)?;
            }
            // kbinit's own documents (the API server proxy setting): decoded and validated by
            // `crate::api_server_proxy::from_config_text`; kubeadm warns about and ignores this group
            "kbinit.io" => {}
            _ => warnings.push(format!("ignored YAML document with GroupVersionKind {api}, Kind={kind}")),
        }
    }
    Ok(docs)
}

pub(super) fn decode_opt<T: serde::de::DeserializeOwned + Default>(
    doc: Option<Value>,
    kind: &str,
    api: ApiVersion,
    warnings: &mut Vec<String>,
) -> Result<T, Error> {
    match doc {
        Some(d) => decode(d, kind, api_version_string(api), warnings),
        None => Ok(T::default()),
    }
}

/// Fields that exist only in one API version: given in the other, they are unknown fields (warned, dropped).
pub(super) fn drop_foreign<T>(
    slot: &mut Option<T>,
    api: ApiVersion,
    only: ApiVersion,
    path: &str,
    kind: &str,
    w: &mut Vec<String>,
) {
    if api != only && slot.take().is_some() {
        w.push(format!("unknown field {path:?} in {kind} ({})", api_version_string(api)));
    }
}

/// The kubeadm release `kubeadm config migrate` must come from for an API version this release no longer reads.
/// **Unconfirmed (Q3)**: the 1.37 release note (PR 136016) says to migrate with "the 1.35 kubeadm binary"; the
/// stored 1.2x sources name, for each removed version, the release to migrate with in the same message.
pub(super) const V1BETA3_MIGRATE_WITH: &str = "v1.35";

/// kubeadm's refusal of a removed config API version (`validateSupportedVersion`, `oldKnownAPIVersions`: text
/// confirmed from stored kubeadm sources of 1.13–1.22, where v1alpha*/v1beta1 were removed the same way), with
/// the documents that carry it.
pub fn refuse_removed_api(api: ApiVersion, kinds: &[String], version: &KubeVersion) -> Result<(), Error> {
    if api != ApiVersion::V1beta3 || version.accepts_v1beta3() {
        return Ok(());
    }
    let gv = api_version_string(api);
    let field = if kinds.is_empty() { "apiVersion".to_string() } else { format!("{}.apiVersion", kinds.join(", ")) };
    Err(Error::invalid(
        field,
        gv,
        format!(
            "your configuration file uses an old API spec: {gv:?}. Please use kubeadm {V1BETA3_MIGRATE_WITH} instead and \
             run 'kubeadm config migrate --old-config old.yaml --new-config new.yaml', which will write the new, \
             similar spec using a newer API version. (Kubernetes {version} reads kubeadm.k8s.io/v1beta4 only; \
             'kbinit config migrate --old-config old.yaml --new-config new.yaml' migrates it for any release.)"
        ),
    ))
}
