//! `kbinit api-server-proxy run|status|install|uninstall`: the flags, and `exec`, which turns them into the plain
//! options of [`crate::flows::api_server_proxy`], where the work is.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::Global;
use crate::flows::api_server_proxy::setup::{self, InstallOptions, UninstallOptions};
use crate::flows::api_server_proxy::{self as flow, RunOptions, StatusOptions};
use crate::output::Output;

/// `kbinit api-server-proxy …`
#[derive(Subcommand, Debug)]
pub enum ApiProxyCommand {
    /// Run the node-local API server proxy in the foreground (what the systemd unit starts).
    Run(RunArgs),
    /// Show the running proxy's backends and their health.
    Status(StatusArgs),
    /// Set the proxy up on this node: the systemd unit, and the kubelet's kubeconfigs pointed at it.
    Install(InstallArgs),
    /// Remove the proxy from this node and point the kubelet's kubeconfigs back at the API server.
    Uninstall(UninstallArgs),
}

/// Flags of `kbinit api-server-proxy run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub listen_address: IpAddr,
    /// Port to listen on.
    #[arg(long, default_value_t = crate::api_server_proxy::DEFAULT_PORT)]
    pub port: u16,
    /// An API server (`host:port`) to start from when no cached list exists; repeatable.
    #[arg(long = "server", value_name = "IP:PORT")]
    pub servers: Vec<std::net::SocketAddr>,
    /// Kubeconfigs for discovering the API servers, first existing wins [default: the kubelet's kubelet.conf,
    /// then bootstrap-kubelet.conf].
    #[arg(long = "kubeconfig", value_name = "FILE")]
    pub kubeconfigs: Vec<PathBuf>,
    /// Do not learn API servers from the cluster (serve the cached and given ones only).
    #[arg(long)]
    pub no_discovery: bool,
}

/// Flags of `kbinit api-server-proxy status`.
#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Output format: text or json.
    #[arg(short = 'o', long = "output", default_value = "text")]
    pub output: String,
}

/// Flags of `kbinit api-server-proxy install`.
#[derive(Args, Debug)]
pub struct InstallArgs {
    /// Port of the proxy [default: the cluster's setting, else 7445].
    #[arg(long)]
    pub port: Option<u16>,
    /// API servers (`host:port`) to start from [default: the server of the kubelet's kubeconfig].
    #[arg(long = "server", value_name = "IP:PORT")]
    pub servers: Vec<std::net::SocketAddr>,
    /// Show what would be written and changed, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Preflight checks whose errors become warnings (`Port-7445`); 'all' ignores every check.
    #[arg(long, value_name = "CHECKS", value_delimiter = ',')]
    pub ignore_preflight_errors: Vec<String>,
}

/// Flags of `kbinit api-server-proxy uninstall`.
#[derive(Args, Debug)]
pub struct UninstallArgs {
    /// The API server URL to point the kubelet's kubeconfigs back at [default: the first cached API server].
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// Show what would be changed, change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Runs `kbinit api-server-proxy …`: the flags become the flow's options.
pub fn exec(g: &Global, cmd: ApiProxyCommand, out: &Output) -> anyhow::Result<()> {
    let root = g.root.clone();
    match cmd {
        ApiProxyCommand::Run(a) => flow::run(
            RunOptions {
                root,
                listen_address: a.listen_address,
                port: a.port,
                servers: a.servers,
                kubeconfigs: a.kubeconfigs,
                no_discovery: a.no_discovery,
            },
            out,
        ),
        ApiProxyCommand::Status(a) => flow::status(StatusOptions { root, output: a.output }, out),
        ApiProxyCommand::Install(a) => setup::install_cmd(
            InstallOptions {
                root,
                port: a.port,
                servers: a.servers,
                dry_run: a.dry_run,
                ignore_preflight_errors: a.ignore_preflight_errors,
            },
            out,
        ),
        ApiProxyCommand::Uninstall(a) => {
            setup::uninstall_cmd(UninstallOptions { root, server: a.server, dry_run: a.dry_run }, out)
        }
    }
}
