//! kubeadm's configuration API: documents (v1beta3, v1beta4) and flags in, a resolved [`InitConfiguration`] or
//! [`JoinConfiguration`] out, with kubeadm's defaulting and validation.
//!
//! | module | holds |
//! |---|---|
//! | [`model`] | the resolved types every planner uses |
//! | [`wire`] | serde wire types of the documents |
//! | [`duration`] | Go duration text |
//! | [`load`] | documents + flags → resolved config ([`load_init`], [`load_join`]) |
//! | [`validate`] | field checks, also used by the CLI ([`validate_token`] …) |
//! | [`print`] | documents kbinit prints or uploads ([`init_defaults_document`], [`images`] …) |

pub mod duration;
pub mod load;
pub mod model;
pub mod print;
pub mod validate;
pub mod wire;

pub use load::{load_init, load_join};
pub use model::*;
pub use print::{cluster_configuration_document, images, init_defaults_document, join_defaults_document};
pub use validate::{generate_token, validate_ca_cert_hash, validate_certificate_key, validate_token};

/// Flags of `kbinit init` that map onto configuration. `Some` = the operator gave the flag.
///
/// Flags that are always allowed together with `--config` (upload-certs, dry-run, skip-*, kubeconfig…) are not here.
#[derive(Debug, Clone, Default)]
pub struct InitFlags {
    /// `--apiserver-advertise-address`.
    pub apiserver_advertise_address: Option<String>,
    /// `--apiserver-bind-port`.
    pub apiserver_bind_port: Option<String>,
    /// `--apiserver-cert-extra-sans`.
    pub apiserver_cert_extra_sans: Option<Vec<String>>,
    /// `--cert-dir`.
    pub cert_dir: Option<String>,
    /// `--certificate-key`.
    pub certificate_key: Option<String>,
    /// `--control-plane-endpoint`.
    pub control_plane_endpoint: Option<String>,
    /// `--cri-socket`.
    pub cri_socket: Option<String>,
    /// `--feature-gates`.
    pub feature_gates: Option<String>,
    /// `--ignore-preflight-errors` (allowed with `--config`).
    pub ignore_preflight_errors: Option<Vec<String>>,
    /// `--image-repository`.
    pub image_repository: Option<String>,
    /// `--kubernetes-version`.
    pub kubernetes_version: Option<String>,
    /// `--node-name` (allowed with `--config`, overrides it).
    pub node_name: Option<String>,
    /// `--patches`.
    pub patches: Option<String>,
    /// `--pod-network-cidr`.
    pub pod_network_cidr: Option<String>,
    /// `--service-cidr`.
    pub service_cidr: Option<String>,
    /// `--service-dns-domain`.
    pub service_dns_domain: Option<String>,
    /// `--skip-phases` (allowed with `--config`, wins over skipPhases).
    pub skip_phases: Option<Vec<String>>,
    /// `--token`.
    pub token: Option<String>,
    /// `--token-ttl`.
    pub token_ttl: Option<String>,
    /// `--apiserver-extra-args` (`k=v,k=v`).
    pub apiserver_extra_args: Option<String>,
    /// `--controller-manager-extra-args`.
    pub controller_manager_extra_args: Option<String>,
    /// `--scheduler-extra-args`.
    pub scheduler_extra_args: Option<String>,
}

/// Flags of `kbinit join` that map onto configuration (api-server endpoint = the positional argument).
#[derive(Debug, Clone, Default)]
pub struct JoinFlags {
    /// The positional `host:port`.
    pub api_server_endpoint: Option<String>,
    /// `--apiserver-advertise-address` (control-plane only).
    pub apiserver_advertise_address: Option<String>,
    /// `--apiserver-bind-port` (control-plane only).
    pub apiserver_bind_port: Option<String>,
    /// `--certificate-key` (control-plane only).
    pub certificate_key: Option<String>,
    /// `--control-plane`.
    pub control_plane: bool,
    /// `--cri-socket`.
    pub cri_socket: Option<String>,
    /// `--discovery-file`.
    pub discovery_file: Option<String>,
    /// `--discovery-token`.
    pub discovery_token: Option<String>,
    /// `--discovery-token-ca-cert-hash` (repeatable).
    pub discovery_token_ca_cert_hash: Option<Vec<String>>,
    /// `--discovery-token-unsafe-skip-ca-verification`.
    pub discovery_token_unsafe_skip_ca_verification: bool,
    /// `--ignore-preflight-errors` (allowed with `--config`).
    pub ignore_preflight_errors: Option<Vec<String>>,
    /// `--node-name` (allowed with `--config`).
    pub node_name: Option<String>,
    /// `--patches`.
    pub patches: Option<String>,
    /// `--skip-phases` (allowed with `--config`).
    pub skip_phases: Option<Vec<String>>,
    /// `--tls-bootstrap-token`.
    pub tls_bootstrap_token: Option<String>,
    /// `--token`.
    pub token: Option<String>,
}

/// A loaded configuration and the warnings to print (unknown fields, deprecations, ignored flags).
#[derive(Debug, Clone)]
pub struct Loaded<T> {
    /// The resolved configuration.
    pub config: T,
    /// Warnings, one line each, without a `WARNING:` prefix.
    pub warnings: Vec<String>,
}
