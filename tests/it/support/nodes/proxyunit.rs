//! What the kubelet stand-in adds for kbinit's node-local API server proxy: systemd's part (the unit file
//! `/etc/systemd/system/kbinit-api-server-proxy.service` → its `ExecStart` run inside the node's namespace with
//! `--root`, restarted when it exits, as `Restart=always` does) and the real kube-apiserver's endpoint reconciler
//! (each started API server adds its advertise address and secure port, named `https`, to the EndpointSlice
//! `kubernetes` in `default`, labelled `kubernetes.io/service-name=kubernetes`). A stopped API server is left in
//! the slice, as after a crash before its lease expires.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use serde_json::{Value, json};

use crate::support::fakeapi::FakeApi;

/// The unit file kbinit writes.
pub const UNIT: &str = "etc/systemd/system/kbinit-api-server-proxy.service";

/// Serializes the read-modify-write of the slice by the stand-ins of several nodes.
static SLICE: Mutex<()> = Mutex::new(());

/// Adds `ip:port` to the `kubernetes` EndpointSlice (creating it), as the API server's reconciler does.
pub fn add_endpoint(api: &FakeApi, ip: &str, port: u16) {
    let _guard = SLICE.lock().unwrap_or_else(|e| e.into_inner());
    let path = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes";
    let mut addresses: Vec<String> = api
        .object(path)
        .and_then(|s| s["endpoints"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e.pointer("/addresses/0").and_then(Value::as_str).map(str::to_string))
        .collect();
    if !addresses.iter().any(|a| a == ip) {
        addresses.push(ip.to_string());
    }
    addresses.sort();
    api.upsert(json!({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "kubernetes", "namespace": "default",
            "labels": {"kubernetes.io/service-name": "kubernetes", "endpointslice.kubernetes.io/managed-by": "endpointslicemirroring-controller.k8s.io"}},
        "addressType": "IPv4",
        "endpoints": addresses.iter().map(|a| json!({"addresses": [a], "conditions": {"ready": true}})).collect::<Vec<_>>(),
        "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
    }));
}

/// The `ExecStart` arguments after the binary, or `None` while there is no unit.
fn exec_args(root: &Path) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(root.join(UNIT)).ok()?;
    let line = text.lines().find_map(|l| l.strip_prefix("ExecStart="))?;
    Some(line.split_whitespace().skip(1).map(str::to_string).collect())
}

/// Starts the proxy when the unit exists and it is not running (first start, or it exited): `Some(what)` to log.
pub fn supervise(root: &Path, child: &mut Option<Child>) -> Option<String> {
    if let Some(c) = child
        && c.try_wait().ok().flatten().is_none()
    {
        return None;
    }
    let restarted = child.take().is_some();
    let args = exec_args(root)?;
    let log = std::fs::OpenOptions::new().create(true).append(true).open(root.join("api-server-proxy.log")).ok()?;
    let spawned = Command::new(env!("CARGO_BIN_EXE_kbinit"))
        .args(&args)
        .arg("--root")
        .arg(root)
        .stdin(Stdio::null())
        .stdout(log.try_clone().ok()?)
        .stderr(log)
        .spawn();
    match spawned {
        Ok(c) => {
            *child = Some(c);
            Some(format!("{} api-server-proxy {}", if restarted { "restarted" } else { "started" }, args.join(" ")))
        }
        Err(e) => Some(format!("error: starting the api-server-proxy: {e}")),
    }
}

/// Stops it (the unit is gone, or the node is torn down).
pub fn stop(child: &mut Option<Child>) {
    if let Some(mut c) = child.take() {
        let _ = c.kill();
        let _ = c.wait();
    }
}
