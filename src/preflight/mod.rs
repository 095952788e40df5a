//! Preflight: kubeadm's check catalogue (§M) with kubeadm's names, in the order each command runs them (init,
//! join, the control-plane part of join, reset), so `--ignore-preflight-errors=Port-6443,Swap,…` and `all` work
//! the same. Findings print on stderr as `\t[WARNING Name]: msg` / `\t[ERROR Name]: msg`; an error nobody
//! ignored fails with kubeadm's text and exit code 2.
//!
//! | module | holds |
//! |---|---|
//! | `finding` | [`Finding`], [`report`] (ignore list, exit code 2), kubeadm's names for path checks |
//! | [`machine`] | the machine checks, one function each; which ones look under `--root` and which at the real host |
//! | [`network`] | `HTTPProxy`, `HTTPProxyCIDR`, CIDR arithmetic |
//! | [`kubelet`] | `KubeletVersion`, `Service-Kubelet`, whether `crictl` is looked for |
//! | [`etcd`] | `ExternalEtcdClientCertificates`, `ExternalEtcdVersion` |
//! | [`system`] | `SystemVerification` (OS, kernel, kernel options, cgroups) |
//! | [`proxy`] | `Port-<n>` of the node-local API server proxy (init, join, `api-server-proxy install`) |
//! | [`leftovers`] | [`Leftovers`]: what an earlier run left, found by the flow and handed in as a plain value; the reuse notes |
//! | `control_plane` | the block init and `join --control-plane` share, written once |
//! | [`runtime`] | the checks that ask the container runtime over the CRI: `CRI`, `ContainerRuntimeVersion`, `ImagePull` |
//!
//! On a re-run of init, kbinit's own leftovers (a manifest or kubelet file identical to what this run renders,
//! the ports its components hold, the etcd data dir of its own member) are reported as
//! `[preflight] … already present from an earlier run; reusing` instead of failing; certificates and kubeconfig
//! files that would be reused but do not fit this configuration fail preflight by path with the fix, and no
//! `--ignore-preflight-errors` value lets them through.

mod control_plane;
pub mod etcd;
mod finding;
pub mod kubelet;
pub mod leftovers;
pub mod machine;
pub mod network;
pub mod proxy;
pub mod runtime;
pub mod system;

use kbinit_phases::config::{Discovery, Etcd, InitConfiguration, JoinConfiguration};
use kbinit_phases::version::KubeVersion;

use crate::error::PreflightFailed;
use crate::host::Host;
use crate::output::Output;
pub use finding::{Finding, normalize_ignore, path_name, report};
use finding::{fatal_text, print};
pub use leftovers::Leftovers;
use leftovers::unusable_text;

/// The root check alone, first (kubeadm fails fast on it).
fn root_first(ignore: &[String], out: &Output) -> anyhow::Result<()> {
    report(&machine::is_privileged_user().into_iter().collect::<Vec<_>>(), ignore, out)
}

fn push_system_verification(findings: &mut Vec<Finding>, kubelet: &KubeVersion, out: &Output) {
    let (found, report_lines) = system::system_verification(kubelet);
    if found.iter().any(|f| f.error) {
        out.say("[preflight] The system verification failed. Printing the output from the verification:");
        out.raw(&report_lines.iter().map(|l| format!("{l}\n")).collect::<String>());
    }
    findings.extend(found);
}

/// kubeadm's checks common to every node (addCommonChecks): CRI, ContainerRuntimeVersion (v1.35+), Swap,
/// binaries, SystemVerification, Hostname, KubeletVersion, Service-Kubelet (Port-10250 is added by the caller,
/// which knows whether it is the node's own kubelet). `release` is the Kubernetes release whose kubeadm is
/// followed: init's version; `None` on join, whose release is not known before discovery (crictl is then only
/// warned about, and RuntimeConfig not asked).
#[allow(clippy::too_many_arguments)]
fn common_checks(
    f: &mut Vec<Finding>,
    host: &Host,
    node_name: &str,
    cri_socket: &str,
    kubelet_cp: &KubeVersion,
    release: Option<&KubeVersion>,
    newest: bool,
    out: &Output,
) {
    f.extend(runtime::cri(host, cri_socket));
    if let Some(v) = release {
        f.extend(runtime::container_runtime_version(host, cri_socket, v));
    }
    f.extend(machine::swap());
    if let Some(required) = release.map_or(Some(false), kubelet::crictl_required) {
        f.extend(machine::file_existing("crictl", required));
    }
    f.extend(machine::BINARIES.iter().filter_map(|(b, required)| machine::file_existing(b, *required)));
    // the validators judge cgroups v1 by the installed kubelet; without one, by the version being set up
    let kubelet = kubelet::installed_kubelet().unwrap_or_else(|| kubelet_cp.clone());
    push_system_verification(f, &kubelet, out);
    f.extend(machine::hostname(node_name));
    f.extend(kubelet::kubelet_version(kubelet_cp, newest));
    f.extend(kubelet::service_kubelet());
}

/// Which `/proc/sys` switches apply: IPv4 and/or IPv6, from the addresses the node uses.
fn ip_switches(f: &mut Vec<Finding>, addresses: &[std::net::IpAddr]) {
    if addresses.iter().any(|a| a.is_ipv4()) {
        f.extend(machine::IPV4_SWITCHES.iter().filter_map(|p| machine::file_content_one(p)));
    }
    if addresses.iter().any(|a| a.is_ipv6()) {
        f.extend(machine::IPV6_SWITCHES.iter().filter_map(|p| machine::file_content_one(p)));
    }
}

fn cidrs(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|c| !c.is_empty())
}

/// Pulls (or checks) the images, as kubeadm's ImagePull, unless dry-running.
fn image_pull(cfg: &InitConfiguration, host: &Host, out: &Output) -> Vec<Finding> {
    out.say("[preflight] Pulling images required for setting up a Kubernetes cluster");
    out.say("[preflight] This might take a minute or two, depending on the speed of your internet connection");
    out.say("[preflight] You can also perform this action in beforehand using 'kbinit config images pull'");
    let images = kbinit_phases::config::images(&cfg.cluster);
    let reg = &cfg.node_registration;
    if let Some(w) = runtime::sandbox_image_warning(host, &reg.cri_socket, &images) {
        out.warn(&w);
    }
    runtime::image_pull(host, &reg.cri_socket, &images, &reg.image_pull_policy, reg.image_pull_serial)
}

/// What init's preflight checks, besides what an earlier run left: plain values the flow hands in.
pub struct InitChecks<'a> {
    /// The resolved configuration.
    pub cfg: &'a InitConfiguration,
    /// The node.
    pub host: &'a Host,
    /// The port of the node-local API server proxy, when init sets it up.
    pub proxy_port: Option<u16>,
    /// Pull (or check) the images at the end (not in a dry run).
    pub pull_images: bool,
}

/// init's preflight (§M.2 order): the root check alone first, then the catalogue, then ImagePull (unless told
/// not to). `leftovers` is asked once the root check passed; kbinit's own leftovers of an earlier run with this
/// configuration are reused, not failed, and files that do not fit it are refused by path.
pub fn run_init(
    c: &InitChecks<'_>,
    leftovers: impl FnOnce() -> anyhow::Result<Leftovers>,
    out: &Output,
) -> anyhow::Result<()> {
    let (cfg, host) = (c.cfg, c.host);
    let ignore = &cfg.node_registration.ignore_preflight_errors;
    out.say("[preflight] Running pre-flight checks");
    root_first(ignore, out)?;
    let s = leftovers()?;
    let mut notes = Vec::new();
    let mut f: Vec<Finding> = Vec::new();
    control_plane::node(cfg, host, &s, &mut f, &mut notes);
    let net = &cfg.cluster.networking;
    let reg = &cfg.node_registration;
    let v = &cfg.cluster.kubernetes_version;
    common_checks(&mut f, host, &reg.name, &reg.cri_socket, v, Some(v), true, out);
    control_plane::port(cfg, &s, 10250, &mut f, &mut notes);
    if let Some(port) = c.proxy_port {
        proxy::check(host, port, &mut f, &mut notes);
    }
    let mut addresses = vec![cfg.local_api_endpoint.advertise_address];
    addresses.extend(
        cidrs(&net.service_subnet)
            .chain(cidrs(&net.pod_subnet))
            .filter_map(|c| network::parse_cidr(c).map(|(ip, _)| ip)),
    );
    ip_switches(&mut f, &addresses);
    match &cfg.cluster.etcd {
        Etcd::External(ext) => {
            f.extend(etcd::external_etcd_version(host, ext));
            f.extend(etcd::external_etcd_certs(host, ext));
        }
        Etcd::Local(local) => control_plane::local_etcd(cfg, &local.data_dir, host, &s, &mut f, &mut notes),
    }
    notes.iter().for_each(|n| out.say(n));
    let mut fatal = print(&f, ignore, out);
    if fatal.is_empty() && c.pull_images {
        fatal = print(&image_pull(cfg, host, out), ignore, out);
    }
    match (fatal.is_empty(), s.unusable.is_empty()) {
        (true, true) => Ok(()),
        (true, false) => Err(anyhow::Error::new(PreflightFailed(unusable_text(&s.unusable)))),
        (false, true) => Err(anyhow::Error::new(PreflightFailed(fatal_text(&fatal)))),
        (false, false) => {
            Err(anyhow::Error::new(PreflightFailed(format!("{}\n{}", fatal_text(&fatal), unusable_text(&s.unusable)))))
        }
    }
}

/// The oldest control plane kbinit sets up: a joining kubelet must be supported by it (join checks only the
/// minimum, as kubeadm does before it knows the cluster's version).
fn oldest_control_plane() -> KubeVersion {
    KubeVersion { major: 1, minor: kbinit_phases::version::MIN_MINOR, patch: 0, suffix: String::new() }
}

/// join's preflight for every node (§M.2 `join`), before discovery: root first, then the node checks.
/// `leftovers` names the kubelet kubeconfigs an earlier run of this same join wrote (reused, said so).
pub fn run_join(cfg: &JoinConfiguration, host: &Host, leftovers: &Leftovers, out: &Output) -> anyhow::Result<()> {
    let ignore = &cfg.node_registration.ignore_preflight_errors;
    out.say("[preflight] Running pre-flight checks");
    root_first(ignore, out)?;
    let mut f: Vec<Finding> = Vec::new();
    let mut own_kubelet = false;
    for file in ["kubelet.conf", "bootstrap-kubelet.conf"] {
        let path = kbinit_phases::paths::join(kbinit_phases::paths::KUBERNETES_DIR, file);
        let Some(finding) = machine::file_available(host, &path) else { continue };
        if leftovers.is_own(&path) {
            own_kubelet = true;
            out.say(&format!(
                "[preflight] {path} is already present from an earlier run of this join (same API server and CA); reusing"
            ));
        } else {
            f.push(finding);
        }
    }
    let reg = &cfg.node_registration;
    common_checks(&mut f, host, &reg.name, &reg.cri_socket, &oldest_control_plane(), None, false, out);
    if own_kubelet && machine::port_in_use(10250) {
        out.say("[preflight] Port 10250 is in use by the kubelet this join configured in an earlier run; reusing");
    } else {
        f.extend(machine::port(10250));
    }
    if cfg.control_plane.is_none() {
        f.extend(machine::file_available(host, &cfg.ca_cert_path));
    }
    if let Discovery::BootstrapToken { api_server_endpoint, .. } = &cfg.discovery {
        let host_part = api_server_endpoint.rsplit_once(':').map_or(api_server_endpoint.as_str(), |(h, _)| h);
        let host_part = host_part.trim_start_matches('[').trim_end_matches(']');
        f.extend(network::http_proxy(host_part));
        if let Ok(ip) = host_part.parse::<std::net::IpAddr>() {
            ip_switches(&mut f, &[ip]);
        }
    }
    report(&f, ignore, out)
}

/// The control-plane part of join's preflight, after discovery (§M.2 `join --control-plane`): `init` is this
/// node's configuration as the cluster's configuration and the join flags make it; `leftovers` what an earlier
/// run of this join left; `download_certs` when the shared certificates come from kubeadm-certs; ImagePull only
/// with `pull_images` (not in a dry run).
pub fn run_join_control_plane(
    init: &InitConfiguration,
    host: &Host,
    leftovers: &Leftovers,
    download_certs: bool,
    pull_images: bool,
    out: &Output,
) -> anyhow::Result<()> {
    let ignore = &init.node_registration.ignore_preflight_errors;
    out.say("[preflight] Running pre-flight checks before initializing the new control plane instance");
    let mut f: Vec<Finding> = Vec::new();
    let mut notes = Vec::new();
    control_plane::node(init, host, leftovers, &mut f, &mut notes);
    match &init.cluster.etcd {
        Etcd::Local(local) => control_plane::local_etcd(init, &local.data_dir, host, leftovers, &mut f, &mut notes),
        Etcd::External(ext) if !download_certs => f.extend(etcd::external_etcd_certs(host, ext)),
        Etcd::External(_) => {}
    }
    notes.iter().for_each(|n| out.say(n));
    report(&f, ignore, out)?;
    if !pull_images {
        return Ok(());
    }
    report(&image_pull(init, host, out), ignore, out)
}

/// What the image pre-pull of `upgrade apply|node` on a control-plane node needs.
pub struct Prepull<'a> {
    /// The cluster at the target release (its images).
    pub cluster: &'a kbinit_phases::config::ClusterConfiguration,
    /// The node's CRI socket.
    pub socket: &'a str,
    /// `imagePullPolicy` of the UpgradeConfiguration.
    pub policy: &'a str,
    /// `imagePullSerial` of the UpgradeConfiguration.
    pub serial: bool,
    /// The checks to report as warnings, lower-cased.
    pub ignore: &'a [String],
    /// Only say what would be pulled.
    pub dry_run: bool,
}

/// The image pre-pull of an upgrade (kubeadm's `upgrade apply|node` preflight, sheet §4.2 step 8): the target
/// release's images present or pulled through the CRI, as the ImagePull check; `[upgrade/prepull]` before 1.32.
pub fn run_upgrade_prepull(p: &Prepull<'_>, host: &Host, out: &Output) -> anyhow::Result<()> {
    if p.dry_run {
        out.say("[dryrun] Would pull the required images (like 'kbinit config images pull')");
        return Ok(());
    }
    let prefix = if p.cluster.kubernetes_version.at_least(32) { "[upgrade/preflight]" } else { "[upgrade/prepull]" };
    out.say(&format!("{prefix} Pulling images required for setting up a Kubernetes cluster"));
    out.say(&format!("{prefix} This might take a minute or two, depending on the speed of your internet connection"));
    out.say(&format!("{prefix} You can also perform this action beforehand using 'kbinit config images pull'"));
    let images = kbinit_phases::config::images(p.cluster);
    report(&runtime::image_pull(host, p.socket, &images, p.policy, p.serial), p.ignore, out)
}

/// reset's preflight: IsPrivilegedUser only.
pub fn run_reset(ignore: &[String], out: &Output) -> anyhow::Result<()> {
    out.say("[preflight] Running pre-flight checks");
    root_first(ignore, out)
}
