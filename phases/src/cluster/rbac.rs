//! Small builders for the RBAC objects and ConfigMaps the cluster phases create, so each phase states only names.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// The group of every kubeadm bootstrap token.
pub const BOOTSTRAPPERS_GROUP: &str = "system:bootstrappers:kubeadm:default-node-token";
/// The group of every node.
pub const NODES_GROUP: &str = "system:nodes";
/// kube-system.
pub const KUBE_SYSTEM: &str = "kube-system";
/// kube-public.
pub const KUBE_PUBLIC: &str = "kube-public";
const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// Object metadata with a name and an optional namespace.
pub fn meta(namespace: Option<&str>, name: &str) -> ObjectMeta {
    ObjectMeta { name: Some(name.into()), namespace: namespace.map(str::to_string), ..Default::default() }
}

/// A subject of kind Group.
pub fn group(name: &str) -> Subject {
    Subject { kind: "Group".into(), name: name.into(), ..Default::default() }
}

/// A subject of kind User.
pub fn user(name: &str) -> Subject {
    Subject { kind: "User".into(), name: name.into(), ..Default::default() }
}

/// A subject of kind ServiceAccount.
pub fn service_account(namespace: &str, name: &str) -> Subject {
    Subject {
        kind: "ServiceAccount".into(),
        name: name.into(),
        namespace: Some(namespace.into()),
        ..Default::default()
    }
}

/// A rule over core-group `resources` with `verbs`, optionally limited to named objects.
pub fn core_rule(resources: &[&str], names: &[&str], verbs: &[&str]) -> PolicyRule {
    rule("", resources, names, verbs)
}

/// A rule over one API group.
pub fn rule(api_group: &str, resources: &[&str], names: &[&str], verbs: &[&str]) -> PolicyRule {
    let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    PolicyRule {
        api_groups: Some(vec![api_group.into()]),
        resources: Some(list(resources)),
        resource_names: (!names.is_empty()).then(|| list(names)),
        verbs: list(verbs),
        ..Default::default()
    }
}

/// A Role that may `get` one named object of a core resource (kubeadm's usual read grant).
pub fn get_one_role(namespace: &str, name: &str, resource: &str, object: &str) -> Role {
    Role { metadata: meta(Some(namespace), name), rules: Some(vec![core_rule(&[resource], &[object], &["get"])]) }
}

/// A RoleBinding of the Role of the same namespace named `role`.
pub fn role_binding(namespace: &str, name: &str, role: &str, subjects: Vec<Subject>) -> RoleBinding {
    RoleBinding {
        metadata: meta(Some(namespace), name),
        role_ref: RoleRef { api_group: RBAC_GROUP.into(), kind: "Role".into(), name: role.into() },
        subjects: Some(subjects),
    }
}

/// A ClusterRole.
pub fn cluster_role(meta: ObjectMeta, rules: Vec<PolicyRule>) -> ClusterRole {
    ClusterRole { metadata: meta, rules: Some(rules), ..Default::default() }
}

/// A ClusterRoleBinding of the ClusterRole `role`.
pub fn cluster_role_binding(meta: ObjectMeta, role: &str, subjects: Vec<Subject>) -> ClusterRoleBinding {
    ClusterRoleBinding {
        metadata: meta,
        role_ref: RoleRef { api_group: RBAC_GROUP.into(), kind: "ClusterRole".into(), name: role.into() },
        subjects: Some(subjects),
    }
}

/// A ConfigMap with string data.
pub fn config_map(meta: ObjectMeta, data: BTreeMap<String, String>) -> ConfigMap {
    ConfigMap { metadata: meta, data: Some(data), ..Default::default() }
}
