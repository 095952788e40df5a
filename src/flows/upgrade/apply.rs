//! `kbinit upgrade apply`: kubeadm's v1.32+ phase tree
//! (sheet §1.3) — preflight, control-plane, upload-config, kubeconfig (hidden), kubelet-config, bootstrap-token,
//! addon, post-upgrade — each a few lines over the planners of `kbinit_phases::upgrade` and the ones init uses.
//! Everything that can be refused (target outside the table, the skew policy, a worker node, a bad
//! UpgradeConfiguration) is refused in the data initializer, before any phase changes anything. The phases it
//! shares with `upgrade node` are in [`super::phases`], the run data in [`super::data`].

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use kbinit_phases::api::{ApiObject, ApiOp, ApiStep};
use kbinit_phases::cluster::upload_config;
use kbinit_phases::config::HostFacts;
use kbinit_phases::upgrade::{backup, policy};

use crate::api::apply_api;
use crate::error::invalid;
use crate::flows::upgrade::data::{Mode, UpgradeData, merged_ignores};
use crate::flows::upgrade::phases::{
    run_control_plane, run_kubeconfig, run_kubelet_config, run_post_upgrade, run_preflight,
};
use crate::flows::upgrade::{APISERVER_MANIFEST, ApplyOptions, Context};
use crate::host::Host;
use crate::output::Output;
use crate::workflow::{Phase, Workflow};

/// Builds the data of `upgrade apply`, refusing bad input before anything changes.
fn apply_data(a: &ApplyOptions, out: &Output) -> anyhow::Result<UpgradeData> {
    let cfg = crate::flows::upgrade::load_config(a.common.config.as_ref(), out)?;
    let s = &cfg.apply;
    let version = a.version.clone().unwrap_or_else(|| s.kubernetes_version.clone());
    if version.is_empty() {
        return Err(invalid(
            "missing the version to upgrade to: kbinit upgrade apply vX.Y.Z (or apply.kubernetesVersion in --config)",
        ));
    }
    let target = crate::flows::upgrade::resolve_target(&version)?;
    let host = Host::for_listing_command(&a.root, a.dry_run || s.dry_run)?;
    if !host.path(APISERVER_MANIFEST).exists() {
        return Err(invalid(format!(
            "kbinit upgrade apply runs on a control-plane node, and {APISERVER_MANIFEST} does not exist here: on a \
             worker (or a further control-plane node) run 'kbinit upgrade node' after 'upgrade apply' ran on the first \
             control-plane node"
        )));
    }
    let patches = crate::flows::patches::load(a.patches.as_deref().unwrap_or(&s.patches_dir), &target, out)?;
    let ctx = Context::read(host, &a.common.kubeconfig, &cfg.timeouts, Some("upgrade"), out)?;
    let init = ctx.node_init(&target, &cfg.timeouts);
    Ok(UpgradeData {
        mode: Mode::Apply,
        yes: a.yes,
        force: a.force || s.force,
        renew_certs: a.certificate_renewal.unwrap_or(s.certificate_renewal),
        etcd_upgrade: a.common.etcd_upgrade.unwrap_or(s.etcd_upgrade),
        timeouts: cfg.timeouts.clone(),
        kubeconfig: a.common.kubeconfig.clone(),
        target,
        ctx,
        init,
        control_plane: true,
        patches,
        ignore_preflight_errors: merged_ignores(
            a.common.ignore_preflight_errors.as_deref(),
            &s.ignore_preflight_errors,
        ),
        image_pull: (s.image_pull_policy.clone(), s.image_pull_serial),
        etcd_snapshot: a.etcd_snapshot,
    })
    .and_then(|d| {
        let allow = (
            a.common.allow_experimental_upgrades || s.allow_experimental,
            a.common.allow_release_candidate_upgrades || s.allow_rc,
        );
        check_policy(d, allow, out)
    })
    .inspect(|d| {
        if a.common.print_config || s.print_config {
            print_config(d, out);
        }
    })
}

/// `--print-config`: the ClusterConfiguration the upgrade works with, each line indented with a tab.
fn print_config(d: &UpgradeData, out: &Output) {
    let doc = kbinit_phases::config::cluster_configuration_document(
        &d.init.cluster,
        d.init.local_api_endpoint.bind_port,
        kbinit_phases::cluster::upload_config::stored_api_version(&d.init),
    );
    out.say("[upgrade/config] Configuration used:");
    out.raw(&kbinit_phases::go_format::yaml::to_yaml(&doc).lines().map(|l| format!("\t{l}\n")).collect::<String>());
}

/// The skew policy (sheet §3), printed as kubeadm prints it; a refusal is invalid input.
fn check_policy(
    d: UpgradeData,
    (allow_experimental, allow_rc): (bool, bool),
    out: &Output,
) -> anyhow::Result<UpgradeData> {
    let cluster = d.ctx.state.cluster_version()?;
    if d.ctx.state.mixed_apiserver_versions() {
        out.warn(
            "Different API server versions in the cluster were discovered. Please upgrade your control plane nodes to the same version of Kubernetes",
        );
    }
    let errors = policy::enforce_version_policies(
        &cluster,
        &d.target,
        &d.ctx.state.kubelet_versions(),
        allow_experimental,
        allow_rc,
    );
    match policy::verdict(&errors, d.force) {
        Ok(Some(warning)) => out.say(&warning),
        Ok(None) => {}
        Err(text) => return Err(invalid(text)),
    }
    Ok(d)
}

fn run_upload_config(d: &mut UpgradeData, out: &Output, name: &str) -> anyhow::Result<()> {
    let steps = if name.ends_with("kubeadm") {
        upload_config::plan_upload_kubeadm_config(&d.init)?
    } else {
        let mut steps = upload_config::plan_upload_kubelet_config(&d.init, &HostFacts::default())?;
        let stored_hash = d.ctx.kubelet_cm.as_ref().and_then(|cm| {
            cm.pointer("/metadata/annotations").and_then(|a| a.get(upload_config::COMPONENT_CONFIG_HASH)).cloned()
        });
        // a kbinit/kubeadm-generated KubeletConfiguration keeps its hash annotation (what a fresh init writes)
        if stored_hash.is_some() {
            for s in &mut steps {
                if let ApiStep::Op(op) = s
                    && let ApiOp::Write { object, .. } = op.as_mut()
                    && object.resource.kind == "ConfigMap"
                {
                    let mut cm: ConfigMap = object.typed()?;
                    let data: BTreeMap<String, String> = cm.data.clone().unwrap_or_default();
                    let hash = kbinit_phases::kubelet::component_config_hash(&data);
                    cm.metadata.annotations =
                        Some(BTreeMap::from([(upload_config::COMPONENT_CONFIG_HASH.into(), hash)]));
                    *object = ApiObject::new(&cm)?;
                }
            }
        }
        steps
    };
    apply_api(&steps, d.target(), out)
}

/// The phases of `upgrade apply`, in kubeadm's order.
pub fn workflow() -> Workflow<UpgradeData> {
    Workflow {
        command: "upgrade apply",
        phases: vec![
            Phase::leaf("preflight", "Run preflight checks before upgrade", run_preflight),
            Phase::leaf("control-plane", "Upgrade the control plane", run_control_plane),
            Phase::parent(
                "upload-config",
                "Upload the kubeadm and kubelet configurations to ConfigMaps",
                None,
                vec![
                    Phase::leaf("kubeadm", "Upload the kubeadm ClusterConfiguration to a ConfigMap", run_upload_config),
                    Phase::leaf("kubelet", "Upload the kubelet configuration to a ConfigMap", run_upload_config),
                ],
            )
            .aliases(&["uploadconfig"]),
            Phase::leaf("kubeconfig", "Upgrade kubeconfig files for this node", run_kubeconfig).hidden(),
            Phase::leaf("kubelet-config", "Upgrade the kubelet configuration for this node", run_kubelet_config),
            Phase::leaf(
                "bootstrap-token",
                "Generates bootstrap tokens used to join a node to a cluster",
                crate::flows::upgrade::cluster::run_bootstrap_token,
            )
            .aliases(&["bootstraptoken"]),
            crate::flows::upgrade::cluster::addon_phase(),
            Phase::leaf("post-upgrade", "Run post upgrade tasks", run_post_upgrade),
        ],
    }
}

/// Runs `kbinit upgrade apply` (or one phase of it).
pub fn run(a: ApplyOptions, only: Option<&str>, out: &Output) -> anyhow::Result<()> {
    let wf = workflow();
    let selected = wf.select(only, &a.skip_phases)?;
    let mut data = apply_data(&a, out)?;
    wf.run(&selected, &mut data, out)?;
    if only.is_none() {
        if data.ctx.host.is_dry_run() {
            out.say("[upgrade/successful] Finished dryrunning successfully!");
        } else {
            out.say("");
            out.say(&format!(
                "[upgrade] SUCCESS! A control plane node of your cluster was upgraded to {:?}.",
                data.target.to_string()
            ));
            out.say("");
            out.say("[upgrade] Now please proceed with upgrading the rest of the nodes by following the right order.");
            out.say("[upgrade] On every node, drain it, upgrade the kubelet package to the same version, run 'systemctl daemon-reload && systemctl restart kubelet', and uncordon it.");
        }
    }
    let _ = backup::TMP_DIR;
    Ok(())
}
