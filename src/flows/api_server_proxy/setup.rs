//! Setting the API server proxy up on a node and taking it away: the unit and the kubelet's kubeconfigs
//! (planned in `kbinit_phases::api_server_proxy::node`), starting and stopping the unit, the `tls-server-name`
//! the kubelet drops from kubelet.conf, and `kbinit api-server-proxy install|uninstall` for nodes joined without
//! it (e.g. by `kubeadm join`).

use std::net::ToSocketAddrs;

use kbinit_phases::api_server_proxy::{ApiServerProxySettings, config_map, node};
use kbinit_phases::plan::{FileKind, NodeView, Step};

use crate::error::invalid;
use crate::host::Host;
use crate::host::apply::apply;
use crate::host::services::{has_systemd, systemctl};
use crate::output::Output;

/// The command an operator runs on a node joined without the proxy (printed by init and in the docs).
pub const INSTALL_HINT: &str = "kbinit api-server-proxy install";

/// The binary the unit runs: this one.
fn binary() -> String {
    std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "/usr/local/bin/kbinit".into())
}

/// `ip:port` of each API server URL (`https://host:port`), names resolved; an unresolvable one is refused.
pub fn seeds_from_urls(urls: &[String]) -> anyhow::Result<Vec<String>> {
    let mut seeds = Vec::new();
    for url in urls {
        let hostport = url.trim_start_matches("https://").trim_end_matches('/');
        let addrs = hostport
            .to_socket_addrs()
            .map_err(|e| invalid(format!("cannot resolve the API server {url:?} for the proxy's start list: {e}")))?;
        for a in addrs {
            let a = a.to_string();
            if !seeds.contains(&a) {
                seeds.push(a);
            }
        }
    }
    Ok(seeds)
}

fn managed(host: &Host, dry_run: bool) -> bool {
    !dry_run && host.is_real_root() && has_systemd()
}

/// Writes the unit and points the kubelet kubeconfigs that exist at the proxy, then (real root with systemd)
/// enables and restarts the unit so it runs before the kubelet is (re)started. The port was checked by the
/// caller's preflight ([`crate::preflight::proxy`]).
pub fn install(
    host: &Host,
    settings: &ApiServerProxySettings,
    seeds: &[String],
    dry_run: bool,
    out: &Output,
) -> anyhow::Result<()> {
    apply(&node::plan_install(&binary(), settings, seeds, host)?, host, out)?;
    if dry_run {
        out.say(&format!("[dryrun] Would enable and start {}", node::UNIT_NAME));
    } else if managed(host, dry_run) {
        out.say(&format!("[api-server-proxy] Starting {}", node::UNIT_NAME));
        systemctl(&["daemon-reload"])?;
        systemctl(&["enable", node::UNIT_NAME])?;
        systemctl(&["restart", node::UNIT_NAME])?;
    } else {
        out.say(&format!(
            "[api-server-proxy] Not starting {}: --root is {:?} or there is no systemd",
            node::UNIT_NAME,
            host.root().display()
        ));
    }
    Ok(())
}

/// Puts `tls-server-name` back into a kubelet.conf the kubelet wrote after its TLS bootstrap (it drops it);
/// `true` when the file was changed.
pub fn fix_kubelet_conf(host: &Host, settings: &ApiServerProxySettings, out: &Output) -> anyhow::Result<bool> {
    let path = kbinit_phases::join::kubelet::KUBELET_CONF;
    let Some(text) = NodeView::read(host, path).and_then(|b| String::from_utf8(b).ok()) else { return Ok(false) };
    let Ok(Some(fixed)) = node::add_tls_server_name(&text, settings.port) else { return Ok(false) };
    let line = format!("[api-server-proxy] Adding tls-server-name to {path:?}, which the kubelet wrote without it");
    apply(&[Step::say(line), Step::write(path, fixed, FileKind::Kubeconfig)], host, out)?;
    Ok(true)
}

/// Stops and removes the unit and the proxy's state (reset, uninstall). The kubeconfigs are not touched.
pub fn remove(host: &Host, dry_run: bool, out: &Output) -> anyhow::Result<()> {
    let unit = host.path(node::UNIT_PATH);
    if !unit.exists() && !host.path(node::STATE_DIR).exists() {
        return Ok(());
    }
    if dry_run {
        out.say(&format!(
            "[dryrun] Would stop {} and delete {} and {}",
            node::UNIT_NAME,
            node::UNIT_PATH,
            node::STATE_DIR
        ));
        return Ok(());
    }
    if managed(host, dry_run) {
        // already stopped or never started: nothing to report
        let _ = systemctl(&["disable", "--now", node::UNIT_NAME]);
    }
    out.say(&format!("[api-server-proxy] Removing {} and {}", node::UNIT_PATH, node::STATE_DIR));
    for path in [node::UNIT_PATH] {
        match host.remove(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => out.warn(&format!("removing {path}: {e}")),
            _ => {}
        }
    }
    for dir in [node::STATE_DIR, node::RUN_DIR] {
        match host.remove_tree(dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => out.warn(&format!("removing {dir}: {e}")),
            _ => {}
        }
    }
    if managed(host, dry_run) {
        let _ = systemctl(&["daemon-reload"]);
    }
    Ok(())
}

fn restart_kubelet(host: &Host, dry_run: bool, out: &Output) -> anyhow::Result<()> {
    if dry_run {
        out.say("[dryrun] Would restart the kubelet");
    } else if managed(host, dry_run) {
        out.say("[api-server-proxy] Restarting the kubelet");
        systemctl(&["restart", "kubelet"])?;
    }
    Ok(())
}

/// The cluster's recorded port, read with the kubelet's identity; `None` when it cannot be read.
fn cluster_settings(host: &Host) -> Option<ApiServerProxySettings> {
    let kc = host.path(kbinit_phases::join::kubelet::KUBELET_CONF);
    let c = crate::api::Cluster::from_kubeconfig_file(&kc, std::time::Duration::from_secs(10)).ok()?;
    let cm = c
        .get(
            &kbinit_phases::api::ResourceType::of::<k8s_openapi::api::core::v1::ConfigMap>(),
            Some("kube-system"),
            config_map::CONFIG_MAP,
        )
        .ok()??;
    config_map::from_config_map(&serde_json::from_value(cm).ok()?).ok()?
}

/// What `kbinit api-server-proxy install` is told.
#[derive(Debug, Clone)]
pub struct InstallOptions {
    /// The directory node paths are resolved under (`--root`).
    pub root: std::path::PathBuf,
    /// The proxy's port (default: the cluster's setting, else 7445).
    pub port: Option<u16>,
    /// API servers to start from (default: the server of the kubelet's kubeconfig).
    pub servers: Vec<std::net::SocketAddr>,
    /// Change nothing, show what would be done.
    pub dry_run: bool,
    /// `--ignore-preflight-errors`, as given.
    pub ignore_preflight_errors: Vec<String>,
}

/// What `kbinit api-server-proxy uninstall` is told.
#[derive(Debug, Clone)]
pub struct UninstallOptions {
    /// The directory node paths are resolved under (`--root`).
    pub root: std::path::PathBuf,
    /// The API server URL to point the kubeconfigs back at (default: the first cached one).
    pub server: Option<String>,
    /// Change nothing, show what would be done.
    pub dry_run: bool,
}

/// `kbinit api-server-proxy install`.
pub fn install_cmd(args: InstallOptions, out: &Output) -> anyhow::Result<()> {
    let ignore = crate::preflight::normalize_ignore(&args.ignore_preflight_errors)?;
    let host = crate::host::Host::for_command(&args.root, args.dry_run, None, "api-server-proxy install", out)?;
    let settings = match args.port {
        Some(port) => {
            kbinit_phases::api_server_proxy::validate_port(port)?;
            ApiServerProxySettings { port }
        }
        None => cluster_settings(&host).unwrap_or_default(),
    };
    let seeds = if args.servers.is_empty() {
        let mut urls = Vec::new();
        for path in node::KUBELET_KUBECONFIGS {
            if let Some(text) = NodeView::read(&host, path).and_then(|b| String::from_utf8(b).ok())
                && let Ok(server) = node::server_of(&text)
                && server != node::proxy_server(settings.port)
            {
                urls.push(server);
            }
        }
        if urls.is_empty() {
            return Err(invalid(
                "no API server to start from: the kubelet's kubeconfigs do not name one; give --server IP:PORT",
            ));
        }
        seeds_from_urls(&urls)?
    } else {
        args.servers.iter().map(|s| s.to_string()).collect()
    };
    out.say("[preflight] Running pre-flight checks");
    crate::preflight::proxy::run(&host, settings.port, &ignore, out)?;
    install(&host, &settings, &seeds, args.dry_run, out)?;
    restart_kubelet(&host, args.dry_run, out)
}

/// `kbinit api-server-proxy uninstall`: the kubeconfigs pointed back, then the unit and state removed.
pub fn uninstall_cmd(args: UninstallOptions, out: &Output) -> anyhow::Result<()> {
    let host = crate::host::Host::for_command(&args.root, args.dry_run, None, "api-server-proxy uninstall", out)?;
    let server = match args.server {
        Some(s) => s,
        None => {
            let cache = host.path(crate::api_server_proxy::CACHE_PATH);
            let first = crate::api_server_proxy::cache::load(&cache)
                .map_err(|e| anyhow::anyhow!(e))?
                .and_then(|l| l.first().copied());
            first.map(|a| format!("https://{a}")).ok_or_else(|| {
                invalid("no API server known to point the kubeconfigs back at (no cached list): give --server URL")
            })?
        }
    };
    let mut steps = Vec::new();
    for path in node::KUBELET_KUBECONFIGS {
        let Some(text) = NodeView::read(&host, path).and_then(|b| String::from_utf8(b).ok()) else { continue };
        steps.push(Step::say(format!("[api-server-proxy] Pointing {path:?} back at {server}")));
        steps.push(Step::write(path, node::point_back(&text, &server)?, FileKind::Kubeconfig));
    }
    apply(&steps, &host, out)?;
    remove(&host, args.dry_run, out)?;
    restart_kubelet(&host, args.dry_run, out)
}

/// init's proxy setting: the `ApiServerProxyConfiguration` document of `--config` if there is one (which may
/// say `enabled: false`), else `--api-server-proxy` with the default port.
pub fn init_settings(config_text: Option<&str>, flag: bool) -> anyhow::Result<Option<ApiServerProxySettings>> {
    let from_doc = match config_text {
        Some(t) => kbinit_phases::api_server_proxy::from_config_text(t)?,
        None => None,
    };
    Ok(match from_doc {
        Some(Some(s)) => Some(s),
        Some(None) if flag => {
            return Err(invalid(
                "--api-server-proxy contradicts the ApiServerProxyConfiguration document, which says enabled: false",
            ));
        }
        Some(None) => None,
        None => flag.then(ApiServerProxySettings::default),
    })
}

/// The kube-proxy ConfigMap of the addon phase with its `kubeconfig.conf` pointed at the node-local proxy.
pub fn kube_proxy_through_proxy(steps: &mut [kbinit_phases::api::ApiStep], settings: &ApiServerProxySettings) {
    use kbinit_phases::api::{ApiOp, ApiStep};
    for step in steps.iter_mut() {
        let ApiStep::Op(op) = step else { continue };
        let ApiOp::Write { object, .. } = op.as_mut() else { continue };
        if object.resource.kind != "ConfigMap" || object.name != "kube-proxy" {
            continue;
        }
        if let Some(text) = object.body.pointer("/data/kubeconfig.conf").and_then(serde_json::Value::as_str) {
            let new = node::kube_proxy_kubeconfig(text, settings.port);
            object.body["data"]["kubeconfig.conf"] = serde_json::Value::String(new);
        }
    }
}

/// A kubeconfig (as a value) pointed at the proxy.
pub fn through_proxy(
    kubeconfig: &serde_json::Value,
    settings: &ApiServerProxySettings,
) -> anyhow::Result<serde_json::Value> {
    let text = node::point_at_proxy(&kbinit_phases::go_format::yaml::to_yaml(kubeconfig), settings.port)?;
    Ok(kbinit_phases::go_format::yaml::from_yaml(&text)?)
}
