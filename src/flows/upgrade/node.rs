//! `kbinit upgrade node`: on every node after `upgrade apply` ran on the first control plane (sheet §5). The
//! target is the `kubernetesVersion` apply uploaded to kubeadm-config; there is no version argument and no skew
//! check, as in kubeadm. A control-plane node (its kube-apiserver manifest exists) upgrades its static Pods with
//! the same backup and rollback as apply; every node rewrites its kubelet files; the last control plane to be
//! upgraded applies the addons. The phases it shares with apply are in [`super::phases`], the run data in
//! [`super::data`].

use anyhow::Context as _;

use crate::flows::upgrade::cluster::addon_phase;
use crate::flows::upgrade::data::{Mode, UpgradeData};
use crate::flows::upgrade::phases;
use crate::flows::upgrade::{APISERVER_MANIFEST, Context, NodeOptions};
use crate::host::Host;
use crate::output::Output;
use crate::workflow::{Phase, Workflow};

/// The phases of `upgrade node`, in kubeadm's (v1.31+) order.
pub fn workflow() -> Workflow<UpgradeData> {
    Workflow {
        command: "upgrade node",
        phases: vec![
            Phase::leaf("preflight", "Run upgrade node pre-flight checks", phases::run_preflight),
            Phase::leaf(
                "control-plane",
                "Upgrade the control plane instance deployed on this node, if any",
                phases::run_control_plane,
            ),
            Phase::leaf("kubeconfig", "Upgrade kubeconfig files for this node", phases::run_kubeconfig).hidden(),
            Phase::leaf(
                "kubelet-config",
                "Upgrade the kubelet configuration for this node by downloading it from the kubelet-config ConfigMap stored in the cluster",
                phases::run_kubelet_config,
            ),
            addon_phase(),
            Phase::leaf("post-upgrade", "Run post upgrade tasks", phases::run_post_upgrade),
        ],
    }
}

/// Runs `kbinit upgrade node` (or one phase of it).
pub fn run(a: NodeOptions, only: Option<&str>, out: &Output) -> anyhow::Result<()> {
    let wf = workflow();
    let selected = wf.select(only, &a.skip_phases)?;
    let cfg = crate::flows::upgrade::load_config(a.config.as_ref(), out)?;
    let s = &cfg.node;
    let host = Host::for_listing_command(&a.root, a.dry_run || s.dry_run)?;
    let control_plane = host.path(APISERVER_MANIFEST).exists();
    let default_kc = if control_plane { "/etc/kubernetes/admin.conf" } else { "/etc/kubernetes/kubelet.conf" };
    let kubeconfig = a.kubeconfig.clone().unwrap_or_else(|| default_kc.to_string());
    // read (and a bad directory refused) before the cluster is asked; the targets of the cluster's release once
    // it is known
    let newest = kbinit_phases::version::KubeVersion::default_version();
    let mut patches = crate::flows::patches::load(a.patches.as_deref().unwrap_or(&s.patches_dir), &newest, out)?;
    let ctx = Context::read(host, &kubeconfig, &cfg.timeouts, Some("upgrade"), out)
        .context("unable to fetch the kubeadm-config ConfigMap")?;
    let target = ctx.cluster.kubernetes_version.clone();
    let known = kbinit_phases::patches::known_targets(&target);
    patches.retain(|p| known.contains(&p.target));
    let init = ctx.node_init(&target, &cfg.timeouts);
    let mut data = UpgradeData {
        mode: Mode::Node,
        yes: true,
        force: false,
        renew_certs: a.certificate_renewal.unwrap_or(s.certificate_renewal),
        etcd_upgrade: a.etcd_upgrade.unwrap_or(s.etcd_upgrade),
        timeouts: cfg.timeouts.clone(),
        kubeconfig,
        target,
        ctx,
        init,
        control_plane,
        patches,
        ignore_preflight_errors: crate::flows::upgrade::data::merged_ignores(
            a.ignore_preflight_errors.as_deref(),
            &s.ignore_preflight_errors,
        ),
        image_pull: (s.image_pull_policy.clone(), s.image_pull_serial),
        etcd_snapshot: false,
    };
    wf.run(&selected, &mut data, out)?;
    if only.is_none() && !data.target.has_v1beta4() {
        out.say("[upgrade] The configuration for this node was successfully updated!");
        out.say("[upgrade] Now you should go ahead and upgrade the kubelet package using your package manager.");
    }
    Ok(())
}
