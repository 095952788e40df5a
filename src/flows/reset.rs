//! `kbinit reset`: kubeadm's reset phase tree. Removing the etcd member and cleaning the node come with the
//! reset work; the tree and its names are fixed here.

use crate::cli::Global;
use crate::cli::reset::ResetArgs;
use crate::output::Output;
use crate::workflow::{Phase, Workflow};

/// What reset's phases share.
pub struct ResetData {
    /// The flags.
    pub args: ResetArgs,
}

fn run_pending(_: &mut ResetData, _: &Output, name: &str) -> anyhow::Result<()> {
    anyhow::bail!("reset phase {name:?} is not implemented yet in this kbinit build")
}

/// reset's phases in kubeadm's order.
pub fn workflow() -> Workflow<ResetData> {
    Workflow {
        command: "reset",
        phases: vec![
            Phase::leaf("preflight", "Check that this machine can be reset", run_pending).aliases(&["pre-flight"]),
            Phase::leaf("remove-etcd-member", "Remove this node's etcd member from the cluster", run_pending),
            Phase::leaf("cleanup-node", "Stop the kubelet and remove what init or join left on this node", run_pending)
                .aliases(&["cleanupnode"]),
        ],
    }
}

/// Runs `kbinit reset` (or one phase of it).
pub fn exec(_g: &Global, args: ResetArgs, only: Option<&str>, out: &Output) -> anyhow::Result<()> {
    let wf = workflow();
    let selected = wf.select(only, &args.skip_phases.clone().unwrap_or_default())?;
    let mut data = ResetData { args };
    wf.run(&selected, &mut data, out)
}
