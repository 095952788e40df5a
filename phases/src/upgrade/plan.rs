//! `upgrade plan`: the available upgrades computed offline from kbinit's version table (no release look-up:
//! the table *is* what this kbinit can render), and their two renderings — kubeadm's text tables (sheet §2.4) and
//! the `output.kubeadm.k8s.io/v1alpha3` `UpgradePlan` for `-o json|yaml` (field names confirmed in kubeadm's
//! `cmd/kubeadm/app/apis/output/v1alpha3/types.go`: `availableUpgrades[].{description, components[].{name,
//! currentVersion, newVersion, nodeName}}`, `configVersions[].{group, currentVersion, preferredVersion,
//! manualUpgradeRequired}`). The text is rendered from the same [`UpgradePlan`] value the JSON is, so both
//! always say the same thing.

use serde::Serialize;

use super::state::ClusterState;
use crate::Error;
use crate::config::{ClusterConfiguration, Etcd};
use crate::version::{KubeVersion, MAX_MINOR};

/// kubeadm's output API group/version.
pub const OUTPUT_API_VERSION: &str = "output.kubeadm.k8s.io/v1alpha3";

/// One row: a component on a node (or cluster-wide) from one version to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentUpgradePlan {
    /// `kubelet`, `kube-apiserver`, …, `CoreDNS`, `kubeadm`, `etcd`.
    pub name: String,
    /// What runs now.
    pub current_version: String,
    /// What the upgrade brings.
    pub new_version: String,
    /// The node, for per-node components.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub node_name: String,
}

/// One available upgrade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AvailableUpgrade {
    /// e.g. `version in the v1.30 series`, `stable version`.
    pub description: String,
    /// Its rows.
    pub components: Vec<ComponentUpgradePlan>,
}

/// A component config's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentConfigVersionState {
    /// API group.
    pub group: String,
    /// Version in the cluster (empty when not found).
    pub current_version: String,
    /// Version kbinit writes.
    pub preferred_version: String,
    /// The stored version is not one kbinit writes.
    pub manual_upgrade_required: bool,
}

/// kubeadm's `UpgradePlan` output object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpgradePlan {
    /// `output.kubeadm.k8s.io/v1alpha3`.
    pub api_version: String,
    /// `UpgradePlan`.
    pub kind: String,
    /// The upgrades.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub available_upgrades: Vec<AvailableUpgrade>,
    /// Component config versions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub config_versions: Vec<ComponentConfigVersionState>,
}

/// The upgrade targets: `target` alone when given; else the newest patch of the cluster's minor (when newer) and
/// the next minor's (when the table has it).
pub fn targets(cluster: &KubeVersion, target: Option<&KubeVersion>) -> Result<Vec<(String, KubeVersion)>, Error> {
    let describe = |t: &KubeVersion| {
        if t.minor == cluster.minor { format!("version in the v1.{} series", t.minor) } else { "stable version".into() }
    };
    if let Some(t) = target {
        return Ok(if t == cluster { Vec::new() } else { vec![(describe(t), t.clone())] });
    }
    let mut out = Vec::new();
    let patch = KubeVersion::resolve(&format!("stable-1.{}", cluster.minor))?;
    if &patch > cluster {
        out.push((describe(&patch), patch));
    }
    if cluster.minor < MAX_MINOR {
        let next = KubeVersion::resolve(&format!("stable-1.{}", cluster.minor + 1))?;
        out.push((describe(&next), next));
    }
    Ok(out)
}

/// The etcd tag `target` would run with this configuration.
pub fn etcd_tag(cluster_cfg: &ClusterConfiguration, target: &KubeVersion) -> String {
    match &cluster_cfg.etcd {
        Etcd::Local(l) if !l.image_tag.is_empty() => l.image_tag.clone(),
        _ => target.etcd_tag().to_string(),
    }
}

/// The CoreDNS tag `target` would run with this configuration.
pub fn coredns_tag(cluster_cfg: &ClusterConfiguration, target: &KubeVersion) -> String {
    if cluster_cfg.dns_image_tag.is_empty() {
        target.coredns_tag().to_string()
    } else {
        cluster_cfg.dns_image_tag.clone()
    }
}

fn rows_for(
    state: &ClusterState,
    cfg: &ClusterConfiguration,
    cluster: &KubeVersion,
    t: &KubeVersion,
) -> Vec<ComponentUpgradePlan> {
    let row = |name: &str, cur: &str, new: &str, node: &str| ComponentUpgradePlan {
        name: name.into(),
        current_version: cur.into(),
        new_version: new.into(),
        node_name: node.into(),
    };
    let mut rows = Vec::new();
    let mut kubelet_versions: Vec<&String> = state.kubelets.values().collect();
    kubelet_versions.sort();
    kubelet_versions.dedup();
    let can_upgrade_kubelets =
        kubelet_versions.len() > 1 || kubelet_versions.first().is_some_and(|v| **v != t.to_string());
    if can_upgrade_kubelets {
        for (node, v) in &state.kubelets {
            rows.push(row("kubelet", v, &t.to_string(), node));
        }
    }
    let per_node = |rows: &mut Vec<ComponentUpgradePlan>, name: &str, new: &str| {
        let mut list: Vec<(&String, &String)> =
            state.components.get(name).map(|m| m.iter().map(|(n, v)| (v, n)).collect()).unwrap_or_default();
        list.sort();
        for (v, n) in list {
            rows.push(row(name, v, new, n));
        }
    };
    for c in super::state::CONTROL_PLANE {
        per_node(&mut rows, c, &t.to_string());
    }
    if !cfg.proxy_disabled {
        let bare = cluster.to_string().trim_start_matches('v').to_string();
        rows.push(row("kube-proxy", &bare, &t.to_string(), ""));
    }
    let dns_new = if cfg.dns_disabled { String::new() } else { coredns_tag(cfg, t) };
    if !(state.coredns_tag.is_empty() && dns_new.is_empty()) {
        rows.push(row("CoreDNS", &state.coredns_tag, &dns_new, ""));
    }
    rows.push(row("kubeadm", &t.to_string(), &t.to_string(), ""));
    if state.local_etcd() && matches!(cfg.etcd, Etcd::Local(_)) {
        per_node(&mut rows, "etcd", &etcd_tag(cfg, t));
    }
    rows
}

/// Builds the plan. `config_versions` = (group, version found in the cluster) for kube-proxy and the kubelet.
pub fn upgrade_plan(
    state: &ClusterState,
    cfg: &ClusterConfiguration,
    target: Option<&KubeVersion>,
    config_versions: &[(&str, &str)],
) -> Result<UpgradePlan, Error> {
    let cluster = state.cluster_version()?;
    let available_upgrades = targets(&cluster, target)?
        .into_iter()
        .map(|(description, t)| AvailableUpgrade { description, components: rows_for(state, cfg, &cluster, &t) })
        .collect();
    let preferred = |g: &str| if g.starts_with("kubeproxy") { "v1alpha1" } else { "v1beta1" };
    let config_versions = config_versions
        .iter()
        .map(|(g, cur)| ComponentConfigVersionState {
            group: (*g).into(),
            current_version: (*cur).into(),
            preferred_version: preferred(g).into(),
            manual_upgrade_required: !cur.is_empty() && *cur != preferred(g),
        })
        .collect();
    Ok(UpgradePlan {
        api_version: OUTPUT_API_VERSION.into(),
        kind: "UpgradePlan".into(),
        available_upgrades,
        config_versions,
    })
}

/// Go's `text/tabwriter` as kubeadm sets it up (minwidth 10, tabwidth 4, padding 3, spaces, no flags) for one
/// block of rows with the same number of cells: every cell but the last padded to its column's width.
pub fn tabwrite(rows: &[Vec<String>]) -> String {
    crate::go_format::table::tabwriter(rows, 10, 3)
}

const SEPARATOR: &str = "_____________________________________________________________________";

/// The text kubeadm prints after the version lines: per upgrade, the kubelet table, the control-plane table and
/// the apply command; then the component-config table.
pub fn render_text(plan: &UpgradePlan) -> String {
    let header = || vec!["COMPONENT".to_string(), "NODE".into(), "CURRENT".into(), "TARGET".into()];
    let cells = |c: &ComponentUpgradePlan| {
        vec![c.name.clone(), c.node_name.clone(), c.current_version.clone(), c.new_version.clone()]
    };
    let mut s = String::new();
    for up in &plan.available_upgrades {
        s.push_str("Components that must be upgraded manually after you have upgraded the control plane with 'kbinit upgrade apply':\n");
        let mut kubelet = vec![header()];
        kubelet.extend(up.components.iter().filter(|c| c.name == "kubelet").map(cells));
        s.push_str(&tabwrite(&kubelet));
        s.push_str(&format!("\nUpgrade to the latest {}:\n\n", up.description));
        let mut main = vec![header()];
        main.extend(up.components.iter().filter(|c| c.name != "kubelet" && c.name != "kubeadm").map(cells));
        s.push_str(&tabwrite(&main));
        let target = up.components.iter().find(|c| c.name == "kubeadm").map_or("", |c| c.new_version.as_str());
        let flag = match target.split_once('-') {
            Some((_, pre)) if pre.starts_with("rc") => " --allow-release-candidate-upgrades",
            Some(_) => " --allow-experimental-upgrades",
            None => "",
        };
        s.push_str(&format!("\nYou can now apply the upgrade by executing the following command:\n\n\tkbinit upgrade apply {target}{flag}\n\n"));
        s.push_str(SEPARATOR);
        s.push_str("\n\n");
    }
    s.push_str(
        "\nThe table below shows the current state of component configs as understood by this version of kubeadm.\n",
    );
    s.push_str(
        "Configs that have a \"yes\" mark in the \"MANUAL UPGRADE REQUIRED\" column require manual config upgrade or\n",
    );
    s.push_str("resetting to kubeadm defaults before a successful upgrade can be performed. The version to manually\n");
    s.push_str("upgrade to is denoted in the \"PREFERRED VERSION\" column.\n\n");
    if plan.config_versions.is_empty() {
        s.push_str("No information available on component configs.\n");
    } else {
        let dash = |v: &str| if v.is_empty() { "-".to_string() } else { v.to_string() };
        let mut rows = vec![vec![
            "API GROUP".to_string(),
            "CURRENT VERSION".into(),
            "PREFERRED VERSION".into(),
            "MANUAL UPGRADE REQUIRED".into(),
        ]];
        rows.extend(plan.config_versions.iter().map(|c| {
            vec![
                c.group.clone(),
                dash(&c.current_version),
                dash(&c.preferred_version),
                if c.manual_upgrade_required { "yes" } else { "no" }.into(),
            ]
        }));
        s.push_str(&tabwrite(&rows));
    }
    s.push_str(SEPARATOR);
    s.push('\n');
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::version::MIN_MINOR;

    #[test]
    fn tabwriter_matches_kubeadms_spacing() {
        // the v1.34 log of sheet §2.4
        let rows = vec![
            vec!["COMPONENT".to_string(), "NODE".into(), "CURRENT".into(), "TARGET".into()],
            vec!["kubelet".to_string(), "control-plane".into(), "v1.34.2".into(), "v1.34.6".into()],
            vec!["kubelet".to_string(), "worker-node-01".into(), "v1.34.2".into(), "v1.34.6".into()],
        ];
        assert_eq!(
            tabwrite(&rows),
            "COMPONENT   NODE             CURRENT   TARGET\nkubelet     control-plane    v1.34.2   v1.34.6\n\
             kubelet     worker-node-01   v1.34.2   v1.34.6\n"
        );
    }

    #[test]
    fn targets_follow_the_table() {
        let newest = KubeVersion::resolve(&format!("stable-1.{MAX_MINOR}")).unwrap();
        let before = KubeVersion { minor: MAX_MINOR - 1, patch: 0, ..newest.clone() };
        let t = targets(&before, None).unwrap();
        assert_eq!(t.last().unwrap().1.minor, MAX_MINOR);
        assert_eq!(t.last().unwrap().0, "stable version");
        assert!(targets(&newest, None).unwrap().iter().all(|(_, v)| v.minor == MAX_MINOR));
        let oldest = KubeVersion::resolve(&format!("v1.{MIN_MINOR}.0")).unwrap();
        let same = KubeVersion { patch: 9, ..oldest.clone() };
        assert_eq!(targets(&oldest, Some(&same)).unwrap()[0].0, format!("version in the v1.{MIN_MINOR} series"));
        assert!(targets(&oldest, Some(&oldest)).unwrap().is_empty());
    }

    #[test]
    fn text_is_rendered_from_the_plan_in_kubeadms_layout() {
        use serde_json::json;
        let old = KubeVersion::resolve(&format!("v1.{}.0", MAX_MINOR - 1)).unwrap();
        let new = KubeVersion::resolve(&format!("v1.{MAX_MINOR}.0")).unwrap();
        let pod = |c: &str, tag: &str| {
            json!({"metadata": {"labels": {"component": c, "tier": "control-plane"}},
                   "spec": {"nodeName": "cp1", "containers": [{"image": format!("registry.k8s.io/{c}:{tag}")}]}})
        };
        let mut pods: Vec<_> = super::super::state::CONTROL_PLANE.iter().map(|c| pod(c, &old.to_string())).collect();
        pods.push(pod("etcd", old.etcd_tag()));
        let nodes = [json!({"metadata": {"name": "cp1"}, "status": {"nodeInfo": {"kubeletVersion": old.to_string()}}})];
        let dns = json!({"spec": {"template": {"spec": {"containers": [{"image": format!("registry.k8s.io/coredns/coredns:{}", old.coredns_tag())}]}}}});
        let state = ClusterState::from_objects(&pods, &nodes, Some(&dns), true);
        let text =
            format!("apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: {old}\n");
        let facts = crate::config::HostFacts {
            hostname: "cp1".into(),
            default_address: Some([10, 0, 0, 1].into()),
            ..Default::default()
        };
        let cfg =
            crate::config::load_init(Some(&text), &crate::config::InitFlags::default(), &facts).unwrap().config.cluster;
        let plan = upgrade_plan(&state, &cfg, Some(&new), &[("kubelet.config.k8s.io", "v1beta1")]).unwrap();
        let names: Vec<&str> = plan.available_upgrades[0].components.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "kubelet",
                "kube-apiserver",
                "kube-controller-manager",
                "kube-scheduler",
                "kube-proxy",
                "CoreDNS",
                "kubeadm",
                "etcd"
            ]
        );
        let t = render_text(&plan);
        let bare = old.to_string().trim_start_matches('v').to_string();
        let rows = tabwrite(&[
            vec!["COMPONENT".into(), "NODE".into(), "CURRENT".into(), "TARGET".into()],
            vec!["kube-apiserver".into(), "cp1".into(), old.to_string(), new.to_string()],
            vec!["kube-controller-manager".into(), "cp1".into(), old.to_string(), new.to_string()],
            vec!["kube-scheduler".into(), "cp1".into(), old.to_string(), new.to_string()],
            vec!["kube-proxy".into(), String::new(), bare, new.to_string()],
            vec!["CoreDNS".into(), String::new(), old.coredns_tag().into(), new.coredns_tag().into()],
            vec!["etcd".into(), "cp1".into(), old.etcd_tag().into(), new.etcd_tag().into()],
        ]);
        assert!(t.contains(&format!("\nUpgrade to the latest stable version:\n\n{rows}\nYou can now apply the upgrade by executing the following command:\n\n\tkbinit upgrade apply {new}\n\n{SEPARATOR}\n\n")), "{t}");
        assert!(t.contains("kubelet     cp1    "), "{t}");
        assert!(t.ends_with(&format!("API GROUP               CURRENT VERSION   PREFERRED VERSION   MANUAL UPGRADE REQUIRED\nkubelet.config.k8s.io   v1beta1           v1beta1             no\n{SEPARATOR}\n")), "{t}");
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(json["apiVersion"], OUTPUT_API_VERSION);
        assert_eq!(json["availableUpgrades"][0]["components"][4]["name"], "kube-proxy");
        assert!(json["availableUpgrades"][0]["components"][4].get("nodeName").is_none(), "nodeName is omitempty");
        assert_eq!(json["configVersions"][0]["manualUpgradeRequired"], false);
    }
}
