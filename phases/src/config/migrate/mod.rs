//! `config migrate`: kubeadm configuration documents in any API version kbinit reads (v1beta3, v1beta4) rewritten
//! in one step in the newest version the target Kubernetes release accepts, as typed documents (the
//! [`super::wire`] types, serialized again), with one warning line per field whose shape or meaning changed.
//!
//! Facts from kubeadm's sources (`cmd/kubeadm/app/util/config/common.go` `MigrateOldConfig` and its mutators,
//! `apis/kubeadm/v1beta3/conversion.go`, the v1beta4 `doc.go` change list):
//! * kubeadm up to 1.30 writes v1beta3 and writes its then-experimental v1beta4 only with
//!   `--allow-experimental-api`; from 1.31 it writes v1beta4 (the flag no longer changes the version). kbinit
//!   takes the target release from `ClusterConfiguration.kubernetesVersion` (kbinit's newest release when there
//!   is none) and writes v1beta4 when [`KubeVersion::has_v1beta4`] says so, else v1beta3. It has no experimental
//!   version to write: its loader reads v1beta4 only for 1.31+, and kubeadm.k8s.io/v1 (1.37) cannot be used yet
//!   (its `doc.go`: "kubeadm TODO and newer can be used to migrate from v1beta4 to v1").
//! * `cmd/kubeadm/app/cmd/config.go` `newCmdConfigMigrate`: `--old-config` is mandatory, `--new-config` is written
//!   with mode 0644, else the documents go to stdout; the flag is `--allow-experimental-api`.
//! * v1beta3 map `extraArgs` / `kubeletExtraArgs` become `{name, value}` lists sorted by name (`convertToArgs`).
//! * `apiServer.timeoutForControlPlane` moves to `InitConfiguration.timeouts.controlPlaneComponentHealthCheck`,
//!   `discovery.timeout` to `JoinConfiguration.timeouts.discovery` (the two migrate mutators).
//! * Every kubeadm kind is migrated (Init, Cluster, Join; Reset and Upgrade exist only in v1beta4 and are kept);
//!   a GroupVersionKind kubeadm does not know is an error (`validateKnownGVKs`).
//!
//! Where kbinit differs on purpose: kubeadm writes the fully defaulted configuration of the machine it runs on
//! (this host's name and address, a freshly generated bootstrap token) and drops component configs. kbinit keeps
//! what the operator wrote, converted, and passes KubeletConfiguration / KubeProxyConfiguration through as they
//! are, so the file stays portable; [`migrate`] proves for every run that the new documents load to the same
//! resolved configuration as the old ones.

use serde::Serialize;
use serde_json::{Map, Value};

use super::load::{RemovedApi, api_version_string, load_init, load_init_as, load_join};
use super::model::{ApiVersion, HostFacts};
use super::wire::*;
use crate::Error;
use crate::version::KubeVersion;

const KUBEADM_GROUP: &str = "kubeadm.k8s.io";
const KUBELET_API: &str = "kubelet.config.k8s.io/v1beta1";
const KUBE_PROXY_API: &str = "kubeproxy.config.k8s.io/v1alpha1";

/// The result of [`migrate`].
#[derive(Debug, Clone)]
pub struct Migration {
    /// The new documents, YAML separated by `---`.
    pub text: String,
    /// The API version they are written in.
    pub api: ApiVersion,
    /// The Kubernetes release the version was chosen for.
    pub target: KubeVersion,
    /// One line per changed field (and what loading the documents warned about), without a `WARNING` prefix.
    pub warnings: Vec<String>,
}

/// The documents of the old file, classified (kubeadm kinds decoded later, component configs as given).
#[derive(Default)]
struct Old {
    api: Option<ApiVersion>,
    init: Option<Value>,
    cluster: Option<Value>,
    join: Option<Value>,
    /// ResetConfiguration, UpgradeConfiguration (v1beta4 only), as given.
    kept: Vec<Value>,
    kubelet: Option<Value>,
    kube_proxy: Option<Value>,
}

fn doc_name(n: usize, api: &str, kind: &str) -> String {
    format!("document {n} ({api}, Kind={kind})")
}

fn put(slot: &mut Option<Value>, doc: Value, name: &str, kind: &str) -> Result<(), Error> {
    if slot.is_some() {
        return Err(Error::Document(format!("{name}: duplicate {kind} document: give each kind at most once")));
    }
    *slot = Some(doc);
    Ok(())
}

fn classify(text: &str) -> Result<Old, Error> {
    let mut old = Old::default();
    for (i, doc) in crate::go_format::yaml::documents(text)?.into_iter().enumerate() {
        let n = i + 1;
        if !doc.is_object() {
            return Err(Error::Document(format!("document {n} is not a mapping with apiVersion and kind")));
        }
        let Some(api) = doc.get("apiVersion").and_then(Value::as_str).map(str::to_string) else {
            return Err(Error::Document(format!("document {n} has no \"apiVersion\"")));
        };
        let Some(kind) = doc.get("kind").and_then(Value::as_str).map(str::to_string) else {
            return Err(Error::Document(format!("document {n} ({api}) has no \"kind\"")));
        };
        let name = doc_name(n, &api, &kind);
        let (group, version) = api.split_once('/').unwrap_or(("", api.as_str()));
        if group == KUBEADM_GROUP {
            let this = match version {
                "v1beta3" => ApiVersion::V1beta3,
                "v1beta4" => ApiVersion::V1beta4,
                _ => {
                    return Err(Error::invalid(
                        format!("{name} apiVersion"),
                        &api,
                        "kbinit migrates kubeadm.k8s.io/v1beta3 and v1beta4; move older files to v1beta3 with \
                         kubeadm 1.22 to 1.26 first",
                    ));
                }
            };
            if old.api.is_some_and(|a| a != this) {
                return Err(Error::invalid(
                    format!("{name} apiVersion"),
                    &api,
                    "kubeadm.k8s.io/v1beta3 and v1beta4 documents can not be mixed in one file",
                ));
            }
            old.api = Some(this);
            match kind.as_str() {
                "InitConfiguration" => put(&mut old.init, doc, &name, &kind)?,
                "ClusterConfiguration" => put(&mut old.cluster, doc, &name, &kind)?,
                "JoinConfiguration" => put(&mut old.join, doc, &name, &kind)?,
                "ResetConfiguration" | "UpgradeConfiguration" if this == ApiVersion::V1beta4 => old.kept.push(doc),
                _ => return Err(Error::invalid(format!("{name} kind"), &kind, format!("unknown kind in {api}"))),
            }
        } else {
            match (api.as_str(), kind.as_str()) {
                (KUBELET_API, "KubeletConfiguration") => put(&mut old.kubelet, doc, &name, &kind)?,
                (KUBE_PROXY_API, "KubeProxyConfiguration") => put(&mut old.kube_proxy, doc, &name, &kind)?,
                _ => {
                    return Err(Error::invalid(
                        format!("{name} apiVersion"),
                        format!("{api}, Kind={kind}"),
                        "unknown configuration API: kubeadm documents, kubelet.config.k8s.io/v1beta1 \
                         KubeletConfiguration and kubeproxy.config.k8s.io/v1alpha1 KubeProxyConfiguration are known",
                    ));
                }
            }
        }
    }
    Ok(old)
}

/// The Kubernetes release the file is for: the ClusterConfiguration's `kubernetesVersion`, else kbinit's newest.
fn target_version(cluster: Option<&Value>) -> Result<KubeVersion, Error> {
    let text = cluster.and_then(|c| c.get("kubernetesVersion")).and_then(Value::as_str).unwrap_or("");
    KubeVersion::resolve(text).map_err(|e| match e {
        Error::Invalid { value, reason, .. } => {
            Error::Invalid { field: "ClusterConfiguration.kubernetesVersion".into(), value, reason }
        }
        other => other,
    })
}

/// Serializes a wire document with its apiVersion and kind; absent (`null`) fields are left out.
fn document<T: Serialize>(wire: &T, api: ApiVersion, kind: &str) -> Result<Value, Error> {
    let mut v = serde_json::to_value(wire).map_err(|e| Error::Encode(format!("{kind}: {e}")))?;
    strip_nulls(&mut v);
    let Value::Object(body) = v else {
        return Err(Error::Encode(format!("{kind} did not serialize to a mapping")));
    };
    let mut m = Map::new();
    m.insert("apiVersion".into(), Value::from(api_version_string(api)));
    m.insert("kind".into(), Value::from(kind));
    m.extend(body);
    Ok(Value::Object(m))
}

fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(strip_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// Host facts for loading: CRI detection is skipped (kubeadm's migrate passes skipCRIDetect) so a host with
/// several runtimes does not fail a file that names none.
fn load_facts(host: &HostFacts) -> HostFacts {
    HostFacts { cri_sockets: Vec::new(), ..host.clone() }
}

/// Loader warnings worth repeating: not the ones about documents `init`/`join` ignore or the deprecation note
/// that tells the operator to run this very command.
fn keep_load_warning(w: &str) -> bool {
    !w.starts_with("ignored YAML document") && !w.contains("kubeadm config migrate")
}

/// Migrates the documents of `text` (see the module doc). `host` is used only to load old and new documents
/// for the comparison that proves them equivalent; nothing of it is written into the result.
pub fn migrate(text: &str, allow_experimental: bool, host: &HostFacts) -> Result<Migration, Error> {
    let old = classify(text)?;
    let Some(from) = old.api else {
        return Err(Error::Document(
            "the file holds no kubeadm.k8s.io document (InitConfiguration, ClusterConfiguration, JoinConfiguration, \
             ResetConfiguration or UpgradeConfiguration) to migrate"
                .into(),
        ));
    };
    let target = target_version(old.cluster.as_ref())?;
    let to = if target.has_v1beta4() { ApiVersion::V1beta4 } else { ApiVersion::V1beta3 };
    let facts = load_facts(host);
    let mut warnings = Vec::new();
    if allow_experimental {
        warnings.push(if to == ApiVersion::V1beta3 {
            format!(
                "--allow-experimental-api: kubeadm of Kubernetes {target} would write its experimental \
                 kubeadm.k8s.io/v1beta4; kbinit reads v1beta4 only for Kubernetes 1.31 and newer, so the documents \
                 stay kubeadm.k8s.io/v1beta3"
            )
        } else {
            "--allow-experimental-api: kbinit knows no experimental kubeadm API version newer than \
             kubeadm.k8s.io/v1beta4 that could be used (kubeadm.k8s.io/v1 cannot be used yet); writing v1beta4"
                .to_string()
        });
    }

    let has_init = old.init.is_some() || old.cluster.is_some();
    // the old file is read in whatever version it has, even one its release no longer reads (v1beta3 for 1.37+)
    let before_init =
        if has_init { Some(load_init_as(Some(text), &Default::default(), &facts, RemovedApi::Read)?) } else { None };
    let before_join = match old.join {
        Some(_) => Some(load_join(Some(text), &Default::default(), &facts)?),
        None => None,
    };
    for l in before_init.iter().map(|l| &l.warnings).chain(before_join.iter().map(|l| &l.warnings)) {
        warnings.extend(l.iter().filter(|w| keep_load_warning(w)).cloned());
    }

    let mut ignored = Vec::new(); // unknown fields: the loads above reported them already
    let api = api_version_string(from);
    let dec_init: Option<WireInit> = old.init.map(|d| decode(d, "InitConfiguration", api, &mut ignored)).transpose()?;
    let dec_cluster: Option<WireCluster> =
        old.cluster.map(|d| decode(d, "ClusterConfiguration", api, &mut ignored)).transpose()?;
    let dec_join: Option<WireJoin> = old.join.map(|d| decode(d, "JoinConfiguration", api, &mut ignored)).transpose()?;

    let mut conv = convert::Converter { from, to, warnings: &mut warnings };
    let (init, cluster) = conv.init_and_cluster(dec_init, dec_cluster);
    let join = dec_join.map(|j| conv.join(j));

    let mut docs = Vec::new();
    if let Some(i) = &init {
        docs.push(document(i, to, "InitConfiguration")?);
    }
    if let Some(c) = &cluster {
        docs.push(document(c, to, "ClusterConfiguration")?);
    }
    if let Some(j) = &join {
        docs.push(document(j, to, "JoinConfiguration")?);
    }
    docs.extend(old.kept);
    docs.extend(old.kubelet);
    docs.extend(old.kube_proxy);
    let text_out = docs.iter().map(crate::go_format::yaml::to_yaml).collect::<Vec<_>>().join("---\n");

    if let Some(before) = before_init {
        let mut after = load_init(Some(&text_out), &Default::default(), &facts)?.config;
        after.api_version = before.config.api_version;
        if after != before.config {
            return Err(Error::Encode(
                "internal error: the migrated InitConfiguration/ClusterConfiguration would not load to the same \
                 configuration as the old documents; nothing was written"
                    .into(),
            ));
        }
    }
    if let Some(before) = before_join {
        let mut after = load_join(Some(&text_out), &Default::default(), &facts)?.config;
        after.api_version = before.config.api_version;
        if after != before.config {
            return Err(Error::Encode(
                "internal error: the migrated JoinConfiguration would not load to the same configuration as the old \
                 document; nothing was written"
                    .into(),
            ));
        }
    }
    Ok(Migration { text: text_out, api: to, target, warnings })
}

mod convert;

#[cfg(test)]
mod tests;
