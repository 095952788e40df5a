//! The small commands: `token`, `certs`, `config`, `version`, `completion`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use kbinit_phases::config::{self, ApiVersion, HostFacts, InitFlags};
use kbinit_phases::version::KubeVersion;

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

/// `kbinit certs …`
#[derive(Subcommand, Debug)]
pub enum CertsCommand {
    /// Print a new random certificate key for --certificate-key.
    CertificateKey,
    /// Show when the certificates of this node (and their CAs) expire.
    CheckExpiration {
        /// Flags shared with `renew`.
        #[command(flatten)]
        flags: CertsFlags,
        /// Output format: text, json or yaml.
        #[arg(short = 'o', long = "output", default_value = "text")]
        output: String,
    },
    /// Renew certificates with the local CA (kubelet.conf is never renewed).
    Renew {
        /// Which certificate: admin.conf, apiserver, apiserver-etcd-client, apiserver-kubelet-client,
        /// controller-manager.conf, etcd-healthcheck-client, etcd-peer, etcd-server, front-proxy-client,
        /// scheduler.conf, super-admin.conf (1.29+), or all.
        name: String,
        /// Flags shared with `check-expiration`.
        #[command(flatten)]
        flags: CertsFlags,
        /// Renew only the certificates that expire within this window (`30d`, `720h`), then restart the static
        /// Pods that use them, one at a time (kbinit's own; kubeadm renews unconditionally and restarts nothing).
        #[arg(long, value_name = "DURATION")]
        if_expiring_within: Option<String>,
    },
    /// Install or remove a systemd timer that runs `certs renew all --if-expiring-within 30d` daily.
    #[command(subcommand)]
    RenewTimer(RenewTimerCommand),
    /// Write keys and certificate signing requests for an external CA.
    GenerateCsr {
        /// Where the keys and CSRs of the certificates go [default: the configuration's, /etc/kubernetes/pki].
        #[arg(long, value_name = "DIR")]
        cert_dir: Option<String>,
        /// A kubeadm configuration file.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Where the partial kubeconfig files and their CSRs go.
        #[arg(long, value_name = "DIR", default_value = "/etc/kubernetes")]
        kubeconfig_dir: String,
    },
}

/// `kbinit certs renew-timer …`
#[derive(Subcommand, Debug)]
pub enum RenewTimerCommand {
    /// Write the service and timer under --root's /etc/systemd/system (and enable the timer when --root is /).
    Install {
        /// The kbinit the service runs [default: this executable].
        #[arg(long, value_name = "PATH")]
        kbinit_path: Option<String>,
    },
    /// Disable (when --root is /) and remove the service and timer.
    Uninstall,
}

/// Flags of `kbinit certs check-expiration` and `kbinit certs renew`.
#[derive(Args, Debug)]
pub struct CertsFlags {
    /// Where the certificates are [default: the configuration's, /etc/kubernetes/pki].
    #[arg(long, value_name = "DIR")]
    pub cert_dir: Option<String>,
    /// A kubeadm configuration file (without it, the cluster's kubeadm-config is read, else defaults are used).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// kubeconfig used to read the cluster's configuration.
    #[arg(long, default_value = "/etc/kubernetes/admin.conf")]
    pub kubeconfig: String,
}

impl CertsFlags {
    fn source(self) -> crate::flows::certs::ConfigSource {
        crate::flows::certs::ConfigSource {
            config: self.config,
            cert_dir: self.cert_dir,
            kubeconfig: Some(self.kubeconfig),
            quiet: false,
        }
    }
}

/// `kbinit config …`
#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Print default configuration documents.
    #[command(subcommand)]
    Print(PrintCommand),
    /// The images a cluster needs.
    #[command(subcommand)]
    Images(ImagesCommand),
    /// Rewrite a configuration file in the newest kubeadm API version its Kubernetes release accepts.
    Migrate(MigrateArgs),
    /// Check a configuration file and report what is wrong with it.
    Validate {
        /// The file.
        #[arg(long, required = true)]
        config: PathBuf,
    },
}

/// Flags of `kbinit config migrate` (kubeadm's).
#[derive(Args, Debug)]
pub struct MigrateArgs {
    /// The file in an older kubeadm API version (v1beta3 or v1beta4).
    #[arg(long, required = true, value_name = "FILE")]
    pub old_config: PathBuf,
    /// Where the new documents go [default: stdout].
    #[arg(long, value_name = "FILE")]
    pub new_config: Option<PathBuf>,
    /// Allow writing an experimental API version (kbinit has none to write; it says so).
    #[arg(long, alias = "allow-experimental")]
    pub allow_experimental_api: bool,
}

/// `kbinit config print …`
#[derive(Subcommand, Debug)]
pub enum PrintCommand {
    /// Default InitConfiguration and ClusterConfiguration.
    InitDefaults(PrintArgs),
    /// Default JoinConfiguration.
    JoinDefaults(PrintArgs),
}

/// Flags of `kbinit config print …`.
#[derive(Args, Debug)]
pub struct PrintArgs {
    /// Also print these component configs: KubeletConfiguration, KubeProxyConfiguration.
    #[arg(long, value_delimiter = ',')]
    pub component_configs: Vec<String>,
    /// Kubernetes version whose defaults to print.
    #[arg(long)]
    pub kubernetes_version: Option<String>,
}

/// `kbinit config images …`
#[derive(Subcommand, Debug)]
pub enum ImagesCommand {
    /// List the images.
    List(ImagesArgs),
    /// Pull the images through the container runtime (its CRI socket).
    Pull(ImagesPullArgs),
}

/// Which images: the flags `config images list` and `pull` share.
#[derive(Args, Debug)]
pub struct ImagesSelection {
    /// A kubeadm configuration file.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Kubernetes version.
    #[arg(long)]
    pub kubernetes_version: Option<String>,
    /// Image registry.
    #[arg(long)]
    pub image_repository: Option<String>,
    /// Feature gates.
    #[arg(long)]
    pub feature_gates: Option<String>,
}

impl ImagesSelection {
    /// The configuration these flags (and `--config`) describe, with `cri_socket` when given.
    fn load(self, cri_socket: Option<String>, host: &crate::host::Host) -> anyhow::Result<config::InitConfiguration> {
        let text = self.config.as_ref().map(read_config).transpose()?;
        let flags = InitFlags {
            kubernetes_version: self.kubernetes_version,
            image_repository: self.image_repository,
            feature_gates: self.feature_gates,
            cri_socket,
            ..Default::default()
        };
        Ok(config::load_init(text.as_deref(), &flags, &placeholder_facts(host))?.config)
    }
}

/// Flags of `kbinit config images pull`.
#[derive(Args, Debug)]
pub struct ImagesPullArgs {
    #[command(flatten)]
    pub images: ImagesSelection,
    /// The container runtime's CRI socket (default: the one found on the node).
    #[arg(long)]
    pub cri_socket: Option<String>,
}

/// Flags of `kbinit config images list`.
#[derive(Args, Debug)]
pub struct ImagesArgs {
    #[command(flatten)]
    pub images: ImagesSelection,
    /// Output: text, json or yaml.
    #[arg(short = 'o', long = "output", default_value = "text")]
    pub output: String,
}

/// Flags of `kbinit version`.
#[derive(Args, Debug)]
pub struct VersionArgs {
    /// Output: short, json or yaml (default: a line of text).
    #[arg(short = 'o', long = "output")]
    pub output: Option<String>,
}

/// Flags of `kbinit completion`.
#[derive(Args, Debug)]
pub struct CompletionArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
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
            let text = a.config.as_ref().map(read_config).transpose()?;
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

/// Runs `kbinit certs …`.
pub fn certs(g: &Global, cmd: CertsCommand, out: &Output) -> anyhow::Result<()> {
    let host = crate::host::Host::new(g.root.clone(), None);
    match cmd {
        CertsCommand::CertificateKey => {
            out.say(&kbinit_phases::cluster::certkey::CertificateKey::generate()?.to_string());
            Ok(())
        }
        CertsCommand::CheckExpiration { flags, output } => {
            crate::flows::certs::check_expiration(&host, &flags.source(), &output, out)
        }
        CertsCommand::Renew { name, flags, if_expiring_within: None } => {
            crate::flows::certs::renew(&host, &name, &flags.source(), out)
        }
        CertsCommand::Renew { name, flags, if_expiring_within: Some(w) } => {
            crate::flows::certs::care::renew_due(&host, &name, &w, &flags.source(), out)
        }
        CertsCommand::RenewTimer(RenewTimerCommand::Install { kbinit_path }) => {
            crate::flows::certs::care::timer_install(&host, kbinit_path.as_deref(), out)
        }
        CertsCommand::RenewTimer(RenewTimerCommand::Uninstall) => {
            crate::flows::certs::care::timer_uninstall(&host, out)
        }
        CertsCommand::GenerateCsr { cert_dir, config, kubeconfig_dir } => {
            let src = crate::flows::certs::ConfigSource { config, cert_dir, kubeconfig: None, quiet: false };
            crate::flows::certs::generate_csr(&host, &src, &kubeconfig_dir, out)
        }
    }
}

fn read_config(path: &PathBuf) -> anyhow::Result<String> {
    std::fs::read_to_string(path).map_err(|e| invalid(format!("unable to read config from {:?}: {e}", path.display())))
}

/// Runs `kbinit config …`.
pub fn config(g: &Global, cmd: ConfigCommand, out: &Output) -> anyhow::Result<()> {
    let host = crate::host::Host::new(g.root.clone(), None);
    match cmd {
        ConfigCommand::Print(p) => {
            let (args, init) = match p {
                PrintCommand::InitDefaults(a) => (a, true),
                PrintCommand::JoinDefaults(a) => (a, false),
            };
            let version = KubeVersion::resolve(args.kubernetes_version.as_deref().unwrap_or(""))?;
            let api = if version.has_v1beta4() { ApiVersion::V1beta4 } else { ApiVersion::V1beta3 };
            let doc = if init {
                config::init_defaults_document(&version, api, &args.component_configs)?
            } else {
                config::join_defaults_document(api)?
            };
            out.raw(&doc);
            Ok(())
        }
        ConfigCommand::Images(ImagesCommand::List(a)) => {
            let images = config::images(&a.images.load(None, &host)?.cluster);
            match a.output.as_str() {
                "text" => images.iter().for_each(|i| out.say(i)),
                "json" => out.say(&serde_json::to_string_pretty(&serde_json::json!({
                    "kind": "Images", "apiVersion": "output.kubeadm.k8s.io/v1alpha3", "images": images }))?),
                "yaml" => out.raw(&kbinit_phases::go_format::yaml::to_yaml(&serde_json::json!({
                    "kind": "Images", "apiVersion": "output.kubeadm.k8s.io/v1alpha3", "images": images }))),
                o => return Err(invalid(format!("invalid output format {o:?}: use text, json or yaml"))),
            }
            Ok(())
        }
        ConfigCommand::Migrate(a) => crate::flows::config::migrate::migrate(
            &host,
            &a.old_config,
            a.new_config.as_deref(),
            a.allow_experimental_api,
            out,
        ),
        ConfigCommand::Images(ImagesCommand::Pull(a)) => {
            crate::flows::config::images::pull(&host, &a.images.load(a.cri_socket, &host)?, out)
        }
        ConfigCommand::Validate { config: path } => {
            let text = read_config(&path)?;
            let facts = placeholder_facts(&host);
            let is_join = text.contains("JoinConfiguration");
            let warnings = if is_join {
                config::load_join(Some(&text), &Default::default(), &facts)?.warnings
            } else {
                config::load_init(Some(&text), &Default::default(), &facts)?.warnings
            };
            warnings.iter().for_each(|w| out.warn(w));
            out.say("ok");
            Ok(())
        }
    }
}

/// Host facts for commands that only need a config to be well-formed, not bound to this machine: a
/// documentation address stands in when the machine has no default route.
fn placeholder_facts(host: &crate::host::Host) -> HostFacts {
    let mut f = crate::host::facts::gather(host);
    if f.default_address.is_none() {
        f.default_address = Some(std::net::IpAddr::from([192, 0, 2, 1]));
    }
    f
}

/// Runs `kbinit version`.
pub fn version(a: VersionArgs, out: &Output) -> anyhow::Result<()> {
    let v = env!("CARGO_PKG_VERSION");
    let info = serde_json::json!({ "clientVersion": {
        "gitVersion": format!("v{v}"),
        "kubernetesVersions": format!("v1.{}-v1.{}", kbinit_phases::version::MIN_MINOR, kbinit_phases::version::MAX_MINOR),
        "platform": format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
    }});
    match a.output.as_deref() {
        None => out.say(&format!(
            "kbinit version: v{v} (sets up Kubernetes v1.{} to v1.{})",
            kbinit_phases::version::MIN_MINOR,
            kbinit_phases::version::MAX_MINOR
        )),
        Some("short") => out.say(&format!("v{v}")),
        Some("json") => out.say(&serde_json::to_string_pretty(&info)?),
        Some("yaml") => out.raw(&kbinit_phases::go_format::yaml::to_yaml(&info)),
        Some(o) => {
            return Err(invalid(format!("invalid output format {o:?}: use short, json or yaml")));
        }
    }
    Ok(())
}

/// Runs `kbinit completion`.
pub fn completion(a: CompletionArgs, out: &Output) -> anyhow::Result<()> {
    let mut cmd = super::command();
    let mut script = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "kbinit", &mut script);
    out.raw(&String::from_utf8_lossy(&script));
    Ok(())
}
