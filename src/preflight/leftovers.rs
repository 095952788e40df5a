//! What an earlier run left on this node, as the flow found it ([`Leftovers`], a plain value), and how preflight
//! words it: kbinit's own files and the ports and data dir of its own components are reported as reused
//! (`[preflight] … already present from an earlier run; reusing`); files that do not fit this configuration are
//! refused by path, with the fix, whatever `--ignore-preflight-errors` says.

use std::collections::BTreeSet;

use kbinit_phases::certs::Unusable;
use kbinit_phases::paths;

/// What an earlier run of this command left, held against this run's configuration by the flow.
#[derive(Debug, Default, Clone)]
pub struct Leftovers {
    /// Node paths of files this run would write that exist with exactly its bytes (kbinit's own).
    pub own: BTreeSet<String>,
    /// Node paths of the files this run would write (own or not), for the "differs" message.
    pub planned: Vec<String>,
    /// Certificates and kubeconfig files that exist but do not fit.
    pub unusable: Vec<Unusable>,
}

impl Leftovers {
    /// `true` when the node path was written by kbinit for this same configuration.
    pub fn is_own(&self, node_path: &str) -> bool {
        self.own.contains(node_path)
    }

    /// `Port-<n>` as seen on a re-run: `Some(note)` when the port is held by this node's own component from an
    /// earlier run (reported as reused), `None` when the finding stands. `bind_port` is the API server's.
    pub fn port_note(&self, bind_port: u16, port: u16) -> Option<String> {
        let owner = match port {
            2379 | 2380 => "etcd",
            10250 => {
                return self.is_own(paths::KUBELET_CONFIG).then(|| {
                    format!(
                        "[preflight] Port 10250 is in use by the kubelet, whose {} is already present from an earlier run; reusing",
                        paths::KUBELET_CONFIG
                    )
                });
            }
            p if p == bind_port => "kube-apiserver",
            10259 => "kube-scheduler",
            10257 => "kube-controller-manager",
            _ => return None,
        };
        let m = manifest_path(owner);
        self.is_own(&m).then(|| {
            format!("[preflight] Port {port} is in use by {owner}, whose manifest {m} is already present from an earlier run; reusing")
        })
    }
}

/// The manifest path of a component.
pub fn manifest_path(component: &str) -> String {
    paths::join(paths::MANIFESTS_DIR, &format!("{component}.yaml"))
}

/// The note for a manifest left by an earlier run with this configuration.
pub fn own_manifest_note(path: &str) -> String {
    format!("[preflight] {path} is already present from an earlier run; reusing")
}

/// How the refusal of unusable files reads.
pub fn unusable_text(list: &[Unusable]) -> String {
    let lines: Vec<String> = list.iter().map(|u| format!("\t{}: {}\n\t\tfix: {}", u.path, u.why, u.fix)).collect();
    format!(
        "[preflight] Files from an earlier run do not fit this configuration, so kbinit will not reuse them:\n{}\n\
         [preflight] --ignore-preflight-errors does not cover these: reusing them would leave a broken node. Nothing \
         was changed.",
        lines.join("\n")
    )
}
