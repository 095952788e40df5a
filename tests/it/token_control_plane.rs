//! `kbinit token create --print-join-command --control-plane` on the netns harness: cp1 runs `init
//! --upload-certs` behind a load balancer; its kubeadm-certs Secret then expires as on a real cluster (the owner
//! token's expiration passes, the token cleaner deletes the token Secret, the garbage collector the certificates
//! it owns). The command on cp1 uploads the certificates again under a new key and prints one join command;
//! cp2 has joined with init's own command before that; the new command, run as printed on cp3 (plus cp3's own
//! address and name, which the test host cannot detect), joins a third control-plane node: shared CA, three
//! voting etcd members.
//!
//! fake-api: kubeadm-certs expiring on a fake clock (on a real cluster its owner token lives hours; the token cleaner
//! and garbage collector cannot be made to run now).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::support::fakeapi::FakeApi;
use crate::support::nodes::lan::Lan;
use crate::support::nodes::testnode::TestNode;
use crate::support::{Node, Run, require_tool};

const LB: &str = "10.79.0.100";
const CERTS: &str = "/api/v1/namespaces/kube-system/secrets/kubeadm-certs";

fn ok(run: Run, what: &str, node: &TestNode) -> Run {
    assert_eq!(
        run.code,
        0,
        "{what} failed\nstdout:\n{}\nstderr:\n{}\nstand-in: {:?}",
        run.stdout,
        run.stderr,
        node.standin.events()
    );
    run
}

/// The token Secret's expiration, decoded.
fn expiration(api: &FakeApi, secret: &str) -> time::OffsetDateTime {
    let s = api.object(&format!("/api/v1/namespaces/kube-system/secrets/{secret}")).unwrap();
    let b = STANDARD.decode(s["data"]["expiration"].as_str().unwrap()).unwrap();
    let text = String::from_utf8(b).unwrap();
    time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339).unwrap()
}

fn owner_of_certs(api: &FakeApi) -> String {
    let certs = api.object(CERTS).expect("kubeadm-certs exists");
    certs.pointer("/metadata/ownerReferences/0/name").and_then(Value::as_str).unwrap().to_string()
}

#[test]
fn control_plane_join_command_works_after_the_first_certs_secret_expired() {
    if !require_tool("etcd") || !require_tool("etcdctl") || !require_tool("ip") || !require_tool("openssl") {
        return;
    }
    let api = FakeApi::new();
    let lan = Lan::create("tcp", LB);
    let cp1 = TestNode::start("tcp1", "cp1", &[], &api, true);
    let cp2 = TestNode::start("tcp2", "cp2", &[], &api, false);
    let cp3 = TestNode::start("tcp3", "cp3", &[], &api, false);
    lan.attach(&cp1.ns, "10.79.0.1");
    lan.attach(&cp2.ns, "10.79.0.2");
    lan.attach(&cp3.ns, "10.79.0.3");
    let backends =
        ["10.79.0.1:6443".parse().unwrap(), "10.79.0.2:6443".parse().unwrap(), "10.79.0.3:6443".parse().unwrap()];
    let _lb = lan.balancer(format!("{LB}:6443").parse().unwrap(), backends.to_vec());

    let cfg = cp1.config(&crate::support::nodes::testnode::init_config("v1.34.0", "10.79.0.1", LB));
    let run = ok(cp1.kbinit(&["init", "--config", &cfg, "--upload-certs"]), "init on cp1", &cp1);
    let first_key =
        run.stdout.lines().skip_while(|l| *l != "[upload-certs] Using certificate key:").nth(1).unwrap().to_string();

    // cp2 joins with the control-plane join command init printed, while its kubeadm-certs is still there
    let printed = run.stdout.replace("\\\n", " ");
    let init_join: Vec<&str> = printed
        .lines()
        .find(|l| l.trim_start().starts_with("kbinit join") && l.contains("--control-plane"))
        .unwrap_or_else(|| panic!("init printed no control-plane join command:\n{}", run.stdout))
        .split_whitespace()
        .collect();
    ok(cp2.kbinit(&with_node_flags(&init_join[1..], "10.79.0.2", "cp2")), "init's join command on cp2", &cp2);

    // the first kubeadm-certs expires: its owner token's expiration passes, the token cleaner and the garbage
    // collector do the rest
    let first_owner = owner_of_certs(&api);
    api.tamper(&format!("/api/v1/namespaces/kube-system/secrets/{first_owner}"), |s| {
        s["data"]["expiration"] = STANDARD.encode("2020-01-01T00:00:00Z").into();
    });
    api.reconcile_once();
    assert!(api.object(CERTS).is_none(), "kubeadm-certs outlived its owner token");

    let run = ok(cp1.kbinit(&["token", "create", "--print-join-command", "--control-plane"]), "token create", &cp1);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "stdout is the join command alone: {}", run.stdout);
    let command = lines[0];
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(&words[..2], ["kbinit", "join"], "{command}");
    assert_eq!(words[2], format!("{LB}:6443"), "{command}");
    let after = |flag: &str| words.iter().position(|w| *w == flag).map(|i| words[i + 1]).unwrap();
    let (token, key) = (after("--token"), after("--certificate-key"));
    assert!(words.contains(&"--control-plane") && after("--discovery-token-ca-cert-hash").starts_with("sha256:"));
    assert_ne!(key, first_key, "a fresh certificate key");
    assert!(
        run.stderr.contains("[upload-certs] Storing the certificates in Secret \"kubeadm-certs\""),
        "{}",
        run.stderr
    );

    // the new Secret has a new owner; the token and the certificates expire together, two hours from now
    let owner = owner_of_certs(&api);
    assert_ne!(owner, first_owner);
    let id = token.split('.').next().unwrap();
    let (certs_until, token_until) = (expiration(&api, &owner), expiration(&api, &format!("bootstrap-token-{id}")));
    let in_two_hours = time::OffsetDateTime::now_utc() + time::Duration::hours(2);
    for t in [certs_until, token_until] {
        assert!((t - in_two_hours).abs() < time::Duration::minutes(5), "{t} is not two hours away");
    }

    // cp3 joins with the printed command
    ok(cp3.kbinit(&with_node_flags(&words[1..], "10.79.0.3", "cp3")), "the printed control-plane join on cp3", &cp3);
    for f in ["ca.key", "sa.key", "front-proxy-ca.key", "etcd/ca.key"] {
        let p = format!("/etc/kubernetes/pki/{f}");
        assert_eq!(cp2.node.read(&p), cp1.node.read(&p), "cp2 has cp1's {f}");
        assert_eq!(cp3.node.read(&p), cp1.node.read(&p), "cp3 has cp1's {f}");
    }
    let m = cp1.etcd_members("https://10.79.0.1:2379");
    assert_eq!(m.len(), 3, "{m:?}");
    assert!(m.iter().all(|(status, _, _, learner)| status == "started" && !learner), "{m:?}");
}

/// A printed join command's words plus what the test host cannot detect for the joining node.
fn with_node_flags<'a>(command: &[&'a str], address: &'a str, name: &'a str) -> Vec<&'a str> {
    let mut args = command.to_vec();
    args.extend([
        "--apiserver-advertise-address",
        address,
        "--node-name",
        name,
        "--cri-socket",
        "unix:///run/containerd/containerd.sock",
        "--ignore-preflight-errors",
        "all",
    ]);
    args
}

#[test]
fn control_plane_needs_print_join_command() {
    let node = Node::new();
    let run = node.kbinit(&["token", "create", "--control-plane"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("--print-join-command"), "{}", run.stderr);
    let run = node.kbinit(&["token", "create", "--certificate-key", &"0a".repeat(32)]);
    assert_eq!(run.code, 3, "kubeadm's --certificate-key rule stays: {}", run.stderr);
}

/// A loopback fake with kbinit's PKI and admin.conf pointed at it, and a kubeadm-config ConfigMap holding
/// `cluster_configuration`.
fn loopback(cluster_configuration: &str) -> crate::support::fakeapi::testkit::Cluster {
    let c = crate::support::fakeapi::testkit::cluster();
    let admin = c.node.read_str("/etc/kubernetes/admin.conf");
    let server = admin.lines().find_map(|l| l.trim().strip_prefix("server: ")).unwrap().to_string();
    c.node.put("/etc/kubernetes/admin.conf", admin.replace(&server, &c.listener.url()).as_bytes());
    c.api.insert(serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "kubeadm-config", "namespace": "kube-system"},
        "data": {"ClusterConfiguration": cluster_configuration},
    }));
    c
}

fn secrets(api: &FakeApi) -> Vec<String> {
    api.objects("/api/v1/namespaces/kube-system/secrets")
        .iter()
        .map(|s| s.pointer("/metadata/name").and_then(Value::as_str).unwrap().to_string())
        .collect()
}

#[test]
fn nothing_changes_when_the_join_could_not_work() {
    let v3 = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: v1.28.7\n";
    let c = loopback(v3);
    let run = c.node.kbinit(&["token", "create", "--print-join-command", "--control-plane"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("no controlPlaneEndpoint"), "{}", run.stderr);
    assert!(secrets(&c.api).is_empty(), "{:?}", secrets(&c.api));

    let c = loopback(&format!("{v3}controlPlaneEndpoint: lb.example.com:6443\n"));
    std::fs::remove_file(c.node.path("/etc/kubernetes/pki/sa.key")).unwrap();
    let run = c.node.kbinit(&["token", "create", "--print-join-command", "--control-plane"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("/etc/kubernetes/pki/sa.key"), "the missing file is named: {}", run.stderr);
    assert!(secrets(&c.api).is_empty(), "{:?}", secrets(&c.api));
}

#[test]
fn dry_run_and_a_given_ttl_and_key() {
    let c = loopback(
        "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: v1.28.7\n\
         controlPlaneEndpoint: lb.example.com:6443\n",
    );
    let base = ["token", "create", "--print-join-command", "--control-plane"];
    let run = c.node.kbinit(&[&base[..], &["--dry-run"]].concat()).ok();
    assert!(secrets(&c.api).is_empty(), "--dry-run created {:?}", secrets(&c.api));
    assert!(run.stdout.contains("--control-plane --certificate-key "), "{}", run.stdout);

    let key = "0a".repeat(32);
    let run = c.node.kbinit(&[&base[..], &["--ttl", "30m", "--certificate-key", &key]].concat()).ok();
    let line = run.stdout.lines().last().unwrap();
    assert!(line.ends_with(&format!("--control-plane --certificate-key {key}")), "{line}");
    let id = line.split_whitespace().skip_while(|w| *w != "--token").nth(1).unwrap().split('.').next().unwrap();
    let until = expiration(&c.api, &format!("bootstrap-token-{id}"));
    let in_30m = time::OffsetDateTime::now_utc() + time::Duration::minutes(30);
    assert!((until - in_30m).abs() < time::Duration::minutes(3), "--ttl 30m gave {until}");
    // the certificates are sealed with the given key: the join side's planner opens them with it
    let certs = c.api.object(CERTS).expect("kubeadm-certs uploaded");
    let secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(certs).unwrap();
    let key = kbinit_phases::cluster::certkey::CertificateKey::parse(&key).unwrap();
    let cluster = kbinit_phases::config::load_init(
        Some("apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: v1.28.7\n"),
        &Default::default(),
        &kbinit_phases::config::HostFacts {
            hostname: "cp1".into(),
            default_address: Some([192, 0, 2, 1].into()),
            ..Default::default()
        },
    )
    .unwrap()
    .config
    .cluster;
    let steps = kbinit_phases::cluster::upload_certs::decode_certs_secret(&secret, &key, &cluster).unwrap();
    let ca_key = steps.iter().find_map(|s| match s {
        kbinit_phases::plan::Step::WriteFile { path, bytes, .. } if path == "/etc/kubernetes/pki/ca.key" => Some(bytes),
        _ => None,
    });
    assert_eq!(ca_key, Some(&c.node.read("/etc/kubernetes/pki/ca.key")), "kubeadm-certs opens with the given key");
}
