//! The phases of `upgrade apply`/`upgrade node` that only talk to the cluster: `bootstrap-token` (init's RBAC
//! rules again, sheet §4.7) and `addon` (CoreDNS and kube-proxy from init's planners, behind kubeadm's gate:
//! not on workers, not when disabled, not while other control planes run another kube-apiserver image, §4.8).

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kbinit_phases::api::{ApiStep, ResourceType};
use kbinit_phases::cluster::addons::{self, CoreDnsState};
use kbinit_phases::cluster::bootstrap_token;
use serde_json::Value;

use crate::api::apply_api;
use crate::flows::upgrade::data::UpgradeData;
use crate::output::Output;
use crate::workflow::Phase;

/// Phase `bootstrap-token`.
pub fn run_bootstrap_token(d: &mut UpgradeData, out: &Output, _: &str) -> anyhow::Result<()> {
    out.say("[upgrade/bootstrap-token] Configuring bootstrap token and cluster-info RBAC rules");
    let admin = d.ctx.host.read(&d.kubeconfig).map_err(|e| anyhow::anyhow!("reading {}: {e}", d.kubeconfig))?;
    let admin = String::from_utf8(admin)?;
    let host = &d.ctx.host;
    let (server, ca) = kbinit_phases::kubeconfig::current_cluster(&admin, &|p| host.read(p).ok())?;
    let mut steps = bootstrap_token::plan_cluster_admins(&d.target)?;
    steps.extend(
        bootstrap_token::plan_bootstrap_token(&d.target, &[], false, &server, &ca, time::OffsetDateTime::now_utc())?
            .into_iter()
            .filter(|s| !matches!(s, ApiStep::Say(l) if l.contains("Configuring bootstrap tokens") || l.contains("Creating the"))),
    );
    apply_api(&steps, d.target(), out)
}

/// The addon gate (sheet §4.8): not on workers, not when disabled, not while other control planes run another
/// kube-apiserver image.
fn addon_allowed(d: &mut UpgradeData, out: &Output, which: &str, disabled: bool) -> anyhow::Result<bool> {
    if !d.control_plane {
        out.say(&format!("[upgrade/addon] Skipping the addon/{which} phase. Not a control plane node."));
        return Ok(false);
    }
    if disabled {
        out.say(&format!("[upgrade/addon] Skipping the addon/{which} phase. The addon is disabled."));
        return Ok(false);
    }
    if !d.ctx.host.is_dry_run() {
        d.ctx.refresh()?;
    }
    let behind = d.ctx.state.unupgraded_control_planes(&d.ctx.node_name);
    if !behind.is_empty() && !d.ctx.host.is_dry_run() {
        out.say(&format!(
            "[upgrade/addon] Skipping upgrade of addons because control plane instances [{}] have not been upgraded",
            behind.join(" ")
        ));
        return Ok(false);
    }
    Ok(true)
}

/// Phase `addon`.
pub fn run_addon(d: &mut UpgradeData, out: &Output, name: &str) -> anyhow::Result<()> {
    if name.ends_with("coredns") {
        if !addon_allowed(d, out, "coredns", d.init.cluster.dns_disabled)? {
            return Ok(());
        }
        let deployments = ResourceType::of::<Deployment>();
        let existing = d.ctx.api.list(&deployments, Some("kube-system"), "labelSelector=k8s-app%3Dkube-dns")?;
        let existing_replicas = match existing.as_slice() {
            [one] => one.pointer("/spec/replicas").and_then(Value::as_i64).and_then(|r| i32::try_from(r).ok()),
            _ => None,
        };
        let corefile = d
            .ctx
            .api
            .get(&ResourceType::of::<ConfigMap>(), Some("kube-system"), "coredns")?
            .and_then(|cm| cm.pointer("/data/Corefile").and_then(Value::as_str).map(str::to_string));
        let custom_corefile =
            corefile.is_some_and(|cf| !addons::is_default_corefile(&cf, &d.init.cluster.networking.dns_domain));
        let steps = addons::plan_coredns(&d.init.cluster, &CoreDnsState { existing_replicas, custom_corefile })?;
        let steps = kbinit_phases::patches::patch_api_steps(steps, &d.patches)?;
        apply_api(&steps, d.target(), out)
    } else {
        if !addon_allowed(d, out, "kube-proxy", d.init.cluster.proxy_disabled)? {
            return Ok(());
        }
        let env: Vec<(String, String)> =
            crate::host::facts::proxy_env().into_iter().map(|e| (e.name, e.value)).collect();
        let mut steps = addons::plan_kube_proxy(&d.init, &env)?;
        // a cluster with kbinit's node-local API server proxy keeps kube-proxy on it (as init set it up)
        if let Some(settings) = api_server_proxy_setting(&d.ctx.api)? {
            crate::flows::api_server_proxy::setup::kube_proxy_through_proxy(&mut steps, &settings);
        }
        let steps = kbinit_phases::patches::patch_api_steps(steps, &d.patches)?;
        apply_api(&steps, d.target(), out)
    }
}

/// `addon` with `coredns` and `kube-proxy` (both workflows).
pub fn addon_phase() -> Phase<UpgradeData> {
    Phase::parent(
        "addon",
        "Upgrade the default kubeadm addons",
        None,
        vec![
            Phase::leaf("coredns", "Upgrade the CoreDNS addon", run_addon),
            Phase::leaf("kube-proxy", "Upgrade the kube-proxy addon", run_addon),
        ],
    )
}

/// The node-local API server proxy recorded in the cluster (`kube-system/kbinit-api-server-proxy`), `None` in a
/// cluster made without it (or by kubeadm).
fn api_server_proxy_setting(
    api: &crate::api::Cluster,
) -> anyhow::Result<Option<kbinit_phases::api_server_proxy::ApiServerProxySettings>> {
    use kbinit_phases::api_server_proxy::config_map::{CONFIG_MAP, from_config_map};
    let Some(v) = api.get(&ResourceType::of::<ConfigMap>(), Some("kube-system"), CONFIG_MAP)? else {
        return Ok(None);
    };
    let cm: ConfigMap =
        serde_json::from_value(v).map_err(|e| anyhow::anyhow!("decoding ConfigMap kube-system/{CONFIG_MAP}: {e}"))?;
    Ok(from_config_map(&cm)?)
}
