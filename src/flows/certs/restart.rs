//! Restarting a static Pod so that it reads its renewed certificates, one Pod at a time.
//!
//! What "restart a static Pod" can mean with a real kubelet: the kubelet runs what is in the manifests
//! directory and restarts a static Pod only when its manifest's *content* changes; rewriting the same bytes,
//! touching the file or deleting the mirror Pod through the API does not restart the containers. The choices:
//! 1. edit the manifest (e.g. an annotation with the certificates' hash): one atomic write, but the manifest no
//!    longer matches what kubeadm (and `kbinit init`) render, which upgrades and diffs then report;
//! 2. kill the container through the CRI: needs the runtime's socket and API, and a Pod killed that way is
//!    restarted by the kubelet in place, which is the same effect with more machinery;
//! 3. move the manifest out of the directory, wait for the component to stop, move it back, wait for it to be
//!    healthy — what kubeadm's documentation tells operators to do by hand after `certs renew`.
//!
//! kbinit does 3, because it leaves the manifest byte for byte as it was and needs nothing but the file system
//! and the component's own liveness endpoint. "Stopped" is observed, not assumed: the liveness probe's URL
//! (from the manifest, so ports and addresses follow the configuration) gives no answer at all on two probes in
//! a row. That it stopped is the sign the kubelet saw the manifest go (it looks every `fileCheckFrequency`, 20 s
//! by default); moving it back any earlier would give the kubelet the same content and no restart. A component
//! that did not answer before the move gets a fixed 25 s instead (nothing can be observed). The mirror Pod is not
//! used as the signal: the API server is itself one of the Pods restarted, and the mirror Pod of a stopped static
//! Pod lingers until the kubelet syncs it. "Healthy again" is the same probe answering 200, as the kubelet's own
//! liveness check and `wait-control-plane` (`src/api/wait.rs`) judge it.
//!
//! The manifest is parked in `/etc/kubernetes/tmp/kbinit-restart/` (the same file system, so the moves are
//! renames): a run killed in between leaves it there, and the next `certs renew` moves it back first.

use std::time::{Duration, Instant};

use kbinit_phases::certs::care;
use kbinit_phases::go_format::duration::format_duration;
use kbinit_phases::paths;

use crate::api::{CallError, Cluster};
use crate::host::Host;
use crate::output::Output;

/// Where manifests wait while their Pod is stopped.
pub const PARK_DIR: &str = "/etc/kubernetes/tmp/kbinit-restart";

/// How long the component may take to stop after its manifest is gone (kubelet file check + grace period).
const STOP_TIMEOUT: Duration = Duration::from_secs(150);
/// How long to wait when stopping cannot be observed (the kubelet's default file check period is 20 s).
const BLIND_WAIT: Duration = Duration::from_secs(25);
const POLL: Duration = Duration::from_millis(500);

/// What one probe saw.
enum Seen {
    Healthy,
    /// Answered, but not 200.
    Unhealthy(String),
    /// No HTTP answer (refused, reset, timeout).
    Silent(String),
}

/// One anonymous GET of `url` with a fresh client (no pooled connection can keep talking to a stopped process),
/// TLS not verified, as the kubelet's probes and kubeadm's component checks do.
fn probe(url: &str) -> Seen {
    let Ok(uri) = url.parse::<http::Uri>() else { return Seen::Silent(format!("bad URL {url}")) };
    let base = format!("{}://{}", uri.scheme_str().unwrap_or("https"), uri.authority().map_or("", |a| a.as_str()));
    let Ok(cluster_url) = base.parse() else { return Seen::Silent(format!("bad URL {url}")) };
    let mut config = kube::Config::new(cluster_url);
    config.accept_invalid_certs = true;
    let client = match Cluster::from_kube_config(config, Duration::from_secs(5)) {
        Ok(c) => c,
        Err(e) => return Seen::Silent(format!("{e:#}")),
    };
    match client.get_text_once(uri.path_and_query().map_or("/", |p| p.as_str())) {
        Ok(_) => Seen::Healthy,
        Err(e @ CallError::Status { .. }) => Seen::Unhealthy(e.to_string()),
        Err(CallError::Transport(e)) => Seen::Silent(e),
    }
}

/// Moves back every manifest an interrupted restart left parked (unless the manifests directory has one of that
/// name again), and says so.
pub fn restore_parked(host: &Host, out: &Output) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(host.path(PARK_DIR)) else { return Ok(()) };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".yaml") {
            continue;
        }
        let (parked, home) = (format!("{PARK_DIR}/{name}"), paths::join(paths::MANIFESTS_DIR, &name));
        if host.path(&home).exists() {
            out.warn(&format!("{parked} was left by an interrupted restart, but {home} exists: keeping {home}"));
            continue;
        }
        host.rename(&parked, &home)?;
        out.say(&format!("[restart] Moved {home:?} back: an earlier restart was interrupted"));
    }
    Ok(())
}

/// A static Pod whose manifest is parked and which was seen (or, without a liveness endpoint, waited for) to
/// stop; [`start`] moves it back.
#[derive(Debug)]
pub struct Stopped {
    component: String,
    manifest: String,
    parked: String,
    url: Option<String>,
}

/// Restarts the static Pod `component` (see the module documentation); `healthy_timeout` bounds the wait for
/// it to answer again. A component without a manifest here is not run by this kubelet: nothing to do.
pub fn restart(host: &Host, component: &str, healthy_timeout: Duration, out: &Output) -> anyhow::Result<()> {
    match stop(host, component, out)? {
        Some(stopped) => start(host, &stopped, healthy_timeout, out),
        None => {
            let manifest = paths::join(paths::MANIFESTS_DIR, &format!("{component}.yaml"));
            out.say(&format!(
                "[restart] No static Pod manifest {manifest:?}: {component} does not run here, nothing to restart"
            ));
            Ok(())
        }
    }
}

/// Stops the static Pod `component` by parking its manifest and waits until it stops answering. A manifest
/// already parked (by an interrupted run) counts as moved. `None` when there is no manifest at either place.
/// When the component keeps answering, its manifest is moved back and the error says so.
pub fn stop(host: &Host, component: &str, out: &Output) -> anyhow::Result<Option<Stopped>> {
    let manifest = paths::join(paths::MANIFESTS_DIR, &format!("{component}.yaml"));
    let parked = format!("{PARK_DIR}/{component}.yaml");
    let already = host.read(&manifest).is_err() && host.read(&parked).is_ok();
    let Ok(bytes) = host.read(if already { &parked } else { &manifest }) else { return Ok(None) };
    let url = care::liveness_url(&String::from_utf8_lossy(&bytes));
    let answered_before = url.as_deref().map(probe).is_some_and(|s| matches!(s, Seen::Healthy | Seen::Unhealthy(_)));
    if already {
        out.say(&format!(
            "[restart] {manifest:?} is parked in {PARK_DIR} by an interrupted run: {component} stays stopped"
        ));
    } else {
        host.ensure_dir(PARK_DIR, 0o700)?;
        host.rename(&manifest, &parked)?;
        out.say(&format!("[restart] Moved {manifest:?} out of the manifests directory: the kubelet stops {component}"));
    }
    let stopped = Stopped { component: component.to_string(), manifest, parked, url };
    // an earlier run parked it already: silence now is the kubelet having stopped it, no blind wait needed
    match (&stopped.url, answered_before || already) {
        (Some(u), true) => match wait_stopped(u) {
            Ok(took) => {
                out.say(&format!("[restart] {component} stopped answering at {u} after {}", format_duration(took)))
            }
            Err(still) => {
                host.rename(&stopped.parked, &stopped.manifest)?;
                anyhow::bail!(
                    "{component} still answered at {u} {} after its manifest was moved away ({still}): is the kubelet \
                     running? The manifest is back; restart {component} by hand",
                    format_duration(STOP_TIMEOUT)
                );
            }
        },
        _ => {
            out.say(&format!(
                "[restart] {component} has no answering liveness endpoint; waiting {} for the kubelet to stop it",
                format_duration(BLIND_WAIT)
            ));
            std::thread::sleep(BLIND_WAIT);
        }
    }
    Ok(Some(stopped))
}

/// Moves a stopped static Pod's manifest back (the caller judges its health itself).
pub fn unpark(host: &Host, stopped: &Stopped, out: &Output) -> anyhow::Result<()> {
    let Stopped { component, manifest, parked, .. } = stopped;
    if host.read(manifest).is_err() {
        host.rename(parked, manifest)?;
    }
    out.say(&format!("[restart] Moved {manifest:?} back: the kubelet starts {component} again"));
    Ok(())
}

/// Moves a stopped static Pod's manifest back and waits until its liveness endpoint answers 200 (at most
/// `healthy_timeout`).
pub fn start(host: &Host, stopped: &Stopped, healthy_timeout: Duration, out: &Output) -> anyhow::Result<()> {
    unpark(host, stopped, out)?;
    let Stopped { component, url, .. } = stopped;
    let Some(url) = url else {
        out.say(&format!("[restart] {component} has no HTTP liveness probe: not waiting for it"));
        return Ok(());
    };
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < healthy_timeout {
        match probe(url) {
            Seen::Healthy => {
                out.say(&format!(
                    "[restart] {component} is healthy again at {url} after {}",
                    format_duration(millis(start.elapsed()))
                ));
                return Ok(());
            }
            Seen::Unhealthy(e) | Seen::Silent(e) => last = e,
        }
        std::thread::sleep(POLL);
    }
    anyhow::bail!(
        "{component} is not healthy at {url} {} after its restart: last answer: {last}",
        format_duration(healthy_timeout)
    )
}

/// Waits until the endpoint gives no answer on two probes in a row and returns how long that took; the error
/// is its last answer.
fn wait_stopped(url: &str) -> Result<Duration, String> {
    let start = Instant::now();
    let mut silent = 0;
    let mut last = String::new();
    while start.elapsed() < STOP_TIMEOUT {
        match probe(url) {
            Seen::Silent(_) => silent += 1,
            Seen::Healthy => {
                silent = 0;
                last = "HTTP 200".into();
            }
            Seen::Unhealthy(e) => {
                silent = 0;
                last = e;
            }
        }
        if silent >= 2 {
            return Ok(millis(start.elapsed()));
        }
        std::thread::sleep(POLL);
    }
    Err(last)
}

/// A duration cut to whole milliseconds (for Go-style printing).
fn millis(d: Duration) -> Duration {
    Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
