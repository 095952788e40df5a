//! The node-local API server proxy (`kbinit api-server-proxy run`): a TCP proxy on 127.0.0.1:PORT that passes
//! TLS through to every healthy kube-apiserver, so a node's kubelet and kube-proxy reach the API while any one
//! control-plane node is down, with no load balancer anywhere. It never sees plaintext: clients verify the API
//! server's own certificate (their kubeconfigs set `tls-server-name`).
//!
//! Parts: [`balancer`] (the backend table and the pick), [`health`] (the checks: [`readyz`] over TLS, else
//! TCP), [`splice`] (the kernel-side copy of both directions), [`endpoints`] (EndpointSlices
//! of the `kubernetes` Service, watched through the proxy itself), [`cache`] (the last known list and the
//! status snapshot on disk). This module binds the listener and runs the connection tasks.

pub mod balancer;
pub mod cache;
pub mod endpoints;
pub mod health;
pub mod readyz;
pub mod splice;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::net::{TcpListener, TcpStream};

use balancer::{Balancer, Change};

/// Where the proxy's log lines go (the CLI prints them on stderr, which the systemd journal keeps).
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

/// Default port, the one Talos' KubePrism made familiar (an unprivileged port no Kubernetes component uses).
pub const DEFAULT_PORT: u16 = 7445;
/// The cached endpoint list on the node.
pub const CACHE_PATH: &str = "/var/lib/kbinit/api-server-proxy/endpoints.json";
/// The status snapshot on the node.
pub const STATUS_PATH: &str = "/run/kbinit/api-server-proxy/status.json";

/// How one proxy runs.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Where to listen (127.0.0.1:7445 by default).
    pub listen: SocketAddr,
    /// API servers known before any cache or discovery (the join's or init's endpoint).
    pub seeds: Vec<SocketAddr>,
    /// The cached endpoint list (host path).
    pub cache: PathBuf,
    /// The status snapshot (host path).
    pub status: PathBuf,
    /// Kubeconfigs for discovery, first existing wins; empty turns discovery off.
    pub kubeconfigs: Vec<PathBuf>,
    /// Health check timing.
    pub timing: health::CheckTiming,
    /// How long a client connection's dial of one backend may take before the next is tried.
    pub dial_timeout: Duration,
    /// Pause before discovery lists again after a failure.
    pub discovery_retry: Duration,
    /// The cluster CA (PEM): health checks are `GET /readyz` over TLS with it; `None` = TCP checks.
    pub ca_pem: Option<Vec<u8>>,
}

impl ProxyConfig {
    /// A config with the default timings.
    pub fn new(listen: SocketAddr, seeds: Vec<SocketAddr>, cache: PathBuf, status: PathBuf) -> ProxyConfig {
        ProxyConfig {
            listen,
            seeds,
            cache,
            status,
            kubeconfigs: Vec::new(),
            timing: health::CheckTiming::default(),
            dial_timeout: Duration::from_millis(1000),
            discovery_retry: Duration::from_secs(2),
            ca_pem: None,
        }
    }
}

/// The runtime the proxy runs in (the `run` command and the benchmark build it here, so both measure the same):
/// one thread. A connection is one task either way, so more workers add no throughput to it; they add
/// cross-thread wake-ups per chunk and threads competing with the kubelet on a small node, and on the 2-core
/// bench machine a 2-worker runtime measured no better (the copies themselves run in the kernel: [`splice`]).
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()
}

/// A bound proxy, ready to run.
pub struct Proxy {
    config: ProxyConfig,
    listener: TcpListener,
    balancer: Arc<Balancer>,
    source: &'static str,
    log: Log,
}

/// A proxy running in the background (tests and the benchmark).
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its backend table.
    pub balancer: Arc<Balancer>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts the backend list: the cache when it is usable, else the seeds. A malformed cache is logged and
/// replaced by the seeds; with no seeds either it is an error that names the file.
fn initial_backends(config: &ProxyConfig, log: &Log) -> Result<(Vec<SocketAddr>, &'static str), String> {
    match cache::load(&config.cache) {
        Ok(Some(list)) if !list.is_empty() => return Ok((list, "cache")),
        Ok(_) => {}
        Err(e) if config.seeds.is_empty() => return Err(format!("{e}; and no --server was given to start from")),
        Err(e) => log(&format!("{e}; starting from the configured servers instead")),
    }
    if config.seeds.is_empty() {
        return Err(format!("no API server known: no cached list at {} and no --server given", config.cache.display()));
    }
    Ok((config.seeds.clone(), "seed"))
}

impl Proxy {
    /// Binds the listener and loads the starting list. A port in use or no backend at all is an error here,
    /// before anything runs.
    pub async fn bind(config: ProxyConfig, log: Log) -> Result<Proxy, String> {
        let (list, source) = initial_backends(&config, &log)?;
        let listener = TcpListener::bind(config.listen).await.map_err(|e| {
            let hint = if e.kind() == std::io::ErrorKind::AddrInUse {
                " (another process holds the port: is an api-server-proxy already running? see `kbinit api-server-proxy status`)"
            } else {
                ""
            };
            format!("cannot listen on {}: {e}{hint}", config.listen)
        })?;
        let listen = listener.local_addr().map_err(|e| e.to_string())?;
        let config = ProxyConfig { listen, ..config };
        let names: Vec<String> = list.iter().map(|a| a.to_string()).collect();
        log(&format!("listening on {listen}, backends from the {source}: {}", names.join(", ")));
        if source == "seed"
            && let Err(e) = cache::save(&config.cache, &list)
        {
            log(&format!("cannot write the cache {}: {e}", config.cache.display()));
        }
        Ok(Proxy { balancer: Arc::new(Balancer::new(&list)), config, listener, source, log })
    }

    /// Where the proxy listens.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Runs in the background of the current runtime.
    pub fn spawn(self) -> std::io::Result<Running> {
        let addr = self.local_addr()?;
        let balancer = self.balancer.clone();
        Ok(Running { addr, balancer, task: tokio::spawn(self.run()) })
    }

    /// Serves forever: health checks, discovery, the status snapshot and one task per client connection.
    pub async fn run(self) {
        let Proxy { config, listener, balancer, source, log } = self;
        let mut tasks = tokio::task::JoinSet::new();
        {
            let log = log.clone();
            let checker = match config.ca_pem.as_deref().map(readyz::Readyz::from_ca_pem) {
                Some(Ok(r)) => health::Checker::readyz(r),
                Some(Err(e)) => {
                    log(&format!("the cluster CA cannot be used for /readyz checks ({e}): checking by TCP connect"));
                    health::Checker::tcp()
                }
                None => health::Checker::tcp(),
            };
            log(&format!("health checks: {}", checker.describe()));
            let on_change = move |changes: &[Change]| changes.iter().for_each(|c| log(&c.to_string()));
            tasks.spawn(health::run(balancer.clone(), config.timing, checker, on_change));
        }
        if !config.kubeconfigs.is_empty() {
            let cache_path = config.cache.clone();
            let cache_log = log.clone();
            let d = endpoints::Discovery {
                kubeconfigs: config.kubeconfigs.clone(),
                balancer: balancer.clone(),
                on_list: Box::new(move |list| {
                    if let Err(e) = cache::save(&cache_path, list) {
                        cache_log(&format!("cannot write the cache {}: {e}", cache_path.display()));
                    }
                }),
                log: log.clone(),
                retry: config.discovery_retry,
            };
            tasks.spawn(d.run());
        }
        tasks.spawn(write_status(config.clone(), balancer.clone(), source, log.clone()));
        loop {
            let (client, _) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    // out of file descriptors and the like: wait instead of spinning
                    log(&format!("accept failed: {e}"));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            tokio::spawn(serve(client, balancer.clone(), config.dial_timeout, log.clone()));
        }
    }
}

/// Connects a client to the first backend that answers, then copies both ways until either side closes or
/// the backend is cut (went unhealthy or was removed), so the client reconnects to a live one.
async fn serve(mut client: TcpStream, balancer: Arc<Balancer>, dial_timeout: Duration, log: Log) {
    let _ = client.set_nodelay(true);
    for addr in balancer.candidates() {
        let mut upstream = match tokio::time::timeout(dial_timeout, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                balancer
                    .report_failure(addr, &e.to_string(), readyz::is_definite(&e))
                    .iter()
                    .for_each(|c| log(&c.to_string()));
                continue;
            }
            Err(_) => {
                // a client waited this long for a connect: take the server out now (the health checker puts
                // it back at its next success) rather than send the next clients into the same wait
                let why = format!("no answer within {} ms", dial_timeout.as_millis());
                balancer.report_failure(addr, &why, true).iter().for_each(|c| log(&c.to_string()));
                continue;
            }
        };
        let _ = upstream.set_nodelay(true);
        let Some(mut lease) = balancer.lease(addr) else { continue };
        tokio::select! {
            _ = splice::bidirectional(&mut client, &mut upstream) => {}
            _ = lease.cut.changed() => {}
        }
        return;
    }
}

/// Rewrites the status snapshot every second.
async fn write_status(config: ProxyConfig, balancer: Arc<Balancer>, source: &'static str, log: Log) {
    let mut failed = false;
    loop {
        let status = cache::Status {
            listen: config.listen.to_string(),
            pid: std::process::id(),
            updated: SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
            source: if config.kubeconfigs.is_empty() { source.into() } else { format!("{source}, then discovery") },
            backends: balancer.view(),
        };
        match cache::save_status(&config.status, &status) {
            Err(e) if !failed => {
                log(&format!("cannot write the status {}: {e}", config.status.display()));
                failed = true;
            }
            _ => {}
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
