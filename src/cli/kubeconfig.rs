//! `kbinit kubeconfig user`: flags and dispatch (the work is in [`crate::flows::kubeconfig_user`]).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::Global;
use crate::output::Output;

/// `kbinit kubeconfig …`
#[derive(Subcommand, Debug)]
pub enum KubeconfigCommand {
    /// Output a kubeconfig file for an additional user.
    User(UserArgs),
}

/// Flags of `kbinit kubeconfig user`.
#[derive(Args, Debug)]
pub struct UserArgs {
    /// The name of user. It will be used as the CN if client certificates are created (required).
    #[arg(long)]
    pub client_name: Option<String>,
    /// The organization of the client certificate. It will be used as the O if client certificates are created.
    #[arg(long, value_delimiter = ',')]
    pub org: Vec<String>,
    /// The validity period of the client certificate. It is an offset from the current time [default: 8760h0m0s].
    #[arg(long)]
    pub validity_period: Option<String>,
    /// The token that should be used as the authentication mechanism for this kubeconfig, instead of client
    /// certificates.
    #[arg(long)]
    pub token: Option<String>,
    /// Path to a kubeadm configuration file.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// Runs `kbinit kubeconfig …`.
pub fn kubeconfig(g: &Global, cmd: KubeconfigCommand, out: &Output) -> anyhow::Result<()> {
    let host = crate::host::Host::new(g.root.clone(), None);
    match cmd {
        KubeconfigCommand::User(a) => {
            let flags = crate::flows::kubeconfig_user::UserFlags {
                client_name: a.client_name,
                orgs: a.org,
                validity_period: a.validity_period,
                token: a.token,
                config: a.config,
            };
            crate::flows::kubeconfig_user::exec(&host, &flags, out)
        }
    }
}
