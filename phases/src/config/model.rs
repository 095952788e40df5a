//! The resolved configuration every planner works from: kubeadm's InitConfiguration, ClusterConfiguration and
//! JoinConfiguration after loading (v1beta3 or v1beta4), flag overlay and defaulting.
//!
//! These are kbinit's own types, not wire types: every defaulted value is filled in, versions are resolved,
//! extraArgs are ordered lists (v1beta4's shape, which also holds v1beta3's maps), durations are real durations.
//! The wire shapes live in [`super::wire`].

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use crate::version::KubeVersion;

/// One `--name=value` argument (v1beta4 `{name, value}`; a v1beta3 map entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    /// Flag name without the leading `--`.
    pub name: String,
    /// Flag value (may be empty: renders `--name=`).
    pub value: String,
}

/// An extra hostPath volume for a control-plane component (`extraVolumes[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPathMount {
    /// Volume name.
    pub name: String,
    /// Path on the host.
    pub host_path: String,
    /// Path in the container.
    pub mount_path: String,
    /// Mounted read-only.
    pub read_only: bool,
    /// hostPath type (e.g. `DirectoryOrCreate`); empty = unset.
    pub path_type: String,
}

/// An environment variable for a control-plane component (`extraEnvs[]`, v1beta4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
    /// `valueFrom` (a core/v1 EnvVarSource) as JSON text; `None` when not given. kubeadm copies the whole
    /// `v1.EnvVar` into the Pod (`kubeadmutil.MergeKubeadmEnvVars`).
    pub value_from: Option<String>,
}

impl EnvVar {
    /// A plain `name=value` variable.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> EnvVar {
        EnvVar { name: name.into(), value: value.into(), value_from: None }
    }
}

/// The parts every control-plane component shares (`apiServer`, `controllerManager`, `scheduler`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ControlPlaneComponent {
    /// Extra flags, in the order given; a name given twice is kept twice (v1beta4).
    pub extra_args: Vec<Arg>,
    /// Extra hostPath volumes.
    pub extra_volumes: Vec<HostPathMount>,
    /// Extra environment variables.
    pub extra_envs: Vec<EnvVar>,
}

/// `ClusterConfiguration.apiServer`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiServer {
    /// extraArgs / extraVolumes / extraEnvs.
    pub component: ControlPlaneComponent,
    /// Extra SANs for the serving certificate (lower-cased).
    pub cert_sans: Vec<String>,
}

/// Local (stacked) etcd: `etcd.local`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalEtcd {
    /// Overrides `imageRepository` for etcd; empty = cluster default.
    pub image_repository: String,
    /// Overrides the etcd image tag; empty = the version's default.
    pub image_tag: String,
    /// `dataDir`, default `/var/lib/etcd`.
    pub data_dir: String,
    /// Extra etcd flags.
    pub extra_args: Vec<Arg>,
    /// Extra environment variables.
    pub extra_envs: Vec<EnvVar>,
    /// Extra SANs for etcd/server.crt.
    pub server_cert_sans: Vec<String>,
    /// Extra SANs for etcd/peer.crt.
    pub peer_cert_sans: Vec<String>,
}

/// External etcd: `etcd.external`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExternalEtcd {
    /// Client URLs.
    pub endpoints: Vec<String>,
    /// CA file path (may be empty).
    pub ca_file: String,
    /// Client certificate path (may be empty).
    pub cert_file: String,
    /// Client key path (may be empty).
    pub key_file: String,
}

/// `ClusterConfiguration.etcd`: exactly one of local or external.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Etcd {
    /// Stacked etcd run by kubeadm as a static Pod.
    Local(LocalEtcd),
    /// An etcd cluster run elsewhere.
    External(ExternalEtcd),
}

/// `ClusterConfiguration.networking`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Networking {
    /// Comma-separated service CIDRs (default `10.96.0.0/12`).
    pub service_subnet: String,
    /// Comma-separated pod CIDRs; empty = unset.
    pub pod_subnet: String,
    /// Cluster DNS domain (default `cluster.local`).
    pub dns_domain: String,
}

/// Key algorithm for every generated key (v1beta4 `encryptionAlgorithm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum KeyAlgorithm {
    /// RSA 2048 (the default).
    #[default]
    Rsa2048,
    /// RSA 3072.
    Rsa3072,
    /// RSA 4096.
    Rsa4096,
    /// ECDSA on P-256.
    EcdsaP256,
    /// ECDSA on P-384 (1.34+).
    EcdsaP384,
}

impl KeyAlgorithm {
    /// kubeadm's spelling (`RSA-2048`, `ECDSA-P256`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlgorithm::Rsa2048 => "RSA-2048",
            KeyAlgorithm::Rsa3072 => "RSA-3072",
            KeyAlgorithm::Rsa4096 => "RSA-4096",
            KeyAlgorithm::EcdsaP256 => "ECDSA-P256",
            KeyAlgorithm::EcdsaP384 => "ECDSA-P384",
        }
    }
    /// Parses kubeadm's spelling; `None` for anything else.
    pub fn parse(s: &str) -> Option<KeyAlgorithm> {
        [Self::Rsa2048, Self::Rsa3072, Self::Rsa4096, Self::EcdsaP256, Self::EcdsaP384]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

/// The resolved ClusterConfiguration: what is shared by every node of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfiguration {
    /// Resolved version (never a label).
    pub kubernetes_version: KubeVersion,
    /// `host` or `host:port`; empty = none (the advertise address is used).
    pub control_plane_endpoint: String,
    /// `clusterName`, default `kubernetes`.
    pub cluster_name: String,
    /// `certificatesDir`, default `/etc/kubernetes/pki`.
    pub certificates_dir: String,
    /// `imageRepository`, default `registry.k8s.io`.
    pub image_repository: String,
    /// Networking.
    pub networking: Networking,
    /// Etcd.
    pub etcd: Etcd,
    /// kube-apiserver settings.
    pub api_server: ApiServer,
    /// kube-controller-manager settings.
    pub controller_manager: ControlPlaneComponent,
    /// kube-scheduler settings.
    pub scheduler: ControlPlaneComponent,
    /// `dns.imageRepository` (empty = `<imageRepository>/coredns`).
    pub dns_image_repository: String,
    /// `dns.imageTag` (empty = the version's default).
    pub dns_image_tag: String,
    /// `dns.disabled` (v1beta4).
    pub dns_disabled: bool,
    /// `proxy.disabled` (v1beta4).
    pub proxy_disabled: bool,
    /// `featureGates`.
    pub feature_gates: BTreeMap<String, bool>,
    /// Key algorithm (v1beta4 `encryptionAlgorithm`; v1beta3 `PublicKeysECDSA` gate → ECDSA-P256).
    pub encryption_algorithm: KeyAlgorithm,
    /// Leaf certificate validity (default 8760h).
    pub certificate_validity: Duration,
    /// CA certificate validity (default 87600h).
    pub ca_certificate_validity: Duration,
}

/// A taint (`nodeRegistration.taints[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taint {
    /// Key.
    pub key: String,
    /// Value; empty = none.
    pub value: String,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    pub effect: String,
    /// `timeAdded` (RFC 3339) as given; empty = none. kubeadm copies the whole `v1.Taint` onto the Node.
    pub time_added: String,
}

/// `nodeRegistration`, shared by init and join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRegistration {
    /// Node name (default: the lower-cased hostname).
    pub name: String,
    /// CRI socket URL (`unix:///…`).
    pub cri_socket: String,
    /// Taints; for control-plane nodes defaults to `node-role.kubernetes.io/control-plane:NoSchedule`.
    pub taints: Vec<Taint>,
    /// Extra kubelet flags.
    pub kubelet_extra_args: Vec<Arg>,
    /// Lower-cased preflight check names whose errors become warnings (`all` for every check).
    pub ignore_preflight_errors: Vec<String>,
    /// `IfNotPresent` (default), `Always` or `Never`.
    pub image_pull_policy: String,
    /// v1beta4 `imagePullSerial` (default true): preflight pulls one image at a time, else all at once.
    pub image_pull_serial: bool,
}

/// A bootstrap token to create (`bootstrapTokens[]`). Its Debug shows no token secret.
#[derive(Clone, PartialEq, Eq)]
pub struct BootstrapToken {
    /// `[a-z0-9]{6}.[a-z0-9]{16}`; `None` = generate one.
    pub token: Option<String>,
    /// Description.
    pub description: String,
    /// TTL; `None` = never expires (ttl 0). Default 24h.
    pub ttl: Option<Duration>,
    /// Absolute expiry (RFC 3339), overrides ttl when set.
    pub expires: Option<String>,
    /// Usages, default `[signing, authentication]`.
    pub usages: Vec<String>,
    /// Extra groups, default `[system:bootstrappers:kubeadm:default-node-token]`.
    pub groups: Vec<String>,
}

/// The API endpoint this control-plane node serves on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiEndpoint {
    /// Advertise address.
    pub advertise_address: IpAddr,
    /// Secure port, default 6443.
    pub bind_port: u16,
}

/// v1beta4 timeouts (v1beta3's `apiServer.timeoutForControlPlane` / `discovery.timeout` map onto them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeouts {
    /// Waiting for the control-plane components (default 4m).
    pub control_plane_component_health_check: Duration,
    /// Waiting for the kubelet (default 4m).
    pub kubelet_health_check: Duration,
    /// One API call (default 1m).
    pub kubernetes_api_call: Duration,
    /// One etcd call (default 2m).
    pub etcd_api_call: Duration,
    /// The TLS bootstrap on join (default 5m).
    pub tls_bootstrap: Duration,
    /// Discovery on join (default 5m).
    pub discovery: Duration,
    /// Upgrade manifests (default 5m).
    pub upgrade_manifests: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        let m = |n: u64| Duration::from_secs(n * 60);
        Timeouts {
            control_plane_component_health_check: m(4),
            kubelet_health_check: m(4),
            kubernetes_api_call: m(1),
            etcd_api_call: m(2),
            tls_bootstrap: m(5),
            discovery: m(5),
            upgrade_manifests: m(5),
        }
    }
}

/// Which kubeadm API version a document set was written in (kbinit answers in the same one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ApiVersion {
    /// `kubeadm.k8s.io/v1beta3`.
    V1beta3,
    /// `kubeadm.k8s.io/v1beta4`.
    #[default]
    V1beta4,
}

/// The resolved InitConfiguration (with its ClusterConfiguration and component configs). Its Debug withholds the
/// certificate key and the token secrets.
#[derive(Clone, PartialEq)]
pub struct InitConfiguration {
    /// Which API the input used (v1beta4 when only flags were given and the version has it).
    pub api_version: ApiVersion,
    /// Bootstrap tokens.
    pub bootstrap_tokens: Vec<BootstrapToken>,
    /// Node registration.
    pub node_registration: NodeRegistration,
    /// This node's API endpoint.
    pub local_api_endpoint: ApiEndpoint,
    /// 64 hex chars, or empty.
    pub certificate_key: String,
    /// Phases to skip (`skipPhases`; the `--skip-phases` flag wins when given).
    pub skip_phases: Vec<String>,
    /// `patches.directory`; empty = none.
    pub patches_dir: String,
    /// v1beta4 `dryRun`: run as with `--dry-run` (kubeadm's `ValueFromFlagsOrConfig`).
    pub dry_run: bool,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// The cluster-wide configuration.
    pub cluster: ClusterConfiguration,
    /// A user-supplied `KubeletConfiguration` document, carried through as given.
    pub kubelet: Option<serde_json::Value>,
    /// A user-supplied `KubeProxyConfiguration` document, carried through as given.
    pub kube_proxy: Option<serde_json::Value>,
}

/// `discovery` of a JoinConfiguration. Its Debug shows no token secret.
#[derive(Clone, PartialEq, Eq)]
pub enum Discovery {
    /// Token discovery against `api_server_endpoint`.
    BootstrapToken {
        /// The discovery token.
        token: String,
        /// `host:port`.
        api_server_endpoint: String,
        /// `sha256:<hex>` pins.
        ca_cert_hashes: Vec<String>,
        /// Skip CA pinning.
        unsafe_skip_ca_verification: bool,
    },
    /// File (or https URL) discovery.
    File {
        /// Path or `https://` URL of a kubeconfig.
        kube_config_path: String,
    },
}

/// The control-plane part of a JoinConfiguration. Its Debug withholds the certificate key.
#[derive(Clone, PartialEq, Eq)]
pub struct JoinControlPlane {
    /// This node's API endpoint.
    pub local_api_endpoint: ApiEndpoint,
    /// Key to decrypt kubeadm-certs (64 hex chars) or empty.
    pub certificate_key: String,
}

/// The resolved JoinConfiguration. Its Debug shows no token secret.
#[derive(Clone, PartialEq)]
pub struct JoinConfiguration {
    /// Which API the input used.
    pub api_version: ApiVersion,
    /// Node registration.
    pub node_registration: NodeRegistration,
    /// `caCertPath`, default `/etc/kubernetes/pki/ca.crt`.
    pub ca_cert_path: String,
    /// How to find and trust the cluster.
    pub discovery: Discovery,
    /// Token for the kubelet's TLS bootstrap (defaults to the discovery token).
    pub tls_bootstrap_token: String,
    /// Set when joining as a control-plane node.
    pub control_plane: Option<JoinControlPlane>,
    /// Phases to skip.
    pub skip_phases: Vec<String>,
    /// `patches.directory`; empty = none.
    pub patches_dir: String,
    /// v1beta4 `dryRun`: run as with `--dry-run` (kubeadm's `ValueFromFlagsOrConfig`).
    pub dry_run: bool,
    /// Timeouts.
    pub timeouts: Timeouts,
}

/// What the binary found out about the host, needed for defaulting (hostname, default-route address, CRI sockets).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostFacts {
    /// The OS hostname as reported (kbinit lower-cases it for the node name).
    pub hostname: String,
    /// The global unicast address of the interface holding the default route, if any.
    pub default_address: Option<IpAddr>,
    /// The known CRI sockets that exist on the host (`unix:///…`), for auto-detection.
    pub cri_sockets: Vec<String>,
    /// `true` when `systemctl is-active systemd-resolved` says active (kubelet `resolvConf`).
    pub systemd_resolved: bool,
}

/// Who this node is, as the PKI, kubeconfig and manifest planners need it (init and control-plane join alike).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeIdentity {
    /// Node name.
    pub name: String,
    /// Advertise address of this node's API server (and etcd).
    pub advertise_address: IpAddr,
    /// Secure port of this node's API server.
    pub bind_port: u16,
}

impl InitConfiguration {
    /// This node's identity.
    pub fn node(&self) -> NodeIdentity {
        NodeIdentity {
            name: self.node_registration.name.clone(),
            advertise_address: self.local_api_endpoint.advertise_address,
            bind_port: self.local_api_endpoint.bind_port,
        }
    }
}

/// How a secret string shows in Debug output: whether it is set, never its value.
fn withheld(secret: &str) -> &'static str {
    if secret.is_empty() { "<empty>" } else { "<withheld>" }
}

/// How a bootstrap token shows in Debug output: its public id only.
fn token_id_only(token: &str) -> String {
    match token.split_once('.') {
        Some((id, _)) => format!("{id}.<withheld>"),
        None => withheld(token).to_string(),
    }
}

impl std::fmt::Debug for BootstrapToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BootstrapToken")
            .field("token", &self.token.as_deref().map(token_id_only))
            .field("description", &self.description)
            .field("ttl", &self.ttl)
            .field("expires", &self.expires)
            .field("usages", &self.usages)
            .field("groups", &self.groups)
            .finish()
    }
}

impl std::fmt::Debug for InitConfiguration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitConfiguration")
            .field("api_version", &self.api_version)
            .field("bootstrap_tokens", &self.bootstrap_tokens)
            .field("node_registration", &self.node_registration)
            .field("local_api_endpoint", &self.local_api_endpoint)
            .field("certificate_key", &withheld(&self.certificate_key))
            .field("skip_phases", &self.skip_phases)
            .field("patches_dir", &self.patches_dir)
            .field("dry_run", &self.dry_run)
            .field("timeouts", &self.timeouts)
            .field("cluster", &self.cluster)
            .field("kubelet", &self.kubelet)
            .field("kube_proxy", &self.kube_proxy)
            .finish()
    }
}

impl std::fmt::Debug for Discovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Discovery::BootstrapToken { token, api_server_endpoint, ca_cert_hashes, unsafe_skip_ca_verification } => f
                .debug_struct("BootstrapToken")
                .field("token", &token_id_only(token))
                .field("api_server_endpoint", api_server_endpoint)
                .field("ca_cert_hashes", ca_cert_hashes)
                .field("unsafe_skip_ca_verification", unsafe_skip_ca_verification)
                .finish(),
            Discovery::File { kube_config_path } => {
                f.debug_struct("File").field("kube_config_path", kube_config_path).finish()
            }
        }
    }
}

impl std::fmt::Debug for JoinControlPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinControlPlane")
            .field("local_api_endpoint", &self.local_api_endpoint)
            .field("certificate_key", &withheld(&self.certificate_key))
            .finish()
    }
}

impl std::fmt::Debug for JoinConfiguration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinConfiguration")
            .field("api_version", &self.api_version)
            .field("node_registration", &self.node_registration)
            .field("ca_cert_path", &self.ca_cert_path)
            .field("discovery", &self.discovery)
            .field("tls_bootstrap_token", &token_id_only(&self.tls_bootstrap_token))
            .field("control_plane", &self.control_plane)
            .field("skip_phases", &self.skip_phases)
            .field("patches_dir", &self.patches_dir)
            .field("dry_run", &self.dry_run)
            .field("timeouts", &self.timeouts)
            .finish()
    }
}

#[cfg(test)]
mod debug_tests {
    use crate::config::{HostFacts, InitFlags, JoinFlags, load_init, load_join};

    fn facts() -> HostFacts {
        HostFacts { hostname: "cp1".into(), default_address: Some([192, 0, 2, 10].into()), ..HostFacts::default() }
    }

    #[test]
    fn debug_output_withholds_tokens_and_certificate_keys() {
        let key = "0f".repeat(32);
        let flags = InitFlags {
            token: Some("abcdef.0123456789abcdef".into()),
            certificate_key: Some(key.clone()),
            ..InitFlags::default()
        };
        let init = load_init(None, &flags, &facts()).unwrap().config;
        let shown = format!("{init:?}");
        assert!(!shown.contains("0123456789abcdef") && !shown.contains(&key), "{shown}");
        assert!(shown.contains("abcdef.<withheld>"), "the token id stays visible: {shown}");

        let flags = JoinFlags {
            api_server_endpoint: Some("192.0.2.10:6443".into()),
            token: Some("abcdef.0123456789abcdef".into()),
            discovery_token_unsafe_skip_ca_verification: true,
            control_plane: true,
            certificate_key: Some(key.clone()),
            ..JoinFlags::default()
        };
        let join = load_join(None, &flags, &facts()).unwrap().config;
        let shown = format!("{join:?}");
        assert!(!shown.contains("0123456789abcdef") && !shown.contains(&key), "{shown}");
    }
}
