//! Learning the kube-apiservers from the cluster: the EndpointSlices of the `kubernetes` Service in `default`
//! (label `kubernetes.io/service-name=kubernetes`), which every kube-apiserver's endpoint reconciler keeps at
//! its advertise address with the port named `https`. They are listed and then watched through the proxy itself
//! (the kubeconfig given points at 127.0.0.1:PORT), so the proxy needs no other route to the API.
//!
//! A slice that does not parse, an address that is not an IP, an endpoint that is not ready: each is skipped
//! with a note, never a crash. When the watch is refused or breaks, the list is fetched again after a pause,
//! so a server without watch support is polled.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::TryStreamExt;
use kube::core::WatchEvent;
use serde_json::Value;

use super::Log;
use super::balancer::Balancer;
use kbinit_phases::api_server_proxy::TLS_SERVER_NAME;

/// The list path of the `kubernetes` Service's EndpointSlices.
pub const SLICES_PATH: &str = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dkubernetes";

/// The API server addresses one EndpointSlice names, and what in it was unusable.
pub fn slice_addresses(slice: &Value) -> (Vec<SocketAddr>, Vec<String>) {
    let mut notes = Vec::new();
    let name = slice.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("<unnamed>");
    let kind = slice.get("addressType").and_then(Value::as_str).unwrap_or("");
    if kind != "IPv4" && kind != "IPv6" {
        notes.push(format!("EndpointSlice {name}: addressType {kind:?} is not IPv4 or IPv6"));
        return (Vec::new(), notes);
    }
    let ports: Vec<&Value> =
        slice.get("ports").and_then(Value::as_array).map(|p| p.iter().collect()).unwrap_or_default();
    let port = ports
        .iter()
        .find(|p| p.get("name").and_then(Value::as_str) == Some("https"))
        .or_else(|| ports.first().filter(|_| ports.len() == 1))
        .and_then(|p| p.get("port").and_then(Value::as_u64))
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p != 0);
    let Some(port) = port else {
        notes.push(format!("EndpointSlice {name}: no usable port named https"));
        return (Vec::new(), notes);
    };
    let mut addrs = Vec::new();
    for ep in slice.get("endpoints").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
        if ep.pointer("/conditions/ready").and_then(Value::as_bool) == Some(false) {
            continue;
        }
        for a in ep.get("addresses").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
            match a.as_str().and_then(|s| s.parse::<IpAddr>().ok()) {
                Some(ip) => addrs.push(SocketAddr::new(ip, port)),
                None => notes.push(format!("EndpointSlice {name}: address {a} is not an IP")),
            }
        }
    }
    (addrs, notes)
}

/// The sorted, de-duplicated addresses of a set of slices.
pub fn merge(slices: &BTreeMap<String, Vec<SocketAddr>>) -> Vec<SocketAddr> {
    let mut all: Vec<SocketAddr> = slices.values().flatten().copied().collect();
    all.sort();
    all.dedup();
    all
}

/// What is done with every new list of API servers.
pub type OnList = Box<dyn Fn(&[SocketAddr]) + Send + Sync>;

/// Where discovery reads its identity and what it does with a new list.
pub struct Discovery {
    /// Kubeconfigs to try in order (the kubelet's, then its bootstrap one); the first that exists is used.
    pub kubeconfigs: Vec<PathBuf>,
    /// The backend table to update.
    pub balancer: Arc<Balancer>,
    /// Called with every new non-empty list (to write the cache).
    pub on_list: OnList,
    /// Log lines.
    pub log: Log,
    /// Pause before listing again after a failure or a broken watch.
    pub retry: Duration,
}

impl Discovery {
    /// Lists and watches forever.
    pub async fn run(self) {
        let mut last_error = String::new();
        loop {
            if let Err(e) = self.list_and_watch().await
                && e != last_error
            {
                (self.log)(&format!("discovery: {e}; retrying every {} s", self.retry.as_secs_f32()));
                last_error = e;
            }
            tokio::time::sleep(self.retry).await;
        }
    }

    async fn client(&self) -> Result<kube::Client, String> {
        let path = self.kubeconfigs.iter().find(|p| p.exists()).ok_or_else(|| {
            let names: Vec<String> = self.kubeconfigs.iter().map(|p| p.display().to_string()).collect();
            format!("no kubeconfig yet (looked for {})", names.join(", "))
        })?;
        let kc = kube::config::Kubeconfig::read_from(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut config = kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await
            .map_err(|e| format!("{}: {e}", path.display()))?;
        // a kubelet.conf the kubelet rewrote after its TLS bootstrap lost tls-server-name (until kbinit puts it
        // back): through the local proxy the server is verified by the name every serving cert carries
        if config.tls_server_name.is_none() && config.cluster_url.host().is_some_and(|h| h == "127.0.0.1") {
            config.tls_server_name = Some(TLS_SERVER_NAME.to_string());
        }
        config.connect_timeout = Some(Duration::from_secs(3));
        config.read_timeout = Some(Duration::from_secs(90));
        config.proxy_url = None;
        kube::Client::try_from(config).map_err(|e| format!("{}: {e}", path.display()))
    }

    fn apply(&self, slices: &BTreeMap<String, Vec<SocketAddr>>) {
        let list = merge(slices);
        if list.is_empty() {
            return;
        }
        let changes = self.balancer.set_members(&list);
        for c in &changes {
            (self.log)(&c.to_string());
        }
        if !changes.is_empty() {
            (self.on_list)(&list);
        }
    }

    fn add_slice(&self, slices: &mut BTreeMap<String, Vec<SocketAddr>>, slice: &Value) {
        let Some(name) = slice.pointer("/metadata/name").and_then(Value::as_str) else {
            return (self.log)("discovery: skipping an EndpointSlice without a name");
        };
        let (addrs, notes) = slice_addresses(slice);
        notes.iter().for_each(|n| (self.log)(&format!("discovery: skipping {n}")));
        slices.insert(name.to_string(), addrs);
    }

    async fn list_and_watch(&self) -> Result<(), String> {
        let client = self.client().await?;
        let req = http::Request::get(SLICES_PATH).body(Vec::new()).map_err(|e| e.to_string())?;
        let text = client.request_text(req).await.map_err(|e| format!("listing EndpointSlices: {e}"))?;
        let list: Value = serde_json::from_str(&text).map_err(|e| format!("EndpointSlice list is not JSON: {e}"))?;
        let mut slices = BTreeMap::new();
        for item in list.get("items").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
            self.add_slice(&mut slices, item);
        }
        self.apply(&slices);
        let rv = list.pointer("/metadata/resourceVersion").and_then(Value::as_str).unwrap_or("0");
        let path = format!("{SLICES_PATH}&watch=1&timeoutSeconds=60&resourceVersion={rv}");
        let req = http::Request::get(path).body(Vec::new()).map_err(|e| e.to_string())?;
        let events = client.request_events::<Value>(req).await.map_err(|e| format!("watching EndpointSlices: {e}"))?;
        futures_util::pin_mut!(events);
        loop {
            match events.try_next().await {
                Ok(Some(WatchEvent::Added(s) | WatchEvent::Modified(s))) => self.add_slice(&mut slices, &s),
                Ok(Some(WatchEvent::Deleted(s))) => {
                    if let Some(name) = s.pointer("/metadata/name").and_then(Value::as_str) {
                        slices.remove(name);
                    }
                }
                Ok(Some(WatchEvent::Bookmark(_))) => continue,
                Ok(Some(WatchEvent::Error(status))) => return Err(format!("watch ended: {}", status.message)),
                Ok(None) => return Ok(()),
                Err(e) => return Err(format!("watch broke: {e}")),
            }
            self.apply(&slices);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_reconciler_slice_and_skips_garbage() {
        let good = json!({"metadata": {"name": "kubernetes"}, "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.0.0.1"], "conditions": {"ready": true}}, {"addresses": ["10.0.0.2"]},
                          {"addresses": ["10.0.0.3"], "conditions": {"ready": false}}],
            "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]});
        let (addrs, notes) = slice_addresses(&good);
        assert_eq!(addrs, vec!["10.0.0.1:6443".parse().unwrap(), "10.0.0.2:6443".parse().unwrap()]);
        assert!(notes.is_empty());
        for bad in [
            json!({"metadata": {"name": "x"}, "addressType": "FQDN", "endpoints": [], "ports": []}),
            json!({"metadata": {"name": "x"}, "addressType": "IPv4", "endpoints": [{"addresses": ["cp1"]}], "ports": [{"name": "https", "port": 6443}]}),
            json!({"metadata": {"name": "x"}, "addressType": "IPv4", "endpoints": "nope", "ports": [{"port": 70000}]}),
            json!("not an object"),
            json!({"addressType": "IPv6", "endpoints": [{"addresses": [7]}], "ports": [{"name": "https", "port": 6443}]}),
        ] {
            let (addrs, notes) = slice_addresses(&bad);
            assert!(addrs.is_empty(), "{bad}");
            assert!(!notes.is_empty(), "{bad}: a skipped part is reported");
        }
    }
}
