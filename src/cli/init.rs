//! `kbinit init`: its flags (kubeadm's names and defaults, kbinit's words), how they become [`InitFlags`] and
//! [`InitOptions`], and `exec`, which hands them to [`crate::flows::init`].

use std::path::PathBuf;

use clap::Args;
use kbinit_phases::config::InitFlags;

use super::Global;
use crate::flows::init::InitOptions;
use crate::output::Output;

/// Flags of `kbinit init` and of every `kbinit init phase …`.
#[derive(Args, Debug, Clone, Default)]
pub struct InitArgs {
    /// IP address this node's API server advertises to the rest of the cluster (default: the address of the
    /// interface holding the default route).
    #[arg(long, value_name = "IP")]
    pub apiserver_advertise_address: Option<String>,
    /// Port the API server binds to [default: 6443].
    #[arg(long, value_name = "PORT")]
    pub apiserver_bind_port: Option<String>,
    /// Extra Subject Alternative Names (IPs or DNS names) for the API server's serving certificate.
    #[arg(long, value_name = "SANS", value_delimiter = ',')]
    pub apiserver_cert_extra_sans: Option<Vec<String>>,
    /// Where certificates are kept and written [default: /etc/kubernetes/pki].
    #[arg(long, value_name = "DIR")]
    pub cert_dir: Option<String>,
    /// Key (64 hex characters) that encrypts the control-plane certificates in the kubeadm-certs Secret.
    #[arg(long, value_name = "KEY")]
    pub certificate_key: Option<String>,
    /// A kubeadm configuration file (InitConfiguration, ClusterConfiguration, KubeletConfiguration,
    /// KubeProxyConfiguration documents).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A stable address (DNS name or IP, optional port) for all control-plane nodes, e.g. a load balancer.
    #[arg(long, value_name = "HOST[:PORT]")]
    pub control_plane_endpoint: Option<String>,
    /// CRI socket to talk to (default: detected).
    #[arg(long, value_name = "URL")]
    pub cri_socket: Option<String>,
    /// Change nothing on the node: render every file into a fresh directory and print what would be done.
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: the directory to render into (default: a fresh temporary directory).
    #[arg(long, value_name = "DIR")]
    pub dry_run_dir: Option<PathBuf>,
    /// Feature gates as key=value pairs, e.g. PublicKeysECDSA=true.
    #[arg(long, value_name = "GATES")]
    pub feature_gates: Option<String>,
    /// Preflight checks whose errors become warnings, e.g. Port-6443,Swap; 'all' ignores every check.
    #[arg(long, value_name = "CHECKS", value_delimiter = ',')]
    pub ignore_preflight_errors: Option<Vec<String>>,
    /// Registry to pull the control-plane images from [default: registry.k8s.io].
    #[arg(long, value_name = "REPO")]
    pub image_repository: Option<String>,
    /// Kubernetes version to set up, v1.28 to v1.37 [default: the newest, v1.37.0].
    #[arg(long, value_name = "VERSION")]
    pub kubernetes_version: Option<String>,
    /// Node name [default: the hostname, lower-cased].
    #[arg(long, value_name = "NAME")]
    pub node_name: Option<String>,
    /// Directory with patches for the generated manifests.
    #[arg(long, value_name = "DIR")]
    pub patches: Option<String>,
    /// Pod network CIDR(s); when set, the control plane allocates a pod CIDR to every node.
    #[arg(long, value_name = "CIDR")]
    pub pod_network_cidr: Option<String>,
    /// Service CIDR(s) [default: 10.96.0.0/12].
    #[arg(long, value_name = "CIDR")]
    pub service_cidr: Option<String>,
    /// Cluster DNS domain [default: cluster.local].
    #[arg(long, value_name = "DOMAIN")]
    pub service_dns_domain: Option<String>,
    /// Do not print the certificate key at the end.
    #[arg(long)]
    pub skip_certificate_key_print: bool,
    /// Phases to skip, e.g. preflight,addon/kube-proxy.
    #[arg(long, value_name = "PHASES", value_delimiter = ',')]
    pub skip_phases: Option<Vec<String>>,
    /// Do not print the bootstrap token at the end.
    #[arg(long)]
    pub skip_token_print: bool,
    /// Bootstrap token (abcdef.0123456789abcdef form) [default: random].
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Lifetime of the bootstrap token, 0 for never [default: 24h0m0s].
    #[arg(long, value_name = "DURATION")]
    pub token_ttl: Option<String>,
    /// Upload the control-plane certificates to the kubeadm-certs Secret so other control-plane nodes can join.
    #[arg(long)]
    pub upload_certs: bool,
    /// Run kbinit's node-local API server proxy (127.0.0.1:7445) on every node, so an HA control plane needs no
    /// load balancer; recorded in the cluster for every `kbinit join` (kbinit only, not a kubeadm flag).
    #[arg(long)]
    pub api_server_proxy: bool,
    /// kubeconfig used to talk to the cluster.
    #[arg(long, value_name = "FILE", default_value = "/etc/kubernetes/admin.conf", hide = true)]
    pub kubeconfig: String,
    /// Where kubeconfig files are written.
    #[arg(long, value_name = "DIR", default_value = "/etc/kubernetes", hide = true)]
    pub kubeconfig_dir: String,
    /// Extra kube-apiserver flags (key=value,…).
    #[arg(long, value_name = "ARGS", hide = true)]
    pub apiserver_extra_args: Option<String>,
    /// Extra kube-controller-manager flags (key=value,…).
    #[arg(long, value_name = "ARGS", hide = true)]
    pub controller_manager_extra_args: Option<String>,
    /// Extra kube-scheduler flags (key=value,…).
    #[arg(long, value_name = "ARGS", hide = true)]
    pub scheduler_extra_args: Option<String>,
    /// Output format: text (kubeadm's lines) or jsonl (one JSON event per line on stdout, for automation).
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "text")]
    pub output: crate::output::Format,
}

impl InitArgs {
    /// The plain options of init's flow: these flags, under `root`.
    pub fn options(self, root: &std::path::Path) -> InitOptions {
        InitOptions {
            root: root.to_path_buf(),
            flags: self.flags(),
            config: self.config,
            skip_phases: self.skip_phases.unwrap_or_default(),
            dry_run: self.dry_run,
            dry_run_dir: self.dry_run_dir,
            kubeconfig: self.kubeconfig,
            kubeconfig_dir: self.kubeconfig_dir,
            upload_certs: self.upload_certs,
            skip_token_print: self.skip_token_print,
            skip_certificate_key_print: self.skip_certificate_key_print,
            api_server_proxy: self.api_server_proxy,
        }
    }

    /// The flags that map onto configuration, for the config loader (which applies kubeadm's `--config` rule).
    pub fn flags(&self) -> InitFlags {
        InitFlags {
            apiserver_advertise_address: self.apiserver_advertise_address.clone(),
            apiserver_bind_port: self.apiserver_bind_port.clone(),
            apiserver_cert_extra_sans: self.apiserver_cert_extra_sans.clone(),
            cert_dir: self.cert_dir.clone(),
            certificate_key: self.certificate_key.clone(),
            control_plane_endpoint: self.control_plane_endpoint.clone(),
            cri_socket: self.cri_socket.clone(),
            feature_gates: self.feature_gates.clone(),
            ignore_preflight_errors: self.ignore_preflight_errors.clone(),
            image_repository: self.image_repository.clone(),
            kubernetes_version: self.kubernetes_version.clone(),
            node_name: self.node_name.clone(),
            patches: self.patches.clone(),
            pod_network_cidr: self.pod_network_cidr.clone(),
            service_cidr: self.service_cidr.clone(),
            service_dns_domain: self.service_dns_domain.clone(),
            skip_phases: self.skip_phases.clone(),
            token: self.token.clone(),
            token_ttl: self.token_ttl.clone(),
            apiserver_extra_args: self.apiserver_extra_args.clone(),
            controller_manager_extra_args: self.controller_manager_extra_args.clone(),
            scheduler_extra_args: self.scheduler_extra_args.clone(),
        }
    }
}

/// `kbinit init` (or one phase of it, `only`): the flags become init's options, and the flow runs.
pub fn exec(g: &Global, a: InitArgs, only: Option<&str>, out: &Output) -> anyhow::Result<()> {
    crate::flows::init::run(a.options(&g.root), only, out)
}
