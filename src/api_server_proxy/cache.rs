//! The proxy's files on the node: the last known API server list (so the proxy comes up while the API is
//! unreachable) and the status snapshot `kbinit api-server-proxy status` reads. Both are small JSON documents
//! written atomically; a damaged cache is reported with its path and why, never a crash.

use std::net::SocketAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::balancer::BackendView;

/// `apiVersion` of kbinit's own proxy documents.
pub const API_VERSION: &str = "kbinit.io/v1alpha1";
/// `kind` of the cached endpoint list.
pub const ENDPOINTS_KIND: &str = "ApiServerProxyEndpoints";

/// The cached endpoint list on disk.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EndpointsFile {
    api_version: String,
    kind: String,
    endpoints: Vec<String>,
}

/// Reads the cached API server list. `Ok(None)` when there is no cache yet; `Err` names the file and the
/// problem (not JSON, another kind, an endpoint that is not `ip:port`).
pub fn load(path: &Path) -> Result<Option<Vec<SocketAddr>>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read the cached API server list {}: {e}", path.display())),
    };
    parse(&text).map(Some).map_err(|e| format!("the cached API server list {} is malformed: {e}", path.display()))
}

/// Parses the cache document.
pub fn parse(text: &str) -> Result<Vec<SocketAddr>, String> {
    let doc: EndpointsFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if doc.api_version != API_VERSION || doc.kind != ENDPOINTS_KIND {
        return Err(format!(
            "expected apiVersion {API_VERSION} kind {ENDPOINTS_KIND}, got {} {}",
            doc.api_version, doc.kind
        ));
    }
    doc.endpoints
        .iter()
        .map(|e| e.parse::<SocketAddr>().map_err(|_| format!("endpoint {e:?} is not an ip:port address")))
        .collect()
}

/// The cache document for `addrs`.
pub fn render(addrs: &[SocketAddr]) -> String {
    let doc = EndpointsFile {
        api_version: API_VERSION.into(),
        kind: ENDPOINTS_KIND.into(),
        endpoints: addrs.iter().map(|a| a.to_string()).collect(),
    };
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

/// Writes the cache atomically (0644: addresses only, nothing secret).
pub fn save(path: &Path, addrs: &[SocketAddr]) -> std::io::Result<()> {
    crate::host::write_atomic(path, render(addrs).as_bytes(), 0o644)
}

/// What the running proxy last reported about itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// Where it listens.
    pub listen: String,
    /// Its process id.
    pub pid: u32,
    /// When this snapshot was written (seconds since the epoch).
    pub updated: u64,
    /// Where the backend list comes from now (`cache`, `seed`, `discovery`).
    pub source: String,
    /// The backends.
    pub backends: Vec<BackendView>,
}

/// Writes the status snapshot atomically.
pub fn save_status(path: &Path, status: &Status) -> std::io::Result<()> {
    let text = serde_json::to_vec_pretty(status).map_err(std::io::Error::other)?;
    crate::host::write_atomic(path, &text, 0o644)
}

/// Reads the status snapshot.
pub fn load_status(path: &Path) -> Result<Status, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is malformed: {e}", path.display()))
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // fixtures are written directly
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("endpoints.json");
        assert_eq!(load(&path).unwrap(), None);
        let addrs: Vec<SocketAddr> = vec!["10.0.0.1:6443".parse().unwrap(), "[fd00::2]:6443".parse().unwrap()];
        save(&path, &addrs).unwrap();
        assert_eq!(load(&path).unwrap(), Some(addrs));
    }

    #[test]
    fn malformed_cache_says_which_file_and_why() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("endpoints.json");
        for (text, why) in [
            ("{not json", "key must be a string"),
            (r#"{"apiVersion":"v1","kind":"ConfigMap","endpoints":[]}"#, "expected apiVersion kbinit.io/v1alpha1"),
            (
                r#"{"apiVersion":"kbinit.io/v1alpha1","kind":"ApiServerProxyEndpoints","endpoints":["cp1"]}"#,
                "\"cp1\" is not an ip:port",
            ),
            (
                r#"{"apiVersion":"kbinit.io/v1alpha1","kind":"ApiServerProxyEndpoints","endpoint":[]}"#,
                "unknown field `endpoint`",
            ),
        ] {
            std::fs::write(&path, text).unwrap();
            let err = load(&path).unwrap_err();
            assert!(
                err.contains(&path.display().to_string()) && err.contains("malformed") && err.contains(why),
                "{err}"
            );
        }
    }
}
