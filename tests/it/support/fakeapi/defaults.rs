//! What a fresh v1.28.7 API server already holds that kubeadm relies on: the four system namespaces and the
//! bootstrap RBAC policy's roles and bindings kubeadm binds to or that answer anonymous/bootstrap requests (rules as
//! recorded in the transcript; cluster-admin and system:node-proxier from the real bootstrap policy). Not seeded:
//! the other ~60 default roles (controllers, aggregated view/edit/admin, …) and `system:coredns`, which is kubeadm's
//! (not a server default).

use serde_json::{Value, json};

use super::rest::insert;
use super::store::Store;

const NAMESPACES: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];

fn rule(verbs: &[&str], groups: &[&str], resources: &[&str]) -> Value {
    json!({"verbs": verbs, "apiGroups": groups, "resources": resources})
}

fn urls(verbs: &[&str], urls: &[&str]) -> Value {
    json!({"verbs": verbs, "nonResourceURLs": urls})
}

/// labels and annotations of the bootstrap policy
fn policy_meta(name: &str) -> Value {
    json!({
        "name": name,
        "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
        "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"},
    })
}

/// The default ClusterRoles the fake ships: (name, rules).
pub fn cluster_roles() -> Vec<(&'static str, Vec<Value>)> {
    let csr = "certificates.k8s.io";
    vec![
        ("cluster-admin", vec![rule(&["*"], &["*"], &["*"]), urls(&["*"], &["*"])]),
        (
            "system:discovery",
            vec![urls(
                &["get"],
                &[
                    "/api",
                    "/api/*",
                    "/apis",
                    "/apis/*",
                    "/healthz",
                    "/livez",
                    "/openapi",
                    "/openapi/*",
                    "/readyz",
                    "/version",
                    "/version/",
                ],
            )],
        ),
        (
            "system:basic-user",
            vec![
                rule(&["create"], &["authorization.k8s.io"], &["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
                rule(&["create"], &["authentication.k8s.io"], &["selfsubjectreviews"]),
            ],
        ),
        (
            "system:public-info-viewer",
            vec![urls(&["get"], &["/healthz", "/livez", "/readyz", "/version", "/version/"])],
        ),
        (
            "system:node-bootstrapper",
            vec![rule(&["create", "get", "list", "watch"], &[csr], &["certificatesigningrequests"])],
        ),
        (
            "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
            vec![rule(&["create"], &[csr], &["certificatesigningrequests/nodeclient"])],
        ),
        (
            "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
            vec![rule(&["create"], &[csr], &["certificatesigningrequests/selfnodeclient"])],
        ),
        (
            "system:node-proxier",
            vec![
                rule(&["list", "watch"], &[""], &["endpoints", "services"]),
                rule(&["get", "list", "watch"], &[""], &["nodes"]),
                rule(&["create", "patch", "update"], &["", "events.k8s.io"], &["events"]),
                rule(&["list", "watch"], &["discovery.k8s.io"], &["endpointslices"]),
            ],
        ),
    ]
}

/// The default ClusterRoleBindings: (name = role name, subjects).
pub fn cluster_role_bindings() -> Vec<(&'static str, Vec<Value>)> {
    let group = |g: &str| json!({"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": g});
    let user = |u: &str| json!({"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": u});
    vec![
        ("cluster-admin", vec![group("system:masters")]),
        ("system:discovery", vec![group("system:authenticated")]),
        ("system:basic-user", vec![group("system:authenticated")]),
        ("system:public-info-viewer", vec![group("system:authenticated"), group("system:unauthenticated")]),
        ("system:node-proxier", vec![user("system:kube-proxy")]),
    ]
}

/// Fills a new store.
pub fn seed(store: &mut Store) {
    for ns in NAMESPACES {
        insert(store, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}));
    }
    for (name, rules) in cluster_roles() {
        insert(
            store,
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": policy_meta(name), "rules": rules}),
        );
    }
    for (name, subjects) in cluster_role_bindings() {
        insert(
            store,
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": policy_meta(name),
                "subjects": subjects,
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
            }),
        );
    }
}
