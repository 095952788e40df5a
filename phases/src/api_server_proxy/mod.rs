//! The node-local API server proxy's planner side (issue 11, HA without a load balancer): kbinit's own settings
//! document, the ConfigMap that records it in the cluster, the kubeconfig changes that send the kubelet and
//! kube-proxy through 127.0.0.1:PORT, and the systemd unit that supervises `kbinit api-server-proxy run`.
//!
//! | module | holds |
//! |---|---|
//! | this | [`ApiServerProxySettings`] and its document `kbinit.io/v1alpha1` `ApiServerProxyConfiguration` |
//! | [`config_map`] | the `kube-system/kbinit-api-server-proxy` ConfigMap, its RBAC, the EndpointSlice read grant |
//! | [`node`] | kubeconfig rewrites (server + `tls-server-name`), the unit file, install/uninstall file plans |
//!
//! kubeadm ignores a document of a group it does not know (it warns "Ignored YAML document with
//! GroupVersionKind …" and goes on; kbinit's loader does the same for other groups), so a config file holding
//! this document still works with kubeadm.

pub mod config_map;
pub mod node;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Error;

/// `apiVersion` of kbinit's own documents.
pub const API_VERSION: &str = "kbinit.io/v1alpha1";
/// `kind` of the proxy settings document.
pub const KIND: &str = "ApiServerProxyConfiguration";
/// The proxy's default port (Talos' KubePrism uses the same; nothing in Kubernetes does).
pub const DEFAULT_PORT: u16 = 7445;
/// The name every kube-apiserver serving certificate kubeadm (and kbinit) issues carries: clients going through
/// the proxy verify the server as this name (`tls-server-name`), so no certificate needs 127.0.0.1.
pub const TLS_SERVER_NAME: &str = "kubernetes";

/// The cluster-wide proxy setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiServerProxySettings {
    /// The port on 127.0.0.1 every node's proxy listens on.
    pub port: u16,
}

impl Default for ApiServerProxySettings {
    fn default() -> ApiServerProxySettings {
        ApiServerProxySettings { port: DEFAULT_PORT }
    }
}

/// The document as written; unknown fields are refused.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Document {
    api_version: String,
    kind: String,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    port: Option<u16>,
}

fn yes() -> bool {
    true
}

/// Every field path of the `ApiServerProxyConfiguration` document but `apiVersion`/`kind`, from its wire type (see
/// [`crate::config::fields`]).
pub fn field_paths() -> Result<Vec<String>, crate::config::fields::TraceError> {
    let all = crate::config::fields::field_paths::<Document>()?;
    Ok(all.into_iter().filter(|p| p != "apiVersion" && p != "kind").collect())
}

/// `true` for the `apiVersion`/`kind` of this document (the config loader lets it through).
pub fn is_settings_document(api_version: &str, kind: &str) -> bool {
    api_version == API_VERSION && kind == KIND
}

/// Decodes one `ApiServerProxyConfiguration` document: `None` when it says `enabled: false`. A wrong field,
/// a port of 0 or a port Kubernetes uses is refused as invalid input.
pub fn from_document(doc: &Value) -> Result<Option<ApiServerProxySettings>, Error> {
    let d: Document =
        serde_json::from_value(doc.clone()).map_err(|e| Error::invalid(KIND, doc.to_string(), e.to_string()))?;
    if !is_settings_document(&d.api_version, &d.kind) {
        return Err(Error::invalid(
            "kind",
            format!("{}, Kind={}", d.api_version, d.kind),
            format!("expected {API_VERSION} {KIND}"),
        ));
    }
    let port = d.port.unwrap_or(DEFAULT_PORT);
    validate_port(port)?;
    Ok(d.enabled.then_some(ApiServerProxySettings { port }))
}

/// Ports the proxy may not take: 0, and the ports of the API server, etcd, the kubelet and the control-plane
/// components on a kubeadm node.
pub fn validate_port(port: u16) -> Result<(), Error> {
    const TAKEN: [u16; 6] = [6443, 2379, 2380, 10250, 10257, 10259];
    if port == 0 || TAKEN.contains(&port) {
        return Err(Error::invalid(
            format!("{KIND}.port"),
            port.to_string(),
            "must be a free port from 1 to 65535, not one of 6443, 2379, 2380, 10250, 10257, 10259",
        ));
    }
    Ok(())
}

/// The settings from a whole `--config` file: the `ApiServerProxyConfiguration` document if there is one
/// (at most one). Other documents are left to the configuration loader.
pub fn from_config_text(text: &str) -> Result<Option<Option<ApiServerProxySettings>>, Error> {
    let mut found = None;
    for doc in crate::go_format::yaml::documents(text)? {
        let api = doc.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
        if api.starts_with("kbinit.io/") || kind == KIND {
            if found.is_some() {
                return Err(Error::invalid("kind", KIND, format!("duplicate {KIND} document: give it at most once")));
            }
            found = Some(from_document(&doc)?);
        }
    }
    Ok(found)
}

/// The document text for `settings` (what the ConfigMap stores and `--config` accepts).
pub fn document(settings: &ApiServerProxySettings) -> String {
    let doc = serde_json::json!({"apiVersion": API_VERSION, "kind": KIND, "enabled": true, "port": settings.port});
    crate::go_format::yaml::to_yaml(&doc)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn document_round_trip_and_defaults() {
        let s = ApiServerProxySettings { port: 7446 };
        let doc = crate::go_format::yaml::from_yaml(&document(&s)).unwrap();
        assert_eq!(from_document(&doc).unwrap(), Some(s));
        let text = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n---\napiVersion: kbinit.io/v1alpha1\nkind: ApiServerProxyConfiguration\n";
        assert_eq!(from_config_text(text).unwrap(), Some(Some(ApiServerProxySettings::default())));
        let off = "apiVersion: kbinit.io/v1alpha1\nkind: ApiServerProxyConfiguration\nenabled: false\n";
        assert_eq!(from_config_text(off).unwrap(), Some(None));
        assert_eq!(from_config_text("apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n").unwrap(), None);
    }

    #[test]
    fn wrong_fields_and_ports_are_refused() {
        for (text, needle) in [
            ("apiVersion: kbinit.io/v1alpha1\nkind: ApiServerProxyConfiguration\nprot: 7445\n", "unknown field `prot`"),
            ("apiVersion: kbinit.io/v1alpha1\nkind: ApiServerProxyConfiguration\nport: 6443\n", "must be a free port"),
            ("apiVersion: kbinit.io/v1alpha1\nkind: ApiServerProxyConfiguration\nport: 70000\n", "u16"),
            ("apiVersion: kbinit.io/v1alpha1\nkind: ApiServerProxyConfiguration\nport: \"x\"\n", "invalid type"),
            ("apiVersion: kbinit.io/v1beta9\nkind: ApiServerProxyConfiguration\n", "expected kbinit.io/v1alpha1"),
            (
                "apiVersion: kbinit.io/v1alpha1\nkind: ApiServerProxyConfiguration\n---\napiVersion: kbinit.io/v1alpha1\nkind: ApiServerProxyConfiguration\n",
                "duplicate",
            ),
        ] {
            let err = from_config_text(text).unwrap_err();
            assert!(err.is_invalid_input(), "{err}");
            assert!(err.to_string().contains(needle), "{text}: {err}");
        }
    }
}
