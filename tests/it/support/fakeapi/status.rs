//! `Status` answers worded exactly as kube-apiserver v1.28.7 words them (k8s.io/apimachinery `errors.New*`), checked
//! against the recorded transcript by the conformance tests.

use serde_json::{Map, Value, json};

use super::resources::Resource;

/// An HTTP answer: status code and JSON body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub code: u16,
    pub body: Value,
}

impl Reply {
    pub fn ok(body: Value) -> Reply {
        Reply { code: 200, body }
    }
    pub fn created(body: Value) -> Reply {
        Reply { code: 201, body }
    }
}

/// `details` with only the non-empty fields, as Go's `omitempty` writes them (`{}` when all are empty).
fn details(name: &str, group: &str, kind: &str) -> Value {
    let mut d = Map::new();
    for (k, v) in [("name", name), ("group", group), ("kind", kind)] {
        if !v.is_empty() {
            d.insert(k.into(), v.into());
        }
    }
    Value::Object(d)
}

fn failure(code: u16, reason: &str, message: String, details: Option<Value>) -> Reply {
    let mut body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason,
    });
    if let Some(d) = details {
        body["details"] = d;
    }
    body["code"] = code.into();
    Reply { code, body }
}

/// 401: any presented credential that does not authenticate.
pub fn unauthorized() -> Reply {
    failure(401, "Unauthorized", "Unauthorized".into(), None)
}

/// 404 for a named object of a resource.
pub fn not_found(r: &Resource, name: &str) -> Reply {
    failure(404, "NotFound", format!("{} {name:?} not found", r.qualified()), Some(details(name, r.group, r.resource)))
}

/// 404 for a path nothing is served at.
pub fn path_not_found() -> Reply {
    failure(404, "NotFound", "the server could not find the requested resource".into(), Some(json!({})))
}

/// 409 AlreadyExists on create.
pub fn already_exists(r: &Resource, name: &str) -> Reply {
    failure(
        409,
        "AlreadyExists",
        format!("{} {name:?} already exists", r.qualified()),
        Some(details(name, r.group, r.resource)),
    )
}

/// 409 Conflict: a stale resourceVersion precondition.
pub fn conflict(r: &Resource, name: &str) -> Reply {
    failure(
        409,
        "Conflict",
        format!(
            "Operation cannot be fulfilled on {} {name:?}: the object has been modified; please apply your changes \
             to the latest version and try again",
            r.qualified()
        ),
        Some(details(name, r.group, r.resource)),
    )
}

/// One field error of a 422.
pub struct Cause {
    pub field: String,
    pub message: String,
}

/// 422 Invalid: `<Kind>[.group] "<name>" is invalid: <field>: <message>[, …]`.
pub fn invalid(r: &Resource, name: &str, causes: &[Cause]) -> Reply {
    let qualified_kind = if r.group.is_empty() { r.kind.to_string() } else { format!("{}.{}", r.kind, r.group) };
    let joined: Vec<String> = causes.iter().map(|c| format!("{}: {}", c.field, c.message)).collect();
    let joined = if joined.len() == 1 { joined[0].clone() } else { format!("[{}]", joined.join(", ")) };
    let mut d = details(name, r.group, r.kind);
    d["causes"] = causes
        .iter()
        .map(|c| json!({"reason": cause_reason(&c.message), "message": c.message, "field": c.field}))
        .collect();
    failure(422, "Invalid", format!("{qualified_kind} {name:?} is invalid: {joined}"), Some(d))
}

fn cause_reason(message: &str) -> &'static str {
    if message.starts_with("Required value") { "FieldValueRequired" } else { "FieldValueInvalid" }
}

/// 400 BadRequest with a free message.
pub fn bad_request(message: String) -> Reply {
    failure(400, "BadRequest", message, None)
}

/// 405 for a verb the resource does not support.
pub fn method_not_allowed(verb: &str, qualified: &str) -> Reply {
    failure(
        405,
        "MethodNotAllowed",
        format!("{verb} is not supported on resources of kind {qualified:?}"),
        Some(json!({"kind": qualified})),
    )
}

/// 415 for a PATCH content type the fake does not implement.
pub fn unsupported_media_type(content_type: &str) -> Reply {
    failure(
        415,
        "UnsupportedMediaType",
        format!(
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {content_type:?})"
        ),
        None,
    )
}

/// The 403 of the authorization filter: `<resource>[.group] ["<name>"] is forbidden: User "<u>" cannot <verb> …`
/// (resource requests) or `forbidden: User "<u>" cannot <verb> path "<path>"` (other paths).
pub fn forbidden(user_message: String, group: &str, resource: &str, name: &str) -> Reply {
    let message = if resource.is_empty() {
        format!("forbidden: {user_message}")
    } else {
        let qualified = if group.is_empty() { resource.to_string() } else { format!("{resource}.{group}") };
        if name.is_empty() {
            format!("{qualified} is forbidden: {user_message}")
        } else {
            format!("{qualified} {name:?} is forbidden: {user_message}")
        }
    };
    failure(403, "Forbidden", message, Some(details(name, group, resource)))
}

/// 200 `Status` of `Success` (DELETE of most kinds).
pub fn success(r: &Resource, name: &str, uid: &str) -> Reply {
    let mut d = details(name, r.group, r.resource);
    d["uid"] = uid.into();
    Reply::ok(json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": d}))
}
