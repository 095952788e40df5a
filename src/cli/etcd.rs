//! `kbinit etcd …`: the flags of `snapshot save|list|prune`, `snapshot-timer install|uninstall`, `restore` and
//! `rejoin`,
//! turned into the plain options of [`crate::flows::etcd`].

use std::path::PathBuf;

use clap::{Args, Subcommand};
use kbinit_phases::etcd_snapshot::{DEFAULT_DIR, timer};

use super::Global;
use crate::flows::etcd::{self as flow, ConfigFlags};
use crate::output::{Format, Output};

/// `kbinit etcd …`.
#[derive(Subcommand, Debug)]
pub enum EtcdCommand {
    /// Take, list and prune snapshots of the cluster's etcd.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// A systemd timer on this node that takes and prunes snapshots.
    #[command(subcommand, name = "snapshot-timer")]
    SnapshotTimer(TimerCommand),
    /// Restore this control-plane node's etcd from a snapshot, as a new one-member cluster.
    Restore(RestoreArgs),
    /// After a restore on another control-plane node: join this node's etcd to the restored cluster.
    Rejoin(RejoinArgs),
}

/// `kbinit etcd rejoin`.
#[derive(Args, Debug)]
pub struct RejoinArgs {
    /// A client URL of the restored etcd (restore prints it), e.g. https://10.0.0.10:2379.
    #[arg(long, value_name = "URL")]
    pub endpoint: String,
    /// Check and say what would happen; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Output format: text or jsonl (one JSON event per line).
    #[arg(long, value_enum, default_value = "text")]
    pub output: Format,
}

/// Where the configuration comes from.
#[derive(Args, Debug, Clone)]
pub struct SourceArgs {
    /// A kubeadm configuration file; its ClusterConfiguration's etcd.external names an external etcd.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The kubeconfig to read the cluster's configuration with, where this node runs no etcd.
    #[arg(long, value_name = "FILE", default_value = "/etc/kubernetes/admin.conf")]
    pub kubeconfig: String,
}

/// `kbinit etcd snapshot …`.
#[derive(Subcommand, Debug)]
pub enum SnapshotCommand {
    /// Stream a snapshot from etcd, check its integrity hash and write it (mode 0600) with a JSON record.
    Save {
        /// The directory the snapshot goes to.
        #[arg(long, value_name = "DIR", default_value = DEFAULT_DIR)]
        dir: String,
        /// The snapshot's name [default: etcd-snapshot-MEMBER-UTCTIME].
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// Connect and say what would be written; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Output format: text or jsonl (one JSON event per line).
        #[arg(long, value_enum, default_value = "text")]
        output: Format,
        #[command(flatten)]
        source: SourceArgs,
    },
    /// List the complete snapshots in a directory.
    List {
        /// The snapshot directory.
        #[arg(long, value_name = "DIR", default_value = DEFAULT_DIR)]
        dir: String,
        /// Output format: text, json or yaml.
        #[arg(short = 'o', long = "output", default_value = "text")]
        output: String,
    },
    /// Remove all but the newest N snapshots.
    Prune {
        /// How many snapshots to keep.
        #[arg(long, value_name = "N")]
        keep: usize,
        /// The snapshot directory.
        #[arg(long, value_name = "DIR", default_value = DEFAULT_DIR)]
        dir: String,
    },
}

/// `kbinit etcd snapshot-timer …`.
#[derive(Subcommand, Debug)]
pub enum TimerCommand {
    /// Write the service and timer under --root's /etc/systemd/system (and enable the timer when --root is /).
    Install {
        /// When to take a snapshot: a systemd calendar expression (systemd.time(7)).
        #[arg(long, value_name = "CALENDAR", default_value = timer::DEFAULT_SCHEDULE)]
        schedule: String,
        /// How many snapshots to keep.
        #[arg(long, value_name = "N", default_value_t = timer::DEFAULT_KEEP)]
        keep: usize,
        /// The snapshot directory.
        #[arg(long, value_name = "DIR", default_value = DEFAULT_DIR)]
        dir: String,
        /// The kbinit the service runs [default: this executable].
        #[arg(long, value_name = "PATH")]
        kbinit_path: Option<String>,
    },
    /// Disable the timer and remove both units (the snapshots stay).
    Uninstall,
}

/// `kbinit etcd restore`.
#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// The snapshot file (its JSON record must be beside it).
    #[arg(long, value_name = "FILE")]
    pub snapshot: String,
    /// Restore even though etcd is healthy (everything written since the snapshot is lost).
    #[arg(long)]
    pub force: bool,
    /// Check everything and say what would happen; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Output format: text or jsonl (one JSON event per line).
    #[arg(long, value_enum, default_value = "text")]
    pub output: Format,
    #[command(flatten)]
    pub source: SourceArgs,
}

impl SourceArgs {
    fn flags(self) -> ConfigFlags {
        ConfigFlags { config: self.config, kubeconfig: self.kubeconfig }
    }
}

/// Runs `kbinit etcd …`.
pub fn exec(g: &Global, cmd: EtcdCommand, out: &Output) -> anyhow::Result<()> {
    let host = crate::host::Host::new(g.root.clone(), None);
    match cmd {
        EtcdCommand::Snapshot(SnapshotCommand::Save { dir, name, dry_run, output, source }) => {
            let o = flow::snapshot::SaveOptions { dir, name, config: source.flags(), dry_run };
            super::with_events(out.clone().with_format(output), |out| flow::snapshot::save(&host, &o, out).map(|_| ()))
        }
        EtcdCommand::Snapshot(SnapshotCommand::List { dir, output }) => flow::snapshot::list(&host, &dir, &output, out),
        EtcdCommand::Snapshot(SnapshotCommand::Prune { keep, dir }) => flow::snapshot::prune(&host, &dir, keep, out),
        EtcdCommand::SnapshotTimer(TimerCommand::Install { schedule, keep, dir, kbinit_path }) => {
            flow::timer::install(&host, &flow::timer::TimerOptions { schedule, keep, dir, kbinit_path }, out)
        }
        EtcdCommand::SnapshotTimer(TimerCommand::Uninstall) => flow::timer::uninstall(&host, out),
        EtcdCommand::Restore(a) => {
            let o = flow::restore::RestoreOptions {
                snapshot: a.snapshot,
                force: a.force,
                dry_run: a.dry_run,
                config: a.source.flags(),
            };
            super::with_events(out.clone().with_format(a.output), |out| flow::restore::restore(&host, &o, out))
        }
        EtcdCommand::Rejoin(a) => {
            let o = flow::rejoin::RejoinOptions { endpoint: a.endpoint, dry_run: a.dry_run };
            super::with_events(out.clone().with_format(a.output), |out| flow::rejoin::rejoin(&host, &o, out))
        }
    }
}
