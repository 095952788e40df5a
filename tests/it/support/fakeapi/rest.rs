//! The REST verbs over the store, after authentication and authorization: GET, LIST (selectors), POST (201,
//! AlreadyExists, Invalid name, missing namespace), PUT (unconditional or resourceVersion-checked), PATCH (merge,
//! strategic-as-merge, apply as create-or-merge), DELETE (Status or object; ownerReference garbage collection at
//! once; a Namespace takes its contents with it at once instead of going through Terminating).
//! Simplified: no managedFields, no field-manager conflicts, `limit` cuts the list without a `continue` token, no
//! watch, no admission beyond the namespace check, no defaulting beyond what each kind's `normalise` lists.

use base64::Engine;
use serde_json::{Value, json};

use super::authn::UserInfo;
use super::patch::merge;
use super::resources::{Resource, by_kind, by_path};
use super::route::RequestInfo;
use super::selectors::{fields_match, labels_match, param};
use super::status::{self, Cause, Reply};
use super::store::{Store, new_uid, now_rfc3339, random_suffix, str_at};
use super::validate::{name_errors, name_required};

/// One authorized resource request.
pub struct Call<'a> {
    pub info: &'a RequestInfo,
    pub query: &'a [(String, String)],
    pub content_type: &'a str,
    pub body: &'a [u8],
    pub user: &'a UserInfo,
}

/// Answers an authorized resource request.
pub fn handle(store: &mut Store, call: &Call) -> Reply {
    let info = call.info;
    if (info.group.as_str(), info.resource.as_str()) == ("authentication.k8s.io", "selfsubjectreviews") {
        return self_subject_review(call);
    }
    let Some(r) = by_path(&info.group, &info.version, &info.resource) else { return status::path_not_found() };
    if !info.subresource.is_empty() && !r.subresources.contains(&info.subresource.as_str()) {
        return status::path_not_found();
    }
    let body = || -> Result<Value, Reply> {
        serde_json::from_slice(call.body).map_err(|e| status::bad_request(format!("the request body is invalid: {e}")))
    };
    let result = match info.verb.as_str() {
        "get" => store.get(r, &info.namespace, &info.name).cloned().map(Reply::ok).ok_or_else(|| not_found(r, info)),
        "list" => list(store, r, info, call.query),
        "create" => body().and_then(|obj| create(store, r, &info.namespace, obj, Some(call.user))),
        "update" => body().and_then(|obj| update(store, r, info, obj)),
        "patch" => patch(store, r, call),
        "delete" => delete(store, r, info),
        verb => Err(status::method_not_allowed(verb, &r.qualified())),
    };
    result.unwrap_or_else(|e| e)
}

fn not_found(r: &Resource, info: &RequestInfo) -> Reply {
    status::not_found(r, &info.name)
}

fn self_subject_review(call: &Call) -> Reply {
    if call.info.verb != "create" {
        return status::method_not_allowed(&call.info.verb, "selfsubjectreviews.authentication.k8s.io");
    }
    Reply::created(json!({
        "kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"creationTimestamp": now_rfc3339()},
        "status": {"userInfo": {"username": call.user.name, "groups": call.user.groups}},
    }))
}

fn list(store: &Store, r: &Resource, info: &RequestInfo, query: &[(String, String)]) -> Result<Reply, Reply> {
    let mut items = Vec::new();
    for mut obj in store.list(r, &info.namespace) {
        if let Some(sel) = param(query, "labelSelector").filter(|s| !s.is_empty())
            && !labels_match(&obj, sel)
        {
            continue;
        }
        if let Some(sel) = param(query, "fieldSelector").filter(|s| !s.is_empty()) {
            let ok = fields_match(&obj, r.resource, sel)
                .map_err(|field| status::bad_request(format!("field label not supported: {field}")))?;
            if !ok {
                continue;
            }
        }
        // list items carry no kind/apiVersion, as the real server writes them
        if let Some(m) = obj.as_object_mut() {
            m.remove("kind");
            m.remove("apiVersion");
        }
        items.push(obj);
    }
    // `limit`: the first items only (the fake gives no `continue` token for the rest)
    if let Some(limit) = param(query, "limit").and_then(|l| l.parse::<usize>().ok()).filter(|l| *l > 0) {
        items.truncate(limit);
    }
    Ok(Reply::ok(json!({
        "kind": format!("{}List", r.kind), "apiVersion": r.api_version(),
        "metadata": {"resourceVersion": store.revision()}, "items": items,
    })))
}

/// Seeds or creates an object (POST semantics): the requester, when known, is recorded in CSRs.
pub fn create(
    store: &mut Store,
    r: &Resource,
    url_ns: &str,
    mut obj: Value,
    requester: Option<&UserInfo>,
) -> Result<Reply, Reply> {
    if !obj.is_object() {
        return Err(status::bad_request("the request body must be a JSON object".into()));
    }
    obj["kind"] = r.kind.into();
    obj["apiVersion"] = r.api_version().into();
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    fix_namespace(r, url_ns, &mut obj)?;
    let mut name = str_at(&obj, "/metadata/name").to_string();
    if name.is_empty() && !str_at(&obj, "/metadata/generateName").is_empty() {
        name = format!("{}{}", str_at(&obj, "/metadata/generateName"), random_suffix());
        obj["metadata"]["name"] = name.clone().into();
    }
    let errors: Vec<Cause> = if name.is_empty() { vec![name_required()] } else { name_errors(r.name_rule, &name) };
    if !errors.is_empty() {
        return Err(status::invalid(r, &name, &errors));
    }
    let ns = str_at(&obj, "/metadata/namespace").to_string();
    if r.namespaced
        && let Some(namespaces) = by_path("", "v1", "namespaces")
        && store.get(namespaces, "", &ns).is_none()
    {
        return Err(status::not_found(namespaces, &ns));
    }
    if store.get(r, &ns, &name).is_some() {
        return Err(status::already_exists(r, &name));
    }
    // etcd3 storage refuses a create whose resourceVersion parses to anything but 0; "0" (kubeadm's kube-dns
    // Service carries it) and "" are accepted
    let rv = str_at(&obj, "/metadata/resourceVersion");
    if !rv.is_empty() && rv != "0" {
        return Err(Reply {
            code: 500,
            body: json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "Internal error occurred: resourceVersion should not be set on objects to be created",
                "reason": "InternalError", "details": {"causes": [{"message": "resourceVersion should not be set on objects to be created"}]},
                "code": 500}),
        });
    }
    let meta = &mut obj["metadata"];
    meta["uid"] = new_uid().into();
    meta["creationTimestamp"] = now_rfc3339().into();
    if let Some(m) = meta.as_object_mut() {
        m.remove("deletionTimestamp");
    }
    normalise(r, &mut obj, None);
    if r.kind == "CertificateSigningRequest" {
        let u = requester.cloned().unwrap_or_else(|| UserInfo::authenticated("system:admin".into(), vec![]));
        obj["spec"]["username"] = u.name.into();
        obj["spec"]["groups"] = u.groups.into();
        if !obj.get("status").is_some_and(Value::is_object) {
            obj["status"] = json!({});
        }
    }
    Ok(Reply::created(store.put(r, obj)))
}

/// The object's namespace must be the URL's (or empty, then it is the URL's); cluster-scoped objects lose theirs.
fn fix_namespace(r: &Resource, url_ns: &str, obj: &mut Value) -> Result<(), Reply> {
    let body_ns = str_at(obj, "/metadata/namespace").to_string();
    if !r.namespaced {
        if let Some(m) = obj["metadata"].as_object_mut() {
            m.remove("namespace");
        }
        return Ok(());
    }
    if !body_ns.is_empty() && body_ns != url_ns {
        return Err(status::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request".into(),
        ));
    }
    obj["metadata"]["namespace"] = url_ns.into();
    Ok(())
}

/// Per-kind server-side filling: Secret `stringData` folded into base64 `data` and `type` defaulted; Namespace
/// finalizers, phase and name label. `old` is the stored object on updates.
fn normalise(r: &Resource, obj: &mut Value, old: Option<&Value>) {
    match r.kind {
        "Secret" => {
            if let Some(Value::Object(sd)) = obj.as_object_mut().and_then(|m| m.remove("stringData")) {
                if !obj.get("data").is_some_and(Value::is_object) {
                    obj["data"] = json!({});
                }
                for (k, v) in sd {
                    let b64 = base64::engine::general_purpose::STANDARD.encode(v.as_str().unwrap_or_default());
                    obj["data"][k] = b64.into();
                }
            }
            if str_at(obj, "/type").is_empty() {
                obj["type"] = old.map(|o| str_at(o, "/type")).filter(|t| !t.is_empty()).unwrap_or("Opaque").into();
            }
        }
        "Namespace" => {
            let name = str_at(obj, "/metadata/name").to_string();
            obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = name.into();
            if obj.pointer("/spec/finalizers").is_none() {
                obj["spec"]["finalizers"] = json!(["kubernetes"]);
            }
            obj["status"] = old.and_then(|o| o.get("status").cloned()).unwrap_or(json!({"phase": "Active"}));
        }
        _ => {}
    }
}

/// Carries what a client may not change (identity, creation time) and what the addressed part does not own.
fn carry_over(r: &Resource, sub: &str, old: &Value, new: &mut Value) {
    for k in ["uid", "creationTimestamp", "namespace", "name", "generateName"] {
        match old["metadata"].get(k) {
            Some(v) => new["metadata"][k] = v.clone(),
            None => {
                if let Some(m) = new["metadata"].as_object_mut() {
                    m.remove(k);
                }
            }
        }
    }
    new["kind"] = r.kind.into();
    new["apiVersion"] = r.api_version().into();
    let only = |part: &str, new: &mut Value| {
        let mut kept = old.clone();
        kept[part] = new.get(part).cloned().unwrap_or(Value::Null);
        *new = kept;
    };
    match sub {
        "status" => only("status", new),
        "finalize" => only("spec", new),
        "approval" => {
            let conditions = new.pointer("/status/conditions").cloned().unwrap_or(Value::Null);
            *new = old.clone();
            new["status"]["conditions"] = conditions;
        }
        // the main resource does not write the status of kinds that have a status subresource
        _ if r.subresources.contains(&"status") => match old.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(m) = new.as_object_mut() {
                    m.remove("status");
                }
            }
        },
        _ => {}
    }
}

/// Stores `new` over `old` unless nothing changed (the real server does not bump resourceVersion on a no-op).
fn save(store: &mut Store, r: &Resource, old: &Value, mut new: Value) -> Value {
    new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
    if new == *old { new } else { store.put(r, new) }
}

fn update(store: &mut Store, r: &Resource, info: &RequestInfo, mut obj: Value) -> Result<Reply, Reply> {
    let body_name = str_at(&obj, "/metadata/name").to_string();
    if body_name != info.name {
        return Err(status::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({})",
            info.name
        )));
    }
    fix_namespace(r, &info.namespace, &mut obj)?;
    let Some(old) = store.get(r, &info.namespace, &info.name).cloned() else { return Err(not_found(r, info)) };
    let rv = str_at(&obj, "/metadata/resourceVersion");
    if !rv.is_empty() && rv != str_at(&old, "/metadata/resourceVersion") {
        return Err(status::conflict(r, &info.name));
    }
    carry_over(r, &info.subresource, &old, &mut obj);
    normalise(r, &mut obj, Some(&old));
    Ok(Reply::ok(save(store, r, &old, obj)))
}

fn patch(store: &mut Store, r: &Resource, call: &Call) -> Result<Reply, Reply> {
    let info = call.info;
    let content_type = call.content_type.split(';').next().unwrap_or_default().trim();
    let parsed: Value = match content_type {
        "application/merge-patch+json" | "application/strategic-merge-patch+json" => {
            serde_json::from_slice(call.body).map_err(|e| status::bad_request(format!("error decoding patch: {e}")))?
        }
        "application/apply-patch+yaml" => {
            let text = String::from_utf8_lossy(call.body);
            kbinit_phases::go_format::yaml::from_yaml(&text)
                .map_err(|e| status::bad_request(format!("error decoding YAML: {e}")))?
        }
        other => return Err(status::unsupported_media_type(other)),
    };
    let apply = content_type == "application/apply-patch+yaml";
    let Some(old) = store.get(r, &info.namespace, &info.name).cloned() else {
        if !apply {
            return Err(not_found(r, info));
        }
        if str_at(&parsed, "/metadata/name") != info.name {
            return Err(status::bad_request(format!(
                "the name of the object ({}) does not match the name on the URL ({})",
                str_at(&parsed, "/metadata/name"),
                info.name
            )));
        }
        return create(store, r, &info.namespace, parsed, Some(call.user));
    };
    let rv = str_at(&parsed, "/metadata/resourceVersion");
    if !rv.is_empty() && rv != str_at(&old, "/metadata/resourceVersion") {
        return Err(status::conflict(r, &info.name));
    }
    let mut new = old.clone();
    merge(&mut new, &parsed);
    carry_over(r, &info.subresource, &old, &mut new);
    normalise(r, &mut new, Some(&old));
    Ok(Reply::ok(save(store, r, &old, new)))
}

fn delete(store: &mut Store, r: &Resource, info: &RequestInfo) -> Result<Reply, Reply> {
    let key = super::store::Key::new(r, &info.namespace, &info.name);
    let Some(mut old) = store.objects.remove(&key) else { return Err(not_found(r, info)) };
    if r.kind == "Namespace" {
        store.objects.retain(|k, _| k.namespace != info.name);
        old["metadata"]["deletionTimestamp"] = now_rfc3339().into();
        old["status"]["phase"] = "Terminating".into();
    }
    store.next_rv();
    collect_garbage(store);
    if r.delete_returns_object {
        Ok(Reply::ok(old))
    } else {
        Ok(status::success(r, &info.name, str_at(&old, "/metadata/uid")))
    }
}

/// Deletes, at once and transitively, every object all of whose ownerReferences name uids no longer stored
/// (the real garbage collector's background propagation, without its delay).
pub fn collect_garbage(store: &mut Store) {
    loop {
        let uids: std::collections::HashSet<String> =
            store.objects.values().map(|o| str_at(o, "/metadata/uid").to_string()).collect();
        let orphans: Vec<_> = store
            .objects
            .iter()
            .filter(|(_, o)| {
                let owners = o.pointer("/metadata/ownerReferences").and_then(Value::as_array);
                owners.is_some_and(|refs| !refs.is_empty() && refs.iter().all(|x| !uids.contains(str_at(x, "/uid"))))
            })
            .map(|(k, _)| k.clone())
            .collect();
        if orphans.is_empty() {
            return;
        }
        for k in orphans {
            store.objects.remove(&k);
        }
    }
}

/// Creates an object given whole (kind and apiVersion pick the resource), as an admin would; panics on failure.
pub fn insert(store: &mut Store, obj: Value) -> Value {
    let r = by_kind(str_at(&obj, "/apiVersion"), str_at(&obj, "/kind"))
        .unwrap_or_else(|| panic!("the fake API server does not serve {}", obj["kind"]));
    let ns = str_at(&obj, "/metadata/namespace").to_string();
    match create(store, r, &ns, obj, None) {
        Ok(reply) => reply.body,
        Err(e) => panic!("seeding the fake API server: {}", e.body),
    }
}
