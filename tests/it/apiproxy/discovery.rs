//! Discovery against the fake API server: the proxy, started knowing one server, learns the others from the
//! `kubernetes` Service's EndpointSlices read through itself (a kube client with tls-server-name `kubernetes`
//! on 127.0.0.1), takes in a server added later through its watch without a restart, drops a removed one, and
//! skips a malformed slice.
//!
//! fake-api: the `kubernetes` EndpointSlices written, changed and made malformed at chosen moments: on a real server
//! its lease reconciler owns that slice and validation refuses a non-IP address (the real slice is `realk8s::proxy`).

use std::net::SocketAddr;
use std::time::Duration;

use kube::config::Kubeconfig;
use serde_json::{Value, json};

use super::{config, eventually, log};
use crate::support::fakeapi::testkit;
use kbinit::api_server_proxy::Proxy;

fn slice(name: &str, kind: &str, addresses: &[&str], port: u16) -> Value {
    json!({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": name, "namespace": "default", "labels": {"kubernetes.io/service-name": "kubernetes"}},
        "addressType": kind,
        "endpoints": addresses.iter().map(|a| json!({"addresses": [a], "conditions": {"ready": true}})).collect::<Vec<_>>(),
        "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learns_api_servers_from_endpointslices_through_itself() {
    let cluster = testkit::cluster();
    let tls = testkit::serving_tls(&cluster.node);
    let second = cluster.api.serve("127.0.0.1:0".parse().unwrap(), tls.clone());
    let third = cluster.api.serve("127.0.0.1:0".parse().unwrap(), tls);
    let port = |a: SocketAddr| a.port();
    cluster.api.insert(slice("kubernetes", "IPv4", &["127.0.0.1"], port(cluster.listener.addr())));
    cluster.api.insert(slice("kubernetes-b", "IPv4", &["127.0.0.1"], port(second.addr())));
    cluster.api.insert(slice("kubernetes-bad", "FQDN", &["cp9.example"], 6443));

    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubelet.conf");
    let mut cfg = config(dir.path(), vec![cluster.listener.addr()]);
    cfg.kubeconfigs = vec![kubeconfig.clone()];
    // a long pause before listing again: what changes during the test can only arrive through the watch
    cfg.discovery_retry = Duration::from_secs(120);
    let (log, lines) = log();
    let proxy = Proxy::bind(cfg, log).await.unwrap();
    // the kubelet's kubeconfig as kbinit writes it with the proxy on: the proxy's address, the API server's name
    let mut kc = Kubeconfig::read_from(cluster.node.path("/etc/kubernetes/admin.conf")).unwrap();
    let c = kc.clusters[0].cluster.as_mut().unwrap();
    c.server = Some(format!("https://{}", proxy.local_addr().unwrap()));
    c.tls_server_name = Some("kubernetes".into());
    std::fs::write(&kubeconfig, serde_json::to_string(&kc).unwrap()).unwrap();
    let running = proxy.spawn().unwrap();

    let want = |ports: &[u16]| {
        let mut v: Vec<SocketAddr> = ports.iter().map(|p| SocketAddr::from(([127, 0, 0, 1], *p))).collect();
        v.sort();
        v
    };
    let two = want(&[port(cluster.listener.addr()), port(second.addr())]);
    eventually(Duration::from_secs(10), "both servers of the EndpointSlices", || running.balancer.addresses() == two)
        .await;
    // the cache holds the learned list
    let cache = dir.path().join("endpoints.json");
    eventually(Duration::from_secs(5), "the learned list cached", || {
        kbinit::api_server_proxy::cache::load(&cache).unwrap() == Some(two.clone())
    })
    .await;

    // a control-plane node joining later: its slice appears in the watch, the proxy takes it in without a restart
    cluster.api.insert(slice("kubernetes-c", "IPv4", &["127.0.0.1"], port(third.addr())));
    let three = want(&[port(cluster.listener.addr()), port(second.addr()), port(third.addr())]);
    eventually(Duration::from_secs(10), "the third server", || running.balancer.addresses() == three).await;

    // a server whose slice goes away leaves the table (the fake has no delete helper: the slice is emptied of
    // it by replacing it with the third server's address)
    cluster.api.upsert(slice("kubernetes-b", "IPv4", &["127.0.0.1"], port(third.addr())));
    let two_left = want(&[port(cluster.listener.addr()), port(third.addr())]);
    eventually(Duration::from_secs(10), "the second server removed", || running.balancer.addresses() == two_left).await;

    let lines = lines.lock().unwrap();
    assert!(lines.iter().any(|l| l.contains("kubernetes-bad") && l.contains("FQDN")), "{lines:?}");
    assert!(lines.iter().any(|l| l.contains(&format!("backend 127.0.0.1:{} added", port(third.addr())))), "{lines:?}");
}
