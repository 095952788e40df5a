//! `kbinit certs …` (check-expiration, renew, generate-csr, certificate-key, renew-timer): the flags, and `certs`,
//! which hands them to [`crate::flows::certs`].

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::Global;
use crate::output::Output;

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
