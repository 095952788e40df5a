//! Bootstrap tokens (§G): the [`Token`] value, the `kube-system/bootstrap-token-<id>` Secret built from a configured
//! [`BootstrapToken`], the reverse ([`TokenInfo::from_secret`]) for `token list`, and the `token list` table.
//!
//! Times are passed in (`now`); the crate reads no clock. Expirations are written in UTC, RFC 3339 with `Z` and
//! whole seconds, as Go's `Time.UTC().Format(time.RFC3339)` writes them.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use time::OffsetDateTime;

use crate::Error;
use crate::config::BootstrapToken;
use crate::config::validate::generate_token;
use crate::go_format::table::tabwriter;
use crate::go_format::time::{format_rfc3339, format_rfc3339_utc, parse_rfc3339, short_human_duration};

/// Namespace of bootstrap token Secrets.
pub const TOKEN_NAMESPACE: &str = "kube-system";
/// Type of bootstrap token Secrets.
pub const TOKEN_SECRET_TYPE: &str = "bootstrap.kubernetes.io/token";
/// Prefix of bootstrap token Secret names.
pub const TOKEN_SECRET_PREFIX: &str = "bootstrap-token-";
/// Description of the short-lived token that owns `kubeadm-certs` (§I.2).
pub const CERTS_TOKEN_DESCRIPTION: &str = "Proxy for managing TTL for the kubeadm-certs secret";

fn is_token_chars(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// A bootstrap token `<id>.<secret>`: id `[a-z0-9]{6}`, secret `[a-z0-9]{16}`.
///
/// `Display` gives the full token (what an operator types); `Debug` shows only the id.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    /// The public part, `[a-z0-9]{6}`.
    pub id: String,
    /// The secret part, `[a-z0-9]{16}`.
    pub secret: String,
}

impl Token {
    /// Parses `<id>.<secret>` with kubeadm's rules (`\A([a-z0-9]{6})\.([a-z0-9]{16})\z`), saying what is wrong.
    pub fn parse(text: &str) -> Result<Token, Error> {
        let bad = |reason: &str| {
            // the secret part is not echoed back
            let shown =
                text.split_once('.').map_or_else(|| "<withheld>".to_string(), |(id, _)| format!("{id}.<withheld>"));
            Error::invalid(
                "token",
                shown,
                format!("{reason}; a bootstrap token looks like \"abcdef.0123456789abcdef\""),
            )
        };
        let Some((id, secret)) = text.split_once('.') else {
            return Err(bad("the token has no \".\" between its id and its secret"));
        };
        if id.len() != 6 {
            return Err(bad(&format!("the token id must be 6 characters, got {}", id.len())));
        }
        if !is_token_chars(id) {
            return Err(bad("the token id may only hold lower-case letters a-z and digits 0-9"));
        }
        if secret.len() != 16 {
            return Err(bad(&format!("the token secret must be 16 characters, got {}", secret.len())));
        }
        if !is_token_chars(secret) {
            return Err(bad("the token secret may only hold lower-case letters a-z and digits 0-9"));
        }
        Ok(Token { id: id.to_string(), secret: secret.to_string() })
    }

    /// A random token (unbiased over `[a-z0-9]`, as kubeadm draws it).
    pub fn generate() -> Token {
        let text = generate_token();
        let (id, secret) = text.split_at(6);
        Token { id: id.to_string(), secret: secret.trim_start_matches('.').to_string() }
    }

    /// `true` when `text` is a valid token id (`[a-z0-9]{6}`), as `token delete` accepts it.
    pub fn is_valid_id(text: &str) -> bool {
        text.len() == 6 && is_token_chars(text)
    }

    /// The name of this token's Secret: `bootstrap-token-<id>`.
    pub fn secret_name(&self) -> String {
        secret_name(&self.id)
    }
}

/// `bootstrap-token-<id>`.
pub fn secret_name(id: &str) -> String {
    format!("{TOKEN_SECRET_PREFIX}{id}")
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.id, self.secret)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({}.<redacted>)", self.id)
    }
}

/// The token of a configured [`BootstrapToken`], or a new random one when none was given.
pub fn resolve_token(configured: &BootstrapToken) -> Result<Token, Error> {
    match configured.token.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => Token::parse(t),
        None => Ok(Token::generate()),
    }
}

/// The `expiration` a token gets: its absolute `expires`, else `now + ttl`, else none (never expires).
pub fn token_expiration(configured: &BootstrapToken, now: OffsetDateTime) -> Result<Option<OffsetDateTime>, Error> {
    if let Some(expires) = configured.expires.as_deref().filter(|e| !e.is_empty()) {
        let t = parse_rfc3339(expires).ok_or_else(|| {
            Error::invalid("bootstrapTokens[].expires", expires, "not an RFC 3339 time such as 2026-11-23T13:23:29Z")
        })?;
        return Ok(Some(t));
    }
    match configured.ttl.filter(|d| !d.is_zero()) {
        Some(ttl) => {
            let ttl = time::Duration::try_from(ttl)
                .map_err(|_| Error::invalid("bootstrapTokens[].ttl", format!("{ttl:?}"), "the ttl is too large"))?;
            Ok(Some(now + ttl))
        }
        None => Ok(None),
    }
}

/// The `kube-system/bootstrap-token-<id>` Secret for a configured token (§G.3): `token-id`, `token-secret`,
/// `expiration` (when it expires), `description` (when not empty), `usage-bootstrap-<usage>: true`,
/// `auth-extra-groups` (comma-joined, when any).
pub fn token_secret(configured: &BootstrapToken, token: &Token, now: OffsetDateTime) -> Result<Secret, Error> {
    let mut data: BTreeMap<String, ByteString> = BTreeMap::new();
    let mut put = |k: &str, v: &str| {
        data.insert(k.to_string(), ByteString(v.as_bytes().to_vec()));
    };
    put("token-id", &token.id);
    put("token-secret", &token.secret);
    if !configured.description.is_empty() {
        put("description", &configured.description);
    }
    if let Some(exp) = token_expiration(configured, now)? {
        put("expiration", &format_rfc3339_utc(exp));
    }
    for usage in &configured.usages {
        put(&format!("usage-bootstrap-{usage}"), "true");
    }
    if !configured.groups.is_empty() {
        put("auth-extra-groups", &configured.groups.join(","));
    }
    Ok(Secret {
        metadata: ObjectMeta {
            name: Some(token.secret_name()),
            namespace: Some(TOKEN_NAMESPACE.into()),
            ..Default::default()
        },
        type_: Some(TOKEN_SECRET_TYPE.into()),
        data: Some(data),
        ..Default::default()
    })
}

/// The short-lived token that owns `kubeadm-certs` (§I.2): description [`CERTS_TOKEN_DESCRIPTION`], ttl 2h, no
/// usages, no groups.
pub fn certs_owner_token() -> BootstrapToken {
    BootstrapToken {
        token: None,
        description: CERTS_TOKEN_DESCRIPTION.into(),
        ttl: Some(std::time::Duration::from_secs(2 * 3600)),
        expires: None,
        usages: Vec::new(),
        groups: Vec::new(),
    }
}

/// A bootstrap token as read back from its Secret (for `token list`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// The token.
    pub token: Token,
    /// When it expires; `None` = never.
    pub expires: Option<OffsetDateTime>,
    /// Usages (from `usage-bootstrap-<usage>` keys whose value is exactly `true`), sorted.
    pub usages: Vec<String>,
    /// Description (may be empty).
    pub description: String,
    /// Extra groups (from `auth-extra-groups`).
    pub groups: Vec<String>,
}

impl TokenInfo {
    /// Reads a bootstrap token Secret. Fails, naming the Secret, when its name, id, secret or expiration is not
    /// valid.
    pub fn from_secret(secret: &Secret) -> Result<TokenInfo, Error> {
        let name = secret.metadata.name.clone().unwrap_or_default();
        let fail = |reason: String| Error::Encode(format!("bootstrap token Secret {name:?} cannot be read: {reason}"));
        let empty = BTreeMap::new();
        let data = secret.data.as_ref().unwrap_or(&empty);
        let get = |k: &str| -> Option<String> {
            data.get(k).and_then(|v| String::from_utf8(v.0.clone()).ok()).filter(|s| !s.is_empty())
        };
        let name_id = name.strip_prefix(TOKEN_SECRET_PREFIX).filter(|id| Token::is_valid_id(id));
        let Some(name_id) = name_id else {
            return Err(fail("the name is not of the form bootstrap-token-<[a-z0-9]{6}>".into()));
        };
        let id = get("token-id").ok_or_else(|| fail("it has no token-id".into()))?;
        if id != name_id {
            return Err(fail(format!("its token-id {id:?} does not match the name")));
        }
        let secret_part = get("token-secret").ok_or_else(|| fail("it has no token-secret".into()))?;
        let token = Token::parse(&format!("{id}.{secret_part}"))
            .map_err(|_| fail("its token-id or token-secret is not a valid bootstrap token".into()))?;
        let expires = match get("expiration") {
            Some(text) => Some(
                parse_rfc3339(&text).ok_or_else(|| fail(format!("its expiration {text:?} is not an RFC 3339 time")))?,
            ),
            None => None,
        };
        let mut usages: Vec<String> = data
            .iter()
            .filter(|(_, v)| v.0 == b"true")
            .filter_map(|(k, _)| k.strip_prefix("usage-bootstrap-").map(str::to_string))
            .collect();
        usages.sort();
        let groups = get("auth-extra-groups")
            .map(|g| g.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect())
            .unwrap_or_default();
        Ok(TokenInfo { token, expires, usages, description: get("description").unwrap_or_default(), groups })
    }
}

/// The text of `token list` (§A.6): header `TOKEN TTL EXPIRES USAGES DESCRIPTION EXTRA GROUPS`, one row per token,
/// `<forever>` / `<never>` for tokens that do not expire, `<none>` for empty fields, aligned as Go's
/// `tabwriter.NewWriter(out, 10, 4, 3, ' ', 0)` aligns them.
pub fn token_list_table(tokens: &[TokenInfo], now: OffsetDateTime) -> String {
    let or_none = |s: String| if s.is_empty() { "<none>".to_string() } else { s };
    let mut rows: Vec<Vec<String>> = vec![
        ["TOKEN", "TTL", "EXPIRES", "USAGES", "DESCRIPTION", "EXTRA GROUPS"].iter().map(|s| s.to_string()).collect(),
    ];
    for t in tokens {
        let (ttl, expires) = match t.expires {
            Some(e) => (short_human_duration(e - now), format_rfc3339(e)),
            None => ("<forever>".to_string(), "<never>".to_string()),
        };
        rows.push(vec![
            t.token.to_string(),
            ttl,
            expires,
            or_none(t.usages.join(",")),
            or_none(t.description.clone()),
            or_none(t.groups.join(",")),
        ]);
    }
    tabwriter(&rows, 10, 3)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    fn at(text: &str) -> OffsetDateTime {
        parse_rfc3339(text).unwrap()
    }

    fn init_token() -> BootstrapToken {
        BootstrapToken {
            token: Some("abcdef.0123456789abcdef".into()),
            description: "The default bootstrap token generated by 'kubeadm init'.".into(),
            ttl: Some(std::time::Duration::from_secs(86_400)),
            expires: None,
            usages: vec!["signing".into(), "authentication".into()],
            groups: vec!["system:bootstrappers:kubeadm:default-node-token".into()],
        }
    }

    #[test]
    fn q5_secret_data_as_stored() {
        let cfg = init_token();
        let tok = resolve_token(&cfg).unwrap();
        let s = token_secret(&cfg, &tok, at("2026-11-22T12:56:22Z")).unwrap();
        let body = serde_json::to_value(&s).unwrap();
        assert_eq!(body["metadata"]["name"], "bootstrap-token-abcdef");
        assert_eq!(body["metadata"]["namespace"], "kube-system");
        assert_eq!(body["type"], "bootstrap.kubernetes.io/token");
        let d = &body["data"];
        assert_eq!(d["token-id"], "YWJjZGVm");
        assert_eq!(d["token-secret"], "MDEyMzQ1Njc4OWFiY2RlZg==");
        assert_eq!(d["usage-bootstrap-signing"], "dHJ1ZQ==");
        assert_eq!(d["usage-bootstrap-authentication"], "dHJ1ZQ==");
        assert_eq!(d["auth-extra-groups"], "c3lzdGVtOmJvb3RzdHJhcHBlcnM6a3ViZWFkbTpkZWZhdWx0LW5vZGUtdG9rZW4=");
        assert_eq!(d["description"], "VGhlIGRlZmF1bHQgYm9vdHN0cmFwIHRva2VuIGdlbmVyYXRlZCBieSAna3ViZWFkbSBpbml0Jy4=");
        let exp = STANDARD.decode(d["expiration"].as_str().unwrap()).unwrap();
        assert_eq!(exp, b"2026-11-23T12:56:22Z");
        let keys: Vec<&String> = d.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "auth-extra-groups",
                "description",
                "expiration",
                "token-id",
                "token-secret",
                "usage-bootstrap-authentication",
                "usage-bootstrap-signing"
            ]
        );
    }

    #[test]
    fn certs_owner_token_has_only_four_keys_and_two_hours() {
        let tok = Token::parse("wa38n8.cpa0melez0uypusf").unwrap();
        let s = token_secret(&certs_owner_token(), &tok, at("2026-11-22T13:23:29Z")).unwrap();
        let d = s.data.unwrap();
        assert_eq!(d.keys().collect::<Vec<_>>(), ["description", "expiration", "token-id", "token-secret"]);
        assert_eq!(d["description"].0, b"Proxy for managing TTL for the kubeadm-certs secret");
        assert_eq!(
            STANDARD.encode(&d["description"].0),
            "UHJveHkgZm9yIG1hbmFnaW5nIFRUTCBmb3IgdGhlIGt1YmVhZG0tY2VydHMgc2VjcmV0"
        );
        assert_eq!(d["expiration"].0, b"2026-11-22T15:23:29Z");
    }

    #[test]
    fn expires_wins_and_is_written_in_utc_and_zero_ttl_never_expires() {
        let mut cfg = init_token();
        cfg.ttl = None;
        cfg.expires = Some("2027-01-02T05:04:05.25+02:00".into());
        let now = at("2026-11-22T12:00:00Z");
        let tok = Token::parse("abcdef.0123456789abcdef").unwrap();
        assert_eq!(token_secret(&cfg, &tok, now).unwrap().data.unwrap()["expiration"].0, b"2027-01-02T03:04:05Z");
        cfg.expires = None;
        assert!(!token_secret(&cfg, &tok, now).unwrap().data.unwrap().contains_key("expiration"));
        cfg.expires = Some("tomorrow".into());
        assert!(token_secret(&cfg, &tok, now).is_err());
    }

    #[test]
    fn token_parse_rules_and_errors() {
        let t = Token::parse("abcdef.0123456789abcdef").unwrap();
        assert_eq!((t.id.as_str(), t.secret.as_str()), ("abcdef", "0123456789abcdef"));
        assert_eq!(t.to_string(), "abcdef.0123456789abcdef");
        let dbg = format!("{t:?}");
        assert!(dbg.contains("abcdef") && !dbg.contains("0123456789abcdef"), "{dbg}");
        let err = |s: &str| Token::parse(s).unwrap_err().to_string();
        assert!(err("ABCDEF.0123456789abcdef").contains("lower-case"));
        assert!(err("abcdef0123456789abcdef").contains("no \".\""));
        assert!(err("abcde.0123456789abcdef").contains("6 characters, got 5"));
        assert!(err("abcdef.0123456789abcde").contains("16 characters, got 15"));
        assert!(err("abcdef.0123456789abcdeF").contains("secret may only"));
        assert!(!err("abcdef.qwertyuiopasdfgH").contains("qwerty"), "the secret is not echoed");
        let g = Token::generate();
        assert!(Token::parse(&g.to_string()).is_ok());
        assert_ne!(g, Token::generate());
        assert!(Token::is_valid_id("a1b2c3") && !Token::is_valid_id("a1b2c"));
    }

    fn secret_with(name: &str, data: &[(&str, &str)]) -> Secret {
        Secret {
            metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
            data: Some(data.iter().map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec()))).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn token_info_reads_back_what_token_secret_writes() {
        let cfg = init_token();
        let tok = resolve_token(&cfg).unwrap();
        let now = at("2026-11-22T12:56:22Z");
        let info = TokenInfo::from_secret(&token_secret(&cfg, &tok, now).unwrap()).unwrap();
        assert_eq!(info.token, tok);
        assert_eq!(info.usages, ["authentication", "signing"]);
        assert_eq!(info.groups, ["system:bootstrappers:kubeadm:default-node-token"]);
        assert_eq!(info.expires, Some(at("2026-11-23T12:56:22Z")));
        assert_eq!(info.description, cfg.description);
    }

    #[test]
    fn token_info_usages_need_exactly_true_and_errors_name_the_secret() {
        let s = secret_with(
            "bootstrap-token-abcdef",
            &[
                ("token-id", "abcdef"),
                ("token-secret", "0123456789abcdef"),
                ("usage-bootstrap-signing", "yes"),
                ("usage-bootstrap-authentication", "true"),
            ],
        );
        let info = TokenInfo::from_secret(&s).unwrap();
        assert_eq!(info.usages, ["authentication"]);
        assert_eq!(info.expires, None);
        let bad = secret_with(
            "bootstrap-token-abcdef",
            &[("token-id", "abcdef"), ("token-secret", "0123456789abcdef"), ("expiration", "soon")],
        );
        let e = TokenInfo::from_secret(&bad).unwrap_err().to_string();
        assert!(e.contains("\"bootstrap-token-abcdef\"") && e.contains("expiration"), "{e}");
        let mismatch =
            secret_with("bootstrap-token-zzzzzz", &[("token-id", "abcdef"), ("token-secret", "0123456789abcdef")]);
        assert!(TokenInfo::from_secret(&mismatch).unwrap_err().to_string().contains("does not match"));
        let no_secret = secret_with("bootstrap-token-abcdef", &[("token-id", "abcdef")]);
        assert!(TokenInfo::from_secret(&no_secret).unwrap_err().to_string().contains("token-secret"));
    }

    #[test]
    fn short_human_durations() {
        let d = time::Duration::seconds;
        assert_eq!(short_human_duration(d(-5)), "<invalid>");
        assert_eq!(short_human_duration(d(-1)), "0s");
        assert_eq!(short_human_duration(d(59)), "59s");
        assert_eq!(short_human_duration(d(3599)), "59m");
        assert_eq!(short_human_duration(d(23 * 3600 + 3599)), "23h");
        assert_eq!(short_human_duration(d(86_400 * 3)), "3d");
        assert_eq!(short_human_duration(d(86_400 * 800)), "2y");
    }

    #[test]
    fn token_list_table_layout() {
        let now = at("2026-11-22T12:56:22Z");
        let cfg = init_token();
        let a = TokenInfo::from_secret(&token_secret(&cfg, &resolve_token(&cfg).unwrap(), now).unwrap()).unwrap();
        let b = TokenInfo {
            token: Token::parse("zzzzzz.0000000000000000").unwrap(),
            expires: None,
            usages: vec![],
            description: String::new(),
            groups: vec![],
        };
        let table = token_list_table(&[a, b], now + time::Duration::hours(1));
        let expected = "\
TOKEN                     TTL         EXPIRES                USAGES                   DESCRIPTION                                                EXTRA GROUPS
abcdef.0123456789abcdef   23h         2026-11-23T12:56:22Z   authentication,signing   The default bootstrap token generated by 'kubeadm init'.   system:bootstrappers:kubeadm:default-node-token
zzzzzz.0000000000000000   <forever>   <never>                <none>                   <none>                                                     <none>
";
        assert_eq!(table, expected);
    }

    #[test]
    fn rfc3339_round_trip_and_rejects() {
        assert_eq!(format_rfc3339_utc(at("2026-11-23T13:23:29Z")), "2026-11-23T13:23:29Z");
        assert_eq!(format_rfc3339(at("2026-11-23T13:23:29-05:30")), "2026-11-23T13:23:29-05:30");
        for bad in ["2026-11-23 13:23:29Z", "2026-13-01T00:00:00Z", "2026-11-23T13:23:29", "2026-11-23T13:23:29+0100"] {
            assert!(parse_rfc3339(bad).is_none(), "{bad}");
        }
    }
}
