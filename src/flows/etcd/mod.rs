//! `kbinit etcd …`: snapshots of the cluster's etcd (`snapshot save|list|prune`, [`snapshot`]), a schedule for
//! them (`snapshot-timer install|uninstall`, [`timer`]) and a one-command restore on a control-plane node
//! ([`restore`]) and, on the other control-plane nodes, a rejoin of the restored cluster ([`rejoin`]). What to name, record, keep and refuse is decided in [`kbinit_phases::etcd_snapshot`]; this
//! module streams, writes and runs.
//!
//! Which etcd ([`source`]): `--config` naming an external etcd (ClusterConfiguration's `etcd.external`: its
//! endpoints and client files); else this node's stacked member, read from its etcd manifest (client URL on
//! 127.0.0.1 when it listens there, the etcd CA and the healthcheck-client identity of the certificate dir the
//! manifest uses, as kubeadm's own etcd client does); else the cluster's ClusterConfiguration, read with
//! `--kubeconfig`, when it names an external etcd.

pub mod rejoin;
pub mod restore;
pub mod snapshot;
pub mod timer;
pub mod upgrade;

use std::path::PathBuf;
use std::time::Duration;

use kbinit_phases::config::Etcd;
use kbinit_phases::etcd_snapshot::{self as plan, restore::ETCD_MANIFEST};
use kbinit_phases::upgrade::target::{manifest_flag, manifest_image_tag};

use crate::error::invalid;
use crate::etcd::{EtcdClient, EtcdTls};
use crate::host::Host;
use crate::output::Output;

/// How long one etcd call (status, member list, the start of the stream) may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The etcd a command talks to.
#[derive(Debug)]
pub struct Source {
    /// The client URLs to try, in order.
    pub endpoints: Vec<String>,
    /// The client identity.
    pub tls: EtcdTls,
    /// sha256 of the etcd CA certificate (hex).
    pub ca_sha256: String,
    /// The cluster's Kubernetes version, when known.
    pub kubernetes_version: String,
    /// `true` for this node's stacked member.
    pub stacked: bool,
}

impl Source {
    /// A client for these endpoints (nothing is dialled yet).
    pub fn client(&self) -> anyhow::Result<EtcdClient> {
        EtcdClient::connect(&self.endpoints, &self.tls, CALL_TIMEOUT)
    }
}

/// Where the configuration comes from.
#[derive(Debug, Clone, Default)]
pub struct ConfigFlags {
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--kubeconfig`.
    pub kubeconfig: String,
}

/// The certificate dir a stacked etcd manifest uses (`--trusted-ca-file=<dir>/etcd/ca.crt`).
fn cert_dir_of(yaml: &str) -> String {
    manifest_flag(yaml, "trusted-ca-file")
        .ok()
        .flatten()
        .and_then(|f| f.strip_suffix("/etcd/ca.crt").map(str::to_string))
        .unwrap_or_else(|| "/etc/kubernetes/pki".to_string())
}

/// Which etcd to talk to (see the module documentation).
pub fn source(host: &Host, flags: &ConfigFlags, out: &Output) -> anyhow::Result<Source> {
    let apiserver = host.read("/etc/kubernetes/manifests/kube-apiserver.yaml").ok();
    let kube_version = apiserver.map(|b| manifest_image_tag(&String::from_utf8_lossy(&b))).unwrap_or_default();
    let manifest = host.read(ETCD_MANIFEST).ok().map(|b| String::from_utf8_lossy(&b).into_owned());
    let external = match (&flags.config, &manifest) {
        (None, Some(_)) => None,
        _ => {
            let src = crate::flows::certs::ConfigSource {
                config: flags.config.clone(),
                cert_dir: None,
                kubeconfig: Some(flags.kubeconfig.clone()),
                quiet: true,
            };
            let cfg = crate::flows::certs::resolve(host, &src, "etcd", true, out)?;
            let version =
                if kube_version.is_empty() { cfg.cluster.kubernetes_version.to_string() } else { kube_version.clone() };
            match cfg.cluster.etcd {
                Etcd::External(x) => Some((x, version)),
                Etcd::Local(_) if manifest.is_some() => None,
                Etcd::Local(_) => {
                    return Err(invalid(format!(
                        "no etcd here: {ETCD_MANIFEST} does not exist and the configuration names no external etcd \
                         (run this on a control-plane node, or give --config with etcd.external)"
                    )));
                }
            }
        }
    };
    if let Some((x, version)) = external {
        if x.endpoints.is_empty() {
            return Err(invalid("etcd.external.endpoints is empty"));
        }
        let read = |what: &str, p: &str| -> anyhow::Result<Vec<u8>> {
            if p.is_empty() {
                return Err(invalid(format!(
                    "etcd.external.{what} is not set: kbinit needs it to reach the external etcd"
                )));
            }
            host.read(p).map_err(|e| invalid(format!("reading etcd.external.{what} {p}: {e}")))
        };
        let tls = EtcdTls {
            ca_pem: read("caFile", &x.ca_file)?,
            cert_pem: read("certFile", &x.cert_file)?,
            key_pem: read("keyFile", &x.key_file)?,
        };
        let ca_sha256 = plan::ca_fingerprint(&tls.ca_pem, &x.ca_file)?;
        return Ok(Source { endpoints: x.endpoints, tls, ca_sha256, kubernetes_version: version, stacked: false });
    }
    let yaml = manifest.unwrap_or_default();
    let member = plan::restore::Member::from_manifest(&yaml)?;
    let listen = manifest_flag(&yaml, "listen-client-urls")?.unwrap_or_default();
    let local = listen.split(',').find(|u| u.starts_with("https://127.0.0.1:")).map(str::to_string);
    let endpoints = local.into_iter().chain(std::iter::once(member.client_url.clone())).collect();
    let dir = cert_dir_of(&yaml);
    let tls = EtcdTls::from_pki(host, &dir)?;
    let ca_sha256 = plan::ca_fingerprint(&tls.ca_pem, &format!("{dir}/etcd/ca.crt"))?;
    Ok(Source { endpoints, tls, ca_sha256, kubernetes_version: kube_version, stacked: true })
}

/// `true` when the path is absolute and plain (no `..`), as a node path must be.
fn check_node_dir(flag: &str, dir: &str) -> anyhow::Result<()> {
    if !dir.starts_with('/') || dir.split('/').any(|c| c == "..") {
        return Err(invalid(format!("{flag} {dir:?}: must be an absolute path without '..'")));
    }
    Ok(())
}
