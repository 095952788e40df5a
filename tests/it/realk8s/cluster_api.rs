//! kbinit installed as `kubeadm`, driven the way Cluster API's kubeadm bootstrap provider drives kubeadm: the
//! cluster's CAs (`ca`, `etcd/ca`, `front-proxy-ca`) and the service-account key pair are written under
//! /etc/kubernetes/pki before `kubeadm init --config …` runs, then a worker runs `kubeadm join --config …`. kubeadm
//! reuses the given CAs and issues everything else from them; so must kbinit, against the real control plane.

use std::path::Path;

use crate::support::nodes::lan::Lan;
use crate::support::nodes::testnode::join_config;
use crate::support::realk8s::node::RealNode;
use crate::support::run_ok;

/// A CA key and self-signed certificate as Cluster API generates them (RSA 2048, CA:TRUE, keyCertSign).
fn write_ca(dir: &Path, base: &str, cn: &str) {
    let (crt, key) = (dir.join(format!("{base}.crt")), dir.join(format!("{base}.key")));
    std::fs::create_dir_all(crt.parent().unwrap()).unwrap();
    run_ok(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "3650",
            "-subj",
            &format!("/CN={cn}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign",
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            crt.to_str().unwrap(),
        ],
    );
}

#[test]
fn installed_as_kubeadm_with_pre_written_cas_as_cluster_api_does() {
    crate::support::require_tool("openssl");
    let links = tempfile::tempdir().unwrap();
    let kubeadm = links.path().join("kubeadm");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_kbinit"), &kubeadm).unwrap();

    let lan = Lan::create("capi", "10.76.0.100");
    let cp = RealNode::on_lan(&lan, "capi1", "cp1", "10.76.0.1", "v1.33.3");
    let pki = cp.node.path("/etc/kubernetes/pki");
    write_ca(&pki, "ca", "kubernetes");
    write_ca(&pki, "etcd/ca", "etcd-ca");
    write_ca(&pki, "front-proxy-ca", "front-proxy-ca");
    run_ok("openssl", &["genrsa", "-out", pki.join("sa.key").to_str().unwrap(), "2048"]);
    run_ok(
        "openssl",
        &["rsa", "-in", pki.join("sa.key").to_str().unwrap(), "-pubout", "-out", pki.join("sa.pub").to_str().unwrap()],
    );
    let given: Vec<(String, Vec<u8>)> = ["ca.crt", "ca.key", "etcd/ca.crt", "front-proxy-ca.crt", "sa.key", "sa.pub"]
        .iter()
        .map(|f| (f.to_string(), std::fs::read(pki.join(f)).unwrap()))
        .collect();

    // Cluster API's file layout: /run/kubeadm/kubeadm.yaml
    std::fs::create_dir_all(cp.node.path("/run/kubeadm")).unwrap();
    std::fs::write(cp.node.path("/run/kubeadm/kubeadm.yaml"), super::init_config("v1.33.3", "10.76.0.1")).unwrap();
    let cfg = cp.node.path("/run/kubeadm/kubeadm.yaml");
    let init = cp.run_as(&kubeadm, &["init", "--config", cfg.to_str().unwrap()]);
    assert_eq!(init.code, 0, "kubeadm init failed\n{}\n{}\n{}", init.stdout, init.stderr, cp.report());
    assert!(!init.stdout.contains("kbinit ") && init.stdout.contains("kubeadm join 10.76.0.1:6443"), "{}", init.stdout);
    assert!(init.stdout.contains("[certs] Using existing ca certificate authority"), "{}", init.stdout);
    for (f, bytes) in &given {
        assert_eq!(&std::fs::read(pki.join(f)).unwrap(), bytes, "{f} was not kept as Cluster API wrote it");
    }
    for (leaf, ca) in [
        ("apiserver", "ca"),
        ("apiserver-kubelet-client", "ca"),
        ("front-proxy-client", "front-proxy-ca"),
        ("etcd/server", "etcd/ca"),
    ] {
        let out = run_ok(
            "openssl",
            &[
                "verify",
                "-CAfile",
                pki.join(format!("{ca}.crt")).to_str().unwrap(),
                pki.join(format!("{leaf}.crt")).to_str().unwrap(),
            ],
        );
        assert!(out.trim().ends_with(": OK"), "{leaf}: {out}");
    }

    // a worker, also through the kubeadm name, with the pin of the given CA
    let pin = init.stdout.split_whitespace().find(|w| w.starts_with("sha256:")).unwrap().to_string();
    let ca_pin = kbinit_phases::certs::ca_cert_hash(&given[0].1).unwrap();
    assert_eq!(pin, ca_pin, "the printed pin is not the given CA's");
    let w = RealNode::on_lan(&lan, "capiw", "w1", "10.76.0.3", "v1.33.3");
    std::fs::create_dir_all(w.node.path("/run/kubeadm")).unwrap();
    let jcfg = w.node.path("/run/kubeadm/kubeadm.yaml");
    std::fs::write(&jcfg, join_config("10.76.0.1:6443", "w1", "abcdef.0123456789abcdef", &pin, None, None)).unwrap();
    let join = w.run_as(&kubeadm, &["join", "--config", jcfg.to_str().unwrap()]);
    assert_eq!(join.code, 0, "kubeadm join failed\n{}\n{}\n{}", join.stdout, join.stderr, w.report());
    let node = cp.with_admin(|api| api.call_once(http::Method::GET, "/api/v1/nodes/w1", None));
    assert!(node.is_ok(), "Node w1 not registered: {node:?}\n{}", w.report());
    let version = run_ok(kubeadm.to_str().unwrap(), &["version", "-o", "short"]);
    assert_eq!(version.trim(), kbinit_phases::version::KubeVersion::default_version().to_string());
}
