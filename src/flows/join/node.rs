//! join's phases that change the node or the cluster, once [`crate::flows::join::context::JoinContext`] is built:
//! control-plane-prepare (download-certs, certs, kubeconfig, control-plane), check-etcd, kubelet-start and the
//! wait for the kubelet's TLS bootstrap, the etcd member (add, manifest, promote, wait; removed again on failure),
//! wait-control-plane and mark-control-plane. With `--dry-run` files go to the dry-run directory and API and etcd
//! calls are printed, not made (discovery and the reads before it are real, as in kubeadm).

use std::time::{Duration, Instant};

use base64::Engine as _;
use k8s_openapi::api::core::v1::{Node, Pod};
use kbinit_phases::api::{ApiOp, ApiStep, NodeChange, ResourceType};
use kbinit_phases::certs::OnDemandKeys;
use kbinit_phases::cluster::mark_control_plane::plan_mark_control_plane;
use kbinit_phases::cluster::upload_certs::download_line;
use kbinit_phases::config::Etcd;
use kbinit_phases::go_format::duration::format_duration;
use kbinit_phases::join::{control_plane, etcd as etcd_plan, kubelet};
use kbinit_phases::paths;
use serde_json::Value;

use crate::api::apply::{DryRunForm, dry_action};
use crate::api::{Cluster, Target, apply_api};
use crate::etcd::{EtcdClient, EtcdTls, client_url};
use crate::flows::join::JoinData;
use crate::flows::join::context::kubelet_bootstrap_kubeconfig;
use crate::host::apply::apply;
use crate::host::{Host, facts, services};
use crate::output::Output;

/// The annotation on etcd Pods naming the member's client URL.
const ETCD_ENDPOINT_ANNOTATION: &str = "kubeadm.kubernetes.io/etcd.advertise-client-urls";
/// The annotation kubeadm puts on a joined Node before NodeLocalCRISocket.
const CRI_SOCKET_ANNOTATION: &str = "kubeadm.alpha.kubernetes.io/cri-socket";

/// control-plane-prepare/download-certs: writes the certificates opened while the context was built.
pub fn download_certs(d: &mut JoinData, out: &Output) -> anyhow::Result<()> {
    let Some(steps) = d.ctx(out)?.certs.clone() else {
        return Ok(());
    };
    out.say(&download_line());
    apply(&steps, &d.host, out)
}

/// control-plane-prepare/certs, /kubeconfig, /control-plane: this node's own files from the shared CAs.
pub fn prepare(d: &mut JoinData, out: &Output, which: &str) -> anyhow::Result<()> {
    let now = d.now;
    let proxy_env = facts::proxy_env();
    let Some(init) = d.ctx(out)?.init.clone() else { return Ok(()) };
    let steps = match which {
        "certs" => {
            out.say(&format!("[certs] Using certificateDir folder {:?}", init.cluster.certificates_dir));
            control_plane::plan_certs(&init, &d.host, &OnDemandKeys, now)?
        }
        "kubeconfig" => control_plane::plan_kubeconfigs(&init, &d.host, &OnDemandKeys, now)?,
        _ => kbinit_phases::patches::patch_steps(
            control_plane::plan_control_plane(&init, &d.host, &proxy_env)?,
            &d.patches,
        )?,
    };
    apply(&steps, &d.host, out)
}

/// A client with this node's admin.conf (written by control-plane-prepare/kubeconfig).
fn admin(d: &JoinData, out: &Output) -> anyhow::Result<Cluster> {
    let p = d.host.path(&format!("{}/admin.conf", paths::KUBERNETES_DIR));
    Ok(Cluster::from_kubeconfig_file(&p, d.cfg.timeouts.kubernetes_api_call)?.with_events(out))
}

/// The client URLs of the other members of the cluster's etcd, from the annotation on the etcd Pods (kubeadm's
/// way). The Pod of the joining node itself is left out: it is a leftover of an earlier attempt on this node (a
/// join killed half-way, or one undone by `kbinit reset`, which leaves the mirror Pod until the Node is
/// deleted), whose etcd is not running before this join starts it; asking it would fail the join on its own
/// leftover. The member list comes from etcd itself, so a member this node added earlier is still seen.
fn etcd_endpoints(c: &Cluster, own_node: &str, out: &Output) -> anyhow::Result<Vec<String>> {
    let pods = ResourceType::of::<Pod>();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut items = c.list(&pods, Some("kube-system"), "labelSelector=component%3Detcd%2Ctier%3Dcontrol-plane")?;
        items.retain(|p| p.pointer("/spec/nodeName").and_then(Value::as_str) != Some(own_node));
        let urls: Vec<String> = items
            .iter()
            .filter_map(|p| p.pointer("/metadata/annotations").and_then(|a| a.get(ETCD_ENDPOINT_ANNOTATION)))
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        if !urls.is_empty() && urls.len() == items.len() {
            return Ok(urls);
        }
        if Instant::now() >= deadline {
            anyhow::bail!(
                "found {} etcd Pod(s) in kube-system (component=etcd,tier=control-plane), {} with the annotation \
                 {ETCD_ENDPOINT_ANNOTATION}: the etcd endpoints of the cluster are unknown. Check `kubectl -n \
                 kube-system get pods -l component=etcd -o yaml` on a control-plane node",
                items.len(),
                urls.len()
            );
        }
        out.debug(1, "waiting for the etcd Pods' endpoint annotations");
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// check-etcd (stacked etcd, control plane): every etcd endpoint answers and knows a leader.
pub fn check_etcd(d: &mut JoinData, out: &Output) -> anyhow::Result<()> {
    let Some(init) = d.ctx(out)?.init.clone() else { return Ok(()) };
    if !matches!(init.cluster.etcd, Etcd::Local(_)) {
        return Ok(());
    }
    out.say("[check-etcd] Checking that the etcd cluster is healthy");
    if d.host.is_dry_run() {
        out.say("[dryrun] Would check the health of every etcd member");
        return Ok(());
    }
    let endpoints = etcd_endpoints(&admin(d, out)?, &init.node_registration.name, out)?;
    let tls = EtcdTls::from_pki(&d.host, &init.cluster.certificates_dir)?;
    let mut etcd = EtcdClient::connect(&endpoints, &tls, Duration::from_secs(5))?;
    let endpoints = etcd.member_client_urls()?;
    etcd.wait_endpoints_healthy(&endpoints, Instant::now() + Duration::from_secs(40), Duration::from_secs(5))?;
    Ok(())
}

/// The etcd member of a joining control-plane node: add (learner where the version says so), write the manifest
/// with etcd's member list, promote, wait until every member is healthy. If anything after the add fails, the
/// member is removed again so the etcd cluster is as it was.
pub fn etcd_join(d: &mut JoinData, out: &Output) -> anyhow::Result<()> {
    let Some(init) = d.ctx(out)?.init.clone() else { return Ok(()) };
    if !matches!(init.cluster.etcd, Etcd::Local(_)) {
        return Ok(());
    }
    let node = init.node();
    let peer = etcd_plan::peer_url(&node);
    let learner = etcd_plan::joins_as_learner(&init.cluster);
    if d.host.is_dry_run() {
        let kind = if learner { "learner" } else { "voting member" };
        out.say(&format!("[dryrun] Would add etcd member {peer} as a {kind}"));
        out.say("[dryrun] Would write /etc/kubernetes/manifests/etcd.yaml with --initial-cluster from etcd's answer");
        if learner {
            out.say("[dryrun] Would promote the learner once it is in sync");
        }
        out.say("[dryrun] Would wait for the new etcd member to join the cluster");
        return Ok(());
    }
    let endpoints = etcd_endpoints(&admin(d, out)?, &init.node_registration.name, out)?;
    let tls = EtcdTls::from_pki(&d.host, &init.cluster.certificates_dir)?;
    let mut etcd = EtcdClient::connect(&endpoints, &tls, Duration::from_secs(10))?;
    let add_deadline = Instant::now() + d.cfg.timeouts.etcd_api_call;
    let (added, members) = etcd.add_when_allowed(&peer, learner, add_deadline, Duration::from_secs(1), &|why| {
        out.say(&format!("[etcd] etcd does not take a new member yet ({why}); retrying until it does"))
    })?;
    out.debug(1, &format!("etcd member {:x} added with peer URL {peer}", added.id));
    let deadline = Instant::now() + d.cfg.timeouts.etcd_api_call;
    let rest = (|| -> anyhow::Result<()> {
        let plan = etcd_plan::plan_etcd_join(&init.cluster, &node, &members)?;
        apply(&kbinit_phases::patches::patch_steps(plan.steps, &d.patches)?, &d.host, out)?;
        if added.is_learner {
            etcd.promote_when_ready(added.id, deadline, Duration::from_millis(500))?;
            out.say(&format!("[etcd] Promoted the learner {:x} to a voting member", added.id));
        }
        let mut all = etcd.member_client_urls().unwrap_or_else(|_| endpoints.clone());
        let own = client_url(&node.advertise_address);
        if !all.contains(&own) {
            all.push(own);
        }
        etcd.wait_endpoints_healthy(&all, deadline, Duration::from_secs(5))?;
        Ok(())
    })();
    if let Err(e) = rest {
        let undo = match etcd.remove_when_allowed(
            added.id,
            Instant::now() + Duration::from_secs(30),
            Duration::from_secs(1),
        ) {
            Ok(_) => format!(
                "the member {:x} ({peer}) was removed again, so the etcd cluster is as it was; \
                 /etc/kubernetes/manifests/etcd.yaml and the data dir stay on this node: `kbinit reset` cleans them",
                added.id
            ),
            Err(r) => format!(
                "removing the member {:x} ({peer}) again failed too ({r:#}): remove it by hand with `etcdctl member \
                 remove {:x}` on a control-plane node before the cluster loses quorum",
                added.id, added.id
            ),
        };
        return Err(e.context(format!("joining etcd failed; {undo}")));
    }
    Ok(())
}

/// control-plane-join/etcd: the etcd join of releases before 1.33 (from 1.33 `etcd-join` does it).
pub fn control_plane_join_etcd(d: &mut JoinData, out: &Output) -> anyhow::Result<()> {
    if d.cfg.control_plane.is_none() || d.ctx(out)?.cluster.kubernetes_version.kubelet_local_mode() {
        return Ok(());
    }
    etcd_join(d, out)
}

/// etcd-join (1.33+).
pub fn etcd_join_phase(d: &mut JoinData, out: &Output) -> anyhow::Result<()> {
    if d.cfg.control_plane.is_none() || !d.ctx(out)?.cluster.kubernetes_version.kubelet_local_mode() {
        return Ok(());
    }
    etcd_join(d, out)
}

/// Refuses a join when a Ready Node of this name exists (the bootstrap identity may read Nodes; if it may not,
/// the check is skipped with a warning). `own`: this node's `kubelet.conf` is this join's (a re-run after the
/// kubelet registered), so a Ready Node of this name is this node's own kubelet's, and it is reused.
fn refuse_ready_node(c: &Cluster, name: &str, own: bool, out: &Output) -> anyhow::Result<()> {
    match c.get(&ResourceType::of::<Node>(), None, name) {
        Ok(Some(n)) => {
            let ready = n
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"));
            if ready && own {
                out.say(&format!(
                    "[kubelet-start] The Ready Node {name:?} is this node's, registered by an earlier run of this join; reusing"
                ));
            } else if ready {
                anyhow::bail!(
                    "a Node with name {name:?} and status \"Ready\" already exists in the cluster. You must delete the \
                     existing Node or change the name of this new joining Node"
                );
            }
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(e) => {
            out.warn(&format!("[kubelet-start] cannot check for an existing Node {name:?}: {e}"));
            Ok(())
        }
    }
}

/// kubelet-start: bootstrap kubeconfig, CA, kubelet settings; (re)start the kubelet when kbinit manages it;
/// before 1.33 also wait for its TLS bootstrap.
pub fn kubelet_start(d: &mut JoinData, out: &Output) -> anyhow::Result<()> {
    let name = d.cfg.node_registration.name.clone();
    d.ready(out)?;
    let mut bootstrap_kc = kubelet_bootstrap_kubeconfig(&d.cfg, d.context()?)?;
    if let Some(settings) = d.context()?.api_server_proxy {
        // written pointing at the proxy from the start: the kubelet never sees another server
        bootstrap_kc = crate::flows::api_server_proxy::setup::through_proxy(&bootstrap_kc, &settings)?;
    }
    if d.host.is_dry_run() {
        let form = DryRunForm::of(&d.ctx(out)?.cluster.kubernetes_version);
        dry_action(form, out, "GET", &ResourceType::of::<Node>(), Some(&name));
    } else {
        let own = crate::flows::join::rerun::own_kubelet_kubeconfig(&d.cfg, &d.host, kubelet::KUBELET_CONF);
        refuse_ready_node(&d.ctx(out)?.bootstrap, &name, own, out)?;
    }
    let kubelet_service = services::KubeletService::new(&d.host, d.host.is_dry_run());
    kubelet_service.stop(out);
    d.ready(out)?;
    let ctx = d.context()?;
    let inputs = kubelet::KubeletStartInputs {
        join: &d.cfg,
        cluster: &ctx.cluster,
        kubelet_config: &ctx.kubelet_config,
        host: &d.facts,
        bootstrap_kubeconfig: &bootstrap_kc,
        ca_pem: &ctx.trusted.ca_pem,
    };
    let steps = kbinit_phases::patches::patch_steps(kubelet::plan_kubelet_start(&inputs, &d.host)?, &d.patches)?;
    apply(&steps, &d.host, out)?;
    if let Some(settings) = ctx.api_server_proxy {
        // the kubelet bootstraps through the proxy; it starts from the API server discovery used. Installed
        // after the files above: the proxy chooses its health checks when it starts, /readyz only when the
        // cluster CA (written above) is on the node
        let seeds = crate::flows::api_server_proxy::setup::seeds_from_urls(std::slice::from_ref(&ctx.trusted.server))?;
        crate::flows::api_server_proxy::setup::install(&d.host, &settings, &seeds, d.host.is_dry_run(), out)?;
    }
    kubelet_service.start(&d.host, out)?;
    if !d.ctx(out)?.cluster.kubernetes_version.kubelet_local_mode() {
        wait_tls_bootstrap(d, out, "kubelet-start")?;
    }
    Ok(())
}

/// kubelet-wait-bootstrap (1.33+).
pub fn kubelet_wait_bootstrap(d: &mut JoinData, out: &Output) -> anyhow::Result<()> {
    if !d.ctx(out)?.cluster.kubernetes_version.kubelet_local_mode() {
        return Ok(());
    }
    wait_tls_bootstrap(d, out, "kubelet-wait-bootstrap")
}

/// A kubeconfig written by the kubelet (file references to its rotating certificate) made self-contained:
/// every referenced file is read under the node's root and embedded.
pub fn embed_kubeconfig_files(text: &str, host: &Host) -> anyhow::Result<String> {
    let mut doc =
        kbinit_phases::go_format::yaml::from_yaml(text).map_err(|e| anyhow::anyhow!("not a kubeconfig: {e}"))?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let embed = |entry: &mut Value, file_key: &str, data_key: &str| -> anyhow::Result<()> {
        if let Some(path) = entry.get(file_key).and_then(Value::as_str).map(str::to_string) {
            let bytes = host.read(&path).map_err(|e| anyhow::anyhow!("reading {path}: {e}"))?;
            if let Some(o) = entry.as_object_mut() {
                o.remove(file_key);
                o.insert(data_key.into(), Value::String(b64.encode(bytes)));
            }
        }
        Ok(())
    };
    for c in doc["clusters"].as_array_mut().into_iter().flatten() {
        embed(&mut c["cluster"], "certificate-authority", "certificate-authority-data")?;
    }
    for u in doc["users"].as_array_mut().into_iter().flatten() {
        embed(&mut u["user"], "client-certificate", "client-certificate-data")?;
        embed(&mut u["user"], "client-key", "client-key-data")?;
    }
    Ok(kbinit_phases::go_format::yaml::to_yaml(&doc))
}

/// Waits (timeouts.tlsBootstrap) for the kubelet to write a usable kubelet.conf and for its Node to exist; then
/// annotates the CRI socket (before NodeLocalCRISocket) and removes bootstrap-kubelet.conf.
fn wait_tls_bootstrap(d: &mut JoinData, out: &Output, tag: &str) -> anyhow::Result<()> {
    let timeout = d.cfg.timeouts.tls_bootstrap;
    if d.host.is_dry_run() {
        out.say("[dryrun] Would wait for the kubelet to perform the TLS Bootstrap");
        return Ok(());
    }
    out.say(&format!(
        "[{tag}] Waiting for the kubelet to perform the TLS Bootstrap... This can take up to {}",
        format_duration(timeout)
    ));
    let start = Instant::now();
    let mut told = Duration::ZERO;
    let mut progress = |what: &str| {
        let waited = start.elapsed();
        if waited >= told + Duration::from_secs(10) {
            told = waited;
            out.say(&format!("[{tag}] Still waiting for {what} ({}s so far)", waited.as_secs()));
        }
    };
    let fail_tail = "check `systemctl status kubelet` and `journalctl -xeu kubelet` on this node, and `kubectl get \
                     csr` on a control-plane node (the kubelet's certificate signing request must be approved and \
                     signed)";
    let kubelet_conf = kubelet::KUBELET_CONF;
    let proxy = d.ctx(out)?.api_server_proxy;
    let client = loop {
        if let Some(settings) = &proxy {
            crate::flows::api_server_proxy::setup::fix_kubelet_conf(&d.host, settings, out)?;
        }
        let last = match d.host.read(kubelet_conf) {
            Err(_) => format!("{kubelet_conf} does not exist yet"),
            Ok(bytes) => match String::from_utf8(bytes)
                .map_err(|e| anyhow::anyhow!("{e}"))
                .and_then(|t| embed_kubeconfig_files(&t, &d.host))
                .and_then(|t| Cluster::from_kubeconfig_text(&t, d.cfg.timeouts.kubernetes_api_call))
                .map(|c| c.with_events(out))
            {
                Ok(c) => break c,
                Err(e) => format!("{kubelet_conf} cannot be loaded yet: {e:#}"),
            },
        };
        if start.elapsed() >= timeout {
            anyhow::bail!(
                "the kubelet did not finish its TLS bootstrap within {}: {last}; {fail_tail}",
                format_duration(timeout)
            );
        }
        progress(&format!("the kubelet to write {kubelet_conf}"));
        std::thread::sleep(Duration::from_secs(1));
    };
    let name = d.cfg.node_registration.name.clone();
    loop {
        let last = match client.get(&ResourceType::of::<Node>(), None, &name) {
            Ok(Some(_)) => break,
            Ok(None) => format!("the Node {name:?} does not exist yet"),
            Err(e) => format!("reading the Node {name:?} with the kubelet's identity: {e}"),
        };
        if start.elapsed() >= timeout {
            anyhow::bail!(
                "the kubelet wrote {kubelet_conf} but did not register its Node within {}: {last}; {fail_tail}",
                format_duration(timeout)
            );
        }
        progress(&format!("the kubelet to register the Node {name:?}"));
        // kubeadm finds the Node by retrying its CRI-socket patch every 500 ms (its API call retry interval);
        // polling every second here cost a worker join up to half a second more than kubeadm's on a real node
        std::thread::sleep(Duration::from_millis(500));
    }
    out.say(&format!("[{tag}] The kubelet performed the TLS Bootstrap and registered the Node {name:?}"));
    if !kbinit_phases::kubelet::cri_socket_recorded_locally(&d.ctx(out)?.cluster) {
        let change = NodeChange {
            annotations: [(CRI_SOCKET_ANNOTATION.to_string(), d.cfg.node_registration.cri_socket.clone())]
                .into_iter()
                .collect(),
            ..Default::default()
        };
        apply_api(&[ApiStep::op(ApiOp::PatchNode { name, change })], Target::Live(&client), out)?;
    }
    if let Err(e) = d.host.remove(kubelet::BOOTSTRAP_KUBELET_CONF)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        out.warn(&format!("removing {}: {e}", kubelet::BOOTSTRAP_KUBELET_CONF));
    }
    Ok(())
}

/// wait-control-plane (1.33+, control plane): the kubelet and this node's control-plane components healthy.
pub fn wait_control_plane(d: &mut JoinData, out: &Output) -> anyhow::Result<()> {
    let Some(init) = d.ctx(out)?.init.clone() else { return Ok(()) };
    if !init.cluster.kubernetes_version.kubelet_local_mode() {
        return Ok(());
    }
    if d.host.is_dry_run() {
        out.say("[dryrun] Would wait for the kubelet and the control-plane components to be healthy");
        return Ok(());
    }
    let admin = d.host.path(&format!("{}/admin.conf", paths::KUBERNETES_DIR));
    let c = crate::api::wait::wait_client(&init, &admin)?.with_events(out);
    crate::api::wait::wait_control_plane(&init, &c, paths::MANIFESTS_DIR, out)
}

/// control-plane-join/mark-control-plane: the label and taints, with this node's admin.conf.
pub fn mark_control_plane(d: &mut JoinData, out: &Output) -> anyhow::Result<()> {
    if d.cfg.control_plane.is_none() {
        return Ok(());
    }
    d.ctx(out)?;
    let nr = &d.cfg.node_registration;
    let steps = plan_mark_control_plane(&nr.name, &nr.taints);
    if d.host.is_dry_run() {
        let form = DryRunForm::of(&d.ctx(out)?.cluster.kubernetes_version);
        return apply_api(&steps, Target::DryRun(form), out);
    }
    apply_api(&steps, Target::Live(&admin(d, out)?), out)
}
