//! kbinit's etcd membership client ([`kbinit::etcd`]) against real Debian etcd in a network namespace, over
//! mTLS with the healthcheck-client certificate kbinit generated: member list, status, learner add (and again:
//! the same member back), promote refused while the learner has not started, then — once a second etcd started
//! from the joining node's rendered manifest (initial-cluster-state=existing) runs — promote, health of both
//! endpoints, remove (and again: not a member). A client certificate from another CA is refused.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use kbinit::etcd::{EtcdClient, EtcdTls};
use kbinit::host::Host;

use crate::support::nodes::netns::Netns;
use crate::support::nodes::staticpod::{host_paths, manifest_command, resolve};
use crate::support::{Node, reference, require_tool};

const A: &str = "192.0.2.10";
const B: &str = "192.0.2.11";

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn config(node: &Node, address: &str, name: &str) -> String {
    let input = std::fs::read_to_string(reference("input-config.yaml")).unwrap();
    let text = input
        .replace("advertiseAddress: 10.0.0.10", &format!("advertiseAddress: {address}"))
        .replace("name: cp1", &format!("name: {name}"));
    node.put("/input.yaml", text.as_bytes());
    node.path("/input.yaml").display().to_string()
}

/// The etcd command line of a node's rendered manifest, paths moved under its root.
fn etcd_args(node: &Node) -> Vec<String> {
    let yaml = node.read_str("/etc/kubernetes/manifests/etcd.yaml");
    let mounts = host_paths(&yaml);
    manifest_command(&yaml)[1..].iter().map(|f| resolve(f, &mounts, node.root())).collect()
}

fn start(ns: &Netns, args: &[String], log: &Path) -> Proc {
    let f = std::fs::File::create(log).unwrap();
    Proc(
        ns.command("etcd")
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .stdout(f.try_clone().unwrap())
            .stderr(f)
            .spawn()
            .unwrap(),
    )
}

/// Runs `f` on a thread inside the namespace (its sockets are made there).
fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    use std::os::fd::AsRawFd;
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap();
        // SAFETY: setns(2) changes only this thread's network namespace; the fd is open for the call.
        assert_eq!(unsafe { nix::libc::setns(file.as_raw_fd(), nix::libc::CLONE_NEWNET) }, 0);
        f()
    })
    .join()
    .unwrap()
}

#[test]
fn etcd_membership_learner_add_promote_remove() {
    if !require_tool("etcd") || !require_tool("ip") {
        return;
    }
    let a = Node::new();
    let cfg = config(&a, A, "cp1");
    a.kbinit(&["init", "phase", "certs", "all", "--config", &cfg]).ok();
    a.kbinit(&["init", "phase", "etcd", "local", "--config", &cfg]).ok();
    // the joining node: the shared etcd CA, its own leaves, its manifest for an existing cluster
    let b = Node::new();
    for f in ["etcd/ca.crt", "etcd/ca.key"] {
        b.put(&format!("/etc/kubernetes/pki/{f}"), &a.read(&format!("/etc/kubernetes/pki/{f}")));
    }
    let cfg_b = config(&b, B, "cp2");
    for c in ["etcd-server", "etcd-peer", "etcd-healthcheck-client"] {
        b.kbinit(&["init", "phase", "certs", c, "--config", &cfg_b]).ok();
    }
    b.kbinit(&["init", "phase", "etcd", "local", "--config", &cfg_b]).ok();
    let b_args: Vec<String> = etcd_args(&b)
        .into_iter()
        .map(|f| match f.split_once('=') {
            Some(("--initial-cluster", _)) => format!("--initial-cluster=cp1=https://{A}:2380,cp2=https://{B}:2380"),
            _ => f,
        })
        .chain(["--initial-cluster-state=existing".to_string()])
        .collect();

    // two namespaces joined by a veth pair: etcd checks a peer's source address against its certificate's SANs,
    // so each member needs its own address to connect from
    let ns = Netns::create(format!("kbinit-jetcd-a-{}", std::process::id()), &[]);
    let ns_b = Netns::create(format!("kbinit-jetcd-b-{}", std::process::id()), &[]);
    let o = std::process::Command::new("ip")
        .args(["link", "add", "kbjA", "netns", &ns.name, "type", "veth", "peer", "name", "kbjB", "netns", &ns_b.name])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for (n, dev, ip) in [(&ns, "kbjA", A), (&ns_b, "kbjB", B)] {
        n.exec_ok("ip", &["addr", "add", &format!("{ip}/24"), "dev", dev]);
        n.exec_ok("ip", &["link", "set", dev, "up"]);
    }
    let _etcd_a = start(&ns, &etcd_args(&a), &a.root().join("etcd.log"));
    let tls = EtcdTls::from_pki(&Host::new(a.root().to_path_buf(), None), "/etc/kubernetes/pki").unwrap();
    let ep_a = format!("https://{A}:2379");
    let ep_b = format!("https://{B}:2379");

    // A healthy, one member; add B as a learner; adding again returns the same member
    let name = ns.name.clone();
    let (t, ea) = (tls.clone(), ep_a.clone());
    let added = in_netns(&name, move || {
        let mut c = EtcdClient::connect(std::slice::from_ref(&ea), &t, Duration::from_secs(5)).unwrap();
        let healthy = c.wait_endpoints_healthy(
            std::slice::from_ref(&ea),
            Instant::now() + Duration::from_secs(20),
            Duration::from_millis(300),
        );
        assert!(healthy.is_ok(), "{healthy:?}");
        let members = c.member_list().unwrap();
        assert_eq!(members.len(), 1, "{members:?}");
        assert_eq!(members[0].name, "cp1");
        assert_eq!(members[0].peer_urls, [format!("https://{A}:2380")]);
        let (added, list) = c.member_add(&format!("https://{B}:2380"), true).unwrap();
        assert!(added.is_learner && added.name.is_empty(), "{added:?}");
        assert_eq!(list.len(), 2, "{list:?}");
        let (again, _) = c.member_add(&format!("https://{B}:2380"), true).unwrap();
        assert_eq!(again.id, added.id, "a second add must return the existing member");
        // not started: etcd refuses the promotion, and the retrying helper gives up at its deadline
        let e = c.member_promote(added.id).unwrap_err();
        assert!(format!("{e:#}").contains("promote"), "{e:#}");
        let e = c.promote_when_ready(added.id, Instant::now() + Duration::from_secs(2), Duration::from_millis(500));
        assert!(format!("{:#}", e.unwrap_err()).contains("was not promoted in time"));
        added
    });

    // B starts as the learner; promote succeeds once it caught up; both endpoints healthy
    let _etcd_b = start(&ns_b, &b_args, &b.root().join("etcd.log"));
    let (t, ea, eb) = (tls.clone(), ep_a.clone(), ep_b.clone());
    let id = added.id;
    let b_log = b.root().join("etcd.log");
    let a_log = a.root().join("etcd.log");
    in_netns(&name, move || {
        let mut c = EtcdClient::connect(std::slice::from_ref(&ea), &t, Duration::from_secs(5)).unwrap();
        let r = c.promote_when_ready(id, Instant::now() + Duration::from_secs(40), Duration::from_millis(500));
        assert!(
            r.is_ok(),
            "etcd B log:\n{}\netcd A log:\n{}\n{:#}",
            std::fs::read_to_string(&b_log).unwrap_or_default(),
            std::fs::read_to_string(&a_log).unwrap_or_default(),
            r.as_ref().err().map(|e| format!("{e:#}")).unwrap_or_default()
        );
        let m = c.member_list().unwrap();
        let cp2 = m.iter().find(|m| m.id == id).unwrap();
        assert!(!cp2.is_learner && cp2.name == "cp2", "{m:?}");
        let both = [ea.clone(), eb.clone()];
        let s = c.wait_endpoints_healthy(&both, Instant::now() + Duration::from_secs(20), Duration::from_millis(500));
        let s = s.unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].leader, s[1].leader, "{s:?}");
        // remove B; a second remove finds nothing
        // freshly promoted: etcd refuses for a few seconds ("unhealthy cluster"), the helper waits that out
        assert!(
            c.remove_when_allowed(id, Instant::now() + Duration::from_secs(20), Duration::from_millis(500)).unwrap()
        );
        assert!(!c.member_remove(id).unwrap());
        assert_eq!(c.member_list().unwrap().len(), 1);
    });

    // a client certificate from the Kubernetes CA (not etcd's) is refused
    let wrong = EtcdTls {
        ca_pem: a.read("/etc/kubernetes/pki/etcd/ca.crt"),
        cert_pem: a.read("/etc/kubernetes/pki/apiserver-kubelet-client.crt"),
        key_pem: a.read("/etc/kubernetes/pki/apiserver-kubelet-client.key"),
    };
    in_netns(&name, move || {
        let mut c = EtcdClient::connect(std::slice::from_ref(&ep_a), &wrong, Duration::from_secs(3)).unwrap();
        assert!(c.member_list().is_err(), "a client certificate from the wrong CA got in");
    });
}
