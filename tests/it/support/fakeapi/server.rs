//! HTTPS transport: a rustls server (TLS 1.2/1.3, aws-lc-rs) that asks for a client certificate and verifies it
//! against the client CA when one is presented (a bad one fails the handshake, as with Go's
//! VerifyClientCertIfGiven), HTTP/1.1 by hyper, on a thread with its own tokio runtime. The socket is bound before
//! `serve` returns, optionally from inside a network namespace.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::authn::{self, UserInfo};
use super::handler::{Incoming, respond};
use super::store::Store;

/// PEM material for one listener.
#[derive(Clone)]
pub struct ServingTls {
    /// Serving certificate (chain) PEM.
    pub cert_pem: String,
    /// Its private key PEM (PKCS#1, SEC1 or PKCS#8).
    pub key_pem: String,
    /// CA bundle client certificates are verified against.
    pub client_ca_pem: String,
}

/// A running listener; dropping it stops it (open connections are cut).
pub struct Listener {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Listener {
    /// The bound address (the real port when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// `https://<addr>`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn server_config(tls: &ServingTls) -> rustls::ServerConfig {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(tls.cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .expect("serving certificate PEM");
    let key = PrivateKeyDer::from_pem_slice(tls.key_pem.as_bytes()).expect("serving key PEM");
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_slice_iter(tls.client_ca_pem.as_bytes()) {
        roots.add(ca.expect("client CA PEM")).expect("client CA certificate");
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .expect("client verifier");
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .expect("serving certificate and key");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

/// Binds `addr` from a thread that first joins the network namespace `/run/netns/<name>`; the socket stays in
/// that namespace whichever thread uses it later.
pub fn bind_in_netns(name: &str, addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let path = format!("/run/netns/{name}");
    std::thread::spawn(move || {
        let ns = std::fs::File::open(&path)?;
        // nix's safe `sched::setns` needs nix's "sched" feature, which this crate does not enable; its re-exported
        // libc is the same call.
        // SAFETY: setns(2) only changes this short-lived thread's network namespace; the fd is open for the call.
        if unsafe { nix::libc::setns(ns.as_raw_fd(), nix::libc::CLONE_NEWNET) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        std::net::TcpListener::bind(addr)
    })
    .join()
    .expect("netns bind thread")
}

/// Serves the store on an already-bound socket.
pub fn serve(store: Arc<Mutex<Store>>, socket: std::net::TcpListener, tls: &ServingTls) -> Listener {
    let addr = socket.local_addr().expect("bound address");
    socket.set_nonblocking(true).expect("non-blocking socket");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config(tls)));
    let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(socket).expect("tokio listener");
            loop {
                tokio::select! {
                    _ = &mut rx => break,
                    accepted = listener.accept() => {
                        let Ok((tcp, _)) = accepted else { continue };
                        tokio::spawn(connection(store.clone(), acceptor.clone(), tcp, addr));
                    }
                }
            }
        });
        rt.shutdown_background();
    });
    Listener { addr, shutdown: Some(tx), thread: Some(thread) }
}

async fn connection(
    store: Arc<Mutex<Store>>,
    acceptor: tokio_rustls::TlsAcceptor,
    tcp: tokio::net::TcpStream,
    addr: SocketAddr,
) {
    let Ok(stream) = acceptor.accept(tcp).await else { return };
    let cert_user: Option<UserInfo> =
        stream.get_ref().1.peer_certificates().and_then(|c| c.first()).and_then(|c| authn::from_client_cert(c));
    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let store = store.clone();
        let cert_user = cert_user.clone();
        async move {
            let (parts, body) = req.into_parts();
            let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            let header = |name: http::header::HeaderName| {
                parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
            };
            let content_type = header(http::header::CONTENT_TYPE).unwrap_or_default();
            let authorization = header(http::header::AUTHORIZATION);
            let server_address = addr.to_string();
            let incoming = Incoming {
                method: &parts.method,
                path: parts.uri.path(),
                query: parts.uri.query().unwrap_or(""),
                content_type: &content_type,
                authorization: authorization.as_deref(),
                body: &body,
                cert_user: cert_user.as_ref(),
                server_address: &server_address,
            };
            let watching = parts.method == http::Method::GET && super::watch::is_watch(incoming.query);
            let list_query = super::watch::list_query(incoming.query);
            let incoming = Incoming { query: if watching { &list_query } else { incoming.query }, ..incoming };
            let out = respond(&mut store.lock().unwrap_or_else(|e| e.into_inner()), &incoming);
            let first: Option<serde_json::Value> =
                if watching && out.code == 200 { serde_json::from_slice(&out.body).ok() } else { None };
            let body = match first {
                // a watch: the list's items after the requested version, then every change, as JSON lines
                Some(first) => {
                    let (store, cert_user) = (store.clone(), cert_user.clone());
                    let (method, path) = (parts.method.clone(), parts.uri.path().to_string());
                    let (authorization, content_type) = (authorization.clone(), content_type.clone());
                    let relist = move || {
                        let again = Incoming {
                            method: &method,
                            path: &path,
                            query: &list_query,
                            content_type: &content_type,
                            authorization: authorization.as_deref(),
                            body: &[],
                            cert_user: cert_user.as_ref(),
                            server_address: &server_address,
                        };
                        let out = respond(&mut store.lock().unwrap_or_else(|e| e.into_inner()), &again);
                        (out.code == 200).then(|| serde_json::from_slice(&out.body).ok()).flatten()
                    };
                    let query = parts.uri.query().unwrap_or("").to_string();
                    BodyExt::boxed(http_body_util::StreamBody::new(super::watch::stream(&query, &first, relist)))
                }
                None => BodyExt::boxed(Full::new(Bytes::from(out.body))),
            };
            let response = hyper::Response::builder()
                .status(out.code)
                .header(http::header::CONTENT_TYPE, out.content_type)
                .body(body)
                .expect("response");
            Ok::<_, Infallible>(response)
        }
    });
    let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
}
