//! init's phases that talk to the cluster (wait-control-plane onward): each connects through admin.conf (and
//! super-admin.conf where the version's kubeadm uses it), asks a planner for its API steps and applies them —
//! or, with `--dry-run`, prints every call with its object and needs no cluster.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kbinit_phases::api::{ApiStep, ResourceType};
use kbinit_phases::cluster::addons::{self, CoreDnsState};
use kbinit_phases::cluster::join_command::{CertificateKeyText, InitSummary, JoinCommand, init_summary};
use kbinit_phases::cluster::{bootstrap_token, mark_control_plane, token::Token, upload_certs, upload_config};
use kbinit_phases::paths;
use serde_json::Value;

use crate::api::apply::{DryRunForm, dry_action, dry_action_in};
use crate::api::{Cluster, Target, apply_api, wait};
use crate::flows::init::InitData;
use crate::output::Output;

impl InitData {
    /// The API target of this run: the live cluster (connected on first use through admin.conf, ensuring the
    /// `kubeadm:cluster-admins` binding on 1.29+ as kubeadm does) or the dry-run printer. A dry run prints no
    /// call for that binding: kubeadm's dry-run client skips `EnsureAdminClusterRoleBinding` (`initData.Client`,
    /// cmd/kubeadm/app/cmd/init.go of v1.30.0; real kubeadm 1.30.0-1.33.3 print none).
    fn target(&mut self, out: &Output) -> anyhow::Result<Target<'_>> {
        if self.dry_run() {
            return Ok(Target::DryRun(DryRunForm::of(&self.cfg.cluster.kubernetes_version)));
        }
        if self.api.is_none() {
            let timeout = self.cfg.timeouts.kubernetes_api_call;
            let c = self.admin_cluster(timeout)?.with_events(out);
            if !self.admins_ensured {
                self.ensure_cluster_admins(&c, timeout, out)?;
            }
            self.api = Some(c);
        }
        match &self.api {
            Some(c) => Ok(Target::Live(c)),
            None => anyhow::bail!("no API client"),
        }
    }

    /// 1.29+: admin.conf's group `kubeadm:cluster-admins` gets its rights from a ClusterRoleBinding that only a
    /// `system:masters` identity can create on a fresh cluster: try with admin.conf, and when that is forbidden
    /// create it with super-admin.conf.
    fn ensure_cluster_admins(&mut self, admin: &Cluster, timeout: Duration, out: &Output) -> anyhow::Result<()> {
        let steps = bootstrap_token::plan_cluster_admins(&self.cfg.cluster.kubernetes_version)?;
        if steps.is_empty() {
            self.admins_ensured = true;
            return Ok(());
        }
        match apply_api(&steps, Target::Live(admin), out) {
            Ok(()) => {}
            Err(e)
                if e.chain()
                    .any(|c| c.downcast_ref::<crate::api::CallError>().is_some_and(|ce| ce.code() == Some(403))) =>
            {
                let path = self.host.path(&format!("{}/super-admin.conf", self.opts.kubeconfig_dir));
                out.debug(
                    1,
                    &format!("admin.conf may not create {}; using {}", bootstrap_token::CLUSTER_ADMINS, path.display()),
                );
                let sa = Cluster::from_kubeconfig_file_at(&path, self.local_api_server().as_deref(), timeout)?
                    .with_events(out);
                apply_api(&steps, Target::Live(&sa), out)?;
                wait_authorized(admin, timeout)?;
            }
            Err(e) => return Err(e),
        }
        self.admins_ensured = true;
        Ok(())
    }

    /// The server init's API calls go to when it is not the one the kubeconfig names: from 1.34, with the
    /// default admin.conf and super-admin.conf, this node's own API server (its local API endpoint), so a load
    /// balancer provisioned only after the first API server is up does not stall init (kubeadm PR 138449).
    pub(crate) fn local_api_server(&self) -> Option<String> {
        let default_paths = self.opts.kubeconfig == format!("{}/admin.conf", paths::KUBERNETES_DIR)
            && self.opts.kubeconfig_dir == paths::KUBERNETES_DIR;
        (default_paths && self.cfg.cluster.kubernetes_version.init_talks_to_local_api_server())
            .then(|| wait::local_api_server_url(&self.cfg))
    }

    /// admin.conf's client for init's API calls, at [`InitData::local_api_server`] where that applies.
    pub(crate) fn admin_cluster(&self, timeout: Duration) -> anyhow::Result<Cluster> {
        Cluster::from_kubeconfig_file_at(
            &self.host.path(&self.opts.kubeconfig),
            self.local_api_server().as_deref(),
            timeout,
        )
    }

    fn apply_cluster(&mut self, steps: &[ApiStep], out: &Output) -> anyhow::Result<()> {
        let target = self.target(out)?;
        apply_api(steps, target, out)
    }
}

/// Waits until admin.conf's identity is allowed what the binding just created grants: the API server's RBAC
/// authorizer learns of a new ClusterRoleBinding through its informer, so the first calls after it can still be
/// refused (a real API server under load did, with 403 on the kubeadm-config ConfigMap; kubeadm 1.30+ retries
/// every call for `kubernetesAPICall` instead). Real refusals later on stay errors.
fn wait_authorized(admin: &Cluster, timeout: Duration) -> anyhow::Result<()> {
    let configmaps = kbinit_phases::api::ResourceType::of::<k8s_openapi::api::core::v1::ConfigMap>();
    let deadline = std::time::Instant::now() + timeout;
    loop {
        match admin.list(&configmaps, Some("kube-system"), "limit=1") {
            Err(e) if e.code() == Some(403) && std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => {
                return Err(anyhow::anyhow!(
                    "admin.conf is still not authorized after the {} ClusterRoleBinding was created: {e}",
                    bootstrap_token::CLUSTER_ADMINS
                ));
            }
            Ok(_) => return Ok(()),
        }
    }
}

/// wait-control-plane.
pub fn run_wait_control_plane(d: &mut InitData, out: &Output, _: &str) -> anyhow::Result<()> {
    if let Some(dir) = d.host.dry_run_dir() {
        out.say(&format!(
            "[wait-control-plane] Would wait for the kubelet to boot up the control plane as static Pods from directory {:?}",
            dir.display()
        ));
        return Ok(());
    }
    let admin = d.host.path(&d.opts.kubeconfig);
    let c = wait::wait_client(&d.cfg, &admin)?;
    wait::wait_control_plane(&d.cfg, &c, paths::MANIFESTS_DIR, out)
}

/// upload-config/kubeadm and upload-config/kubelet.
pub fn run_upload_config(d: &mut InitData, out: &Output, name: &str) -> anyhow::Result<()> {
    let mut steps = match name {
        "kubeadm" => upload_config::plan_upload_kubeadm_config(&d.cfg)?,
        _ => upload_config::plan_upload_kubelet_config(&d.cfg, &d.facts)?,
    };
    if let (Some(settings), "kubeadm") = (&d.api_server_proxy, name) {
        steps.extend(kbinit_phases::api_server_proxy::config_map::plan_upload(settings)?);
    }
    d.apply_cluster(&steps, out)
}

/// upload-certs: skipped without `--upload-certs`; else encrypts the shared certificates with the certificate
/// key (given, or generated once per run) into kubeadm-certs, owned by a fresh 2-hour token.
pub fn run_upload_certs(d: &mut InitData, out: &Output, _: &str) -> anyhow::Result<()> {
    if !d.opts.upload_certs {
        out.say(upload_certs::SKIPPED_LINE);
        return Ok(());
    }
    let key = d.certificate_key()?.clone();
    let owner = Token::generate();
    let steps = upload_certs::plan_upload_certs(
        &d.cfg.cluster,
        &key,
        &owner,
        time::OffsetDateTime::now_utc(),
        !d.opts.skip_certificate_key_print,
        &d.host,
    )?;
    d.apply_cluster(&steps, out)
}

/// mark-control-plane.
pub fn run_mark_control_plane(d: &mut InitData, out: &Output, _: &str) -> anyhow::Result<()> {
    let steps = mark_control_plane::plan_mark_control_plane(&d.node.name, &d.cfg.node_registration.taints);
    d.apply_cluster(&steps, out)
}

/// The server URL and CA of admin.conf (what cluster-info and the join commands carry).
pub fn admin_server_and_ca(d: &InitData) -> anyhow::Result<(String, Vec<u8>)> {
    let path = format!("{}/admin.conf", d.opts.kubeconfig_dir);
    let text = kbinit_phases::plan::NodeView::read(&d.host, &path)
        .ok_or_else(|| anyhow::anyhow!("cannot read {path}: run the kubeconfig phase first"))?;
    let text = String::from_utf8(text).map_err(|_| anyhow::anyhow!("{path} is not UTF-8"))?;
    let host = &d.host;
    kbinit_phases::kubeconfig::current_cluster(&text, &|p| kbinit_phases::plan::NodeView::read(host, p))
        .map_err(|e| anyhow::anyhow!("{path}: {e}"))
}

/// bootstrap-token.
pub fn run_bootstrap_token(d: &mut InitData, out: &Output, _: &str) -> anyhow::Result<()> {
    let (server, ca) = admin_server_and_ca(d)?;
    let mut steps = bootstrap_token::plan_bootstrap_token(
        &d.cfg.cluster.kubernetes_version,
        &d.tokens,
        !d.opts.skip_token_print,
        &server,
        &ca,
        time::OffsetDateTime::now_utc(),
    )?;
    steps.extend(bootstrap_token::plan_kubelet_api_admin(&d.cfg.cluster.kubernetes_version)?);
    d.apply_cluster(&steps, out)
}

/// Where the kubelet keeps its rotating client certificate after the TLS bootstrap.
const KUBELET_CLIENT_CURRENT: &str = "/var/lib/kubelet/pki/kubelet-client-current.pem";

/// kubelet-finalize: once the kubelet holds a rotating client certificate, point kubelet.conf at it instead of
/// the embedded one kbinit wrote (kubeadm does the same; without the file there is nothing to do).
pub fn run_kubelet_finalize(d: &mut InitData, out: &Output, _: &str) -> anyhow::Result<()> {
    let kubelet_conf = format!("{}/kubelet.conf", d.opts.kubeconfig_dir);
    let view: &dyn kbinit_phases::plan::NodeView = &d.host;
    if !view.exists(KUBELET_CLIENT_CURRENT) {
        out.debug(
            1,
            &format!("{KUBELET_CLIENT_CURRENT} does not exist yet: kubelet.conf keeps its embedded credentials"),
        );
        return Ok(());
    }
    let Some(text) = view.read(&kubelet_conf) else {
        return Ok(());
    };
    let text = String::from_utf8(text).map_err(|_| anyhow::anyhow!("{kubelet_conf} is not UTF-8"))?;
    let updated = kbinit_phases::kubeconfig::point_at_rotating_cert(&text, KUBELET_CLIENT_CURRENT)?;
    out.say(&format!(
        "[kubelet-finalize] Updating {kubelet_conf:?} to point to a rotatable kubelet client certificate and key"
    ));
    if updated != text {
        crate::host::apply::apply(
            &[kbinit_phases::plan::Step::write(kubelet_conf, updated, kbinit_phases::plan::FileKind::Kubeconfig)],
            &d.host,
            out,
        )?;
    }
    Ok(())
}

/// addon/coredns: reads what exists (the kube-dns Deployment's replicas, an operator-edited Corefile) so a
/// re-run keeps them, then creates or updates CoreDNS's objects.
pub fn run_addon_coredns(d: &mut InitData, out: &Output, _: &str) -> anyhow::Result<()> {
    if d.cfg.cluster.dns_disabled {
        return Ok(());
    }
    let deployments = ResourceType::of::<Deployment>();
    let configmaps = ResourceType::of::<ConfigMap>();
    let state = match d.target(out)? {
        Target::DryRun(form) => {
            dry_action(form, out, "LIST", &deployments, None);
            dry_action_in(form, out, "GET", &configmaps, Some("kube-system"), Some("coredns"));
            CoreDnsState::default()
        }
        Target::Live(c) => {
            let existing = c.list(&deployments, Some("kube-system"), "labelSelector=k8s-app%3Dkube-dns")?;
            let existing_replicas = match existing.as_slice() {
                [one] => one.pointer("/spec/replicas").and_then(Value::as_i64).and_then(|r| i32::try_from(r).ok()),
                _ => None,
            };
            let corefile = c
                .get(&configmaps, Some("kube-system"), "coredns")?
                .and_then(|cm| cm.pointer("/data/Corefile").and_then(Value::as_str).map(str::to_string));
            let custom_corefile =
                corefile.is_some_and(|cf| !addons::is_default_corefile(&cf, &d.cfg.cluster.networking.dns_domain));
            CoreDnsState { existing_replicas, custom_corefile }
        }
    };
    let steps = kbinit_phases::patches::patch_api_steps(addons::plan_coredns(&d.cfg.cluster, &state)?, &d.patches)?;
    d.apply_cluster(&steps, out)
}

/// addon/kube-proxy.
pub fn run_addon_kube_proxy(d: &mut InitData, out: &Output, _: &str) -> anyhow::Result<()> {
    let env: Vec<(String, String)> = d.proxy_env.iter().map(|e| (e.name.clone(), e.value.clone())).collect();
    let mut steps = addons::plan_kube_proxy(&d.cfg, &env)?;
    if let Some(settings) = &d.api_server_proxy {
        crate::flows::api_server_proxy::setup::kube_proxy_through_proxy(&mut steps, settings);
    }
    let steps = kbinit_phases::patches::patch_api_steps(steps, &d.patches)?;
    d.apply_cluster(&steps, out)
}

/// show-join-command: the success summary with the control-plane (when there is a control-plane endpoint) and
/// worker join commands.
pub fn run_show_join_command(d: &mut InitData, out: &Output, _: &str) -> anyhow::Result<()> {
    let (server, ca) = admin_server_and_ca(d)?;
    let token = if d.opts.skip_token_print { None } else { d.tokens.first().map(|t| t.token.to_string()) };
    let join = JoinCommand {
        endpoint: JoinCommand::endpoint_from_server(&server),
        token,
        ca_cert_hashes: kbinit_phases::kubeconfig::ca_pins(&ca)?,
    };
    let key = if !d.opts.upload_certs {
        CertificateKeyText::None
    } else if d.opts.skip_certificate_key_print {
        CertificateKeyText::Withheld
    } else {
        CertificateKeyText::Shown(d.certificate_key()?.to_string())
    };
    let admin = format!("{}/admin.conf", d.opts.kubeconfig_dir);
    let summary = InitSummary {
        admin_conf: d.host.write_path(&admin).display().to_string(),
        has_control_plane_endpoint: !d.cfg.cluster.control_plane_endpoint.is_empty(),
        upload_certs: d.opts.upload_certs,
    };
    out.say("");
    out.raw(&init_summary(&summary, &join, &key));
    if let Some(settings) = &d.api_server_proxy {
        out.say(&format!(
            "\nThe API server proxy (127.0.0.1:{}) is on: `kbinit join` sets it up on every node. A node joined with \
             `kubeadm join` needs it too (its kubelet and kube-proxy use it); run there, after the join:\n\n  {}\n",
            settings.port,
            crate::flows::api_server_proxy::setup::INSTALL_HINT
        ));
    }
    Ok(())
}
