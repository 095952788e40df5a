//! Network namespaces as test nodes: each has its own loopback with the node's addresses on it, so traffic stays
//! between the test's own namespaces and loopback. Deleted on drop.

use std::process::{Command, Output};

/// A network namespace named `name`, with `lo` up and the given addresses on it.
pub struct Netns {
    /// The name under /run/netns.
    pub name: String,
}

impl Netns {
    /// Creates the namespace (removing a leftover of the same name from a killed run).
    pub fn create(name: String, addresses: &[&str]) -> Netns {
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        ip(&["netns", "add", &name]);
        let ns = Netns { name };
        ns.exec_ok("ip", &["link", "set", "lo", "up"]);
        for a in addresses {
            let prefix = if a.contains(':') { "128" } else { "32" };
            ns.exec_ok("ip", &["addr", "add", &format!("{a}/{prefix}"), "dev", "lo"]);
        }
        ns
    }

    /// A command that runs inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// Runs a program inside the namespace and waits for it.
    pub fn exec(&self, program: &str, args: &[&str]) -> Output {
        self.command(program).args(args).output().unwrap()
    }

    /// Runs a program inside the namespace; it must succeed.
    pub fn exec_ok(&self, program: &str, args: &[&str]) {
        let o = self.exec(program, args);
        assert!(o.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.name]).output();
    }
}

fn ip(args: &[&str]) {
    let o = Command::new("ip").args(args).output().unwrap();
    assert!(o.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&o.stderr));
}
