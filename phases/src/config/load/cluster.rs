//! `ClusterConfiguration` resolved: the per-component `extraArgs` (map in v1beta3, list in v1beta4), the
//! durations and timeouts, certificate SANs, and kubeadm's defaults for every field.

use std::time::Duration;

use super::super::validate::*;
use super::*;
use crate::Error;
use crate::go_format::duration::parse_duration;
use crate::version::KubeVersion;

pub(super) fn args(ea: Option<ExtraArgs>, api: ApiVersion, strict: bool, path: &str) -> Result<Vec<Arg>, Error> {
    match ea {
        None => Ok(Vec::new()),
        Some(ExtraArgs::Map(m)) => {
            if strict && api == ApiVersion::V1beta4 && !m.is_empty() {
                return Err(Error::invalid(
                    path,
                    m.keys().cloned().collect::<Vec<_>>().join(","),
                    "kubeadm.k8s.io/v1beta4 expects a list of {name, value} entries",
                ));
            }
            let m: Vec<Arg> = m.into_iter().map(|(name, value)| Arg { name, value }).collect();
            validate_arg_names(path, &m)?;
            Ok(m)
        }
        Some(ExtraArgs::List(l)) => {
            if strict && api == ApiVersion::V1beta3 && !l.is_empty() {
                return Err(Error::invalid(
                    path,
                    l.iter().map(|a| a.name.clone()).collect::<Vec<_>>().join(","),
                    "kubeadm.k8s.io/v1beta3 expects a map of flag names to values",
                ));
            }
            let l: Vec<Arg> = l.into_iter().map(|a| Arg { name: a.name, value: a.value }).collect();
            validate_arg_names(path, &l)?;
            Ok(l)
        }
    }
}

pub(super) fn dur(field: &str, text: Option<String>, default: Duration) -> Result<Duration, Error> {
    match text {
        None => Ok(default),
        Some(t) => parse_duration(&t).map_err(|r| Error::invalid(field, &t, r)),
    }
}

pub(super) fn component(
    path: &str,
    extra_args: Option<ExtraArgs>,
    volumes: Option<Vec<WireVolume>>,
    envs: Option<Vec<WireEnv>>,
    api: ApiVersion,
    strict: bool,
) -> Result<ControlPlaneComponent, Error> {
    let extra_args = args(extra_args, api, strict, &format!("{path}.extraArgs"))?;
    let mut extra_volumes = Vec::new();
    for (i, v) in volumes.unwrap_or_default().into_iter().enumerate() {
        let p = format!("{path}.extraVolumes[{i}]");
        if v.name.is_empty() {
            return Err(Error::invalid(format!("{p}.name"), "", "a volume needs a name"));
        }
        validate_absolute(&format!("{p}.hostPath"), &v.host_path)?;
        validate_absolute(&format!("{p}.mountPath"), &v.mount_path)?;
        extra_volumes.push(HostPathMount {
            name: v.name,
            host_path: v.host_path,
            mount_path: v.mount_path,
            read_only: v.read_only.unwrap_or(false),
            path_type: v.path_type.unwrap_or_default(),
        });
    }
    let extra_envs = envs.unwrap_or_default().into_iter().map(env_var).collect::<Result<_, _>>()?;
    Ok(ControlPlaneComponent { extra_args, extra_volumes, extra_envs })
}

/// SANs as kubeadm takes them: `apiServer.certSANs` lower-cased first (`LowercaseSANs`), etcd's as given; each must
/// pass `ValidateCertSANs`.
pub(super) fn cert_sans(field: &str, sans: Vec<String>, lowercase: bool) -> Result<Vec<String>, Error> {
    let sans: Vec<String> = if lowercase { sans.into_iter().map(|s| s.to_ascii_lowercase()).collect() } else { sans };
    validate_cert_sans(field, &sans)?;
    Ok(sans)
}

pub(super) fn resolve_cluster(
    mut w: WireCluster,
    api: ApiVersion,
    nm: Namer,
    warnings: &mut Vec<String>,
) -> Result<(ClusterConfiguration, Option<String>), Error> {
    let kind = "ClusterConfiguration";
    let strict = !nm.flags;
    if api == ApiVersion::V1beta3 {
        for (slot, path) in [
            (&mut w.encryption_algorithm, "encryptionAlgorithm"),
            (&mut w.certificate_validity_period, "certificateValidityPeriod"),
            (&mut w.ca_certificate_validity_period, "caCertificateValidityPeriod"),
        ] {
            drop_foreign(slot, api, ApiVersion::V1beta4, path, kind, warnings);
        }
        drop_foreign(&mut w.proxy, api, ApiVersion::V1beta4, "proxy", kind, warnings);
        if let Some(d) = w.dns.as_mut() {
            drop_foreign(&mut d.disabled, api, ApiVersion::V1beta4, "dns.disabled", kind, warnings);
        }
        for (c, p) in [(w.controller_manager.as_mut(), "controllerManager"), (w.scheduler.as_mut(), "scheduler")] {
            if let Some(c) = c {
                drop_foreign(&mut c.extra_envs, api, ApiVersion::V1beta4, &format!("{p}.extraEnvs"), kind, warnings);
            }
        }
        if let Some(a) = w.api_server.as_mut() {
            drop_foreign(&mut a.extra_envs, api, ApiVersion::V1beta4, "apiServer.extraEnvs", kind, warnings);
        }
        if let Some(l) = w.etcd.as_mut().and_then(|e| e.local.as_mut()) {
            drop_foreign(&mut l.extra_envs, api, ApiVersion::V1beta4, "etcd.local.extraEnvs", kind, warnings);
        }
    } else if let Some(a) = w.api_server.as_mut() {
        drop_foreign(
            &mut a.timeout_for_control_plane,
            api,
            ApiVersion::V1beta3,
            "apiServer.timeoutForControlPlane",
            kind,
            warnings,
        );
    }

    let version_text = w.kubernetes_version.clone().unwrap_or_default();
    let kubernetes_version =
        KubeVersion::resolve(&version_text).map_err(|e| rename(e, &nm.n("kubernetesVersion", "kubernetes-version")))?;

    let mut control_plane_endpoint = w.control_plane_endpoint.unwrap_or_default();
    if !control_plane_endpoint.is_empty() {
        let field = nm.n("controlPlaneEndpoint", "control-plane-endpoint");
        let (host, port) = validate_host_port(&field, &control_plane_endpoint)?;
        // `host:` has no port (ParseHostPort): keep the host, the bind port applies as for `host`
        if port.is_empty() && control_plane_endpoint.ends_with(':') {
            control_plane_endpoint = host.to_string();
        }
    }
    let cluster_name = w.cluster_name.filter(|s| !s.is_empty()).unwrap_or_else(|| "kubernetes".into());
    if !is_dns1123_subdomain(&cluster_name) && cluster_name.trim().is_empty() {
        return Err(Error::invalid("clusterName", &cluster_name, "must not be empty"));
    }
    let certificates_dir = w.certificates_dir.filter(|s| !s.is_empty()).unwrap_or_else(|| "/etc/kubernetes/pki".into());
    validate_absolute(&nm.n("certificatesDir", "cert-dir"), &certificates_dir)?;
    let image_repository = w.image_repository.filter(|s| !s.is_empty()).unwrap_or_else(|| "registry.k8s.io".into());
    validate_image_repository(&nm.n("imageRepository", "image-repository"), &image_repository)?;

    let net = w.networking.unwrap_or_default();
    let service_subnet = net.service_subnet.filter(|s| !s.is_empty()).unwrap_or_else(|| "10.96.0.0/12".into());
    validate_service_subnet(&nm.n("networking.serviceSubnet", "service-cidr"), &service_subnet)?;
    let pod_subnet = net.pod_subnet.unwrap_or_default();
    let dns_domain = net.dns_domain.filter(|s| !s.is_empty()).unwrap_or_else(|| "cluster.local".into());
    if !is_dns1123_subdomain(&dns_domain) {
        return Err(Error::invalid(
            nm.n("networking.dnsDomain", "service-dns-domain"),
            &dns_domain,
            "must be a DNS-1123 subdomain (lower-case alphanumerics, '-' and '.')",
        ));
    }

    let wetcd = w.etcd.unwrap_or_default();
    let etcd = match (wetcd.local, wetcd.external) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid(
                "etcd",
                "local, external",
                "etcd.local and etcd.external are mutually exclusive",
            ));
        }
        (_, Some(x)) => {
            let endpoints = x.endpoints.unwrap_or_default();
            let (cert_file, key_file) = (x.cert_file.unwrap_or_default(), x.key_file.unwrap_or_default());
            let ca_file = x.ca_file.unwrap_or_default();
            validate_external_etcd(&endpoints, &ca_file, &cert_file, &key_file)?;
            Etcd::External(ExternalEtcd { endpoints, ca_file, cert_file, key_file })
        }
        (local, None) => {
            let l = local.unwrap_or_default();
            let data_dir = l.data_dir.filter(|s| !s.is_empty()).unwrap_or_else(|| "/var/lib/etcd".into());
            validate_absolute("etcd.local.dataDir", &data_dir)?;
            let image_repository = l.image_repository.unwrap_or_default();
            if !image_repository.is_empty() {
                validate_image_repository("etcd.local.imageRepository", &image_repository)?;
            }
            Etcd::Local(LocalEtcd {
                image_repository,
                image_tag: l.image_tag.unwrap_or_default(),
                data_dir,
                extra_args: args(l.extra_args, api, strict, "etcd.local.extraArgs")?,
                extra_envs: l.extra_envs.unwrap_or_default().into_iter().map(env_var).collect::<Result<_, _>>()?,
                server_cert_sans: cert_sans(
                    "etcd.local.serverCertSANs",
                    l.server_cert_sans.unwrap_or_default(),
                    false,
                )?,
                peer_cert_sans: cert_sans("etcd.local.peerCertSANs", l.peer_cert_sans.unwrap_or_default(), false)?,
            })
        }
    };

    let was = w.api_server.unwrap_or_default();
    let timeout_for_control_plane = was.timeout_for_control_plane;
    let api_server = ApiServer {
        component: component("apiServer", was.extra_args, was.extra_volumes, was.extra_envs, api, strict).map_err(
            |e| {
                if nm.flags { rename(e, "--apiserver-extra-args") } else { e }
            },
        )?,
        cert_sans: cert_sans(
            &nm.n("apiServer.certSANs", "apiserver-cert-extra-sans"),
            was.cert_sans.unwrap_or_default(),
            true,
        )?,
    };
    let cm = w.controller_manager.unwrap_or_default();
    let controller_manager =
        component("controllerManager", cm.extra_args, cm.extra_volumes, cm.extra_envs, api, strict)?;
    if !pod_subnet.is_empty() {
        let field = nm.n("networking.podSubnet", "pod-network-cidr");
        validate_pod_subnet(&field, &pod_subnet, &service_subnet, &controller_manager.extra_args)?;
    }
    let sc = w.scheduler.unwrap_or_default();
    let scheduler = component("scheduler", sc.extra_args, sc.extra_volumes, sc.extra_envs, api, strict)?;
    let dns = w.dns.unwrap_or_default();
    if let Some(r) = dns.image_repository.as_deref().filter(|r| !r.is_empty()) {
        validate_image_repository("dns.imageRepository", r)?;
    }

    let feature_gates = w.feature_gates.unwrap_or_default();
    validate_feature_gates(&nm.n("featureGates", "feature-gates"), &feature_gates, &kubernetes_version)?;
    for (name, on) in &feature_gates {
        if let Some(w) = crate::features::check("featureGates", name, *on, &kubernetes_version)? {
            warnings.push(w);
        }
    }
    let encryption_algorithm = match w.encryption_algorithm.as_deref() {
        None | Some("") => {
            if feature_gates.get("PublicKeysECDSA") == Some(&true) {
                KeyAlgorithm::EcdsaP256
            } else {
                KeyAlgorithm::Rsa2048
            }
        }
        Some(s) => {
            let alg = KeyAlgorithm::parse(s).ok_or_else(|| {
                Error::invalid(
                    "encryptionAlgorithm",
                    s,
                    "must be one of RSA-2048, RSA-3072, RSA-4096, ECDSA-P256, ECDSA-P384",
                )
            })?;
            if alg == KeyAlgorithm::EcdsaP384 && !kubernetes_version.allows_ecdsa_p384() {
                return Err(Error::invalid(
                    "encryptionAlgorithm",
                    s,
                    format!("ECDSA-P384 needs Kubernetes 1.34 or newer, not {kubernetes_version}"),
                ));
            }
            alg
        }
    };
    let certificate_validity =
        dur("certificateValidityPeriod", w.certificate_validity_period.clone(), CERTIFICATE_VALIDITY)?;
    let ca_certificate_validity =
        dur("caCertificateValidityPeriod", w.ca_certificate_validity_period.clone(), CA_CERTIFICATE_VALIDITY)?;
    warnings.extend(cert_validity_warnings(
        w.certificate_validity_period.is_some().then_some(certificate_validity),
        w.ca_certificate_validity_period.is_some().then_some(ca_certificate_validity),
    ));

    let cluster = ClusterConfiguration {
        kubernetes_version,
        control_plane_endpoint,
        cluster_name,
        certificates_dir,
        image_repository,
        networking: Networking { service_subnet, pod_subnet, dns_domain },
        etcd,
        api_server,
        controller_manager,
        scheduler,
        dns_image_repository: dns.image_repository.unwrap_or_default(),
        dns_image_tag: dns.image_tag.unwrap_or_default(),
        dns_disabled: dns.disabled.unwrap_or(false),
        proxy_disabled: w.proxy.and_then(|p| p.disabled).unwrap_or(false),
        feature_gates,
        encryption_algorithm,
        certificate_validity,
        ca_certificate_validity,
    };
    Ok((cluster, timeout_for_control_plane))
}

pub(super) fn timeouts(w: Option<WireTimeouts>, base: Timeouts) -> Result<Timeouts, Error> {
    let w = w.unwrap_or_default();
    Ok(Timeouts {
        control_plane_component_health_check: dur(
            "timeouts.controlPlaneComponentHealthCheck",
            w.control_plane_component_health_check,
            base.control_plane_component_health_check,
        )?,
        kubelet_health_check: dur("timeouts.kubeletHealthCheck", w.kubelet_health_check, base.kubelet_health_check)?,
        kubernetes_api_call: dur("timeouts.kubernetesAPICall", w.kubernetes_api_call, base.kubernetes_api_call)?,
        etcd_api_call: dur("timeouts.etcdAPICall", w.etcd_api_call, base.etcd_api_call)?,
        tls_bootstrap: dur("timeouts.tlsBootstrap", w.tls_bootstrap, base.tls_bootstrap)?,
        discovery: dur("timeouts.discovery", w.discovery, base.discovery)?,
        upgrade_manifests: dur("timeouts.upgradeManifests", w.upgrade_manifests, base.upgrade_manifests)?,
    })
}

/// An `extraEnvs[]` item, `valueFrom` kept as JSON text.
/// A `valueFrom` that is not an EnvVarSource is refused, naming the variable.
fn env_var(e: WireEnv) -> Result<EnvVar, Error> {
    let value_from = match e.value_from.filter(|v| !v.is_null()) {
        None => None,
        Some(v) => {
            serde_json::from_value::<k8s_openapi::api::core::v1::EnvVarSource>(v.clone()).map_err(|err| {
                Error::invalid(format!("extraEnvs[{}].valueFrom", e.name), v.to_string(), err.to_string())
            })?;
            Some(v.to_string())
        }
    };
    Ok(EnvVar { name: e.name, value: e.value, value_from })
}
