//! Static Pod manifests for etcd and the control-plane components (`/etc/kubernetes/manifests`), built as typed
//! k8s-openapi Pods the way kubeadm's `GetStaticPodSpecs` builds them, and serialized byte for byte as kubeadm
//! writes them.
//!
//! | submodule | holds |
//! |---|---|
//! | `control_plane` | kube-apiserver, kube-controller-manager, kube-scheduler |
//! | `etcd` | the local etcd member |
//!
//! This module holds what they share: the Pod shell, probes, argument merging, hostPath volumes and the file
//! steps.

mod control_plane;
mod etcd;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, HTTPGetAction, HostPathVolumeSource, Pod, PodSecurityContext, PodSpec, Probe,
    ResourceRequirements, SeccompProfile, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

pub use control_plane::{control_plane_components, control_plane_pod, plan_control_plane};
pub use etcd::{etcd_pod, plan_etcd_local};

use crate::Error;
use crate::config::model::Arg;
use crate::paths;
use crate::plan::{FileKind, Step};

/// How long kubeadm lets the control plane start (`timeouts.controlPlaneComponentHealthCheck`, default 4m):
/// the startup probes allow `ceil(timeout / 10s)` failures.
const CONTROL_PLANE_START_TIMEOUT: Duration = Duration::from_secs(240);

/// Serializes a Pod as kubeadm writes it (adds `metadata.creationTimestamp: null` and `status: {}`).
pub fn pod_yaml(pod: &Pod) -> Result<String, Error> {
    let mut value = serde_json::to_value(pod).map_err(|e| Error::Document(format!("cannot serialize pod: {e}")))?;
    if let Some(obj) = value.as_object_mut() {
        if let Some(meta) = obj.get_mut("metadata").and_then(|m| m.as_object_mut()) {
            meta.insert("creationTimestamp".into(), serde_json::Value::Null);
        }
        obj.insert("status".into(), serde_json::json!({}));
    }
    Ok(crate::go_format::yaml::to_yaml(&value))
}

/// The steps that write one manifest: create the manifests directory (0700), then the file (0600).
fn write_manifest_steps(name: &str, pod: &Pod) -> Result<Vec<Step>, Error> {
    Ok(vec![
        Step::EnsureDir { path: paths::MANIFESTS_DIR.into(), mode: 0o700 },
        Step::write(paths::join(paths::MANIFESTS_DIR, &format!("{name}.yaml")), pod_yaml(pod)?, FileKind::Manifest),
    ])
}

/// Merges kubeadm's default flags with the user's, rendered `--name=value` (kubeadm's `ArgumentsToCommand`).
fn command(binary: &str, defaults: Vec<Arg>, extra: &[Arg], v: &crate::version::KubeVersion) -> Vec<String> {
    let args = merge_args(defaults, extra, v);
    std::iter::once(binary.to_string()).chain(args.into_iter().map(|a| format!("--{}={}", a.name, a.value))).collect()
}

/// A user flag replaces every default of the same name and flags given twice are kept twice (v1beta4). Up to
/// 1.35 the result is sorted by name, then value (arguments.go of v1.30.0–v1.33.3); from 1.36 only the defaults
/// are sorted and the user's follow them in the order given ([`KubeVersion::extra_args_keep_order`]).
///
/// [`KubeVersion::extra_args_keep_order`]: crate::version::KubeVersion::extra_args_keep_order
pub(crate) fn merge_args(defaults: Vec<Arg>, extra: &[Arg], v: &crate::version::KubeVersion) -> Vec<Arg> {
    let by_name_value = |a: &Arg, b: &Arg| a.name.cmp(&b.name).then_with(|| a.value.cmp(&b.value));
    let mut args: Vec<Arg> = defaults.into_iter().filter(|d| !extra.iter().any(|e| e.name == d.name)).collect();
    if v.extra_args_keep_order() {
        args.sort_by(by_name_value);
        args.extend(extra.iter().cloned());
    } else {
        args.extend(extra.iter().cloned());
        args.sort_by(by_name_value);
    }
    args
}

/// Shorthand for a default flag.
fn arg(name: &str, value: impl Into<String>) -> Arg {
    Arg { name: name.into(), value: value.into() }
}

/// The value of the last `name` flag among the user's extra args.
fn find_arg<'a>(extra: &'a [Arg], name: &str) -> Option<&'a str> {
    extra.iter().rev().find(|a| a.name == name).map(|a| a.value.as_str())
}

/// `host:port`, with IPv6 hosts bracketed (Go's `net.JoinHostPort`).
fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

/// An HTTP GET probe as kubeadm's `staticpod` helpers build them.
fn http_probe(host: &str, path: &str, port: u16, scheme: &str) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            host: (!host.is_empty()).then(|| host.to_string()),
            path: Some(path.into()),
            port: IntOrString::Int(i32::from(port)),
            scheme: Some(scheme.into()),
            ..Default::default()
        }),
        timeout_seconds: Some(15),
        ..Default::default()
    }
}

/// Liveness: 10s initial delay, every 10s, 8 failures.
fn liveness_probe(host: &str, path: &str, port: u16, scheme: &str) -> Probe {
    Probe {
        initial_delay_seconds: Some(10),
        period_seconds: Some(10),
        failure_threshold: Some(8),
        ..http_probe(host, path, port, scheme)
    }
}

/// Readiness: every second, 3 failures.
fn readiness_probe(host: &str, path: &str, port: u16, scheme: &str) -> Probe {
    Probe { period_seconds: Some(1), failure_threshold: Some(3), ..http_probe(host, path, port, scheme) }
}

/// Startup: 10s initial delay, every 10s, as many failures as fit in the control-plane start timeout.
fn startup_probe(host: &str, path: &str, port: u16, scheme: &str) -> Probe {
    let failures = CONTROL_PLANE_START_TIMEOUT.as_secs().div_ceil(10);
    Probe {
        initial_delay_seconds: Some(10),
        period_seconds: Some(10),
        failure_threshold: Some(i32::try_from(failures).unwrap_or(i32::MAX)),
        ..http_probe(host, path, port, scheme)
    }
}

/// The name kubeadm gives the probed port (`constants.ProbePort`, 1.34+).
const PROBE_PORT_NAME: &str = "probe-port";

/// Declares the port the liveness probe uses as container port `probe-port` (TCP) and points every probe at it
/// by name, as kubeadm does from 1.34 (PR 132776; see [`crate::version::KubeVersion::named_probe_ports`]).
fn name_probe_port(container: &mut Container) {
    let port = container.liveness_probe.as_ref().and_then(|p| p.http_get.as_ref()).and_then(|h| match h.port {
        IntOrString::Int(p) => Some(p),
        IntOrString::String(_) => None,
    });
    let Some(port) = port else {
        return;
    };
    container.ports = Some(vec![ContainerPort {
        container_port: port,
        name: Some(PROBE_PORT_NAME.into()),
        protocol: Some("TCP".into()),
        ..Default::default()
    }]);
    for probe in [&mut container.liveness_probe, &mut container.readiness_probe, &mut container.startup_probe] {
        if let Some(get) = probe.as_mut().and_then(|p| p.http_get.as_mut()) {
            get.port = IntOrString::String(PROBE_PORT_NAME.into());
        }
    }
}

/// A probe host given as a bind address: empty (all interfaces) stays unset.
fn probe_host_for_bind(address: &str) -> String {
    match address.parse::<IpAddr>() {
        Ok(ip) if ip.is_unspecified() => String::new(),
        _ => address.to_string(),
    }
}

/// A hostPath volume and its mount, kept together until the Pod is assembled.
#[derive(Debug, Clone)]
struct HostPath {
    name: String,
    host_path: String,
    mount_path: String,
    read_only: bool,
    /// `None` leaves `type` out; `Some("")` writes `type: ""` (an extraVolume without pathType).
    path_type: Option<String>,
}

impl HostPath {
    fn new(name: &str, path: &str, path_type: &str, read_only: bool) -> HostPath {
        HostPath {
            name: name.into(),
            host_path: path.into(),
            mount_path: path.into(),
            read_only,
            path_type: Some(path_type.into()),
        }
    }
}

/// Volumes and mounts sorted by name; a later entry of the same name replaces an earlier one. With
/// `keep_mount_order` the mounts stay in the given order (etcd's are written data first, then certs).
fn volumes(list: Vec<HostPath>, keep_mount_order: bool) -> (Vec<Volume>, Vec<VolumeMount>) {
    let order: Vec<String> = list.iter().map(|v| v.name.clone()).collect();
    let by_name: BTreeMap<String, HostPath> = list.into_iter().map(|v| (v.name.clone(), v)).collect();
    let (volumes, mut mounts): (Vec<Volume>, Vec<VolumeMount>) = by_name
        .into_values()
        .map(|v| {
            let volume = Volume {
                name: v.name.clone(),
                host_path: Some(HostPathVolumeSource { path: v.host_path, type_: v.path_type }),
                ..Default::default()
            };
            let mount = VolumeMount {
                name: v.name,
                mount_path: v.mount_path,
                read_only: v.read_only.then_some(true),
                ..Default::default()
            };
            (volume, mount)
        })
        .unzip();
    if keep_mount_order {
        mounts.sort_by_key(|m| order.iter().position(|n| *n == m.name));
    }
    (volumes, mounts)
}

/// Resource requests (`cpu`, `memory`, …).
fn requests(list: &[(&str, &str)]) -> ResourceRequirements {
    ResourceRequirements {
        requests: Some(list.iter().map(|(k, v)| ((*k).to_string(), Quantity((*v).to_string()))).collect()),
        ..Default::default()
    }
}

/// The static Pod shell every component shares: kube-system, labels, host network, node-critical priority,
/// A configured environment variable as the Pod carries it: the whole `v1.EnvVar` (kubeadm's
/// `MergeKubeadmEnvVars`), an empty value left out as Go's `omitempty` leaves it out.
pub(crate) fn pod_env_var(e: &crate::config::model::EnvVar) -> k8s_openapi::api::core::v1::EnvVar {
    k8s_openapi::api::core::v1::EnvVar {
        name: e.name.clone(),
        value: (!e.value.is_empty()).then(|| e.value.clone()),
        value_from: e.value_from.as_deref().and_then(|t| serde_json::from_str(t).ok()),
    }
}

/// RuntimeDefault seccomp, volumes sorted by name.
fn static_pod(
    name: &str,
    annotations: Option<(String, String)>,
    mut container: Container,
    mounts: Vec<HostPath>,
    keep_mount_order: bool,
) -> Pod {
    let (volumes, volume_mounts) = volumes(mounts, keep_mount_order);
    container.name = name.into();
    container.image_pull_policy = Some("IfNotPresent".into());
    container.volume_mounts = (!volume_mounts.is_empty()).then_some(volume_mounts);
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("kube-system".into()),
            labels: Some(BTreeMap::from([
                ("component".to_string(), name.to_string()),
                ("tier".to_string(), "control-plane".to_string()),
            ])),
            annotations: annotations.map(|(k, v)| BTreeMap::from([(k, v)])),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers: vec![container],
            host_network: Some(true),
            priority: Some(2_000_001_000),
            priority_class_name: Some("system-node-critical".into()),
            security_context: Some(PodSecurityContext {
                seccomp_profile: Some(SeccompProfile { type_: "RuntimeDefault".into(), ..Default::default() }),
                ..Default::default()
            }),
            volumes: (!volumes.is_empty()).then_some(volumes),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The reference input of /work/shared/reference/kubeadm-1.28.7, built by hand, for the tests of this crate.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod fixture {
    use crate::config::model::*;
    use crate::plan::MemoryNode;

    /// Path of a reference file.
    pub fn reference(name: &str) -> String {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/reference/kubeadm-1.28.7/");
        std::fs::read_to_string(format!("{dir}{name}")).unwrap()
    }

    /// input-config.yaml, defaulted.
    pub fn init() -> InitConfiguration {
        InitConfiguration {
            api_version: ApiVersion::V1beta3,
            bootstrap_tokens: vec![],
            node_registration: NodeRegistration {
                name: "cp1".into(),
                cri_socket: "unix:///run/containerd/containerd.sock".into(),
                taints: vec![Taint {
                    key: "node-role.kubernetes.io/control-plane".into(),
                    value: String::new(),
                    effect: "NoSchedule".into(),
                    time_added: String::new(),
                }],
                kubelet_extra_args: vec![],
                ignore_preflight_errors: vec![],
                image_pull_policy: "IfNotPresent".into(),
                image_pull_serial: true,
            },
            local_api_endpoint: ApiEndpoint { advertise_address: "10.0.0.10".parse().unwrap(), bind_port: 6443 },
            certificate_key: String::new(),
            skip_phases: vec![],
            patches_dir: String::new(),
            dry_run: false,
            timeouts: Timeouts::default(),
            cluster: crate::certs::tests::reference_cluster(KeyAlgorithm::Rsa2048),
            kubelet: None,
            kube_proxy: None,
        }
    }

    /// The host the reference was rendered on: CA directories present, /etc/pki absent.
    pub fn host() -> HostFacts {
        HostFacts {
            hostname: "render-host".into(),
            default_address: Some("10.0.0.10".parse().unwrap()),
            cri_sockets: vec!["unix:///run/containerd/containerd.sock".into()],
            systemd_resolved: false,
        }
    }

    /// A node view with the CA directories of the reference host.
    pub fn view() -> MemoryNode {
        MemoryNode {
            files: Default::default(),
            dirs: vec![
                "/etc/ca-certificates".into(),
                "/usr/local/share/ca-certificates".into(),
                "/usr/share/ca-certificates".into(),
            ],
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn user_flags_replace_defaults_and_duplicates_survive() {
        let defaults = vec![arg("b", "1"), arg("a", "x"), arg("c", "3")];
        let extra = vec![arg("b", "2"), arg("z", ""), arg("b", "5"), arg("aa", "y")];
        let v135: crate::version::KubeVersion = "v1.35.0".parse().unwrap();
        let v136: crate::version::KubeVersion = "v1.36.0".parse().unwrap();
        assert_eq!(
            command("bin", defaults.clone(), &extra, &v135),
            ["bin", "--a=x", "--aa=y", "--b=2", "--b=5", "--c=3", "--z="]
        );
        // 1.36: defaults not replaced, sorted; then the user's as given
        assert_eq!(
            command("bin", defaults, &extra, &v136),
            ["bin", "--a=x", "--c=3", "--b=2", "--z=", "--b=5", "--aa=y"]
        );
    }

    #[test]
    fn startup_probe_allows_the_start_timeout() {
        assert_eq!(startup_probe("h", "/p", 1, "HTTPS").failure_threshold, Some(24));
        assert_eq!(liveness_probe("", "/p", 1, "HTTPS").http_get.unwrap().host, None);
    }
}
