//! Bootstrap tokens in configuration: the `bootstrapTokens` list of InitConfiguration, and what `token create`
//! makes from `--config` and its flags.

use std::time::Duration;

use super::*;
use crate::Error;

/// Flags of `token create`; `Some` = given. They override the first `bootstrapTokens` entry of `--config`.
#[derive(Debug, Clone, Default)]
pub struct TokenFlags {
    /// `--ttl`.
    pub ttl: Option<String>,
    /// `--usages`.
    pub usages: Option<Vec<String>>,
    /// `--groups`.
    pub groups: Option<Vec<String>>,
    /// `--description`.
    pub description: Option<String>,
}

/// The token `token create` makes: the first `bootstrapTokens` entry of an InitConfiguration document (if given),
/// with the flags on top, validated and defaulted as kubeadm does (ttl 24h, usages signing+authentication, the
/// default node-token group, empty description). The token value itself is given separately.
pub fn token_create_spec(config_text: Option<&str>, flags: &TokenFlags) -> Result<BootstrapToken, Error> {
    let mut base = WireToken::default();
    if let Some(text) = config_text {
        for doc in crate::go_format::yaml::documents(text)? {
            if doc.get("kind").and_then(serde_json::Value::as_str) == Some("InitConfiguration")
                && let Some(first) = doc.get("bootstrapTokens").and_then(|t| t.get(0))
            {
                base = serde_json::from_value(first.clone())
                    .map_err(|e| Error::Document(format!("InitConfiguration bootstrapTokens[0]: {e}")))?;
            }
        }
    }
    base.token = None;
    if flags.ttl.is_some() {
        base.ttl = flags.ttl.clone();
        base.expires = None;
    }
    if flags.usages.is_some() {
        base.usages = flags.usages.clone();
    }
    if flags.groups.is_some() {
        base.groups = flags.groups.clone();
    }
    if flags.description.is_some() {
        base.description = flags.description.clone();
    }
    let mut list = bootstrap_tokens(Some(vec![base]), Namer { flags: true }, "").map_err(|e| match e {
        // name the flag when the bad value came from one
        Error::Invalid { field, value, reason } => {
            let flag = [("usages", flags.usages.is_some()), ("groups", flags.groups.is_some())]
                .into_iter()
                .find(|(f, given)| *given && field.ends_with(&format!(".{f}")))
                .map(|(f, _)| format!("--{f}"));
            let field = if field == "--token-ttl" { "--ttl".to_string() } else { field };
            Error::Invalid { field: flag.unwrap_or(field), value, reason }
        }
        other => other,
    })?;
    list.pop().ok_or_else(|| Error::Document("no token".into()))
}

pub(super) fn bootstrap_tokens(
    list: Option<Vec<WireToken>>,
    nm: Namer,
    description: &str,
) -> Result<Vec<BootstrapToken>, Error> {
    let list = list.filter(|l| !l.is_empty()).unwrap_or_else(|| vec![WireToken::default()]);
    let mut out = Vec::new();
    for (i, t) in list.into_iter().enumerate() {
        let p = format!("bootstrapTokens[{i}]");
        let token = t.token.filter(|s| !s.is_empty());
        if let Some(tok) = &token {
            validate_token_field(&nm.n(&format!("{p}.token"), "token"), tok)?;
        }
        if t.ttl.is_some() && t.expires.is_some() {
            return Err(Error::invalid(
                format!("{p}.expires"),
                t.expires.unwrap_or_default(),
                "ttl and expires are mutually exclusive",
            ));
        }
        let ttl = dur(&nm.n(&format!("{p}.ttl"), "token-ttl"), t.ttl, Duration::from_secs(24 * 3600))?;
        // an empty list is defaulted like a missing one (SetDefaults_BootstrapToken tests len == 0)
        let usages =
            t.usages.filter(|u| !u.is_empty()).unwrap_or_else(|| vec!["signing".into(), "authentication".into()]);
        validate_token_usages(&format!("{p}.usages"), &usages)?;
        let groups = t.groups.filter(|g| !g.is_empty()).unwrap_or_else(|| vec![DEFAULT_TOKEN_GROUP.into()]);
        validate_token_groups(&format!("{p}.groups"), &usages, &groups)?;
        out.push(BootstrapToken {
            token,
            description: t.description.unwrap_or_else(|| description.to_string()),
            ttl: (!ttl.is_zero()).then_some(ttl),
            expires: t.expires,
            usages,
            groups,
        });
    }
    Ok(out)
}
