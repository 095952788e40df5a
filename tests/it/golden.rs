//! Goldens. First against kubeadm itself: the render of ../shared/reference/kubeadm-1.28.7/input-config.yaml
//! must equal kubeadm's in everything but key material, serials and timestamps. Then kbinit's own reviewed
//! renders in manifests/<scenario>/ (re-bless with `KBINIT_BLESS=1 cargo test golden`).
//!
//! A render is observed as text per file: manifests and kubelet files verbatim; certificates as
//! `openssl x509 -text` with serials, dates, key bytes and key ids cut (the form of the reference's
//! pki_*.crt.txt); keys as their PEM type; kubeconfigs with credentials redacted and the client subject added
//! (the form of the reference's *.conf.yaml).

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::{Node, files, mode, reference, repo, require_tool, run_ok};

/// Renders every node-side phase of init for a config file, as kubeadm's reference was produced.
pub fn render(node: &Node, config: &Path) {
    let cfg = config.display().to_string();
    for phase in [
        &["certs", "all"][..],
        &["kubeconfig", "all"],
        &["etcd", "local"],
        &["control-plane", "all"],
        &["kubelet-start"],
    ] {
        let mut args = vec!["init", "phase"];
        args.extend_from_slice(phase);
        args.extend_from_slice(&["--config", &cfg]);
        node.kbinit(&args).ok();
    }
}

/// `openssl x509 -noout -text` of a certificate with what differs per run cut out.
pub fn cert_text(pem_path: &Path) -> String {
    let text = run_ok("openssl", &["x509", "-noout", "-text", "-in", &pem_path.display().to_string()]);
    normalize_cert_text(&text)
}

/// Normalizes openssl's text (ours or the reference's) so that only deterministic fields remain.
pub fn normalize_cert_text(text: &str) -> String {
    let mut out = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim();
        if t.starts_with("Serial Number") || t.starts_with("Not Before") || t.starts_with("Not After") {
            // the serial may continue on the next line (long serials)
            while lines.peek().is_some_and(|l| is_hex_line(l)) {
                lines.next();
            }
            continue;
        }
        if t.starts_with("Signature Value") {
            break;
        }
        if is_hex_line(line) {
            continue; // key bytes, key ids
        }
        if t.starts_with("pub:") || t.starts_with("Modulus:") {
            out.push(line.trim_end().to_string());
            continue;
        }
        out.push(line.trim_end().to_string());
    }
    out.join("\n")
}

fn is_hex_line(l: &str) -> bool {
    let t = l.trim();
    !t.is_empty() && t.len() > 2 && t.split(':').all(|p| p.len() <= 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A kubeconfig with credentials redacted and `client-cert-subject` added, as in the reference.
pub fn kubeconfig_text(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    for line in text.lines() {
        let t = line.trim_start();
        let indent = &line[..line.len() - t.len()];
        if let Some(v) = t.strip_prefix("client-certificate-data: ") {
            let pem = base64_decode(v);
            let tmp = tempfile::NamedTempFile::new().unwrap();
            std::fs::write(tmp.path(), pem).unwrap();
            let subject = run_ok("openssl", &["x509", "-noout", "-subject", "-in", &tmp.path().display().to_string()]);
            out.push(format!("{indent}client-cert-subject: {}", subject.trim()));
            out.push(format!("{indent}client-certificate-data: <redacted>"));
        } else if let Some((k, _)) = t.split_once(": ").filter(|(k, _)| k.ends_with("-data")) {
            out.push(format!("{indent}{k}: <redacted>"));
        } else {
            out.push(line.to_string());
        }
    }
    out.join("\n") + "\n"
}

fn base64_decode(s: &str) -> Vec<u8> {
    let out = std::process::Command::new("openssl")
        .args(["base64", "-d", "-A"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(s.trim().as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    out.stdout
}

/// Every file of a render as (node path → observed text), with its mode.
pub fn observe(node: &Node) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for f in files(node.root()) {
        let p = node.path(&f);
        let m = mode(node, &f);
        let body = if f.ends_with(".crt") {
            cert_text(&p)
        } else if f.ends_with(".key") || f.ends_with(".pub") {
            let text = std::fs::read_to_string(&p).unwrap();
            text.lines().next().unwrap_or("").to_string()
        } else if f.ends_with(".conf") {
            kubeconfig_text(&p)
        } else {
            std::fs::read_to_string(&p).unwrap()
        };
        map.insert(f, format!("# mode {m:04o}\n{body}"));
    }
    map
}

#[test]
fn kubeadm_reference_render_is_matched() {
    if !require_tool("openssl") {
        return;
    }
    let node = Node::new();
    render(&node, &reference("input-config.yaml"));
    let pki = "/etc/kubernetes/pki";
    let mut expected: Vec<String> = [
        "ca.crt",
        "ca.key",
        "apiserver.crt",
        "apiserver.key",
        "apiserver-kubelet-client.crt",
        "apiserver-kubelet-client.key",
        "front-proxy-ca.crt",
        "front-proxy-ca.key",
        "front-proxy-client.crt",
        "front-proxy-client.key",
        "etcd/ca.crt",
        "etcd/ca.key",
        "etcd/server.crt",
        "etcd/server.key",
        "etcd/peer.crt",
        "etcd/peer.key",
        "etcd/healthcheck-client.crt",
        "etcd/healthcheck-client.key",
        "apiserver-etcd-client.crt",
        "apiserver-etcd-client.key",
        "sa.key",
        "sa.pub",
    ]
    .iter()
    .map(|f| format!("{pki}/{f}"))
    .collect();
    for f in ["admin.conf", "kubelet.conf", "controller-manager.conf", "scheduler.conf"] {
        expected.push(format!("/etc/kubernetes/{f}"));
    }
    for f in ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"] {
        expected.push(format!("/etc/kubernetes/manifests/{f}.yaml"));
    }
    expected.push("/var/lib/kubelet/config.yaml".into());
    expected.push("/var/lib/kubelet/kubeadm-flags.env".into());
    expected.sort();
    assert_eq!(files(node.root()), expected, "the same file set as kubeadm");

    // manifests, kubelet config and flags: byte for byte
    for (ours, theirs) in [
        ("/etc/kubernetes/manifests/etcd.yaml", "etcd.yaml"),
        ("/etc/kubernetes/manifests/kube-apiserver.yaml", "kube-apiserver.yaml"),
        ("/etc/kubernetes/manifests/kube-controller-manager.yaml", "kube-controller-manager.yaml"),
        ("/etc/kubernetes/manifests/kube-scheduler.yaml", "kube-scheduler.yaml"),
        ("/var/lib/kubelet/config.yaml", "kubelet-config.yaml"),
        ("/var/lib/kubelet/kubeadm-flags.env", "kubeadm-flags.env"),
    ] {
        let want = std::fs::read_to_string(reference(theirs)).unwrap();
        assert_eq!(node.read_str(ours), want, "{ours} differs from kubeadm's {theirs}");
    }

    // certificates: every deterministic field
    for f in files(node.root()).iter().filter(|f| f.ends_with(".crt")) {
        let name = format!(
            "pki_{}.crt.txt",
            f.trim_start_matches(&format!("{pki}/")).trim_end_matches(".crt").replace('/', "_")
        );
        let want = normalize_cert_text(&std::fs::read_to_string(reference(&name)).unwrap());
        assert_eq!(cert_text(&node.path(f)), want, "{f} differs from kubeadm's {name}");
    }

    // kubeconfigs: servers, names, client subjects
    for f in ["admin", "kubelet", "controller-manager", "scheduler"] {
        let want = std::fs::read_to_string(reference(&format!("{f}.conf.yaml"))).unwrap();
        assert_eq!(kubeconfig_text(&node.path(&format!("/etc/kubernetes/{f}.conf"))), want, "{f}.conf");
    }

    // modes: keys, sa.pub, kubeconfigs and manifests 0600; certs and kubelet files 0644
    for f in files(node.root()) {
        let want = if f.ends_with(".crt") || f.starts_with("/var/lib/kubelet/") { 0o644 } else { 0o600 };
        assert_eq!(mode(&node, &f), want, "mode of {f}");
    }
}

/// Validity spans: CAs 10 years + 5 minutes, leaves 1 year + 5 minutes, every leaf starting with its CA.
#[test]
fn validity_follows_kubeadm() {
    if !require_tool("openssl") {
        return;
    }
    let node = Node::new();
    render(&node, &reference("input-config.yaml"));
    let dates = |f: &str| -> (i64, i64) {
        let p = node.path(&format!("/etc/kubernetes/pki/{f}"));
        let parse = |flag: &str| {
            let out =
                run_ok("openssl", &["x509", "-noout", flag, "-dateopt", "iso_8601", "-in", &p.display().to_string()]);
            let v = out.trim().split_once('=').unwrap().1.to_string();
            let d = run_ok("date", &["-u", "-d", &v, "+%s"]);
            d.trim().parse::<i64>().unwrap()
        };
        (parse("-startdate"), parse("-enddate"))
    };
    let (ca_start, ca_end) = dates("ca.crt");
    assert_eq!(ca_end - ca_start, 3650 * 86400 + 300);
    for (leaf, ca) in [
        ("apiserver.crt", "ca.crt"),
        ("front-proxy-client.crt", "front-proxy-ca.crt"),
        ("etcd/server.crt", "etcd/ca.crt"),
    ] {
        let (s, e) = dates(leaf);
        assert_eq!(s, dates(ca).0, "{leaf} starts when its CA does");
        assert_eq!(e - s, 365 * 86400 + 300, "{leaf} lasts a year from now");
    }
}

/// kbinit's own goldens: each manifests/<scenario>/ holds input.yaml, optionally pre/ (files put on the node
/// first), and expected/ (the observed render).
#[test]
fn scenarios_match_their_goldens() {
    if !require_tool("openssl") {
        return;
    }
    let bless = std::env::var_os("KBINIT_BLESS").is_some();
    let dir = repo().join("manifests");
    let mut scenarios: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("input.yaml").is_file())
        .collect();
    scenarios.sort();
    assert!(scenarios.len() >= 5, "expected at least 5 scenarios in manifests/");
    let mut failures = Vec::new();
    for sc in scenarios {
        let node = Node::new();
        let pre = sc.join("pre");
        let mut pre_files = Vec::new();
        if pre.is_dir() {
            for f in files(&pre) {
                node.put(&f, &std::fs::read(pre.join(f.trim_start_matches('/'))).unwrap());
                pre_files.push(f);
            }
        }
        render(&node, &sc.join("input.yaml"));
        let observed: BTreeMap<_, _> = observe(&node).into_iter().collect();
        let expected_dir = sc.join("expected");
        if bless {
            let _ = std::fs::remove_dir_all(&expected_dir);
            for (f, text) in &observed {
                let p = expected_dir.join(format!("{}.txt", f.trim_start_matches('/')));
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(p, text).unwrap();
            }
            continue;
        }
        let mut expected = BTreeMap::new();
        for f in files(&expected_dir) {
            let node_path = f.trim_end_matches(".txt").to_string();
            expected.insert(node_path, std::fs::read_to_string(expected_dir.join(f.trim_start_matches('/'))).unwrap());
        }
        let name = sc.file_name().unwrap().to_string_lossy().into_owned();
        let (o_keys, e_keys): (Vec<_>, Vec<_>) = (observed.keys().collect(), expected.keys().collect());
        if o_keys != e_keys {
            failures.push(format!("{name}: file set differs\n  render: {o_keys:?}\n  golden: {e_keys:?}"));
            continue;
        }
        for (f, text) in &observed {
            if expected.get(f) != Some(text) {
                failures.push(format!(
                    "{name}: {f} differs from its golden:\n--- golden\n{}\n--- render\n{text}",
                    expected[f]
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}\n(re-bless with KBINIT_BLESS=1 after reviewing)", failures.join("\n\n"));
}

/// The reference input rendered at v1.34.0 … v1.37.0 (manifests/reference-v1.3x.0/): between two releases
/// exactly the files manifests/VERSIONS.md lists change, and with the lines it names.
#[test]
fn reference_goldens_change_per_release_as_kubeadm_does() {
    let dir = repo().join("manifests");
    let load = |v: &str| -> BTreeMap<String, String> {
        let expected = dir.join(format!("reference-{v}/expected"));
        files(&expected)
            .into_iter()
            .map(|f| (f.clone(), std::fs::read_to_string(expected.join(f.trim_start_matches('/'))).unwrap()))
            .collect()
    };
    let changed = |a: &BTreeMap<String, String>, b: &BTreeMap<String, String>| -> Vec<String> {
        assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "the same file set");
        a.iter().filter(|(f, t)| b[*f] != **t).map(|(f, _)| f.trim_end_matches(".txt").to_string()).collect()
    };
    let (v34, v35, v36, v37) = (load("v1.34.0"), load("v1.35.0"), load("v1.36.0"), load("v1.37.0"));
    let m = |c: &str| format!("/etc/kubernetes/manifests/{c}.yaml");
    let kubelet = |f: &str| format!("/var/lib/kubelet/{f}");
    let client = "/etc/kubernetes/pki/apiserver-kubelet-client.crt".to_string();
    let all_manifests = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"].map(m);
    // 1.35: images, etcd's flags, and kubeadm-flags.env without --pod-infra-container-image; the CRI socket
    // already moved to instance-config.yaml in 1.34 (NodeLocalCRISocket on by default)
    let mut want35: Vec<String> = all_manifests.to_vec();
    want35.push(kubelet("kubeadm-flags.env"));
    assert_eq!(changed(&v34, &v35), want35);
    let instance = |r: &BTreeMap<String, String>| r["/var/lib/kubelet/instance-config.yaml.txt"].clone();
    assert_eq!(instance(&v34), instance(&v35));
    assert_eq!(changed(&v35, &v36), all_manifests.to_vec(), "1.36: images, and the KCM's flex-volume mount");
    let mut want37 = all_manifests.to_vec();
    want37.push(client.clone());
    want37.sort();
    assert_eq!(changed(&v36, &v37), want37);

    let get = |r: &BTreeMap<String, String>, f: &str| r[&format!("{f}.txt")].clone();
    assert_eq!(
        get(&v34, &kubelet("instance-config.yaml")),
        "# mode 0644\ncontainerRuntimeEndpoint: \"unix:///run/containerd/containerd.sock\"\n"
    );
    assert!(
        get(&v34, &kubelet("config.yaml"))
            .contains("containerRuntimeEndpoint: unix:///run/containerd/containerd.sock\n")
    );
    assert!(!get(&v34, &kubelet("kubeadm-flags.env")).contains("--container-runtime-endpoint"));
    assert!(get(&v35, &m("etcd")).contains("    - --feature-gates=InitialCorruptCheck=true\n"));
    assert!(get(&v35, &m("kube-scheduler")).contains("        path: /readyz\n        port: probe-port\n"));
    assert!(get(&v35, &kubelet("kubeadm-flags.env")).ends_with("KUBELET_KUBEADM_ARGS=\"--hostname-override=cp1\"\n"));
    assert!(get(&v35, &m("kube-controller-manager")).contains("name: flexvolume-dir"));
    assert!(!get(&v36, &m("kube-controller-manager")).contains("flexvolume-dir"));
    assert!(get(&v36, &m("etcd")).contains("image: registry.k8s.io/etcd:3.6.8-0"));
    assert!(get(&v37, &client).contains("Subject: O = system:kubelet-api-admin, CN = kube-apiserver-kubelet-client"));
    assert!(get(&v36, &client).contains("Subject: O = kubeadm:cluster-admins, CN = kube-apiserver-kubelet-client"));
}
