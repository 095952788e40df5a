//! The kubeconfig files `init` writes under `/etc/kubernetes` (admin.conf, super-admin.conf, kubelet.conf,
//! controller-manager.conf, scheduler.conf): who each one is for, which API endpoint it names, its client
//! certificate signed by the cluster CA, and kubeadm's rule for files that already exist.

use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use crate::Error;
use crate::certs::issue::{self, Subject};
use crate::certs::keys::private_key_pem;
use crate::certs::{KeySource, PkiContext, is_external_ca, load_cert, load_signing_ca};
use crate::config::{ClusterConfiguration, NodeIdentity};
use crate::paths;
use crate::plan::{FileKind, NodeView, Step};
use crate::version::KubeVersion;

/// How the user of a kubeconfig authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserAuth {
    /// An embedded client certificate and key (PEM).
    ClientCert {
        /// Certificate PEM.
        cert_pem: Vec<u8>,
        /// Private key PEM.
        key_pem: Vec<u8>,
    },
    /// A bearer token (bootstrap-kubelet.conf).
    Token(String),
    /// No credentials (cluster-info).
    None,
}

/// Which API server a kubeconfig talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    /// `<cp-endpoint>`.
    ControlPlane,
    /// `<local-endpoint>`.
    Local,
}

struct Spec {
    phase: &'static str,
    file: &'static str,
    help: &'static str,
}

const SPECS: [Spec; 5] = [
    Spec {
        phase: "admin",
        file: "admin.conf",
        help: "Generate a kubeconfig file for the admin to use and for kubeadm itself",
    },
    Spec { phase: "super-admin", file: "super-admin.conf", help: "Generate a kubeconfig file for the super-admin" },
    Spec {
        phase: "kubelet",
        file: "kubelet.conf",
        help: "Generate a kubeconfig file for the kubelet to use *only* for cluster bootstrapping purposes",
    },
    Spec {
        phase: "controller-manager",
        file: "controller-manager.conf",
        help: "Generate a kubeconfig file for the controller manager to use",
    },
    Spec { phase: "scheduler", file: "scheduler.conf", help: "Generate a kubeconfig file for the scheduler to use" },
];

/// kubeconfig sub-phases for a version: admin, super-admin (1.29+), kubelet, controller-manager, scheduler,
/// with short help.
pub fn subphases(version: &KubeVersion) -> Vec<(&'static str, &'static str)> {
    SPECS.iter().filter(|s| s.phase != "super-admin" || version.has_super_admin()).map(|s| (s.phase, s.help)).collect()
}

fn url(host: &str, port: &str) -> String {
    if host.parse::<IpAddr>().is_ok_and(|ip| ip.is_ipv6()) {
        format!("https://[{host}]:{port}")
    } else {
        format!("https://{host}:{port}")
    }
}

/// `https://<advertise address>:<bind port>` (IPv6 bracketed): this node's own API server.
pub fn local_endpoint(node: &NodeIdentity) -> String {
    url(&node.advertise_address.to_string(), &node.bind_port.to_string())
}

/// `https://<controlPlaneEndpoint>` with the port defaulted to the bind port, or [`local_endpoint`] when no
/// controlPlaneEndpoint is set.
pub fn control_plane_endpoint(cluster: &ClusterConfiguration, node: &NodeIdentity) -> String {
    if cluster.control_plane_endpoint.is_empty() {
        return local_endpoint(node);
    }
    let (host, port) = issue::split_host_port(&cluster.control_plane_endpoint);
    url(&host, &port.unwrap_or_else(|| node.bind_port.to_string()))
}

/// The API server URL and the CA bundle (PEM) of a kubeconfig's current context (the only cluster when there is
/// no current context). `read_file` resolves a `certificate-authority` path when the CA is not embedded.
pub fn current_cluster(text: &str, read_file: &dyn Fn(&str) -> Option<Vec<u8>>) -> Result<(String, Vec<u8>), Error> {
    let bad = |why: String| Error::Document(format!("kubeconfig: {why}"));
    let v = crate::go_format::yaml::from_yaml(text)?;
    let clusters = v.get("clusters").and_then(Value::as_array).cloned().unwrap_or_default();
    let current = v.get("current-context").and_then(Value::as_str).unwrap_or_default();
    let cluster_name = v
        .get("contexts")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c.get("name").and_then(Value::as_str) == Some(current)))
        .and_then(|c| c.pointer("/context/cluster"))
        .and_then(Value::as_str);
    let cluster = match cluster_name {
        Some(n) => clusters.iter().find(|c| c.get("name").and_then(Value::as_str) == Some(n)),
        None if clusters.len() == 1 => clusters.first(),
        None => None,
    }
    .and_then(|c| c.get("cluster"))
    .ok_or_else(|| bad(format!("no cluster for the current context {current:?}")))?;
    let server = cluster
        .get("server")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("the cluster has no server".into()))?
        .to_string();
    let ca = if let Some(data) = cluster.get("certificate-authority-data").and_then(Value::as_str) {
        B64.decode(data.trim()).map_err(|e| bad(format!("certificate-authority-data is not base64: {e}")))?
    } else if let Some(path) = cluster.get("certificate-authority").and_then(Value::as_str) {
        read_file(path).ok_or_else(|| bad(format!("cannot read certificate-authority {path}")))?
    } else {
        return Err(bad("the cluster has no certificate-authority-data".into()));
    };
    Ok((server, ca))
}

/// kubelet-finalize: the kubeconfig with every user's credentials replaced by the kubelet's rotating client
/// certificate file (`client-certificate` and `client-key` both name `pem_path`, which holds cert and key).
pub fn point_at_rotating_cert(text: &str, pem_path: &str) -> Result<String, Error> {
    let mut v = crate::go_format::yaml::from_yaml(text)?;
    let users = v
        .get_mut("users")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| Error::Document("kubeconfig: no users".into()))?;
    for u in users.iter_mut() {
        if let Some(obj) = u.as_object_mut() {
            obj.insert("user".into(), json!({ "client-certificate": pem_path, "client-key": pem_path }));
        }
    }
    Ok(crate::go_format::yaml::to_yaml(&v))
}

/// The SHA-256 pins (`sha256:<hex>`) of every certificate in a PEM bundle, in order (§G.4: one
/// `--discovery-token-ca-cert-hash` per CA certificate).
pub fn ca_pins(bundle: &[u8]) -> Result<Vec<String>, Error> {
    let blocks = pem::parse_many(bundle).map_err(|e| Error::Document(format!("CA bundle: {e}")))?;
    let pins: Vec<String> = blocks
        .iter()
        .filter(|b| b.tag() == "CERTIFICATE")
        .map(|b| crate::certs::ca_cert_hash(pem::encode(b).as_bytes()))
        .collect::<Result<_, _>>()?;
    if pins.is_empty() {
        return Err(Error::Document("the CA bundle holds no certificate".into()));
    }
    Ok(pins)
}

/// A kubeconfig document for a cluster and a user, with kubeadm's keys (a sorted-key YAML writer produces
/// kubeadm's layout). With an empty `user` and [`UserAuth::None`] it is the cluster-info shape: cluster named
/// as given, `contexts: null`, `current-context: ""`, `users: null`.
pub fn kubeconfig_value(cluster_name: &str, server: &str, ca_pem: &[u8], user: &str, auth: UserAuth) -> Value {
    let clusters = json!([{
        "cluster": { "certificate-authority-data": B64.encode(ca_pem), "server": server },
        "name": cluster_name,
    }]);
    if user.is_empty() && auth == UserAuth::None {
        return json!({
            "apiVersion": "v1", "clusters": clusters, "contexts": null, "current-context": "",
            "kind": "Config", "preferences": {}, "users": null,
        });
    }
    let context = format!("{user}@{cluster_name}");
    let credentials = match auth {
        UserAuth::ClientCert { cert_pem, key_pem } => json!({
            "client-certificate-data": B64.encode(cert_pem),
            "client-key-data": B64.encode(key_pem),
        }),
        UserAuth::Token(t) => json!({ "token": t }),
        UserAuth::None => json!({}),
    };
    json!({
        "apiVersion": "v1",
        "clusters": clusters,
        "contexts": [{ "context": { "cluster": cluster_name, "user": user }, "name": context }],
        "current-context": context,
        "kind": "Config",
        "preferences": {},
        "users": [{ "name": user, "user": credentials }],
    })
}

/// Who a kubeconfig file is for: (CN, O, server).
fn identity(phase: &str, ctx: &PkiContext) -> Option<(String, Option<&'static str>, Server)> {
    let v = &ctx.cluster.kubernetes_version;
    Some(match phase {
        "admin" => {
            let org = if v.has_super_admin() { "kubeadm:cluster-admins" } else { "system:masters" };
            ("kubernetes-admin".into(), Some(org), Server::ControlPlane)
        }
        "super-admin" if v.has_super_admin() => {
            ("kubernetes-super-admin".into(), Some("system:masters"), Server::ControlPlane)
        }
        "kubelet" => {
            let server = if v.kubelet_local_mode() { Server::Local } else { Server::ControlPlane };
            (format!("system:node:{}", ctx.node.name), Some("system:nodes"), server)
        }
        "controller-manager" => ("system:kube-controller-manager".into(), None, Server::Local),
        "scheduler" => ("system:kube-scheduler".into(), None, Server::Local),
        _ => return None,
    })
}

/// Each kubeconfig file of this configuration's version with its user: (file name, CN, O, server URL).
pub(crate) fn users(ctx: &PkiContext) -> Vec<(&'static str, String, Option<&'static str>, String)> {
    subphases(&ctx.cluster.kubernetes_version)
        .iter()
        .filter_map(|(name, _)| {
            let spec = SPECS.iter().find(|s| s.phase == *name)?;
            let (cn, org, server) = identity(name, ctx)?;
            let url = match server {
                Server::ControlPlane => control_plane_endpoint(ctx.cluster, ctx.node),
                Server::Local => local_endpoint(ctx.node),
            };
            Some((spec.file, cn, org, url))
        })
        .collect()
}

/// The CA data a kubeconfig file on the node trusts (embedded data, or the referenced file), for its current
/// context's cluster.
fn existing_ca(path: &str, view: &dyn NodeView) -> Result<Vec<u8>, Error> {
    let bad = |why: &str| Error::Conflict(format!("failed to load kubeconfig file {path:?}: {why}"));
    let text = view.read(path).ok_or_else(|| bad("cannot read it"))?;
    let text = String::from_utf8(text).map_err(|_| bad("not UTF-8"))?;
    let doc = crate::go_format::yaml::from_yaml(&text).map_err(|e| bad(&e.to_string()))?;
    let current = doc["current-context"].as_str().filter(|c| !c.is_empty()).ok_or_else(|| bad("no current context"))?;
    let find = |list: &str, name: &str| -> Option<Value> {
        doc[list].as_array()?.iter().find(|e| e["name"].as_str() == Some(name)).cloned()
    };
    let context = find("contexts", current).ok_or_else(|| bad("its current context does not exist"))?;
    let cluster_name = context["context"]["cluster"].as_str().unwrap_or_default().to_string();
    let cluster = find("clusters", &cluster_name).ok_or_else(|| bad("its current cluster does not exist"))?;
    let cluster = &cluster["cluster"];
    if let Some(data) = cluster["certificate-authority-data"].as_str() {
        return B64.decode(data.trim()).map_err(|_| bad("certificate-authority-data is not base64"));
    }
    if let Some(file) = cluster["certificate-authority"].as_str() {
        return view.read(file).ok_or_else(|| bad("its certificate-authority file cannot be read"));
    }
    Ok(Vec::new())
}

fn same_ca(a: &[u8], b: &[u8]) -> bool {
    a.trim_ascii() == b.trim_ascii()
}

/// Plans one kubeconfig sub-phase (by phase name).
pub fn plan_one(
    name: &str,
    ctx: &PkiContext,
    kubeconfig_dir: &str,
    view: &dyn NodeView,
    keys: &dyn KeySource,
) -> Result<Vec<Step>, Error> {
    let spec = SPECS.iter().find(|s| s.phase == name);
    let (Some(spec), Some((cn, org, server))) = (spec, identity(name, ctx)) else {
        return Err(Error::invalid("phase", name, "not a kubeconfig sub-phase of this version"));
    };
    let path = paths::join(kubeconfig_dir, spec.file);
    let ca_crt = paths::join(&ctx.cluster.certificates_dir, "ca.crt");
    let ca_key = paths::join(&ctx.cluster.certificates_dir, "ca.key");
    let mut steps = Vec::new();
    if is_external_ca(ctx.cluster, view) {
        let ca = load_cert(view, &ca_crt)?.map(|c| c.pem).unwrap_or_default();
        if !view.exists(&path) {
            return Err(Error::Conflict(format!(
                "invalid or incomplete external CA: the kubeconfig file {path:?} does not exist"
            )));
        }
        if !same_ca(&existing_ca(&path, view)?, &ca) {
            return Err(wrong_ca(&path));
        }
        steps.push(Step::say(format!("[kubeconfig] External CA mode: Using user provided {}", spec.file)));
        return Ok(steps);
    }
    let ca = load_cert(view, &ca_crt)?.ok_or_else(|| {
        Error::Conflict(format!("cannot create {path:?}: the CA certificate {ca_crt:?} does not exist"))
    })?;
    if view.exists(&path) {
        if !same_ca(&existing_ca(&path, view)?, &ca.pem) {
            return Err(wrong_ca(&path));
        }
        steps.push(Step::say(format!("[kubeconfig] Using existing kubeconfig file: {path:?}")));
        return Ok(steps);
    }
    let (ca, signing_key) = load_signing_ca(view, &ca_crt, &ca_key, &format!("{path:?}"))?;
    steps.push(Step::say(format!("[kubeconfig] Writing {:?} kubeconfig file", spec.file)));
    let key = keys.key(ctx.cluster.encryption_algorithm)?;
    let subject =
        Subject { cn: &cn, orgs: org.as_slice(), dns: vec![], ips: vec![], usage: crate::certs::table_usage_client() };
    let cert = issue::issue_leaf(&ca, &signing_key, &subject, &key, ctx.now, ctx.cluster.certificate_validity)?;
    let server_url = match server {
        Server::ControlPlane => control_plane_endpoint(ctx.cluster, ctx.node),
        Server::Local => local_endpoint(ctx.node),
    };
    let auth = UserAuth::ClientCert { cert_pem: cert.into_bytes(), key_pem: private_key_pem(&key)?.into_bytes() };
    let value = kubeconfig_value(&ctx.cluster.cluster_name, &server_url, &ca.pem, &cn, auth);
    steps.push(Step::EnsureDir { path: kubeconfig_dir.to_string(), mode: 0o755 });
    steps.push(Step::write(path, crate::go_format::yaml::to_yaml(&value), FileKind::Kubeconfig));
    Ok(steps)
}

fn wrong_ca(path: &str) -> Error {
    Error::Conflict(format!("a kubeconfig file {path:?} exists already but has got the wrong CA cert"))
}

/// The client certificate of a kubeconfig's current user (embedded, or the file it names).
fn client_cert(doc: &Value, view: &dyn NodeView) -> Option<Vec<u8>> {
    let current = doc["current-context"].as_str()?;
    let context = doc["contexts"].as_array()?.iter().find(|c| c["name"].as_str() == Some(current))?;
    let user_name = context["context"]["user"].as_str()?;
    let user = &doc["users"].as_array()?.iter().find(|u| u["name"].as_str() == Some(user_name))?["user"];
    if let Some(data) = user["client-certificate-data"].as_str() {
        return B64.decode(data.trim()).ok();
    }
    view.read(user["client-certificate"].as_str()?)
}

/// Every existing kubeconfig file of this version that this configuration cannot reuse (kubeadm only compares
/// the CA): another CA, another API server URL, a client certificate issued to someone else or not by the
/// cluster CA. Files that do not exist are not reported; without a readable CA nothing is (the certificate
/// checks report that).
pub fn check_existing(ctx: &PkiContext, kubeconfig_dir: &str, view: &dyn NodeView) -> Vec<crate::certs::Unusable> {
    let ca_crt = paths::join(&ctx.cluster.certificates_dir, "ca.crt");
    let Ok(Some(ca)) = load_cert(view, &ca_crt) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, _) in subphases(&ctx.cluster.kubernetes_version) {
        let (Some(spec), Some((cn, _, server))) = (SPECS.iter().find(|s| s.phase == name), identity(name, ctx)) else {
            continue;
        };
        let path = paths::join(kubeconfig_dir, spec.file);
        if !view.exists(&path) {
            continue;
        }
        let fix = format!("delete {path} (kbinit writes a new one), or run kbinit reset");
        let mut bad = |why: String| out.push(crate::certs::Unusable { path: path.clone(), why, fix: fix.clone() });
        let text = view.read(&path).and_then(|b| String::from_utf8(b).ok());
        let Some(doc) = text.as_deref().and_then(|t| crate::go_format::yaml::from_yaml(t).ok()) else {
            bad("it is not a kubeconfig file kbinit can read".into());
            continue;
        };
        match existing_ca(&path, view) {
            Ok(c) if same_ca(&c, &ca.pem) => {}
            Ok(_) => {
                bad(format!("it trusts another CA than {ca_crt}"));
                continue;
            }
            Err(e) => {
                bad(e.to_string());
                continue;
            }
        }
        let want = match server {
            Server::ControlPlane => control_plane_endpoint(ctx.cluster, ctx.node),
            Server::Local => local_endpoint(ctx.node),
        };
        if let Some(text) = &text
            && let Ok((got, _)) = current_cluster(text, &|p| view.read(p))
            && got != want
            // kbinit's node-local API server proxy points the kubelet at 127.0.0.1 (api_server_proxy::node)
            && !(name == "kubelet" && got.starts_with("https://127.0.0.1:"))
        {
            bad(format!("it points at {got}, this configuration needs {want}"));
        }
        let Some(cert) = client_cert(&doc, view).and_then(|pem| issue::LoadedCert::parse(&path, &pem).ok()) else {
            bad("it has no client certificate kbinit can read".into());
            continue;
        };
        if !issue::signed_by(&cert, &ca) {
            bad(format!("its client certificate is not signed by {ca_crt}"));
            continue;
        }
        let got_cn = cert
            .x509()
            .ok()
            .and_then(|x| x.subject().iter_common_name().next().and_then(|c| c.as_str().ok()).map(str::to_string))
            .unwrap_or_default();
        if got_cn != cn {
            bad(format!("its client certificate is issued to {got_cn:?}, this configuration needs {cn:?}"));
        }
    }
    out
}

/// All kubeconfig sub-phases of the version, preceded by `[kubeconfig] Using kubeconfig folder "<dir>"`.
pub fn plan_all(
    ctx: &PkiContext,
    kubeconfig_dir: &str,
    view: &dyn NodeView,
    keys: &dyn KeySource,
) -> Result<Vec<Step>, Error> {
    let mut steps = vec![Step::say(format!("[kubeconfig] Using kubeconfig folder {kubeconfig_dir:?}"))];
    for (name, _) in subphases(&ctx.cluster.kubernetes_version) {
        steps.extend(plan_one(name, ctx, kubeconfig_dir, view, keys)?);
    }
    Ok(steps)
}

/// How many fresh keys [`plan_all`] would generate (one per kubeconfig file that does not exist yet).
pub fn keys_needed(ctx: &PkiContext, kubeconfig_dir: &str, view: &dyn NodeView) -> usize {
    if is_external_ca(ctx.cluster, view) {
        return 0;
    }
    subphases(&ctx.cluster.kubernetes_version)
        .iter()
        .filter_map(|(name, _)| SPECS.iter().find(|s| s.phase == *name))
        .filter(|s| !view.exists(&paths::join(kubeconfig_dir, s.file)))
        .count()
}

pub mod user;

#[cfg(test)]
mod tests;
