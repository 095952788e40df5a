//! `kbinit token create|list|delete|generate`: the flags, and `token`, which hands them to [`crate::flows::token`].

use std::path::PathBuf;

use clap::{Args, Subcommand};
use kbinit_phases::config;

use super::Global;
use crate::error::invalid;
use crate::output::Output;

/// `kbinit token …`
#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a bootstrap token on the cluster.
    Create(TokenCreateArgs),
    /// Delete bootstrap tokens (by id or whole token).
    Delete {
        /// Token ids (`abcdef`) or whole tokens.
        #[arg(required = true)]
        tokens: Vec<String>,
        /// kubeconfig used to talk to the cluster.
        #[arg(long, default_value = "/etc/kubernetes/admin.conf")]
        kubeconfig: String,
    },
    /// Print a new random token (nothing is created).
    Generate,
    /// List the bootstrap tokens of the cluster.
    List {
        /// Output format: text, json or yaml.
        #[arg(short = 'o', long = "output", alias = "experimental-output", default_value = "text")]
        output: String,
        /// kubeconfig used to talk to the cluster.
        #[arg(long, default_value = "/etc/kubernetes/admin.conf")]
        kubeconfig: String,
    },
}

/// Flags of `kbinit token create`.
#[derive(Args, Debug)]
pub struct TokenCreateArgs {
    /// The token to create (default: random).
    pub token: Option<String>,
    /// A kubeadm InitConfiguration file with bootstrapTokens.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Description for the token.
    #[arg(long)]
    pub description: Option<String>,
    /// Extra groups the token authenticates as.
    #[arg(long, value_delimiter = ',')]
    pub groups: Option<Vec<String>>,
    /// Print the whole join command instead of the token.
    #[arg(long)]
    pub print_join_command: bool,
    /// With --print-join-command: the certificate key to add for control-plane joins.
    #[arg(long)]
    pub certificate_key: Option<String>,
    /// With --print-join-command: upload this node's cluster certificates again under a fresh certificate key
    /// (or --certificate-key) and print a complete control-plane join command; the token lives 2h unless --ttl.
    #[arg(long)]
    pub control_plane: bool,
    /// Token lifetime, 0 for never [default: 24h0m0s].
    #[arg(long)]
    pub ttl: Option<String>,
    /// What the token may be used for [default: signing,authentication].
    #[arg(long, value_delimiter = ',')]
    pub usages: Option<Vec<String>>,
    /// kubeconfig used to talk to the cluster.
    #[arg(long, default_value = "/etc/kubernetes/admin.conf")]
    pub kubeconfig: String,
    /// Print what would be done, change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Runs `kbinit token …`.
pub fn token(g: &Global, cmd: TokenCommand, out: &Output) -> anyhow::Result<()> {
    let host = crate::host::Host::new(g.root.clone(), None);
    match cmd {
        TokenCommand::Generate => {
            out.say(&kbinit_phases::cluster::token::Token::generate().to_string());
            Ok(())
        }
        TokenCommand::Create(a) => {
            if let Some(t) = &a.token {
                config::validate_token(t)?;
            }
            if let Some(k) = &a.certificate_key {
                if !a.print_join_command {
                    return Err(invalid("cannot use --certificate-key without --print-join-command"));
                }
                config::validate_certificate_key(k)?;
            }
            if a.control_plane && !a.print_join_command {
                return Err(invalid("cannot use --control-plane without --print-join-command"));
            }
            let text = crate::flows::read_config(a.config.as_ref())?;
            let req = crate::flows::token::CreateRequest {
                token: a.token.as_deref(),
                config: text.as_deref(),
                flags: config::TokenFlags {
                    ttl: a.ttl.clone(),
                    usages: a.usages.clone(),
                    groups: a.groups.clone(),
                    description: a.description.clone(),
                },
                kubeconfig: &a.kubeconfig,
                dry_run: a.dry_run,
            };
            if a.control_plane {
                let line = crate::flows::token::control_plane::create_control_plane_join(
                    &host,
                    &req,
                    a.certificate_key.as_deref(),
                    out,
                )?;
                out.say(&line);
                return Ok(());
            }
            let token = crate::flows::token::create(&host, &req, out)?;
            if a.print_join_command {
                let line =
                    crate::flows::token::join_command_line(&host, &a.kubeconfig, &token, a.certificate_key.as_deref())?;
                out.say(&line);
            } else {
                out.say(&token.to_string());
            }
            Ok(())
        }
        TokenCommand::Delete { tokens, kubeconfig } => crate::flows::token::delete(&host, &kubeconfig, &tokens, out),
        TokenCommand::List { output, kubeconfig } => {
            if !matches!(output.as_str(), "text" | "json" | "yaml") {
                return Err(invalid(format!("invalid output format {output:?}: use text, json or yaml")));
            }
            let tokens = crate::flows::token::list(&host, &kubeconfig, out)?;
            crate::flows::token::print_list(&tokens, &output, out)
        }
    }
}
