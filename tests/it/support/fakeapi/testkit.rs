//! Helpers for tests that talk to the fake: kbinit's own PKI and admin.conf (`init phase certs all`,
//! `kubeconfig admin`, serving certificate valid for 127.0.0.1), a started fake, kube 5 clients (admin client
//! certificate, bootstrap token, anonymous; crates.md §4 and §6 item 9), raw requests that return status and body,
//! and the objects kubeadm init would have created (token Secrets, its RBAC for joining nodes).

use http_body_util::BodyExt;
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::{Value, json};

use super::{FakeApi, Listener, ServingTls};
use crate::support::Node;
use crate::support::config::init_yaml;

/// The init configuration of the fake API server's cases (v1.28.7, node cp1 at 10.0.0.10, 127.0.0.1 a SAN).
pub fn config() -> String {
    init_yaml("v1.28.7", "10.0.0.10").cluster("apiServer:\n  certSANs:\n  - 127.0.0.1\n").build()
}

pub struct Cluster {
    pub node: Node,
    pub api: FakeApi,
    pub listener: Listener,
}

/// Makes the PKI and admin.conf the way a test of kbinit would (`init phase certs all`, `kubeconfig admin`).
pub fn pki() -> Node {
    let node = Node::new();
    node.put("/input.yaml", config().as_bytes());
    let cfg = node.path("/input.yaml").display().to_string();
    node.kbinit(&["init", "phase", "certs", "all", "--config", &cfg]).ok();
    node.kbinit(&["init", "phase", "kubeconfig", "admin", "--config", &cfg]).ok();
    node
}

pub fn serving_tls(node: &Node) -> ServingTls {
    ServingTls {
        cert_pem: node.read_str("/etc/kubernetes/pki/apiserver.crt"),
        key_pem: node.read_str("/etc/kubernetes/pki/apiserver.key"),
        client_ca_pem: node.read_str("/etc/kubernetes/pki/ca.crt"),
    }
}

pub fn cluster() -> Cluster {
    let node = pki();
    let api = FakeApi::new();
    api.set_cluster_ca(&node.read_str("/etc/kubernetes/pki/ca.crt"), &node.read_str("/etc/kubernetes/pki/ca.key"));
    let listener = api.serve("127.0.0.1:0".parse().unwrap(), serving_tls(&node));
    Cluster { node, api, listener }
}

impl Cluster {
    pub fn ca_der(&self) -> Vec<u8> {
        let pem = self.node.read("/etc/kubernetes/pki/ca.crt");
        let (_, p) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
        p.contents
    }
    /// admin.conf as kbinit wrote it, pointed at the fake.
    pub async fn admin(&self) -> kube::Client {
        let mut kc = Kubeconfig::read_from(self.node.path("/etc/kubernetes/admin.conf")).unwrap();
        kc.clusters[0].cluster.as_mut().unwrap().server = Some(self.listener.url());
        let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await.unwrap();
        kube::Client::try_from(cfg).unwrap()
    }
    /// No credentials, the cluster CA trusted (crates.md §6 item 9).
    pub fn anonymous(&self) -> kube::Client {
        let mut cfg = kube::Config::new(self.listener.url().parse().unwrap());
        cfg.root_cert = Some(vec![self.ca_der()]);
        kube::Client::try_from(cfg).unwrap()
    }
    pub fn token(&self, token: &str) -> kube::Client {
        let mut cfg = kube::Config::new(self.listener.url().parse().unwrap());
        cfg.root_cert = Some(vec![self.ca_der()]);
        cfg.auth_info = serde_json::from_value(json!({ "token": token })).unwrap();
        kube::Client::try_from(cfg).unwrap()
    }
}

/// A raw request; returns status code and body text.
pub async fn send(client: &kube::Client, method: &str, path: &str, content_type: &str, body: &str) -> (u16, String) {
    let mut req = http::Request::builder().method(method).uri(path);
    if !content_type.is_empty() {
        req = req.header(http::header::CONTENT_TYPE, content_type);
    }
    let res = client.send(req.body(kube::client::Body::from(body.as_bytes().to_vec())).unwrap()).await.unwrap();
    let code = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (code, String::from_utf8(bytes.to_vec()).unwrap())
}

pub async fn send_json(
    client: &kube::Client,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> (u16, Value) {
    let (code, text) = send(client, method, path, content_type, body).await;
    (code, serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path} → {code} {text:?}: {e}")))
}

pub async fn get(client: &kube::Client, path: &str) -> (u16, Value) {
    send_json(client, "GET", path, "", "").await
}

/// A bootstrap token Secret as kubeadm writes it (§G.3): stringData, so the fake must fold it into data.
pub fn token_secret(id: &str, secret: &str, expires_in_secs: i64, usages: bool) -> Value {
    let exp = time::OffsetDateTime::now_utc() + time::Duration::seconds(expires_in_secs);
    let exp = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        exp.year(),
        exp.month() as u8,
        exp.day(),
        exp.hour(),
        exp.minute(),
        exp.second()
    );
    let mut data = json!({"token-id": id, "token-secret": secret, "expiration": exp});
    if usages {
        data["usage-bootstrap-authentication"] = "true".into();
        data["usage-bootstrap-signing"] = "true".into();
        data["auth-extra-groups"] = "system:bootstrappers:kubeadm:default-node-token".into();
    } else {
        data["description"] = "Proxy for managing TTL for the kubeadm-certs secret".into();
    }
    json!({"apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
        "metadata": {"name": format!("bootstrap-token-{id}"), "namespace": "kube-system"}, "stringData": data})
}

pub const NODE_TOKEN_GROUP: &str = "system:bootstrappers:kubeadm:default-node-token";

/// The RBAC kubeadm init creates for joining nodes (reference §F rows 2–3, 10–11, 14–18, 20–21).
pub fn seed_kubeadm_rbac(api: &FakeApi) {
    let rbac = "rbac.authorization.k8s.io/v1";
    let group = |g: &str| json!({"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": g});
    let role = |ns: &str, name: &str, resource: &str, object: &str| {
        json!({"apiVersion": rbac, "kind": "Role", "metadata": {"name": name, "namespace": ns},
            "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": [resource], "resourceNames": [object]}]})
    };
    let binding = |ns: &str, name: &str, subjects: Value| {
        json!({"apiVersion": rbac, "kind": "RoleBinding", "metadata": {"name": name, "namespace": ns},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name}, "subjects": subjects})
    };
    let crb = |name: &str, role: &str, subject: Value| {
        json!({"apiVersion": rbac, "kind": "ClusterRoleBinding", "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role}, "subjects": [subject]})
    };
    for obj in [
        role("kube-system", "kubeadm:nodes-kubeadm-config", "configmaps", "kubeadm-config"),
        binding("kube-system", "kubeadm:nodes-kubeadm-config", json!([group(NODE_TOKEN_GROUP), group("system:nodes")])),
        role("kube-system", "kubeadm:kubeadm-certs", "secrets", "kubeadm-certs"),
        binding("kube-system", "kubeadm:kubeadm-certs", json!([group(NODE_TOKEN_GROUP)])),
        // kubeadm writes a stray namespace into this ClusterRole; the server drops it
        json!({"apiVersion": rbac, "kind": "ClusterRole", "metadata": {"name": "kubeadm:get-nodes", "namespace": "kube-system"},
            "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["nodes"]}]}),
        crb("kubeadm:get-nodes", "kubeadm:get-nodes", group(NODE_TOKEN_GROUP)),
        crb("kubeadm:kubelet-bootstrap", "system:node-bootstrapper", group(NODE_TOKEN_GROUP)),
        crb(
            "kubeadm:node-autoapprove-bootstrap",
            "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
            group(NODE_TOKEN_GROUP),
        ),
        crb(
            "kubeadm:node-autoapprove-certificate-rotation",
            "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
            group("system:nodes"),
        ),
        role("kube-public", "kubeadm:bootstrap-signer-clusterinfo", "configmaps", "cluster-info"),
        binding(
            "kube-public",
            "kubeadm:bootstrap-signer-clusterinfo",
            json!([{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "system:anonymous"}]),
        ),
    ] {
        api.insert(obj);
    }
}
