//! The backend table of the API server proxy: which kube-apiservers are known, which are healthy, how many
//! connections each carries, and the choice of a backend for a new connection (least connections among the
//! healthy, round-robin on ties). It holds no sockets; the health checker and the connection tasks report to it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use tokio::sync::watch;

/// What the proxy knows of one backend's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// Not checked yet (a backend from the cache or the seed list): still tried.
    Unknown,
    /// The last check or connection succeeded.
    Healthy,
    /// Failed: refused, timed out or unreachable. Only tried when no other backend is left.
    Unhealthy,
}

/// One backend as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BackendView {
    /// `host:port` of the kube-apiserver.
    pub address: SocketAddr,
    /// Its health.
    pub health: Health,
    /// Proxied connections open to it now.
    pub connections: usize,
    /// Why it was last marked unhealthy (empty when healthy).
    pub last_error: String,
    /// When the health last changed (seconds since the epoch).
    pub since: u64,
}

struct Backend {
    health: Health,
    fails: u32,
    active: usize,
    last_error: String,
    since: SystemTime,
    /// Bumped whenever the backend goes unhealthy or is removed: open connections to it end.
    cut: watch::Sender<u64>,
}

impl Backend {
    fn new() -> Backend {
        Backend {
            health: Health::Unknown,
            fails: 0,
            active: 0,
            last_error: String::new(),
            since: SystemTime::now(),
            cut: watch::channel(0).0,
        }
    }
    fn cut(&self) {
        self.cut.send_modify(|g| *g += 1);
    }
}

/// A change worth a log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A backend joined the table.
    Added(SocketAddr),
    /// A backend left the table (it is no longer an endpoint of the `kubernetes` Service).
    Removed(SocketAddr),
    /// A backend passed a check after being unhealthy or unknown.
    Up(SocketAddr),
    /// A backend failed; its connections were closed.
    Down(SocketAddr, String),
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Added(a) => write!(f, "backend {a} added"),
            Change::Removed(a) => write!(f, "backend {a} removed"),
            Change::Up(a) => write!(f, "backend {a} is healthy"),
            Change::Down(a, why) => write!(f, "backend {a} is unhealthy: {why}"),
        }
    }
}

/// The backend table, shared by the listener, the health checker and discovery.
pub struct Balancer {
    backends: Mutex<BTreeMap<SocketAddr, Backend>>,
    next: AtomicUsize,
    /// How many consecutive failed checks that did not get a definite refusal mark a backend unhealthy.
    pub fall: u32,
}

/// A connection's hold on its backend: counted while alive, and told when the backend is cut.
pub struct Lease<'a> {
    balancer: &'a Balancer,
    addr: SocketAddr,
    /// Changes when the backend goes unhealthy or is removed.
    pub cut: watch::Receiver<u64>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(b) = self.balancer.lock().get_mut(&self.addr) {
            b.active = b.active.saturating_sub(1);
        }
    }
}

impl Balancer {
    /// A table holding `addrs`, all of unknown health.
    pub fn new(addrs: &[SocketAddr]) -> Balancer {
        let backends = addrs.iter().map(|a| (*a, Backend::new())).collect();
        Balancer { backends: Mutex::new(backends), next: AtomicUsize::new(0), fall: 2 }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<SocketAddr, Backend>> {
        // a panic while holding the lock leaves plain counters behind: keep using them
        self.backends.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The known backends, sorted.
    pub fn addresses(&self) -> Vec<SocketAddr> {
        self.lock().keys().copied().collect()
    }

    /// Replaces the set of backends by `addrs` (an empty set is ignored: the proxy never forgets every server);
    /// backends kept keep their health and connections; removed ones have their connections closed.
    pub fn set_members(&self, addrs: &[SocketAddr]) -> Vec<Change> {
        if addrs.is_empty() {
            return Vec::new();
        }
        let mut table = self.lock();
        let mut changes = Vec::new();
        table.retain(|a, b| {
            let keep = addrs.contains(a);
            if !keep {
                b.cut();
                changes.push(Change::Removed(*a));
            }
            keep
        });
        for a in addrs {
            if !table.contains_key(a) {
                table.insert(*a, Backend::new());
                changes.push(Change::Added(*a));
            }
        }
        changes
    }

    /// Backends to try for a new connection, best first: healthy and unknown ones by fewest connections
    /// (rotating among equals), then the unhealthy ones as a last resort.
    pub fn candidates(&self) -> Vec<SocketAddr> {
        let table = self.lock();
        let mut usable: Vec<(usize, SocketAddr)> =
            table.iter().filter(|(_, b)| b.health != Health::Unhealthy).map(|(a, b)| (b.active, *a)).collect();
        if !usable.is_empty() {
            let turn = self.next.fetch_add(1, Ordering::Relaxed) % usable.len();
            usable.rotate_left(turn);
            // stable: equal counts keep the rotated order
            usable.sort_by_key(|(active, _)| *active);
        }
        let mut order: Vec<SocketAddr> = usable.into_iter().map(|(_, a)| a).collect();
        order.extend(table.iter().filter(|(_, b)| b.health == Health::Unhealthy).map(|(a, _)| *a));
        order
    }

    /// Counts a connection on `addr` until the lease is dropped; `None` if `addr` left the table meanwhile.
    pub fn lease(&self, addr: SocketAddr) -> Option<Lease<'_>> {
        let mut table = self.lock();
        let b = table.get_mut(&addr)?;
        b.active += 1;
        let cut = b.cut.subscribe();
        Some(Lease { balancer: self, addr, cut })
    }

    /// Records a successful check or connection.
    pub fn report_ok(&self, addr: SocketAddr) -> Option<Change> {
        let mut table = self.lock();
        let b = table.get_mut(&addr)?;
        b.fails = 0;
        if b.health == Health::Healthy {
            return None;
        }
        b.health = Health::Healthy;
        b.last_error.clear();
        b.since = SystemTime::now();
        Some(Change::Up(addr))
    }

    /// Records a failure. `definite` (connection refused, host unreachable) marks the backend unhealthy at once;
    /// other failures (timeouts) only after [`Balancer::fall`] in a row. Going unhealthy closes its connections.
    pub fn report_failure(&self, addr: SocketAddr, why: &str, definite: bool) -> Option<Change> {
        let mut table = self.lock();
        let b = table.get_mut(&addr)?;
        b.fails += 1;
        if b.health == Health::Unhealthy || (!definite && b.fails < self.fall) {
            return None;
        }
        b.health = Health::Unhealthy;
        b.last_error = why.to_string();
        b.since = SystemTime::now();
        b.cut();
        Some(Change::Down(addr, why.to_string()))
    }

    /// `true` while a backend has failed a check but not yet [`Balancer::fall`] in a row (the checker then
    /// checks again at once instead of waiting a whole interval).
    pub fn suspect(&self) -> bool {
        self.lock().values().any(|b| b.fails > 0 && b.health != Health::Unhealthy)
    }

    /// The table as `status` shows it.
    pub fn view(&self) -> Vec<BackendView> {
        self.lock()
            .iter()
            .map(|(a, b)| BackendView {
                address: *a,
                health: b.health,
                connections: b.active,
                last_error: b.last_error.clone(),
                since: b.since.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn least_connections_first_unhealthy_last() {
        let bal = Balancer::new(&[a("10.0.0.1:6443"), a("10.0.0.2:6443"), a("10.0.0.3:6443")]);
        let _l1 = bal.lease(a("10.0.0.1:6443")).unwrap();
        let _l2 = bal.lease(a("10.0.0.2:6443")).unwrap();
        assert_eq!(bal.candidates()[0], a("10.0.0.3:6443"));
        assert_eq!(
            bal.report_failure(a("10.0.0.3:6443"), "refused", true).unwrap(),
            Change::Down(a("10.0.0.3:6443"), "refused".into())
        );
        let order = bal.candidates();
        assert_eq!(order.len(), 3);
        assert_eq!(order[2], a("10.0.0.3:6443"), "the unhealthy backend is the last resort");
    }

    #[test]
    fn timeouts_need_fall_failures_and_cut_connections() {
        let bal = Balancer::new(&[a("10.0.0.1:6443")]);
        let lease = bal.lease(a("10.0.0.1:6443")).unwrap();
        assert!(bal.report_failure(a("10.0.0.1:6443"), "timed out", false).is_none());
        assert!(!lease.cut.has_changed().unwrap());
        assert!(bal.report_failure(a("10.0.0.1:6443"), "timed out", false).is_some());
        assert!(lease.cut.has_changed().unwrap(), "going unhealthy tells the open connections");
        assert_eq!(bal.view()[0].connections, 1);
        drop(lease);
        assert_eq!(bal.view()[0].connections, 0);
        assert_eq!(bal.report_ok(a("10.0.0.1:6443")), Some(Change::Up(a("10.0.0.1:6443"))));
        assert_eq!(bal.view()[0].health, Health::Healthy);
    }

    #[test]
    fn members_replace_but_never_empty() {
        let bal = Balancer::new(&[a("10.0.0.1:6443"), a("10.0.0.2:6443")]);
        let lease = bal.lease(a("10.0.0.2:6443")).unwrap();
        assert!(bal.set_members(&[]).is_empty());
        assert_eq!(bal.addresses().len(), 2);
        let changes = bal.set_members(&[a("10.0.0.1:6443"), a("10.0.0.4:6443")]);
        assert_eq!(changes, vec![Change::Removed(a("10.0.0.2:6443")), Change::Added(a("10.0.0.4:6443"))]);
        // removed: the sender is gone, which ends the connection the same way
        assert!(lease.cut.has_changed().unwrap_or(true), "a removed backend's connections end");
        assert_eq!(bal.addresses(), vec![a("10.0.0.1:6443"), a("10.0.0.4:6443")]);
    }
}
