//! Every object kbinit's init writes, written a second time against the real API server: by a full `init`
//! re-run and by each cluster phase alone (`upload-config all`, `upload-certs`, `bootstrap-token`, `addon coredns`,
//! `addon kube-proxy`). Each exits 0 and the objects are as the first run left them (same uid: updated in place,
//! never deleted and created again). A real server answers the second create of the kube-dns Service with 422
//! ("provided IP is already allocated"), which the project's fake never did.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::support::realk8s::node::RealNode;

/// The objects a run wrote, from its `--output jsonl` api events: (group, resource, namespace, name).
type Key = (String, String, Option<String>, String);

fn written(jsonl: &str) -> Vec<Key> {
    let mut keys: Vec<Key> = jsonl
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event"] == "api" && matches!(e["verb"].as_str(), Some("CREATE" | "UPDATE")))
        .filter(|e| e["resource"] != "nodes")
        .filter_map(|e| {
            Some((
                e["group"].as_str()?.to_string(),
                e["resource"].as_str()?.to_string(),
                e["namespace"].as_str().map(str::to_string),
                e["name"].as_str()?.to_string(),
            ))
        })
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

fn path((group, resource, ns, name): &Key) -> String {
    let base = if group.is_empty() {
        "/api/v1".to_string()
    } else {
        let version = match group.as_str() {
            "apps" | "rbac.authorization.k8s.io" => "v1",
            g => panic!("a write to group {g} this test does not know"),
        };
        format!("/apis/{group}/{version}")
    };
    match ns {
        Some(ns) => format!("{base}/namespaces/{ns}/{resource}/{name}"),
        None => format!("{base}/{resource}/{name}"),
    }
}

/// The object as a run leaves it, without what the server changes on any write (resourceVersion, managed
/// fields, status) and without what is new on every run by design: the kubeadm-certs payload (encrypted with a
/// fresh nonce) and its owner (a new short-lived token each upload), a token's expiration, and the JWS
/// signatures the bootstrap signer adds to cluster-info when it gets to it.
fn normalized(mut v: Value) -> Value {
    let name = v.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string();
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in ["resourceVersion", "managedFields", "creationTimestamp"] {
            meta.remove(k);
        }
        if name == "kubeadm-certs" {
            meta.remove("ownerReferences");
        }
    }
    if let Some(o) = v.as_object_mut() {
        o.remove("status");
    }
    if let Some(data) = v.get_mut("data").and_then(Value::as_object_mut) {
        if name == "kubeadm-certs" {
            for value in data.values_mut() {
                *value = Value::String("(encrypted)".into());
            }
        }
        if name.starts_with("bootstrap-token-") {
            data.remove("expiration");
        }
        if name == "cluster-info" {
            data.retain(|k, _| !k.starts_with("jws-kubeconfig-"));
        }
    }
    v
}

fn snapshot(node: &RealNode, keys: &[Key]) -> BTreeMap<String, Value> {
    node.with_admin(|api| {
        keys.iter()
            .map(|k| {
                let p = path(k);
                let v = api.call_once(http::Method::GET, &p, None).unwrap_or_else(|e| panic!("GET {p}: {e}"));
                (p, normalized(v))
            })
            .collect()
    })
}

fn twice_against(release: &str, version: &str, tag: &str) {
    let address = "192.0.2.61";
    let node = RealNode::start(tag, "cp1", address, release);
    let cfg = node.file("kbinit.yaml", &super::init_config(version, address));
    let first = node.kbinit_ok(&["init", "--config", &cfg, "--upload-certs", "--output", "jsonl"]);
    let keys = written(&first.stdout);
    for must in ["kubeadm-config", "kube-dns", "coredns", "kube-proxy", "kubeadm-certs", "cluster-info"] {
        assert!(keys.iter().any(|k| k.3 == must), "init wrote no {must}: {keys:?}");
    }
    for kind in [
        "configmaps",
        "secrets",
        "services",
        "serviceaccounts",
        "deployments",
        "daemonsets",
        "roles",
        "rolebindings",
        "clusterroles",
        "clusterrolebindings",
    ] {
        assert!(keys.iter().any(|k| k.1 == kind), "init wrote no {kind}: {keys:?}");
    }
    let before = snapshot(&node, &keys);

    for phase in [
        &["upload-config", "all"][..],
        &["upload-certs", "--upload-certs"],
        &["bootstrap-token"],
        &["addon", "coredns"],
        &["addon", "kube-proxy"],
    ] {
        for round in 1..=2 {
            let mut args = vec!["init", "phase"];
            args.extend_from_slice(phase);
            args.extend(["--config", &cfg]);
            let run = node.kbinit(&args);
            assert_eq!(
                run.code,
                0,
                "{release}: `init phase {}` (run {round}) failed\n{}\n{}\n{}",
                phase.join(" "),
                run.stdout,
                run.stderr,
                node.report()
            );
        }
    }
    node.kbinit_ok(&["init", "--config", &cfg, "--upload-certs"]);
    let after = snapshot(&node, &keys);
    for (p, v) in &before {
        assert_eq!(Some(v), after.get(p), "{release}: {p} is not as the first run left it");
    }
}

#[test]
fn cluster_writes_twice_on_a_real_api_server_v1_33() {
    twice_against("v1.33.3", "v1.33.3", "tw33");
}

#[test]
fn cluster_writes_twice_on_a_real_api_server_v1_28() {
    twice_against("v1.28.7", "v1.28.7", "tw28");
}
