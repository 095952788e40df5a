//! What a joining node learns from the cluster before it writes anything: discovery (token or file), the
//! TLS-bootstrap identity's reads of kubeadm-config and kubelet-config, and for `--control-plane` the certificate
//! key checked against `kube-system/kubeadm-certs` (or the shared certificates found on disk). Built once, on
//! the first phase that needs it ([`JoinContext::build`]), so every phase run alone has the same guarantee:
//! nothing on the node changes until all of this passed.
//!
//! Also `kbinit join --check` ([`check`]): the same checks plus the remaining lifetimes, touching nothing.

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kbinit_phases::api::ResourceType;
use kbinit_phases::cluster::certkey::CertificateKey;
use kbinit_phases::cluster::token::{TokenInfo, secret_name};
use kbinit_phases::cluster::upload_certs::{self, KUBEADM_CERTS};
use kbinit_phases::config::{ClusterConfiguration, Discovery, InitConfiguration, JoinConfiguration};
use kbinit_phases::discovery::{self as checks, FileDiscovery, TrustedClusterInfo};
use kbinit_phases::go_format::time::short_human_duration;
use kbinit_phases::join::{control_plane, remote};
use kbinit_phases::plan::Step;
use serde_json::Value;

use crate::api::discovery::{self, Polling};
use crate::api::{CallError, Cluster};
use crate::host::Host;
use crate::output::Output;

/// What the cluster told this node, all checked.
pub struct JoinContext {
    /// The node-local API server proxy recorded by `kbinit init --api-server-proxy` (none: not recorded).
    pub api_server_proxy: Option<kbinit_phases::api_server_proxy::ApiServerProxySettings>,
    /// The cluster this node trusts (server, CA).
    pub trusted: TrustedClusterInfo,
    /// The discovery file, with file discovery.
    pub file: Option<FileDiscovery>,
    /// A client with the TLS-bootstrap identity (token or the discovery file's credentials), CA pinned.
    pub bootstrap: Cluster,
    /// The cluster's ClusterConfiguration (kubeadm-config).
    pub cluster: ClusterConfiguration,
    /// The cluster's KubeletConfiguration (kubelet-config).
    pub kubelet_config: Value,
    /// For a control-plane join: this node's InitConfiguration-equivalent.
    pub init: Option<InitConfiguration>,
    /// For a control-plane join with a certificate key: the opened kubeadm-certs as files to write.
    pub certs: Option<Vec<Step>>,
    /// kubeadm-certs as read (for its owner's lifetime in `--check`).
    pub certs_secret: Option<Secret>,
}

/// The token id of a discovery / TLS-bootstrap token (never the secret).
pub fn token_id(token: &str) -> &str {
    token.split_once('.').map_or("", |(id, _)| id)
}

/// Runs the discovery the configuration asks for.
fn discover(
    cfg: &JoinConfiguration,
    p: &Polling,
    out: &Output,
) -> anyhow::Result<(TrustedClusterInfo, Option<FileDiscovery>)> {
    match &cfg.discovery {
        Discovery::BootstrapToken { token, api_server_endpoint, ca_cert_hashes, unsafe_skip_ca_verification } => {
            let t = discovery::token_discovery(
                api_server_endpoint,
                token,
                ca_cert_hashes,
                *unsafe_skip_ca_verification,
                p,
                out,
            )?;
            Ok((t, None))
        }
        Discovery::File { kube_config_path } => {
            let f = discovery::file_discovery(kube_config_path, p, out)?;
            Ok((f.cluster.clone(), Some(f)))
        }
    }
}

/// What a 401 from the TLS-bootstrap identity means.
fn bootstrap_refused(cfg: &JoinConfiguration, what: &str, e: &CallError) -> anyhow::Error {
    if e.code() == Some(401) {
        let id = token_id(&cfg.tls_bootstrap_token);
        if id.is_empty() {
            return anyhow::anyhow!(
                "the API server does not accept the discovery file's credentials (reading {what}): {e}"
            );
        }
        return anyhow::anyhow!(
            "the API server does not accept the TLS bootstrap token with id {id:?} (reading {what}): the token is \
             unknown or has expired. Create a new one with \"kbinit token create --print-join-command\" on a \
             control-plane node"
        );
    }
    if e.code() == Some(403) {
        return anyhow::anyhow!(
            "the TLS bootstrap identity may not read {what} ({e}): the cluster lacks the RBAC rules `kbinit init` \
             (phases bootstrap-token and upload-config) creates for system:bootstrappers:kubeadm:default-node-token"
        );
    }
    anyhow::anyhow!("reading {what}: {e}")
}

fn get_configmap(c: &Cluster, cfg: &JoinConfiguration, ns_name: &str) -> anyhow::Result<ConfigMap> {
    let (ns, name) = ns_name.split_once('/').unwrap_or(("kube-system", ns_name));
    let v = c
        .get(&ResourceType::of::<ConfigMap>(), Some(ns), name)
        .map_err(|e| bootstrap_refused(cfg, &format!("ConfigMap {ns_name}"), &e))?
        .ok_or_else(|| {
            anyhow::anyhow!(
                "the ConfigMap {ns_name} does not exist: the cluster was not set up by `kbinit init` / `kubeadm \
                 init`, or its upload-config phase did not run"
            )
        })?;
    serde_json::from_value(v).map_err(|e| anyhow::anyhow!("decoding ConfigMap {ns_name}: {e}"))
}

/// The proxy setting recorded in the cluster: `None` when the ConfigMap does not exist (a cluster made without
/// the proxy, or by kubeadm).
fn api_server_proxy_setting(
    c: &Cluster,
    cfg: &JoinConfiguration,
) -> anyhow::Result<Option<kbinit_phases::api_server_proxy::ApiServerProxySettings>> {
    use kbinit_phases::api_server_proxy::config_map::{CONFIG_MAP, from_config_map};
    let found = match c.get(&ResourceType::of::<ConfigMap>(), Some("kube-system"), CONFIG_MAP) {
        Ok(found) => found,
        // without the proxy there is no grant for it either: the API server answers 403, not 404
        Err(e) if e.code() == Some(403) => None,
        Err(e) => return Err(bootstrap_refused(cfg, &format!("ConfigMap kube-system/{CONFIG_MAP}"), &e)),
    };
    let Some(v) = found else { return Ok(None) };
    let cm: ConfigMap =
        serde_json::from_value(v).map_err(|e| anyhow::anyhow!("decoding ConfigMap {CONFIG_MAP}: {e}"))?;
    Ok(from_config_map(&cm)?)
}

impl JoinContext {
    /// Discovery, then the configuration reads, then (control plane) the certificate-key or shared-certificate
    /// check. `fetch_certs` = the download-certs phase will run (or `--check`).
    pub fn build(
        cfg: &JoinConfiguration,
        host: &Host,
        p: &Polling,
        fetch_certs: bool,
        out: &Output,
    ) -> anyhow::Result<JoinContext> {
        let (trusted, file) = discover(cfg, p, out)?;
        let reader_kc = checks::tls_bootstrap_kubeconfig(
            file.as_ref(),
            &trusted,
            "kubernetes",
            &trusted.server,
            &cfg.tls_bootstrap_token,
        )?;
        let bootstrap = Cluster::from_kubeconfig_text(
            &kbinit_phases::go_format::yaml::to_yaml(&reader_kc),
            cfg.timeouts.kubernetes_api_call,
        )?
        .with_events(out);
        out.say("[preflight] Reading configuration from the cluster...");
        out.say("[preflight] FYI: You can look at this config file with 'kubectl -n kube-system get cm kubeadm-config -o yaml'");
        let kubeadm_config = get_configmap(&bootstrap, cfg, remote::KUBEADM_CONFIG)?;
        let loaded = remote::cluster_configuration(&kubeadm_config)?;
        loaded.warnings.iter().for_each(|w| out.warn(w));
        let cluster = loaded.config;
        // a release that no longer reads the join file's API version (v1beta3 from 1.37): refused here, once the
        // cluster's version is known and before anything is written (kubeadm, one binary per release, refuses
        // it while loading the file)
        kbinit_phases::config::refuse_removed_api(
            cfg.api_version,
            &["JoinConfiguration".to_string()],
            &cluster.kubernetes_version,
        )?;
        let kubelet_config = remote::kubelet_configuration(&get_configmap(&bootstrap, cfg, remote::KUBELET_CONFIG)?)?;
        let api_server_proxy = api_server_proxy_setting(&bootstrap, cfg)?;
        let mut ctx = JoinContext {
            api_server_proxy,
            trusted,
            file,
            bootstrap,
            cluster,
            kubelet_config,
            init: None,
            certs: None,
            certs_secret: None,
        };
        if cfg.control_plane.is_some() {
            let init =
                control_plane::control_plane_init_configuration(cfg, &ctx.cluster, Some(ctx.kubelet_config.clone()))?;
            if init.certificate_key.is_empty() {
                control_plane::check_shared_certs(&ctx.cluster, host)?;
            } else if fetch_certs {
                let (secret, steps) = open_certs(&ctx.bootstrap, cfg, &init, out)?;
                ctx.certs = Some(steps);
                ctx.certs_secret = Some(secret);
            }
            ctx.init = Some(init);
        }
        Ok(ctx)
    }
}

/// GETs kubeadm-certs with the bootstrap identity and opens every value with the certificate key.
fn open_certs(
    c: &Cluster,
    cfg: &JoinConfiguration,
    init: &InitConfiguration,
    out: &Output,
) -> anyhow::Result<(Secret, Vec<Step>)> {
    let key = CertificateKey::parse(&init.certificate_key).map_err(|_| {
        anyhow::anyhow!(
            "the certificate key is not 64 hexadecimal characters; `kbinit init phase upload-certs --upload-certs` \
             on a control-plane node prints a valid one"
        )
    })?;
    out.say(
        "[preflight] Checking the certificate key against Secret \"kubeadm-certs\" in the \"kube-system\" Namespace",
    );
    let v = c
        .get(&ResourceType::of::<Secret>(), Some("kube-system"), KUBEADM_CERTS)
        .map_err(|e| bootstrap_refused(cfg, "Secret kube-system/kubeadm-certs", &e))?
        .ok_or_else(upload_certs::certs_secret_missing)?;
    let secret: Secret = serde_json::from_value(v).map_err(|e| anyhow::anyhow!("decoding kubeadm-certs: {e}"))?;
    let steps = upload_certs::decode_certs_secret(&secret, &key, &init.cluster)?;
    Ok((secret, steps))
}

/// How long until `at`, in kubeadm's short form, or that it has passed.
fn remaining(at: time::OffsetDateTime, now: time::OffsetDateTime) -> String {
    if at <= now { "expired".into() } else { format!("expires in {}", short_human_duration(at - now)) }
}

/// The expiry of bootstrap token `id` read from its Secret, or why it cannot be read.
fn token_lifetime(c: &Cluster, id: &str, now: time::OffsetDateTime) -> String {
    match c.get(&ResourceType::of::<Secret>(), Some("kube-system"), &secret_name(id)) {
        Ok(Some(v)) => match serde_json::from_value::<Secret>(v)
            .map_err(|e| e.to_string())
            .and_then(|s| TokenInfo::from_secret(&s).map_err(|_| "its Secret does not decode".to_string()))
        {
            Ok(info) => match info.expires {
                Some(at) => remaining(at, now),
                None => "never expires".into(),
            },
            Err(e) => format!("lifetime unknown: {e}"),
        },
        Ok(None) => "its Secret is gone (expired and cleaned up)".into(),
        Err(e) if matches!(e.code(), Some(401 | 403)) => {
            "lifetime unknown: its Secret can not be read with bootstrap rights".into()
        }
        Err(e) => format!("lifetime unknown: {e}"),
    }
}

/// `kbinit join --check`: discovery (token, pin, signature, or the discovery file), the TLS-bootstrap identity,
/// the configuration reads, and with `--control-plane` the certificate key, against the live cluster; prints what
/// holds and for how long. Touches nothing on the node.
pub fn check(cfg: &JoinConfiguration, host: &Host, out: &Output) -> anyhow::Result<()> {
    let mut p = Polling::new(cfg.timeouts.discovery);
    p.wait_for_signature = false;
    let ctx = JoinContext::build(cfg, host, &p, true, out)?;
    let now = time::OffsetDateTime::now_utc();
    out.say(&format!(
        "[check] The cluster at {} is trusted (CA {}); Kubernetes {}",
        ctx.trusted.server,
        ctx.trusted.ca_hashes.join(", "),
        ctx.cluster.kubernetes_version
    ));
    if let Discovery::BootstrapToken { token, .. } = &cfg.discovery {
        let id = token_id(token);
        out.say(&format!("[check] Discovery token {id:?}: {}", token_lifetime(&ctx.bootstrap, id, now)));
    }
    let tb = token_id(&cfg.tls_bootstrap_token);
    if !tb.is_empty() {
        out.say(&format!(
            "[check] TLS bootstrap token {tb:?} is accepted by the API server: {}",
            token_lifetime(&ctx.bootstrap, tb, now)
        ));
    }
    if let Some(init) = &ctx.init {
        match (&ctx.certs_secret, init.certificate_key.is_empty()) {
            (_, true) => out.say("[check] No certificate key: the shared certificates are already on this node"),
            (Some(s), false) => {
                let owner = s
                    .metadata
                    .owner_references
                    .as_ref()
                    .and_then(|o| o.first())
                    .map(|o| o.name.clone())
                    .unwrap_or_default();
                let life = match owner.strip_prefix("bootstrap-token-") {
                    Some(id) => token_lifetime(&ctx.bootstrap, id, now),
                    None => "lifetime unknown: it has no owner token".into(),
                };
                out.say(&format!("[check] The certificate key opens Secret kube-system/kubeadm-certs: {life}"));
            }
            (None, false) => {}
        }
    }
    out.say("[check] This node can join the cluster: nothing was changed on it");
    Ok(())
}

/// The kubeconfig the kubelet TLS-bootstraps with (server per version: the local API server for a 1.33+
/// control-plane join).
pub fn kubelet_bootstrap_kubeconfig(cfg: &JoinConfiguration, ctx: &JoinContext) -> anyhow::Result<Value> {
    let server = kbinit_phases::join::kubelet::tls_bootstrap_server(cfg, &ctx.cluster, &ctx.trusted.server);
    Ok(checks::tls_bootstrap_kubeconfig(
        ctx.file.as_ref(),
        &ctx.trusted,
        &ctx.cluster.cluster_name,
        &server,
        &cfg.tls_bootstrap_token,
    )?)
}
