//! Benchmark of the node-local API server proxy on loopback, measured side by side with direct connections in
//! one run: the added latency (p50, p99) of a TLS request through the proxy on an open connection and with a
//! fresh connection and handshake, the bulk throughput through the proxy as a share of direct, and the failover
//! time when one of two API servers is stopped (refused) or blackholed, for new requests and for an open
//! connection that must reconnect. Targets (issue 11): added p50 ≤ 50 µs, throughput ≥ 90 % of direct,
//! failover ≤ 1 s refused and ≤ 3 s blackholed. It prints figures and asserts nothing:
//! `cargo bench --bench apiproxy` (in a debug build, `cargo test --bench apiproxy`, the figures are slower).

// A bench is a report for a human: printing is its output.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used, clippy::disallowed_methods)]

#[path = "../tests/it/apiproxy/backend.rs"]
mod backend;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use backend::{Backend, Pki, bulk, connect, ping};
use kbinit::api_server_proxy::{Proxy, ProxyConfig};

const REQUESTS: usize = 4000;
const HANDSHAKES: usize = 300;
const BULK_BYTES: usize = 32 << 20;
const BULK_ROUNDS: usize = 6;

fn any() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A proxy on a thread and runtime of its own, built as `kbinit api-server-proxy run` builds it
/// ([`kbinit::api_server_proxy::runtime`]), as it is a process of its own on a node.
struct Separate {
    addr: SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn proxy(dir: &std::path::Path, seeds: Vec<SocketAddr>) -> Separate {
    let cfg = ProxyConfig::new(any(), seeds, dir.join("endpoints.json"), dir.join("status.json"));
    let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let rt = kbinit::api_server_proxy::runtime().unwrap();
        rt.block_on(async move {
            let p = Proxy::bind(cfg, Arc::new(|_: &str| {})).await.unwrap();
            let _ = addr_tx.send(p.local_addr().unwrap());
            tokio::select! {
                _ = p.run() => {}
                _ = stop_rx => {}
            }
        });
    });
    Separate { addr: addr_rx.await.unwrap(), _stop: stop_tx }
}

/// The stand-in API servers' runtime: a thread of its own, as the API server is a process of its own, so the
/// direct and the proxied path both cross the same thread boundary to reach it.
fn server_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap()
}

/// Starts a stand-in API server on the servers' runtime.
async fn start(rt: &tokio::runtime::Runtime, id: &str, pki: &Pki) -> Backend {
    let (id, server) = (id.to_string(), pki.server.clone());
    let pki = Pki { ca_pem: String::new(), server, client: pki.client.clone() };
    rt.spawn(async move { Backend::start(&id, &pki, any()).await }).await.unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Round trips on one open TLS connection each, direct and proxied, alternating in batches of 100.
async fn request_latency(pki: &Pki, direct: SocketAddr, proxied: SocketAddr) -> (Vec<Duration>, Vec<Duration>) {
    let mut d = connect(pki, direct).await.unwrap();
    let mut p = connect(pki, proxied).await.unwrap();
    let (mut dt, mut pt) = (Vec::new(), Vec::new());
    for _ in 0..REQUESTS / 100 {
        for (conn, times) in [(&mut d, &mut dt), (&mut p, &mut pt)] {
            for _ in 0..100 {
                let t = Instant::now();
                ping(conn).await.unwrap();
                times.push(t.elapsed());
            }
        }
    }
    dt.sort();
    pt.sort();
    (dt, pt)
}

/// A fresh TCP connection, TLS handshake and one request, direct and proxied alternately.
async fn handshake_latency(pki: &Pki, direct: SocketAddr, proxied: SocketAddr) -> (Vec<Duration>, Vec<Duration>) {
    let (mut dt, mut pt) = (Vec::new(), Vec::new());
    for _ in 0..HANDSHAKES {
        for (addr, times) in [(direct, &mut dt), (proxied, &mut pt)] {
            let t = Instant::now();
            let mut c = connect(pki, addr).await.unwrap();
            ping(&mut c).await.unwrap();
            times.push(t.elapsed());
        }
    }
    dt.sort();
    pt.sort();
    (dt, pt)
}

/// MB/s of bulk reads, direct and proxied alternately (each pair of rounds meets the same machine noise): the
/// best round of each, and the median of the pairs' ratios.
async fn throughput(pki: &Pki, direct: SocketAddr, proxied: SocketAddr) -> (f64, f64, f64) {
    let mut buf = vec![0u8; 256 << 10];
    let (mut best_d, mut best_p, mut ratios) = (0f64, 0f64, Vec::new());
    let mut d = connect(pki, direct).await.unwrap();
    let mut p = connect(pki, proxied).await.unwrap();
    for _ in 0..BULK_ROUNDS {
        let (mut rd, mut rp) = (0f64, 0f64);
        for (conn, rate) in [(&mut d, &mut rd), (&mut p, &mut rp)] {
            let t = Instant::now();
            bulk(conn, BULK_BYTES, &mut buf).await.unwrap();
            *rate = BULK_BYTES as f64 / t.elapsed().as_secs_f64() / 1e6;
        }
        best_d = best_d.max(rd);
        best_p = best_p.max(rp);
        ratios.push(rp / rd);
    }
    ratios.sort_by(f64::total_cmp);
    (best_d, best_p, ratios[ratios.len() / 2])
}

/// One request on a fresh connection, bounded by `limit`.
async fn try_request(pki: &Pki, addr: SocketAddr, limit: Duration) -> bool {
    let attempt = async {
        let mut c = connect(pki, addr).await.ok()?;
        ping(&mut c).await.ok()
    };
    matches!(tokio::time::timeout(limit, attempt).await, Ok(Some(_)))
}

/// Failover with two servers, one of which fails at t0. New requests: the time after t0 until the last
/// failed or slow (> 200 ms) one ended, over 5 s of back-to-back requests. Open connection: the time until a
/// client whose connection was on the failed server has noticed (closed or 1 s without an answer, whichever
/// the client sees first), reconnected and been answered.
async fn failover(rt: &tokio::runtime::Runtime, pki: &Pki, blackhole: bool) -> (Duration, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let a = start(rt, "apiserver-0", pki).await;
    let b = start(rt, "apiserver-1", pki).await;
    let p = proxy(dir.path(), vec![a.addr, b.addr]).await;
    tokio::time::sleep(Duration::from_millis(700)).await; // one health round: both healthy
    let mut on_b = None;
    while on_b.is_none() {
        let mut c = connect(pki, p.addr).await.unwrap();
        if ping(&mut c).await.unwrap() == "apiserver-1" {
            on_b = Some(c);
        }
    }
    let mut on_b = on_b.unwrap();
    let t0 = Instant::now();
    let _held = if blackhole {
        Some(
            rt.spawn(async move {
                let mut b = b;
                b.blackhole().await;
                b
            })
            .await
            .unwrap(),
        )
    } else {
        drop(b);
        None
    };
    let watcher = {
        let pki_client = pki.client.clone();
        let addr = p.addr;
        tokio::spawn(async move {
            // the open connection: notice (closed, or a 1 s request timeout, as a client-go watch would not be
            // this quick: this is the proxy's part), then reconnect until answered
            let _ = tokio::time::timeout(Duration::from_secs(1), ping(&mut on_b)).await;
            let pki = Pki { ca_pem: String::new(), server: Arc::new(dummy_server()), client: pki_client };
            while !try_request(&pki, addr, Duration::from_secs(2)).await {}
            t0.elapsed()
        })
    };
    let mut last_bad = Duration::ZERO;
    while t0.elapsed() < Duration::from_secs(5) {
        let start = Instant::now();
        let ok = try_request(pki, p.addr, Duration::from_secs(5)).await;
        if !ok || start.elapsed() > Duration::from_millis(200) {
            last_bad = t0.elapsed();
        }
    }
    drop(a);
    (last_bad, watcher.await.unwrap())
}

/// A server config the reconnecting watcher never uses (the `Pki` struct wants one).
fn dummy_server() -> rustls::ServerConfig {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["x".to_string()]).unwrap().self_signed(&key).unwrap();
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()))
        .unwrap()
}

/// Latency and throughput, proxied against direct, printed.
async fn report(pki: &Pki, direct: SocketAddr, proxied: SocketAddr) {
    let (d, x) = request_latency(pki, direct, proxied).await;
    let (d50, d99, x50, x99) = (percentile(&d, 0.5), percentile(&d, 0.99), percentile(&x, 0.5), percentile(&x, 0.99));
    println!("TLS request on an open connection ({REQUESTS} each, alternating):");
    println!("  direct  p50 {:8.1} µs  p99 {:8.1} µs", us(d50), us(d99));
    println!("  proxied p50 {:8.1} µs  p99 {:8.1} µs", us(x50), us(x99));
    println!(
        "  added   p50 {:8.1} µs  p99 {:8.1} µs   (target: added p50 ≤ 50 µs)",
        us(x50) - us(d50),
        us(x99) - us(d99)
    );

    let (d, x) = handshake_latency(pki, direct, proxied).await;
    println!("TLS connect + handshake + request ({HANDSHAKES} each, alternating):");
    println!(
        "  direct  p50 {:8.1} µs  p99 {:8.1} µs\n  proxied p50 {:8.1} µs  p99 {:8.1} µs\n  added   p50 {:8.1} µs  p99 {:8.1} µs",
        us(percentile(&d, 0.5)),
        us(percentile(&d, 0.99)),
        us(percentile(&x, 0.5)),
        us(percentile(&x, 0.99)),
        us(percentile(&x, 0.5)) - us(percentile(&d, 0.5)),
        us(percentile(&x, 0.99)) - us(percentile(&d, 0.99)),
    );

    let (td, tp, median) = throughput(pki, direct, proxied).await;
    println!(
        "throughput (TLS bulk reads, {} MiB x {BULK_ROUNDS} rounds, alternating): best direct {td:.0} MB/s, best proxied \
             {tp:.0} MB/s, ratio of the bests {:.1} %, median ratio of the pairs {:.1} %   (target ≥ 90 %)",
        BULK_BYTES >> 20,
        tp / td * 100.0,
        median * 100.0
    );
}

fn main() {
    // the client: one thread, as one kubelet's connection is one goroutine's sequence of requests
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let servers = server_runtime();
    rt.block_on(async {
        let pki = backend::pki();
        let dir = tempfile::tempdir().unwrap();
        let server = start(&servers, "apiserver-0", &pki).await;
        // the proxy as a node runs it (its own process: here its own thread and runtime), and in the client's
        // runtime (no cross-thread wake-up per hop: the cost of the proxy's code alone)
        let own = proxy(dir.path(), vec![server.addr]).await;
        let cfg = ProxyConfig::new(any(), vec![server.addr], dir.path().join("e2.json"), dir.path().join("s2.json"));
        let shared = Proxy::bind(cfg, Arc::new(|_: &str| {})).await.unwrap().spawn().unwrap();
        tokio::time::sleep(Duration::from_millis(700)).await;
        for (placement, addr) in [("proxy on its own thread, as its own process", own.addr), ("proxy in the client's runtime", shared.addr)] {
            println!("== {placement}");
            report(&pki, server.addr, addr).await;
        }
        drop((own, shared));
        drop(server);

        for (name, hole, target) in [("refused (server stopped)", false, "1 s"), ("blackholed", true, "3 s")] {
            let (new, open) = failover(&servers, &pki, hole).await;
            println!(
                "failover, {name}: new requests recovered after {:.0} ms, an open connection re-served after {:.0} ms   (target ≤ {target})",
                new.as_secs_f64() * 1e3,
                open.as_secs_f64() * 1e3
            );
        }
    });
    servers.shutdown_background();
}
