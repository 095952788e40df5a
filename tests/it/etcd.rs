//! Real etcd from the rendered manifest: `init phase certs all` + `init phase etcd local` for a node advertising
//! 192.0.2.10, then Debian's etcd started inside a private network namespace with exactly the manifest's command
//! line (only the hostPath prefixes moved under the node root). It must come up healthy for the healthcheck-client
//! certificate on both client URLs, refuse clients without a certificate or with one from another CA, list the
//! member with its peer URL, and answer the liveness probe's URL on the metrics port.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::nodes::netns::Netns;
use crate::support::nodes::staticpod::{host_paths, manifest_command, resolve};
use crate::support::{Node, mode, reference, require_tool};

/// The documentation address the node advertises; it exists only on the namespace's loopback.
const ADVERTISE: &str = "192.0.2.10";

/// The etcd process, killed on drop (declared after its namespace, so it goes first).
struct Etcd {
    child: Child,
    log: PathBuf,
}

impl Etcd {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn etcd_starts_from_rendered_manifest() {
    if !require_tool("etcd") || !require_tool("etcdctl") || !require_tool("ip") {
        return;
    }
    let node = Node::new();
    let input = std::fs::read_to_string(reference("input-config.yaml")).unwrap();
    assert!(input.contains("advertiseAddress: 10.0.0.10") && input.contains("kubernetesVersion: v1.28.7"));
    let config = node.root().join("input.yaml");
    std::fs::write(&config, input.replace("advertiseAddress: 10.0.0.10", &format!("advertiseAddress: {ADVERTISE}")))
        .unwrap();
    let config = config.to_str().unwrap();
    node.kbinit(&["init", "phase", "certs", "all", "--config", config]).ok();
    node.kbinit(&["init", "phase", "etcd", "local", "--config", config]).ok();
    assert_eq!(mode(&node, "/var/lib/etcd"), 0o700, "the etcd phase creates the data dir 0700");

    let yaml = node.read_str("/etc/kubernetes/manifests/etcd.yaml");
    let command = manifest_command(&yaml);
    assert_eq!(command.first().map(String::as_str), Some("etcd"));
    let flags = &command[1..];
    assert!(flags.len() >= 19 && flags.iter().all(|f| f.starts_with("--") && f.contains('=')), "{flags:?}");
    for want in [
        format!("--advertise-client-urls=https://{ADVERTISE}:2379"),
        format!("--listen-client-urls=https://127.0.0.1:2379,https://{ADVERTISE}:2379"),
        format!("--listen-peer-urls=https://{ADVERTISE}:2380"),
        format!("--initial-cluster=cp1=https://{ADVERTISE}:2380"),
        "--client-cert-auth=true".into(),
        "--peer-client-cert-auth=true".into(),
    ] {
        assert!(flags.contains(&want), "{want} missing from {flags:?}");
    }
    let mounts = host_paths(&yaml);
    let args: Vec<String> = flags.iter().map(|f| resolve(f, &mounts, node.root())).collect();
    let root = node.root().display().to_string();
    assert!(args.iter().any(|a| a == &format!("--data-dir={root}/var/lib/etcd")), "{args:?}");
    assert!(args.iter().any(|a| a == &format!("--cert-file={root}/etc/kubernetes/pki/etcd/server.crt")), "{args:?}");

    let ns = Netns::create(format!("kbinit-etcd-{}", std::process::id()), &[ADVERTISE]);
    let log = node.root().join("etcd.log");
    let log_file = std::fs::File::create(&log).unwrap();
    let child = ns
        .command("etcd")
        .args(&args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .spawn()
        .unwrap();
    let mut etcd = Etcd { child, log };

    let pki = |f: &str| format!("{root}/etc/kubernetes/pki/{f}");
    let etcdctl = |endpoint: &str, cert: Option<(&str, &str)>, args: &[&str]| -> (bool, String) {
        let mut c = ns.command("etcdctl");
        c.env("ETCDCTL_API", "3").arg(format!("--endpoints=https://{endpoint}:2379")).args([
            "--cacert",
            &pki("etcd/ca.crt"),
            "--dial-timeout=2s",
            "--command-timeout=3s",
        ]);
        if let Some((crt, key)) = cert {
            c.args(["--cert", &pki(crt), "--key", &pki(key)]);
        }
        let o = c.args(args).output().unwrap();
        (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
    };
    let health = Some(("etcd/healthcheck-client.crt", "etcd/healthcheck-client.key"));

    // bounded wait: healthy, or etcd died (an unknown flag exits at once), or 20 s
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last;
    loop {
        if let Some(status) = etcd.child.try_wait().unwrap() {
            panic!("etcd exited with {status} on the manifest's flags {args:?}:\n{}", etcd.log());
        }
        let (ok, out) = etcdctl("127.0.0.1", health, &["endpoint", "health"]);
        last = out;
        if ok || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(last.contains("https://127.0.0.1:2379 is healthy"), "not healthy in 20 s: {last}\n{}", etcd.log());
    // (etcd exits 2 on a flag it does not know, which the loop above reports with etcd's log)

    // the advertise address too: the server certificate carries IP:192.0.2.10
    let (ok, out) = etcdctl(ADVERTISE, health, &["endpoint", "health"]);
    assert!(ok && out.contains(&format!("https://{ADVERTISE}:2379 is healthy")), "{out}");

    // no client certificate: refused
    let (ok, out) = etcdctl("127.0.0.1", None, &["endpoint", "health"]);
    assert!(!ok && out.contains("unhealthy"), "a client without a certificate got in: {out}");
    // a client certificate from the Kubernetes CA, not etcd's: refused
    let kube_ca = Some(("apiserver-kubelet-client.crt", "apiserver-kubelet-client.key"));
    let (ok, out) = etcdctl("127.0.0.1", kube_ca, &["endpoint", "health"]);
    assert!(!ok, "a client certificate from the wrong CA got in: {out}");
    // the API server's etcd client certificate works for data
    let apiserver = Some(("apiserver-etcd-client.crt", "apiserver-etcd-client.key"));
    let (ok, out) = etcdctl(ADVERTISE, apiserver, &["put", "/registry/kbinit", "ok"]);
    assert!(ok && out.trim() == "OK", "put: {out}");

    // the member: node name, peer URL, client URL
    let (ok, out) = etcdctl("127.0.0.1", health, &["member", "list"]);
    assert!(ok, "member list: {out}");
    let members: Vec<Vec<&str>> = out.lines().map(|l| l.split(", ").collect()).collect();
    assert_eq!(members.len(), 1, "{out}");
    let m = &members[0];
    assert_eq!(
        m[1..5],
        ["started", "cp1", &format!("https://{ADVERTISE}:2380"), &format!("https://{ADVERTISE}:2379")],
        "{out}"
    );

    // the liveness probe's URL on the metrics listener (plain HTTP, 127.0.0.1:2381)
    if Command::new("sh").args(["-c", "command -v curl"]).output().is_ok_and(|o| o.status.success()) {
        let probe = yaml
            .lines()
            .skip_while(|l| l.trim() != "livenessProbe:")
            .find_map(|l| l.trim().strip_prefix("path: "))
            .unwrap()
            .to_string();
        let url = format!("http://127.0.0.1:2381{probe}");
        let o = ns.exec("curl", &["-sS", "--max-time", "3", "-w", "\n%{http_code}", &url]);
        let body = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success() && body.ends_with("\n200") && body.contains("\"health\":\"true\""), "{url}: {body}");
    }

    drop(etcd);
    drop(ns);
}
