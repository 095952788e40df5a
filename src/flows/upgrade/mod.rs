//! `kbinit upgrade`: what every upgrade command reads first (the cluster's configuration and state, this node's
//! identity), and the two read-only commands, `plan` and `diff`. What each command takes is a plain value of
//! [`crate::flows::upgrade::options`] (the command line fills it in). `apply` and `node` are in
//! [`crate::flows::upgrade::apply`] and [`crate::flows::upgrade::node`]; the static Pod swap with backup and rollback both use
//! is [`crate::flows::upgrade::static_pods`].

pub mod apply;
pub mod cluster;
pub mod data;
pub mod etcd;
pub mod health;
pub mod node;
pub mod options;
pub mod phases;
pub mod static_pods;

use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{ConfigMap, Node, Pod};
use kbinit_phases::api::ResourceType;
use kbinit_phases::config::{ApiEndpoint, ClusterConfiguration, InitConfiguration, Timeouts};
use kbinit_phases::join::remote;
use kbinit_phases::paths;
use kbinit_phases::upgrade::config::{UpgradeConfiguration, parse_upgrade_configuration};
use kbinit_phases::upgrade::state::ClusterState;
use kbinit_phases::upgrade::{diff, plan, target};
use kbinit_phases::version::KubeVersion;
use serde_json::Value;

use crate::api::Cluster;
use crate::error::invalid;
use crate::host::Host;
use crate::output::Output;
pub use options::{ApplyOptions, CommonOptions, DiffOptions, NodeOptions, PlanOptions};

/// The kube-apiserver manifest: its presence makes a node a control-plane node (kubeadm's test).
pub const APISERVER_MANIFEST: &str = "/etc/kubernetes/manifests/kube-apiserver.yaml";

/// What an upgrade command knows once it has read the cluster.
pub struct Context {
    /// The node.
    pub host: Host,
    /// The API client.
    pub api: Cluster,
    /// The ClusterConfiguration as stored in kubeadm-config (still at the running version).
    pub cluster: ClusterConfiguration,
    /// What runs where.
    pub state: ClusterState,
    /// The cluster's KubeletConfiguration (kubelet-config), if stored.
    pub kubelet: Option<Value>,
    /// The kubelet-config ConfigMap as stored.
    pub kubelet_cm: Option<Value>,
    /// The kube-proxy ConfigMap's `config.conf`, parsed, if stored.
    pub kube_proxy: Option<Value>,
    /// This node's name.
    pub node_name: String,
    /// This node's API endpoint (control-plane nodes).
    pub endpoint: Option<ApiEndpoint>,
    /// This node's CRI socket.
    pub cri_socket: String,
}

/// Reads `--config`'s UpgradeConfiguration (invalid input when it has none), warning of the other documents.
pub fn load_config(path: Option<&std::path::PathBuf>, out: &Output) -> anyhow::Result<UpgradeConfiguration> {
    match crate::flows::read_config(path)? {
        Some(text) => {
            let cfg = parse_upgrade_configuration(&text)?;
            for w in &cfg.warnings {
                out.err_line(w);
            }
            Ok(cfg)
        }
        None => Ok(UpgradeConfiguration::default()),
    }
}

/// Resolves a target version, refusing one outside kbinit's table with the table named.
pub fn resolve_target(text: &str) -> anyhow::Result<KubeVersion> {
    Ok(KubeVersion::resolve(text)?)
}

fn text(host: &Host, path: &str) -> Option<String> {
    host.read(path).ok().and_then(|b| String::from_utf8(b).ok())
}

impl Context {
    /// Connects through `kubeconfig` (a node path) and reads everything (`tag` is the log prefix kubeadm uses).
    pub fn read(
        host: Host,
        kubeconfig: &str,
        timeouts: &Timeouts,
        tag: Option<&str>,
        out: &Output,
    ) -> anyhow::Result<Context> {
        let file = host.path(kubeconfig);
        if !file.exists() {
            return Err(invalid(format!(
                "the kubeconfig {kubeconfig} does not exist on this node: kbinit upgrade talks to the cluster through it"
            )));
        }
        let api = Cluster::from_kubeconfig_file(&file, timeouts.kubernetes_api_call)?;
        if let Some(tag) = tag {
            out.say(&format!(
                "[{tag}] Reading configuration from the \"kubeadm-config\" ConfigMap in namespace \"kube-system\"..."
            ));
            out.say(&format!(
                "[{tag}] Use 'kbinit init phase upload-config kubeadm --config your-config-file' to re-upload it."
            ));
        }
        let cms = ResourceType::of::<ConfigMap>();
        let Some(kc) = api.get(&cms, Some("kube-system"), "kubeadm-config")? else {
            anyhow::bail!(
                "[upgrade] FATAL: the ConfigMap \"kubeadm-config\" in the \"kube-system\" namespace was not found: in \
                 order to upgrade, it must exist (upload it with 'kbinit init phase upload-config kubeadm')"
            );
        };
        let loaded = remote::cluster_configuration(&serde_json::from_value(kc)?)?;
        for w in &loaded.warnings {
            out.warn(w);
        }
        let kubelet_cm = api.get(&cms, Some("kube-system"), "kubelet-config")?;
        let kubelet = match &kubelet_cm {
            Some(cm) => Some(remote::kubelet_configuration(&serde_json::from_value(cm.clone())?)?),
            None => None,
        };
        let kube_proxy = api
            .get(&cms, Some("kube-system"), "kube-proxy")
            .ok()
            .flatten()
            .and_then(|cm| cm.pointer("/data/config.conf").and_then(Value::as_str).map(str::to_string))
            .and_then(|t| kbinit_phases::go_format::yaml::from_yaml(&t).ok());
        let endpoint = match text(&host, APISERVER_MANIFEST) {
            Some(t) => Some(target::api_endpoint_from_manifest(&t)?),
            None => None,
        };
        // a worker reads with the kubelet's identity, which may not list control-plane objects: it needs none
        let state = match read_state(&api) {
            Ok(s) => s,
            Err(_) if endpoint.is_none() => ClusterState::default(),
            Err(e) => return Err(e),
        };
        let node_name = node_name(&host)?;
        let cri_socket = target::cri_socket(
            text(&host, paths::KUBELET_INSTANCE_CONFIG).as_deref(),
            text(&host, paths::KUBELET_FLAGS_ENV).as_deref(),
        );
        Ok(Context {
            host,
            api,
            cluster: loaded.config,
            state,
            kubelet,
            kubelet_cm,
            kube_proxy,
            node_name,
            endpoint,
            cri_socket,
        })
    }

    /// This node's configuration at `version`.
    pub fn node_init(&self, version: &KubeVersion, timeouts: &Timeouts) -> InitConfiguration {
        let endpoint = self
            .endpoint
            .clone()
            .unwrap_or(ApiEndpoint { advertise_address: std::net::IpAddr::from([127, 0, 0, 1]), bind_port: 6443 });
        let mut init = target::node_configuration(
            &self.cluster,
            version,
            &self.node_name,
            endpoint,
            &self.cri_socket,
            self.kubelet.clone(),
            timeouts.clone(),
        );
        init.kube_proxy = self.kube_proxy.clone();
        init
    }

    /// Reads the cluster's state again (after this node's control plane changed).
    pub fn refresh(&mut self) -> anyhow::Result<()> {
        self.state = read_state(&self.api)?;
        Ok(())
    }
}

/// The control-plane Pods, Nodes, CoreDNS and kube-proxy as [`ClusterState`].
pub fn read_state(api: &Cluster) -> anyhow::Result<ClusterState> {
    let pods = api.list(&ResourceType::of::<Pod>(), Some("kube-system"), "labelSelector=tier%3Dcontrol-plane")?;
    let nodes = api.list(&ResourceType::of::<Node>(), None, "")?;
    let dns = api.list(&ResourceType::of::<Deployment>(), Some("kube-system"), "labelSelector=k8s-app%3Dkube-dns")?;
    let proxy = api.get(&ResourceType::of::<DaemonSet>(), Some("kube-system"), "kube-proxy")?.is_some();
    Ok(ClusterState::from_objects(&pods, &nodes, dns.first(), proxy))
}

/// The node name: kubelet.conf's client certificate (`system:node:<name>`), else the lower-cased hostname.
fn node_name(host: &Host) -> anyhow::Result<String> {
    let conf = format!("{}/kubelet.conf", paths::KUBERNETES_DIR);
    match text(host, &conf) {
        Some(t) => Ok(target::node_name_from_kubelet_conf(&t, &|p| host.read(p).ok())?),
        None => Ok(crate::host::facts::gather(host).hostname.to_lowercase()),
    }
}

/// `kbinit upgrade plan [version]`.
pub fn plan(a: PlanOptions, out: &Output) -> anyhow::Result<()> {
    if !matches!(a.output.as_str(), "text" | "json" | "yaml") {
        return Err(invalid(format!("--output {:?}: expected text, json or yaml", a.output)));
    }
    let cfg = load_config(a.common.config.as_ref(), out)?;
    let version = a.version.clone().unwrap_or(cfg.plan.kubernetes_version.clone());
    let wanted = if version.is_empty() { None } else { Some(resolve_target(&version)?) };
    let host = Host::new(a.root.clone(), None);
    // structured output keeps stdout for the document alone
    let log = |line: &str| {
        if a.output == "text" {
            out.say(line);
        }
    };
    log("[preflight] Running pre-flight checks.");
    let tag = (a.output == "text").then_some("upgrade/config");
    let ctx = Context::read(host, &a.common.kubeconfig, &cfg.timeouts, tag, out)?;
    log("[upgrade] Running cluster health checks");
    log("[upgrade] Fetching available versions to upgrade to");
    let cluster = ctx.state.cluster_version()?;
    log(&format!("[upgrade/versions] Cluster version: {}", cluster.to_string().trim_start_matches('v')));
    let shown = wanted.clone().unwrap_or_else(KubeVersion::default_version);
    log(&format!("[upgrade/versions] kubeadm version: {shown}"));
    if let Some(t) = &wanted {
        log(&format!("[upgrade/versions] Target version: {t}"));
    }
    let series = KubeVersion::resolve(&format!("stable-1.{}", cluster.minor))?;
    log(&format!("[upgrade/versions] Latest version in the v1.{} series: {series}", cluster.minor));
    log("");
    let kubelet_version = ctx
        .kubelet
        .as_ref()
        .and_then(|k| k.get("apiVersion").and_then(Value::as_str))
        .and_then(|v| v.rsplit('/').next())
        .unwrap_or_default()
        .to_string();
    let proxy_version = ctx
        .kube_proxy
        .as_ref()
        .and_then(|k| k.get("apiVersion").and_then(Value::as_str))
        .and_then(|v| v.rsplit('/').next())
        .unwrap_or_default()
        .to_string();
    let mut configs =
        vec![("kubeproxy.config.k8s.io", proxy_version.as_str()), ("kubelet.config.k8s.io", kubelet_version.as_str())];
    if ctx.cluster.proxy_disabled {
        configs.remove(0);
    }
    let p = plan::upgrade_plan(&ctx.state, &ctx.cluster, wanted.as_ref(), &configs)?;
    kbinit_phases::etcd_snapshot::version::plan_warnings(&p).iter().for_each(|w| out.warn(w));
    match a.output.as_str() {
        "json" => out.say(&serde_json::to_string_pretty(&p)?),
        "yaml" => out.raw(&kbinit_phases::go_format::yaml::to_yaml(&serde_json::to_value(&p)?)),
        _ => out.raw(&plan::render_text(&p)),
    }
    Ok(())
}

/// `kbinit upgrade diff [version]`: every static Pod manifest and the kubelet config, on disk vs. what `version`
/// would write.
pub fn diff(a: DiffOptions, out: &Output) -> anyhow::Result<()> {
    let cfg = load_config(a.config.as_ref(), out)?;
    let host = Host::new(a.root.clone(), None);
    for c in kbinit_phases::upgrade::state::CONTROL_PLANE {
        let p = format!("{}/{c}.yaml", paths::MANIFESTS_DIR);
        if !host.path(&p).is_file() {
            return Err(invalid(format!(
                "the manifest file {p:?} does not exist: upgrade diff runs on a control-plane node"
            )));
        }
    }
    let ctx = Context::read(host, &a.kubeconfig, &cfg.timeouts, None, out)?;
    let version = a
        .version
        .clone()
        .or_else(|| Some(cfg.diff.kubernetes_version.clone()).filter(|v| !v.is_empty()))
        .unwrap_or_else(|| ctx.cluster.kubernetes_version.to_string());
    let version = resolve_target(&version)?;
    let init = ctx.node_init(&version, &cfg.timeouts);
    let context = a.context_lines.unwrap_or(cfg.diff.context_lines as usize);
    let membership = match text(&ctx.host, &format!("{}/etcd.yaml", paths::MANIFESTS_DIR)) {
        Some(t) => target::etcd_membership(&t)?,
        None => (Vec::new(), false),
    };
    let proxy = crate::host::facts::proxy_env();
    for c in target::components(&init.cluster) {
        let p = format!("{}/{c}.yaml", paths::MANIFESTS_DIR);
        let Some(current) = text(&ctx.host, &p) else { continue };
        let new = target::target_manifest(c, &init, &ctx.host, &proxy, &membership)?;
        out.raw(&diff::unified_diff(&current, &new, &p, "new manifest", context));
    }
    if let Some(current) = text(&ctx.host, paths::KUBELET_CONFIG) {
        let new = target::kubelet_config_yaml(&init);
        out.raw(&diff::unified_diff(&current, &new, paths::KUBELET_CONFIG, "new config", context));
    }
    Ok(())
}

/// The time budget of one component's restart.
pub fn upgrade_timeout(t: &Timeouts) -> Duration {
    t.upgrade_manifests
}
