//! The proxy wired into init and join: `init --api-server-proxy --dry-run` shows the unit, the kubelet.conf and
//! kube-proxy kubeconfig pointed at 127.0.0.1:7445 with tls-server-name, and the ConfigMap with its RBAC; a
//! wrong field in the settings document is refused (exit 3); a worker `kbinit join` against the fake API server
//! that records the setting writes the unit, bootstraps through a real proxy (the kubelet stand-in writes
//! kubelet.conf without tls-server-name, as the real kubelet does, and join puts it back), and
//! `api-server-proxy uninstall` undoes it.
//!
//! fake-api: to move: a worker `kbinit join` with the proxy on is `realk8s::proxy` now; `api-server-proxy uninstall`
//! after it against a real cluster is not there yet.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kbinit_phases::api::{ApiOp, ApiStep};
use kbinit_phases::api_server_proxy::{ApiServerProxySettings, config_map::plan_upload};
use serde_json::json;

use crate::join_discovery::{TOKEN, fixture, token_config};
use crate::support::Node;
use crate::support::config::init_yaml;

fn config() -> String {
    init_yaml("v1.31.0", "10.0.0.10").v1beta4().endpoint("10.0.0.10").build()
}

#[test]
fn init_dry_run_shows_the_proxy_everywhere_it_goes() {
    let node = Node::new();
    node.put("/cfg.yaml", config().as_bytes());
    let cfg = node.path("/cfg.yaml").display().to_string();
    let out = tempfile::tempdir().unwrap();
    let run = node
        .kbinit(&[
            "init",
            "--dry-run",
            "--dry-run-dir",
            out.path().to_str().unwrap(),
            "--api-server-proxy",
            "--ignore-preflight-errors=all",
            "--config",
            &cfg,
        ])
        .ok();
    let s = &run.stdout;
    assert!(s.contains("/etc/systemd/system/kbinit-api-server-proxy.service"), "{s}");
    assert!(s.contains("api-server-proxy run --port 7445 --server 10.0.0.10:6443"), "{s}");
    assert!(s.contains("kbinit-api-server-proxy") && s.contains("kbinit:api-server-proxy-endpointslices"), "{s}");
    // kube-proxy's kubeconfig.conf in its ConfigMap, kubeadm's text layout kept
    assert!(
        s.contains("server: https://127.0.0.1:7445\n\t        tls-server-name: kubernetes\n"),
        "the kube-proxy kubeconfig: {s}"
    );
    assert!(s.contains("kbinit api-server-proxy install"), "the hint for kubeadm-joined nodes: {s}");
    let kubelet = std::fs::read_to_string(out.path().join("etc/kubernetes/kubelet.conf")).unwrap();
    assert!(
        kubelet.contains("server: https://127.0.0.1:7445") && kubelet.contains("tls-server-name: kubernetes"),
        "{kubelet}"
    );
    let admin = std::fs::read_to_string(out.path().join("etc/kubernetes/admin.conf")).unwrap();
    assert!(
        admin.contains("server: https://10.0.0.10:6443") && !admin.contains("tls-server-name"),
        "admin.conf unchanged: {admin}"
    );
    assert!(!node.path("/etc/systemd/system/kbinit-api-server-proxy.service").exists());
}

#[test]
fn a_settings_document_with_a_wrong_field_is_refused() {
    let node = Node::new();
    let doc =
        format!("{}---\napiVersion: kbinit.io/v1alpha1\nkind: ApiServerProxyConfiguration\nprot: 7445\n", config());
    node.put("/cfg.yaml", doc.as_bytes());
    let cfg = node.path("/cfg.yaml").display().to_string();
    let run = node.kbinit(&["init", "--dry-run", "--ignore-preflight-errors=all", "--config", &cfg]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("ApiServerProxyConfiguration") && run.stderr.contains("unknown field `prot`"),
        "{}",
        run.stderr
    );
    // the right document turns the proxy on with its port, no flag needed
    let doc =
        format!("{}---\napiVersion: kbinit.io/v1alpha1\nkind: ApiServerProxyConfiguration\nport: 7446\n", config());
    node.put("/cfg.yaml", doc.as_bytes());
    let run = node.kbinit(&["init", "--dry-run", "--ignore-preflight-errors=all", "--config", &cfg]).ok();
    assert!(run.stdout.contains("api-server-proxy run --port 7446"), "{}", run.stdout);
    assert!(!run.stderr.contains("ignored YAML document"), "{}", run.stderr);
}

#[test]
fn worker_join_bootstraps_through_the_proxy_and_uninstall_undoes_it() {
    let f = fixture(None);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    for step in plan_upload(&ApiServerProxySettings { port }).unwrap() {
        if let ApiStep::Op(op) = step
            && let ApiOp::Write { object, .. } = *op
        {
            f.c.api.insert(object.body);
        }
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut pcfg = super::config(dir.path(), vec![f.c.listener.addr()]);
    pcfg.listen = SocketAddr::from(([127, 0, 0, 1], port));
    let _proxy = rt.block_on(async {
        kbinit::api_server_proxy::Proxy::bind(pcfg, Arc::new(|_: &str| {})).await.unwrap().spawn().unwrap()
    });

    let node = Node::new();
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = cfg_dir.path().join("join.yaml");
    std::fs::write(&cfg, token_config(&f.endpoint, TOKEN, &[&f.pin], None)).unwrap();
    // the kubelet stand-in: bootstraps with bootstrap-kubelet.conf and writes kubelet.conf the way the real
    // kubelet does, keeping the server and dropping tls-server-name
    let root = node.root().to_path_buf();
    let admin = f.c.node.read_str("/etc/kubernetes/admin.conf");
    let api = f.c.api.clone();
    let kubelet = std::thread::spawn(move || {
        let boot = root.join("etc/kubernetes/bootstrap-kubelet.conf");
        for _ in 0..200 {
            if let Ok(text) = std::fs::read_to_string(&boot) {
                let server = admin.lines().find(|l| l.trim_start().starts_with("server:")).unwrap().to_string();
                let conf = admin.replace(&server, &format!("    server: https://127.0.0.1:{port}"));
                std::fs::write(root.join("etc/kubernetes/kubelet.conf"), conf).unwrap();
                api.insert(json!({"apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": "w1", "labels": {"kubernetes.io/hostname": "w1"}}}));
                return Some(text);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    });
    let run = node.kbinit(&["join", "--config", cfg.to_str().unwrap()]);
    let boot = kubelet.join().unwrap().expect("bootstrap-kubelet.conf written");
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        boot.contains(&format!("server: https://127.0.0.1:{port}")) && boot.contains("tls-server-name: kubernetes"),
        "{boot}"
    );
    let kubelet_conf = node.read_str("/etc/kubernetes/kubelet.conf");
    assert!(kubelet_conf.contains("tls-server-name: kubernetes"), "join put it back: {kubelet_conf}");
    // kubelet.conf gets tls-server-name when the proxy is installed or, if the kubelet wrote it later, after
    assert!(
        run.stdout.contains("Adding tls-server-name")
            || run.stdout.contains("Pointing \"/etc/kubernetes/kubelet.conf\""),
        "{}",
        run.stdout
    );
    let unit = node.read_str("/etc/systemd/system/kbinit-api-server-proxy.service");
    assert!(unit.contains(&format!("--port {port} --server {}", f.c.listener.addr())), "{unit}");

    let back = f.c.listener.url();
    let run = node.kbinit(&["api-server-proxy", "uninstall", "--server", &back]).ok();
    assert!(run.stdout.contains("Pointing \"/etc/kubernetes/kubelet.conf\" back"), "{}", run.stdout);
    let kubelet_conf = node.read_str("/etc/kubernetes/kubelet.conf");
    assert!(
        kubelet_conf.contains(&format!("server: {back}")) && !kubelet_conf.contains("tls-server-name"),
        "{kubelet_conf}"
    );
    assert!(!node.path("/etc/systemd/system/kbinit-api-server-proxy.service").exists());
}

#[test]
fn worker_join_dry_run_shows_the_proxy_and_touches_nothing() {
    let f = fixture(None);
    for step in plan_upload(&ApiServerProxySettings::default()).unwrap() {
        if let ApiStep::Op(op) = step
            && let ApiOp::Write { object, .. } = *op
        {
            f.c.api.insert(object.body);
        }
    }
    let node = Node::new();
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = cfg_dir.path().join("join.yaml");
    std::fs::write(&cfg, token_config(&f.endpoint, TOKEN, &[&f.pin], None)).unwrap();
    let out = tempfile::tempdir().unwrap();
    let before = crate::support::snapshot(node.root());
    let run = node
        .kbinit(&[
            "join",
            "--config",
            cfg.to_str().unwrap(),
            "--dry-run",
            "--dry-run-dir",
            out.path().to_str().unwrap(),
        ])
        .ok();
    assert!(
        run.stdout.contains("[dryrun] Would write file \"/etc/systemd/system/kbinit-api-server-proxy.service\""),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("[dryrun] Would enable and start kbinit-api-server-proxy.service"), "{}", run.stdout);
    let boot = std::fs::read_to_string(out.path().join("etc/kubernetes/bootstrap-kubelet.conf")).unwrap();
    assert!(boot.contains("server: https://127.0.0.1:7445") && boot.contains("tls-server-name: kubernetes"), "{boot}");
    assert_eq!(crate::support::snapshot(node.root()), before, "a dry run changes nothing on the node");
}
