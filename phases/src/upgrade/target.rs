//! What an upgraded node must hold: the configuration of this node at the target version (the cluster's
//! ClusterConfiguration from kubeadm-config with the new `kubernetesVersion`, this node's identity read from the
//! files init/join wrote), and the static Pod manifests rendered from it by the very functions `init` and `join`
//! use ([`crate::manifests::control_plane_pod`], [`crate::manifests::etcd_pod`]) — so "an upgraded node equals a
//! fresh init/join at the new version" holds by construction, and is tested.
//!
//! One choice differs from kubeadm: kubeadm re-renders a joined member's etcd manifest with only its own
//! member in `--initial-cluster` (and without `--initial-cluster-state=existing`); kbinit keeps both flags as
//! they are on disk, so the manifest equals what a fresh join writes (etcd ignores them once its data exists).

use serde_json::Value;

use crate::Error;
use crate::config::model::{EnvVar, NodeRegistration, Timeouts};
use crate::config::{ApiEndpoint, ApiVersion, ClusterConfiguration, Etcd, InitConfiguration, NodeIdentity};
use crate::manifests::{control_plane_pod, etcd_pod, pod_yaml};
use crate::plan::NodeView;
use crate::version::KubeVersion;

/// The components `upgrade apply`/`node` upgrade, in kubeadm's order (etcd only when local).
pub fn components(cluster: &ClusterConfiguration) -> Vec<&'static str> {
    let mut list = Vec::new();
    if matches!(cluster.etcd, Etcd::Local(_)) {
        list.push("etcd");
    }
    list.extend(super::state::CONTROL_PLANE);
    list
}

/// The certificates kubeadm renews with each component (sheet §4.3, `upgradeComponent`), as `certs renew`
/// names them.
pub fn certificates_of(component: &str, cluster: &ClusterConfiguration) -> Vec<&'static str> {
    let local = matches!(cluster.etcd, Etcd::Local(_));
    match component {
        "etcd" if local => vec!["etcd-server", "etcd-peer", "etcd-healthcheck-client"],
        "kube-apiserver" if local => {
            vec!["apiserver", "apiserver-kubelet-client", "front-proxy-client", "apiserver-etcd-client"]
        }
        "kube-apiserver" => vec!["apiserver", "apiserver-kubelet-client", "front-proxy-client"],
        "kube-controller-manager" => vec!["controller-manager.conf"],
        "kube-scheduler" => vec!["scheduler.conf"],
        _ => Vec::new(),
    }
}

/// The `command` of a manifest's first container.
pub fn manifest_command(yaml: &str) -> Result<Vec<String>, Error> {
    let pod = crate::go_format::yaml::from_yaml(yaml)?;
    let cmd = pod
        .pointer("/spec/containers/0/command")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::Document("a static Pod manifest without spec.containers[0].command".into()))?;
    Ok(cmd.iter().filter_map(Value::as_str).map(str::to_string).collect())
}

/// The value of `--name=` in a manifest's command (the last one given).
pub fn manifest_flag(yaml: &str, name: &str) -> Result<Option<String>, Error> {
    let prefix = format!("--{name}=");
    Ok(manifest_command(yaml)?.iter().rev().find_map(|a| a.strip_prefix(&prefix).map(str::to_string)))
}

/// This control-plane node's API endpoint, from its kube-apiserver manifest (`--advertise-address`,
/// `--secure-port`).
pub fn api_endpoint_from_manifest(apiserver_yaml: &str) -> Result<ApiEndpoint, Error> {
    let place = "/etc/kubernetes/manifests/kube-apiserver.yaml";
    let addr = manifest_flag(apiserver_yaml, "advertise-address")?
        .ok_or_else(|| Error::Document(format!("{place} has no --advertise-address")))?;
    let advertise_address = addr
        .parse()
        .map_err(|_| Error::invalid(format!("{place}: --advertise-address"), &addr, "not an IP address"))?;
    let port = manifest_flag(apiserver_yaml, "secure-port")?.unwrap_or_else(|| "6443".into());
    let bind_port = port.parse().map_err(|_| Error::invalid(format!("{place}: --secure-port"), &port, "not a port"))?;
    Ok(ApiEndpoint { advertise_address, bind_port })
}

/// The members and state of the on-disk etcd manifest (`--initial-cluster`, `--initial-cluster-state=existing`).
pub fn etcd_membership(etcd_yaml: &str) -> Result<(Vec<(String, String)>, bool), Error> {
    let members = manifest_flag(etcd_yaml, "initial-cluster")?
        .unwrap_or_default()
        .split(',')
        .filter_map(|m| m.split_once('=').map(|(n, u)| (n.to_string(), u.to_string())))
        .collect();
    let existing = manifest_flag(etcd_yaml, "initial-cluster-state")?.as_deref() == Some("existing");
    Ok((members, existing))
}

/// The node name a kubelet.conf authenticates as: the CN `system:node:<name>` of its client certificate
/// (embedded, or the file it names, read through `read`).
pub fn node_name_from_kubelet_conf(text: &str, read: &dyn Fn(&str) -> Option<Vec<u8>>) -> Result<String, Error> {
    use base64::Engine as _;
    let bad = |why: &str| Error::Document(format!("/etc/kubernetes/kubelet.conf: {why}"));
    let v = crate::go_format::yaml::from_yaml(text)?;
    let user = v.pointer("/users/0/user").ok_or_else(|| bad("no user"))?;
    let pem = if let Some(data) = user.get("client-certificate-data").and_then(Value::as_str) {
        base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map_err(|_| bad("client-certificate-data is not base64"))?
    } else if let Some(path) = user.get("client-certificate").and_then(Value::as_str) {
        read(path).ok_or_else(|| bad(&format!("cannot read {path}")))?
    } else {
        return Err(bad("the user has no client certificate"));
    };
    let block = pem::parse_many(&pem)
        .map_err(|_| bad("the client certificate is not PEM"))?
        .into_iter()
        .find(|p| p.tag() == "CERTIFICATE")
        .ok_or_else(|| bad("no CERTIFICATE block"))?;
    let (_, cert) = x509_parser::parse_x509_certificate(block.contents())
        .map_err(|_| bad("the client certificate does not parse"))?;
    let cn = cert.subject().iter_common_name().next().and_then(|c| c.as_str().ok()).unwrap_or_default();
    cn.strip_prefix("system:node:")
        .map(str::to_string)
        .ok_or_else(|| bad(&format!("the client certificate's CN {cn:?} is not system:node:<name>")))
}

/// The CRI socket of this node: `containerRuntimeEndpoint` of instance-config.yaml (1.34+), else
/// `--container-runtime-endpoint` of kubeadm-flags.env, else containerd's default.
pub fn cri_socket(instance_config: Option<&str>, flags_env: Option<&str>) -> String {
    if let Some(ep) = instance_config
        .and_then(|t| crate::go_format::yaml::from_yaml(t).ok())
        .and_then(|v| v.get("containerRuntimeEndpoint").and_then(Value::as_str).map(str::to_string))
        .filter(|s| !s.is_empty())
    {
        return ep;
    }
    if let Some(ep) = flags_env.and_then(|t| {
        t.split(['"', ' ', '\n']).find_map(|w| w.strip_prefix("--container-runtime-endpoint=").map(str::to_string))
    }) {
        return ep;
    }
    "unix:///var/run/containerd/containerd.sock".into()
}

/// The configuration of this node at `target`: the cluster's configuration with the new version, this node's
/// identity, and the cluster's KubeletConfiguration.
pub fn node_configuration(
    cluster: &ClusterConfiguration,
    target: &KubeVersion,
    name: &str,
    endpoint: ApiEndpoint,
    cri_socket: &str,
    kubelet: Option<Value>,
    timeouts: Timeouts,
) -> InitConfiguration {
    let mut cluster = cluster.clone();
    cluster.kubernetes_version = target.clone();
    InitConfiguration {
        api_version: if target.has_v1beta4() { ApiVersion::V1beta4 } else { ApiVersion::V1beta3 },
        bootstrap_tokens: Vec::new(),
        node_registration: NodeRegistration {
            name: name.into(),
            cri_socket: cri_socket.into(),
            taints: Vec::new(),
            kubelet_extra_args: Vec::new(),
            ignore_preflight_errors: Vec::new(),
            image_pull_policy: "IfNotPresent".into(),
            image_pull_serial: true,
        },
        local_api_endpoint: endpoint,
        certificate_key: String::new(),
        skip_phases: Vec::new(),
        patches_dir: String::new(),
        dry_run: false,
        timeouts,
        cluster,
        kubelet,
        kube_proxy: None,
    }
}

/// The manifest `component` gets at the target version. `membership` = the on-disk etcd flags
/// ([`etcd_membership`]).
pub fn target_manifest(
    component: &str,
    init: &InitConfiguration,
    view: &dyn NodeView,
    proxy_env: &[EnvVar],
    membership: &(Vec<(String, String)>, bool),
) -> Result<String, Error> {
    let node: NodeIdentity = init.node();
    let pod = if component == "etcd" {
        etcd_pod(&init.cluster, &node, &membership.0, membership.1)?
    } else {
        control_plane_pod(component, &init.cluster, &node, view, proxy_env)?
    };
    pod_yaml(&pod)
}

/// `manifest` with the `--patches` for `component` applied (unchanged without any), and kubeadm's lines.
pub fn patch_manifest(
    component: &str,
    manifest: String,
    patches: &[crate::patches::Patch],
) -> Result<(String, Vec<String>), Error> {
    if !patches.iter().any(|p| p.target == component) {
        return Ok((manifest, Vec::new()));
    }
    let mut doc = crate::go_format::yaml::from_yaml(&manifest)?;
    let lines = crate::patches::apply_patches(component, &mut doc, patches)?;
    let pod: k8s_openapi::api::core::v1::Pod = serde_json::from_value(doc)
        .map_err(|e| Error::invalid("--patches", component, format!("the patched manifest is not a Pod: {e}")))?;
    Ok((pod_yaml(&pod)?, lines))
}

/// The kubelet config with the `kubeletconfiguration` patches applied, and kubeadm's lines.
pub fn patch_kubelet_config(config: String, patches: &[crate::patches::Patch]) -> Result<(String, Vec<String>), Error> {
    if !patches.iter().any(|p| p.target == "kubeletconfiguration") {
        return Ok((config, Vec::new()));
    }
    let mut doc = crate::go_format::yaml::from_yaml(&config)?;
    let lines = crate::patches::apply_patches("kubeletconfiguration", &mut doc, patches)?;
    Ok((crate::go_format::yaml::to_yaml(&doc), lines))
}

/// The image tag of a manifest's first container (empty when it has none).
pub fn manifest_image_tag(yaml: &str) -> String {
    crate::go_format::yaml::from_yaml(yaml)
        .ok()
        .and_then(|p| {
            p.pointer("/spec/containers/0/image")
                .and_then(Value::as_str)
                .map(|i| super::state::image_tag(i).to_string())
        })
        .unwrap_or_default()
}

/// kubeadm's `ManifestFilesAreEqual`: both parse, and as objects they are equal (formatting aside).
pub fn manifests_equal(a: &str, b: &str) -> bool {
    match (crate::go_format::yaml::from_yaml(a), crate::go_format::yaml::from_yaml(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// The KubeletConfiguration an upgraded node writes to /var/lib/kubelet/config.yaml: the cluster's
/// (kubelet-config) merged over kubeadm's defaults, as `join` writes it.
pub fn kubelet_config_yaml(init: &InitConfiguration) -> String {
    let facts = crate::config::HostFacts::default();
    crate::go_format::yaml::to_yaml(&crate::kubelet::kubelet_configuration(init, &facts))
}

/// Rewrites the image tag of the etcd manifest a target would write when etcd must not change (`--etcd-upgrade=
/// false` is handled by skipping etcd entirely; this is for the "never downgrade etcd" rule): `true` when `desired`
/// is older than `current` (both `3.5.12-0` style).
pub fn etcd_would_downgrade(current: &str, desired: &str) -> bool {
    let parse = |t: &str| -> Option<(u32, u32, u32, u32)> {
        let (v, rev) = t.split_once('-').unwrap_or((t, "0"));
        let mut p = v.trim_start_matches('v').split('.').map(|x| x.parse::<u32>().ok());
        Some((p.next()??, p.next()??, p.next()??, rev.parse().ok()?))
    };
    matches!((parse(current), parse(desired)), (Some(c), Some(d)) if d < c)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_flags_membership_and_sockets() {
        let yaml = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - command:\n    - etcd\n    - --initial-cluster=cp1=https://10.0.0.1:2380,cp2=https://10.0.0.2:2380\n    - --initial-cluster-state=existing\n    - --advertise-address=10.0.0.2\n";
        let (m, existing) = etcd_membership(yaml).unwrap();
        assert_eq!(m.len(), 2);
        assert!(existing);
        assert_eq!(api_endpoint_from_manifest(yaml).unwrap().bind_port, 6443);
        assert_eq!(
            cri_socket(None, Some("KUBELET_KUBEADM_ARGS=\"--container-runtime-endpoint=unix:///x.sock --v=2\"\n")),
            "unix:///x.sock"
        );
        assert_eq!(cri_socket(Some("containerRuntimeEndpoint: unix:///y.sock\n"), None), "unix:///y.sock");
        assert!(etcd_would_downgrade("3.5.21-0", "3.5.16-0"));
        assert!(!etcd_would_downgrade("3.5.16-0", "3.6.4-0"));
        assert!(manifests_equal("a: 1\nb: 2\n", "b: 2\na: 1\n"));
    }

    fn init_at(minor: u32) -> InitConfiguration {
        // the API version each release reads by default (v1beta4 from 1.31; 1.37 reads nothing older)
        let api = if minor >= 31 { "v1beta4" } else { "v1beta3" };
        let text = format!(
            "apiVersion: kubeadm.k8s.io/{api}\nkind: InitConfiguration\nlocalAPIEndpoint:\n  advertiseAddress: 10.0.0.1\n\
             nodeRegistration:\n  name: cp1\n---\napiVersion: kubeadm.k8s.io/{api}\nkind: ClusterConfiguration\n\
             kubernetesVersion: v1.{minor}.0\n"
        );
        let facts = crate::config::HostFacts { hostname: "cp1".into(), ..Default::default() };
        crate::config::load_init(Some(&text), &crate::config::InitFlags::default(), &facts).unwrap().config
    }

    #[test]
    fn second_newest_upgraded_to_newest_equals_a_fresh_init_of_the_newest() {
        use crate::version::MAX_MINOR;
        let old = init_at(MAX_MINOR - 1);
        let fresh = init_at(MAX_MINOR);
        let up = node_configuration(
            &old.cluster,
            &fresh.cluster.kubernetes_version,
            "cp1",
            old.local_api_endpoint.clone(),
            &old.node_registration.cri_socket,
            None,
            old.timeouts.clone(),
        );
        let view = crate::plan::MemoryNode::default();
        let none = (Vec::new(), false);
        for c in components(&fresh.cluster) {
            let a = target_manifest(c, &up, &view, &[], &none).unwrap();
            let b = target_manifest(c, &fresh, &view, &[], &none).unwrap();
            assert_eq!(a, b, "{c}");
            let before = target_manifest(c, &old, &view, &[], &none).unwrap();
            assert!(c == "etcd" || !manifests_equal(&a, &before), "{c} must change with the version");
        }
        assert_eq!(kubelet_config_yaml(&up), kubelet_config_yaml(&fresh));
    }
}
