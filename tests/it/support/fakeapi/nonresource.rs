//! Non-resource paths: `/livez`, `/readyz`, `/healthz` (plain `ok`, `?verbose` lists the checks), `/version` (the
//! recorded v1.28.7 body) and minimal discovery (`/api`, `/apis`, `/api/v1`, `/apis/<group>[/<version>]`) derived
//! from the resource table. Authorization has already run (anonymous may read the health and version paths).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::resources::RESOURCES;

/// The checks `/readyz?verbose` lists on v1.28.7 (transcript order).
const READY_CHECKS: &[&str] = &[
    "ping",
    "log",
    "etcd",
    "etcd-readiness",
    "informer-sync",
    "poststarthook/start-kube-apiserver-admission-initializer",
    "poststarthook/generic-apiserver-start-informers",
    "poststarthook/priority-and-fairness-config-consumer",
    "poststarthook/priority-and-fairness-filter",
    "poststarthook/storage-object-count-tracker-hook",
    "poststarthook/start-apiextensions-informers",
    "poststarthook/start-apiextensions-controllers",
    "poststarthook/crd-informer-synced",
    "poststarthook/start-service-ip-repair-controllers",
    "poststarthook/rbac/bootstrap-roles",
    "poststarthook/scheduling/bootstrap-system-priority-classes",
    "poststarthook/priority-and-fairness-config-producer",
    "poststarthook/start-system-namespaces-controller",
    "poststarthook/bootstrap-controller",
    "poststarthook/start-cluster-authentication-info-controller",
    "poststarthook/start-kube-apiserver-identity-lease-controller",
    "poststarthook/start-deprecated-kube-apiserver-identity-lease-garbage-collector",
    "poststarthook/start-kube-apiserver-identity-lease-garbage-collector",
    "poststarthook/start-legacy-token-tracking-controller",
    "poststarthook/aggregator-reload-proxy-client-cert",
    "poststarthook/start-kube-aggregator-informers",
    "poststarthook/apiservice-registration-controller",
    "poststarthook/apiservice-status-available-controller",
    "poststarthook/kube-apiserver-autoregistration",
    "autoregister-completion",
    "poststarthook/apiservice-openapi-controller",
    "poststarthook/apiservice-openapiv3-controller",
    "poststarthook/apiservice-discovery-controller",
    "shutdown",
];

/// A non-resource answer.
pub struct Plain {
    pub code: u16,
    pub content_type: &'static str,
    pub body: String,
}

const TEXT: &str = "text/plain; charset=utf-8";
const JSON: &str = "application/json";

fn json_reply(v: Value) -> Option<Plain> {
    Some(Plain { code: 200, content_type: JSON, body: serde_json::to_string_pretty(&v).expect("json") })
}

/// The answer for a GET of `path`, or None when nothing is served there.
pub fn get(path: &str, query: &[(String, String)], server_address: &str) -> Option<Plain> {
    let verbose = query.iter().any(|(k, _)| k == "verbose");
    let path = path.trim_end_matches('/');
    match path {
        "/livez" | "/readyz" | "/healthz" => {
            let body = if verbose {
                // readyz's list is the recorded one; livez/healthz leave out the readiness-only checks
                let checks = READY_CHECKS
                    .iter()
                    .filter(|c| path == "/readyz" || !matches!(**c, "etcd-readiness" | "informer-sync" | "shutdown"));
                let lines: String = checks.map(|c| format!("[+]{c} ok\n")).collect();
                format!("{lines}{} check passed\n", &path[1..])
            } else {
                "ok".into()
            };
            Some(Plain { code: 200, content_type: TEXT, body })
        }
        "/version" => json_reply(json!({
            "major": "1", "minor": "28", "gitVersion": "v1.28.7",
            "gitCommit": "c8dcb00be9961ec36d141d2e4103f85f92bcf291", "gitTreeState": "",
            "buildDate": "1970-01-01T00:00:00Z", "goVersion": "go1.21.13", "compiler": "gc", "platform": "linux/amd64",
        })),
        "/api" => json_reply(json!({
            "kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
        })),
        "/apis" => {
            let groups: Vec<Value> = groups().iter().map(|g| group(g)).collect();
            json_reply(json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}))
        }
        "/api/v1" => resource_list(""),
        _ => {
            let rest = path.strip_prefix("/apis/")?;
            match rest.split_once('/') {
                None if groups().contains(rest) => {
                    let mut g = group(rest);
                    g["kind"] = "APIGroup".into();
                    g["apiVersion"] = "v1".into();
                    json_reply(g)
                }
                Some((g, "v1")) if groups().contains(g) => resource_list(g),
                _ => None,
            }
        }
    }
}

fn groups() -> BTreeSet<&'static str> {
    RESOURCES.iter().map(|r| r.group).filter(|g| !g.is_empty()).chain(["authentication.k8s.io"]).collect()
}

fn group(name: &str) -> Value {
    let gv = json!({"groupVersion": format!("{name}/v1"), "version": "v1"});
    json!({"name": name, "versions": [gv.clone()], "preferredVersion": gv})
}

fn resource_list(group: &str) -> Option<Plain> {
    let verbs = json!(["create", "delete", "deletecollection", "get", "list", "patch", "update"]);
    let mut resources: Vec<Value> = Vec::new();
    for r in RESOURCES.iter().filter(|r| r.group == group) {
        resources.push(json!({"name": r.resource, "singularName": r.kind.to_lowercase(), "namespaced": r.namespaced, "kind": r.kind, "verbs": verbs}));
        for sub in r.subresources {
            resources.push(json!({"name": format!("{}/{sub}", r.resource), "singularName": "", "namespaced": r.namespaced, "kind": r.kind, "verbs": ["get", "patch", "update"]}));
        }
    }
    if group == "authentication.k8s.io" {
        resources.push(json!({"name": "selfsubjectreviews", "singularName": "selfsubjectreview", "namespaced": false, "kind": "SelfSubjectReview", "verbs": ["create"]}));
    }
    let gv = if group.is_empty() { "v1".to_string() } else { format!("{group}/v1") };
    json_reply(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}))
}
