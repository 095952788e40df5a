//! Health checks of the proxy's backends, every interval, all backends at once, each within a short timeout:
//! `GET /readyz` over TLS ([`super::readyz`]) when the cluster CA is known, else a TCP connect. A refusal, an
//! unreachable host or a not-ready answer marks the backend unhealthy at once (a stopped API server, one whose
//! etcd is down); a timeout (a blackholed one) after [`super::balancer::Balancer::fall`] checks in a row (the next
//! check follows a timeout at once); one success brings it back.
//!
//! Why `/readyz` first: an API server that accepts connections but cannot serve (etcd down, shutting down) passes
//! a TCP check, and every client sent to it fails. The proxy holds no client certificate, so the request is
//! anonymous, which kube-apiserver allows for `/readyz` by default (`system:public-info-viewer`). Why TCP where
//! `/readyz` cannot be used: without the cluster CA the answer could not be trusted, and with
//! `--anonymous-auth=false` (401) or that binding removed (403) there is no answer to read; a listening
//! kube-apiserver port is then what a TCP pass-through proxy can know, and clients' own retries reach the other
//! backends.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::balancer::{Balancer, Change};
use super::readyz::{self, Readyz, is_definite};

/// How often and how patiently backends are checked.
#[derive(Debug, Clone, Copy)]
pub struct CheckTiming {
    /// Pause between two rounds.
    pub interval: Duration,
    /// How long one connect may take.
    pub timeout: Duration,
}

impl Default for CheckTiming {
    fn default() -> CheckTiming {
        CheckTiming { interval: Duration::from_millis(500), timeout: Duration::from_millis(800) }
    }
}

/// One TCP connect to `addr` within `timeout`: `Ok` or (why, definite).
pub async fn probe(addr: SocketAddr, timeout: Duration) -> Result<(), (String, bool)> {
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err((e.to_string(), is_definite(&e))),
        Err(_) => Err((format!("no answer within {} ms", timeout.as_millis()), false)),
    }
}

/// The checks of one proxy: TCP, or `/readyz` with the connections kept between rounds.
pub struct Checker {
    readyz: Option<Arc<Readyz>>,
    kept: HashMap<SocketAddr, readyz::Conn>,
}

impl Checker {
    /// TCP connects only.
    pub fn tcp() -> Checker {
        Checker { readyz: None, kept: HashMap::new() }
    }

    /// `GET /readyz` over TLS.
    pub fn readyz(readyz: Readyz) -> Checker {
        Checker { readyz: Some(Arc::new(readyz)), kept: HashMap::new() }
    }

    /// What the checks are, for the log.
    pub fn describe(&self) -> &'static str {
        if self.readyz.is_some() {
            "GET /readyz over TLS (the serving certificate verified as kubernetes with the cluster CA)"
        } else {
            "TCP connect"
        }
    }

    /// Checks every backend once, all at the same time, and returns what changed.
    pub async fn round(&mut self, balancer: &Balancer, timeout: Duration) -> Vec<Change> {
        let addrs = balancer.addresses();
        // connections to backends no longer in the table are dropped here
        let mut kept = std::mem::take(&mut self.kept);
        let probes = addrs.iter().map(|a| {
            let (a, conn, readyz) = (*a, kept.remove(a), self.readyz.clone());
            tokio::spawn(async move {
                match readyz {
                    Some(r) => (a, r.check(a, conn, timeout).await),
                    None => (a, (probe(a, timeout).await, None)),
                }
            })
        });
        let mut changes = Vec::new();
        for p in probes.collect::<Vec<_>>() {
            let Ok((addr, (result, conn))) = p.await else { continue };
            if let Some(conn) = conn {
                self.kept.insert(addr, conn);
            }
            let change = match result {
                Ok(()) => balancer.report_ok(addr),
                Err((why, definite)) => balancer.report_failure(addr, &why, definite),
            };
            changes.extend(change);
        }
        changes
    }
}

/// Checks every backend once with a TCP connect, all at the same time, and returns what changed.
pub async fn check_round(balancer: &Balancer, timeout: Duration) -> Vec<Change> {
    Checker::tcp().round(balancer, timeout).await
}

/// Checks the backends forever, handing every change to `on_change`.
pub async fn run(
    balancer: Arc<Balancer>,
    timing: CheckTiming,
    mut checker: Checker,
    on_change: impl Fn(&[Change]) + Send + 'static,
) {
    loop {
        let changes = checker.round(&balancer, timing.timeout).await;
        if !changes.is_empty() {
            on_change(&changes);
        }
        // a backend that just timed out is checked again right away: a blackholed server is out after two
        // timeouts, not two timeouts and two intervals
        let pause = if balancer.suspect() { Duration::from_millis(20) } else { timing.interval };
        tokio::time::sleep(pause).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api_server_proxy::balancer::Health;

    #[tokio::test]
    async fn refused_is_definite_and_listening_is_healthy() {
        let up = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let down = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (up_addr, down_addr) = (up.local_addr().unwrap(), down.local_addr().unwrap());
        drop(down);
        let bal = Balancer::new(&[up_addr, down_addr]);
        let changes = check_round(&bal, Duration::from_millis(500)).await;
        assert_eq!(changes.len(), 2, "{changes:?}");
        let view = bal.view();
        let health = |a| view.iter().find(|b| b.address == a).unwrap().health;
        assert_eq!(health(up_addr), Health::Healthy);
        assert_eq!(health(down_addr), Health::Unhealthy, "one refusal is enough");
    }
}
