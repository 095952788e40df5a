//! The certificate table: one row per `certs` sub-phase, in kubeadm's order (kubeadm's certlist as data).

use crate::version::KubeVersion;

/// What a row produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A self-signed CA.
    Ca,
    /// A leaf signed by the CA of the row with this phase name.
    Leaf { ca: &'static str },
    /// The service-account key pair (`sa.key`, `sa.pub`).
    Sa,
}

/// Who the certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cn {
    /// A fixed common name.
    Fixed(&'static str),
    /// The node name.
    Node,
}

/// Which subject alternative names the certificate carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sans {
    /// None (client certificates).
    None,
    /// `DNS:<CN>` (CAs).
    CaName,
    /// The API server's serving names (§B.2).
    ApiServer,
    /// etcd's serving names plus `etcd.local.serverCertSANs`.
    EtcdServer,
    /// etcd's serving names plus `etcd.local.peerCertSANs`.
    EtcdPeer,
}

/// Extended key usages of a leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Usage {
    /// None (CAs, sa).
    None,
    /// serverAuth.
    Server,
    /// clientAuth.
    Client,
    /// serverAuth and clientAuth.
    ServerClient,
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CertSpec {
    /// Phase name (`etcd-ca`).
    pub phase: &'static str,
    /// File base name under the certificate dir, without extension (`etcd/ca`).
    pub base: &'static str,
    /// Short help of the phase.
    pub help: &'static str,
    /// CA, leaf or sa.
    pub kind: Kind,
    /// Common name.
    pub cn: Cn,
    /// Optional organization.
    pub org: Option<&'static str>,
    /// SAN rule.
    pub sans: Sans,
    /// EKUs.
    pub usage: Usage,
    /// Belongs to stacked etcd (skipped with external etcd).
    pub etcd: bool,
}

#[allow(clippy::too_many_arguments)]
const fn row(
    phase: &'static str,
    base: &'static str,
    help: &'static str,
    kind: Kind,
    cn: Cn,
    org: Option<&'static str>,
    sans: Sans,
    usage: Usage,
    etcd: bool,
) -> CertSpec {
    CertSpec { phase, base, help, kind, cn, org, sans, usage, etcd }
}

const MASTERS: Option<&str> = Some("system:masters");

impl CertSpec {
    /// The organization this row's certificate carries for `version`: the table's (kubeadm 1.28's), except for
    /// `apiserver-kubelet-client`, whose group follows the release (see
    /// [`KubeVersion::apiserver_kubelet_client_org`]), and etcd's two client certificates, which have none from
    /// 1.29 ([`KubeVersion::etcd_clients_without_org`]).
    pub fn org_for(&self, version: &KubeVersion) -> Option<&'static str> {
        match self.base {
            "apiserver-kubelet-client" => Some(version.apiserver_kubelet_client_org()),
            "etcd/healthcheck-client" | "apiserver-etcd-client" if version.etcd_clients_without_org() => None,
            _ => self.org,
        }
    }
}

/// The 11 rows, in kubeadm's generation order.
pub(crate) const TABLE: [CertSpec; 11] = [
    row(
        "ca",
        "ca",
        "Generate the self-signed Kubernetes CA to provision identities for other Kubernetes components",
        Kind::Ca,
        Cn::Fixed("kubernetes"),
        None,
        Sans::CaName,
        Usage::None,
        false,
    ),
    row(
        "apiserver",
        "apiserver",
        "Generate the certificate for serving the Kubernetes API",
        Kind::Leaf { ca: "ca" },
        Cn::Fixed("kube-apiserver"),
        None,
        Sans::ApiServer,
        Usage::Server,
        false,
    ),
    row(
        "apiserver-kubelet-client",
        "apiserver-kubelet-client",
        "Generate the certificate for the API server to connect to kubelet",
        Kind::Leaf { ca: "ca" },
        Cn::Fixed("kube-apiserver-kubelet-client"),
        MASTERS,
        Sans::None,
        Usage::Client,
        false,
    ),
    row(
        "front-proxy-ca",
        "front-proxy-ca",
        "Generate the self-signed CA to provision identities for front proxy",
        Kind::Ca,
        Cn::Fixed("front-proxy-ca"),
        None,
        Sans::CaName,
        Usage::None,
        false,
    ),
    row(
        "front-proxy-client",
        "front-proxy-client",
        "Generate the certificate for the front proxy client",
        Kind::Leaf { ca: "front-proxy-ca" },
        Cn::Fixed("front-proxy-client"),
        None,
        Sans::None,
        Usage::Client,
        false,
    ),
    row(
        "etcd-ca",
        "etcd/ca",
        "Generate the self-signed CA to provision identities for etcd",
        Kind::Ca,
        Cn::Fixed("etcd-ca"),
        None,
        Sans::CaName,
        Usage::None,
        true,
    ),
    row(
        "etcd-server",
        "etcd/server",
        "Generate the certificate for serving etcd",
        Kind::Leaf { ca: "etcd-ca" },
        Cn::Node,
        None,
        Sans::EtcdServer,
        Usage::ServerClient,
        true,
    ),
    row(
        "etcd-peer",
        "etcd/peer",
        "Generate the certificate for etcd nodes to communicate with each other",
        Kind::Leaf { ca: "etcd-ca" },
        Cn::Node,
        None,
        Sans::EtcdPeer,
        Usage::ServerClient,
        true,
    ),
    row(
        "etcd-healthcheck-client",
        "etcd/healthcheck-client",
        "Generate the certificate for liveness probes to healthcheck etcd",
        Kind::Leaf { ca: "etcd-ca" },
        Cn::Fixed("kube-etcd-healthcheck-client"),
        MASTERS,
        Sans::None,
        Usage::Client,
        true,
    ),
    row(
        "apiserver-etcd-client",
        "apiserver-etcd-client",
        "Generate the certificate the apiserver uses to access etcd",
        Kind::Leaf { ca: "etcd-ca" },
        Cn::Fixed("kube-apiserver-etcd-client"),
        MASTERS,
        Sans::None,
        Usage::Client,
        true,
    ),
    row(
        "sa",
        "sa",
        "Generate a private key for signing service account tokens along with its public key",
        Kind::Sa,
        Cn::Fixed(""),
        None,
        Sans::None,
        Usage::None,
        false,
    ),
];

/// The row of a phase name.
pub(crate) fn find(phase: &str) -> Option<&'static CertSpec> {
    TABLE.iter().find(|s| s.phase == phase)
}
