//! `kbinit etcd restore` under the real kube-apiserver of ../shared/k8s: a ConfigMap created before the snapshot
//! exists after the restore, one created after it does not, and the API server serves again with no manual step
//! (kbinit stops it and etcd by parking their manifests, rebuilds etcd's data with etcd's own restore tool, and
//! brings both back).

use serde_json::json;

use crate::support::realk8s::node::RealNode;

fn config_map(name: &str) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"},
        "data": {"made": name}})
}

#[test]
fn restore_under_the_real_apiserver_keeps_objects_before_the_snapshot_only() {
    crate::support::require_tool("etcdctl");
    let address = "192.0.2.63";
    let node = RealNode::start("rst", "cp1", address, "v1.33.3");
    let cfg = node.file("kbinit.yaml", &super::init_config("v1.33.3", address));
    node.kbinit_ok(&["init", "--config", &cfg, "--skip-phases", "addon"]);
    let cms = kbinit_phases::api::ResourceType::of::<k8s_openapi::api::core::v1::ConfigMap>();
    node.with_admin(|api| api.create(&cms, Some("default"), &config_map("before-snapshot")).unwrap());

    let save = node.kbinit_ok(&["etcd", "snapshot", "save", "--name", "real"]);
    assert!(save.stdout.contains("integrity hash checked"), "{}", save.stdout);
    node.with_admin(|api| api.create(&cms, Some("default"), &config_map("after-snapshot")).unwrap());
    assert!(node.with_admin(|api| api.get(&cms, Some("default"), "after-snapshot").unwrap()).is_some());

    let run = node.kbinit_ok(&["etcd", "restore", "--snapshot", "/var/lib/kbinit/etcd-snapshots/real.db", "--force"]);
    assert!(run.stdout.contains("[restart] kube-apiserver is healthy again"), "{}", run.stdout);

    // the API serves again, with exactly what the snapshot held
    let (before, after) = node.with_admin(|api| {
        (
            api.get(&cms, Some("default"), "before-snapshot").unwrap(),
            api.get(&cms, Some("default"), "after-snapshot").unwrap(),
        )
    });
    assert_eq!(before.and_then(|v| v["data"]["made"].as_str().map(str::to_string)).as_deref(), Some("before-snapshot"));
    assert!(after.is_none(), "an object created after the snapshot survived the restore");
    let nodes = node.with_admin(|api| {
        api.list(&kbinit_phases::api::ResourceType::of::<k8s_openapi::api::core::v1::Node>(), None, "").unwrap()
    });
    assert!(nodes.iter().any(|n| n["metadata"]["name"] == "cp1"), "{nodes:?}");
}
