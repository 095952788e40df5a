//! One test node: a node root, a network namespace holding the node's addresses, and a kubelet stand-in
//! running what kbinit writes there against a shared fake API server; `kbinit` runs inside the namespace.

use crate::support::config::init_yaml;
use crate::support::fakeapi::FakeApi;
use crate::support::nodes::kubelet::{KubeletStandIn, StandInConfig};
use crate::support::nodes::netns::Netns;
use crate::support::{Node, Run};

/// The newest Kubernetes version kbinit sets up (its default), at which the netns end-to-end tests run besides
/// v1.28.7.
pub fn newest_version() -> String {
    kbinit_phases::version::KubeVersion::default_version().to_string()
}

/// A v1beta4 init configuration for node `cp1` advertising `address`, the cluster at `endpoint:6443`, Kubernetes
/// `version`, preflight errors ignored (the test host is no real node).
pub fn init_config(version: &str, address: &str, endpoint: &str) -> String {
    init_yaml(version, address).v1beta4().ignore_all_preflight().endpoint(endpoint).pod_subnet().build()
}

/// A running test node. Dropped in field order: the stand-in (etcd, listeners) before the namespace.
pub struct TestNode {
    /// The kubelet stand-in.
    pub standin: KubeletStandIn,
    /// The network namespace.
    pub ns: Netns,
    /// The node root.
    pub node: Node,
}

impl TestNode {
    /// A node named `name` with `addresses` on its loopback, its kubelet stand-in watching its root.
    /// `tag` keeps namespace names unique per test.
    pub fn start(tag: &str, name: &str, addresses: &[&str], api: &FakeApi, run_controllers: bool) -> TestNode {
        TestNode::start_refusing(tag, name, addresses, api, run_controllers, Vec::new())
    }

    /// [`TestNode::start`] with a kubelet that never starts the static Pods named in `refuse`.
    pub fn start_refusing(
        tag: &str,
        name: &str,
        addresses: &[&str],
        api: &FakeApi,
        run_controllers: bool,
        refuse: Vec<&'static str>,
    ) -> TestNode {
        let node = Node::new();
        let ns = Netns::create(format!("kb-{tag}-{}", std::process::id()), addresses);
        let standin = KubeletStandIn::start(
            StandInConfig {
                netns: ns.name.clone(),
                root: node.root().to_path_buf(),
                node_name: name.into(),
                run_controllers,
                refuse,
            },
            api.clone(),
        );
        TestNode { standin, ns, node }
    }

    /// Writes a config file into the root and returns its host path.
    pub fn config(&self, text: &str) -> String {
        let p = self.node.root().join("kbinit.yaml");
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }

    /// Runs kbinit with `--root` inside the node's namespace.
    pub fn kbinit(&self, args: &[&str]) -> Run {
        let mut c = self.ns.command(env!("CARGO_BIN_EXE_kbinit"));
        c.arg("--root").arg(self.node.root()).args(args).env_remove("KUBECONFIG");
        c.output().unwrap().into()
    }

    /// `etcdctl member list` against `endpoint` (`https://ip:2379`), from inside this node with its
    /// healthcheck-client identity: one (status, name, peer URL, is learner) per member.
    pub fn etcd_members(&self, endpoint: &str) -> Vec<(String, String, String, bool)> {
        let pki = self.node.path("/etc/kubernetes/pki");
        let o = self
            .ns
            .command("etcdctl")
            .env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={endpoint}"))
            .arg(format!("--cacert={}", pki.join("etcd/ca.crt").display()))
            .arg(format!("--cert={}", pki.join("etcd/healthcheck-client.crt").display()))
            .arg(format!("--key={}", pki.join("etcd/healthcheck-client.key").display()))
            .args(["member", "list"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "member list: {text}{}", String::from_utf8_lossy(&o.stderr));
        text.lines()
            .map(|l| {
                let f: Vec<&str> = l.split(", ").collect();
                (f[1].to_string(), f[2].to_string(), f[3].to_string(), f.get(5) == Some(&"true"))
            })
            .collect()
    }
}

/// A v1beta4 JoinConfiguration for a test node: bootstrap-token discovery of `endpoint` (`host:6443`) pinned to
/// `pin`, preflight ignored (the test host is no real node), and with `control_plane` = (advertise address,
/// certificate key) a control-plane join; `etcd_timeout` sets `timeouts.etcdAPICall`.
pub fn join_config(
    endpoint: &str,
    name: &str,
    token: &str,
    pin: &str,
    control_plane: Option<(&str, &str)>,
    etcd_timeout: Option<&str>,
) -> String {
    let etcd = etcd_timeout.map(|t| format!("  etcdAPICall: {t}\n")).unwrap_or_default();
    let mut text = format!(
        "apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: {endpoint}
    token: {token}
    caCertHashes: [\"{pin}\"]
nodeRegistration:
  name: {name}
  criSocket: unix:///run/containerd/containerd.sock
  ignorePreflightErrors: [all]
timeouts:
{etcd}  tlsBootstrap: 60s
  discovery: 60s
"
    );
    if let Some((address, key)) = control_plane {
        text.push_str(&format!(
            "controlPlane:\n  localAPIEndpoint:\n    advertiseAddress: {address}\n    bindPort: 6443\n  certificateKey: {key}\n"
        ));
    }
    text
}
