//! `UpgradeConfiguration` (`kubeadm.k8s.io/v1beta4`, kubeadm v1.31+): the document `kbinit upgrade … --config`
//! takes. Fields per kubeadm's `cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go` (sheet §1.6): `apply`, `diff`,
//! `node`, `plan` and `timeouts`.
//!
//! Unlike kubeadm (which prints unknown fields as warnings), kbinit refuses a document with a field it does not
//! know or a value of the wrong type, naming the field: an upgrade must not run on a half-understood request.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::Error;
use crate::config::model::Timeouts;
use crate::config::wire::WirePatches;
use crate::go_format::duration::parse_duration;

/// The one apiVersion an UpgradeConfiguration exists in.
pub const API_VERSION: &str = "kubeadm.k8s.io/v1beta4";

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireUpgrade {
    apply: Option<WireApply>,
    diff: Option<WireDiff>,
    node: Option<WireNode>,
    plan: Option<WirePlan>,
    timeouts: Option<crate::config::wire::WireTimeouts>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireApply {
    kubernetes_version: Option<String>,
    allow_experimental_upgrades: Option<bool>,
    #[serde(rename = "allowRCUpgrades")]
    allow_rc_upgrades: Option<bool>,
    certificate_renewal: Option<bool>,
    dry_run: Option<bool>,
    etcd_upgrade: Option<bool>,
    force_upgrade: Option<bool>,
    ignore_preflight_errors: Option<Vec<String>>,
    patches: Option<WirePatches>,
    print_config: Option<bool>,
    skip_phases: Option<Vec<String>>,
    image_pull_policy: Option<String>,
    image_pull_serial: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireDiff {
    kubernetes_version: Option<String>,
    context_lines: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireNode {
    certificate_renewal: Option<bool>,
    dry_run: Option<bool>,
    etcd_upgrade: Option<bool>,
    ignore_preflight_errors: Option<Vec<String>>,
    skip_phases: Option<Vec<String>>,
    patches: Option<WirePatches>,
    image_pull_policy: Option<String>,
    image_pull_serial: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePlan {
    kubernetes_version: Option<String>,
    allow_experimental_upgrades: Option<bool>,
    #[serde(rename = "allowRCUpgrades")]
    allow_rc_upgrades: Option<bool>,
    dry_run: Option<bool>,
    ignore_preflight_errors: Option<Vec<String>>,
    print_config: Option<bool>,
}

/// The settings of one upgrade sub-command after defaulting (what a flag the user did not set falls back to).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeSettings {
    /// `kubernetesVersion` (apply, plan, diff); empty = not set.
    pub kubernetes_version: String,
    /// `allowExperimentalUpgrades`.
    pub allow_experimental: bool,
    /// `allowRCUpgrades`.
    pub allow_rc: bool,
    /// `certificateRenewal` (default true).
    pub certificate_renewal: bool,
    /// `dryRun`.
    pub dry_run: bool,
    /// `etcdUpgrade` (default true).
    pub etcd_upgrade: bool,
    /// `forceUpgrade`.
    pub force: bool,
    /// `ignorePreflightErrors`, lower-cased.
    pub ignore_preflight_errors: Vec<String>,
    /// `patches.directory`; empty = none.
    pub patches_dir: String,
    /// `printConfig`.
    pub print_config: bool,
    /// `skipPhases`.
    pub skip_phases: Vec<String>,
    /// `imagePullPolicy` (default `IfNotPresent`).
    pub image_pull_policy: String,
    /// `imagePullSerial` (default true: one image after the other).
    pub image_pull_serial: bool,
    /// `diff.contextLines` (default 3).
    pub context_lines: u32,
}

impl Default for UpgradeSettings {
    fn default() -> Self {
        UpgradeSettings {
            kubernetes_version: String::new(),
            allow_experimental: false,
            allow_rc: false,
            certificate_renewal: true,
            dry_run: false,
            etcd_upgrade: true,
            force: false,
            ignore_preflight_errors: Vec::new(),
            patches_dir: String::new(),
            print_config: false,
            skip_phases: Vec::new(),
            image_pull_policy: "IfNotPresent".into(),
            image_pull_serial: true,
            context_lines: 3,
        }
    }
}

/// A parsed UpgradeConfiguration: one [`UpgradeSettings`] per sub-command, and the timeouts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpgradeConfiguration {
    /// `apply`.
    pub apply: UpgradeSettings,
    /// `diff`.
    pub diff: UpgradeSettings,
    /// `node`.
    pub node: UpgradeSettings,
    /// `plan`.
    pub plan: UpgradeSettings,
    /// `timeouts` (kubeadm's defaults for what is not given).
    pub timeouts: Timeouts,
    /// Warnings for the other documents of the file, which upgrade ignores as kubeadm does (a kubespray
    /// kubeadm-config.yaml holds Init-, Cluster-, Upgrade-, KubeProxy- and KubeletConfiguration together).
    pub warnings: Vec<String>,
}

fn pull_policy(field: &str, p: Option<String>) -> Result<String, Error> {
    match p.as_deref() {
        None | Some("") => Ok("IfNotPresent".into()),
        Some(v @ ("Always" | "IfNotPresent" | "Never")) => Ok(v.into()),
        Some(v) => Err(Error::invalid(field, v, "expected Always, IfNotPresent or Never")),
    }
}

fn lower(list: Option<Vec<String>>) -> Vec<String> {
    list.unwrap_or_default().into_iter().map(|s| s.to_ascii_lowercase()).collect()
}

fn timeouts(wire: Option<crate::config::wire::WireTimeouts>) -> Result<Timeouts, Error> {
    let mut t = Timeouts::default();
    let Some(w) = wire else { return Ok(t) };
    let set = |slot: &mut Duration, name: &str, v: Option<String>| -> Result<(), Error> {
        if let Some(text) = v {
            *slot = parse_duration(&text).map_err(|e| Error::invalid(format!("timeouts.{name}"), &text, e))?;
        }
        Ok(())
    };
    set(
        &mut t.control_plane_component_health_check,
        "controlPlaneComponentHealthCheck",
        w.control_plane_component_health_check,
    )?;
    set(&mut t.kubelet_health_check, "kubeletHealthCheck", w.kubelet_health_check)?;
    set(&mut t.kubernetes_api_call, "kubernetesAPICall", w.kubernetes_api_call)?;
    set(&mut t.etcd_api_call, "etcdAPICall", w.etcd_api_call)?;
    set(&mut t.tls_bootstrap, "tlsBootstrap", w.tls_bootstrap)?;
    set(&mut t.discovery, "discovery", w.discovery)?;
    set(&mut t.upgrade_manifests, "upgradeManifests", w.upgrade_manifests)?;
    Ok(t)
}

/// Every field path of the UpgradeConfiguration document, from its wire type (see [`crate::config::fields`]).
pub fn field_paths() -> Result<Vec<String>, crate::config::fields::TraceError> {
    crate::config::fields::field_paths::<WireUpgrade>()
}

/// Parses an `--config` file for `kbinit upgrade`: its `UpgradeConfiguration` of `kubeadm.k8s.io/v1beta4`. Other
/// documents are ignored with kubeadm's warning (`documentMapToUpgradeConfiguration`, upgradeconfiguration.go of
/// v1.33.3); a file without an UpgradeConfiguration, two of them, another apiVersion, an unknown field or a wrong
/// type is refused with the field named (exit 3).
pub fn parse_upgrade_configuration(text: &str) -> Result<UpgradeConfiguration, Error> {
    let docs = crate::go_format::yaml::documents(text)?;
    let docs: Vec<Value> = docs.into_iter().filter(|d| !d.is_null()).collect();
    let str_of = |d: &Value, k: &str| d.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let mut warnings = Vec::new();
    let mut upgrade = Vec::new();
    for d in &docs {
        if str_of(d, "kind") == "UpgradeConfiguration" {
            upgrade.push(d);
        } else {
            let api = str_of(d, "apiVersion");
            let (group, version) = api.rsplit_once('/').unwrap_or(("", &api));
            warnings.push(format!(
                "[config] WARNING: Ignored configuration document with GroupVersionKind {group}/{version}, Kind={}",
                str_of(d, "kind")
            ));
        }
    }
    let doc = match upgrade.as_slice() {
        [one] => *one,
        [] => {
            return Err(Error::invalid(
                "kind",
                "",
                "no UpgradeConfiguration found in the supplied config (kbinit upgrade --config takes an \
                 UpgradeConfiguration of kubeadm.k8s.io/v1beta4; the cluster's ClusterConfiguration is read from the \
                 kube-system/kubeadm-config ConfigMap)",
            ));
        }
        more => {
            return Err(Error::Document(format!(
                "the upgrade --config file holds {} UpgradeConfiguration documents; give one",
                more.len()
            )));
        }
    };
    let api = doc.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    if api != API_VERSION {
        return Err(Error::invalid("apiVersion", api, format!("UpgradeConfiguration exists only in {API_VERSION}")));
    }
    let mut unknown = Vec::new();
    let wire: WireUpgrade =
        crate::config::wire::decode(doc.clone(), "UpgradeConfiguration", API_VERSION, &mut unknown)?;
    if let Some(first) = unknown.first() {
        let field = first.split('"').nth(1).unwrap_or(first).to_string();
        return Err(Error::invalid(
            field,
            "",
            format!(
                "{first}: kbinit refuses an UpgradeConfiguration field it does not know (a typo would change what the upgrade does)"
            ),
        ));
    }
    let a = wire.apply.unwrap_or_default();
    let apply = UpgradeSettings {
        kubernetes_version: a.kubernetes_version.unwrap_or_default(),
        allow_experimental: a.allow_experimental_upgrades.unwrap_or(false),
        allow_rc: a.allow_rc_upgrades.unwrap_or(false),
        certificate_renewal: a.certificate_renewal.unwrap_or(true),
        dry_run: a.dry_run.unwrap_or(false),
        etcd_upgrade: a.etcd_upgrade.unwrap_or(true),
        force: a.force_upgrade.unwrap_or(false),
        ignore_preflight_errors: lower(a.ignore_preflight_errors),
        patches_dir: a.patches.and_then(|p| p.directory).unwrap_or_default(),
        print_config: a.print_config.unwrap_or(false),
        skip_phases: a.skip_phases.unwrap_or_default(),
        image_pull_policy: pull_policy("apply.imagePullPolicy", a.image_pull_policy)?,
        image_pull_serial: a.image_pull_serial.unwrap_or(true),
        context_lines: 3,
    };
    let d = wire.diff.unwrap_or_default();
    let diff = UpgradeSettings {
        kubernetes_version: d.kubernetes_version.unwrap_or_default(),
        context_lines: d.context_lines.unwrap_or(3),
        ..UpgradeSettings::default()
    };
    let n = wire.node.unwrap_or_default();
    let node = UpgradeSettings {
        certificate_renewal: n.certificate_renewal.unwrap_or(true),
        dry_run: n.dry_run.unwrap_or(false),
        etcd_upgrade: n.etcd_upgrade.unwrap_or(true),
        ignore_preflight_errors: lower(n.ignore_preflight_errors),
        skip_phases: n.skip_phases.unwrap_or_default(),
        patches_dir: n.patches.and_then(|p| p.directory).unwrap_or_default(),
        image_pull_policy: pull_policy("node.imagePullPolicy", n.image_pull_policy)?,
        image_pull_serial: n.image_pull_serial.unwrap_or(true),
        ..UpgradeSettings::default()
    };
    let p = wire.plan.unwrap_or_default();
    let plan = UpgradeSettings {
        kubernetes_version: p.kubernetes_version.unwrap_or_default(),
        allow_experimental: p.allow_experimental_upgrades.unwrap_or(false),
        allow_rc: p.allow_rc_upgrades.unwrap_or(false),
        dry_run: p.dry_run.unwrap_or(false),
        ignore_preflight_errors: lower(p.ignore_preflight_errors),
        print_config: p.print_config.unwrap_or(false),
        ..UpgradeSettings::default()
    };
    Ok(UpgradeConfiguration { apply, diff, node, plan, timeouts: timeouts(wire.timeouts)?, warnings })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_section_with_kubeadm_defaults() {
        let c = parse_upgrade_configuration(
            "apiVersion: kubeadm.k8s.io/v1beta4\nkind: UpgradeConfiguration\napply:\n  kubernetesVersion: v1.30.2\n  \
             etcdUpgrade: false\n  patches:\n    directory: /p\n  allowRCUpgrades: true\ndiff:\n  contextLines: 5\n\
             timeouts:\n  upgradeManifests: 30s\n",
        )
        .unwrap();
        assert_eq!(c.apply.kubernetes_version, "v1.30.2");
        assert!(!c.apply.etcd_upgrade && c.apply.certificate_renewal && c.apply.allow_rc);
        assert_eq!(c.apply.patches_dir, "/p");
        assert_eq!(c.diff.context_lines, 5);
        assert!(c.node.etcd_upgrade && c.node.certificate_renewal);
        assert_eq!(c.timeouts.upgrade_manifests, Duration::from_secs(30));
        assert_eq!(c.timeouts.kubernetes_api_call, Duration::from_secs(60));
    }

    #[test]
    fn refuses_wrong_fields_kinds_and_versions_naming_them() {
        let head = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: UpgradeConfiguration\n";
        for (body, want) in [
            ("apply:\n  etcdUpgrad: false\n", "etcdUpgrad"),
            ("apply:\n  etcdUpgrade: maybe\n", "apply.etcdUpgrade"),
            ("aply: {}\n", "aply"),
            ("apply:\n  imagePullPolicy: Sometimes\n", "apply.imagePullPolicy"),
            ("timeouts:\n  upgradeManifests: soon\n", "timeouts.upgradeManifests"),
        ] {
            let err = parse_upgrade_configuration(&format!("{head}{body}")).unwrap_err();
            assert!(err.is_invalid_input() && err.to_string().contains(want), "{body}: {err}");
        }
        let err = parse_upgrade_configuration("apiVersion: kubeadm.k8s.io/v1beta3\nkind: UpgradeConfiguration\n");
        assert!(err.unwrap_err().to_string().contains("v1beta4"));
        let err = parse_upgrade_configuration("apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n");
        assert!(err.unwrap_err().to_string().contains("no UpgradeConfiguration found in the supplied config"));
    }

    #[test]
    fn other_documents_are_ignored_with_kubeadms_warning() {
        // a kubespray kubeadm-config.yaml: init, cluster, upgrade and component configs in one file
        let text = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n---\n\
                    apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n---\n\
                    apiVersion: kubeadm.k8s.io/v1beta4\nkind: UpgradeConfiguration\napply:\n  forceUpgrade: true\n---\n\
                    apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\n";
        let c = parse_upgrade_configuration(text).unwrap();
        assert!(c.apply.force);
        assert_eq!(
            c.warnings,
            [
                "[config] WARNING: Ignored configuration document with GroupVersionKind kubeadm.k8s.io/v1beta4, Kind=InitConfiguration",
                "[config] WARNING: Ignored configuration document with GroupVersionKind kubeadm.k8s.io/v1beta4, Kind=ClusterConfiguration",
                "[config] WARNING: Ignored configuration document with GroupVersionKind kubeproxy.config.k8s.io/v1alpha1, Kind=KubeProxyConfiguration",
            ]
        );
        let two = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: UpgradeConfiguration\n---\n\
                   apiVersion: kubeadm.k8s.io/v1beta4\nkind: UpgradeConfiguration\n";
        assert!(parse_upgrade_configuration(two).unwrap_err().to_string().contains("2 UpgradeConfiguration"));
    }
}
