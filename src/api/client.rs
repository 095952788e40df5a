//! A blocking client for one API server, built only from an explicit kubeconfig (never the ambient
//! `KUBECONFIG`): raw REST calls on typed objects' coordinates, with retries on connection errors, 429 and 5xx
//! until the per-call deadline, and errors that say which call failed and what the server answered.

use std::path::Path;
use std::time::{Duration, Instant};

use http::{Method, Request};
use kbinit_phases::api::ResourceType;
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::Value;

use crate::events::{ApiOutcome, Event};
use crate::output::Output;

/// What went wrong with one call: the server's answer (status code, reason, message) or no answer at all.
#[derive(Debug)]
pub enum CallError {
    /// The server answered with an error status.
    Status {
        /// HTTP status code.
        code: u16,
        /// `reason` of the Status body (e.g. `AlreadyExists`, `Conflict`, `Forbidden`).
        reason: String,
        /// `message` of the Status body.
        message: String,
    },
    /// No usable answer (connection refused, TLS failure, timeout, undecodable body).
    Transport(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Status { code, reason, message } if message.is_empty() => write!(f, "HTTP {code} {reason}"),
            CallError::Status { code, reason, message } => write!(f, "{message} (HTTP {code} {reason})"),
            CallError::Transport(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for CallError {}

impl CallError {
    /// The HTTP status code, if the server answered.
    pub fn code(&self) -> Option<u16> {
        match self {
            CallError::Status { code, .. } => Some(*code),
            CallError::Transport(_) => None,
        }
    }
    /// `true` for 404.
    pub fn is_not_found(&self) -> bool {
        self.code() == Some(404)
    }
    /// `true` for 409 with reason AlreadyExists.
    pub fn is_already_exists(&self) -> bool {
        matches!(self, CallError::Status { code: 409, reason, .. } if reason == "AlreadyExists")
    }
    /// `true` for 422 Invalid. A real API server answers a create this way when the object exists but the new one
    /// cannot be admitted as a second copy: a Service whose cluster IP is already allocated (to the existing
    /// Service of that name) is refused as invalid before the name is compared.
    pub fn is_invalid(&self) -> bool {
        self.code() == Some(422)
    }
    /// `true` for 409 Conflict (a stale resourceVersion).
    pub fn is_conflict(&self) -> bool {
        matches!(self, CallError::Status { code: 409, reason, .. } if reason != "AlreadyExists")
    }
    /// `true` when trying again may help: no answer, 429, or a 5xx.
    pub fn is_transient(&self) -> bool {
        match self {
            CallError::Transport(_) => true,
            CallError::Status { code, .. } => *code == 429 || *code >= 500,
        }
    }
}

/// Content types of PATCH bodies.
#[derive(Debug, Clone, Copy)]
pub enum PatchType {
    /// `application/strategic-merge-patch+json` (what kubeadm sends for Nodes).
    StrategicMerge,
    /// `application/merge-patch+json`.
    Merge,
}

/// A connection to one API server with one identity. With [`Cluster::with_events`] every call on a resource is
/// reported as an `api` event (`--output jsonl`), wherever in kbinit it is made.
pub struct Cluster {
    rt: tokio::runtime::Runtime,
    client: kube::Client,
    events: Option<Output>,
    /// The server URL, for messages.
    pub server: String,
    /// How long one call may keep retrying.
    pub call_timeout: Duration,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("server", &self.server).finish_non_exhaustive()
    }
}

impl Cluster {
    /// Connects with the kubeconfig at `file` (a path on the host, already resolved under the root).
    pub fn from_kubeconfig_file(file: &Path, call_timeout: Duration) -> anyhow::Result<Cluster> {
        let text = std::fs::read_to_string(file)
            .map_err(|e| anyhow::anyhow!("cannot read the kubeconfig {}: {e}", file.display()))?;
        Cluster::from_kubeconfig_text(&text, call_timeout)
            .map_err(|e| anyhow::anyhow!("kubeconfig {}: {e:#}", file.display()))
    }

    /// Connects with a kubeconfig given as text.
    pub fn from_kubeconfig_text(text: &str, call_timeout: Duration) -> anyhow::Result<Cluster> {
        let kubeconfig = Kubeconfig::from_yaml(text).map_err(|e| anyhow::anyhow!("not a valid kubeconfig: {e}"))?;
        let rt = runtime()?;
        let config = rt
            .block_on(kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Cluster::from_config(rt, config, call_timeout)
    }

    /// Connects with the kubeconfig at `file`'s credentials and CA, to `server` instead of the server it names
    /// when one is given: kubeadm's way of asking this node's own API server (the local API endpoint) with
    /// admin.conf, whatever the control-plane endpoint (a load balancer not up yet, another node's server) would
    /// answer.
    pub fn from_kubeconfig_file_at(
        file: &Path,
        server: Option<&str>,
        call_timeout: Duration,
    ) -> anyhow::Result<Cluster> {
        let Some(server) = server else { return Cluster::from_kubeconfig_file(file, call_timeout) };
        let text = std::fs::read_to_string(file)
            .map_err(|e| anyhow::anyhow!("cannot read the kubeconfig {}: {e}", file.display()))?;
        let kubeconfig = Kubeconfig::from_yaml(&text)
            .map_err(|e| anyhow::anyhow!("kubeconfig {}: not a valid kubeconfig: {e}", file.display()))?;
        let rt = runtime()?;
        let mut config = rt
            .block_on(kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()))
            .map_err(|e| anyhow::anyhow!("kubeconfig {}: {e}", file.display()))?;
        config.cluster_url = server.parse().map_err(|e| anyhow::anyhow!("bad API server URL {server}: {e}"))?;
        Cluster::from_config(rt, config, call_timeout)
    }

    /// Connects with an explicit kube config (used for token and anonymous access).
    pub fn from_kube_config(config: kube::Config, call_timeout: Duration) -> anyhow::Result<Cluster> {
        Cluster::from_config(runtime()?, config, call_timeout)
    }

    fn from_config(
        rt: tokio::runtime::Runtime,
        mut config: kube::Config,
        call_timeout: Duration,
    ) -> anyhow::Result<Cluster> {
        config.connect_timeout = Some(Duration::from_secs(10));
        config.read_timeout = Some(Duration::from_secs(30));
        config.proxy_url = None;
        let server = config.cluster_url.to_string().trim_end_matches('/').to_string();
        let client = {
            let _guard = rt.enter();
            kube::Client::try_from(config).map_err(|e| anyhow::anyhow!("cannot build a client for {server}: {e}"))?
        };
        Ok(Cluster { rt, client, server, call_timeout, events: None })
    }

    /// Reports every resource call of this client as an `api` event on `out`.
    pub fn with_events(mut self, out: &Output) -> Cluster {
        self.events = Some(out.clone());
        self
    }

    /// Emits the `api` event of one call on a resource (a 404 GET is `not-found`).
    fn record<T>(
        &self,
        verb: &str,
        resource: &ResourceType,
        namespace: Option<&str>,
        name: Option<&str>,
        result: &Result<T, CallError>,
    ) {
        let Some(out) = &self.events else { return };
        let outcome = match result {
            Ok(_) => ApiOutcome::Ok,
            Err(CallError::Status { code, reason, .. }) => ApiOutcome::Failed { code: Some(*code), reason },
            Err(CallError::Transport(_)) => ApiOutcome::Failed { code: None, reason: "no answer" },
        };
        let namespace = namespace.filter(|_| resource.namespaced);
        out.event(&Event::Api { verb, resource: resource.plural, group: resource.group, namespace, name, outcome });
    }

    /// One request, no retries: the body as JSON (or `Value::Null` for an empty body).
    pub fn call_once(&self, method: Method, path: &str, body: Option<(&str, Vec<u8>)>) -> Result<Value, CallError> {
        let mut req = Request::builder().method(method).uri(path).header("Accept", "application/json");
        let bytes = match body {
            Some((content_type, bytes)) => {
                req = req.header("Content-Type", content_type);
                bytes
            }
            None => Vec::new(),
        };
        let req = req.body(bytes).map_err(|e| CallError::Transport(format!("building the request: {e}")))?;
        let text = self.rt.block_on(self.client.request_text(req)).map_err(to_call_error)?;
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).or(Ok(Value::String(text)))
    }

    /// One request, retried with backoff while the failure is transient and the call deadline has not passed.
    pub fn call(&self, method: Method, path: &str, body: Option<(&str, Vec<u8>)>) -> Result<Value, CallError> {
        let deadline = Instant::now() + self.call_timeout;
        let mut pause = Duration::from_millis(200);
        loop {
            match self.call_once(method.clone(), path, body.clone()) {
                Err(e) if e.is_transient() && Instant::now() + pause < deadline => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
                other => return other,
            }
        }
    }

    /// GET one object; `Ok(None)` when it does not exist.
    pub fn get(
        &self,
        resource: &ResourceType,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, CallError> {
        let r = self.call(Method::GET, &resource.item_path(namespace, name), None);
        self.record("GET", resource, namespace, Some(name), &r);
        match r {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// GET one object once, without retries, the error kept as the server gave it (discovery decides itself what
    /// a 404 or a refusal means and when to try again).
    pub fn get_once(&self, resource: &ResourceType, namespace: Option<&str>, name: &str) -> Result<Value, CallError> {
        let r = self.call_once(Method::GET, &resource.item_path(namespace, name), None);
        self.record("GET", resource, namespace, Some(name), &r);
        r
    }

    /// LIST objects, optionally filtered (`labelSelector=…`, `fieldSelector=…` already encoded).
    pub fn list(&self, resource: &ResourceType, namespace: Option<&str>, query: &str) -> Result<Vec<Value>, CallError> {
        let mut path = resource.collection_path(namespace);
        if !query.is_empty() {
            path = format!("{path}?{query}");
        }
        let list = self.call(Method::GET, &path, None);
        self.record("LIST", resource, namespace, None, &list);
        Ok(list?.get("items").and_then(Value::as_array).cloned().unwrap_or_default())
    }

    /// POST a new object.
    pub fn create(&self, resource: &ResourceType, namespace: Option<&str>, body: &Value) -> Result<Value, CallError> {
        let r =
            self.call(Method::POST, &resource.collection_path(namespace), Some(("application/json", json_bytes(body))));
        self.record("CREATE", resource, namespace, body.pointer("/metadata/name").and_then(Value::as_str), &r);
        r
    }

    /// PUT over an existing object.
    pub fn replace(
        &self,
        resource: &ResourceType,
        namespace: Option<&str>,
        name: &str,
        body: &Value,
    ) -> Result<Value, CallError> {
        let r =
            self.call(Method::PUT, &resource.item_path(namespace, name), Some(("application/json", json_bytes(body))));
        self.record("UPDATE", resource, namespace, Some(name), &r);
        r
    }

    /// PATCH an object.
    pub fn patch(
        &self,
        resource: &ResourceType,
        namespace: Option<&str>,
        name: &str,
        kind: PatchType,
        patch: &Value,
    ) -> Result<Value, CallError> {
        let content_type = match kind {
            PatchType::StrategicMerge => "application/strategic-merge-patch+json",
            PatchType::Merge => "application/merge-patch+json",
        };
        let r = self.call(Method::PATCH, &resource.item_path(namespace, name), Some((content_type, json_bytes(patch))));
        self.record("PATCH", resource, namespace, Some(name), &r);
        r
    }

    /// DELETE an object; `Ok(false)` when it was not there.
    pub fn delete(&self, resource: &ResourceType, namespace: Option<&str>, name: &str) -> Result<bool, CallError> {
        let r = self.call(Method::DELETE, &resource.item_path(namespace, name), None);
        self.record("DELETE", resource, namespace, Some(name), &r);
        match r {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// GET a non-resource path (`/healthz`, `/livez`, `/version`) once: the body text, or why not.
    pub fn get_text_once(&self, path: &str) -> Result<String, CallError> {
        let req = Request::builder()
            .method(Method::GET)
            .uri(path)
            .body(Vec::new())
            .map_err(|e| CallError::Transport(format!("building the request: {e}")))?;
        self.rt.block_on(self.client.request_text(req)).map_err(to_call_error)
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the I/O runtime: {e}"))
}

fn json_bytes(v: &Value) -> Vec<u8> {
    // serializing a Value cannot fail
    serde_json::to_vec(v).unwrap_or_default()
}

fn to_call_error(e: kube::Error) -> CallError {
    match e {
        kube::Error::Api(s) => CallError::Status { code: s.code, reason: s.reason.clone(), message: s.message.clone() },
        other => {
            // walk the source chain: "connection refused" is several levels down
            let mut text = other.to_string();
            let mut src = std::error::Error::source(&other);
            while let Some(s) = src {
                let t = s.to_string();
                if !text.contains(&t) {
                    text = format!("{text}: {t}");
                }
                src = s.source();
            }
            CallError::Transport(text)
        }
    }
}
