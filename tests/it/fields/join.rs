//! The field-effect test for JoinConfiguration: a control-plane `join --dry-run` against the fake API server
//! seeded as `kubeadm init` leaves a cluster (tests/it/join_discovery.rs's fixture, shared by every case), each
//! field set and its effect on what the join renders, sends or refuses checked against the join without it.
//! fake-api: to move: the walk renders every JoinConfiguration field as a control-plane join --dry-run against
//! one cluster that only has to answer discovery and hand out kubeadm-config; a real control plane (realk8s::join)
//! could serve it, at the cost of starting one more in CI.

use serde_json::{Value, json};

use super::Effect::{self, *};
use super::{APISERVER, FLAGS_ENV, check, dry_run_by_config, render_all_cmd};
use crate::join_discovery::{TOKEN, fixture};

const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const NODE_PATCH: &str = "patch/nodes/w1";
const TIMEOUT: &str = "join waits this long (src/flows/join)";
const PULL: &str = "preflight's image pull (src/preflight)";

/// (path, merged into both renders, merged into the changed one, effect).
#[rustfmt::skip]
fn cases() -> Vec<(&'static str, &'static str, &'static str, Effect)> {
    let mut v = vec![
        ("nodeRegistration.name", "", r#"{"nodeRegistration":{"name":"w9"}}"#, File("/etc/kubernetes/pki/apiserver.crt")),
        ("nodeRegistration.criSocket", "", r#"{"nodeRegistration":{"criSocket":"unix:///var/run/crio/crio.sock"}}"#, File(FLAGS_ENV)),
        ("nodeRegistration.taints[].key", "", r#"{"nodeRegistration":{"taints":[{"key":"example.com/k","effect":"NoSchedule"}]}}"#, Object(NODE_PATCH)),
        ("nodeRegistration.taints[].value", r#"{"nodeRegistration":{"taints":[{"key":"k","effect":"NoSchedule"}]}}"#, r#"{"nodeRegistration":{"taints":[{"key":"k","value":"v","effect":"NoSchedule"}]}}"#, Object(NODE_PATCH)),
        ("nodeRegistration.taints[].effect", r#"{"nodeRegistration":{"taints":[{"key":"k","effect":"NoSchedule"}]}}"#, r#"{"nodeRegistration":{"taints":[{"key":"k","effect":"NoExecute"}]}}"#, Object(NODE_PATCH)),
        ("nodeRegistration.taints[].timeAdded", r#"{"nodeRegistration":{"taints":[{"key":"k","effect":"NoExecute"}]}}"#, r#"{"nodeRegistration":{"taints":[{"key":"k","effect":"NoExecute","timeAdded":"2030-01-01T00:00:00Z"}]}}"#, Object(NODE_PATCH)),
        ("nodeRegistration.kubeletExtraArgs", "", r#"{"nodeRegistration":{"kubeletExtraArgs":[{"name":"v","value":"4"}]}}"#, File(FLAGS_ENV)),
        ("nodeRegistration.ignorePreflightErrors", "", r#"{"skipPhases":[],"nodeRegistration":{"ignorePreflightErrors":[]}}"#, Refused("[ERROR ")),
        ("nodeRegistration.imagePullPolicy", "", r#"{"nodeRegistration":{"imagePullPolicy":"Never"}}"#, Resolved(PULL)),
        ("nodeRegistration.imagePullSerial", "", r#"{"nodeRegistration":{"imagePullSerial":false}}"#, Resolved(PULL)),
        ("caCertPath", "", r#"{"caCertPath":"/etc/kubernetes/other/ca.crt"}"#, File("/etc/kubernetes/other/ca.crt")),
        ("discovery.bootstrapToken.token", "", r#"{"discovery":{"bootstrapToken":{"token":"abcdef.ffffffffffffffff"}}}"#, Refused("failed to verify JWS signature")),
        ("discovery.bootstrapToken.apiServerEndpoint", "", r#"{"discovery":{"bootstrapToken":{"apiServerEndpoint":"127.0.0.1:1"}}}"#, Refused("127.0.0.1:1")),
        ("discovery.bootstrapToken.caCertHashes", "", r#"{"discovery":{"bootstrapToken":{"caCertHashes":["sha256:0000000000000000000000000000000000000000000000000000000000000000"]}}}"#, Refused("are pinned")),
        ("discovery.bootstrapToken.unsafeSkipCAVerification", r#"{"discovery":{"bootstrapToken":{"caCertHashes":[]}}}"#, r#"{"discovery":{"bootstrapToken":{"unsafeSkipCAVerification":true}}}"#, File(APISERVER)),
        // the same cluster from a file joins as token discovery does (bootstrap-kubelet.conf is the same); a file that
        // is not there is refused, named
        ("discovery.file.kubeConfigPath", r#"{"discovery":{"bootstrapToken":null,"file":{"kubeConfigPath":"@DISCOVERY@"}}}"#, r#"{"discovery":{"file":{"kubeConfigPath":"/nonexistent/discovery.conf"}}}"#, Refused("/nonexistent/discovery.conf")),
        ("discovery.tlsBootstrapToken", "", r#"{"discovery":{"tlsBootstrapToken":"ghijkl.0123456789abcdef"}}"#, Refused("the API server does not accept the TLS bootstrap token with id \"ghijkl\"")),
        ("discovery.timeout", "", "", Resolved(TIMEOUT)),
        ("controlPlane.localAPIEndpoint.advertiseAddress", "", r#"{"controlPlane":{"localAPIEndpoint":{"advertiseAddress":"10.0.0.12"}}}"#, File(APISERVER)),
        ("controlPlane.localAPIEndpoint.bindPort", "", r#"{"controlPlane":{"localAPIEndpoint":{"bindPort":6444}}}"#, File(APISERVER)),
        ("controlPlane.certificateKey", "", r#"{"controlPlane":{"certificateKey":"1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}}"#, Refused("kubeadm-certs")),
        ("skipPhases", "", r#"{"skipPhases":["preflight","control-plane-join/mark-control-plane"]}"#, Object(NODE_PATCH)),
        ("patches.directory", "", r#"{"patches":{"directory":"@PATCHES@"}}"#, File(APISERVER)),
        ("dryRun", "", r#"{"dryRun":true}"#, DryRun),
    ];
    for name in ["controlPlaneComponentHealthCheck", "kubeletHealthCheck", "kubernetesAPICall", "etcdAPICall", "tlsBootstrap", "discovery", "upgradeManifests"] {
        let set: &'static str = Box::leak(format!(r#"{{"timeouts":{{"{name}":"7m"}}}}"#).into_boxed_str());
        v.push((Box::leak(format!("timeouts.{name}").into_boxed_str()), "", set, Resolved(TIMEOUT)));
    }
    v
}

fn loaded(text: &str) -> String {
    let flags = kbinit_phases::config::JoinFlags::default();
    match kbinit_phases::config::load_join(Some(text), &flags, &super::host()) {
        Ok(l) => format!("{:?}", l.config),
        Err(e) => format!("error: {e}"),
    }
}

#[test]
fn every_join_configuration_field_has_its_effect() {
    let f = fixture(None);
    // ECDSA leaf keys (the PublicKeysECDSA gate of the cluster's v1beta3 ClusterConfiguration): a control-plane
    // join renders in milliseconds instead of a second of RSA key generation
    let cluster = format!(
        "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: v1.28.7\n\
         controlPlaneEndpoint: {}\nnetworking:\n  podSubnet: 10.244.0.0/16\nfeatureGates:\n  PublicKeysECDSA: true\n",
        f.endpoint
    );
    f.c.api.upsert(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "kubeadm-config", "namespace": "kube-system"}, "data": {"ClusterConfiguration": cluster}}));
    let patches = tempfile::tempdir().unwrap();
    std::fs::write(patches.path().join("kube-apiserver+merge.yaml"), "metadata:\n  labels:\n    patched: \"yes\"\n")
        .unwrap();
    let discovery = patches.path().join("discovery.conf");
    let ca = f.c.node.read("/etc/kubernetes/pki/ca.crt");
    std::fs::write(
        &discovery,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: {}\n    server: https://{}\n  name: k\n\
             contexts:\n- context:\n    cluster: k\n    user: \"\"\n  name: k\ncurrent-context: k\nusers: []\n",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &ca),
            f.endpoint
        ),
    )
    .unwrap();
    let base = json!({
        "apiVersion": "kubeadm.k8s.io/v1beta4", "kind": "JoinConfiguration",
        "discovery": {"bootstrapToken": {"apiServerEndpoint": f.endpoint, "token": TOKEN, "caCertHashes": [f.pin]},
            "tlsBootstrapToken": TOKEN},
        "nodeRegistration": {"name": "w1", "criSocket": "unix:///run/containerd/containerd.sock", "ignorePreflightErrors": ["all"]},
        "controlPlane": {"localAPIEndpoint": {"advertiseAddress": "10.0.0.11"}, "certificateKey": KEY},
        "skipPhases": ["preflight"],
        "timeouts": {"discovery": "2s", "tlsBootstrap": "20s"},
    });
    let cases = cases();
    let mut failures = Vec::new();
    let paths = kbinit_phases::config::fields::field_paths::<kbinit_phases::config::wire::WireJoin>().unwrap();
    for p in &paths {
        if !cases.iter().any(|c| c.0 == p) {
            failures.push(format!("JoinConfiguration.{p}: no expectation (give it one in tests/it/fields/join.rs)"));
        }
    }
    let mut pairs = Vec::new();
    for (path, on, set, effect) in &cases {
        if !paths.iter().any(|p| p == path) {
            failures.push(format!("JoinConfiguration.{path}: expectation for a field that does not exist"));
            continue;
        }
        let v1beta3 = *path == "discovery.timeout";
        let merged = |over: &str| {
            let mut doc = base.clone();
            if v1beta3 {
                doc["apiVersion"] = json!("kubeadm.k8s.io/v1beta3");
                doc.as_object_mut().unwrap().remove("timeouts");
                if !over.is_empty() {
                    doc["discovery"]["timeout"] = json!("7m");
                }
            }
            for o in [*on, over] {
                if o.is_empty() || v1beta3 {
                    continue;
                }
                let o = o
                    .replace("@PATCHES@", patches.path().to_str().unwrap())
                    .replace("@DISCOVERY@", discovery.to_str().unwrap());
                kbinit_phases::patches::overlay(&mut doc, &serde_json::from_str::<Value>(&o).unwrap());
            }
            doc.to_string()
        };
        let changed = if v1beta3 { merged("x") } else { merged(set) };
        pairs.push((*path, *effect, merged(""), changed));
    }
    let texts: Vec<&String> = pairs.iter().flat_map(|(_, _, b, c)| [b, c]).collect();
    let renders = render_all_cmd("join", &texts);
    for (path, effect, base_text, changed_text) in &pairs {
        let (b, c) = (&renders[base_text], &renders[changed_text]);
        let result = match effect {
            DryRun => dry_run_by_config("join", base_text, changed_text),
            e => check(*e, b, c, || (loaded(base_text), loaded(changed_text))),
        };
        if let Err(e) = result {
            failures.push(format!("JoinConfiguration.{path} ({effect:?}): {e}"));
        }
    }
    assert!(failures.is_empty(), "{} field(s) without their effect:\n{}", failures.len(), failures.join("\n"));
}
