//! The command tree. clap-derive structs hold the flags; the `phase` sub-command trees are generated from the
//! workflows in [`crate::flows`], so phase names exist in one place only. Each command's `exec` is a thin
//! wrapper over a flow or a small operation.

pub mod api_server_proxy;
pub mod certs;
pub mod config;
pub mod etcd;
pub mod flag_order;
pub mod init;
pub mod join;
pub mod kubeconfig;
pub mod phases;
pub mod reset;
pub mod token;
pub mod upgrade;
pub mod version;

use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::flows;
use crate::output::Output;

/// kbinit: one command per machine to make it a Kubernetes node (a drop-in for kubeadm).
#[derive(Parser, Debug)]
#[command(name = "kbinit", version, about, long_about = None, disable_help_subcommand = true)]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub global: Global,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Resolve every node path under this directory instead of / (no service is started unless it is /).
    #[arg(long, global = true, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// Log level: 0 is kubeadm's normal output, higher numbers add detail on stderr.
    #[arg(short = 'v', long = "v", global = true, value_name = "N", default_value_t = 0)]
    pub verbosity: u8,
}

/// kbinit's commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Make this machine the first control-plane node of a new cluster.
    Init(Box<init::InitArgs>),
    /// Make this machine a worker or control-plane node of an existing cluster.
    Join(Box<join::JoinArgs>),
    /// Undo what init or join did on this machine.
    Reset(reset::ResetArgs),
    /// Manage bootstrap tokens.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Certificate operations.
    #[command(subcommand, visible_alias = "certificates")]
    Certs(certs::CertsCommand),
    /// Configuration documents and images.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Kubeconfig file utilities.
    #[command(subcommand)]
    Kubeconfig(kubeconfig::KubeconfigCommand),
    /// Upgrade your cluster smoothly to a newer version with this command.
    #[command(subcommand)]
    Upgrade(upgrade::UpgradeCommand),
    /// Print kbinit's version.
    Version(version::VersionArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completion(version::CompletionArgs),
    /// etcd snapshots on demand and on a schedule, and restoring one.
    #[command(subcommand)]
    Etcd(etcd::EtcdCommand),
    /// The node-local API server proxy (HA without a load balancer).
    #[command(subcommand, name = "api-server-proxy")]
    ApiServerProxy(api_server_proxy::ApiProxyCommand),
}

/// The full command tree: the derived one plus the generated `phase` sub-commands.
pub fn command() -> clap::Command {
    Cli::command()
        .mut_subcommand("init", |c| phases::attach(c, &flows::init::workflow(), init::InitArgs::augment_args))
        .mut_subcommand("join", |c| phases::attach(c, &flows::join::workflow(), join::JoinArgs::augment_args))
        .mut_subcommand("reset", |c| phases::attach(c, &flows::reset::workflow(), reset::ResetArgs::augment_args))
        .mut_subcommand("upgrade", upgrade::with_phase_commands)
}

/// Parses the command line and runs the command.
pub fn run(argv: Vec<std::ffi::OsString>) -> anyhow::Result<()> {
    let program = crate::output::Program::from_argv0(argv.first().map(|a| a.as_os_str()));
    let cmd = command();
    let argv = flag_order::hoist(&cmd, argv);
    let matches = cmd.name(program.name()).bin_name(program.name()).try_get_matches_from(argv)?;
    let global = Global::from_arg_matches(&matches)?;
    let out = Output::new(global.verbosity).with_program(program);
    let (name, sub) = matches.subcommand().ok_or_else(|| anyhow::anyhow!("no command given"))?;
    match (name, sub.subcommand()) {
        ("init", Some(("phase", _))) => {
            let (phase, leaf) = phases::phase_of(sub).ok_or_else(|| anyhow::anyhow!("no phase given"))?;
            let a = init::InitArgs::from_arg_matches(leaf)?;
            with_events(out.with_format(a.output), |out| init::exec(&global, a, Some(&phase), out))
        }
        ("join", Some(("phase", _))) => {
            let (phase, leaf) = phases::phase_of(sub).ok_or_else(|| anyhow::anyhow!("no phase given"))?;
            let a = join::JoinArgs::from_arg_matches(leaf)?;
            with_events(out.with_format(a.output), |out| join::exec(&global, a, Some(&phase), out))
        }
        ("reset", Some(("phase", _))) => {
            let (phase, leaf) = phases::phase_of(sub).ok_or_else(|| anyhow::anyhow!("no phase given"))?;
            let a = reset::ResetArgs::from_arg_matches(leaf)?;
            with_events(out.with_format(a.output), |out| reset::exec(&global, a, Some(&phase), out))
        }
        ("upgrade", Some((cmd @ ("apply" | "node"), m))) if m.subcommand_name() == Some("phase") => {
            upgrade::exec_phase(&global, cmd, m, &out)
        }
        _ => match Cli::from_arg_matches(&matches)?.command {
            Command::Init(a) => with_events(out.with_format(a.output), |out| init::exec(&global, *a, None, out)),
            Command::Join(a) => with_events(out.with_format(a.output), |out| join::exec(&global, *a, None, out)),
            Command::Reset(a) => with_events(out.with_format(a.output), |out| reset::exec(&global, a, None, out)),
            Command::Token(c) => token::token(&global, c, &out),
            Command::Certs(c) => certs::certs(&global, c, &out),
            Command::Config(c) => config::config(&global, c, &out),
            Command::Kubeconfig(c) => kubeconfig::kubeconfig(&global, c, &out),
            Command::Upgrade(c) => upgrade::exec(&global, c, &out),
            Command::Version(a) => version::version(a, &out),
            Command::Completion(a) => version::completion(a, &out),
            Command::ApiServerProxy(c) => api_server_proxy::exec(&global, c, &out),
            Command::Etcd(c) => etcd::exec(&global, c, &out),
        },
    }
}

/// Runs a flow and closes its event stream with a `done` event (`--output jsonl`); the error still goes back
/// to `main`, which prints it on stderr and picks the exit code.
fn with_events(out: Output, flow: impl FnOnce(&Output) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let result = flow(&out);
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let (error, exit_code) = match &result {
        Ok(()) => (None, crate::error::Exit::Ok as u8),
        Err(e) => (Some(format!("{e:#}")), crate::error::exit_code(e) as u8),
    };
    out.event(&crate::events::Event::Done { duration_ms, error, exit_code });
    result
}
