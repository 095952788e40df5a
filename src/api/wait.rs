//! wait-control-plane: waits for the kubelet's healthz and for the API server (and, from v1.33, every
//! control-plane component) the way the version's kubeadm does, printing its progress lines. A timeout names the
//! component that is not healthy, its URL and the last answer it gave.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use kbinit_phases::config::InitConfiguration;
use kbinit_phases::go_format::duration::format_duration;

use super::client::Cluster;
use crate::output::Output;

/// One health endpoint to poll.
#[derive(Debug, Clone)]
pub struct Check {
    /// Component name, e.g. `kube-apiserver`.
    pub name: &'static str,
    /// What to call.
    pub probe: Probe,
}

/// How a component is probed.
#[derive(Debug, Clone)]
pub enum Probe {
    /// GET this URL without credentials (TLS not verified, as kubeadm's component checks do).
    Anonymous(String),
    /// GET this path with the admin client.
    Admin(String),
}

impl Probe {
    fn url(&self, admin: &Cluster) -> String {
        match self {
            Probe::Anonymous(u) => u.clone(),
            Probe::Admin(p) => format!("{}{p}", admin.server),
        }
    }
}

/// `host:port` with IPv6 bracketed.
fn host_port(ip: &str, port: u16) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(_)) => format!("[{ip}]:{port}"),
        _ => format!("{ip}:{port}"),
    }
}

/// The value of a component's extra argument, if set.
fn extra_arg(args: &[kbinit_phases::config::Arg], name: &str) -> Option<String> {
    args.iter().rev().find(|a| a.name == name).map(|a| a.value.clone())
}

/// The control-plane checks of v1.33+ kubeadm: API server livez, controller-manager healthz, scheduler livez,
/// at the addresses and ports the manifests use.
pub fn component_checks(cfg: &InitConfiguration) -> Vec<Check> {
    let c = &cfg.cluster;
    let cm_addr = extra_arg(&c.controller_manager.extra_args, "bind-address").unwrap_or_else(|| "127.0.0.1".into());
    let cm_port =
        extra_arg(&c.controller_manager.extra_args, "secure-port").and_then(|p| p.parse().ok()).unwrap_or(10257);
    let s_addr = extra_arg(&c.scheduler.extra_args, "bind-address").unwrap_or_else(|| "127.0.0.1".into());
    let s_port = extra_arg(&c.scheduler.extra_args, "secure-port").and_then(|p| p.parse().ok()).unwrap_or(10259);
    vec![
        Check { name: "kube-apiserver", probe: Probe::Admin("/livez".into()) },
        Check {
            name: "kube-controller-manager",
            probe: Probe::Anonymous(format!("https://{}/healthz", host_port(&cm_addr, cm_port))),
        },
        Check {
            name: "kube-scheduler",
            probe: Probe::Anonymous(format!("https://{}/livez", host_port(&s_addr, s_port))),
        },
    ]
}

/// The kubelet's healthz URL (`healthzBindAddress`/`healthzPort` of its configuration); `None` when port 0
/// turns the endpoint off.
pub fn kubelet_healthz_url(cfg: &InitConfiguration) -> Option<String> {
    let kc = cfg.kubelet.as_ref();
    let port = kc.and_then(|k| k.get("healthzPort")).and_then(serde_json::Value::as_u64).unwrap_or(10248);
    if port == 0 {
        return None;
    }
    let addr = kc
        .and_then(|k| k.get("healthzBindAddress"))
        .and_then(serde_json::Value::as_str)
        .filter(|a| !a.is_empty() && *a != "0.0.0.0" && *a != "::")
        .unwrap_or("127.0.0.1");
    Some(format!("http://{}/healthz", host_port(addr, port as u16)))
}

/// A reusable anonymous client for one `scheme://host:port`.
type AnonClient = Option<(String, Cluster)>;

/// Probes once: `Ok(())` on HTTP 200, else the answer as text.
fn probe_once(probe: &Probe, admin: &Cluster, anon: &mut AnonClient) -> Result<(), String> {
    let (client, path) = match probe {
        Probe::Admin(path) => (admin, path.clone()),
        Probe::Anonymous(url) => {
            let uri: http::Uri = url.parse().map_err(|e| format!("bad URL {url}: {e}"))?;
            let base =
                format!("{}://{}", uri.scheme_str().unwrap_or("https"), uri.authority().map_or("", |a| a.as_str()));
            if anon.as_ref().is_none_or(|(b, _)| *b != base) {
                let mut config = kube::Config::new(base.parse().map_err(|e| format!("bad URL {url}: {e}"))?);
                config.accept_invalid_certs = true;
                let c = Cluster::from_kube_config(config, Duration::from_secs(5)).map_err(|e| format!("{e:#}"))?;
                *anon = Some((base, c));
            }
            let Some((_, c)) = anon.as_ref() else { return Err("no client".into()) };
            (c, uri.path().to_string())
        }
    };
    match client.get_text_once(&path) {
        Ok(_) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

/// Polls every 500 ms until the probe answers 200 or `timeout` passes; the error carries the last answer.
pub fn wait_one(probe: &Probe, admin: &Cluster, timeout: Duration) -> Result<Duration, String> {
    let start = Instant::now();
    let mut anon = None;
    loop {
        match probe_once(probe, admin, &mut anon) {
            Ok(()) => return Ok(start.elapsed()),
            Err(last) if start.elapsed() >= timeout => return Err(last),
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}

fn troubleshooting(cfg: &InitConfiguration) -> String {
    let sock = &cfg.node_registration.cri_socket;
    format!(
        "Unfortunately, an error has occurred while waiting for the control plane.\n\
         This error is likely caused by:\n\
         \t- The kubelet is not running\n\
         \t- The kubelet is unhealthy due to a misconfiguration of the node in some way (required cgroups disabled)\n\
         If you are on a systemd-powered system, you can try to troubleshoot the error with the following commands:\n\
         \t- 'systemctl status kubelet'\n\
         \t- 'journalctl -xeu kubelet'\n\
         A control plane component may have crashed or exited when started by the container runtime.\n\
         To troubleshoot, list all containers using your preferred container runtimes CLI.\n\
         Here is one example how you may list all running Kubernetes containers by using crictl:\n\
         \t- 'crictl --runtime-endpoint {sock} ps -a | grep kube | grep -v pause'\n\
         \tOnce you have found the failing container, you can inspect its logs with:\n\
         \t- 'crictl --runtime-endpoint {sock} logs CONTAINERID'"
    )
}

/// This node's own API server, `https://<localAPIEndpoint.advertiseAddress>:<bindPort>`.
pub fn local_api_server_url(cfg: &InitConfiguration) -> String {
    let e = &cfg.local_api_endpoint;
    format!("https://{}", host_port(&e.advertise_address.to_string(), e.bind_port))
}

/// The admin client the version's wait asks the API server with: admin.conf's identity at this node's own API
/// server from 1.33 (kubeadm PR 134265 and its 1.33/1.34 picks), at the server admin.conf names before (the
/// control-plane endpoint, as kubeadm's earlier waits asked it).
pub fn wait_client(cfg: &InitConfiguration, admin_file: &std::path::Path) -> anyhow::Result<Cluster> {
    let local = cfg.cluster.kubernetes_version.waits_on_local_api_server().then(|| local_api_server_url(cfg));
    Cluster::from_kubeconfig_file_at(admin_file, local.as_deref(), cfg.timeouts.kubernetes_api_call)
}

/// Runs the version's wait. `manifests_dir` is printed as kubeadm prints it.
pub fn wait_control_plane(
    cfg: &InitConfiguration,
    admin: &Cluster,
    manifests_dir: &str,
    out: &Output,
) -> anyhow::Result<()> {
    let v = &cfg.cluster.kubernetes_version;
    let timeout = cfg.timeouts.control_plane_component_health_check;
    let kubelet_timeout = cfg.timeouts.kubelet_health_check;
    let fail = |what: String| -> anyhow::Error {
        out.err_line(&troubleshooting(cfg));
        anyhow::anyhow!("couldn't initialize a Kubernetes cluster: {what}")
    };
    if !v.at_least(31) {
        out.say(&format!(
            "[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods from directory {manifests_dir:?}. This can take up to {}",
            format_duration(timeout)
        ));
        let probe = Probe::Admin("/healthz".into());
        return match wait_one(&probe, admin, timeout) {
            Ok(took) => {
                out.say(&format!(
                    "[apiclient] All control plane components are healthy after {:.6} seconds",
                    took.as_secs_f64()
                ));
                Ok(())
            }
            Err(last) => {
                let kubelet = kubelet_healthz_url(cfg)
                    .map(|u| match wait_one(&Probe::Anonymous(u.clone()), admin, Duration::ZERO) {
                        Ok(_) => format!("the kubelet at {u} is healthy"),
                        Err(e) => format!("the kubelet at {u} is not healthy either: {e}"),
                    })
                    .unwrap_or_default();
                Err(fail(format!(
                    "kube-apiserver at {}/healthz is not healthy after {}: last answer: {last}; {kubelet}",
                    admin.server,
                    format_duration(timeout)
                )))
            }
        };
    }
    if let Some(url) = kubelet_healthz_url(cfg) {
        out.say(&format!(
            "[kubelet-check] Waiting for a healthy kubelet at {url}. This can take up to {}",
            format_duration(kubelet_timeout)
        ));
        match wait_one(&Probe::Anonymous(url.clone()), admin, kubelet_timeout) {
            Ok(took) => out.say(&format!("[kubelet-check] The kubelet is healthy after {}", format_duration(took))),
            Err(last) => {
                return Err(fail(format!(
                    "the kubelet at {url} is not healthy after {}: last answer: {last}",
                    format_duration(kubelet_timeout)
                )));
            }
        }
    }
    if !v.at_least(33) {
        out.say(&format!(
            "[api-check] Waiting for a healthy API server. This can take up to {}",
            format_duration(timeout)
        ));
        return match wait_one(&Probe::Admin("/healthz".into()), admin, timeout) {
            Ok(took) => {
                out.say(&format!("[api-check] The API server is healthy after {}", format_duration(took)));
                Ok(())
            }
            Err(last) => Err(fail(format!(
                "kube-apiserver at {}/healthz is not healthy after {}: last answer: {last}",
                admin.server,
                format_duration(timeout)
            ))),
        };
    }
    out.say(&format!(
        "[control-plane-check] Waiting for healthy control plane components. This can take up to {}",
        format_duration(timeout)
    ));
    let checks = component_checks(cfg);
    for c in &checks {
        out.say(&format!("[control-plane-check] Checking {} at {}", c.name, c.probe.url(admin)));
    }
    let start = Instant::now();
    let mut pending: Vec<(Check, AnonClient, String)> = checks.into_iter().map(|c| (c, None, String::new())).collect();
    while !pending.is_empty() {
        let mut still = Vec::new();
        for (check, mut anon, _) in pending {
            match probe_once(&check.probe, admin, &mut anon) {
                Ok(()) => out.say(&format!(
                    "[control-plane-check] {} is healthy after {}",
                    check.name,
                    format_duration(start.elapsed())
                )),
                Err(last) => still.push((check, anon, last)),
            }
        }
        pending = still;
        if pending.is_empty() {
            break;
        }
        if start.elapsed() >= timeout {
            let lines: Vec<String> = pending
                .iter()
                .map(|(c, _, last)| {
                    out.say(&format!(
                        "[control-plane-check] {} is not healthy after {}",
                        c.name,
                        format_duration(start.elapsed())
                    ));
                    format!("{} at {} is not healthy: last answer: {last}", c.name, c.probe.url(admin))
                })
                .collect();
            return Err(fail(lines.join("; ")));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    Ok(())
}
