//! `kbinit token create|list|delete`: bootstrap token Secrets on a live cluster, through the kubeconfig given
//! with `--kubeconfig` (resolved under `--root`), never the ambient `KUBECONFIG`.

pub mod control_plane;

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kbinit_phases::api::{ApiStep, ResourceType, WritePolicy};
use kbinit_phases::cluster::join_command::{CertificateKeyText, JoinCommand, one_line};
use kbinit_phases::cluster::token::{Token, TokenInfo, token_list_table, token_secret};
use kbinit_phases::config::{self, TokenFlags};
use serde_json::{Value, json};

use crate::api::apply::DryRunForm;
use crate::api::{Cluster, Target, apply_api};
use crate::error::invalid;
use crate::host::Host;
use crate::output::Output;
use kbinit_phases::version::KubeVersion;

/// One API call may retry this long.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Connects with the kubeconfig at `path` (a node path under the host's root); its calls are reported on `out`.
pub fn connect(host: &Host, path: &str, out: &Output) -> anyhow::Result<Cluster> {
    Ok(Cluster::from_kubeconfig_file(&host.path(path), CALL_TIMEOUT)?.with_events(out))
}

/// What `token create` was asked for.
#[derive(Debug)]
pub struct CreateRequest<'a> {
    /// The token given on the command line, if any.
    pub token: Option<&'a str>,
    /// `--config` text.
    pub config: Option<&'a str>,
    /// `--ttl`, `--usages`, `--groups`, `--description`.
    pub flags: TokenFlags,
    /// `--kubeconfig`.
    pub kubeconfig: &'a str,
    /// `--dry-run`.
    pub dry_run: bool,
}

/// Creates the token's Secret (an existing token with the same id is an error) and returns the token.
pub fn create(host: &Host, req: &CreateRequest<'_>, out: &Output) -> anyhow::Result<Token> {
    let spec = config::token_create_spec(req.config, &req.flags)?;
    let token = match req.token {
        Some(t) => Token::parse(t)?,
        None => Token::generate(),
    };
    let secret = token_secret(&spec, &token, time::OffsetDateTime::now_utc())?;
    let steps = [ApiStep::write(&secret, WritePolicy::CreateNew)?];
    if req.dry_run {
        apply_api(&steps, Target::DryRun(DryRunForm::of(&KubeVersion::default_version())), out)?;
    } else {
        let c = connect(host, req.kubeconfig, out)?;
        apply_api(&steps, Target::Live(&c), out)
            .map_err(|e| anyhow::anyhow!("failed to create bootstrap token with id {:?}: {e:#}", token.id))?;
    }
    Ok(token)
}

/// The cluster's bootstrap tokens (secrets of type `bootstrap.kubernetes.io/token` in kube-system). Secrets that
/// cannot be read as tokens are reported as warnings and skipped, as kubeadm does.
pub fn list(host: &Host, kubeconfig: &str, out: &Output) -> anyhow::Result<Vec<TokenInfo>> {
    let c = connect(host, kubeconfig, out)?;
    let items = c
        .list(
            &ResourceType::of::<Secret>(),
            Some("kube-system"),
            "fieldSelector=type%3Dbootstrap.kubernetes.io%2Ftoken",
        )
        .map_err(|e| anyhow::anyhow!("failed to list bootstrap tokens: {e}"))?;
    let mut tokens = Vec::new();
    for item in items {
        let secret: Secret = match serde_json::from_value(item) {
            Ok(s) => s,
            Err(e) => {
                out.warn(&format!("skipping a Secret that cannot be decoded: {e}"));
                continue;
            }
        };
        match TokenInfo::from_secret(&secret) {
            Ok(t) => tokens.push(t),
            Err(e) => out.warn(&e.to_string()),
        }
    }
    tokens.sort_by(|a, b| a.token.id.cmp(&b.token.id));
    Ok(tokens)
}

/// Prints `token list` in the chosen format.
pub fn print_list(tokens: &[TokenInfo], format: &str, out: &Output) -> anyhow::Result<()> {
    let now = time::OffsetDateTime::now_utc();
    let objects: Vec<Value> = tokens
        .iter()
        .map(|t| {
            let mut o = json!({
                "kind": "BootstrapToken",
                "apiVersion": "output.kubeadm.k8s.io/v1alpha3",
                "token": t.token.to_string(),
                "usages": t.usages,
                "groups": t.groups,
            });
            if !t.description.is_empty() {
                o["description"] = json!(t.description);
            }
            if let Some(e) = t.expires {
                o["expires"] = json!(kbinit_phases::go_format::time::format_rfc3339_utc(e));
            }
            o
        })
        .collect();
    match format {
        "text" => out.raw(&token_list_table(tokens, now)),
        "json" => objects.iter().try_for_each(|o| -> anyhow::Result<()> {
            out.say(&serde_json::to_string_pretty(o)?);
            Ok(())
        })?,
        "yaml" => objects.iter().for_each(|o| out.raw(&format!("---\n{}", kbinit_phases::go_format::yaml::to_yaml(o)))),
        other => return Err(invalid(format!("invalid output format {other:?}: use text, json or yaml"))),
    }
    Ok(())
}

/// Deletes tokens given by id or whole token.
pub fn delete(host: &Host, kubeconfig: &str, tokens: &[String], out: &Output) -> anyhow::Result<()> {
    let ids: Vec<String> = tokens
        .iter()
        .map(|t| {
            if Token::is_valid_id(t) {
                Ok(t.clone())
            } else {
                Token::parse(t).map(|tok| tok.id.clone()).map_err(|_| {
                    invalid(format!(
                        "given token {t:?} didn't match pattern \"[a-z0-9]{{6}}\" or \"[a-z0-9]{{6}}\\.[a-z0-9]{{16}}\""
                    ))
                })
            }
        })
        .collect::<anyhow::Result<_>>()?;
    let c = connect(host, kubeconfig, out)?;
    for id in ids {
        let name = kbinit_phases::cluster::token::secret_name(&id);
        let found = c
            .delete(&ResourceType::of::<Secret>(), Some("kube-system"), &name)
            .map_err(|e| anyhow::anyhow!("failed to delete bootstrap token {id:?}: {e}"))?;
        if !found {
            anyhow::bail!("bootstrap token {id:?} does not exist (no Secret kube-system/{name})");
        }
        out.say(&format!("bootstrap token {id:?} deleted"));
    }
    Ok(())
}

/// The endpoint (`host:port`) and CA pins of the cluster a kubeconfig talks to.
pub fn endpoint_and_pins(host: &Host, kubeconfig: &str) -> anyhow::Result<(String, Vec<String>)> {
    let path = host.path(kubeconfig);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow::anyhow!("cannot read the kubeconfig {}: {e}", path.display()))?;
    let (server, ca) = kbinit_phases::kubeconfig::current_cluster(&text, &|p| std::fs::read(host.path(p)).ok())
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let endpoint = JoinCommand::endpoint_from_server(&server);
    Ok((endpoint, kbinit_phases::kubeconfig::ca_pins(&ca)?))
}

/// `token create --print-join-command`: the one-line join command for the cluster of `kubeconfig`.
pub fn join_command_line(
    host: &Host,
    kubeconfig: &str,
    token: &Token,
    certificate_key: Option<&str>,
) -> anyhow::Result<String> {
    let (endpoint, ca_cert_hashes) = endpoint_and_pins(host, kubeconfig)?;
    let join = JoinCommand { endpoint, token: Some(token.to_string()), ca_cert_hashes };
    let text = match certificate_key {
        Some(k) => join.control_plane(&CertificateKeyText::Shown(k.to_string())),
        None => join.worker(),
    };
    Ok(one_line(&text))
}
