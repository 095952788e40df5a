//! Authorization as `--authorization-mode=Node,RBAC` with the `system:masters` bypass: RBAC is evaluated in full
//! over the store's Roles, ClusterRoles and bindings (verbs, apiGroups, resources with subresources and `*/sub`,
//! resourceNames, nonResourceURLs, `*`). Simplified: ClusterRole aggregation is not computed (aggregated roles must
//! carry their rules), and the Node authorizer is reduced to a fixed rule set for `system:node:<name>` users in
//! `system:nodes` (below) instead of the real graph of pods → secrets/configmaps; NodeRestriction admission is folded
//! into it (a node may write only its own Node).

use serde_json::Value;

use super::authn::UserInfo;
use super::resources::by_path;
use super::route::RequestInfo;
use super::status::{self, Reply};
use super::store::{Store, str_at};

const RBAC: &str = "rbac.authorization.k8s.io";

/// Whether `user` may do what `info` describes.
pub fn allowed(store: &Store, user: &UserInfo, info: &RequestInfo) -> bool {
    user.in_group("system:masters") || node_allows(user, info) || rbac_allows(store, user, info)
}

/// The 403 the authorization filter writes for a denied request.
pub fn forbidden(user: &UserInfo, info: &RequestInfo) -> Reply {
    if !info.resource_request {
        let msg = format!("User {:?} cannot {} path {:?}", user.name, info.verb, info.path);
        return status::forbidden(msg, "", "", "");
    }
    let resource = if info.subresource.is_empty() {
        info.resource.clone()
    } else {
        format!("{}/{}", info.resource, info.subresource)
    };
    let msg = if info.namespace.is_empty() || info.resource == "namespaces" && info.namespace == info.name {
        format!(
            "User {:?} cannot {} resource {resource:?} in API group {:?} at the cluster scope",
            user.name, info.verb, info.group
        )
    } else {
        format!(
            "User {:?} cannot {} resource {resource:?} in API group {:?} in the namespace {:?}",
            user.name, info.verb, info.group, info.namespace
        )
    };
    status::forbidden(msg, &info.group, &info.resource, &info.name)
}

/// The simplified Node authorizer: for `system:node:<n>` in `system:nodes` it allows reading nodes, services,
/// endpoints and pods; writing (create/update/patch/delete) only Node `<n>` and its status; and create/get/list/
/// watch on CSRs (the kubelet's certificate rotation). Everything else falls through to RBAC.
fn node_allows(user: &UserInfo, info: &RequestInfo) -> bool {
    let Some(node) = user.name.strip_prefix("system:node:") else { return false };
    if !user.in_group("system:nodes") || !info.resource_request {
        return false;
    }
    let read = matches!(info.verb.as_str(), "get" | "list" | "watch");
    match (info.group.as_str(), info.resource.as_str(), info.subresource.as_str()) {
        ("", "nodes", "") if read => true,
        ("", "nodes", "" | "status") => {
            matches!(info.verb.as_str(), "create" | "update" | "patch" | "delete" | "get") && info.name == node
                || info.verb == "create" && info.subresource.is_empty()
        }
        ("", "services" | "endpoints" | "pods", "") => read,
        ("certificates.k8s.io", "certificatesigningrequests", "") => read || info.verb == "create",
        _ => false,
    }
}

fn rbac_allows(store: &Store, user: &UserInfo, info: &RequestInfo) -> bool {
    let (Some(crbs), Some(rbs)) = (by_path(RBAC, "v1", "clusterrolebindings"), by_path(RBAC, "v1", "rolebindings"))
    else {
        return false;
    };
    let cluster = store.list(crbs, "");
    let namespaced = if info.namespace.is_empty() { Vec::new() } else { store.list(rbs, &info.namespace) };
    cluster
        .iter()
        .map(|b| (b, ""))
        .chain(namespaced.iter().map(|b| (b, info.namespace.as_str())))
        .filter(|(b, ns)| binds(b, user, ns))
        .any(|(b, ns)| role_rules(store, b, ns).iter().any(|rule| rule_allows(rule, info)))
}

/// Whether a binding names the user, one of its groups, or (for service accounts) its username.
fn binds(binding: &Value, user: &UserInfo, binding_ns: &str) -> bool {
    let subjects = binding.get("subjects").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    subjects.iter().any(|s| {
        let name = str_at(s, "/name");
        match str_at(s, "/kind") {
            "User" => user.name == name,
            "Group" => user.in_group(name),
            "ServiceAccount" => {
                let ns = match str_at(s, "/namespace") {
                    "" => binding_ns,
                    ns => ns,
                };
                user.name == format!("system:serviceaccount:{ns}:{name}")
            }
            _ => false,
        }
    })
}

/// The rules of the role a binding refers to (empty if the role does not exist, as in the real server).
fn role_rules(store: &Store, binding: &Value, binding_ns: &str) -> Vec<Value> {
    let name = str_at(binding, "/roleRef/name");
    let role = match str_at(binding, "/roleRef/kind") {
        "ClusterRole" => by_path(RBAC, "v1", "clusterroles").and_then(|r| store.get(r, "", name)),
        "Role" if !binding_ns.is_empty() => by_path(RBAC, "v1", "roles").and_then(|r| store.get(r, binding_ns, name)),
        _ => None,
    };
    role.and_then(|r| r.get("rules")).and_then(Value::as_array).cloned().unwrap_or_default()
}

fn strings(rule: &Value, key: &str) -> Vec<String> {
    rule.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

/// One PolicyRule against the request (rbac's `RuleAllows`).
pub fn rule_allows(rule: &Value, info: &RequestInfo) -> bool {
    let verbs = strings(rule, "verbs");
    if !verbs.iter().any(|v| v == "*" || *v == info.verb) {
        return false;
    }
    if !info.resource_request {
        return strings(rule, "nonResourceURLs")
            .iter()
            .any(|u| u == "*" || *u == info.path || u.strip_suffix('*').is_some_and(|p| info.path.starts_with(p)));
    }
    if !strings(rule, "apiGroups").iter().any(|g| g == "*" || *g == info.group) {
        return false;
    }
    let combined = if info.subresource.is_empty() {
        info.resource.clone()
    } else {
        format!("{}/{}", info.resource, info.subresource)
    };
    let resource_ok = strings(rule, "resources").iter().any(|r| {
        r == "*"
            || *r == combined
            || (!info.subresource.is_empty() && r.strip_prefix("*/") == Some(info.subresource.as_str()))
    });
    let names = strings(rule, "resourceNames");
    resource_ok && (names.is_empty() || names.contains(&info.name))
}
