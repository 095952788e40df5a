//! Serde wire types of kubeadm's configuration documents, `kubeadm.k8s.io/v1beta3` and `v1beta4` in one set of
//! structs: every field is optional (absent = default), fields that exist in only one version are checked by the
//! loader, and `extraArgs` accepts both shapes (v1beta3 map, v1beta4 `[{name, value}]` list).
//!
//! Decoding goes through [`decode`], which reports unknown fields as warnings (kubeadm is non-strict) and type
//! errors as [`Error::Invalid`] naming the field path. The same types serialize again (absent fields as `null`,
//! which [`mod@super::migrate`] drops) so that `config migrate` rewrites documents as typed values.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Error;

/// `extraArgs` / `kubeletExtraArgs`: a v1beta3 map or a v1beta4 list.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum ExtraArgs {
    /// v1beta3: `{name: value}`.
    Map(BTreeMap<String, String>),
    /// v1beta4: `[{name, value}]`.
    List(Vec<WireArg>),
}

/// One v1beta4 `{name, value}` argument.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct WireArg {
    /// Flag name.
    pub name: String,
    /// Flag value.
    #[serde(default)]
    pub value: String,
}

/// `bootstrapTokens[]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireToken {
    /// The token.
    pub token: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// TTL (Go duration).
    pub ttl: Option<String>,
    /// Absolute expiry.
    pub expires: Option<String>,
    /// Usages.
    pub usages: Option<Vec<String>>,
    /// Extra groups.
    pub groups: Option<Vec<String>>,
}

/// `nodeRegistration.taints[]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireTaint {
    /// Key.
    #[serde(default)]
    pub key: String,
    /// Value.
    pub value: Option<String>,
    /// Effect.
    #[serde(default)]
    pub effect: String,
    /// Ignored (set by the API server).
    pub time_added: Option<String>,
}

/// `nodeRegistration`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireNodeRegistration {
    /// Node name.
    pub name: Option<String>,
    /// CRI socket.
    pub cri_socket: Option<String>,
    /// Taints; `None` for absent or `null`.
    pub taints: Option<Vec<WireTaint>>,
    /// Extra kubelet flags.
    pub kubelet_extra_args: Option<ExtraArgs>,
    /// Preflight errors to ignore.
    pub ignore_preflight_errors: Option<Vec<String>>,
    /// Image pull policy.
    pub image_pull_policy: Option<String>,
    /// v1beta4: pull images one at a time.
    pub image_pull_serial: Option<bool>,
}

/// `localAPIEndpoint`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireEndpoint {
    /// Advertise address.
    pub advertise_address: Option<String>,
    /// Bind port (wide, so that out-of-range values get a clear error).
    pub bind_port: Option<i64>,
}

/// `patches`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct WirePatches {
    /// Directory of patches.
    pub directory: Option<String>,
}

/// v1beta4 `timeouts`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireTimeouts {
    /// Control-plane components health check.
    pub control_plane_component_health_check: Option<String>,
    /// Kubelet health check.
    pub kubelet_health_check: Option<String>,
    /// One API call.
    #[serde(rename = "kubernetesAPICall")]
    pub kubernetes_api_call: Option<String>,
    /// One etcd call.
    #[serde(rename = "etcdAPICall")]
    pub etcd_api_call: Option<String>,
    /// TLS bootstrap.
    pub tls_bootstrap: Option<String>,
    /// Discovery.
    pub discovery: Option<String>,
    /// Upgrade manifests.
    pub upgrade_manifests: Option<String>,
}

/// `InitConfiguration`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireInit {
    /// Bootstrap tokens.
    pub bootstrap_tokens: Option<Vec<WireToken>>,
    /// Node registration.
    pub node_registration: Option<WireNodeRegistration>,
    /// Local API endpoint.
    #[serde(rename = "localAPIEndpoint")]
    pub local_api_endpoint: Option<WireEndpoint>,
    /// Certificate key.
    pub certificate_key: Option<String>,
    /// Phases to skip.
    pub skip_phases: Option<Vec<String>>,
    /// Patches.
    pub patches: Option<WirePatches>,
    /// v1beta4 timeouts.
    pub timeouts: Option<WireTimeouts>,
    /// v1beta4 dryRun.
    pub dry_run: Option<bool>,
}

/// `extraVolumes[]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireVolume {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Host path.
    #[serde(default)]
    pub host_path: String,
    /// Mount path.
    #[serde(default)]
    pub mount_path: String,
    /// Read-only.
    pub read_only: Option<bool>,
    /// hostPath type.
    pub path_type: Option<String>,
}

/// `extraEnvs[]` (v1beta4).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireEnv {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Value.
    #[serde(default)]
    pub value: String,
    /// valueFrom (carried, not used).
    pub value_from: Option<Value>,
}

/// `controllerManager` / `scheduler`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireComponent {
    /// Extra flags.
    pub extra_args: Option<ExtraArgs>,
    /// Extra volumes.
    pub extra_volumes: Option<Vec<WireVolume>>,
    /// Extra environment (v1beta4).
    pub extra_envs: Option<Vec<WireEnv>>,
}

/// `apiServer`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireApiServer {
    /// Extra flags.
    pub extra_args: Option<ExtraArgs>,
    /// Extra volumes.
    pub extra_volumes: Option<Vec<WireVolume>>,
    /// Extra environment (v1beta4).
    pub extra_envs: Option<Vec<WireEnv>>,
    /// Extra serving-certificate SANs.
    #[serde(rename = "certSANs")]
    pub cert_sans: Option<Vec<String>>,
    /// v1beta3: wait for the control plane.
    pub timeout_for_control_plane: Option<String>,
}

/// `etcd.local`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireLocalEtcd {
    /// Image repository.
    pub image_repository: Option<String>,
    /// Image tag.
    pub image_tag: Option<String>,
    /// Data directory.
    pub data_dir: Option<String>,
    /// Extra flags.
    pub extra_args: Option<ExtraArgs>,
    /// Extra environment (v1beta4).
    pub extra_envs: Option<Vec<WireEnv>>,
    /// Server certificate SANs.
    #[serde(rename = "serverCertSANs")]
    pub server_cert_sans: Option<Vec<String>>,
    /// Peer certificate SANs.
    #[serde(rename = "peerCertSANs")]
    pub peer_cert_sans: Option<Vec<String>>,
}

/// `etcd.external`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireExternalEtcd {
    /// Endpoints.
    pub endpoints: Option<Vec<String>>,
    /// CA file.
    pub ca_file: Option<String>,
    /// Client certificate.
    pub cert_file: Option<String>,
    /// Client key.
    pub key_file: Option<String>,
}

/// `etcd`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct WireEtcd {
    /// Local etcd.
    pub local: Option<WireLocalEtcd>,
    /// External etcd.
    pub external: Option<WireExternalEtcd>,
}

/// `networking`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireNetworking {
    /// Service CIDRs.
    pub service_subnet: Option<String>,
    /// Pod CIDRs.
    pub pod_subnet: Option<String>,
    /// DNS domain.
    pub dns_domain: Option<String>,
}

/// `dns`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireDns {
    /// Image repository.
    pub image_repository: Option<String>,
    /// Image tag.
    pub image_tag: Option<String>,
    /// v1beta4: no CoreDNS.
    pub disabled: Option<bool>,
}

/// `proxy` (v1beta4).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct WireProxy {
    /// No kube-proxy.
    pub disabled: Option<bool>,
}

/// `ClusterConfiguration`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireCluster {
    /// Etcd.
    pub etcd: Option<WireEtcd>,
    /// Networking.
    pub networking: Option<WireNetworking>,
    /// Kubernetes version or label.
    pub kubernetes_version: Option<String>,
    /// Control-plane endpoint.
    pub control_plane_endpoint: Option<String>,
    /// API server.
    pub api_server: Option<WireApiServer>,
    /// Controller manager.
    pub controller_manager: Option<WireComponent>,
    /// Scheduler.
    pub scheduler: Option<WireComponent>,
    /// DNS addon.
    pub dns: Option<WireDns>,
    /// Proxy addon (v1beta4).
    pub proxy: Option<WireProxy>,
    /// Certificates directory.
    pub certificates_dir: Option<String>,
    /// Image repository.
    pub image_repository: Option<String>,
    /// Feature gates.
    pub feature_gates: Option<BTreeMap<String, bool>>,
    /// Cluster name.
    pub cluster_name: Option<String>,
    /// v1beta4 key algorithm.
    pub encryption_algorithm: Option<String>,
    /// v1beta4 leaf validity.
    pub certificate_validity_period: Option<String>,
    /// v1beta4 CA validity.
    pub ca_certificate_validity_period: Option<String>,
}

/// `discovery.bootstrapToken`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireTokenDiscovery {
    /// Token.
    pub token: Option<String>,
    /// `host:port`.
    #[serde(rename = "apiServerEndpoint")]
    pub api_server_endpoint: Option<String>,
    /// CA pins.
    pub ca_cert_hashes: Option<Vec<String>>,
    /// Skip pinning.
    #[serde(rename = "unsafeSkipCAVerification")]
    pub unsafe_skip_ca_verification: Option<bool>,
}

/// `discovery.file`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireFileDiscovery {
    /// Path or URL.
    pub kube_config_path: Option<String>,
}

/// `discovery`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireDiscovery {
    /// Token discovery.
    pub bootstrap_token: Option<WireTokenDiscovery>,
    /// File discovery.
    pub file: Option<WireFileDiscovery>,
    /// TLS bootstrap token.
    pub tls_bootstrap_token: Option<String>,
    /// v1beta3 discovery timeout.
    pub timeout: Option<String>,
}

/// `controlPlane` of a JoinConfiguration.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireJoinControlPlane {
    /// Local API endpoint.
    #[serde(rename = "localAPIEndpoint")]
    pub local_api_endpoint: Option<WireEndpoint>,
    /// Certificate key.
    pub certificate_key: Option<String>,
}

/// `JoinConfiguration`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireJoin {
    /// Node registration.
    pub node_registration: Option<WireNodeRegistration>,
    /// CA path.
    pub ca_cert_path: Option<String>,
    /// Discovery.
    pub discovery: Option<WireDiscovery>,
    /// Control-plane part.
    pub control_plane: Option<WireJoinControlPlane>,
    /// Phases to skip.
    pub skip_phases: Option<Vec<String>>,
    /// Patches.
    pub patches: Option<WirePatches>,
    /// v1beta4 timeouts.
    pub timeouts: Option<WireTimeouts>,
    /// v1beta4 dryRun.
    pub dry_run: Option<bool>,
}

/// Writes a serde_ignored path as `a.b[0].c` (Option and newtype layers left out).
fn ignored_path(p: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match p {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", ignored_path(parent)),
        Path::Map { parent, key } => {
            let head = ignored_path(parent);
            if head.is_empty() { key.clone() } else { format!("{head}.{key}") }
        }
        Path::Some { parent } | Path::NewtypeStruct { parent } | Path::NewtypeVariant { parent } => {
            ignored_path(parent)
        }
    }
}

/// Finds the value at a serde_path_to_error path, for the error message.
fn value_at<'a>(doc: &'a Value, path: &serde_path_to_error::Path) -> Option<&'a Value> {
    let mut cur = doc;
    for seg in path.iter() {
        cur = match seg {
            serde_path_to_error::Segment::Map { key } => cur.get(key.as_str())?,
            serde_path_to_error::Segment::Seq { index } => cur.get(*index)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Decodes one document (without `apiVersion`/`kind`) into a wire type. Unknown fields become warnings
/// `unknown field "<path>" in <kind> (<apiVersion>)`; a wrong type is an [`Error::Invalid`] naming the path.
pub fn decode<T: DeserializeOwned>(
    mut doc: Value,
    kind: &str,
    api_version: &str,
    warnings: &mut Vec<String>,
) -> Result<T, Error> {
    if let Some(map) = doc.as_object_mut() {
        map.remove("apiVersion");
        map.remove("kind");
    }
    let mut unknown = Vec::new();
    let mut on_unknown = |p: serde_ignored::Path<'_>| unknown.push(ignored_path(&p));
    let de = serde_ignored::Deserializer::new(&doc, &mut on_unknown);
    let out = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let value = value_at(&doc, e.path()).map_or_else(String::new, |v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        let field = if path == "." { kind.to_string() } else { path };
        Error::invalid(field, value, format!("{} in {kind} ({api_version})", e.inner()))
    })?;
    for p in unknown {
        warnings.push(format!("unknown field {p:?} in {kind} ({api_version})"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_both_extra_args_shapes_and_reports_unknown_fields() {
        let doc = serde_json::json!({
            "apiVersion": "kubeadm.k8s.io/v1beta3", "kind": "ClusterConfiguration",
            "networking": {"podSubnett": "10.0.0.0/16"},
            "apiServer": {"extraArgs": {"v": "2"}},
            "scheduler": {"extraArgs": [{"name": "v", "value": "3"}]},
        });
        let mut w = Vec::new();
        let c: WireCluster = decode(doc, "ClusterConfiguration", "kubeadm.k8s.io/v1beta3", &mut w).unwrap();
        assert!(matches!(c.api_server.unwrap().extra_args, Some(ExtraArgs::Map(m)) if m["v"] == "2"));
        assert!(matches!(c.scheduler.unwrap().extra_args, Some(ExtraArgs::List(l)) if l[0].value == "3"));
        assert_eq!(w, [r#"unknown field "networking.podSubnett" in ClusterConfiguration (kubeadm.k8s.io/v1beta3)"#]);
    }

    #[test]
    fn wrong_type_names_the_path() {
        let doc = serde_json::json!({"localAPIEndpoint": {"bindPort": "abc"}});
        let err = decode::<WireInit>(doc, "InitConfiguration", "kubeadm.k8s.io/v1beta3", &mut Vec::new()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("localAPIEndpoint.bindPort") && msg.contains("abc"), "{msg}");
    }
}
