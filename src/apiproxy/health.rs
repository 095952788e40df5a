//! Health checks of the proxy's backends: every interval, a TCP connect to each kube-apiserver with a short
//! timeout. A refusal or an unreachable host marks the backend unhealthy at once (a stopped API server); a
//! timeout (a blackholed one) after [`super::balancer::Balancer::fall`] checks in a row (the next check follows a
//! timeout at once); one success brings it back.
//!
//! Why TCP and not `/readyz`: the proxy passes TLS through and holds no client certificate of its own, and
//! anonymous `/readyz` may be disabled (`--anonymous-auth=false`); a listening kube-apiserver port is what a
//! TCP pass-through proxy needs, and an API server that accepts but fails requests is still reached by the
//! clients' own retries against the other backends.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::balancer::{Balancer, Change};

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

/// `true` for failures that prove nothing listens (as opposed to a packet that got no answer).
pub fn is_definite(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::AddrNotAvailable
    )
}

/// One TCP connect to `addr` within `timeout`: `Ok` or (why, definite).
pub async fn probe(addr: SocketAddr, timeout: Duration) -> Result<(), (String, bool)> {
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err((e.to_string(), is_definite(&e))),
        Err(_) => Err((format!("no answer within {} ms", timeout.as_millis()), false)),
    }
}

/// Checks every backend once, all at the same time, and returns what changed.
pub async fn check_round(balancer: &Balancer, timeout: Duration) -> Vec<Change> {
    let addrs = balancer.addresses();
    let probes = addrs.iter().map(|a| {
        let a = *a;
        tokio::spawn(async move { (a, probe(a, timeout).await) })
    });
    let mut changes = Vec::new();
    for p in probes.collect::<Vec<_>>() {
        let Ok((addr, result)) = p.await else { continue };
        let change = match result {
            Ok(()) => balancer.report_ok(addr),
            Err((why, definite)) => balancer.report_failure(addr, &why, definite),
        };
        changes.extend(change);
    }
    changes
}

/// Checks the backends forever, handing every change to `on_change`.
pub async fn run(balancer: Arc<Balancer>, timing: CheckTiming, on_change: impl Fn(&[Change]) + Send + 'static) {
    loop {
        let changes = check_round(&balancer, timing.timeout).await;
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
    use crate::apiproxy::balancer::Health;

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
