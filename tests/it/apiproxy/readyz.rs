//! `/readyz` health checks: against the fake API server (kbinit's own serving certificate, verified with the
//! cluster CA as `kubernetes`, the anonymous `/readyz` answered `ok` as kube-apiserver answers it), a CA that
//! does not verify the server falling back to the TCP verdict, a refused port out at once, and — through a
//! running proxy — a server that keeps accepting connections but answers 500 (etcd down) taken out and put back
//! when it is ready again.
//!
//! fake-api: a server that keeps accepting connections but answers `/readyz` 500 at a chosen moment and then
//! recovers, which a real one only shows while its etcd is down and everything else with it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kbinit::api_server_proxy::balancer::{Balancer, Health};
use kbinit::api_server_proxy::health::Checker;
use kbinit::api_server_proxy::readyz::Readyz;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;

use super::backend::{Pki, pki};
use super::{config, eventually, start};
use crate::support::fakeapi::testkit;

/// An HTTPS server with the test PKI's `kubernetes` certificate answering every request on a connection (kept
/// alive) as `/readyz` does: 200 `ok`, or 500 with a failed etcd check while `broken`.
async fn readyz_server(pki: &Pki, broken: Arc<AtomicBool>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = TlsAcceptor::from(pki.server.clone());
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { continue };
            let (acceptor, broken) = (acceptor.clone(), broken.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let mut buf = vec![0u8; 4096];
                let mut got = Vec::new();
                loop {
                    let Ok(n) = tls.read(&mut buf).await else { return };
                    if n == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..n]);
                    while let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                        assert!(got.starts_with(b"GET /readyz HTTP/1.1\r\n"), "{}", String::from_utf8_lossy(&got));
                        got.drain(..end + 4);
                        let (status, body) = if broken.load(Ordering::SeqCst) {
                            (
                                "500 Internal Server Error",
                                "[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed\n",
                            )
                        } else {
                            ("200 OK", "ok")
                        };
                        let answer = format!(
                            "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if tls.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    addr
}

fn health(b: &Balancer, addr: SocketAddr) -> (Health, String) {
    let v = b.view().into_iter().find(|v| v.address == addr).unwrap();
    (v.health, v.last_error)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_of_the_fake_api_server_anonymous_and_the_tcp_fallbacks() {
    let cluster = testkit::cluster();
    let ca = cluster.node.read("/etc/kubernetes/pki/ca.crt");
    let api = cluster.listener.addr();
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let bal = Balancer::new(&[api, refused]);
    let mut checker = Checker::readyz(Readyz::from_ca_pem(&ca).unwrap());
    for _ in 0..3 {
        // the later rounds ask on the connection kept from the first
        checker.round(&bal, Duration::from_secs(2)).await;
        assert_eq!(health(&bal, api).0, Health::Healthy, "{:?}", health(&bal, api));
        assert_eq!(health(&bal, refused).0, Health::Unhealthy, "refused: out at the first check");
    }
    // a CA that does not sign the server: /readyz cannot tell, the server took the connection
    let other = pki();
    let mut checker = Checker::readyz(Readyz::from_ca_pem(other.ca_pem.as_bytes()).unwrap());
    let bal = Balancer::new(&[api]);
    checker.round(&bal, Duration::from_secs(2)).await;
    assert_eq!(health(&bal, api).0, Health::Healthy);
    assert!(Readyz::from_ca_pem(b"not a certificate").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_accepts_but_is_not_ready_is_taken_out_and_put_back() {
    let pki = pki();
    let (ok_flag, broken) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    let a = readyz_server(&pki, ok_flag).await;
    let b = readyz_server(&pki, broken.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), vec![a, b]);
    cfg.ca_pem = Some(pki.ca_pem.clone().into_bytes());
    let (proxy, lines) = start(cfg).await;
    let bal = proxy.balancer.clone();
    eventually(Duration::from_secs(5), "both ready", || {
        health(&bal, a).0 == Health::Healthy && health(&bal, b).0 == Health::Healthy
    })
    .await;
    assert!(lines.lock().unwrap().iter().any(|l| l.starts_with("health checks: GET /readyz over TLS")));
    broken.store(true, Ordering::SeqCst);
    eventually(Duration::from_secs(3), "the not-ready server out", || health(&bal, b).0 == Health::Unhealthy).await;
    let (_, why) = health(&bal, b);
    assert_eq!(why, "GET /readyz answered 500: [-]etcd failed: reason withheld");
    assert_eq!(health(&bal, a).0, Health::Healthy);
    assert_eq!(proxy.balancer.candidates()[0], a, "new connections go to the ready server");
    broken.store(false, Ordering::SeqCst);
    eventually(Duration::from_secs(3), "back when ready", || health(&bal, b).0 == Health::Healthy).await;
}
