//! Stand-in API servers for the proxy's tests and benchmark: TLS servers on loopback whose certificate names
//! only `kubernetes` (so a client must verify with a tls-server-name), answering a line protocol — `ping` gets
//! the backend's id back, `bulk N` gets N bytes — and that can be stopped (connections reset, port refused) or
//! blackholed (no answer on open connections, new SYNs dropped by a full accept queue).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector, client::TlsStream};

/// A CA, a serving certificate for DNS name `kubernetes` only, and the client and server TLS configs.
pub struct Pki {
    pub ca_pem: String,
    pub server: Arc<rustls::ServerConfig>,
    pub client: Arc<rustls::ClientConfig>,
}

pub fn pki() -> Pki {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "kubernetes");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["kubernetes".to_string()]).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, "kube-apiserver");
    let cert = params.signed_by(&key, &issuer).unwrap();
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())))
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(ca.der().to_vec())).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Pki { ca_pem: ca.pem(), server: Arc::new(server), client: Arc::new(client) }
}

/// One stand-in API server. Dropping it stops it.
pub struct Backend {
    pub id: String,
    pub addr: SocketAddr,
    frozen: Arc<AtomicBool>,
    stop: Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<()>,
    /// A listen socket with a full accept queue, held while blackholed.
    hole: Option<(tokio::net::TcpListener, Vec<tokio::task::JoinHandle<()>>)>,
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Backend {
    /// Serves on `addr` (port 0 = any free port).
    pub async fn start(id: &str, pki: &Pki, addr: SocketAddr) -> Backend {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket.bind(addr).unwrap();
        let listener = socket.listen(1024).unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = TlsAcceptor::from(pki.server.clone());
        let frozen = Arc::new(AtomicBool::new(false));
        let (name, flag) = (id.to_string(), frozen.clone());
        let stop = Arc::new(tokio::sync::Notify::new());
        let stopper = stop.clone();
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    _ = stop.notified() => break,
                };
                let Ok((tcp, _)) = accepted else { continue };
                let _ = tcp.set_nodelay(true);
                let (acceptor, name, flag) = (acceptor.clone(), name.clone(), flag.clone());
                conns.spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else { return };
                    let (r, mut w) = tokio::io::split(tls);
                    let mut lines = BufReader::new(r).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        if flag.load(Ordering::SeqCst) {
                            std::future::pending::<()>().await;
                        }
                        let reply = match line.strip_prefix("bulk ") {
                            Some(n) => vec![b'x'; n.parse().unwrap_or(0)],
                            None => format!("{name}\n").into_bytes(),
                        };
                        if w.write_all(&reply).await.is_err() || w.flush().await.is_err() {
                            return;
                        }
                    }
                });
                while conns.try_join_next().is_some() {}
            }
            // blackholed: the port is handed back, the open connections stay open and silent
            drop(listener);
            std::future::pending::<()>().await;
            drop(conns);
        });
        Backend { id: id.to_string(), addr, frozen, stop: stopper, task, hole: None }
    }

    /// Stops answering without closing anything: open connections hang, and the port stays bound with a
    /// full accept queue so new SYNs go unanswered (what a blackholed node looks like from the client).
    pub async fn blackhole(&mut self) {
        self.frozen.store(true, Ordering::SeqCst);
        self.stop.notify_one();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket.bind(self.addr).unwrap();
        let listener = socket.listen(0).unwrap();
        let addr = self.addr;
        // fill the queue: these complete (or hang) and are never accepted
        let fillers = (0..2)
            .map(|_| {
                tokio::spawn(async move {
                    if let Ok(s) = TcpStream::connect(addr).await {
                        std::future::pending::<()>().await;
                        drop(s);
                    }
                })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        self.hole = Some((listener, fillers));
    }
}

/// A TLS client connection through `addr`, verifying the server as `kubernetes`.
pub async fn connect(pki: &Pki, addr: SocketAddr) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let name = ServerName::try_from("kubernetes").unwrap();
    TlsConnector::from(pki.client.clone()).connect(name, tcp).await
}

/// Sends `ping` and returns the answering backend's id.
pub async fn ping(conn: &mut TlsStream<TcpStream>) -> std::io::Result<String> {
    conn.write_all(b"ping\n").await?;
    conn.flush().await?;
    let mut reply = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        if conn.read(&mut byte).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if byte[0] == b'\n' {
            return Ok(String::from_utf8_lossy(&reply).into_owned());
        }
        reply.push(byte[0]);
    }
}

/// Asks for `n` bytes and reads them all.
pub async fn bulk(conn: &mut TlsStream<TcpStream>, n: usize, buf: &mut [u8]) -> std::io::Result<()> {
    conn.write_all(format!("bulk {n}\n").as_bytes()).await?;
    conn.flush().await?;
    let mut left = n;
    while left > 0 {
        let want = left.min(buf.len());
        let got = conn.read(&mut buf[..want]).await?;
        if got == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        left -= got;
    }
    Ok(())
}
