//! Stand-ins for the kube-controller-manager loops kubeadm depends on, run on demand (`reconcile`) or on a timer
//! thread: tokencleaner (expired bootstrap token Secrets, then garbage collection), bootstrapsigner (reference
//! §H.2), csrapproving (kubelet client CSRs after a SubjectAccessReview, as the real `sarapprove`) and csrsigning
//! (client signers, cluster CA, 1 year, backdated 5 minutes), and the Job controller with a kubelet running the
//! Job's Pod (`jobs`: a Job some Node can run completes). Simplified: kubelet-serving and legacy-unknown CSRs
//! are never signed, and nothing here is event-driven.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use x509_parser::prelude::FromDer;

use super::authn::{UserInfo, secret_value, token_expired};
use super::authz;
use super::jws;
use super::resources::{Resource, by_path};
use super::rest::collect_garbage;
use super::route::RequestInfo;
use super::store::{Key, SigningCa, Store, now_rfc3339, str_at};

const TOKEN_TYPE: &str = "bootstrap.kubernetes.io/token";
const KUBELET_CLIENT_SIGNER: &str = "kubernetes.io/kube-apiserver-client-kubelet";

fn resource(group: &str, name: &str) -> &'static Resource {
    by_path(group, "v1", name).expect("served resource")
}

/// One pass of every controller, in the order their effects depend on each other.
pub fn reconcile(store: &mut Store) {
    clean_tokens(store);
    sign_cluster_info(store);
    approve_csrs(store);
    sign_csrs(store);
    super::jobs::complete_jobs(store);
}

fn clean_tokens(store: &mut Store) {
    let now = time::OffsetDateTime::now_utc();
    let secrets = resource("", "secrets");
    let expired: Vec<Value> = store
        .list(secrets, "kube-system")
        .into_iter()
        .filter(|s| str_at(s, "/type") == TOKEN_TYPE && token_expired(s, now))
        .collect();
    for s in &expired {
        store.objects.remove(&Key::new(secrets, "kube-system", str_at(s, "/metadata/name")));
    }
    if !expired.is_empty() {
        store.next_rv();
        collect_garbage(store);
    }
}

/// The (id, secret) of every token the bootstrapsigner signs with, in name order.
fn signing_tokens(store: &Store) -> Vec<(String, String)> {
    let now = time::OffsetDateTime::now_utc();
    let mut out: Vec<(String, String)> = Vec::new();
    for s in store.list(resource("", "secrets"), "kube-system") {
        let Some(id) = str_at(&s, "/metadata/name").strip_prefix("bootstrap-token-") else { continue };
        let secret = secret_value(&s, "token-secret").unwrap_or_default();
        let usable = str_at(&s, "/type") == TOKEN_TYPE
            && secret_value(&s, "token-id").as_deref() == Some(id)
            && !secret.is_empty()
            && !token_expired(&s, now)
            && secret_value(&s, "usage-bootstrap-signing").as_deref() == Some("true");
        if usable && !out.iter().any(|(i, _)| i == id) {
            out.push((id.to_string(), secret));
        }
    }
    out
}

fn sign_cluster_info(store: &mut Store) {
    let configmaps = resource("", "configmaps");
    let Some(cm) = store.get(configmaps, "kube-public", "cluster-info").cloned() else { return };
    let Some(kubeconfig) = cm.pointer("/data/kubeconfig").and_then(Value::as_str).filter(|k| !k.is_empty()) else {
        return;
    };
    let mut data = cm["data"].as_object().cloned().unwrap_or_default();
    data.retain(|k, _| !k.starts_with("jws-kubeconfig-"));
    for (id, secret) in signing_tokens(store) {
        data.insert(format!("jws-kubeconfig-{id}"), jws::detached(&id, &secret, kubeconfig).into());
    }
    if Value::Object(data.clone()) != cm["data"] {
        let mut new = cm.clone();
        new["data"] = Value::Object(data);
        store.put(configmaps, new);
    }
}

fn condition(csr: &Value, kind: &str) -> bool {
    let conditions = csr.pointer("/status/conditions").and_then(Value::as_array);
    conditions.is_some_and(|c| c.iter().any(|x| str_at(x, "/type") == kind))
}

/// What the approver reads from a CSR's PEM request: CN, O list, and whether it asks for any SAN.
fn subject(csr: &Value) -> Option<(String, Vec<String>, bool)> {
    let pem = String::from_utf8(STANDARD.decode(str_at(csr, "/spec/request")).ok()?).ok()?;
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).ok()?;
    let (_, req) = x509_parser::certification_request::X509CertificationRequest::from_der(&pem.contents).ok()?;
    let info = &req.certification_request_info;
    let cn = info.subject.iter_common_name().next()?.as_str().ok()?.to_string();
    let orgs = info.subject.iter_organization().filter_map(|o| o.as_str().ok()).map(str::to_string).collect();
    let sans = req
        .requested_extensions()
        .into_iter()
        .flatten()
        .any(|e| matches!(e, x509_parser::extensions::ParsedExtension::SubjectAlternativeName(_)));
    Some((cn, orgs, sans))
}

/// `isNodeClientCert`: O=[system:nodes], CN=system:node:…, no SANs, usages exactly the kubelet client set.
fn is_node_client(csr: &Value) -> Option<String> {
    let (cn, orgs, sans) = subject(csr)?;
    let mut usages: Vec<&str> =
        csr.pointer("/spec/usages")?.as_array()?.iter().filter_map(Value::as_str).collect::<Vec<_>>();
    usages.sort_unstable();
    let usages_ok = usages == ["client auth", "digital signature"]
        || usages == ["client auth", "digital signature", "key encipherment"];
    (orgs == ["system:nodes"] && cn.starts_with("system:node:") && !sans && usages_ok).then_some(cn)
}

fn may_create(store: &Store, user: &UserInfo, subresource: &str) -> bool {
    let info = RequestInfo {
        resource_request: true,
        verb: "create".into(),
        group: "certificates.k8s.io".into(),
        version: "v1".into(),
        resource: "certificatesigningrequests".into(),
        subresource: subresource.into(),
        ..Default::default()
    };
    authz::allowed(store, user, &info)
}

fn approve_csrs(store: &mut Store) {
    let csrs = resource("certificates.k8s.io", "certificatesigningrequests");
    for csr in store.list(csrs, "") {
        if str_at(&csr, "/spec/signerName") != KUBELET_CLIENT_SIGNER
            || condition(&csr, "Approved")
            || condition(&csr, "Denied")
        {
            continue;
        }
        let Some(cn) = is_node_client(&csr) else { continue };
        let requester = UserInfo {
            name: str_at(&csr, "/spec/username").to_string(),
            groups: csr
                .pointer("/spec/groups")
                .and_then(Value::as_array)
                .map(|g| g.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default(),
        };
        let message = if requester.name == cn && may_create(store, &requester, "selfnodeclient") {
            "Auto approving self kubelet client certificate after SubjectAccessReview."
        } else if may_create(store, &requester, "nodeclient") {
            "Auto approving kubelet client certificate after SubjectAccessReview."
        } else {
            continue;
        };
        let now = now_rfc3339();
        let mut new = csr.clone();
        new["kind"] = csrs.kind.into();
        new["apiVersion"] = csrs.api_version().into();
        if !new["status"]["conditions"].is_array() {
            new["status"]["conditions"] = json!([]);
        }
        new["status"]["conditions"].as_array_mut().expect("array").push(json!({
            "type": "Approved", "status": "True", "reason": "AutoApproved", "message": message,
            "lastUpdateTime": now, "lastTransitionTime": now,
        }));
        store.put(csrs, new);
    }
}

fn sign_csrs(store: &mut Store) {
    let Some(ca) = store.ca.clone() else { return };
    let csrs = resource("certificates.k8s.io", "certificatesigningrequests");
    for csr in store.list(csrs, "") {
        let signer = str_at(&csr, "/spec/signerName");
        let client_signer = signer == KUBELET_CLIENT_SIGNER || signer == "kubernetes.io/kube-apiserver-client";
        if !client_signer || !condition(&csr, "Approved") || condition(&csr, "Denied") || condition(&csr, "Failed") {
            continue;
        }
        if !str_at(&csr, "/status/certificate").is_empty() {
            continue;
        }
        let Some(pem) = issue(&ca, &csr) else { continue };
        let mut new = csr.clone();
        new["status"]["certificate"] = STANDARD.encode(pem).into();
        store.put(csrs, new);
    }
}

/// Signs a CSR's request the way csrsigning does: subject and key from the request, the usages as key usage/EKU,
/// CA:FALSE, AKI, no SKI, random serial, not before now−5 min, valid one year (or expirationSeconds if shorter, ≥ 10 min),
/// never past the CA's own expiry.
fn issue(ca: &SigningCa, csr: &Value) -> Option<String> {
    use rcgen::{ExtendedKeyUsagePurpose as Eku, IsCa, KeyUsagePurpose as Ku};
    let request_pem = String::from_utf8(STANDARD.decode(str_at(csr, "/spec/request")).ok()?).ok()?;
    let mut req = rcgen::CertificateSigningRequestParams::from_pem(&request_pem).ok()?;
    let now = time::OffsetDateTime::now_utc();
    let not_before = now - time::Duration::minutes(5);
    let mut ttl = time::Duration::hours(8760);
    if let Some(secs) = csr.pointer("/spec/expirationSeconds").and_then(Value::as_i64) {
        ttl = ttl.min(time::Duration::seconds(secs.max(600)));
    }
    let mut not_after = not_before + ttl;
    let (_, ca_pem) = x509_parser::pem::parse_x509_pem(ca.cert_pem.as_bytes()).ok()?;
    let ca_cert = ca_pem.parse_x509().ok()?;
    not_after = not_after.min(ca_cert.validity().not_after.to_datetime());
    let p = &mut req.params;
    p.not_before = not_before;
    p.not_after = not_after;
    let mut serial = [0u8; 16];
    aws_lc_rs::rand::fill(&mut serial).ok()?;
    serial[0] &= 0x7f;
    p.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    // CA:FALSE without a subject key identifier, as Go's signer writes it (rcgen's ExplicitNoCa would add an SKI)
    p.is_ca = IsCa::NoCa;
    let mut basic_constraints = rcgen::CustomExtension::from_oid_content(&[2, 5, 29, 19], vec![0x30, 0x00]);
    basic_constraints.set_criticality(true);
    p.custom_extensions.push(basic_constraints);
    p.use_authority_key_identifier_extension = true;
    p.key_usages.clear();
    p.extended_key_usages.clear();
    for u in csr.pointer("/spec/usages")?.as_array()?.iter().filter_map(Value::as_str) {
        match u {
            "digital signature" => p.key_usages.push(Ku::DigitalSignature),
            "key encipherment" => p.key_usages.push(Ku::KeyEncipherment),
            "client auth" => p.extended_key_usages.push(Eku::ClientAuth),
            "server auth" => p.extended_key_usages.push(Eku::ServerAuth),
            _ => {}
        }
    }
    let key = rcgen::KeyPair::from_pem(&ca.key_pem).ok()?;
    let issuer = rcgen::Issuer::from_ca_cert_pem(&ca.cert_pem, key).ok()?;
    Some(req.signed_by(&issuer).ok()?.pem())
}

/// The controllers' timer thread; stops on drop.
pub struct Controllers {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Controllers {
    pub(super) fn start(store: Arc<Mutex<Store>>) -> Controllers {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                reconcile(&mut store.lock().unwrap_or_else(|e| e.into_inner()));
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Controllers { stop, thread: Some(thread) }
    }
}

impl Drop for Controllers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
