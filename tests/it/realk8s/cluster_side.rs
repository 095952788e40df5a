//! init's cluster side and the day-2 commands against the real API server: mark-control-plane's labels and
//! taint on the Node the kubelet registered; `token create|list|delete`; `kubeconfig user` authenticated by the
//! real server (client certificate and token, as a SelfSubjectReview shows them); a 403 of the real server failing
//! the command at once; `token create --dry-run` sending nothing; `certs renew` of the API
//! server's certificate with the restart seen through the real component (a new serving certificate on 6443);
//! `upgrade plan` and `upgrade diff` reading the real cluster.

use serde_json::{Value, json};

use crate::support::realk8s::node::RealNode;

/// Who the real server says the holder of `kubeconfig` (YAML text) is: (username, groups).
fn whoami(node: &RealNode, kubeconfig: &str) -> (String, Vec<String>) {
    let text = kubeconfig.to_string();
    let netns = node.ns.name.clone();
    std::thread::scope(|s| {
        s.spawn(move || {
            crate::support::nodes::kubelet::enter_netns(&netns);
            let c = kbinit::api::Cluster::from_kubeconfig_text(&text, std::time::Duration::from_secs(10)).unwrap();
            let review = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"});
            let got = c
                .call_once(
                    http::Method::POST,
                    "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                    Some(("application/json", serde_json::to_vec(&review).unwrap())),
                )
                .unwrap_or_else(|e| panic!("SelfSubjectReview: {e}"));
            let user = got.pointer("/status/userInfo/username").and_then(Value::as_str).unwrap_or_default().to_string();
            let groups = got
                .pointer("/status/userInfo/groups")
                .and_then(Value::as_array)
                .map(|g| g.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default();
            (user, groups)
        })
        .join()
        .unwrap()
    })
}

/// The serial of the certificate the API server at `address:6443` serves, read by openssl from inside the node.
fn serving_serial(node: &RealNode, address: &str) -> String {
    let o = node
        .ns
        .command("sh")
        .args([
            "-c",
            &format!("openssl s_client -connect {address}:6443 </dev/null 2>/dev/null | openssl x509 -noout -serial"),
        ])
        .output()
        .unwrap();
    let serial = String::from_utf8_lossy(&o.stdout).trim().to_string();
    assert!(serial.starts_with("serial="), "no serving certificate on {address}:6443: {serial}\n{}", node.report());
    serial
}

fn cluster_side(release: &str, tag: &str, address: &str) {
    crate::support::require_tool("openssl");
    let node = RealNode::start(tag, "cp1", address, release);
    let cfg = node.file("kbinit.yaml", &super::init_config(release, address));
    node.kbinit_ok(&["init", "--config", &cfg]);

    // mark-control-plane on the Node the kubelet registered
    let cp1 = node.with_admin(|api| api.call_once(http::Method::GET, "/api/v1/nodes/cp1", None).unwrap());
    assert!(cp1.pointer("/metadata/labels/node-role.kubernetes.io~1control-plane").is_some(), "{cp1}");
    assert!(
        cp1.pointer("/metadata/labels/node.kubernetes.io~1exclude-from-external-load-balancers").is_some(),
        "{cp1}"
    );
    let taints = cp1.pointer("/spec/taints").and_then(Value::as_array).cloned().unwrap_or_default();
    assert!(
        taints.iter().any(|t| t["key"] == "node-role.kubernetes.io/control-plane" && t["effect"] == "NoSchedule"),
        "{release}: {taints:?}"
    );

    // tokens against the real server
    let created = node.kbinit_ok(&["token", "create", "--ttl", "1h", "--description", "real server"]);
    let token = created.stdout.trim().to_string();
    let id = token.split('.').next().unwrap().to_string();
    assert_eq!(token.len(), 23, "{}", created.stdout);
    let listed = node.kbinit_ok(&["token", "list"]).stdout;
    assert!(listed.contains(&id) && listed.contains("abcdef") && listed.contains("real server"), "{listed}");
    node.kbinit_ok(&["token", "delete", &id]);
    let listed = node.kbinit_ok(&["token", "list"]).stdout;
    assert!(!listed.contains(&id) && listed.contains("abcdef"), "{listed}");

    // kubeconfig user: a client certificate and a token, both authenticated by the real server
    let alice = node.kbinit_ok(&["kubeconfig", "user", "--client-name", "alice", "--org", "devs", "--config", &cfg]);
    let (user, groups) = whoami(&node, &alice.stdout);
    assert_eq!(user, "alice");
    assert!(groups.contains(&"devs".to_string()), "{groups:?}");
    let bearer = node.kbinit_ok(&[
        "kubeconfig",
        "user",
        "--client-name",
        "bob",
        "--token",
        "abcdef.0123456789abcdef",
        "--config",
        &cfg,
    ]);
    let (user, groups) = whoami(&node, &bearer.stdout);
    assert_eq!(user, "system:bootstrap:abcdef");
    assert!(groups.contains(&"system:bootstrappers".to_string()), "{groups:?}");

    // a refusal by the real server is a failure at once, never retried away: alice may not create tokens
    node.file("alice.conf", &alice.stdout);
    let started = std::time::Instant::now();
    let refused = node.kbinit(&["token", "create", "--kubeconfig", "/alice.conf"]); // a node path, under --root
    assert_ne!(refused.code, 0, "{release}: alice created a token\n{}", refused.stdout);
    assert!(refused.stderr.contains("403") && refused.stderr.contains("forbidden"), "{}", refused.stderr);
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "a 403 was retried: {:?}", started.elapsed());
    // --dry-run against the real server: printed, not sent
    let listed_before = node.kbinit_ok(&["token", "list"]).stdout;
    let dry = node.kbinit_ok(&["token", "create", "--dry-run"]);
    assert!(dry.stdout.contains("[dryrun]"), "{}", dry.stdout);
    assert_eq!(node.kbinit_ok(&["token", "list"]).stdout, listed_before, "token create --dry-run created a token");

    // certs renew: the API server's certificate renewed and its static Pod restarted, seen on the wire
    let before = serving_serial(&node, address);
    node.kbinit_ok(&["certs", "renew", "apiserver", "--if-expiring-within", "87600h", "--config", &cfg]);
    let after = serving_serial(&node, address);
    assert_ne!(before, after, "{release}: the real API server still serves the old certificate");

    // upgrade plan and diff read the real cluster
    let plan = node.kbinit_ok(&["upgrade", "plan"]);
    assert!(
        plan.stdout.contains(&format!("Cluster version: {release}")) || plan.stdout.contains(release),
        "{}",
        plan.stdout
    );
    node.kbinit_ok(&["upgrade", "diff", release]);
}

#[test]
fn cluster_side_and_day_two_commands_on_a_real_api_server_v1_33() {
    cluster_side("v1.33.3", "cs33", "192.0.2.63");
}

#[test]
fn cluster_side_and_day_two_commands_on_a_real_api_server_v1_28() {
    cluster_side("v1.28.7", "cs28", "192.0.2.64");
}
