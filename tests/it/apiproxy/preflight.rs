//! The proxy's port in preflight, in kubeadm's Port check shape: a port held by a listener of the test fails
//! `init` (the port in the ApiServerProxyConfiguration document), a worker `join` (the port the cluster's
//! setting names, checked after discovery and before any file is written) and `api-server-proxy install` with
//! `[ERROR Port-<n>]: Port <n> is in use` and exit 2; `--ignore-preflight-errors Port-<n>` makes it a warning; a
//! port held while kbinit's own unit for it is on the node (a re-run) is reported as reused. Ports are free
//! ones picked by the test, so tests running at the same time never share one.
//!
//! fake-api: to move: the worker join of `realk8s::join` could hold the proxy's port (a real cluster with the proxy
//! setting recorded by `init --api-server-proxy`).

use std::net::TcpListener;

use kbinit_phases::api::{ApiOp, ApiStep};
use kbinit_phases::api_server_proxy::{ApiServerProxySettings, config_map::plan_upload, node};

use crate::join_discovery::{TOKEN, fixture, token_config};
use crate::support::config::init_yaml;
use crate::support::{Node, snapshot};

const UNIT: &str = "/etc/systemd/system/kbinit-api-server-proxy.service";

/// A listener on 127.0.0.1 holding a free port, as another program would.
fn held() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

fn init_config(port: u16) -> String {
    init_yaml("v1.31.0", "10.0.0.10")
        .v1beta4()
        .without_cri_socket()
        .document(&format!("apiVersion: kbinit.io/v1alpha1\nkind: ApiServerProxyConfiguration\nport: {port}\n"))
        .build()
}

fn init_preflight(node: &Node, extra: &[&str]) -> crate::support::Run {
    let cfg = node.path("/kbinit.yaml");
    let mut args = vec!["init", "phase", "preflight", "--config", cfg.to_str().unwrap()];
    args.extend_from_slice(extra);
    node.kbinit(&args)
}

#[test]
fn init_fails_on_a_proxy_port_in_use_unless_ignored() {
    let (_busy, port) = held();
    let node = Node::new();
    node.put("/kbinit.yaml", init_config(port).as_bytes());
    let run = init_preflight(&node, &[]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains(&format!("\t[ERROR Port-{port}]: Port {port} is in use\n")), "{}", run.stderr);
    // the rest may fail on this host; the proxy's port is now a warning
    let run = init_preflight(&node, &["--ignore-preflight-errors", &format!("Port-{port}")]);
    assert!(run.stderr.contains(&format!("\t[WARNING Port-{port}]: Port {port} is in use\n")), "{}", run.stderr);
    assert!(!run.stderr.contains(&format!("[ERROR Port-{port}]")), "{}", run.stderr);
}

#[test]
fn init_rerun_takes_the_port_of_kbinits_own_proxy_unit_as_reused() {
    let (_busy, port) = held();
    let node = Node::new();
    node.put("/kbinit.yaml", init_config(port).as_bytes());
    let unit = node::unit_file("/usr/local/bin/kbinit", &ApiServerProxySettings { port }, &["10.0.0.10:6443".into()]);
    node.put(UNIT, unit.as_bytes());
    let run = init_preflight(&node, &[]);
    let note = format!(
        "[preflight] Port {port} is in use by the API server proxy, whose unit {UNIT} is already present from an earlier run; reusing"
    );
    assert!(run.stdout.contains(&note), "{}\n{}", run.stdout, run.stderr);
    assert!(!run.stderr.contains(&format!("Port-{port}]")), "{}", run.stderr);
    // a unit someone else wrote at that path does not make the port kbinit's
    node.put(UNIT, unit.replace("# Written by kbinit", "# Written by hand").as_bytes());
    let run = init_preflight(&node, &[]);
    assert!(run.stderr.contains(&format!("\t[ERROR Port-{port}]: Port {port} is in use\n")), "{}", run.stderr);
}

#[test]
fn install_fails_on_a_port_in_use_and_writes_nothing_unless_ignored() {
    let (_busy, port) = held();
    let node = Node::new();
    let p = port.to_string();
    let before = snapshot(node.root());
    let args = ["api-server-proxy", "install", "--port", &p, "--server", "10.0.0.10:6443"];
    let run = node.kbinit(&args);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains(&format!("\t[ERROR Port-{port}]: Port {port} is in use\n")), "{}", run.stderr);
    assert!(
        run.stderr.contains("you can make a check non-fatal with `--ignore-preflight-errors=...`"),
        "{}",
        run.stderr
    );
    assert_eq!(snapshot(node.root()), before, "nothing written");
    let ignore = format!("Port-{port}");
    let run = node.kbinit(&[&args[..], &["--ignore-preflight-errors", &ignore]].concat()).ok();
    assert!(run.stderr.contains(&format!("\t[WARNING Port-{port}]: Port {port} is in use\n")), "{}", run.stderr);
    assert!(node.read_str(UNIT).contains(&format!("api-server-proxy run --port {port} --server 10.0.0.10:6443")));
    // the unit is now kbinit's own: a second install (a re-run) reuses the port without being told
    let run = node.kbinit(&args).ok();
    assert!(run.stdout.contains(&format!("Port {port} is in use by the API server proxy")), "{}", run.stdout);
}

#[test]
fn worker_join_checks_the_clusters_proxy_port_before_writing() {
    let f = fixture(None);
    let (_busy, port) = held();
    for step in plan_upload(&ApiServerProxySettings { port }).unwrap() {
        if let ApiStep::Op(op) = step
            && let ApiOp::Write { object, .. } = *op
        {
            f.c.api.insert(object.body);
        }
    }
    let node = Node::new();
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = cfg_dir.path().join("join.yaml");
    let all = token_config(&f.endpoint, TOKEN, &[&f.pin], None);
    std::fs::write(&cfg, &all).unwrap();
    // with every check ignored (a dry run): the port the cluster's setting names is checked, after discovery
    let out = tempfile::tempdir().unwrap();
    let dry = ["join", "--config", cfg.to_str().unwrap(), "--dry-run", "--dry-run-dir", out.path().to_str().unwrap()];
    let run = node.kbinit(&dry).ok();
    let warning = format!("\t[WARNING Port-{port}]: Port {port} is in use\n");
    assert!(run.stderr.contains(&warning), "{}", run.stderr);
    // every other check this host fails stays ignored; the proxy's port alone is now fatal
    let others: Vec<&str> = run
        .stderr
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("[WARNING ")?.split_once("]:").map(|(name, _)| name))
        .filter(|name| *name != format!("Port-{port}"))
        .collect();
    let list: String = others.iter().map(|n| format!("  - {n}\n")).collect();
    let ignore = if list.is_empty() { String::new() } else { format!("  ignorePreflightErrors:\n{list}") };
    std::fs::write(&cfg, all.replace("  ignorePreflightErrors:\n  - all\n", &ignore)).unwrap();
    let before = snapshot(node.root());
    let run = node.kbinit(&["join", "--config", cfg.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains(&format!("\t[ERROR Port-{port}]: Port {port} is in use\n")), "{}", run.stderr);
    assert!(run.stdout.contains("[preflight] Reading configuration from the cluster"), "{}", run.stdout);
    assert_eq!(snapshot(node.root()), before, "the join stopped before writing anything");
}
