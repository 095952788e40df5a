//! Re-running init on a node where an earlier run stopped (an error, Ctrl-C, kill -9, power loss), the flow's
//! side (preflight is handed the result as a [`Leftovers`] value): what that run left is held against what this configuration would write now, so preflight can tell kbinit's own
//! leftovers (reused, said so) from files it must not touch (refused by path, with the fix).
//!
//! - a static Pod manifest or kubelet file that is byte for byte what the planners render now is kbinit's own;
//!   the port its component listens on and (for etcd) a data dir holding a member are then that component's;
//! - certificates and kubeconfig files are reused by the planners (§B.5) when they fit; the ones that do not
//!   (another CA, node name, endpoint) are listed by [`Survey::unusable`];
//! - a node where every file fits and every cluster object exists is already initialized:
//!   [`cluster_missing`] says what a re-run would have to restore.

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::core::v1::Node;
use kbinit_phases::api::{ApiOp, ApiStep};
use kbinit_phases::certs::{self, PkiContext, Unusable};
use kbinit_phases::cluster::{addons, bootstrap_token, mark_control_plane, upload_config};
use kbinit_phases::config::Etcd;
use kbinit_phases::plan::Step;
use kbinit_phases::{kubeconfig, kubelet, manifests};

use crate::flows::init::InitData;
use crate::preflight::leftovers::Leftovers;

/// The control-plane components whose manifests init writes, with the port each listens on.
pub const COMPONENT_PORTS: [(&str, u16); 3] =
    [("kube-apiserver", 0), ("kube-scheduler", 10259), ("kube-controller-manager", 10257)];

/// What an earlier run left, held against this configuration.
#[derive(Debug, Default)]
pub struct Survey {
    /// Node paths of the files this run would write (manifests, kubelet files).
    pub planned: Vec<String>,
    /// Those of them that exist with exactly the bytes this run would write.
    pub identical: BTreeSet<String>,
    /// Certificates and kubeconfig files that exist but do not fit.
    pub unusable: Vec<Unusable>,
    /// Certificates or kubeconfig files still to be created.
    pub missing_credentials: usize,
}

impl Survey {
    /// `true` when the node path was written by kbinit for this same configuration.
    pub fn is_own(&self, node_path: &str) -> bool {
        self.identical.contains(node_path)
    }
    /// `true` when every node file is there and fits.
    pub fn node_complete(&self) -> bool {
        self.unusable.is_empty() && self.missing_credentials == 0 && self.planned.len() == self.identical.len()
    }
}

fn writes(steps: &[Step]) -> impl Iterator<Item = (&String, &Vec<u8>)> {
    steps.iter().filter_map(|s| match s {
        Step::WriteFile { path, bytes, .. } => Some((path, bytes)),
        _ => None,
    })
}

/// Surveys the node for init `d` (reads only).
pub fn survey(d: &InitData) -> anyhow::Result<Survey> {
    let cluster = &d.cfg.cluster;
    let mut planned: Vec<(String, Vec<u8>)> = Vec::new();
    let mut take = |steps: Vec<Step>| writes(&steps).for_each(|(p, b)| planned.push((p.clone(), b.clone())));
    if matches!(cluster.etcd, Etcd::Local(_)) {
        take(manifests::plan_etcd_local(cluster, &d.node, &[], false)?);
    }
    for (component, _) in COMPONENT_PORTS {
        take(manifests::plan_control_plane(component, cluster, &d.node, &d.host, &d.proxy_env)?);
    }
    take(kubelet::plan_kubelet_start(&d.cfg, &d.facts)?);
    let identical =
        planned.iter().filter(|(p, b)| d.host.read(p).is_ok_and(|got| &got == b)).map(|(p, _)| p.clone()).collect();
    let ctx = PkiContext { cluster, node: &d.node, now: d.now };
    let mut unusable = certs::check_existing(&ctx, &d.host);
    unusable.extend(kubeconfig::check_existing(&ctx, &d.opts.kubeconfig_dir, &d.host));
    let missing_credentials =
        certs::keys_needed(&ctx, &d.host) + kubeconfig::keys_needed(&ctx, &d.opts.kubeconfig_dir, &d.host);
    Ok(Survey { planned: planned.into_iter().map(|(p, _)| p).collect(), identical, unusable, missing_credentials })
}

/// What preflight is told about the earlier run: the survey, as a plain value.
pub fn leftovers(d: &InitData) -> anyhow::Result<Leftovers> {
    let s = survey(d)?;
    Ok(Leftovers { own: s.identical, planned: s.planned, unusable: s.unusable })
}

/// The cluster objects init creates that are missing (or the Node not yet labelled and tainted), asked through
/// admin.conf; `Err` when the cluster cannot be asked. Bootstrap tokens kbinit generates are not looked for
/// (each run makes a new one); tokens the configuration names are.
pub fn cluster_missing(d: &InitData) -> anyhow::Result<Vec<String>> {
    let c = d.admin_cluster(Duration::from_secs(5))?;
    let cfg = &d.cfg;
    let (server, ca) = crate::flows::init::cluster::admin_server_and_ca(d)?;
    let mut steps: Vec<ApiStep> = Vec::new();
    steps.extend(bootstrap_token::plan_cluster_admins(&cfg.cluster.kubernetes_version)?);
    steps.extend(upload_config::plan_upload_kubeadm_config(cfg)?);
    steps.extend(upload_config::plan_upload_kubelet_config(cfg, &d.facts)?);
    steps.extend(mark_control_plane::plan_mark_control_plane(&d.node.name, &cfg.node_registration.taints));
    steps.extend(bootstrap_token::plan_bootstrap_token(
        &cfg.cluster.kubernetes_version,
        &d.tokens,
        false,
        &server,
        &ca,
        time::OffsetDateTime::now_utc(),
    )?);
    steps.extend(bootstrap_token::plan_kubelet_api_admin(&cfg.cluster.kubernetes_version)?);
    if !cfg.cluster.dns_disabled {
        let coredns = addons::plan_coredns(&cfg.cluster, &addons::CoreDnsState::default())?;
        steps.extend(kbinit_phases::patches::patch_api_steps(coredns, &d.patches)?);
    }
    let env: Vec<(String, String)> = d.proxy_env.iter().map(|e| (e.name.clone(), e.value.clone())).collect();
    steps.extend(kbinit_phases::patches::patch_api_steps(addons::plan_kube_proxy(cfg, &env)?, &d.patches)?);
    let generated: Vec<String> = d
        .tokens
        .iter()
        .filter(|t| t.config.token.is_none())
        .map(|t| format!("bootstrap-token-{}", t.token.id))
        .collect();
    let mut missing = Vec::new();
    for step in &steps {
        let ApiStep::Op(op) = step else { continue };
        match op.as_ref() {
            ApiOp::Write { object, .. } => {
                if generated.contains(&object.name) {
                    continue;
                }
                if c.get(&object.resource, object.namespace.as_deref(), &object.name)?.is_none() {
                    missing.push(format!("{} {}", object.resource.kind, object.key()));
                }
            }
            ApiOp::PatchNode { name, change } => {
                let nodes = kbinit_phases::api::ResourceType::of::<Node>();
                let node: Option<Node> =
                    c.get(&nodes, None, name)?.map(serde_json::from_value).transpose().unwrap_or(None);
                if node.is_none_or(|n| change.patch_for(&n).is_some()) {
                    missing.push(format!("the labels and taints of Node {name}"));
                }
            }
        }
    }
    Ok(missing)
}

/// `true` when the node files of `d` all exist and fit, and (asked through admin.conf) every cluster object
/// init creates exists: a re-run has nothing to do. Anything else (including a cluster that does not answer)
/// is `false`, and the normal run converges.
pub fn already_initialized(d: &InitData, out: &crate::output::Output) -> bool {
    let Ok(s) = survey(d) else { return false };
    if !s.node_complete() {
        return false;
    }
    match cluster_missing(d) {
        Ok(missing) if missing.is_empty() => true,
        Ok(missing) => {
            out.say(&format!(
                "[init] Every file of this node is in place from an earlier run; restoring in the cluster: {}",
                missing.join(", ")
            ));
            false
        }
        Err(e) => {
            out.debug(1, &format!("the cluster could not be asked whether init is complete: {e:#}"));
            false
        }
    }
}
