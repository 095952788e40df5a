//! `kbinit init`: kubeadm's init phase tree, the run data, and each phase's action.

pub mod cluster;
mod options;
pub mod rerun;

pub use options::InitOptions;

use kbinit_phases::certs::{self, KeyPool, KeySource, OnDemandKeys, PkiContext};
use kbinit_phases::cluster::bootstrap_token::ResolvedToken;
use kbinit_phases::cluster::certkey::CertificateKey;
use kbinit_phases::config::{self, EnvVar, HostFacts, InitConfiguration, NodeIdentity};
use kbinit_phases::patches::patch_steps;
use kbinit_phases::{kubeconfig, kubelet, manifests, paths};

use crate::host::apply::apply;
use crate::host::{Host, facts, services};
use crate::output::Output;
use crate::workflow::{Phase, Workflow};

/// Everything init's phases share: options, the node, the resolved configuration, and the key pool.
pub struct InitData {
    /// The command's options.
    pub opts: InitOptions,
    /// The node.
    pub host: Host,
    /// What was found out about the machine.
    pub facts: HostFacts,
    /// The resolved configuration.
    pub cfg: InitConfiguration,
    /// This node's identity (from the configuration).
    pub node: NodeIdentity,
    /// The time certificates are issued at.
    pub now: time::OffsetDateTime,
    /// Keys generated ahead, in parallel, when a whole group of certificates is planned.
    pub keys: Option<KeyPool>,
    /// `*_proxy` variables passed on to the control-plane components.
    pub proxy_env: Vec<EnvVar>,
    /// The bootstrap tokens of this run (generated where the configuration has none).
    pub tokens: Vec<ResolvedToken>,
    /// The certificate key of this run (given, or generated on first use).
    pub cert_key: Option<CertificateKey>,
    /// The API client, connected on first use.
    pub api: Option<crate::api::Cluster>,
    /// Whether the 1.29+ `kubeadm:cluster-admins` binding was ensured on the live cluster (a dry run prints no call for it).
    pub admins_ensured: bool,
    /// The node-local API server proxy (`--api-server-proxy` or an `ApiServerProxyConfiguration` document).
    pub api_server_proxy: Option<kbinit_phases::api_server_proxy::ApiServerProxySettings>,
    /// The patches of `patches.directory` / `--patches`, applied to the manifests and the kubelet configuration.
    pub patches: Vec<kbinit_phases::patches::Patch>,
}

impl InitData {
    fn pki(&self) -> PkiContext<'_> {
        PkiContext { cluster: &self.cfg.cluster, node: &self.node, now: self.now }
    }
    fn keys(&self) -> &dyn KeySource {
        match &self.keys {
            Some(k) => k,
            None => &OnDemandKeys,
        }
    }
    /// `true` with `--dry-run` (the host decides: writes then go to its dry-run directory).
    pub(super) fn dry_run(&self) -> bool {
        self.host.is_dry_run()
    }
    /// The certificate key: `--certificate-key`/`certificateKey`, or a new one generated once per run.
    pub(super) fn certificate_key(&mut self) -> anyhow::Result<&CertificateKey> {
        if self.cert_key.is_none() {
            let key = if self.cfg.certificate_key.is_empty() {
                CertificateKey::generate()?
            } else {
                CertificateKey::parse(&self.cfg.certificate_key)?
            };
            self.cert_key = Some(key);
        }
        self.cert_key.as_ref().ok_or_else(|| anyhow::anyhow!("no certificate key"))
    }
}

fn run_preflight(d: &mut InitData, out: &Output, _: &str) -> anyhow::Result<()> {
    let d: &InitData = d;
    let checks = crate::preflight::InitChecks {
        cfg: &d.cfg,
        host: &d.host,
        proxy_port: d.api_server_proxy.as_ref().map(|s| s.port),
        pull_images: !d.host.is_dry_run(),
    };
    crate::preflight::run_init(&checks, || rerun::leftovers(d), out)
}

fn run_certs(d: &mut InitData, out: &Output, _: &str) -> anyhow::Result<()> {
    out.say(&format!("[certs] Using certificateDir folder {:?}", d.cfg.cluster.certificates_dir));
    let ctx = d.pki();
    let n = certs::keys_needed(&ctx, &d.host);
    d.keys = Some(KeyPool::prefetch(d.cfg.cluster.encryption_algorithm, n));
    Ok(())
}

fn run_cert(d: &mut InitData, out: &Output, name: &str) -> anyhow::Result<()> {
    let ctx = d.pki();
    apply(&certs::plan_one(name, &ctx, &d.host, d.keys())?, &d.host, out)
}

fn run_kubeconfigs(d: &mut InitData, out: &Output, _: &str) -> anyhow::Result<()> {
    out.say(&format!("[kubeconfig] Using kubeconfig folder {:?}", d.opts.kubeconfig_dir));
    d.keys = Some(KeyPool::prefetch(
        d.cfg.cluster.encryption_algorithm,
        kubeconfig::subphases(&d.cfg.cluster.kubernetes_version).len(),
    ));
    Ok(())
}

fn run_kubeconfig(d: &mut InitData, out: &Output, name: &str) -> anyhow::Result<()> {
    let ctx = d.pki();
    apply(&kubeconfig::plan_one(name, &ctx, &d.opts.kubeconfig_dir, &d.host, d.keys())?, &d.host, out)
}

fn has_super_admin(d: &InitData) -> bool {
    d.cfg.cluster.kubernetes_version.has_super_admin()
}

fn run_etcd_local(d: &mut InitData, out: &Output, _: &str) -> anyhow::Result<()> {
    let steps = manifests::plan_etcd_local(&d.cfg.cluster, &d.node, &[], false)?;
    apply(&patch_steps(steps, &d.patches)?, &d.host, out)
}

fn run_control_planes(_: &mut InitData, out: &Output, _: &str) -> anyhow::Result<()> {
    out.say(&format!("[control-plane] Using manifest folder {:?}", paths::MANIFESTS_DIR));
    Ok(())
}

fn run_control_plane(d: &mut InitData, out: &Output, name: &str) -> anyhow::Result<()> {
    let component = format!("kube-{name}");
    let steps = manifests::plan_control_plane(&component, &d.cfg.cluster, &d.node, &d.host, &d.proxy_env)?;
    apply(&patch_steps(steps, &d.patches)?, &d.host, out)
}

fn run_kubelet_start(d: &mut InitData, out: &Output, _: &str) -> anyhow::Result<()> {
    let kubelet = services::KubeletService::new(&d.host, d.dry_run());
    kubelet.stop(out);
    apply(&patch_steps(kubelet::plan_kubelet_start(&d.cfg, &d.facts)?, &d.patches)?, &d.host, out)?;
    if let Some(settings) = d.api_server_proxy {
        // the kubelet reaches its own API server through the proxy from the start
        let seeds = crate::flows::api_server_proxy::setup::seeds_from_urls(&[kubeconfig::local_endpoint(&d.node)])?;
        crate::flows::api_server_proxy::setup::install(&d.host, &settings, &seeds, d.dry_run(), out)?;
    }
    kubelet.start(&d.host, out)
}

/// kbinit's one-line description of each init sub-phase, by name.
fn describe(name: &str) -> &'static str {
    match name {
        "ca" => "Create the cluster CA (ca.crt, ca.key) that every component identity chains to",
        "apiserver" => "Create the API server's serving certificate",
        "apiserver-kubelet-client" => "Create the client certificate the API server presents to kubelets",
        "front-proxy-ca" => "Create the CA for the aggregation layer's front proxy",
        "front-proxy-client" => "Create the client certificate of the aggregation layer's front proxy",
        "etcd-ca" => "Create the CA that etcd members and etcd clients chain to",
        "etcd-server" => "Create etcd's serving certificate",
        "etcd-peer" => "Create the certificate etcd members use between each other",
        "etcd-healthcheck-client" => "Create the client certificate for etcd health checks",
        "apiserver-etcd-client" => "Create the client certificate the API server uses for etcd",
        "sa" => "Create the key pair that signs service account tokens (sa.key, sa.pub)",
        "admin" => "Write admin.conf, the kubeconfig for cluster administrators and kbinit itself",
        "super-admin" => "Write super-admin.conf, the break-glass kubeconfig (v1.29 and later)",
        "kubelet" => "Write kubelet.conf, the kubeconfig this node's kubelet starts with",
        "controller-manager" => "Write controller-manager.conf for kube-controller-manager",
        "scheduler" => "Write scheduler.conf for kube-scheduler",
        _ => "",
    }
}

/// init's phases, in kubeadm's order (the union over supported versions; version-specific ones run only for
/// their versions).
pub fn workflow() -> Workflow<InitData> {
    let cert_phases = certs::subphases().iter().map(|(n, _)| Phase::leaf(n, describe(n), run_cert)).collect();
    let newest = kbinit_phases::version::KubeVersion::default_version();
    let kubeconfig_phases = kubeconfig::subphases(&newest)
        .into_iter()
        .map(|(n, _)| {
            let p = Phase::leaf(n, describe(n), run_kubeconfig);
            if n == "super-admin" { p.run_if(has_super_admin) } else { p }
        })
        .collect();
    let cp = manifests::control_plane_components()
        .iter()
        .map(|(n, c)| Phase::leaf(n, format!("Write the static Pod manifest of {c}"), run_control_plane))
        .collect();
    Workflow {
        command: "init",
        phases: vec![
            Phase::leaf("preflight", "Check that this machine can become a control-plane node", run_preflight),
            Phase::parent("certs", "Create the cluster's certificates and keys", Some(run_certs), cert_phases),
            Phase::parent(
                "kubeconfig",
                "Write the kubeconfig files of the control plane and its administrators",
                Some(run_kubeconfigs),
                kubeconfig_phases,
            ),
            Phase::parent(
                "etcd",
                "Write the static Pod manifest of the local etcd member",
                None,
                vec![Phase::leaf("local", "Write the manifest of a stacked etcd member on this node", run_etcd_local)],
            ),
            Phase::parent(
                "control-plane",
                "Write the static Pod manifests of the control-plane components",
                Some(run_control_planes),
                cp,
            ),
            Phase::leaf(
                "kubelet-start",
                "Write the kubelet's configuration and flags, then (re)start it",
                run_kubelet_start,
            ),
            Phase::leaf(
                "wait-control-plane",
                "Wait until the kubelet and the control-plane components are healthy",
                cluster::run_wait_control_plane,
            ),
            Phase::parent(
                "upload-config",
                "Store the cluster and kubelet configuration in ConfigMaps",
                None,
                vec![
                    Phase::leaf(
                        "kubeadm",
                        "Store the ClusterConfiguration in the kubeadm-config ConfigMap",
                        cluster::run_upload_config,
                    ),
                    Phase::leaf(
                        "kubelet",
                        "Store the kubelet configuration in the kubelet-config ConfigMap",
                        cluster::run_upload_config,
                    ),
                ],
            )
            .aliases(&["uploadconfig"]),
            Phase::leaf(
                "upload-certs",
                "Encrypt the shared control-plane certificates into the kubeadm-certs Secret",
                cluster::run_upload_certs,
            ),
            Phase::leaf(
                "mark-control-plane",
                "Label and taint this node as a control-plane node",
                cluster::run_mark_control_plane,
            ),
            Phase::leaf(
                "bootstrap-token",
                "Create the bootstrap token, its RBAC rules and the cluster-info ConfigMap",
                cluster::run_bootstrap_token,
            )
            .aliases(&["bootstraptoken"]),
            Phase::parent(
                "kubelet-finalize",
                "Point the kubelet at its rotating client certificate after its TLS bootstrap",
                None,
                vec![
                    Phase::leaf(
                        "enable-client-cert-rotation",
                        "Switch kubelet.conf to the rotating client certificate (v1.31 and later)",
                        cluster::run_kubelet_finalize,
                    )
                    .run_if(|d| {
                        d.cfg
                            .cluster
                            .kubernetes_version
                            .kubelet_finalize_subphases()
                            .contains(&"enable-client-cert-rotation")
                    }),
                    Phase::leaf(
                        "experimental-cert-rotation",
                        "The same, under its name before v1.31",
                        cluster::run_kubelet_finalize,
                    )
                    .run_if(|d| {
                        d.cfg
                            .cluster
                            .kubernetes_version
                            .kubelet_finalize_subphases()
                            .contains(&"experimental-cert-rotation")
                    }),
                ],
            ),
            Phase::parent(
                "addon",
                "Install the essential addons",
                None,
                vec![
                    Phase::leaf("coredns", "Install CoreDNS", cluster::run_addon_coredns),
                    Phase::leaf("kube-proxy", "Install kube-proxy", cluster::run_addon_kube_proxy),
                ],
            ),
            Phase::leaf(
                "show-join-command",
                "Print the commands that join more control-plane and worker nodes",
                cluster::run_show_join_command,
            ),
        ],
    }
}

/// Runs `kbinit init` (or one phase of it).
pub fn run(opts: InitOptions, only: Option<&str>, out: &Output) -> anyhow::Result<()> {
    let wf = workflow();
    let flag_skips = opts.skip_phases.clone();
    wf.select(only, &flag_skips)?;
    let text = crate::flows::read_config(opts.config.as_ref())?;
    let root_host = Host::new(opts.root.clone(), None);
    let facts = facts::gather(&root_host);
    let loaded = config::load_init(text.as_deref(), &opts.flags, &facts)?;
    for w in &loaded.warnings {
        out.warn(w);
    }
    let cfg = loaded.config;
    let api_server_proxy =
        crate::flows::api_server_proxy::setup::init_settings(text.as_deref(), opts.api_server_proxy)?;
    let tokens = ResolvedToken::resolve_all(&cfg.bootstrap_tokens)?;
    let patches = crate::flows::patches::load(&cfg.patches_dir, &cfg.cluster.kubernetes_version, out)?;
    let skips = if flag_skips.is_empty() { cfg.skip_phases.clone() } else { flag_skips };
    let selected = wf.select(only, &skips)?;
    let dry_run = opts.dry_run || cfg.dry_run;
    let host = Host::for_command(&opts.root, dry_run, opts.dry_run_dir.as_ref(), "init", out)?;
    out.say(&format!("[init] Using Kubernetes version: {}", cfg.cluster.kubernetes_version));
    let mut data = InitData {
        opts,
        host,
        facts,
        node: cfg.node(),
        cfg,
        now: time::OffsetDateTime::now_utc(),
        keys: None,
        proxy_env: facts::proxy_env(),
        tokens,
        cert_key: None,
        api: None,
        admins_ensured: false,
        api_server_proxy,
        patches,
    };
    let pki = data.cfg.cluster.certificates_dir.clone();
    let etcd_pki = paths::join(&pki, "etcd");
    let dirs =
        [paths::KUBERNETES_DIR, &data.opts.kubeconfig_dir, &pki, &etcd_pki, paths::MANIFESTS_DIR, paths::KUBELET_DIR];
    crate::flows::clean_interrupted_writes(&data.host, &dirs, "init", out)?;
    // a re-run of a completed init (same configuration, every file and cluster object in place) changes nothing
    if only.is_none() && !data.dry_run() && !data.opts.upload_certs && rerun::already_initialized(&data, out) {
        out.say("[init] This node is already initialized with this configuration; nothing to do");
        out.say("[init] To join more nodes, print a join command with: kbinit token create --print-join-command");
        return Ok(());
    }
    wf.run(&selected, &mut data, out)?;
    if let Some(d) = data.host.dry_run_dir() {
        out.say(&format!("[dryrun] Finished dry-running successfully. Above are the resources that would be created; the files are in {:?}", d.display()));
    }
    Ok(())
}
