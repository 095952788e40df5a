//! `kbinit certs check-expiration|renew|generate-csr`: which configuration they work from (`--config`, else the
//! cluster's kubeadm-config read through `--kubeconfig`, else defaults — kubeadm's `getInternalCfg`), then the
//! planners of [`kbinit_phases::certs`] on the node under `--root`.

pub mod care;
pub mod restart;

use std::path::PathBuf;
use std::time::Duration;

use http::Method;
use k8s_openapi::api::core::v1::ConfigMap;
use kbinit_phases::api::ResourceType;
use kbinit_phases::certs::{KeyPool, KeySource, OnDemandKeys, PkiContext, expiration, renew};
use kbinit_phases::config::{self, ClusterConfiguration, HostFacts, InitConfiguration, InitFlags};
use kbinit_phases::csr;
use kbinit_phases::join::remote;
use kbinit_phases::paths;

use crate::api::Cluster;
use crate::error::invalid;
use crate::host::apply::apply;
use crate::host::{Host, facts};
use crate::output::Output;

/// How long the cluster may take to answer the kubeadm-config read (a dead cluster must not block renewal).
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a certs command takes its configuration from.
#[derive(Debug, Clone, Default)]
pub struct ConfigSource {
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--cert-dir` (overrides the configuration's certificatesDir).
    pub cert_dir: Option<String>,
    /// `--kubeconfig`: read kubeadm-config from the cluster when there is no `--config`. `None` = never.
    pub kubeconfig: Option<String>,
    /// Say nothing about reading the cluster's configuration (structured output: kubeadm's printer for
    /// `-o json|yaml` silences its info lines, so stdout holds only the document).
    pub quiet: bool,
}

/// `--config`, else the cluster's ClusterConfiguration, else defaults; `--cert-dir` wins over all of them. `tag`
/// is the prefix of kubeadm's lines (`check-expiration`, `renew`). `placeholder_address`: a machine without a
/// default route still gets a configuration (for commands that do not use the node's address).
pub(crate) fn resolve(
    host: &Host,
    src: &ConfigSource,
    tag: &str,
    placeholder_address: bool,
    out: &Output,
) -> anyhow::Result<InitConfiguration> {
    if let Some(d) = &src.cert_dir {
        config::validate::validate_absolute("--cert-dir", d)?;
    }
    let mut facts: HostFacts = facts::gather(host);
    if placeholder_address && facts.default_address.is_none() {
        facts.default_address = Some(std::net::IpAddr::from([192, 0, 2, 1]));
    }
    let text = crate::flows::read_config(src.config.as_ref())?;
    let from_cluster = match (&text, &src.kubeconfig) {
        (None, Some(kc)) => cluster_configuration(host, kc, tag, src.quiet, out),
        _ => None,
    };
    let loaded = config::load_init(text.as_deref(), &InitFlags::default(), &facts)?;
    loaded.warnings.iter().for_each(|w| out.warn(w));
    let mut cfg = loaded.config;
    if let Some(cluster) = from_cluster {
        cfg.cluster = cluster;
    }
    if let Some(d) = &src.cert_dir {
        cfg.cluster.certificates_dir = d.clone();
    }
    Ok(cfg)
}

/// The ClusterConfiguration in kube-system/kubeadm-config, or `None` (having said so, as kubeadm does) when the
/// cluster cannot be asked. Without a loadable kubeconfig nothing is said, as in kubeadm.
fn cluster_configuration(
    host: &Host,
    kubeconfig: &str,
    tag: &str,
    quiet: bool,
    out: &Output,
) -> Option<ClusterConfiguration> {
    let say = |line: &str| {
        if !quiet {
            out.say(line);
        }
    };
    let path = host.path(kubeconfig);
    if !path.is_file() {
        out.debug(1, &format!("[{tag}] no kubeconfig at {kubeconfig}: using the default configuration"));
        return None;
    }
    let client = match Cluster::from_kubeconfig_file(&path, READ_TIMEOUT) {
        Ok(c) => c.with_events(out),
        Err(e) => {
            out.debug(1, &format!("[{tag}] cannot use {kubeconfig}: {e:#}"));
            return None;
        }
    };
    say(&format!("[{tag}] Reading configuration from the cluster..."));
    say(&format!(
        "[{tag}] FYI: You can look at this config file with 'kubectl -n kube-system get cm kubeadm-config -o yaml'"
    ));
    let (ns, name) = remote::KUBEADM_CONFIG.split_once('/').unwrap_or(("kube-system", "kubeadm-config"));
    let item = ResourceType::of::<ConfigMap>().item_path(Some(ns), name);
    let read = client
        .call_once(Method::GET, &item, None)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .and_then(|v| serde_json::from_value::<ConfigMap>(v).map_err(|e| anyhow::anyhow!("decoding {name}: {e}")))
        .and_then(|cm| remote::cluster_configuration(&cm).map_err(anyhow::Error::from));
    match read {
        Ok(loaded) => {
            loaded.warnings.iter().for_each(|w| out.warn(w));
            say("");
            Some(loaded.config)
        }
        Err(e) => {
            out.debug(1, &format!("[{tag}] reading {}: {e:#}", remote::KUBEADM_CONFIG));
            say(&format!(
                "[{tag}] Error reading configuration from the Cluster. Falling back to default configuration"
            ));
            say("");
            None
        }
    }
}

/// `certs check-expiration`: kubeadm's two tables (`text`), or the 1.31+ structured form (`json`, `yaml`).
pub fn check_expiration(host: &Host, src: &ConfigSource, output: &str, out: &Output) -> anyhow::Result<()> {
    if !matches!(output, "text" | "json" | "yaml") {
        return Err(invalid(format!("invalid output format {output:?}: use text, json or yaml")));
    }
    let src = ConfigSource { quiet: output != "text", ..src.clone() };
    let cfg = resolve(host, &src, "check-expiration", true, out)?;
    let report = expiration::check_expiration(&cfg.cluster, paths::KUBERNETES_DIR, host)?;
    let now = time::OffsetDateTime::now_utc();
    match output {
        "text" => out.raw(&expiration::expiration_text(&report, now)),
        "json" => out.raw(&expiration::expiration_json(&report, now)?),
        _ => out.raw(&kbinit_phases::go_format::yaml::to_yaml(&expiration::expiration_value(&report, now))),
    }
    Ok(())
}

/// Refuses a `certs renew` name no version knows (before anything is read).
pub(crate) fn check_renew_name(name: &str) -> anyhow::Result<()> {
    let newest = config::load_init(None, &InitFlags::default(), &placeholder_facts())?.config.cluster;
    if name != "all" && !renew::renew_names(&newest).contains(&name) {
        return Err(invalid(format!(
            "unknown certificate {name:?}: use all or one of {}",
            renew::renew_names(&newest).join(", ")
        )));
    }
    Ok(())
}

/// `certs renew <name>|all`.
pub fn renew(host: &Host, name: &str, src: &ConfigSource, out: &Output) -> anyhow::Result<()> {
    check_renew_name(name)?;
    let cfg = resolve(host, src, "renew", true, out)?;
    let cluster = &cfg.cluster;
    let algs = renew::renew_key_algorithms(name, cluster, paths::KUBERNETES_DIR, host)?;
    let pool;
    let keys: &dyn KeySource = if algs.len() > 1 {
        let main = algs.iter().copied().max_by_key(|a| algs.iter().filter(|b| *b == a).count());
        let main = main.unwrap_or(cluster.encryption_algorithm);
        pool = KeyPool::prefetch(main, algs.iter().filter(|a| **a == main).count());
        &pool
    } else {
        &OnDemandKeys
    };
    let now = time::OffsetDateTime::now_utc();
    let steps = renew::plan_renew(name, cluster, paths::KUBERNETES_DIR, now, host, keys)?;
    apply(&steps, host, out)
}

fn placeholder_facts() -> HostFacts {
    HostFacts {
        hostname: "node".into(),
        default_address: Some(std::net::IpAddr::from([192, 0, 2, 1])),
        cri_sockets: Vec::new(),
        systemd_resolved: false,
    }
}

/// `certs generate-csr`: keys and CSRs under the certificate dir, partial kubeconfigs and CSRs under
/// `kubeconfig_dir`. The configuration is `--config` or defaults (never the cluster's), as in kubeadm.
pub fn generate_csr(host: &Host, src: &ConfigSource, kubeconfig_dir: &str, out: &Output) -> anyhow::Result<()> {
    config::validate::validate_absolute("--kubeconfig-dir", kubeconfig_dir)?;
    let cfg = resolve(host, &ConfigSource { kubeconfig: None, ..src.clone() }, "generate-csr", false, out)?;
    let node = cfg.node();
    let ctx = PkiContext { cluster: &cfg.cluster, node: &node, now: time::OffsetDateTime::now_utc() };
    let pool = KeyPool::prefetch(cfg.cluster.encryption_algorithm, csr::csr_keys_needed(&ctx));
    let steps = csr::plan_generate_csr(&ctx, kubeconfig_dir, host, &pool)?;
    apply(&steps, host, out)
}
