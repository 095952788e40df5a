//! `kbinit certs check-expiration|renew|generate-csr` on a node set up by `init phase certs all` + `kubeconfig
//! all`: kubeadm's table (§N.4) and its `-o json|yaml` output API, renewal judged by openssl (same
//! subject/SANs/EKUs, new key, still chains to the CA, modes unchanged, CAs and kubelet.conf untouched), external
//! CAs skipped (§B.6), and CSRs that openssl accepts (§A.6, §B.4).

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::support::config::init_yaml;
use crate::support::{Node, mode, require_tool, run_ok, snapshot};

const PKI: &str = "/etc/kubernetes/pki";
/// Leaf certificates (file base under the PKI dir, CA base).
const LEAVES: [(&str, &str); 7] = [
    ("apiserver", "ca"),
    ("apiserver-kubelet-client", "ca"),
    ("front-proxy-client", "front-proxy-ca"),
    ("etcd/server", "etcd/ca"),
    ("etcd/peer", "etcd/ca"),
    ("etcd/healthcheck-client", "etcd/ca"),
    ("apiserver-etcd-client", "etcd/ca"),
];
const KUBECONFIGS: [&str; 4] = ["admin.conf", "super-admin.conf", "controller-manager.conf", "scheduler.conf"];

/// A node with kbinit's PKI and kubeconfigs (newest version, so super-admin.conf too), and a kubeconfig whose API
/// server refuses connections (`dead.conf`), so reading kubeadm-config fails at once.
fn node() -> Node {
    let n = Node::new();
    let flags = ["--apiserver-advertise-address", "10.0.0.10", "--node-name", "cp1"];
    n.kbinit(&[&["init", "phase", "certs", "all"][..], &flags].concat()).ok();
    n.kbinit(&[&["init", "phase", "kubeconfig", "all"][..], &flags].concat()).ok();
    let admin = n.read_str("/etc/kubernetes/admin.conf");
    let dead: String = admin
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("server:") { "    server: https://127.0.0.1:1".into() } else { l.to_string() }
        })
        .collect::<Vec<_>>()
        .join("\n");
    n.put("/etc/kubernetes/dead.conf", dead.as_bytes());
    n
}

fn p(n: &Node, path: &str) -> String {
    n.path(path).display().to_string()
}

fn x509(file: &Path, args: &[&str]) -> String {
    run_ok("openssl", &[&["x509", "-in", file.to_str().unwrap(), "-noout"][..], args].concat())
}

/// The client certificate and key (PEM) embedded in a kubeconfig.
fn embedded(n: &Node, file: &str) -> (Vec<u8>, Vec<u8>) {
    let text = n.read_str(&format!("/etc/kubernetes/{file}"));
    let field = |k: &str| {
        let line = text.lines().find(|l| l.trim_start().starts_with(k)).unwrap_or_else(|| panic!("{file}: no {k}"));
        B64.decode(line.split_once(':').unwrap().1.trim()).unwrap()
    };
    (field("client-certificate-data:"), field("client-key-data:"))
}

#[test]
fn check_expiration_prints_kubeadms_tables() {
    let n = node();
    let run = n.kbinit(&["certs", "check-expiration", "--kubeconfig", "/etc/kubernetes/dead.conf"]).ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[..4],
        [
            "[check-expiration] Reading configuration from the cluster...",
            "[check-expiration] FYI: You can look at this config file with 'kubectl -n kube-system get cm kubeadm-config -o yaml'",
            "[check-expiration] Error reading configuration from the Cluster. Falling back to default configuration",
            "",
        ]
    );
    assert_eq!(
        lines[4],
        "CERTIFICATE                EXPIRES                  RESIDUAL TIME   CERTIFICATE AUTHORITY   EXTERNALLY MANAGED"
    );
    let names: Vec<&str> = lines[5..16].iter().map(|l| l.split(' ').next().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(names.len(), 11);
    assert!(!run.stdout.contains("kubelet.conf"));
    let date = run_ok("date", &["-u", "-d", "+365 days", "+%b %d, %Y"]);
    for (line, ca) in lines[5..16].iter().zip([
        "ca",
        "ca",
        "etcd-ca",
        "ca",
        "ca",
        "etcd-ca",
        "etcd-ca",
        "etcd-ca",
        "front-proxy-ca",
        "ca",
        "ca",
    ]) {
        let name = line.split(' ').next().unwrap();
        let want_prefix = format!("{name:<27}{}", date.trim());
        assert!(line.starts_with(&want_prefix), "{line:?} vs {want_prefix:?}");
        assert!(line.ends_with(&format!("UTC   364d            {ca:<24}no      ")), "{line:?}");
    }
    assert_eq!(lines[16], "");
    assert_eq!(lines[17], "CERTIFICATE AUTHORITY   EXPIRES                  RESIDUAL TIME   EXTERNALLY MANAGED");
    for (line, name) in lines[18..21].iter().zip(["ca", "etcd-ca", "front-proxy-ca"]) {
        assert!(
            line.starts_with(&format!("{name:<24}")) && line.ends_with("UTC   9y              no      "),
            "{line:?}"
        );
    }
    assert_eq!(lines.len(), 21);

    std::fs::remove_file(n.path("/etc/kubernetes/pki/apiserver.crt")).unwrap();
    std::fs::remove_file(n.path("/etc/kubernetes/pki/front-proxy-ca.crt")).unwrap();
    let run = n.kbinit(&["certs", "check-expiration", "--kubeconfig", "/nowhere.conf"]).ok();
    assert!(!run.stdout.contains("[check-expiration]"), "no kubeconfig: no cluster read is announced");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0].split_whitespace().next(), Some("CERTIFICATE"));
    assert!(lines[0].starts_with("CERTIFICATE                EXPIRES"), "{:?}", lines[0]);
    assert_eq!(lines[2].trim_end(), "!MISSING! apiserver");
    assert_eq!(lines[2].len(), lines[0].len() - "EXTERNALLY MANAGED".len(), "empty cells are padded");
    assert_eq!(lines[16].trim_end(), "!MISSING! front-proxy-ca");
}

#[test]
fn renew_all_keeps_identity_and_replaces_keys() {
    if !require_tool("openssl") {
        return;
    }
    let n = node();
    let before = snapshot(n.root());
    let dir = tempfile::tempdir().unwrap();
    let keep = |name: &str, bytes: &[u8]| {
        let f = dir.path().join(name.replace('/', "_"));
        std::fs::write(&f, bytes).unwrap();
        f
    };
    let old_leaves: Vec<_> = LEAVES.iter().map(|(b, _)| keep(b, &n.read(&format!("{PKI}/{b}.crt")))).collect();
    let old_confs: Vec<_> = KUBECONFIGS.iter().map(|k| embedded(&n, k)).collect();
    std::thread::sleep(std::time::Duration::from_millis(1100)); // NotAfter counts whole seconds
    let run = n.kbinit(&["certs", "renew", "all", "--kubeconfig", "/etc/kubernetes/dead.conf"]).ok();
    assert!(
        run.stdout
            .contains("[renew] Error reading configuration from the Cluster. Falling back to default configuration\n")
    );
    assert!(run.stdout.contains("\ncertificate for serving the Kubernetes API renewed\n"));
    assert!(run.stdout.contains(
        "\ncertificate embedded in the kubeconfig file for the admin to use and for kubeadm itself renewed\n"
    ));
    assert!(run.stdout.ends_with(
        "renewed\n\nDone renewing certificates. You must restart the kube-apiserver, kube-controller-manager, \
         kube-scheduler and etcd, so that they can use the new certificates.\n"
    ));
    assert_eq!(run.stdout.matches(" renewed\n").count(), 11);

    let identity = ["-subject", "-ext", "subjectAltName,extendedKeyUsage"];
    for ((base, ca), old) in LEAVES.iter().zip(&old_leaves) {
        let new = n.path(&format!("{PKI}/{base}.crt"));
        assert_eq!(x509(old, &identity), x509(&new, &identity), "{base}: subject/SANs/EKUs");
        assert_ne!(x509(old, &["-serial"]), x509(&new, &["-serial"]), "{base}: a new certificate");
        assert_ne!(x509(old, &["-pubkey"]), x509(&new, &["-pubkey"]), "{base}: a new key");
        assert_eq!(
            x509(&new, &["-pubkey"]),
            run_ok("openssl", &["pkey", "-pubout", "-in", &p(&n, &format!("{PKI}/{base}.key"))])
        );
        let (old_end, new_end) = (x509(old, &["-enddate"]), x509(&new, &["-enddate"]));
        assert!(rfc(&new_end) > rfc(&old_end), "{base}: {old_end} → {new_end}");
        // kubeadm (§B.3): a leaf's NotBefore is its CA's NotBefore, also after renewal
        let ca_start = x509(&n.path(&format!("{PKI}/{ca}.crt")), &["-startdate"]);
        assert_eq!(x509(&new, &["-startdate"]), ca_start, "{base}");
        let out =
            run_ok("openssl", &["verify", "-CAfile", &p(&n, &format!("{PKI}/{ca}.crt")), &new.display().to_string()]);
        assert!(out.trim_end().ends_with(": OK"), "{base}: {out}");
    }
    for (file, (old_cert, old_key)) in KUBECONFIGS.iter().zip(&old_confs) {
        let (cert, key) = embedded(&n, file);
        assert_ne!(&key, old_key, "{file}: a new key");
        let (old_f, new_f) = (keep(&format!("old-{file}"), old_cert), keep(&format!("new-{file}"), &cert));
        assert_eq!(x509(&old_f, &identity), x509(&new_f, &identity), "{file}");
        let key_f = keep(&format!("key-{file}"), &key);
        assert_eq!(x509(&new_f, &["-pubkey"]), run_ok("openssl", &["pkey", "-pubout", "-in", key_f.to_str().unwrap()]));
        let out = run_ok("openssl", &["verify", "-CAfile", &p(&n, &format!("{PKI}/ca.crt")), new_f.to_str().unwrap()]);
        assert!(out.trim_end().ends_with(": OK"), "{file}: {out}");
    }
    let after = snapshot(n.root());
    for (path, (m, bytes)) in &before {
        let (m2, bytes2) = &after[path];
        assert_eq!(m, m2, "{}: mode changed", path.display());
        let s = path.display().to_string();
        let renewed = LEAVES
            .iter()
            .any(|(b, _)| s == format!("etc/kubernetes/pki/{b}.crt") || s == format!("etc/kubernetes/pki/{b}.key"))
            || KUBECONFIGS.iter().any(|k| s == format!("etc/kubernetes/{k}"));
        if !renewed {
            assert_eq!(bytes, bytes2, "{s} must be untouched (CAs, sa, kubelet.conf)");
        } else {
            assert_ne!(bytes, bytes2, "{s} must be renewed");
        }
    }
    assert_eq!(before.keys().collect::<Vec<_>>(), after.keys().collect::<Vec<_>>(), "no file added or removed");
    assert_eq!(mode(&n, "/etc/kubernetes/admin.conf"), 0o600);
    assert_eq!(mode(&n, "/etc/kubernetes/pki/etcd/peer.key"), 0o600);
    assert_eq!(mode(&n, "/etc/kubernetes/pki/etcd/peer.crt"), 0o644);
}

/// Seconds since the epoch of openssl's `notAfter=Nov 22 20:50:29 2027 GMT`.
fn rfc(line: &str) -> i64 {
    let date = line.split_once('=').unwrap().1.trim();
    run_ok("date", &["-u", "-d", date, "+%s"]).trim().parse().unwrap()
}

#[test]
fn renew_one_touches_only_its_files_and_external_ca_is_skipped() {
    let n = node();
    let before = snapshot(n.root());
    let run = n.kbinit(&["certs", "renew", "etcd-peer", "--kubeconfig", "/nowhere.conf"]).ok();
    assert_eq!(run.stdout, "certificate for etcd nodes to communicate with each other renewed\n");
    let after = snapshot(n.root());
    let changed: Vec<String> =
        before.iter().filter(|(p, v)| after[*p] != **v).map(|(p, _)| p.display().to_string()).collect();
    assert_eq!(changed, ["etc/kubernetes/pki/etcd/peer.crt", "etc/kubernetes/pki/etcd/peer.key"]);

    let run = n.kbinit(&["certs", "renew", "scheduler.conf", "--kubeconfig", "/nowhere.conf"]).ok();
    assert_eq!(run.stdout, "certificate embedded in the kubeconfig file for the scheduler manager to use renewed\n");
    let run = n.kbinit(&["certs", "renew", "kubelet.conf", "--kubeconfig", "/nowhere.conf"]);
    assert_eq!(run.code, 3, "{}", run.stderr);

    std::fs::remove_file(n.path("/etc/kubernetes/pki/ca.key")).unwrap();
    let before = snapshot(n.root());
    let run = n.kbinit(&["certs", "renew", "all", "--kubeconfig", "/nowhere.conf"]).ok();
    assert!(run.stdout.starts_with(
        "Detected external ca, certificate embedded in the kubeconfig file for the admin to use and for kubeadm itself can't be renewed\n\
         Detected external ca, certificate for serving the Kubernetes API can't be renewed\n\
         certificate the apiserver uses to access etcd renewed\n"
    ), "{}", run.stdout);
    assert!(run.stdout.contains(
        "Detected external ca, certificate embedded in the kubeconfig file for the super-admin can't be renewed\n"
    ));
    let after = snapshot(n.root());
    for f in [
        "etc/kubernetes/pki/apiserver.crt",
        "etc/kubernetes/admin.conf",
        "etc/kubernetes/pki/apiserver-kubelet-client.key",
    ] {
        assert_eq!(before[Path::new(f)], after[Path::new(f)], "{f} belongs to the external CA");
    }
    let table = n.kbinit(&["certs", "check-expiration", "--kubeconfig", "/nowhere.conf"]).ok().stdout;
    let row = |name: &str| table.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap().trim_end().to_string();
    assert!(row("apiserver").ends_with("ca                      yes"), "{table}");
    assert!(row("etcd-server").ends_with("etcd-ca                 no"), "{table}");
    assert!(row("ca").ends_with("   yes"), "{table}");
}

#[test]
fn generate_csr_writes_verifiable_requests_and_refuses_to_overwrite() {
    if !require_tool("openssl") {
        return;
    }
    let n = Node::new();
    let cfg = n.path("/cfg.yaml");
    std::fs::write(&cfg, init_yaml("v1.29.2", "10.0.0.10").without_cri_socket().build()).unwrap();
    let cfg = cfg.display().to_string();
    let run = n.kbinit(&["certs", "generate-csr", "--config", &cfg]).ok();
    assert!(run.stdout.starts_with("generating keys and CSRs in /etc/kubernetes/pki\n  apiserver\n"), "{}", run.stdout);
    assert!(run.stdout.contains("generating keys and CSRs in /etc/kubernetes\n  admin.conf\n  super-admin.conf\n"));
    let subjects = [
        ("pki/apiserver", "subject=CN=kube-apiserver"),
        ("pki/apiserver-kubelet-client", "subject=O=kubeadm:cluster-admins, CN=kube-apiserver-kubelet-client"),
        ("pki/front-proxy-client", "subject=CN=front-proxy-client"),
        ("pki/etcd/server", "subject=CN=cp1"),
        ("pki/etcd/peer", "subject=CN=cp1"),
        ("pki/etcd/healthcheck-client", "subject=CN=kube-etcd-healthcheck-client"),
        ("pki/apiserver-etcd-client", "subject=CN=kube-apiserver-etcd-client"),
        ("admin.conf", "subject=O=kubeadm:cluster-admins, CN=kubernetes-admin"),
        ("super-admin.conf", "subject=O=system:masters, CN=kubernetes-super-admin"),
        ("kubelet.conf", "subject=O=system:nodes, CN=system:node:cp1"),
        ("controller-manager.conf", "subject=CN=system:kube-controller-manager"),
        ("scheduler.conf", "subject=CN=system:kube-scheduler"),
    ];
    for (base, subject) in subjects {
        let csr = p(&n, &format!("/etc/kubernetes/{base}.csr"));
        let out = run_ok("openssl", &["req", "-in", &csr, "-noout", "-verify", "-subject"]);
        assert_eq!(out.trim().replace(" = ", "="), subject, "{base}");
        assert_eq!(mode(&n, &format!("/etc/kubernetes/{base}.csr")), 0o600, "{base}");
        let key = if base.starts_with("pki/") {
            assert_eq!(mode(&n, &format!("/etc/kubernetes/{base}.key")), 0o600, "{base}");
            p(&n, &format!("/etc/kubernetes/{base}.key"))
        } else {
            assert_eq!(mode(&n, &format!("/etc/kubernetes/{base}")), 0o600, "{base}");
            let text = n.read_str(&format!("/etc/kubernetes/{base}"));
            assert!(
                !text.contains("client-certificate-data") && !text.contains("certificate-authority-data"),
                "{text}"
            );
            let line = text.lines().find(|l| l.contains("client-key-data:")).unwrap();
            let f = n.path(&format!("/{base}.key-from-conf"));
            std::fs::write(&f, B64.decode(line.split_once(':').unwrap().1.trim()).unwrap()).unwrap();
            f.display().to_string()
        };
        let from_key = run_ok("openssl", &["pkey", "-pubout", "-in", &key]);
        assert_eq!(from_key, run_ok("openssl", &["req", "-in", &csr, "-noout", "-pubkey"]), "{base}: key and CSR");
    }
    let sans = run_ok("openssl", &["req", "-in", &p(&n, "/etc/kubernetes/pki/etcd/server.csr"), "-noout", "-text"]);
    assert!(sans.contains("DNS:cp1, DNS:localhost, IP Address:10.0.0.10, IP Address:127.0.0.1"), "{sans}");
    assert_eq!(mode(&n, "/etc/kubernetes/pki"), 0o700);
    assert!(!n.path("/etc/kubernetes/pki/ca.key").exists() && !n.path("/etc/kubernetes/pki/sa.key").exists());

    let before = snapshot(n.root());
    let run = n.kbinit(&["certs", "generate-csr", "--config", &cfg]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("file already exists: key or CSR /etc/kubernetes/pki/apiserver"), "{}", run.stderr);
    assert_eq!(before, snapshot(n.root()), "a refused run writes nothing");
    std::fs::remove_dir_all(n.path("/etc/kubernetes/pki")).unwrap();
    let run = n.kbinit(&["certs", "generate-csr", "--config", &cfg]);
    assert!(run.stderr.contains("file already exists: kube config: /etc/kubernetes/admin.conf"), "{}", run.stderr);
    assert!(!n.path("/etc/kubernetes/pki").exists(), "a refused run writes nothing");
}

/// `-o json|yaml`: kubeadm's `output.kubeadm.k8s.io/v1alpha3` `CertificateExpirationInfo` (field names and order
/// from kubeadm's `apis/output/v1alpha3/types.go`), dates and residual times as openssl reads the files, a
/// missing file as a row with only its name and `missing: true`.
#[test]
fn check_expiration_structured_output_is_kubeadms_output_api() {
    let n = node();
    std::fs::remove_file(n.path("/etc/kubernetes/super-admin.conf")).unwrap();
    // a cluster that cannot be asked: kubeadm's structured printer keeps the info lines about it off stdout
    let args = ["certs", "check-expiration", "--kubeconfig", "/etc/kubernetes/dead.conf", "-o"];
    let json = n.kbinit(&[&args[..], &["json"]].concat()).ok().stdout;
    let lines: Vec<&str> = json.lines().take(3).collect();
    assert_eq!(
        lines,
        [
            "{",
            "    \"kind\": \"CertificateExpirationInfo\",",
            "    \"apiVersion\": \"output.kubeadm.k8s.io/v1alpha3\","
        ]
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let yaml = n.kbinit(&[&args[..], &["yaml"]].concat()).ok().stdout;
    let y = kbinit_phases::go_format::yaml::from_yaml(&yaml).unwrap();
    assert_eq!(y["kind"], v["kind"]);
    assert_eq!(y["certificates"].as_array().unwrap().len(), v["certificates"].as_array().unwrap().len());

    let certs = v["certificates"].as_array().unwrap();
    let names: Vec<&str> = certs.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert!(names.windows(2).all(|w| w[0] < w[1]) && names.len() == 11, "{names:?}");
    let missing = certs.iter().find(|c| c["name"] == "super-admin.conf").unwrap();
    assert_eq!(
        missing,
        &serde_json::json!({"name": "super-admin.conf", "expirationDate": null, "residualTime": 0,
            "externallyManaged": false, "missing": true})
    );
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    for (name, file, ca) in [
        ("apiserver", "/etc/kubernetes/pki/apiserver.crt", "ca"),
        ("etcd-peer", "/etc/kubernetes/pki/etcd/peer.crt", "etcd-ca"),
    ] {
        let row = certs.iter().find(|c| c["name"] == name).unwrap();
        let keys: Vec<&String> = row.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 6, "{row}");
        assert_eq!(
            (&row["caName"], &row["missing"], &row["externallyManaged"]),
            (&ca.into(), &false.into(), &false.into())
        );
        let end = x509(&n.path(file), &["-enddate", "-dateopt", "iso_8601"]);
        // openssl: notAfter=2027-12-03 06:41:53Z
        let end = end.trim().trim_start_matches("notAfter=").replace(' ', "T");
        assert_eq!(row["expirationDate"], end.as_str(), "{name}");
        let t = time::OffsetDateTime::parse(&end, &time::format_description::well_known::Rfc3339).unwrap();
        let residual = row["residualTime"].as_i64().unwrap();
        assert!((t.unix_timestamp() - now - residual).abs() < 60, "{name}: residualTime {residual}");
    }
    let cas = v["certificateAuthorities"].as_array().unwrap();
    assert_eq!(
        cas.iter().map(|c| c["name"].as_str().unwrap()).collect::<Vec<_>>(),
        ["ca", "etcd-ca", "front-proxy-ca"]
    );
    assert!(cas.iter().all(|c| c.get("caName").is_none() && c["missing"] == false));
}
