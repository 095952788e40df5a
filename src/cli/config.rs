//! `kbinit config print|images|migrate|validate`: the flags, and `config`, which prints the defaults or hands
//! the rest to [`crate::flows::config`] and the planner crate's loaders.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use kbinit_phases::config::{self, ApiVersion, HostFacts, InitFlags};
use kbinit_phases::version::KubeVersion;

use super::Global;
use crate::error::invalid;
use crate::output::Output;

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
        let text = crate::flows::read_config(self.config.as_ref())?;
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
            let text = crate::flows::read_config(Some(&path))?.unwrap_or_default();
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
