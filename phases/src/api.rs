//! What a planner asks of the API server: typed Kubernetes objects to write, node changes, and the write policy
//! kubeadm uses for each, as data. The binary's `api` layer carries them out against a cluster or prints them in
//! `--dry-run`; nothing here talks to a server.
//!
//! Planners build k8s-openapi types (never YAML text) and wrap them with [`ApiObject::new`], which records the
//! REST coordinates the applier needs (group, version, plural, namespace, name) next to the serialized body.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::{Metadata, Resource};
use serde::Serialize;
use serde_json::{Value, json};

use crate::Error;

/// REST coordinates of a resource type, e.g. `rbac.authorization.k8s.io/v1` `rolebindings`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceType {
    /// API group; empty for the core group.
    pub group: &'static str,
    /// API version, e.g. `v1`.
    pub version: &'static str,
    /// Plural resource name as it appears in the URL, e.g. `configmaps`.
    pub plural: &'static str,
    /// Kind, e.g. `ConfigMap`.
    pub kind: &'static str,
    /// `true` for namespaced resources.
    pub namespaced: bool,
}

impl ResourceType {
    /// The coordinates of a k8s-openapi type.
    pub fn of<K: Resource>() -> ResourceType {
        ResourceType {
            group: K::GROUP,
            version: K::VERSION,
            plural: K::URL_PATH_SEGMENT,
            kind: K::KIND,
            namespaced: std::any::type_name::<K::Scope>().ends_with("NamespaceResourceScope"),
        }
    }

    /// `apiVersion` as written in objects: `v1` or `group/version`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.to_string() } else { format!("{}/{}", self.group, self.version) }
    }

    /// The group as kubeadm's dry-run prints it: `core/v1` for the core group, else `group/version`.
    pub fn dry_run_group(&self) -> String {
        if self.group.is_empty() { format!("core/{}", self.version) } else { self.api_version() }
    }

    /// URL path of the collection, e.g. `/api/v1/namespaces/kube-system/configmaps`.
    pub fn collection_path(&self, namespace: Option<&str>) -> String {
        let root = if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        };
        match namespace {
            Some(ns) if self.namespaced => format!("{root}/namespaces/{ns}/{}", self.plural),
            _ => format!("{root}/{}", self.plural),
        }
    }

    /// URL path of one object.
    pub fn item_path(&self, namespace: Option<&str>, name: &str) -> String {
        format!("{}/{name}", self.collection_path(namespace))
    }
}

/// A typed object ready to be sent: its coordinates and its JSON body (with `apiVersion` and `kind`).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiObject {
    /// Resource type.
    pub resource: ResourceType,
    /// Namespace (`None` for cluster-scoped objects).
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
    /// The serialized object.
    pub body: Value,
}

impl ApiObject {
    /// Wraps a typed object. Its `metadata.name` must be set.
    pub fn new<K>(object: &K) -> Result<ApiObject, Error>
    where
        K: Resource + Metadata<Ty = ObjectMeta> + Serialize,
    {
        let meta = object.metadata();
        let name = meta.name.clone().unwrap_or_default();
        if name.is_empty() {
            return Err(Error::Encode(format!("a {} without metadata.name cannot be sent", K::KIND)));
        }
        let body = serde_json::to_value(object)
            .map_err(|e| Error::Encode(format!("cannot encode {} {name}: {e}", K::KIND)))?;
        Ok(ApiObject { resource: ResourceType::of::<K>(), namespace: meta.namespace.clone(), name, body })
    }

    /// Converts the body back into its typed form.
    pub fn typed<K: serde::de::DeserializeOwned>(&self) -> Result<K, Error> {
        serde_json::from_value(self.body.clone())
            .map_err(|e| Error::Encode(format!("cannot decode {} {}: {e}", self.resource.kind, self.key())))
    }

    /// `namespace/name` or `name`, for messages.
    pub fn key(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// Names an object that is not carried in full (an owner to look up, a node to patch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectKey {
    /// Resource type.
    pub resource: ResourceType,
    /// Namespace (`None` for cluster-scoped objects).
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

/// How an object is written, following kubeadm's `apiclient` helpers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WritePolicy {
    /// POST; on 409 AlreadyExists, PUT over it (re-reading and retrying on 409 Conflict). kubeadm's
    /// `CreateOrUpdate*` for ConfigMaps, Secrets, RBAC, Deployments, DaemonSets.
    CreateOrUpdate,
    /// POST; on 409 AlreadyExists leave the existing object alone (kubeadm's `CreateOrRetain*`, ServiceAccounts).
    CreateOrKeep,
    /// GET first; PUT over an existing object, POST otherwise (kubeadm's bootstrap-token `UpdateOrCreateTokens`,
    /// which is why its dry-run shows a GET before each token Secret).
    ReadThenWrite,
    /// GET first; an existing object is an error, else POST (kubeadm's `CreateNewTokens`: a token id collision).
    CreateNew,
}

/// Sets this object's single controller owner reference, whose `uid` the applier reads from the live owner
/// (kubeadm-certs is owned by its TTL token Secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// The owner object.
    pub key: ObjectKey,
}

/// Labels, annotations and taints a phase wants on a Node. The applier GETs the Node (waiting until the kubelet
/// has registered it), computes the strategic-merge patch with [`NodeChange::patch_for`] and PATCHes it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NodeChange {
    /// Labels to set.
    pub labels: BTreeMap<String, String>,
    /// Annotations to set.
    pub annotations: BTreeMap<String, String>,
    /// Taints to add (kept in this order, followed by the node's other existing taints); `None` = leave taints.
    pub taints: Option<Vec<Taint>>,
}

impl NodeChange {
    /// The strategic-merge patch that brings `current` to the wanted state, or `None` when nothing would change
    /// (so a re-run sends nothing). The taint list is sent whole: the wanted taints first, then every existing
    /// taint that is not one of them (same key and effect), as kubeadm's mark-control-plane does.
    pub fn patch_for(&self, current: &Node) -> Option<Value> {
        let mut metadata = serde_json::Map::new();
        let have_labels = current.metadata.labels.clone().unwrap_or_default();
        let labels: serde_json::Map<String, Value> = self
            .labels
            .iter()
            .filter(|(k, v)| have_labels.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        if !labels.is_empty() {
            metadata.insert("labels".into(), Value::Object(labels));
        }
        let have_annotations = current.metadata.annotations.clone().unwrap_or_default();
        let annotations: serde_json::Map<String, Value> = self
            .annotations
            .iter()
            .filter(|(k, v)| have_annotations.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        if !annotations.is_empty() {
            metadata.insert("annotations".into(), Value::Object(annotations));
        }
        let mut patch = serde_json::Map::new();
        if !metadata.is_empty() {
            patch.insert("metadata".into(), Value::Object(metadata));
        }
        if let Some(want) = &self.taints {
            let existing = current.spec.as_ref().and_then(|s| s.taints.clone()).unwrap_or_default();
            let mut merged = want.clone();
            for t in &existing {
                if !merged.iter().any(|w| w.key == t.key && w.effect == t.effect) {
                    merged.push(t.clone());
                }
            }
            let unchanged = merged.len() == existing.len() && merged.iter().all(|m| existing.contains(m));
            if !unchanged {
                let list: Vec<Value> = merged.iter().map(taint_json).collect();
                patch.insert("spec".into(), json!({ "taints": list }));
            }
        }
        if patch.is_empty() { None } else { Some(Value::Object(patch)) }
    }
}

/// A taint as kubeadm's patch writes it: keys in alphabetical order, empty value omitted.
fn taint_json(t: &Taint) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("effect".into(), Value::String(t.effect.clone()));
    m.insert("key".into(), Value::String(t.key.clone()));
    if let Some(at) = &t.time_added {
        m.insert("timeAdded".into(), serde_json::to_value(at).unwrap_or(Value::Null));
    }
    if let Some(v) = t.value.as_ref().filter(|v| !v.is_empty()) {
        m.insert("value".into(), Value::String(v.clone()));
    }
    Value::Object(m)
}

/// One thing to do against the API server.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiOp {
    /// Write an object with a policy, optionally owned by another object.
    Write {
        /// The object.
        object: ApiObject,
        /// How to write it.
        policy: WritePolicy,
        /// Its controller owner, if any.
        owner: Option<Owner>,
    },
    /// Change a Node (see [`NodeChange`]).
    PatchNode {
        /// Node name.
        name: String,
        /// What to change.
        change: NodeChange,
    },
}

/// A step of a cluster phase: a line for the operator or an API operation, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiStep {
    /// A line for the operator, e.g. `[bootstrap-token] Configured RBAC rules to allow …`.
    Say(String),
    /// An API operation (boxed: an object is much larger than a line).
    Op(Box<ApiOp>),
}

impl ApiStep {
    /// Shorthand for [`ApiStep::Say`].
    pub fn say(line: impl Into<String>) -> ApiStep {
        ApiStep::Say(line.into())
    }

    /// Shorthand for a [`WritePolicy::CreateOrUpdate`] write of a typed object.
    pub fn create_or_update<K>(object: &K) -> Result<ApiStep, Error>
    where
        K: Resource + Metadata<Ty = ObjectMeta> + Serialize,
    {
        ApiStep::write(object, WritePolicy::CreateOrUpdate)
    }

    /// A write of a typed object with the given policy and no owner.
    pub fn write<K>(object: &K, policy: WritePolicy) -> Result<ApiStep, Error>
    where
        K: Resource + Metadata<Ty = ObjectMeta> + Serialize,
    {
        Ok(ApiStep::op(ApiOp::Write { object: ApiObject::new(object)?, policy, owner: None }))
    }

    /// Wraps an operation.
    pub fn op(op: ApiOp) -> ApiStep {
        ApiStep::Op(Box::new(op))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use k8s_openapi::api::core::v1::{ConfigMap, NodeSpec};
    use k8s_openapi::api::rbac::v1::ClusterRole;

    #[test]
    fn coordinates_of_core_and_rbac_types() {
        let cm = ResourceType::of::<ConfigMap>();
        assert_eq!(cm.dry_run_group(), "core/v1");
        assert!(cm.namespaced);
        assert_eq!(cm.item_path(Some("kube-system"), "x"), "/api/v1/namespaces/kube-system/configmaps/x");
        let cr = ResourceType::of::<ClusterRole>();
        assert!(!cr.namespaced);
        assert_eq!(cr.dry_run_group(), "rbac.authorization.k8s.io/v1");
        assert_eq!(cr.item_path(Some("ignored"), "r"), "/apis/rbac.authorization.k8s.io/v1/clusterroles/r");
    }

    #[test]
    fn object_body_carries_api_version_and_kind() {
        let cm = ConfigMap {
            metadata: ObjectMeta { name: Some("a".into()), namespace: Some("ns".into()), ..Default::default() },
            ..Default::default()
        };
        let o = ApiObject::new(&cm).unwrap();
        assert_eq!(o.body["apiVersion"], "v1");
        assert_eq!(o.body["kind"], "ConfigMap");
        assert_eq!(o.key(), "ns/a");
        assert!(ApiObject::new(&ConfigMap::default()).is_err());
    }

    fn taint(key: &str, effect: &str) -> Taint {
        Taint { key: key.into(), effect: effect.into(), ..Default::default() }
    }

    #[test]
    fn node_patch_matches_kubeadm_and_converges() {
        let change = NodeChange {
            labels: [("node-role.kubernetes.io/control-plane".to_string(), String::new())].into(),
            taints: Some(vec![taint("node-role.kubernetes.io/control-plane", "NoSchedule")]),
            ..Default::default()
        };
        let fresh = Node::default();
        let p = change.patch_for(&fresh).unwrap();
        assert_eq!(
            p.to_string(),
            r#"{"metadata":{"labels":{"node-role.kubernetes.io/control-plane":""}},"spec":{"taints":[{"effect":"NoSchedule","key":"node-role.kubernetes.io/control-plane"}]}}"#
        );
        let mut done = Node::default();
        done.metadata.labels = Some([("node-role.kubernetes.io/control-plane".to_string(), String::new())].into());
        done.spec = Some(NodeSpec {
            taints: Some(vec![
                taint("other", "NoExecute"),
                taint("node-role.kubernetes.io/control-plane", "NoSchedule"),
            ]),
            ..Default::default()
        });
        assert_eq!(change.patch_for(&done), None, "a node already marked needs no patch");
        done.spec = Some(NodeSpec { taints: Some(vec![taint("other", "NoExecute")]), ..Default::default() });
        let p = change.patch_for(&done).unwrap();
        assert_eq!(p["spec"]["taints"][0]["key"], "node-role.kubernetes.io/control-plane");
        assert_eq!(p["spec"]["taints"][1]["key"], "other");
        assert!(p.get("metadata").is_none());
    }
}
