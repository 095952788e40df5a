//! Preflight as an operator sees it: kubeadm's check names and line format on stderr, the fatal-errors text,
//! exit code 2, `--ignore-preflight-errors` (case-insensitive names, `all`) turning errors into warnings, and
//! `all` mixed with names refused as invalid input (exit 3). Ports and files are made busy by the test, so the
//! findings do not depend on what this host has installed.

use std::net::TcpListener;

use crate::support::config::init_yaml;
use crate::support::{Node, Run, snapshot};

fn config(port: u16) -> String {
    init_yaml("v1.28.7", "10.0.0.10").bind_port(port).without_cri_socket().build()
}

/// A node with a foreign apiserver manifest and a non-empty etcd data dir, and a busy API server port.
fn busy_node() -> (Node, TcpListener, u16) {
    let l = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let node = Node::new();
    node.put("/kbinit.yaml", config(port).as_bytes());
    node.put("/etc/kubernetes/manifests/kube-apiserver.yaml", b"# someone else's\n");
    node.put("/var/lib/etcd/member/snap/db", b"x");
    (node, l, port)
}

fn preflight(node: &Node, extra: &[&str]) -> Run {
    let cfg = node.path("/kbinit.yaml");
    let mut args = vec!["init", "phase", "preflight", "--config", cfg.to_str().unwrap()];
    args.extend_from_slice(extra);
    node.kbinit(&args)
}

fn position(text: &str, needle: &str) -> usize {
    text.find(needle).unwrap_or_else(|| panic!("{needle:?} missing in\n{text}"))
}

#[test]
fn errors_in_kubeadms_words_and_order_exit_2() {
    let (node, _busy, port) = busy_node();
    let before = snapshot(node.root());
    let run = preflight(&node, &[]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("[preflight] Running pre-flight checks"));
    let e = &run.stderr;
    assert!(e.contains("error execution phase preflight: [preflight] Some fatal errors occurred:\n"), "{e}");
    let p = position(e, &format!("\t[ERROR Port-{port}]: Port {port} is in use\n"));
    let m = position(
        e,
        "\t[ERROR FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml]: /etc/kubernetes/manifests/kube-apiserver.yaml \
         already exists and differs from what this configuration renders (delete it or run kbinit reset)\n",
    );
    let d = position(e, "\t[ERROR DirAvailable--var-lib-etcd]: /var/lib/etcd is not empty\n");
    assert!(p < m && m < d, "not in kubeadm's order:\n{e}");
    assert!(
        e.trim_end().ends_with(
            "[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`"
        ),
        "{e}"
    );
    assert_eq!(snapshot(node.root()), before, "preflight changed the node");
}

#[test]
fn ignored_checks_become_warnings() {
    let (node, _busy, port) = busy_node();
    // names are matched case-insensitively; the rest may still fail on this host
    let names =
        format!("PORT-{port},filEAvailable--etc-kubernetes-manifests-kube-apiserver.yaml,DirAvailable--var-lib-etcd");
    let run = preflight(&node, &["--ignore-preflight-errors", &names]);
    let e = &run.stderr;
    assert!(e.contains(&format!("\t[WARNING Port-{port}]: Port {port} is in use\n")), "{e}");
    assert!(e.contains("\t[WARNING DirAvailable--var-lib-etcd]: /var/lib/etcd is not empty\n"), "{e}");
    assert!(
        !e.contains("[ERROR Port-") && !e.contains("[ERROR DirAvailable") && !e.contains("[ERROR FileAvailable"),
        "{e}"
    );
    // all: every error is a warning and the phase succeeds
    let all = preflight(&node, &["--ignore-preflight-errors=all"]);
    assert_eq!(all.code, 0, "{}\n{}", all.stdout, all.stderr);
    assert!(!all.stderr.contains("[ERROR"), "{}", all.stderr);
    assert!(all.stderr.contains(&format!("\t[WARNING Port-{port}]")));
}

#[test]
fn all_mixed_with_names_is_invalid() {
    let (node, _busy, _) = busy_node();
    let run = preflight(&node, &["--ignore-preflight-errors=all,Swap"]);
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("don't specify individual checks if 'all' is used"), "{}", run.stderr);
    let reset = node.kbinit(&["reset", "--force", "--ignore-preflight-errors=Swap,all"]);
    assert_eq!(reset.code, 3, "{}", reset.stderr);
}

#[test]
fn join_checks_its_files_before_discovery() {
    let node = Node::new();
    node.put("/etc/kubernetes/kubelet.conf", b"x");
    node.put("/etc/kubernetes/pki/ca.crt", b"x");
    let before = snapshot(node.root());
    // discovery would go to 127.0.0.1:1; preflight fails before any of it
    let run = node.kbinit(&[
        "join",
        "127.0.0.1:1",
        "--token",
        "abcdef.0123456789abcdef",
        "--discovery-token-unsafe-skip-ca-verification",
        "--node-name",
        "w1",
    ]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains(
        "\t[ERROR FileAvailable--etc-kubernetes-kubelet.conf]: /etc/kubernetes/kubelet.conf already exists\n"
    ));
    assert!(
        run.stderr.contains(
            "\t[ERROR FileAvailable--etc-kubernetes-pki-ca.crt]: /etc/kubernetes/pki/ca.crt already exists\n"
        )
    );
    assert!(!run.stderr.contains("FileAvailable--etc-kubernetes-bootstrap-kubelet.conf"));
    assert!(!run.stdout.contains("[discovery]") && !run.stdout.contains("cluster-info"), "{}", run.stdout);
    assert_eq!(snapshot(node.root()), before);
}

#[test]
fn reset_needs_root_and_nothing_else() {
    if !crate::support::require_tool("setpriv") {
        return;
    }
    let node = Node::new();
    node.put("/etc/kubernetes/admin.conf", b"x");
    let o = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            env!("CARGO_BIN_EXE_kbinit"),
            "reset",
            "--force",
            "--root",
        ])
        .arg(node.root())
        .output()
        .unwrap();
    let run: Run = o.into();
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("\t[ERROR IsPrivilegedUser]: user is not running as root\n"), "{}", run.stderr);
    assert!(node.path("/etc/kubernetes/admin.conf").exists(), "reset went on without root");
    // as root, only IsPrivilegedUser runs: nothing of this host's missing tools is reported
    let ok = node.kbinit(&["reset", "--force"]);
    assert_eq!(ok.code, 0, "{}\n{}", ok.stdout, ok.stderr);
    assert!(!ok.stderr.contains("[ERROR") && !ok.stderr.contains("[WARNING FileExisting"), "{}", ok.stderr);
    assert!(!node.path("/etc/kubernetes/admin.conf").exists());
}
