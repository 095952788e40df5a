//! The fake API server held to a real kube-apiserver v1.28.7: each test replays blocks of
//! `reference/kube-apiserver-1.28.7/transcript.txt` against the fake with kube 5 clients (admin client certificate,
//! bootstrap tokens, anonymous) over HTTPS with kbinit's own PKI, and compares status codes and bodies with the
//! recorded ones, read from the transcript itself. Token ids are the transcript's, so user names need no
//! normalising; uids, resourceVersions and times are compared for presence only.
//!
//! fake-api: it tests the fake itself, held to the transcript recorded from a real kube-apiserver v1.28.7.

use std::net::SocketAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::support::fakeapi::testkit::{
    cluster, get, pki, seed_kubeadm_rbac, send, send_json, serving_tls, token_secret,
};
use crate::support::fakeapi::{FakeApi, cluster_role_bindings, cluster_roles, detached_jws};
use crate::support::{require_tool, run_ok, shared};

// ---------- the transcript ----------

/// One recorded exchange.
struct Block {
    title: String,
    body: String,
    code: u16,
}

fn transcript() -> Vec<Block> {
    let path = shared().join("reference/kube-apiserver-1.28.7/transcript.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.split("\n### ")
        .skip(1)
        .map(|b| {
            let lines: Vec<&str> = b.lines().collect();
            // the request may span lines (the apply body); it ends at the line with the URL
            let req_end = lines.iter().position(|l| l.contains("https://<node1>")).unwrap();
            let http = lines.iter().rposition(|l| l.starts_with("HTTP ")).unwrap();
            Block {
                title: lines[0].to_string(),
                body: lines[req_end + 1..http].join("\n").trim().to_string(),
                code: lines[http][5..].trim().parse().unwrap(),
            }
        })
        .collect()
}

fn block(title_prefix: &str) -> Block {
    let all = transcript();
    assert!(all.len() >= 30, "transcript blocks: {}", all.len());
    all.into_iter().find(|b| b.title.starts_with(title_prefix)).unwrap_or_else(|| panic!("no block {title_prefix:?}"))
}

fn recorded_json(title_prefix: &str) -> (u16, Value) {
    let b = block(title_prefix);
    (b.code, serde_json::from_str(&b.body).unwrap_or_else(|e| panic!("{}: {e}", b.title)))
}

/// The fake's answer equals the recorded Status exactly (every field).
fn assert_recorded_status(title_prefix: &str, got: &(u16, Value)) {
    let (code, want) = recorded_json(title_prefix);
    assert_eq!(want["kind"], "Status", "{title_prefix}");
    assert_eq!(got.0, code, "{title_prefix}: status code; body {}", got.1);
    assert_eq!(got.1, want, "{title_prefix}: Status body");
}

/// Drops what the real server generates (uid, resourceVersion, times, managedFields) after checking it is there.
fn strip_server_fields(mut obj: Value) -> Value {
    let meta = obj["metadata"].as_object_mut().unwrap();
    for k in ["uid", "resourceVersion", "creationTimestamp"] {
        assert!(meta.get(k).and_then(Value::as_str).is_some_and(|v| !v.is_empty()), "{k} missing in {meta:?}");
        meta.remove(k);
    }
    meta.remove("managedFields");
    obj
}

// ---------- the tests, in transcript order ----------

#[tokio::test]
async fn health_and_version_answer_as_recorded() {
    let c = cluster();
    let (admin, anon) = (c.admin().await, c.anonymous());
    assert_eq!(send(&admin, "GET", "/livez", "", "").await, (200, block("health: livez").body));
    let readyz = block("health: readyz?verbose");
    assert_eq!(send(&admin, "GET", "/readyz?verbose", "", "").await, (200, format!("{}\n", readyz.body)));
    assert_eq!(send(&anon, "GET", "/healthz", "", "").await, (200, block("health: healthz").body));
    assert_eq!(get(&anon, "/version").await, recorded_json("version (anonymous)"));
    // discovery is for authenticated users only (system:discovery), as on the real server
    let (code, body) = get(&anon, "/api").await;
    assert_eq!(code, 403);
    assert_eq!(body["message"], r#"forbidden: User "system:anonymous" cannot get path "/api""#);
    assert_eq!(get(&admin, "/api").await.1["versions"], json!(["v1"]));
}

#[tokio::test]
async fn anonymous_reads_signed_cluster_info_but_no_secrets() {
    let c = cluster();
    seed_kubeadm_rbac(&c.api);
    let (_, recorded) = recorded_json("anonymous GET cluster-info");
    let kubeconfig = recorded["data"]["kubeconfig"].as_str().unwrap();
    c.api.insert(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cluster-info", "namespace": "kube-public"}, "data": {"kubeconfig": kubeconfig,
        "jws-kubeconfig-stale00": "left by a deleted token"}}));
    let secrets: Vec<(&str, &str)> =
        vec![("4tixju", "0123456789abcdef"), ("bduwys", "abcdef0123456789"), ("g6wg5k", "00112233445566aa")];
    for (id, secret) in &secrets {
        c.api.insert(token_secret(id, secret, 3600, true));
    }
    c.api.insert(token_secret("bcu6r7", "aaaaaaaaaaaaaaaa", 3600, false)); // no signing usage: no signature
    c.api.insert(token_secret("exprd0", "bbbbbbbbbbbbbbbb", -5, true)); // expired: cleaned, never signed
    c.api.reconcile_once();

    let (code, got) = get(&c.anonymous(), "/api/v1/namespaces/kube-public/configmaps/cluster-info").await;
    assert_eq!(code, 200);
    let keys = |v: &Value| v["data"].as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&got), keys(&recorded), "the same data keys as the recorded cluster-info");
    for (id, secret) in &secrets {
        let jws = got["data"][format!("jws-kubeconfig-{id}")].as_str().unwrap();
        assert_eq!(jws, detached_jws(id, secret, kubeconfig));
        let recorded_header = recorded["data"][format!("jws-kubeconfig-{id}")].as_str().unwrap().split("..").next();
        assert_eq!(jws.split("..").next(), recorded_header, "protected header bytes");
    }
    assert!(c.api.object("/api/v1/namespaces/kube-system/secrets/bootstrap-token-exprd0").is_none());

    let got = get(&c.anonymous(), "/api/v1/namespaces/kube-system/secrets").await;
    assert_recorded_status("anonymous LIST secrets -> 403", &got);
    let log = c.api.requests();
    let last = log.last().unwrap();
    assert_eq!(
        (last.user.as_str(), last.groups.clone(), last.status),
        ("system:anonymous", vec!["system:unauthenticated".to_string()], 403)
    );
}

#[tokio::test]
async fn admin_writes_answer_as_recorded() {
    let c = cluster();
    let admin = c.admin().await;
    let cms = "/api/v1/namespaces/kube-system/configmaps";
    assert_recorded_status("admin GET missing ConfigMap -> 404", &get(&admin, &format!("{cms}/does-not-exist")).await);

    let body = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"capture-cm","namespace":"kube-system"},"data":{"a":"1"}}"#;
    let (code, created) = send_json(&admin, "POST", cms, "application/json", body).await;
    let (want_code, want) = recorded_json("admin POST ConfigMap");
    assert_eq!((code, strip_server_fields(created.clone())), (want_code, strip_server_fields(want)));
    let again = send_json(&admin, "POST", cms, "application/json", body).await;
    assert_recorded_status("admin POST same ConfigMap again -> 409 AlreadyExists", &again);

    let stale = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"capture-cm","namespace":"kube-system","resourceVersion":"1"},"data":{"a":"2"}}"#;
    let conflict = send_json(&admin, "PUT", &format!("{cms}/capture-cm"), "application/json", stale).await;
    assert_recorded_status("admin PUT with stale resourceVersion -> 409 Conflict", &conflict);
    // without a resourceVersion the update is unconditional; with the current one it succeeds
    let fresh = stale.replace(r#","resourceVersion":"1""#, "");
    let (code, updated) = send_json(&admin, "PUT", &format!("{cms}/capture-cm"), "application/json", &fresh).await;
    assert_eq!((code, &updated["data"]["a"]), (200, &json!("2")));
    assert_eq!(updated["metadata"]["uid"], created["metadata"]["uid"]);
    assert!(
        updated["metadata"]["resourceVersion"].as_str().unwrap().parse::<u64>().unwrap()
            > created["metadata"]["resourceVersion"].as_str().unwrap().parse::<u64>().unwrap()
    );

    let bad = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Bad_Name","namespace":"kube-system"}}"#;
    assert_recorded_status(
        "admin POST invalid name -> 422",
        &send_json(&admin, "POST", cms, "application/json", bad).await,
    );

    let apply =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: capture-ssa\n  namespace: kube-system\ndata:\n  k: v\n";
    let url = format!("{cms}/capture-ssa?fieldManager=kbinit&force=true");
    let (code, applied) = send_json(&admin, "PATCH", &url, "application/apply-patch+yaml", apply).await;
    let (want_code, want) = recorded_json("admin server-side apply");
    assert_eq!((code, strip_server_fields(applied)), (want_code, strip_server_fields(want)));

    // a namespace that does not exist: 404 for the namespace
    let (code, missing) = send_json(
        &admin,
        "POST",
        "/api/v1/namespaces/nope/configmaps",
        "application/json",
        r#"{"metadata":{"name":"x"}}"#,
    )
    .await;
    assert_eq!((code, missing["message"].as_str().unwrap()), (404, r#"namespaces "nope" not found"#));
    // DELETE: a Status of Success naming the object
    let (code, deleted) = send_json(&admin, "DELETE", &format!("{cms}/capture-cm"), "", "").await;
    assert_eq!(
        (code, &deleted["status"], &deleted["details"]["uid"]),
        (200, &json!("Success"), &created["metadata"]["uid"])
    );
    let logged = c.api.requests().into_iter().find(|r| r.method == "PATCH").unwrap();
    assert_eq!(
        (logged.user.as_str(), logged.content_type.as_str(), logged.query.as_str(), logged.status),
        ("kubernetes-admin", "application/apply-patch+yaml", "fieldManager=kbinit&force=true", 201)
    );
    assert!(logged.groups.contains(&"system:masters".to_string()));
}

/// The recorded node1, as it was before the label patch, without server-generated fields.
fn recorded_node() -> (Value, Value) {
    let (_, after) = recorded_json("admin strategic-merge PATCH node labels");
    let mut before = strip_server_fields(after.clone());
    before["metadata"]["labels"].as_object_mut().unwrap().remove("capture");
    (before, after)
}

#[tokio::test]
async fn node_label_patch_and_token_listing_answer_as_recorded() {
    let c = cluster();
    let admin = c.admin().await;
    let (before, after) = recorded_node();
    c.api.insert(before);
    let patch = r#"{"metadata":{"labels":{"capture":"yes"}}}"#;
    let (code, got) =
        send_json(&admin, "PATCH", "/api/v1/nodes/node1", "application/strategic-merge-patch+json", patch).await;
    assert_eq!((code, strip_server_fields(got)), (200, strip_server_fields(after)));
    // taints have no patch strategy: the list is replaced, as kubeadm's mark-control-plane relies on
    let taints = r#"{"spec":{"taints":[{"key":"node-role.kubernetes.io/control-plane","effect":"NoSchedule"}]}}"#;
    let (_, got) = send_json(&admin, "PATCH", "/api/v1/nodes/node1", "application/merge-patch+json", taints).await;
    assert_eq!(
        got["spec"]["taints"],
        json!([{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}])
    );

    for id in ["g6wg5k", "4tixju", "bduwys"] {
        let mut s = token_secret(id, "0123456789abcdef", 3600, true);
        if id == "bduwys" {
            s["stringData"]["description"] = "capture".into(); // as recorded
        }
        c.api.insert(s);
    }
    c.api.insert(token_secret("bcu6r7", "0123456789abcdef", 3600, false));
    c.api.insert(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "other", "namespace": "kube-system"}, "data": {}}));
    let path = "/api/v1/namespaces/kube-system/secrets?fieldSelector=type%3Dbootstrap.kubernetes.io%2Ftoken";
    let (code, list) = get(&admin, path).await;
    let (want_code, want) = recorded_json("admin LIST bootstrap token secrets by field selector");
    assert_eq!((code, &list["kind"], &list["apiVersion"]), (want_code, &want["kind"], &want["apiVersion"]));
    let shape = |l: &Value| -> Vec<(Value, Vec<String>, Option<Value>)> {
        l["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["metadata"]["name"].clone(),
                    i["data"].as_object().unwrap().keys().cloned().collect(),
                    i.get("kind").cloned(),
                )
            })
            .collect()
    };
    assert_eq!(shape(&list), shape(&want), "names in order, data keys, no kind on items");
    let item = &list["items"][2];
    assert_eq!(
        (&item["type"], &item["data"]["usage-bootstrap-signing"]),
        (&json!("bootstrap.kubernetes.io/token"), &want["items"][2]["data"]["usage-bootstrap-signing"])
    );
}

#[tokio::test]
async fn bootstrap_token_sees_what_kubeadm_rbac_grants() {
    let c = cluster();
    seed_kubeadm_rbac(&c.api);
    c.api.insert(token_secret("bduwys", "0123456789abcdef", 3600, true));
    c.api.insert(token_secret("exp000", "0123456789abcdef", -1, true));
    let proxy = c.api.insert(token_secret("bcu6r7", "aaaaaaaaaaaaaaaa", 7200, false));
    let (_, config) = recorded_json("bootstrap token GET kubeadm-config");
    c.api.insert(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kubeadm-config", "namespace": "kube-system"}, "data": config["data"]}));
    let (_, certs) = recorded_json("bootstrap token GET kubeadm-certs");
    let mut owner = certs["metadata"]["ownerReferences"].clone();
    owner[0]["uid"] = proxy["metadata"]["uid"].clone();
    c.api.insert(json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": "kubeadm-certs", "namespace": "kube-system", "ownerReferences": owner}, "data": certs["data"]}));
    c.api.insert(recorded_node().0);
    let token = c.token("bduwys.0123456789abcdef");

    let review = r#"{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}"#;
    let (code, who) =
        send_json(&token, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", "application/json", review)
            .await;
    let (want_code, want) = recorded_json("bootstrap token SelfSubjectReview");
    assert_eq!(
        (code, &who["status"], &who["kind"], &who["apiVersion"]),
        (want_code, &want["status"], &want["kind"], &want["apiVersion"])
    );

    assert_recorded_status(
        "bootstrap token LIST secrets -> 403",
        &get(&token, "/api/v1/namespaces/kube-system/secrets").await,
    );
    let (code, got) = get(&token, "/api/v1/namespaces/kube-system/configmaps/kubeadm-config").await;
    assert_eq!((code, strip_server_fields(got)), (200, strip_server_fields(config)));
    let (code, got) = get(&token, "/api/v1/namespaces/kube-system/secrets/kubeadm-certs").await;
    assert_eq!(code, 200);
    assert_eq!(got["metadata"]["ownerReferences"], owner);
    assert_eq!((&got["data"], &got["type"]), (&certs["data"], &certs["type"]));
    let (code, got) = get(&token, "/api/v1/nodes/node1").await;
    let (want_code, want) = recorded_json("bootstrap token GET node node1");
    assert_eq!((code, strip_server_fields(got)), (want_code, strip_server_fields(want).tap_remove_capture()));
    // resourceNames bind: another ConfigMap in kube-system is forbidden, worded as the real server words it
    let (code, denied) = get(&token, "/api/v1/namespaces/kube-system/configmaps/other").await;
    assert_eq!(
        (code, denied["message"].as_str().unwrap()),
        (
            403,
            r#"configmaps "other" is forbidden: User "system:bootstrap:bduwys" cannot get resource "configmaps" in API group "" in the namespace "kube-system""#
        )
    );
    assert_eq!(denied["details"], json!({"name": "other", "kind": "configmaps"}));

    let expired =
        get(&c.token("exp000.0123456789abcdef"), "/api/v1/namespaces/kube-public/configmaps/cluster-info").await;
    assert_recorded_status("expired bootstrap token -> 401", &expired);
    let unknown =
        get(&c.token("abcdef.0000000000000000"), "/api/v1/namespaces/kube-public/configmaps/cluster-info").await;
    assert_recorded_status("malformed bearer token -> 401", &unknown);
    let wrong_secret = get(&c.token("bduwys.ffffffffffffffff"), "/version").await;
    assert_eq!(wrong_secret.0, 401, "a bad token never falls back to anonymous");

    // tokencleaner removes the expired proxy token, the garbage collector then kubeadm-certs (§I.2)
    c.api.insert(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "keep", "namespace": "kube-system",
        "ownerReferences": [{"apiVersion": "v1", "kind": "Secret", "name": "gone", "uid": "still-here"}]}}));
    let mut expired_proxy = c.api.object("/api/v1/namespaces/kube-system/secrets/bootstrap-token-bcu6r7").unwrap();
    expired_proxy["data"]["expiration"] = STANDARD.encode("2020-01-01T00:00:00Z").into();
    expired_proxy["metadata"].as_object_mut().unwrap().remove("resourceVersion");
    let admin = c.admin().await;
    let (code, _) = send_json(
        &admin,
        "PUT",
        "/api/v1/namespaces/kube-system/secrets/bootstrap-token-bcu6r7",
        "application/json",
        &expired_proxy.to_string(),
    )
    .await;
    assert_eq!(code, 200);
    c.api.reconcile_once();
    assert!(c.api.object("/api/v1/namespaces/kube-system/secrets/bootstrap-token-bcu6r7").is_none());
    assert!(c.api.object("/api/v1/namespaces/kube-system/secrets/kubeadm-certs").is_none());
    assert!(c.api.object("/api/v1/namespaces/kube-system/secrets/bootstrap-token-exp000").is_none());
    assert!(c.api.object("/api/v1/namespaces/kube-system/secrets/bootstrap-token-bduwys").is_some());
}

trait RemoveCapture {
    fn tap_remove_capture(self) -> Self;
}

impl RemoveCapture for Value {
    /// the recorded node GET came after the label capture; the seeded node never had it
    fn tap_remove_capture(mut self) -> Value {
        self["metadata"]["labels"].as_object_mut().unwrap().remove("capture");
        self
    }
}

#[tokio::test]
async fn default_cluster_roles_equal_the_recorded_ones() {
    let c = cluster();
    let admin = c.admin().await;
    let recorded: Vec<Block> =
        transcript().into_iter().filter(|b| b.title.starts_with("default ClusterRole")).collect();
    assert_eq!(recorded.len(), 9);
    for b in recorded {
        let name = b.title.rsplit(' ').next().unwrap();
        let kind = if b.title.contains("Binding") { "clusterrolebindings" } else { "clusterroles" };
        let (code, got) = get(&admin, &format!("/apis/rbac.authorization.k8s.io/v1/{kind}/{name}")).await;
        let want: Value = serde_json::from_str(&b.body).unwrap();
        assert_eq!((code, strip_server_fields(got)), (b.code, strip_server_fields(want)), "{}", b.title);
    }
    // and the defaults the transcript does not show are the ones kubeadm binds to
    let roles: Vec<&str> = cluster_roles().iter().map(|(n, _)| *n).collect();
    assert!(
        roles.contains(&"cluster-admin")
            && roles.contains(&"system:node-proxier")
            && !roles.contains(&"system:coredns")
    );
    assert!(cluster_role_bindings().iter().any(|(n, s)| *n == "cluster-admin" && s[0]["name"] == "system:masters"));
}

#[tokio::test]
async fn kubelet_csr_from_a_bootstrap_token_is_approved_and_signed() {
    let c = cluster();
    seed_kubeadm_rbac(&c.api);
    c.api.insert(token_secret("814a2m", "0123456789abcdef", 3600, true));
    let (_, posted) = recorded_json("bootstrap token POST CertificateSigningRequest");
    let body = json!({"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
        "metadata": {"generateName": "node-csr-"},
        "spec": {"request": posted["spec"]["request"], "signerName": posted["spec"]["signerName"], "usages": posted["spec"]["usages"]}});
    let token = c.token("814a2m.0123456789abcdef");
    let path = "/apis/certificates.k8s.io/v1/certificatesigningrequests";
    let (code, created) = send_json(&token, "POST", path, "application/json", &body.to_string()).await;
    assert_eq!((code, &created["spec"], &created["status"]), (201, &posted["spec"], &posted["status"]));
    let name = created["metadata"]["name"].as_str().unwrap();
    assert!(name.starts_with("node-csr-") && name.len() == 14, "{name}");

    c.api.reconcile_once();
    let (code, got) = get(&token, &format!("{path}/{name}")).await;
    let (want_code, want) = recorded_json("the same CSR 3 s later");
    assert_eq!(code, want_code);
    let cond = |v: &Value| {
        let c = &v["status"]["conditions"][0];
        (c["type"].clone(), c["status"].clone(), c["reason"].clone(), c["message"].clone())
    };
    assert_eq!(cond(&got), cond(&want));
    let pem = STANDARD.decode(got["status"]["certificate"].as_str().unwrap()).unwrap();
    let recorded_pem = STANDARD.decode(want["status"]["certificate"].as_str().unwrap()).unwrap();

    // shaped like the recorded one: subject, key usage, EKU, CA:FALSE, AKI, one year from now − 5 min
    let summary = |pem: &[u8]| {
        let (_, p) = x509_parser::pem::parse_x509_pem(pem).unwrap();
        let cert = p.parse_x509().unwrap();
        let v = cert.validity();
        let mut exts: Vec<String> = cert.extensions().iter().map(|e| format!("{}:{}", e.oid, e.critical)).collect();
        exts.sort(); // rcgen writes AKI first, Go last
        (
            cert.subject().to_string(),
            cert.issuer().to_string(),
            exts,
            v.not_after.timestamp() - v.not_before.timestamp(),
            format!("{:?}", cert.key_usage().unwrap().unwrap().value),
            format!("{:?}", cert.extended_key_usage().unwrap().unwrap().value),
        )
    };
    assert_eq!(summary(&pem), summary(&recorded_pem));
    let (_, p) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
    let not_before = p.parse_x509().unwrap().validity().not_before.timestamp();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!((now - 300 - not_before).abs() < 60, "backdated five minutes");
    if require_tool("openssl") {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("kubelet.crt"), &pem).unwrap();
        let ca = c.node.path("/etc/kubernetes/pki/ca.crt").display().to_string();
        let out = run_ok(
            "openssl",
            &["verify", "-CAfile", &ca, "-purpose", "sslclient", dir.path().join("kubelet.crt").to_str().unwrap()],
        );
        assert!(out.trim().ends_with(": OK"), "{out}");
    }

    // system:bootstrappers alone may not post CSRs; a group allowed to post them but not bound to nodeclient
    // gets its CSR stored and left pending, unsigned
    let mut lone = token_secret("lone00", "0123456789abcdef", 3600, true);
    lone["stringData"].as_object_mut().unwrap().remove("auth-extra-groups");
    c.api.insert(lone);
    let (code, _) =
        send_json(&c.token("lone00.0123456789abcdef"), "POST", path, "application/json", &body.to_string()).await;
    assert_eq!(code, 403, "system:bootstrappers alone may not create CSRs");
    let mut other = token_secret("other0", "0123456789abcdef", 3600, true);
    other["stringData"]["auth-extra-groups"] = "system:bootstrappers:other".into();
    c.api.insert(other);
    c.api.insert(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "other-may-post-csrs"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:node-bootstrapper"},
        "subjects": [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "system:bootstrappers:other"}]}));
    let (code, pending) =
        send_json(&c.token("other0.0123456789abcdef"), "POST", path, "application/json", &body.to_string()).await;
    assert_eq!(code, 201);
    c.api.reconcile_once();
    let pending = c.api.object(&format!("{path}/{}", pending["metadata"]["name"].as_str().unwrap())).unwrap();
    assert_eq!(
        (pending["spec"]["username"].as_str(), &pending["status"]),
        (Some("system:bootstrap:other0"), &json!({}))
    );
}

#[test]
fn listeners_in_two_network_namespaces_share_one_store() {
    if !require_tool("ip") || !require_tool("curl") {
        return;
    }
    let node = pki();
    let api = FakeApi::new();
    let ns = format!("kbinit-fakeapi-{}", std::process::id());
    let _ = std::process::Command::new("ip").args(["netns", "del", &ns]).output();
    run_ok("ip", &["netns", "add", &ns]);
    struct Del(String);
    impl Drop for Del {
        fn drop(&mut self) {
            let _ = std::process::Command::new("ip").args(["netns", "del", &self.0]).output();
        }
    }
    let _del = Del(ns.clone());
    run_ok("ip", &["netns", "exec", &ns, "ip", "link", "set", "lo", "up"]);
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let inside = api.serve_in_netns(&ns, addr, serving_tls(&node));
    let outside = api.serve(addr, serving_tls(&node));
    api.insert(
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared", "namespace": "default"}}),
    );
    let ca = node.path("/etc/kubernetes/pki/ca.crt").display().to_string();
    let curl = |netns: Option<&str>, url: String| -> std::process::Output {
        let mut cmd = std::process::Command::new(if netns.is_some() { "ip" } else { "curl" });
        if let Some(n) = netns {
            cmd.args(["netns", "exec", n, "curl"]);
        }
        cmd.args(["-sS", "--max-time", "5", "--cacert", &ca, &url]).output().unwrap()
    };
    let ok = curl(Some(&ns), format!("https://{}/livez", inside.addr()));
    assert_eq!(String::from_utf8_lossy(&ok.stdout), "ok", "{}", String::from_utf8_lossy(&ok.stderr));
    let ok = curl(None, format!("https://{}/livez", outside.addr()));
    assert_eq!(String::from_utf8_lossy(&ok.stdout), "ok");
    // the namespace's loopback is not the host's
    if inside.addr().port() != outside.addr().port() {
        assert!(!curl(None, format!("https://{}/livez", inside.addr())).status.success());
    }
    // one store: an object seeded once is served by both listeners, in both namespaces
    api.insert(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r", "namespace": "default"},
        "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["shared"]}]}));
    api.insert(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "r", "namespace": "default"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
        "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "system:anonymous"}]}));
    let path = "/api/v1/namespaces/default/configmaps/shared";
    for out in [
        curl(Some(&ns), format!("https://{}{path}", inside.addr())),
        curl(None, format!("https://{}{path}", outside.addr())),
    ] {
        let cm: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(cm["metadata"]["uid"], api.objects("/api/v1/namespaces/default/configmaps")[0]["metadata"]["uid"]);
    }
    let outside_addr = outside.addr();
    drop(outside);
    assert!(!curl(None, format!("https://{outside_addr}/livez")).status.success(), "a dropped listener stops");
    assert_eq!(api.requests().iter().filter(|r| r.path == path && r.status == 200).count(), 2);
}
