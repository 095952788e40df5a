//! `upgrade apply`'s cluster health checks (sheet §4.2 step 4, kubeadm's `CheckClusterHealth`): `CreateJob`,
//! `ControlPlaneNodesReady` and `StaticPodManifest`, in kubeadm's order, run through the preflight reporter so
//! each can be ignored by name (`--ignore-preflight-errors`, `all`) and an error nobody ignored fails with
//! `[upgrade/health] FATAL: [preflight] Some fatal errors occurred: …` (exit 2). The Job and the Node verdicts
//! come from [`kbinit_phases::upgrade::health`].

use std::time::{Duration, Instant};

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Node;
use kbinit_phases::api::ResourceType;
use kbinit_phases::go_format::duration::format_duration;
use kbinit_phases::paths;
use kbinit_phases::upgrade::health::{
    CONTROL_PLANE_LABEL, JOB_NAMESPACE, JOB_PREFIX, SCHEDULABLE_NODES, go_list, health_check_job, job_complete,
    job_timeout, not_ready_nodes,
};

use crate::error::PreflightFailed;
use crate::flows::upgrade::data::UpgradeData;
use crate::output::Output;
use crate::preflight::{Finding, report};

/// Runs the three checks and reports them as kubeadm's preflight runner does.
pub fn check_cluster_health(d: &UpgradeData, out: &Output) -> anyhow::Result<()> {
    out.say("[upgrade] Running cluster health checks");
    let checks: [(&str, Result<(), String>); 3] = [
        ("CreateJob", create_job(d, out)),
        ("ControlPlaneNodesReady", control_plane_nodes_ready(d)),
        ("StaticPodManifest", static_pod_manifest(d)),
    ];
    let findings: Vec<Finding> = checks
        .into_iter()
        .filter_map(|(name, r)| r.err().map(|message| Finding { name: name.into(), error: true, message }))
        .collect();
    report(&findings, &d.ignore_preflight_errors, out).map_err(|e| match e.downcast::<PreflightFailed>() {
        Ok(PreflightFailed(text)) => anyhow::Error::new(PreflightFailed(format!("[upgrade/health] FATAL: {text}"))),
        Err(e) => e,
    })
}

/// Polls `f` every second until it gives `Ok(Some(_))` or `timeout` passed; the last error (or `pending`) on
/// timeout, as kubeadm's `wait.PollUntilContextTimeout` with `lastError`.
fn poll<T>(timeout: Duration, pending: &str, mut f: impl FnMut() -> Result<Option<T>, String>) -> Result<T, String> {
    let deadline = Instant::now() + timeout;
    loop {
        let last = match f() {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => pending.to_string(),
            Err(e) => e,
        };
        if Instant::now() + Duration::from_secs(1) > deadline {
            return Err(last);
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// `CreateJob`: a Job running the pause image must complete, wherever a Pod can be scheduled.
fn create_job(d: &UpgradeData, out: &Output) -> Result<(), String> {
    if d.ctx.host.is_dry_run() {
        out.say(&format!(
            "[upgrade/health] Would create the Job with the prefix {JOB_PREFIX:?} in namespace {JOB_NAMESPACE:?} and wait until it completes"
        ));
        return Ok(());
    }
    let api = &d.ctx.api;
    let timeout = job_timeout(&d.target);
    let nodes = ResourceType::of::<Node>();
    let query = format!("fieldSelector={}&limit=1", SCHEDULABLE_NODES.replace('=', "%3D"));
    let schedulable = poll(timeout, "", || api.list(&nodes, None, &query).map(Some).map_err(|e| e.to_string()))
        .map_err(|e| format!("could not check if there is at least one Node that can schedule a test Pod: {e}"))?;
    if schedulable.is_empty() {
        out.warn(
            "The preflight check \"CreateJob\" was skipped because there are no schedulable Nodes in the cluster.",
        );
        return Ok(());
    }
    let jobs = ResourceType::of::<Job>();
    let job = health_check_job(&d.init.cluster.image_repository, &d.target);
    let body = serde_json::to_value(&job).map_err(|e| format!("cannot encode the Job: {e}"))?;
    let name = poll(timeout, "", || {
        let created = api.create(&jobs, Some(JOB_NAMESPACE), &body).map_err(|e| e.to_string())?;
        Ok(created.pointer("/metadata/name").and_then(serde_json::Value::as_str).map(str::to_string))
    })
    .map_err(|e| {
        format!("could not create a Job with the prefix {JOB_PREFIX:?} in the namespace {JOB_NAMESPACE:?}: {e}")
    })?;
    poll(timeout, "no condition of type Complete", || {
        let got = api.get(&jobs, Some(JOB_NAMESPACE), &name).map_err(|e| e.to_string())?;
        let Some(got) = got else { return Err(format!("jobs.batch {name:?} not found")) };
        let job: Job = serde_json::from_value(got).map_err(|e| format!("cannot decode Job {name:?}: {e}"))?;
        Ok(job_complete(&job).then_some(()))
    })
    .map_err(|e| {
        format!("Job {name:?} in the namespace {JOB_NAMESPACE:?} did not complete in {}: {e}", format_duration(timeout))
    })
}

/// `ControlPlaneNodesReady`: every Node labelled as a control plane whose `Ready` condition is not `True`.
fn control_plane_nodes_ready(d: &UpgradeData) -> Result<(), String> {
    let query = format!("labelSelector={}%3D", CONTROL_PLANE_LABEL);
    let items = d
        .ctx
        .api
        .list(&ResourceType::of::<Node>(), None, &query)
        .map_err(|e| format!("could not list nodes labeled with {CONTROL_PLANE_LABEL:?}: {e}"))?;
    let nodes: Vec<Node> = items
        .into_iter()
        .map(serde_json::from_value)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("could not list nodes labeled with {CONTROL_PLANE_LABEL:?}: {e}"))?;
    let not_ready = not_ready_nodes(&nodes);
    if not_ready.is_empty() {
        return Ok(());
    }
    Err(format!("there are NotReady control-planes in the cluster: {}", go_list(&not_ready)))
}

/// `StaticPodManifest`: the three control-plane manifests exist on this node.
fn static_pod_manifest(d: &UpgradeData) -> Result<(), String> {
    let missing: Vec<String> = kbinit_phases::upgrade::state::CONTROL_PLANE
        .iter()
        .map(|c| format!("{}/{c}.yaml", paths::MANIFESTS_DIR))
        .filter(|p| !d.ctx.host.path(p).exists())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(format!(
        "The control plane seems to be Static Pod-hosted, but some of the manifests don't seem to exist on disk. This probably means you're running 'kubeadm upgrade' on a remote machine, which is not supported for a Static Pod-hosted cluster. Manifest files not found: {}",
        go_list(&missing)
    ))
}
