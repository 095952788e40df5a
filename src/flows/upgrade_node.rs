//! `kbinit upgrade node`: on every node after `upgrade apply` ran on the first control plane (sheet §5). The
//! target is the `kubernetesVersion` apply uploaded to kubeadm-config; there is no version argument and no skew
//! check, as in kubeadm. A control-plane node (its kube-apiserver manifest exists) upgrades its static Pods with
//! the same backup and rollback as apply; every node rewrites its kubelet files; the last control plane to be
//! upgraded applies the addons. Also here: the kubelet file and kubelet.conf steps both commands share.

use anyhow::Context as _;
use kbinit_phases::config::HostFacts;
use kbinit_phases::kubeconfig;
use kbinit_phases::kubelet;
use kbinit_phases::paths;
use kbinit_phases::plan::{FileKind, Step};
use kbinit_phases::upgrade::{backup, target};

use super::upgrade::{APISERVER_MANIFEST, Context};
use super::upgrade_apply::{Mode, UpgradeData, shared};
use super::upgrade_cluster::addon_phase;
use crate::cli::Global;
use crate::cli::upgrade::NodeArgs;
use crate::error::invalid;
use crate::host::Host;
use crate::output::Output;
use crate::workflow::{Phase, Workflow};

/// The phases of `upgrade node`, in kubeadm's (v1.31+) order.
pub fn workflow() -> Workflow<UpgradeData> {
    Workflow {
        command: "upgrade node",
        phases: vec![
            Phase::leaf("preflight", "Run upgrade node pre-flight checks", shared::run_preflight),
            Phase::leaf(
                "control-plane",
                "Upgrade the control plane instance deployed on this node, if any",
                shared::run_control_plane,
            ),
            Phase::leaf("kubeconfig", "Upgrade kubeconfig files for this node", shared::run_kubeconfig).hidden(),
            Phase::leaf(
                "kubelet-config",
                "Upgrade the kubelet configuration for this node by downloading it from the kubelet-config ConfigMap stored in the cluster",
                shared::run_kubelet_config,
            ),
            addon_phase(),
            Phase::leaf("post-upgrade", "Run post upgrade tasks", shared::run_post_upgrade),
        ],
    }
}

/// Runs `kbinit upgrade node` (or one phase of it).
pub fn exec(g: &Global, a: NodeArgs, only: Option<&str>, out: &Output) -> anyhow::Result<()> {
    let wf = workflow();
    let selected = wf.select(only, &a.skip_phases.clone().unwrap_or_default())?;
    let cfg = super::upgrade::load_config(a.config.as_ref())?;
    let s = &cfg.node;
    if !g.root.is_dir() {
        return Err(invalid(format!("--root {:?} is not a directory", g.root.display())));
    }
    let host = Host::new(g.root.clone(), None);
    let control_plane = host.path(APISERVER_MANIFEST).exists();
    let default_kc = if control_plane { "/etc/kubernetes/admin.conf" } else { "/etc/kubernetes/kubelet.conf" };
    let kubeconfig = a.kubeconfig.clone().unwrap_or_else(|| default_kc.to_string());
    let patches = super::upgrade::load_patches(a.patches.as_deref().unwrap_or(&s.patches_dir), out)?;
    let ctx = Context::read(host, &kubeconfig, &cfg.timeouts, Some("upgrade"), out)
        .context("unable to fetch the kubeadm-config ConfigMap")?;
    let target = ctx.cluster.kubernetes_version.clone();
    let init = ctx.node_init(&target, &cfg.timeouts);
    let mut data = UpgradeData {
        mode: Mode::Node,
        dry_run: a.dry_run || s.dry_run,
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
        ignore_preflight_errors: super::upgrade_apply::merged_ignores(
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

fn read_text(d: &UpgradeData, path: &str) -> Option<String> {
    d.ctx.host.read(path).ok().and_then(|b| String::from_utf8(b).ok())
}

/// 1.33+ (ControlPlaneKubeletLocalMode): a control-plane kubelet.conf that points at the controlPlaneEndpoint
/// is pointed at this node's own API server, as init writes it at that version (sheet §4.5).
pub fn kubelet_local_mode(d: &mut UpgradeData, out: &Output) -> anyhow::Result<()> {
    if !d.target.kubelet_local_mode() {
        return Ok(());
    }
    let path = format!("{}/kubelet.conf", paths::KUBERNETES_DIR);
    let Some(text) = read_text(d, &path) else { return Ok(()) };
    let node = d.init.node();
    let (cpe, local) = (kubeconfig::control_plane_endpoint(&d.init.cluster, &node), kubeconfig::local_endpoint(&node));
    let from = format!("server: {cpe}\n");
    if cpe == local || !text.contains(&from) {
        return Ok(());
    }
    if d.dry_run {
        out.say(&format!(
            "[dryrun] Would change the Server URL from {cpe:?} to {local:?} in {path} and try to restart kubelet"
        ));
        return Ok(());
    }
    let new = text.replace(&from, &format!("server: {local}\n"));
    d.ctx.host.write(&path, new.as_bytes(), FileKind::Kubeconfig.mode())
}

/// The kubelet-config phase: back up config.yaml, write the cluster's KubeletConfiguration, and bring the other
/// kubelet files to what init/join writes at the target (instance-config.yaml from 1.34; the pause image in
/// kubeadm-flags.env — kbinit's init writes it there, so an upgrade updates its tag).
pub fn write_kubelet_files(d: &mut UpgradeData, out: &Output) -> anyhow::Result<()> {
    let dir = format!("{}/kubeadm-kubelet-config-{}", backup::TMP_DIR, backup::stamp(time::OffsetDateTime::now_utc()));
    out.warn(&format!(
        "Using temporary directory {dir} for kubelet config. To override it set the environment variable KUBEADM_UPGRADE_DRYRUN_DIR"
    ));
    let (config, patched) = target::patch_kubelet_config(target::kubelet_config_yaml(&d.init), &d.patches)?;
    // what init and join write at the target: the patched cluster config with this node's instance config on top
    let config = kbinit_phases::yaml::to_yaml(&kubelet::node_kubelet_config(
        &d.init.cluster,
        &d.ctx.cri_socket,
        &kbinit_phases::yaml::from_yaml(&config)?,
    ));
    let mode = FileKind::Kubelet.mode();
    if d.dry_run {
        out.say(&format!("[dryrun] Would back up kubelet config file to {dir}/config.yaml"));
        out.say(&format!("[dryrun] Would write file {:?} with content:", paths::KUBELET_CONFIG));
        out.raw(&config.lines().map(|l| format!("\t{l}\n")).collect::<String>());
    } else {
        if let Some(current) = read_text(d, paths::KUBELET_CONFIG) {
            d.ctx.host.ensure_dir(&dir, 0o700)?;
            out.say(&format!("[upgrade] Backing up kubelet config file to {dir}/config.yaml"));
            d.ctx.host.write(&format!("{dir}/config.yaml"), current.as_bytes(), mode)?;
        }
        for line in &patched {
            out.say(line);
        }
        out.say(&format!("[kubelet-start] Writing kubelet configuration to file {:?}", paths::KUBELET_CONFIG));
        d.ctx.host.write(paths::KUBELET_CONFIG, config.as_bytes(), mode)?;
        if read_text(d, paths::KUBELET_INSTANCE_CONFIG).is_none() {
            // the file init writes at the target (1.34+, NodeLocalCRISocket), from init's own planner
            let steps = kubelet::kubelet_file_steps(
                &d.init.cluster,
                &d.ctx.cri_socket,
                String::new(),
                &serde_json::Value::Null,
            );
            for step in steps {
                if let Step::WriteFile { path, bytes, kind } = step
                    && path == paths::KUBELET_INSTANCE_CONFIG
                {
                    d.ctx.host.write(&path, &bytes, kind.mode())?;
                }
            }
        }
        if let Some(env) = read_text(d, paths::KUBELET_FLAGS_ENV) {
            // --pod-infra-container-image as init writes it at the target: its new value, or gone
            let flag = "pod-infra-container-image";
            let init_env = kubelet::flags_env(&d.init.node_registration, &d.init.cluster, &HostFacts::default(), false);
            let new = set_flag(&env, flag, flag_value(&init_env, flag).as_deref());
            if new != env {
                d.ctx.host.write(paths::KUBELET_FLAGS_ENV, new.as_bytes(), mode)?;
            }
        }
    }
    out.say("[upgrade/kubelet-config] The kubelet configuration for this node was successfully upgraded!");
    Ok(())
}

/// The value of `--name=` in a kubeadm-flags.env line.
fn flag_value(env: &str, name: &str) -> Option<String> {
    let key = format!("--{name}=");
    let from = env.find(&key)? + key.len();
    let end = env[from..].find([' ', '"', '\n']).map_or(env.len(), |i| from + i);
    Some(env[from..end].to_string())
}

/// `--name=<old>` → `--name=<value>` (or the flag removed, with its separating space) in a kubeadm-flags.env
/// line; nothing when the flag is absent.
fn set_flag(env: &str, name: &str, value: Option<&str>) -> String {
    let key = format!("--{name}=");
    let Some(start) = env.find(&key) else { return env.to_string() };
    let from = start + key.len();
    let end = env[from..].find([' ', '"', '\n']).map_or(env.len(), |i| from + i);
    match value {
        Some(v) => format!("{}{v}{}", &env[..from], &env[end..]),
        None if env[..start].ends_with(' ') => format!("{}{}", &env[..start - 1], &env[end..]),
        None => format!("{}{}", &env[..start], env[end..].strip_prefix(' ').unwrap_or(&env[end..])),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sets_or_removes_one_flag() {
        let env = "KUBELET_KUBEADM_ARGS=\"--container-runtime-endpoint=unix:///c.sock --pod-infra-container-image=registry.k8s.io/pause:3.9\"\n";
        let flag = "pod-infra-container-image";
        assert_eq!(super::flag_value(env, flag).as_deref(), Some("registry.k8s.io/pause:3.9"));
        assert_eq!(super::set_flag(env, flag, Some("registry.k8s.io/pause:3.10")), env.replace("3.9", "3.10"));
        assert_eq!(
            super::set_flag(env, flag, None),
            "KUBELET_KUBEADM_ARGS=\"--container-runtime-endpoint=unix:///c.sock\"\n"
        );
        let first = "KUBELET_KUBEADM_ARGS=\"--pod-infra-container-image=p --v=2\"\n";
        assert_eq!(super::set_flag(first, flag, None), "KUBELET_KUBEADM_ARGS=\"--v=2\"\n");
        assert_eq!(super::set_flag("X=\"\"\n", flag, Some("p")), "X=\"\"\n");
    }
}
