//! The command-line side of loading: which flags may not be mixed with `--config` (kubeadm's allow-list), and the
//! flags turned into wire documents when no `--config` is given.

use super::super::validate::*;
use super::super::{InitFlags, JoinFlags};
use super::*;
use crate::Error;

pub(super) fn mix_error(mut names: Vec<&str>) -> Result<(), Error> {
    if names.is_empty() {
        return Ok(());
    }
    names.sort_unstable();
    Err(Error::invalid(
        "--config",
        names.join(","),
        format!("can not mix '--config' with arguments [{}]", names.join(" ")),
    ))
}

pub(super) fn init_mixed_flags(f: &InitFlags) -> Vec<&'static str> {
    let pairs: [(&str, bool); 19] = [
        ("apiserver-advertise-address", f.apiserver_advertise_address.is_some()),
        ("apiserver-bind-port", f.apiserver_bind_port.is_some()),
        ("apiserver-cert-extra-sans", f.apiserver_cert_extra_sans.is_some()),
        ("cert-dir", f.cert_dir.is_some()),
        ("certificate-key", f.certificate_key.is_some()),
        ("control-plane-endpoint", f.control_plane_endpoint.is_some()),
        ("cri-socket", f.cri_socket.is_some()),
        ("feature-gates", f.feature_gates.is_some()),
        ("image-repository", f.image_repository.is_some()),
        ("kubernetes-version", f.kubernetes_version.is_some()),
        ("patches", f.patches.is_some()),
        ("pod-network-cidr", f.pod_network_cidr.is_some()),
        ("service-cidr", f.service_cidr.is_some()),
        ("service-dns-domain", f.service_dns_domain.is_some()),
        ("token", f.token.is_some()),
        ("token-ttl", f.token_ttl.is_some()),
        ("apiserver-extra-args", f.apiserver_extra_args.is_some()),
        ("controller-manager-extra-args", f.controller_manager_extra_args.is_some()),
        ("scheduler-extra-args", f.scheduler_extra_args.is_some()),
    ];
    pairs.iter().filter(|(_, on)| *on).map(|(n, _)| *n).collect()
}

pub(super) fn join_mixed_flags(f: &JoinFlags) -> Vec<&'static str> {
    let pairs: [(&str, bool); 11] = [
        ("apiserver-advertise-address", f.apiserver_advertise_address.is_some()),
        ("apiserver-bind-port", f.apiserver_bind_port.is_some()),
        ("certificate-key", f.certificate_key.is_some()),
        ("control-plane", f.control_plane),
        ("cri-socket", f.cri_socket.is_some()),
        ("discovery-file", f.discovery_file.is_some()),
        ("discovery-token", f.discovery_token.is_some()),
        ("discovery-token-ca-cert-hash", f.discovery_token_ca_cert_hash.is_some()),
        ("discovery-token-unsafe-skip-ca-verification", f.discovery_token_unsafe_skip_ca_verification),
        ("patches", f.patches.is_some()),
        ("tls-bootstrap-token", f.tls_bootstrap_token.is_some()),
    ];
    let mut v: Vec<&str> = pairs.iter().filter(|(_, on)| *on).map(|(n, _)| *n).collect();
    if f.token.is_some() {
        v.push("token");
    }
    v
}

pub(super) fn flag_args(field: &str, s: &Option<String>) -> Result<Option<ExtraArgs>, Error> {
    s.as_deref().map(|s| parse_extra_args(field, s).map(ExtraArgs::Map)).transpose()
}

pub(super) fn cluster_from_flags(f: &InitFlags) -> Result<WireCluster, Error> {
    let component = |field: &str, s: &Option<String>| -> Result<Option<WireComponent>, Error> {
        Ok(flag_args(field, s)?.map(|a| WireComponent { extra_args: Some(a), ..Default::default() }))
    };
    Ok(WireCluster {
        kubernetes_version: f.kubernetes_version.clone(),
        control_plane_endpoint: f.control_plane_endpoint.clone(),
        certificates_dir: f.cert_dir.clone(),
        image_repository: f.image_repository.clone(),
        feature_gates: f.feature_gates.as_deref().map(|s| parse_feature_gates("--feature-gates", s)).transpose()?,
        networking: Some(WireNetworking {
            service_subnet: f.service_cidr.clone(),
            pod_subnet: f.pod_network_cidr.clone(),
            dns_domain: f.service_dns_domain.clone(),
        }),
        api_server: Some(WireApiServer {
            extra_args: flag_args("--apiserver-extra-args", &f.apiserver_extra_args)?,
            cert_sans: f.apiserver_cert_extra_sans.clone(),
            ..Default::default()
        }),
        controller_manager: component("--controller-manager-extra-args", &f.controller_manager_extra_args)?,
        scheduler: component("--scheduler-extra-args", &f.scheduler_extra_args)?,
        ..Default::default()
    })
}

pub(super) fn parse_flag_port(flag: &str, s: &Option<String>) -> Result<Option<i64>, Error> {
    s.as_deref().map(|p| p.trim().parse::<i64>().map_err(|_| Error::invalid(flag, p, "not a port number"))).transpose()
}

pub(super) fn init_from_flags(f: &InitFlags) -> Result<WireInit, Error> {
    Ok(WireInit {
        bootstrap_tokens: Some(vec![WireToken {
            token: f.token.clone(),
            ttl: f.token_ttl.clone(),
            ..Default::default()
        }]),
        node_registration: Some(WireNodeRegistration { cri_socket: f.cri_socket.clone(), ..Default::default() }),
        local_api_endpoint: Some(WireEndpoint {
            advertise_address: f.apiserver_advertise_address.clone(),
            bind_port: parse_flag_port("--apiserver-bind-port", &f.apiserver_bind_port)?,
        }),
        certificate_key: f.certificate_key.clone(),
        patches: f.patches.clone().map(|d| WirePatches { directory: Some(d) }),
        ..Default::default()
    })
}

pub(super) fn join_from_flags(f: &JoinFlags) -> Result<WireJoin, Error> {
    let discovery_token = f.discovery_token.clone().or_else(|| f.token.clone());
    let bootstrap_token = f.api_server_endpoint.as_ref().map(|ep| WireTokenDiscovery {
        token: discovery_token.clone(),
        api_server_endpoint: Some(ep.clone()),
        ca_cert_hashes: f.discovery_token_ca_cert_hash.clone(),
        unsafe_skip_ca_verification: Some(f.discovery_token_unsafe_skip_ca_verification),
    });
    let control_plane = f.control_plane.then(|| -> Result<WireJoinControlPlane, Error> {
        Ok(WireJoinControlPlane {
            local_api_endpoint: Some(WireEndpoint {
                advertise_address: f.apiserver_advertise_address.clone(),
                bind_port: parse_flag_port("--apiserver-bind-port", &f.apiserver_bind_port)?,
            }),
            certificate_key: f.certificate_key.clone(),
        })
    });
    Ok(WireJoin {
        node_registration: Some(WireNodeRegistration { cri_socket: f.cri_socket.clone(), ..Default::default() }),
        discovery: Some(WireDiscovery {
            bootstrap_token,
            file: f.discovery_file.clone().map(|p| WireFileDiscovery { kube_config_path: Some(p) }),
            tls_bootstrap_token: f.tls_bootstrap_token.clone().or_else(|| f.token.clone()),
            timeout: None,
        }),
        control_plane: control_plane.transpose()?,
        patches: f.patches.clone().map(|d| WirePatches { directory: Some(d) }),
        ..Default::default()
    })
}
