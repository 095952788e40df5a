//! The node-local API server proxy on loopback: a real TLS client through it verifying the server as
//! `kubernetes` (tls-server-name), many long-lived connections that survive the loss of another backend,
//! a refused and a blackholed backend taken out, the cache bringing a restarted proxy up while every server is
//! down, discovery from the fake API server's EndpointSlices through the proxy itself, and bad input.

mod backend;
mod cli;
mod discovery;
mod preflight;
mod readyz;
mod wiring;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use backend::{Backend, Pki, connect, ping, pki};
use kbinit::api_server_proxy::balancer::Health;
use kbinit::api_server_proxy::{Log, Proxy, ProxyConfig, Running, health::CheckTiming};

pub fn any() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A log that keeps its lines for the test to read.
pub fn log() -> (Log, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let keep = lines.clone();
    (Arc::new(move |l: &str| keep.lock().unwrap().push(l.to_string())), lines)
}

pub fn config(dir: &Path, seeds: Vec<SocketAddr>) -> ProxyConfig {
    let mut c = ProxyConfig::new(any(), seeds, dir.join("endpoints.json"), dir.join("status.json"));
    c.timing = CheckTiming { interval: Duration::from_millis(200), timeout: Duration::from_millis(500) };
    c.dial_timeout = Duration::from_millis(500);
    c
}

pub async fn start(cfg: ProxyConfig) -> (Running, Arc<Mutex<Vec<String>>>) {
    let (log, lines) = log();
    (Proxy::bind(cfg, log).await.unwrap().spawn().unwrap(), lines)
}

/// Waits until `cond` holds, up to `limit`.
pub async fn eventually(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn health_of(proxy: &Running, addr: SocketAddr) -> Option<Health> {
    proxy.balancer.view().into_iter().find(|b| b.address == addr).map(|b| b.health)
}

async fn backends(pki: &Pki, n: usize) -> Vec<Backend> {
    let mut v = Vec::new();
    for i in 0..n {
        v.push(Backend::start(&format!("apiserver-{i}"), pki, any()).await);
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_client_verifies_the_api_server_through_the_proxy_with_tls_server_name() {
    let pki = pki();
    let bs = backends(&pki, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let (proxy, _) = start(config(dir.path(), bs.iter().map(|b| b.addr).collect())).await;
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..6 {
        let mut conn = connect(&pki, proxy.addr).await.expect("TLS through the proxy, verified as kubernetes");
        seen.insert(ping(&mut conn).await.unwrap());
    }
    assert_eq!(seen.len(), 2, "connections are spread over both servers: {seen:?}");
    // the certificate the client sees is the API server's own: verifying it as 127.0.0.1 fails
    let tcp = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let err = tokio_rustls::TlsConnector::from(pki.client.clone()).connect(name, tcp).await.unwrap_err();
    assert!(err.to_string().contains("certificate"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_lived_connections_survive_the_loss_of_another_backend() {
    let pki = pki();
    let mut bs = backends(&pki, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let (proxy, lines) = start(config(dir.path(), bs.iter().map(|b| b.addr).collect())).await;
    let mut conns = Vec::new();
    for _ in 0..60 {
        let mut c = connect(&pki, proxy.addr).await.unwrap();
        let id = ping(&mut c).await.unwrap();
        conns.push((id, c));
    }
    let count = |id: &str| conns.iter().filter(|(i, _)| i == id).count();
    assert!(
        ["apiserver-0", "apiserver-1", "apiserver-2"].iter().all(|id| count(id) >= 15),
        "least connections spreads them"
    );
    let lost = bs.remove(1);
    let lost_addr = lost.addr;
    drop(lost);
    eventually(Duration::from_secs(3), "the stopped server is marked unhealthy", || {
        health_of(&proxy, lost_addr) == Some(Health::Unhealthy)
    })
    .await;
    for (id, c) in conns.iter_mut() {
        let now = ping(c).await;
        if id == "apiserver-1" {
            assert!(now.is_err(), "a connection to the stopped server ends");
        } else {
            assert_eq!(now.unwrap(), *id, "a connection to a live server is untouched");
        }
    }
    for _ in 0..10 {
        let mut c = connect(&pki, proxy.addr).await.unwrap();
        assert_ne!(ping(&mut c).await.unwrap(), "apiserver-1");
    }
    let lines = lines.lock().unwrap();
    assert!(lines.iter().any(|l| l.contains(&format!("backend {lost_addr} is unhealthy"))), "{lines:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blackholed_backend_is_taken_out_and_its_connections_cut() {
    let pki = pki();
    let mut bs = backends(&pki, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let (proxy, _) = start(config(dir.path(), bs.iter().map(|b| b.addr).collect())).await;
    let mut on_hole = None;
    for _ in 0..4 {
        let mut c = connect(&pki, proxy.addr).await.unwrap();
        if ping(&mut c).await.unwrap() == "apiserver-1" {
            on_hole = Some(c);
        }
    }
    let mut on_hole = on_hole.expect("one connection on apiserver-1");
    let hole_addr = bs[1].addr;
    bs[1].blackhole().await;
    let start = Instant::now();
    // the open connection gets no answer, then is closed by the proxy once the server is found dead
    let r = tokio::time::timeout(Duration::from_secs(5), ping(&mut on_hole)).await;
    assert!(matches!(r, Ok(Err(_))), "closed, not left hanging: {r:?}");
    assert!(start.elapsed() < Duration::from_secs(3), "cut after {:?}", start.elapsed());
    assert_eq!(health_of(&proxy, hole_addr), Some(Health::Unhealthy));
    for _ in 0..6 {
        let mut c = connect(&pki, proxy.addr).await.unwrap();
        assert_eq!(ping(&mut c).await.unwrap(), "apiserver-0");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_proxy_comes_up_from_the_cache_while_every_server_is_down() {
    let pki = pki();
    let b = Backend::start("apiserver-0", &pki, any()).await;
    let addr = b.addr;
    let dir = tempfile::tempdir().unwrap();
    let (proxy, _) = start(config(dir.path(), vec![addr])).await;
    drop(proxy);
    drop(b);
    // no seeds now: only the cache knows the server
    let (proxy, lines) = start(config(dir.path(), vec![])).await;
    assert!(lines.lock().unwrap()[0].contains("backends from the cache"), "{:?}", lines.lock().unwrap());
    assert!(connect(&pki, proxy.addr).await.is_err(), "nothing to reach yet");
    let _b = Backend::start("apiserver-0", &pki, addr).await;
    let start = Instant::now();
    loop {
        if let Ok(mut c) = connect(&pki, proxy.addr).await
            && ping(&mut c).await.is_ok()
        {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(3), "the proxy serves once a server is back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_in_use_and_a_malformed_cache_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let held = std::net::TcpListener::bind(any()).unwrap();
    let mut cfg = config(dir.path(), vec!["127.0.0.1:6443".parse().unwrap()]);
    cfg.listen = held.local_addr().unwrap();
    let err = Proxy::bind(cfg, log().0).await.err().unwrap();
    assert!(err.contains(&format!("cannot listen on {}", held.local_addr().unwrap())), "{err}");
    assert!(err.contains("is an api-server-proxy already running"), "{err}");

    std::fs::write(dir.path().join("endpoints.json"), "{\"endpoints\": [").unwrap();
    let err = Proxy::bind(config(dir.path(), vec![]), log().0).await.err().unwrap();
    assert!(err.contains("endpoints.json is malformed") && err.contains("no --server was given"), "{err}");
    // with a server to start from, the proxy says why it ignores the cache and runs
    let (log, lines) = log();
    let seed: SocketAddr = "127.0.0.1:6443".parse().unwrap();
    let proxy = Proxy::bind(config(dir.path(), vec![seed]), log).await.unwrap();
    assert!(lines.lock().unwrap()[0].contains("is malformed"), "{:?}", lines.lock().unwrap());
    drop(proxy);
}
