//! Request attributes from method and path, the way the real server's `RequestInfoFactory` derives them: resource
//! requests under `/api/v1` and `/apis/<group>/<version>`, everything else a non-resource path.

use http::Method;

/// What authorization and the REST handlers see of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestInfo {
    pub resource_request: bool,
    pub path: String,
    /// get, list, create, update, patch, delete, deletecollection (resource requests) or the lower-case method.
    pub verb: String,
    pub group: String,
    pub version: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
}

/// Namespace subresources: `/api/v1/namespaces/<ns>/status` is the Namespace's status, not a resource in `<ns>`.
const NAMESPACE_SUBRESOURCES: &[&str] = &["status", "finalize"];

/// Splits a request into its attributes.
pub fn request_info(method: &Method, path: &str) -> RequestInfo {
    let mut info = RequestInfo { path: path.to_string(), verb: method.as_str().to_lowercase(), ..Default::default() };
    let parts: Vec<&str> = path.trim_matches('/').split('/').filter(|p| !p.is_empty()).collect();
    let rest: &[&str] = match parts.as_slice() {
        ["api", version, rest @ ..] if !rest.is_empty() => {
            info.version = version.to_string();
            rest
        }
        ["apis", group, version, rest @ ..] if !rest.is_empty() => {
            info.group = group.to_string();
            info.version = version.to_string();
            rest
        }
        _ => return info,
    };
    info.resource_request = true;
    let mut rest = rest;
    if rest[0] == "namespaces" && rest.len() > 1 {
        info.namespace = rest[1].to_string();
        if rest.len() > 2 && !NAMESPACE_SUBRESOURCES.contains(&rest[2]) {
            rest = &rest[2..];
        }
    }
    info.resource = rest[0].to_string();
    if let Some(name) = rest.get(1) {
        info.name = name.to_string();
    }
    if let Some(sub) = rest.get(2) {
        info.subresource = sub.to_string();
    }
    // the Namespace object itself: its name is its namespace
    if info.resource == "namespaces" && info.name.is_empty() && !info.namespace.is_empty() {
        info.name = info.namespace.clone();
    }
    let named = !info.name.is_empty();
    info.verb = match *method {
        Method::GET | Method::HEAD if named => "get",
        Method::GET | Method::HEAD => "list",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE if named => "delete",
        Method::DELETE => "deletecollection",
        _ => "",
    }
    .to_string();
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_like_the_real_server() {
        let i = request_info(&Method::GET, "/api/v1/namespaces/kube-system/secrets");
        assert_eq!(
            (i.verb.as_str(), i.resource.as_str(), i.namespace.as_str(), i.name.as_str()),
            ("list", "secrets", "kube-system", "")
        );
        let i = request_info(&Method::GET, "/api/v1/namespaces/kube-public");
        assert_eq!(
            (i.resource.as_str(), i.namespace.as_str(), i.name.as_str()),
            ("namespaces", "kube-public", "kube-public")
        );
        let i = request_info(&Method::PUT, "/apis/certificates.k8s.io/v1/certificatesigningrequests/c/approval");
        assert_eq!(
            (i.verb.as_str(), i.group.as_str(), i.subresource.as_str()),
            ("update", "certificates.k8s.io", "approval")
        );
        let i = request_info(&Method::GET, "/readyz");
        assert!(!i.resource_request && i.verb == "get");
    }
}
