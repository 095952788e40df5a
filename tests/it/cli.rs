//! The command tree as an operator meets it: help and phase listing, phases run alone, --skip-phases,
//! --root, --dry-run, exit codes, and the small commands.

use crate::support::{Node, files, kbinit, reference, snapshot};

#[test]
fn init_help_lists_the_phases_in_order() {
    let r = kbinit(&["init", "--help"]).ok();
    let order = [
        "preflight",
        "certs",
        "/ca",
        "/apiserver",
        "/apiserver-kubelet-client",
        "/front-proxy-ca",
        "/front-proxy-client",
        "/etcd-ca",
        "/etcd-server",
        "/etcd-peer",
        "/etcd-healthcheck-client",
        "/apiserver-etcd-client",
        "/sa",
        "kubeconfig",
        "/admin",
        "/super-admin",
        "/kubelet",
        "/controller-manager",
        "/scheduler",
        "etcd",
        "/local",
        "control-plane",
        "kubelet-start",
        "wait-control-plane",
        "upload-config",
        "/kubeadm",
        "upload-certs",
        "mark-control-plane",
        "bootstrap-token",
        "kubelet-finalize",
        "addon",
        "/coredns",
        "/kube-proxy",
        "show-join-command",
    ];
    let listing = r.stdout.split("executes the following phases:").nth(1).expect("a phase listing");
    let mut at = 0;
    for name in order {
        let found = listing[at..]
            .lines()
            .position(|l| l.trim_start().starts_with(name) && l.trim_start()[name.len()..].starts_with(' '));
        let line = found.unwrap_or_else(|| panic!("phase {name} missing or out of order in:\n{listing}"));
        at += listing[at..].lines().take(line + 1).map(|l| l.len() + 1).sum::<usize>();
    }
}

#[test]
fn a_phase_runs_alone_and_only_writes_its_files() {
    let node = Node::new();
    let cfg = reference("input-config.yaml");
    node.kbinit(&["init", "phase", "certs", "ca", "--config", cfg.to_str().unwrap()]).ok();
    assert_eq!(files(node.root()), ["/etc/kubernetes/pki/ca.crt", "/etc/kubernetes/pki/ca.key"]);
    let r = node.kbinit(&["init", "phase", "certs", "apiserver", "--config", cfg.to_str().unwrap()]).ok();
    assert!(r.stdout.contains("[certs] Generating \"apiserver\" certificate and key"), "{}", r.stdout);
    assert!(r.stdout.contains("[certs] apiserver serving cert is signed for DNS names [cp1 kubernetes kubernetes.default kubernetes.default.svc kubernetes.default.svc.cluster.local lb.example.com] and IPs [10.96.0.1 10.0.0.10]"), "{}", r.stdout);
    // a re-run reuses what is there
    let again = node.kbinit(&["init", "phase", "certs", "all", "--config", cfg.to_str().unwrap()]).ok();
    assert!(again.stdout.contains("[certs] Using existing ca certificate authority"), "{}", again.stdout);
    assert!(again.stdout.contains("[certs] Using existing apiserver certificate and key on disk"), "{}", again.stdout);
}

#[test]
fn parent_phase_alone_asks_for_a_sub_phase() {
    let r = kbinit(&["init", "phase", "certs"]);
    assert!(
        r.stdout.contains("not meant to be run on its own") || r.stderr.contains("not meant to be run on its own"),
        "{}{}",
        r.stdout,
        r.stderr
    );
}

#[test]
fn skip_phases_rejects_unknown_names_before_touching_anything() {
    let node = Node::new();
    let before = snapshot(node.root());
    let r = node.kbinit(&["init", "--skip-phases", "certs/nope", "--apiserver-advertise-address", "192.0.2.1"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("invalid phase name: certs/nope"), "{}", r.stderr);
    assert_eq!(snapshot(node.root()), before);
}

#[test]
fn skipping_a_parent_skips_its_children() {
    let node = Node::new();
    let cfg = reference("input-config.yaml");
    let r = node
        .kbinit(&["init", "--config", cfg.to_str().unwrap(), "--skip-phases", "preflight,certs,kubeconfig,control-plane,kubelet-start,wait-control-plane,upload-config,upload-certs,mark-control-plane,bootstrap-token,kubelet-finalize,addon,show-join-command"])
        .ok();
    assert_eq!(files(node.root()), ["/etc/kubernetes/manifests/etcd.yaml"], "{}", r.stdout);
}

#[test]
fn dry_run_changes_nothing_and_announces_every_file() {
    let node = Node::new();
    let before = snapshot(node.root());
    let out = tempfile::tempdir().unwrap();
    let render = out.path().join("render");
    let cfg = reference("input-config.yaml");
    let r = node
        .kbinit(&[
            "init",
            "--dry-run",
            "--dry-run-dir",
            render.to_str().unwrap(),
            "--config",
            cfg.to_str().unwrap(),
            "--ignore-preflight-errors=all",
        ])
        .ok();
    assert_eq!(snapshot(node.root()), before, "the root is untouched");
    let rendered = files(&render);
    assert!(rendered.len() >= 32, "{rendered:?}");
    for f in &rendered {
        assert!(r.stdout.contains(&format!("[dryrun] Would write file {f:?}")), "{f} not announced:\n{}", r.stdout);
    }
    assert!(r.stdout.contains("\t    - --advertise-address=10.0.0.10"), "manifests are printed");
}

#[test]
fn exit_codes_follow_kubeadm() {
    assert_eq!(kbinit(&["init", "--no-such-flag"]).code, 1, "usage error");
    assert_eq!(
        kbinit(&[
            "init",
            "--pod-network-cidr",
            "10.0.0.0/33",
            "--apiserver-advertise-address",
            "192.0.2.1",
            "--dry-run"
        ])
        .code,
        3
    );
    assert_eq!(kbinit(&["--help"]).code, 0);
}

#[test]
fn small_commands() {
    let t = kbinit(&["token", "generate"]).ok().stdout;
    let t = t.trim();
    assert_eq!(t.len(), 23, "{t}");
    assert!(
        t.chars().enumerate().all(|(i, c)| if i == 6 {
            c == '.'
        } else {
            c.is_ascii_lowercase() || c.is_ascii_digit()
        }),
        "{t}"
    );
    let k = kbinit(&["certs", "certificate-key"]).ok().stdout;
    assert_eq!(k.trim().len(), 64);
    assert!(hex_ok(k.trim()));
    assert_eq!(kbinit(&["version", "-o", "short"]).ok().stdout.trim(), format!("v{}", env!("CARGO_PKG_VERSION")));
    let bash = kbinit(&["completion", "bash"]).ok().stdout;
    assert!(bash.contains("kbinit"));
    let token_mix = kbinit(&["token", "create", "--certificate-key", "00"]);
    assert_eq!(token_mix.code, 3, "{}", token_mix.stderr);
    assert!(token_mix.stderr.contains("cannot use --certificate-key without --print-join-command"));
}

fn hex_ok(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_hexdigit())
}

#[test]
fn config_print_and_images() {
    let d = kbinit(&["config", "print", "init-defaults"]).ok().stdout;
    assert!(d.contains("kind: InitConfiguration") && d.contains("kind: ClusterConfiguration"), "{d}");
    let img = kbinit(&["config", "images", "list", "--kubernetes-version", "v1.28.7"]).ok().stdout;
    for want in [
        "registry.k8s.io/kube-apiserver:v1.28.7",
        "registry.k8s.io/etcd:3.5.10-0",
        "registry.k8s.io/coredns/coredns:v1.10.1",
        "registry.k8s.io/pause:3.9",
    ] {
        assert!(img.lines().any(|l| l == want), "{want} missing in\n{img}");
    }
}

#[test]
fn versions_outside_the_range_are_refused() {
    let r = kbinit(&["config", "images", "list", "--kubernetes-version", "v1.27.3"]);
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("kubernetesVersion") || r.stderr.contains("kubernetes-version"), "{}", r.stderr);
}

#[test]
fn super_admin_only_from_1_29() {
    for (v, want) in [("v1.28.7", false), ("v1.29.0", true)] {
        let node = Node::new();
        let flags = ["--kubernetes-version", v, "--apiserver-advertise-address", "192.0.2.5", "--node-name", "n1"];
        node.kbinit(&[&["init", "phase", "certs", "ca"][..], &flags].concat()).ok();
        node.kbinit(&[&["init", "phase", "kubeconfig", "all"][..], &flags].concat()).ok();
        assert_eq!(node.path("/etc/kubernetes/super-admin.conf").exists(), want, "{v}");
    }
}
