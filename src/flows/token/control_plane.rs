//! `kbinit token create --print-join-command --control-plane` (beyond kubeadm, whose `--certificate-key` only
//! prints the flag it is given): on a control-plane node, upload the shared certificates again under a fresh
//! certificate key (the `upload-certs` planner: a new kubeadm-certs Secret owned by a new 2-hour token), create
//! the join token, and print one control-plane join command that works now — also after the kubeadm-certs
//! Secret of `init --upload-certs` has expired.
//!
//! The token lives as long as the certificates (2h) unless `--ttl` says otherwise. Everything that can be
//! checked is checked before the cluster changes: the cluster's kubeadm-config (which files travel, whether it
//! has the controlPlaneEndpoint every control-plane join needs) and every file to upload on this node.

use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kbinit_phases::api::{ApiStep, ResourceType};
use kbinit_phases::cluster::certkey::CertificateKey;
use kbinit_phases::cluster::token::Token;
use kbinit_phases::cluster::upload_certs::{certs_to_transfer, plan_upload_certs};
use kbinit_phases::config::ClusterConfiguration;
use kbinit_phases::join::remote;

use crate::api::apply::DryRunForm;
use crate::api::{Target, apply_api};
use crate::flows::token::{CreateRequest, connect, create, join_command_line};
use crate::host::Host;
use crate::output::Output;

/// How long the kubeadm-certs Secret lives (its owner token's TTL, kubeadm's constant): the join token's default.
pub const CERTS_TTL: Duration = Duration::from_secs(2 * 3600);

/// The ClusterConfiguration in kube-system/kubeadm-config: a control-plane join needs it, so it must be there.
fn cluster_configuration(host: &Host, kubeconfig: &str, out: &Output) -> anyhow::Result<ClusterConfiguration> {
    let c = connect(host, kubeconfig, out)?;
    let (ns, name) = remote::KUBEADM_CONFIG.split_once('/').unwrap_or(("kube-system", "kubeadm-config"));
    let v = c
        .get(&ResourceType::of::<ConfigMap>(), Some(ns), name)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", remote::KUBEADM_CONFIG))?
        .ok_or_else(|| {
            anyhow::anyhow!("the cluster has no {} ConfigMap: is it a kbinit/kubeadm cluster?", remote::KUBEADM_CONFIG)
        })?;
    let cm: ConfigMap = serde_json::from_value(v).map_err(|e| anyhow::anyhow!("decoding {name}: {e}"))?;
    let loaded = remote::cluster_configuration(&cm)?;
    loaded.warnings.iter().for_each(|w| out.warn(w));
    Ok(loaded.config)
}

/// Runs the command; returns the one-line join command (the caller prints it). `certificate_key`: the key to
/// seal with (`--certificate-key`), else a new one. The upload's own lines go to stderr, so stdout holds only
/// the command.
pub fn create_control_plane_join(
    host: &Host,
    req: &CreateRequest<'_>,
    certificate_key: Option<&str>,
    out: &Output,
) -> anyhow::Result<String> {
    let cluster = cluster_configuration(host, req.kubeconfig, out)?;
    if cluster.control_plane_endpoint.is_empty() {
        anyhow::bail!(
            "the cluster has no controlPlaneEndpoint in {}: no control-plane node can join it, so kbinit uploads no \
             certificates",
            remote::KUBEADM_CONFIG
        );
    }
    for (_, path) in certs_to_transfer(&cluster) {
        if let Err(e) = host.read(&path) {
            anyhow::bail!(
                "cannot read {path} ({e}): --control-plane uploads this node's cluster certificates, so run it on a \
                 control-plane node"
            );
        }
    }
    let key = match certificate_key {
        Some(k) => CertificateKey::parse(k)?,
        None => CertificateKey::generate()?,
    };
    let steps = plan_upload_certs(&cluster, &key, &Token::generate(), time::OffsetDateTime::now_utc(), false, host)?;
    let (lines, ops): (Vec<ApiStep>, Vec<ApiStep>) = steps.into_iter().partition(|s| matches!(s, ApiStep::Say(_)));
    for l in &lines {
        if let ApiStep::Say(text) = l {
            out.err_line(text);
        }
    }
    if req.dry_run {
        apply_api(&ops, Target::DryRun(DryRunForm::of(&cluster.kubernetes_version)), out)?;
    } else {
        let c = connect(host, req.kubeconfig, out)?;
        apply_api(&ops, Target::Live(&c), out).map_err(|e| anyhow::anyhow!("uploading the certificates: {e:#}"))?;
    }
    let mut token_req = CreateRequest { flags: req.flags.clone(), ..*req };
    if token_req.flags.ttl.is_none() {
        token_req.flags.ttl = Some(kbinit_phases::go_format::duration::format_duration(CERTS_TTL));
    }
    let token = create(host, &token_req, out)?;
    join_command_line(host, req.kubeconfig, &token, Some(&key.to_string()))
}
