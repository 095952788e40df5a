//! The resource table: every REST resource the fake serves, with its group, version, kind, scope, the name rule its
//! validation applies and what DELETE answers. Nothing here touches the store.

/// Which name validation a kind's `metadata.name` gets (the real server's `ValidateObjectMeta` name functions).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NameRule {
    /// DNS-1123 subdomain (ConfigMaps, Secrets, Nodes, Deployments, …).
    Subdomain,
    /// DNS-1123 label (Namespaces, Services).
    Label,
    /// Any name usable as a path segment (RBAC objects, CSRs): not `.`/`..`, no `/` or `%`.
    PathSegment,
}

/// One REST resource.
#[derive(Debug)]
pub struct Resource {
    pub group: &'static str,
    pub version: &'static str,
    pub resource: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub name_rule: NameRule,
    /// DELETE answers with the object (as the real registry does for Namespaces and Services) instead of a
    /// `Status` of `Success`.
    pub delete_returns_object: bool,
    /// Subresources with their own PUT/PATCH (only `status`-like parts of the object change through them).
    pub subresources: &'static [&'static str],
}

impl Resource {
    /// `apiVersion` as written in objects: `v1` or `group/version`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.to_string() } else { format!("{}/{}", self.group, self.version) }
    }
    /// `resource` or `resource.group`, as the real server names a resource in its messages (GroupResource.String).
    pub fn qualified(&self) -> String {
        if self.group.is_empty() { self.resource.to_string() } else { format!("{}.{}", self.resource, self.group) }
    }
}

const fn res(
    group: &'static str,
    resource: &'static str,
    kind: &'static str,
    namespaced: bool,
    name_rule: NameRule,
) -> Resource {
    Resource {
        group,
        version: "v1",
        resource,
        kind,
        namespaced,
        name_rule,
        delete_returns_object: false,
        subresources: &[],
    }
}

const RBAC: &str = "rbac.authorization.k8s.io";

/// Everything served. `selfsubjectreviews` is handled apart (create-only, never stored).
pub static RESOURCES: &[Resource] = &[
    Resource {
        delete_returns_object: true,
        subresources: &["status", "finalize"],
        ..res("", "namespaces", "Namespace", false, NameRule::Label)
    },
    res("", "configmaps", "ConfigMap", true, NameRule::Subdomain),
    res("", "secrets", "Secret", true, NameRule::Subdomain),
    res("", "serviceaccounts", "ServiceAccount", true, NameRule::Subdomain),
    Resource {
        delete_returns_object: true,
        subresources: &["status"],
        ..res("", "services", "Service", true, NameRule::Label)
    },
    res("", "endpoints", "Endpoints", true, NameRule::Subdomain),
    res("discovery.k8s.io", "endpointslices", "EndpointSlice", true, NameRule::Subdomain),
    // mirror Pods of static Pods (kubeadm reads the etcd Pods' endpoint annotations); a deleted Pod is returned
    Resource {
        delete_returns_object: true,
        subresources: &["status"],
        ..res("", "pods", "Pod", true, NameRule::Subdomain)
    },
    Resource { subresources: &["status"], ..res("", "nodes", "Node", false, NameRule::Subdomain) },
    Resource { subresources: &["status"], ..res("apps", "deployments", "Deployment", true, NameRule::Subdomain) },
    Resource { subresources: &["status"], ..res("apps", "daemonsets", "DaemonSet", true, NameRule::Subdomain) },
    // upgrade apply's CreateJob health check; completed by the `jobs` stand-in
    Resource { subresources: &["status"], ..res("batch", "jobs", "Job", true, NameRule::Subdomain) },
    res(RBAC, "roles", "Role", true, NameRule::PathSegment),
    res(RBAC, "rolebindings", "RoleBinding", true, NameRule::PathSegment),
    res(RBAC, "clusterroles", "ClusterRole", false, NameRule::PathSegment),
    res(RBAC, "clusterrolebindings", "ClusterRoleBinding", false, NameRule::PathSegment),
    Resource {
        subresources: &["approval", "status"],
        ..res(
            "certificates.k8s.io",
            "certificatesigningrequests",
            "CertificateSigningRequest",
            false,
            NameRule::PathSegment,
        )
    },
];

/// The resource served at `group`/`version`/`resource`.
pub fn by_path(group: &str, version: &str, resource: &str) -> Option<&'static Resource> {
    RESOURCES.iter().find(|r| r.group == group && r.version == version && r.resource == resource)
}

/// The resource for an object's `apiVersion` and `kind`.
pub fn by_kind(api_version: &str, kind: &str) -> Option<&'static Resource> {
    RESOURCES.iter().find(|r| r.api_version() == api_version && r.kind == kind)
}
