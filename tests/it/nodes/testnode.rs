//! One test node: a node root, a network namespace holding the node's addresses, and a kubelet stand-in
//! running what kbinit writes there against a shared fake API server; `kbinit` runs inside the namespace.

use crate::fakeapi::FakeApi;
use crate::nodes::kubelet::{KubeletStandIn, StandInConfig};
use crate::nodes::netns::Netns;
use crate::support::{Node, Run};

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
}
