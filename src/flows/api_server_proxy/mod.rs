//! The `api-server-proxy` commands: `run` (the proxy in the foreground, logging backend changes on stderr),
//! `status` (the running proxy's snapshot), `install` and `uninstall` (the systemd unit and the kubelet's
//! kubeconfigs of one node).

pub mod setup;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::api_server_proxy::{self as proxy, Proxy, ProxyConfig, cache};
use crate::error::invalid;
use crate::host::Host;
use crate::output::Output;

/// The kubelet's kubeconfigs, in the order discovery tries them.
pub const KUBELET_KUBECONFIGS: [&str; 2] = ["/etc/kubernetes/kubelet.conf", "/etc/kubernetes/bootstrap-kubelet.conf"];

/// The cluster CA the health checks verify the API servers' certificates with.
pub const CLUSTER_CA: &str = "/etc/kubernetes/pki/ca.crt";

/// What `kbinit api-server-proxy run` is told.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The directory node paths are resolved under (`--root`).
    pub root: PathBuf,
    /// The address to listen on.
    pub listen_address: IpAddr,
    /// The port to listen on.
    pub port: u16,
    /// API servers to start from when no cached list exists.
    pub servers: Vec<SocketAddr>,
    /// Kubeconfigs for discovering the API servers (empty: the kubelet's).
    pub kubeconfigs: Vec<PathBuf>,
    /// Serve the cached and given API servers only.
    pub no_discovery: bool,
}

/// What `kbinit api-server-proxy status` is told.
#[derive(Debug, Clone)]
pub struct StatusOptions {
    /// The directory node paths are resolved under (`--root`).
    pub root: PathBuf,
    /// `text` or `json`.
    pub output: String,
}

/// `kbinit api-server-proxy run`: binds, then serves until killed.
pub fn run(args: RunOptions, out: &Output) -> anyhow::Result<()> {
    let host = Host::new(args.root.clone(), None);
    let listen = SocketAddr::new(args.listen_address, args.port);
    let mut config =
        ProxyConfig::new(listen, args.servers, host.path(proxy::CACHE_PATH), host.path(proxy::STATUS_PATH));
    // the cluster CA every node has (kubeadm writes it on workers too): /readyz checks; without it, TCP checks
    config.ca_pem = std::fs::read(host.path(CLUSTER_CA)).ok();
    if !args.no_discovery {
        config.kubeconfigs = if args.kubeconfigs.is_empty() {
            KUBELET_KUBECONFIGS.iter().map(|p| host.path(p)).collect()
        } else {
            args.kubeconfigs
        };
    }
    let rt = proxy::runtime().map_err(|e| anyhow::anyhow!("cannot start the runtime: {e}"))?;
    let log_out = out.clone();
    let log: proxy::Log =
        std::sync::Arc::new(move |line: &str| log_out.err_line(&format!("[api-server-proxy] {line}")));
    rt.block_on(async move {
        let proxy = Proxy::bind(config, log).await.map_err(|e| anyhow::anyhow!(e))?;
        tokio::select! {
            _ = proxy.run() => Ok(()),
            _ = tokio::signal::ctrl_c() => Ok(()),
        }
    })
}

/// How old a status snapshot may be before `status` says the proxy looks stopped.
const STALE: Duration = Duration::from_secs(5);

/// `kbinit api-server-proxy status`.
pub fn status(args: StatusOptions, out: &Output) -> anyhow::Result<()> {
    if args.output != "text" && args.output != "json" {
        return Err(invalid(format!("--output {:?}: must be text or json", args.output)));
    }
    let host = Host::new(args.root.clone(), None);
    let path = host.path(proxy::STATUS_PATH);
    let status = cache::load_status(&path)
        .map_err(|e| anyhow::anyhow!("the api-server-proxy does not run on this node or has not reported yet: {e}"))?;
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let age = now.saturating_sub(status.updated);
    if args.output == "json" {
        out.raw(&format!("{}\n", serde_json::to_string_pretty(&status)?));
    } else {
        out.say(&format!(
            "[api-server-proxy] listening on {} (pid {}), backends from the {}",
            status.listen, status.pid, status.source
        ));
        out.say(&format!("{:<28} {:<10} {:>11}  {:<8} LAST ERROR", "BACKEND", "HEALTH", "CONNECTIONS", "SINCE"));
        for b in &status.backends {
            let health = serde_json::to_value(b.health)?.as_str().unwrap_or("").to_string();
            let since = format!("{}s", now.saturating_sub(b.since));
            out.say(&format!("{:<28} {:<10} {:>11}  {:<8} {}", b.address, health, b.connections, since, b.last_error));
        }
    }
    if age > STALE.as_secs() {
        out.warn(&format!("the status in {} is {age}s old: the proxy may have stopped", path.display()));
    }
    Ok(())
}
