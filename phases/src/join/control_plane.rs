//! A joining control-plane node's own files (§J steps 1–5): its InitConfiguration-equivalent built from the
//! JoinConfiguration and the cluster's ClusterConfiguration, then the `control-plane-prepare` sub-phases
//! `certs`, `kubeconfig` and `control-plane`, planned by the same planners `init` uses.
//!
//! What comes from the cluster and what from this node follows §J's table: the ClusterConfiguration is the
//! cluster's; node name, CRI socket, taints, kubelet flags, advertise address and bind port are this node's.

use time::OffsetDateTime;

use crate::Error;
use crate::certs::{KeySource, PkiContext, is_external_ca};
use crate::config::model::EnvVar;
use crate::config::{ClusterConfiguration, Etcd, InitConfiguration, JoinConfiguration};
use crate::paths;
use crate::plan::{MemoryNode, NodeView, Step};

/// The kubeconfig files a joining control-plane node writes (not kubelet.conf, not super-admin.conf).
pub const JOIN_KUBECONFIGS: [&str; 3] = ["admin", "controller-manager", "scheduler"];

/// The configuration `init`'s planners need, for this joining control-plane node: the cluster's
/// ClusterConfiguration with this node's registration, API endpoint and certificate key. `kubelet` is the
/// cluster's KubeletConfiguration (from kubelet-config), carried along for completeness.
///
/// Refuses a worker join, and a cluster without a controlPlaneEndpoint (kubeadm's check: a second API server
/// needs a stable address in front of both).
pub fn control_plane_init_configuration(
    join: &JoinConfiguration,
    cluster: &ClusterConfiguration,
    kubelet: Option<serde_json::Value>,
) -> Result<InitConfiguration, Error> {
    let Some(cp) = &join.control_plane else {
        return Err(Error::invalid(
            "controlPlane",
            "",
            "this node joins as a worker; only a control-plane join (--control-plane) has control-plane files",
        ));
    };
    if cluster.control_plane_endpoint.is_empty() {
        return Err(Error::Conflict(
            "unable to add a new control plane instance to a cluster that doesn't have a stable \
             controlPlaneEndpoint address: set controlPlaneEndpoint (a load balancer or DNS name for all API \
             servers) in the kube-system/kubeadm-config ConfigMap and re-issue the API server certificates"
                .into(),
        ));
    }
    Ok(InitConfiguration {
        api_version: join.api_version,
        bootstrap_tokens: Vec::new(),
        node_registration: join.node_registration.clone(),
        local_api_endpoint: cp.local_api_endpoint.clone(),
        certificate_key: cp.certificate_key.clone(),
        skip_phases: join.skip_phases.clone(),
        patches_dir: join.patches_dir.clone(),
        dry_run: join.dry_run,
        timeouts: join.timeouts.clone(),
        cluster: cluster.clone(),
        kubelet,
        kube_proxy: None,
    })
}

/// The files every control-plane node must share (`<pki>`-relative): the CAs with their keys and the
/// service-account key pair; the etcd CA only with stacked etcd. They come from `download-certs` (with a
/// certificate key) or must have been copied over beforehand.
pub fn shared_cert_files(cluster: &ClusterConfiguration) -> Vec<&'static str> {
    let mut files = vec!["ca.crt", "ca.key", "sa.key", "sa.pub", "front-proxy-ca.crt", "front-proxy-ca.key"];
    if matches!(cluster.etcd, Etcd::Local(_)) {
        files.extend(["etcd/ca.crt", "etcd/ca.key"]);
    }
    files
}

/// Checks that the shared files are on the node before any leaf is issued, so a join never makes a CA of its
/// own. In external-CA mode (`ca.crt` without `ca.key`) the missing `ca.key` is expected.
pub fn check_shared_certs(cluster: &ClusterConfiguration, view: &dyn NodeView) -> Result<(), Error> {
    let external_ca = is_external_ca(cluster, view);
    let missing: Vec<String> = shared_cert_files(cluster)
        .into_iter()
        .filter(|f| !(external_ca && *f == "ca.key"))
        .map(|f| paths::join(&cluster.certificates_dir, f))
        .filter(|p| !view.exists(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::Conflict(format!(
        "one or more conditions for hosting a new control plane instance is not satisfied: the certificates that \
         must be shared among control plane instances are missing: {}. Join with --certificate-key (from `kbinit \
         init phase upload-certs --upload-certs` on a control-plane node), or copy these files over first",
        missing.join(", ")
    )))
}

/// `control-plane-prepare/certs`: the shared files must exist, then every certificate of this node is
/// created (or an existing one reused) from the shared CAs by [`crate::certs::plan_all`], with kubeadm's
/// `[certs] Valid certificates and keys now exist in "<pki>"` before the sa step.
pub fn plan_certs(
    init: &InitConfiguration,
    view: &dyn NodeView,
    keys: &dyn KeySource,
    now: OffsetDateTime,
) -> Result<Vec<Step>, Error> {
    check_shared_certs(&init.cluster, view)?;
    let node = init.node();
    let ctx = PkiContext { cluster: &init.cluster, node: &node, now };
    let mut steps = crate::certs::plan_all(&ctx, view, keys)?;
    let valid =
        Step::say(format!("[certs] Valid certificates and keys now exist in {:?}", init.cluster.certificates_dir));
    let sa_at = steps.iter().rposition(|s| matches!(s, Step::Say(l) if l.contains("\"sa\"") || l.contains("sa keys")));
    match sa_at {
        Some(i) => steps.insert(i, valid),
        None => steps.push(valid),
    }
    Ok(steps)
}

/// `control-plane-prepare/kubeconfig`: admin.conf, controller-manager.conf and scheduler.conf for this node.
pub fn plan_kubeconfigs(
    init: &InitConfiguration,
    view: &dyn NodeView,
    keys: &dyn KeySource,
    now: OffsetDateTime,
) -> Result<Vec<Step>, Error> {
    let node = init.node();
    let ctx = PkiContext { cluster: &init.cluster, node: &node, now };
    let mut steps = vec![
        Step::say("[kubeconfig] Generating kubeconfig files"),
        Step::say(format!("[kubeconfig] Using kubeconfig folder {:?}", paths::KUBERNETES_DIR)),
    ];
    for name in JOIN_KUBECONFIGS {
        steps.extend(crate::kubeconfig::plan_one(name, &ctx, paths::KUBERNETES_DIR, view, keys)?);
    }
    Ok(steps)
}

/// `control-plane-prepare/control-plane`: the three static Pods, serving on this node's advertise address and
/// bind port. `proxy_env` = the `*_proxy` variables of kbinit's environment.
pub fn plan_control_plane(
    init: &InitConfiguration,
    view: &dyn NodeView,
    proxy_env: &[EnvVar],
) -> Result<Vec<Step>, Error> {
    let node = init.node();
    let mut steps = vec![Step::say(format!("[control-plane] Using manifest folder {:?}", paths::MANIFESTS_DIR))];
    for (_, component) in crate::manifests::control_plane_components() {
        steps.extend(crate::manifests::plan_control_plane(component, &init.cluster, &node, view, proxy_env)?);
    }
    Ok(steps)
}

/// The three `control-plane-prepare` sub-phases after `download-certs`, in order; each sees the files the
/// previous one plans (the kubeconfigs need the CA, the manifests need nothing new).
pub fn plan_prepare(
    init: &InitConfiguration,
    view: &dyn NodeView,
    keys: &dyn KeySource,
    now: OffsetDateTime,
    proxy_env: &[EnvVar],
) -> Result<Vec<Step>, Error> {
    let mut overlay = crate::certs::Overlay { base: view, mem: MemoryNode::default() };
    let mut steps = plan_certs(init, &overlay, keys, now)?;
    overlay.mem.absorb(&steps);
    let kubeconfigs = plan_kubeconfigs(init, &overlay, keys, now)?;
    overlay.mem.absorb(&kubeconfigs);
    steps.extend(kubeconfigs);
    steps.extend(plan_control_plane(init, &overlay, proxy_env)?);
    Ok(steps)
}
