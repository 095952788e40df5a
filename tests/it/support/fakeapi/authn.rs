//! Authentication in the real server's order: a verified client certificate (CN = user, O = groups), else a bearer
//! token checked as a bootstrap token against `kube-system/bootstrap-token-<id>`, else anonymous. A bearer token
//! that does not authenticate is a 401 (the real bearer-token authenticator turns "not mine" into an error), never
//! a fallback to anonymous. Only bootstrap tokens are known: no service-account tokens, no static token file.

use base64::Engine;
use serde_json::Value;

use super::resources::by_path;
use super::store::{Store, parse_rfc3339, str_at};

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub groups: Vec<String>,
}

pub const AUTHENTICATED: &str = "system:authenticated";

impl UserInfo {
    pub fn anonymous() -> UserInfo {
        UserInfo { name: "system:anonymous".into(), groups: vec!["system:unauthenticated".into()] }
    }
    /// A user as an authenticator returns it, with `system:authenticated` appended as the real group adder does.
    pub fn authenticated(name: String, mut groups: Vec<String>) -> UserInfo {
        if !groups.iter().any(|g| g == AUTHENTICATED) {
            groups.push(AUTHENTICATED.into());
        }
        UserInfo { name, groups }
    }
    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }
}

/// The user of a client certificate already verified against the client CA by the TLS layer.
pub fn from_client_cert(der: &[u8]) -> Option<UserInfo> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let subject = cert.subject();
    let cn = subject.iter_common_name().next()?.as_str().ok()?.to_string();
    let groups = subject.iter_organization().filter_map(|o| o.as_str().ok()).map(str::to_string).collect();
    Some(UserInfo::authenticated(cn, groups))
}

/// The decoded value of a Secret's `data` key.
pub fn secret_value(secret: &Value, key: &str) -> Option<String> {
    let b64 = secret.get("data")?.get(key)?.as_str()?;
    String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b64).ok()?).ok()
}

/// Whether a bootstrap token Secret has expired at `now`; an unparsable expiration counts as expired.
pub fn token_expired(secret: &Value, now: time::OffsetDateTime) -> bool {
    match secret_value(secret, "expiration") {
        None => false,
        Some(e) => parse_rfc3339(&e).is_none_or(|t| t <= now),
    }
}

/// Splits `<id>.<secret>` if it has the bootstrap token shape (`[a-z0-9]{6}\.[a-z0-9]{16}`).
pub fn parse_token(token: &str) -> Option<(&str, &str)> {
    let (id, secret) = token.split_once('.')?;
    let ok = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    (ok(id, 6) && ok(secret, 16)).then_some((id, secret))
}

/// The user of a bootstrap token, or None when it does not authenticate (unknown, wrong secret, expired, not for
/// authentication, being deleted).
pub fn from_bootstrap_token(store: &Store, token: &str) -> Option<UserInfo> {
    let (id, secret) = parse_token(token)?;
    let secrets = by_path("", "v1", "secrets")?;
    let s = store.get(secrets, "kube-system", &format!("bootstrap-token-{id}"))?;
    if s.pointer("/metadata/deletionTimestamp").is_some() || str_at(s, "/type") != "bootstrap.kubernetes.io/token" {
        return None;
    }
    let stored = secret_value(s, "token-secret")?;
    let same = aws_lc_rs::constant_time::verify_slices_are_equal(stored.as_bytes(), secret.as_bytes()).is_ok();
    if !same || secret_value(s, "token-id").as_deref() != Some(id) || token_expired(s, time::OffsetDateTime::now_utc())
    {
        return None;
    }
    if secret_value(s, "usage-bootstrap-authentication").as_deref() != Some("true") {
        return None;
    }
    let mut groups = vec!["system:bootstrappers".to_string()];
    if let Some(extra) = secret_value(s, "auth-extra-groups") {
        for g in extra.split(',').map(str::trim).filter(|g| !g.is_empty()) {
            if !groups.iter().any(|have| have == g) {
                groups.push(g.to_string());
            }
        }
    }
    Some(UserInfo::authenticated(format!("system:bootstrap:{id}"), groups))
}

/// The whole chain: certificate user if any, else the `Authorization: Bearer` token (Err = 401), else anonymous.
pub fn authenticate(store: &Store, cert_user: Option<&UserInfo>, authorization: Option<&str>) -> Result<UserInfo, ()> {
    if let Some(u) = cert_user {
        return Ok(u.clone());
    }
    match authorization.and_then(|h| h.strip_prefix("Bearer ")).map(str::trim) {
        Some(token) => from_bootstrap_token(store, token).ok_or(()),
        None => Ok(UserInfo::anonymous()),
    }
}
