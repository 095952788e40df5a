//! Join discovery against a live API server (§H.3, §H.4): fetching `kube-public/cluster-info` anonymously over
//! unverified TLS, checking it with [`kbinit_phases::discovery`], fetching it again with the CA now trusted, and
//! the `--discovery-file` variant (a path or an `https://` URL). Polls every 5 s (+0–30 % jitter) while the
//! endpoint is down or the token is not signed yet, until the discovery timeout, with `[discovery]` progress
//! lines; a refusal that waiting cannot cure stops at once with its own message.
//!
//! The token secret never appears in a line or an error: only the token id does.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kbinit_phases::api::ResourceType;
use kbinit_phases::discovery::{
    self, CLUSTER_INFO_NAME, CLUSTER_INFO_NAMESPACE, DiscoveryError, FileDiscovery, TrustedClusterInfo,
};
use kbinit_phases::go_format::duration::format_duration;
use kbinit_phases::kubeconfig::{UserAuth, kubeconfig_value};

use super::client::{CallError, Cluster};
use crate::output::Output;

/// How discovery polls.
#[derive(Debug, Clone, Copy)]
pub struct Polling {
    /// Give up after this long (`timeouts.discovery`, default 5m).
    pub timeout: Duration,
    /// Pause between attempts before jitter (kubeadm: 5 s).
    pub interval: Duration,
    /// Keep polling while cluster-info has no signature for the token (`false` for `join --check`, which
    /// answers at once).
    pub wait_for_signature: bool,
}

impl Polling {
    /// kubeadm's polling with the given timeout.
    pub fn new(timeout: Duration) -> Polling {
        Polling { timeout, interval: Duration::from_secs(5), wait_for_signature: true }
    }
}

/// One attempt's outcome.
enum Attempt<T> {
    /// Got it.
    Done(T),
    /// Worth another try; why this one failed.
    Retry(String),
    /// Waiting cannot help.
    Fail(anyhow::Error),
}

/// 0–30 % of `base`, from the system RNG.
fn jitter(base: Duration) -> Duration {
    let mut b = [0u8; 2];
    let _ = aws_lc_rs::rand::fill(&mut b);
    let frac = f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX) * 0.3;
    base.mul_f64(frac)
}

/// Calls `attempt` until it is done, fails for good, or `p.timeout` passes (then the last reason is the error).
fn poll<T>(what: &str, p: &Polling, out: &Output, mut attempt: impl FnMut() -> Attempt<T>) -> anyhow::Result<T> {
    let start = Instant::now();
    let mut last_said = String::new();
    loop {
        let why = match attempt() {
            Attempt::Done(v) => return Ok(v),
            Attempt::Fail(e) => return Err(e),
            Attempt::Retry(why) => why,
        };
        let waited = start.elapsed();
        let pause = p.interval + jitter(p.interval);
        if waited + pause > p.timeout {
            anyhow::bail!(
                "{why} (gave up {what} after {}, the discovery timeout; set timeouts.discovery in a v1beta4 \
                 JoinConfiguration to wait longer)",
                format_duration(waited)
            );
        }
        if why != last_said {
            out.say(&format!("[discovery] Failed {what}, will try again: {why}"));
            last_said = why;
        } else {
            out.say(&format!("[discovery] Still trying ({}s so far)", waited.as_secs()));
        }
        std::thread::sleep(pause);
    }
}

/// `https://host:port` from a discovery endpoint given as `host:port` (or already a URL).
pub fn endpoint_url(endpoint: &str) -> String {
    if endpoint.starts_with("https://") { endpoint.to_string() } else { format!("https://{endpoint}") }
}

/// A rustls error on a connection that skips certificate checks means the peer does not speak TLS (e.g. plain
/// HTTP on that port).
fn not_tls(text: &str) -> bool {
    text.contains("InvalidContentType") || text.contains("corrupt message") || text.contains("wrong version")
}

/// A certificate the pinned CA does not sign, or a name it does not cover.
fn cert_refused(text: &str) -> bool {
    text.contains("invalid peer certificate") || text.contains("UnknownIssuer") || text.contains("NotValidForName")
}

fn not_a_cluster(url: &str, answer: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{url} is not a Kubernetes API server: GET /api/v1/namespaces/kube-public/configmaps/cluster-info \
         answered {answer}; check the API server endpoint (host:port of a control-plane node or its load balancer)"
    )
}

/// Reads cluster-info once through `c`: the ConfigMap, `Ok(None)` when it does not exist, or what went wrong.
fn fetch(c: &Cluster, url: &str) -> Result<Option<ConfigMap>, Attempt<()>> {
    let res = ResourceType::of::<ConfigMap>();
    match c.get_once(&res, Some(CLUSTER_INFO_NAMESPACE), CLUSTER_INFO_NAME) {
        Ok(v) => {
            if v.get("kind").and_then(serde_json::Value::as_str) != Some("ConfigMap") {
                let text = v.to_string();
                let short: String = text.chars().take(120).collect();
                return Err(Attempt::Fail(not_a_cluster(url, &format!("HTTP 200 with {short:?}"))));
            }
            serde_json::from_value(v)
                .map(Some)
                .map_err(|e| Attempt::Fail(not_a_cluster(url, &format!("a ConfigMap that does not decode: {e}"))))
        }
        Err(e) if e.is_not_found() && matches!(&e, CallError::Status { reason, .. } if reason == "NotFound") => {
            Ok(None)
        }
        Err(CallError::Status { code, reason, message }) if reason == "Failed to parse error data" => {
            let short: String = message.chars().take(120).collect();
            Err(Attempt::Fail(not_a_cluster(url, &format!("HTTP {code} with {short:?}"))))
        }
        Err(e @ CallError::Status { code: 401 | 403, .. }) => Err(Attempt::Retry(format!(
            "the API server at {url} refuses anonymous reads of kube-public/cluster-info ({e}); the cluster's \
             kubeadm:bootstrap-signer-clusterinfo Role/RoleBinding (init phase bootstrap-token) allow them"
        ))),
        Err(e @ CallError::Status { .. }) => Err(Attempt::Retry(format!("{url} answered: {e}"))),
        Err(CallError::Transport(t)) if not_tls(&t) => {
            Err(Attempt::Fail(not_a_cluster(url, &format!("something that is not TLS ({t})"))))
        }
        Err(CallError::Transport(t)) => Err(Attempt::Retry(format!("cannot reach {url}: {t}"))),
    }
}

fn retype<T>(a: Attempt<()>) -> Attempt<T> {
    match a {
        Attempt::Done(()) => Attempt::Retry("no answer".into()),
        Attempt::Retry(s) => Attempt::Retry(s),
        Attempt::Fail(e) => Attempt::Fail(e),
    }
}

fn missing_cluster_info(url: &str) -> String {
    format!(
        "the API server at {url} has no kube-public/cluster-info ConfigMap (yet): it is written by `kbinit init` \
         (phase bootstrap-token)"
    )
}

/// A client without credentials for `url`, optionally trusting `ca_pem` (else not verifying TLS at all).
fn anonymous(url: &str, ca_pem: Option<&[u8]>, out: &Output) -> anyhow::Result<Cluster> {
    let per_call = Duration::from_secs(10);
    match ca_pem {
        None => {
            let uri: http::Uri = url.parse().map_err(|e| anyhow::anyhow!("bad API server endpoint {url:?}: {e}"))?;
            let mut config = kube::Config::new(uri);
            config.accept_invalid_certs = true;
            Ok(Cluster::from_kube_config(config, per_call)?.with_events(out))
        }
        Some(ca) => {
            let kc = kubeconfig_value("discovery", url, ca, "anonymous", UserAuth::None);
            Ok(Cluster::from_kubeconfig_text(&kbinit_phases::go_format::yaml::to_yaml(&kc), per_call)?.with_events(out))
        }
    }
}

/// Token discovery (§H.3): fetch cluster-info without verifying TLS, check signature, cluster and pins; then, when
/// pins were given, fetch it again trusting the CA just found and require the very same kubeconfig.
pub fn token_discovery(
    endpoint: &str,
    token: &str,
    pins: &[String],
    unsafe_skip_ca_verification: bool,
    p: &Polling,
    out: &Output,
) -> anyhow::Result<TrustedClusterInfo> {
    let (id, _) = discovery::split_token(token).map_err(|_| {
        anyhow::anyhow!(
            "the discovery token is not of the form [a-z0-9]{{6}}.[a-z0-9]{{16}}; `kbinit token create` on a \
             control-plane node prints a valid one"
        )
    })?;
    let url = endpoint_url(endpoint);
    if pins.is_empty() && unsafe_skip_ca_verification {
        out.warn(
            "[discovery] --discovery-token-unsafe-skip-ca-verification: the cluster CA is NOT pinned. Anyone able \
             to intercept traffic to this endpoint can impersonate the cluster and take over this node. Pass \
             --discovery-token-ca-cert-hash sha256:<hex> instead",
        );
    }
    out.say(&format!("[discovery] Requesting cluster-info from {url} (TLS not verified yet) with token id {id:?}"));
    let insecure = anonymous(&url, None, out)?;
    let trusted = poll("to get a trusted cluster-info", p, out, || match fetch(&insecure, &url) {
        Err(a) => retype(a),
        Ok(None) => Attempt::Retry(missing_cluster_info(&url)),
        Ok(Some(cm)) => match discovery::verify_cluster_info(&cm, token, pins, unsafe_skip_ca_verification) {
            Ok(t) => Attempt::Done(t),
            Err(e @ DiscoveryError::TokenNotFound { .. }) if p.wait_for_signature => Attempt::Retry(e.to_string()),
            Err(DiscoveryError::Input(_)) => Attempt::Fail(anyhow::anyhow!(
                "a --discovery-token-ca-cert-hash is not of the form sha256:<64 hex characters>"
            )),
            Err(e) => Attempt::Fail(e.into()),
        },
    })?;
    out.say(&format!(
        "[discovery] Cluster-info signature verified with token id {id:?}; its API server is {}",
        trusted.server
    ));
    if pins.is_empty() {
        out.say("[discovery] Not fetching cluster-info again: no CA pin to check it with (unsafe mode)");
        return Ok(trusted);
    }
    out.say(&format!(
        "[discovery] Cluster CA {} matches a pin; requesting cluster-info again from {url} with TLS verified by it",
        trusted.ca_hashes.join(", ")
    ));
    let pinned = anonymous(&url, Some(&trusted.ca_pem), out)?;
    poll("to fetch cluster-info again with the pinned CA", p, out, || match fetch(&pinned, &url) {
        Err(Attempt::Retry(why)) if cert_refused(&why) => Attempt::Fail(anyhow::anyhow!(
            "the API server at {url} presents a certificate that the pinned cluster CA ({}) does not accept for \
             this address, although the first fetch offered that CA: the server changed between the two fetches \
             or something between this node and {url} is impersonating it ({why})",
            trusted.ca_hashes.join(", ")
        )),
        Err(a) => retype(a),
        Ok(None) => Attempt::Retry(missing_cluster_info(&url)),
        Ok(Some(cm)) => match discovery::same_cluster_info(&trusted, &cm) {
            Ok(()) => Attempt::Done(()),
            Err(e) => Attempt::Fail(e.into()),
        },
    })?;
    out.say(&format!("[discovery] Successfully established connection with API Server {:?}", trusted.server));
    Ok(trusted)
}

/// Reads a `--discovery-file`: a local path (`file://` allowed) or an `https://` URL fetched with the system's
/// CAs. Plain `http://` is refused.
pub fn read_discovery_file(location: &str) -> anyhow::Result<String> {
    if let Some(path) = location.strip_prefix("file://") {
        return std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read the discovery file {path:?}: {e}"));
    }
    if location.starts_with("http://") {
        anyhow::bail!("the discovery file URL {location:?} is plain http: only https:// URLs are fetched");
    }
    if location.starts_with("https://") {
        let uri: http::Uri = location.parse().map_err(|e| anyhow::anyhow!("bad discovery URL {location:?}: {e}"))?;
        let base = format!("https://{}", uri.authority().map_or("", |a| a.as_str()));
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
        let base_uri: http::Uri = base.parse().map_err(|e| anyhow::anyhow!("bad discovery URL {location:?}: {e}"))?;
        let c = Cluster::from_kube_config(kube::Config::new(base_uri), Duration::from_secs(10))?;
        return c.get_text_once(&path).map_err(|e| anyhow::anyhow!("cannot fetch the discovery file {location}: {e}"));
    }
    std::fs::read_to_string(location).map_err(|e| anyhow::anyhow!("cannot read the discovery file {location:?}: {e}"))
}

/// File discovery (§H.4): the file's checks, then cluster-info read with the file's CA (403 accepted: the TLS
/// certificate is valid, which is what counts); a different server in cluster-info is only a warning.
pub fn file_discovery(location: &str, p: &Polling, out: &Output) -> anyhow::Result<FileDiscovery> {
    let text = read_discovery_file(location)?;
    let file = discovery::file_discovery(&text)?;
    let url = file.cluster.server.clone();
    out.say(&format!("[discovery] Using the discovery file {location:?}; checking its API server {url}"));
    let c = anonymous(&url, Some(&file.cluster.ca_pem), out)?;
    let warning = poll("to validate the discovery file's API server", p, out, || match fetch(&c, &url) {
        Ok(Some(cm)) => Attempt::Done(discovery::file_cluster_info_warning(&file, &cm)),
        Ok(None) => Attempt::Retry(missing_cluster_info(&url)),
        Err(Attempt::Retry(why)) if why.contains("refuses anonymous") => Attempt::Done(None),
        Err(Attempt::Retry(why)) if cert_refused(&why) => Attempt::Fail(anyhow::anyhow!(
            "the API server at {url} presents a certificate that the discovery file's CA does not accept for this \
             address: wrong discovery file, or something is impersonating the server ({why})"
        )),
        Err(a) => retype(a),
    })?;
    if let Some(w) = warning {
        out.warn(&w);
    }
    Ok(file)
}
