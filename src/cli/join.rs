//! `kbinit join`: its flags, how they become [`JoinFlags`] and [`JoinOptions`], and `exec`, which hands them to
//! [`crate::flows::join`].

use std::path::PathBuf;

use clap::Args;
use kbinit_phases::config::JoinFlags;

use super::Global;
use crate::flows::join::JoinOptions;
use crate::output::Output;

/// Flags of `kbinit join` and of every `kbinit join phase …`.
#[derive(Args, Debug, Clone, Default)]
pub struct JoinArgs {
    /// The API server (or load balancer) to join through, host:port.
    #[arg(value_name = "API_SERVER_ENDPOINT")]
    pub api_server_endpoint: Option<String>,
    /// With --control-plane: the IP address this node's API server advertises.
    #[arg(long, value_name = "IP")]
    pub apiserver_advertise_address: Option<String>,
    /// With --control-plane: the port this node's API server binds to [default: 6443].
    #[arg(long, value_name = "PORT")]
    pub apiserver_bind_port: Option<String>,
    /// With --control-plane: the key that decrypts the kubeadm-certs Secret.
    #[arg(long, value_name = "KEY")]
    pub certificate_key: Option<String>,
    /// A kubeadm JoinConfiguration file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Join as a control-plane node (runs an API server and an etcd member here).
    #[arg(long)]
    pub control_plane: bool,
    /// CRI socket to talk to (default: detected).
    #[arg(long, value_name = "URL")]
    pub cri_socket: Option<String>,
    /// Discover the cluster from a kubeconfig file or https URL instead of a token.
    #[arg(long, value_name = "FILE_OR_URL")]
    pub discovery_file: Option<String>,
    /// Token used to discover and verify the cluster.
    #[arg(long, value_name = "TOKEN")]
    pub discovery_token: Option<String>,
    /// Pin of the cluster CA's public key (`sha256:<hex>`); may be given more than once.
    #[arg(long, value_name = "HASH", value_delimiter = ',')]
    pub discovery_token_ca_cert_hash: Option<Vec<String>>,
    /// Trust the cluster without pinning its CA (unsafe: anyone on the path can impersonate the cluster).
    #[arg(long)]
    pub discovery_token_unsafe_skip_ca_verification: bool,
    /// Only check that this node could join: discovery (token, CA pin, signature or the discovery file), the TLS
    /// bootstrap token and, with --control-plane, the certificate key, against the live cluster; report their
    /// remaining lifetimes. Changes nothing on the node.
    #[arg(long)]
    pub check: bool,
    /// Change nothing on the node: render every file into a fresh directory and print what would be done.
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: the directory to render into (default: a fresh temporary directory).
    #[arg(long, value_name = "DIR")]
    pub dry_run_dir: Option<PathBuf>,
    /// Preflight checks whose errors become warnings; 'all' ignores every check.
    #[arg(long, value_name = "CHECKS", value_delimiter = ',')]
    pub ignore_preflight_errors: Option<Vec<String>>,
    /// Node name [default: the hostname, lower-cased].
    #[arg(long, value_name = "NAME")]
    pub node_name: Option<String>,
    /// Directory with patches for the generated manifests.
    #[arg(long, value_name = "DIR")]
    pub patches: Option<String>,
    /// Phases to skip.
    #[arg(long, value_name = "PHASES", value_delimiter = ',')]
    pub skip_phases: Option<Vec<String>>,
    /// Token the kubelet uses for its TLS bootstrap.
    #[arg(long, value_name = "TOKEN")]
    pub tls_bootstrap_token: Option<String>,
    /// Token for both discovery and TLS bootstrap, when those are not given separately.
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Output format: text (kubeadm's lines) or jsonl (one JSON event per line on stdout, for automation).
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "text")]
    pub output: crate::output::Format,
}

impl JoinArgs {
    /// The plain options of join's flow: these flags, under `root`.
    pub fn options(self, root: &std::path::Path) -> JoinOptions {
        JoinOptions {
            root: root.to_path_buf(),
            flags: self.flags(),
            config: self.config,
            skip_phases: self.skip_phases.unwrap_or_default(),
            check: self.check,
            dry_run: self.dry_run,
            dry_run_dir: self.dry_run_dir,
        }
    }

    /// The flags that map onto configuration.
    pub fn flags(&self) -> JoinFlags {
        JoinFlags {
            api_server_endpoint: self.api_server_endpoint.clone(),
            apiserver_advertise_address: self.apiserver_advertise_address.clone(),
            apiserver_bind_port: self.apiserver_bind_port.clone(),
            certificate_key: self.certificate_key.clone(),
            control_plane: self.control_plane,
            cri_socket: self.cri_socket.clone(),
            discovery_file: self.discovery_file.clone(),
            discovery_token: self.discovery_token.clone(),
            discovery_token_ca_cert_hash: self.discovery_token_ca_cert_hash.clone(),
            discovery_token_unsafe_skip_ca_verification: self.discovery_token_unsafe_skip_ca_verification,
            ignore_preflight_errors: self.ignore_preflight_errors.clone(),
            node_name: self.node_name.clone(),
            patches: self.patches.clone(),
            skip_phases: self.skip_phases.clone(),
            tls_bootstrap_token: self.tls_bootstrap_token.clone(),
            token: self.token.clone(),
        }
    }
}

/// `kbinit join` (or one phase of it, `only`): the flags become join's options, and the flow runs.
pub fn exec(g: &Global, a: JoinArgs, only: Option<&str>, out: &Output) -> anyhow::Result<()> {
    crate::flows::join::run(a.options(&g.root), only, out)
}
