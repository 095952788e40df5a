//! The phases `upgrade apply` and `upgrade node` share: preflight (with the image pre-pull), control-plane,
//! kubeconfig, kubelet-config and post-upgrade; and the kubelet files they rewrite. Both workflows list them.

use std::io::IsTerminal;

use kbinit_phases::config::HostFacts;
use kbinit_phases::kubeconfig;
use kbinit_phases::kubelet;
use kbinit_phases::paths;
use kbinit_phases::plan::{FileKind, Step};
use kbinit_phases::upgrade::{backup, target};

use crate::flows::upgrade::data::{Mode, UpgradeData};
use crate::flows::upgrade::static_pods::StaticPodUpgrade;
use crate::output::Output;

/// Phase `preflight`.
pub fn run_preflight(d: &mut UpgradeData, out: &Output, _: &str) -> anyhow::Result<()> {
    if d.mode == Mode::Node {
        out.say("[upgrade/preflight] Running pre-flight checks");
        if !d.control_plane {
            out.say("[upgrade/preflight] Skipping prepull. Not a control plane node.");
            return Ok(());
        }
        return prepull(d, out);
    }
    out.say("[upgrade/preflight] Running preflight checks");
    crate::flows::upgrade::health::check_cluster_health(d, out)?;
    crate::flows::etcd::upgrade::check_zombie_trap(d, out)?;
    out.say(&format!(
        "[upgrade/preflight] You have chosen to upgrade the cluster version to {:?}",
        d.target.to_string()
    ));
    out.say(&format!("[upgrade/versions] Cluster version: {}", d.ctx.state.cluster_version()?));
    out.say(&format!("[upgrade/versions] kubeadm version: {}", d.target));
    if !(d.yes || d.force || d.ctx.host.is_dry_run()) {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            anyhow::bail!("won't proceed: upgrade apply asks for confirmation and stdin is not a terminal; pass --yes");
        }
        out.say("[upgrade] Are you sure you want to proceed? [y/N]: ");
        let mut answer = String::new();
        stdin.read_line(&mut answer)?;
        if !crate::flows::confirmed(&answer) {
            anyhow::bail!("won't proceed; the user didn't answer (Y|y) in order to continue");
        }
    }
    prepull(d, out)
}

/// The image pre-pull of a control-plane node's upgrade: the target release's images through the CRI, with the
/// configuration's pull policy (kubeadm's ImagePull check, so `--ignore-preflight-errors=ImagePull` applies).
fn prepull(d: &UpgradeData, out: &Output) -> anyhow::Result<()> {
    let p = crate::preflight::Prepull {
        cluster: &d.init.cluster,
        socket: &d.ctx.cri_socket,
        policy: &d.image_pull.0,
        serial: d.image_pull.1,
        ignore: &d.ignore_preflight_errors,
        dry_run: d.ctx.host.is_dry_run(),
    };
    crate::preflight::run_upgrade_prepull(&p, &d.ctx.host, out)
}

/// Phase `control-plane`.
pub fn run_control_plane(d: &mut UpgradeData, out: &Output, _: &str) -> anyhow::Result<()> {
    if !d.control_plane {
        out.say("[upgrade/control-plane] Skipping phase. Not a control plane node.");
        return Ok(());
    }
    let up = StaticPodUpgrade {
        ctx: &d.ctx,
        init: &d.init,
        renew_certs: d.renew_certs,
        etcd_upgrade: d.etcd_upgrade,
        timeout: crate::flows::upgrade::upgrade_timeout(&d.timeouts),
        patches: &d.patches,
        instance: d.mode == Mode::Node,
    };
    let snapshot = crate::flows::etcd::upgrade::snapshot_before(d, out)?;
    up.run(out).map_err(|e| crate::flows::etcd::upgrade::name_snapshot(e, snapshot.as_deref()))
}

/// Phase `kubeconfig`.
pub fn run_kubeconfig(d: &mut UpgradeData, out: &Output, _: &str) -> anyhow::Result<()> {
    if !d.control_plane {
        out.say("[upgrade/kubeconfig] Skipping phase. Not a control plane node.");
        return Ok(());
    }
    kubelet_local_mode(d, out)?;
    out.say("[upgrade/kubeconfig] The kubeconfig files for this node were successfully upgraded!");
    Ok(())
}

/// Phase `kubelet-config`.
pub fn run_kubelet_config(d: &mut UpgradeData, out: &Output, _: &str) -> anyhow::Result<()> {
    write_kubelet_files(d, out)
}

/// Phase `post-upgrade`.
pub fn run_post_upgrade(_: &mut UpgradeData, _: &Output, _: &str) -> anyhow::Result<()> {
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
    if d.ctx.host.is_dry_run() {
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
    let config = kbinit_phases::go_format::yaml::to_yaml(&kubelet::node_kubelet_config(
        &d.init.cluster,
        &d.ctx.cri_socket,
        &kbinit_phases::go_format::yaml::from_yaml(&config)?,
    ));
    let mode = FileKind::Kubelet.mode();
    if d.ctx.host.is_dry_run() {
        out.say(&format!("[dryrun] Would back up kubelet config file to {dir}/config.yaml"));
        out.say(&format!("[dryrun] Would write file {:?} with content:", paths::KUBELET_CONFIG));
        out.raw(&config.lines().map(|l| format!("\t{l}\n")).collect::<String>());
    } else {
        if let Some(current) = read_text(d, paths::KUBELET_CONFIG) {
            d.ctx.host.ensure_dir(&dir, 0o700)?;
            out.say(&format!("[upgrade] Backing up kubelet config file to {dir}/config.yaml"));
            d.ctx.host.write(&format!("{dir}/config.yaml"), current.as_bytes(), mode)?;
        }
        let local_cri = kubelet::cri_socket_in_instance_config(&d.init.cluster);
        let mut env = read_text(d, paths::KUBELET_FLAGS_ENV);
        if local_cri && read_text(d, paths::KUBELET_INSTANCE_CONFIG).is_none() {
            // kubeadm's upgrade with NodeLocalCRISocket on (postupgrade.go of v1.33.3): the socket moves from
            // kubeadm-flags.env into a new instance-config.yaml, before config.yaml is written from it
            for step in kubelet::instance_config_steps(&d.ctx.cri_socket) {
                match step {
                    Step::Say(line) => out.say(&line),
                    Step::WriteFile { path, bytes, kind } => d.ctx.host.write(&path, &bytes, kind.mode())?,
                    _ => {}
                }
            }
            env = env.map(|e| set_flag(&e, "container-runtime-endpoint", None));
        }
        for line in &patched {
            out.say(line);
        }
        if local_cri {
            out.say(kubelet::INSTANCE_CONFIG_PATCH_LINE);
        }
        out.say(&format!("[kubelet-start] Writing kubelet configuration to file {:?}", paths::KUBELET_CONFIG));
        d.ctx.host.write(paths::KUBELET_CONFIG, config.as_bytes(), mode)?;
        if let Some(old) = read_text(d, paths::KUBELET_FLAGS_ENV)
            && let Some(env) = env
        {
            // --pod-infra-container-image as init writes it at the target: its new value, or gone
            let flag = "pod-infra-container-image";
            let init_env = kubelet::flags_env(&d.init.node_registration, &d.init.cluster, &HostFacts::default(), false);
            let new = set_flag(&env, flag, flag_value(&init_env, flag).as_deref());
            if new != old {
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
