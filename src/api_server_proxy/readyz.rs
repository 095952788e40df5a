//! The `/readyz` health check: `GET /readyz` over TLS to each kube-apiserver, anonymous, verifying the serving
//! certificate with the cluster CA as `kubernetes` (the name every kubeadm serving certificate carries, the one
//! the proxy's clients verify with `tls-server-name`). The API server answers anonymous `/readyz` with 200 `ok`
//! by default (the `system:public-info-viewer` ClusterRole, bound to `system:unauthenticated`); a 500 (etcd
//! down, shutting down, informers not synced) takes the backend out although it still accepts connections.
//!
//! One TLS connection per backend is kept open between checks (HTTP/1.1 keep-alive), so a check every 500 ms
//! costs a request, not a handshake. A check that fails on a kept connection is tried once more on a fresh
//! one, so the verdict (refused, timed out, not ready) is about the server, not about an idle connection it
//! closed. Where `/readyz` cannot tell (anonymous requests refused with 401/403, a certificate the CA does not
//! verify) the check is the TCP one: the server took the connection.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// The name the serving certificate is verified as.
pub const SERVER_NAME: &str = "kubernetes";
/// The request, kept alive.
const REQUEST: &[u8] =
    b"GET /readyz HTTP/1.1\r\nHost: kubernetes\r\nUser-Agent: kbinit-api-server-proxy\r\nAccept: text/plain\r\n\r\n";
/// The most of an answer read (a verbose readyz is ~2 KiB; the plain one is `ok`).
const MAX_ANSWER: usize = 16 << 10;

/// A kept check connection (boxed: a TLS client state is over a kilobyte).
pub type Conn = Box<TlsStream<TcpStream>>;

/// How `/readyz` is reached: the cluster CA.
pub struct Readyz {
    connector: TlsConnector,
}

impl Readyz {
    /// From the cluster CA's PEM (`/etc/kubernetes/pki/ca.crt`); an error names what is wrong with it.
    pub fn from_ca_pem(pem: &[u8]) -> Result<Readyz, String> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("not a PEM certificate: {e}"))?;
            roots.add(cert).map_err(|e| format!("not a usable CA certificate: {e}"))?;
        }
        if roots.is_empty() {
            return Err("no certificate in it".into());
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Readyz { connector: TlsConnector::from(Arc::new(config)) })
    }

    /// Checks `addr` within `timeout`, on `kept` if there is one: the verdict and the connection to keep.
    pub async fn check(
        &self,
        addr: SocketAddr,
        kept: Option<Conn>,
        timeout: Duration,
    ) -> (Result<(), (String, bool)>, Option<Conn>) {
        if let Some(conn) = kept
            && let Ok(Ok(Verdict::Answer(code, body, keep))) = tokio::time::timeout(timeout, ask(conn)).await
        {
            return (judge(code, &body), keep);
        }
        match tokio::time::timeout(timeout, self.fresh(addr)).await {
            Ok(Ok(Verdict::Answer(code, body, keep))) => (judge(code, &body), keep),
            Ok(Ok(Verdict::Unverifiable)) => (Ok(()), None),
            Ok(Err(e)) => (Err((e.to_string(), is_definite(&e))), None),
            Err(_) => (Err((format!("no answer to GET /readyz within {} ms", timeout.as_millis()), false)), None),
        }
    }

    async fn fresh(&self, addr: SocketAddr) -> io::Result<Verdict> {
        let tcp = TcpStream::connect(addr).await?;
        let _ = tcp.set_nodelay(true);
        let name = ServerName::try_from(SERVER_NAME).map_err(io::Error::other)?;
        match self.connector.connect(name, tcp).await {
            Ok(conn) => ask(Box::new(conn)).await,
            // the server took the connection but its certificate does not verify with this CA (a CA file out of
            // date, a foreign server): /readyz cannot tell, the TCP check passed
            Err(e) if e.get_ref().is_some_and(|i| i.is::<rustls::Error>()) => Ok(Verdict::Unverifiable),
            Err(e) => Err(e),
        }
    }
}

enum Verdict {
    /// Status code, body, and the connection when it may be used again.
    Answer(u16, String, Option<Conn>),
    /// The certificate did not verify.
    Unverifiable,
}

/// 200: ready. 401/403: anonymous /readyz is not allowed here, the TCP check passed. Anything else (500 with
/// the failed checks): not ready, out at once.
fn judge(code: u16, body: &str) -> Result<(), (String, bool)> {
    match code {
        200 | 401 | 403 => Ok(()),
        _ => {
            let failed: Vec<&str> = body.lines().filter(|l| l.starts_with("[-]")).collect();
            let detail = if failed.is_empty() { body.trim().chars().take(200).collect() } else { failed.join(", ") };
            Err((format!("GET /readyz answered {code}: {detail}"), true))
        }
    }
}

/// Sends the request and reads the answer: the whole body by Content-Length (the connection is then kept), or
/// to the end of the stream.
async fn ask(mut conn: Conn) -> io::Result<Verdict> {
    conn.write_all(REQUEST).await?;
    conn.flush().await?;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let (head_end, code, length, close) = loop {
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the connection closed before an answer"));
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let (code, length, close) = parse_head(&buf[..at])?;
            break (at + 4, code, length, close);
        }
        if buf.len() > MAX_ANSWER {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "an answer head longer than 16 KiB"));
        }
    };
    let want = length.map(|l| head_end + l.min(MAX_ANSWER));
    while want.is_none_or(|w| buf.len() < w) && buf.len() < head_end + MAX_ANSWER {
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..want.unwrap_or(buf.len()).min(buf.len())]).into_owned();
    let keep = (length.is_some() && !close).then_some(conn);
    Ok(Verdict::Answer(code, body, keep))
}

/// The status code, Content-Length and `Connection: close` of an answer head.
fn parse_head(head: &[u8]) -> io::Result<(u16, Option<usize>, bool)> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "not an HTTP answer");
    let status = lines.next().ok_or_else(bad)?;
    let code = status.strip_prefix("HTTP/1.").and_then(|r| r.get(2..5)).and_then(|c| c.parse().ok()).ok_or_else(bad)?;
    let (mut length, mut close) = (None, false);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse().ok();
        } else if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close") {
            close = true;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            // chunked is not read: take the body to the end of the stream and do not keep the connection
            length = None;
            close = true;
        }
    }
    Ok((code, length, close))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_and_verdicts() {
        assert_eq!(
            parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain").unwrap(),
            (200, Some(2), false)
        );
        assert_eq!(parse_head(b"HTTP/1.1 500 Internal Server Error\r\nConnection: close").unwrap(), (500, None, true));
        assert!(parse_head(b"SSH-2.0-OpenSSH").is_err());
        assert!(judge(200, "ok").is_ok());
        assert!(judge(403, "forbidden").is_ok(), "anonymous readyz refused: the TCP verdict stands");
        let (why, definite) = judge(500, "[+]ping ok\n[-]etcd failed: reason withheld\n[+]log ok\n").unwrap_err();
        assert!(definite);
        assert_eq!(why, "GET /readyz answered 500: [-]etcd failed: reason withheld");
    }
}
