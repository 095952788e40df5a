//! kubeadm's configuration API: documents (v1beta3, v1beta4) and flags in, a resolved [`InitConfiguration`] or
//! [`JoinConfiguration`] out, with kubeadm's defaulting and validation.
//!
//! | module | holds |
//! |---|---|
//! | [`model`] | the resolved types every planner uses |
//! | [`wire`] | serde wire types of the documents |
//! | [`reset`] | `ResetConfiguration` (v1beta4), the document `reset --config` reads |
//! | [`fields`] | the inventory of a document's fields, read from its wire type (for the field-effect test) |
//! | [`load`] | documents + flags → resolved config ([`load_init`], [`load_join`]) |
//! | [`mod@migrate`] | `config migrate`: documents rewritten in the newest API version of the target release ([`migrate()`]) |
//! | [`validate`] | field checks, also used by the CLI ([`validate_token`] …) |
//! | [`mod@print`] | documents kbinit prints or uploads ([`init_defaults_document`], [`images`] …) |

pub mod fields;
pub mod load;
pub mod migrate;
pub mod model;
pub mod print;
pub mod reset;
pub mod validate;
pub mod wire;

pub use load::{TokenFlags, load_init, load_join, refuse_removed_api, token_create_spec};
pub use migrate::{Migration, migrate};
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

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> HostFacts {
        HostFacts {
            hostname: "Node1".into(),
            default_address: Some("10.0.0.10".parse().unwrap()),
            cri_sockets: Vec::new(),
            systemd_resolved: false,
        }
    }

    /// The corpus runner's tiny `--flag=value` → [`InitFlags`] mapping.
    fn init_flags(lines: &str) -> InitFlags {
        let mut f = InitFlags::default();
        for line in lines.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let (name, value) = line.trim_start_matches("--").split_once('=').unwrap_or((line, ""));
            let v = Some(value.to_string());
            let list = |slot: &mut Option<Vec<String>>| {
                slot.get_or_insert_with(Vec::new).extend(value.split(',').map(str::to_string))
            };
            match name {
                "apiserver-advertise-address" => f.apiserver_advertise_address = v,
                "apiserver-bind-port" => f.apiserver_bind_port = v,
                "apiserver-cert-extra-sans" => list(&mut f.apiserver_cert_extra_sans),
                "cert-dir" => f.cert_dir = v,
                "certificate-key" => f.certificate_key = v,
                "control-plane-endpoint" => f.control_plane_endpoint = v,
                "cri-socket" => f.cri_socket = v,
                "feature-gates" => f.feature_gates = v,
                "ignore-preflight-errors" => list(&mut f.ignore_preflight_errors),
                "image-repository" => f.image_repository = v,
                "kubernetes-version" => f.kubernetes_version = v,
                "node-name" => f.node_name = v,
                "patches" => f.patches = v,
                "pod-network-cidr" => f.pod_network_cidr = v,
                "service-cidr" => f.service_cidr = v,
                "service-dns-domain" => f.service_dns_domain = v,
                "skip-phases" => list(&mut f.skip_phases),
                "token" => f.token = v,
                "token-ttl" => f.token_ttl = v,
                "apiserver-extra-args" => f.apiserver_extra_args = v,
                "controller-manager-extra-args" => f.controller_manager_extra_args = v,
                "scheduler-extra-args" => f.scheduler_extra_args = v,
                other => panic!("corpus uses a flag the test mapping does not know: {other}"),
            }
        }
        f
    }

    #[test]
    fn bad_input_corpus() {
        let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/corpus/bad-input"));
        let mut dirs: Vec<_> =
            std::fs::read_dir(root).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
        dirs.sort();
        assert!(dirs.len() >= 35, "the corpus has only {} cases", dirs.len());
        for dir in dirs {
            let name = dir.file_name().unwrap().to_string_lossy().to_string();
            let config = std::fs::read_to_string(dir.join("config.yaml")).ok();
            let args = std::fs::read_to_string(dir.join("args")).unwrap();
            let expect = std::fs::read_to_string(dir.join("expect")).unwrap();
            let expect = expect.trim_end_matches('\n');
            assert!(!expect.is_empty(), "{name}: empty expect");
            match load_init(config.as_deref(), &init_flags(&args), &host()) {
                Ok(l) => panic!("{name}: loaded without error (warnings {:?})", l.warnings),
                Err(e) => {
                    let msg = e.to_string();
                    assert!(msg.contains(expect), "{name}: error {msg:?} does not contain {expect:?}");
                }
            }
        }
    }

    #[test]
    fn corpus_flag_mapping_accepts_good_flags() {
        // the same mapping with good values loads, so corpus failures come from the bad value alone
        let f = init_flags("--pod-network-cidr=10.244.0.0/16\n--token=abcdef.0123456789abcdef\n--node-name=cp1\n");
        let l = load_init(None, &f, &host()).unwrap();
        assert_eq!(l.config.cluster.networking.pod_subnet, "10.244.0.0/16");
        assert_eq!(l.config.node_registration.name, "cp1");
    }
}
