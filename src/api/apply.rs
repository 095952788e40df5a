//! Carries out the [`ApiStep`]s a cluster phase planned: each write with kubeadm's policy (create-or-update,
//! create-or-keep, read-then-write, create-new), owner references filled from the live owner, node changes as
//! strategic-merge patches computed from the live Node. With `--dry-run` nothing is sent: every call is printed
//! as kubeadm's dry-run prints it, with its object. Each call (or would-be call) is also an `api` event for
//! `--output jsonl`.

use std::time::{Duration, Instant};

use anyhow::Context;
use k8s_openapi::api::core::v1::Node;
use kbinit_phases::api::{ApiObject, ApiOp, ApiStep, NodeChange, ObjectKey, Owner, ResourceType, WritePolicy};
use serde_json::{Value, json};

use super::client::{CallError, Cluster, PatchType};
use crate::events::{ApiOutcome, Event};
use crate::output::Output;

/// Where API steps go.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// A live cluster.
    Live(&'a Cluster),
    /// Nowhere: print each call instead, in the form of the kubeadm release being followed.
    DryRun(DryRunForm),
}

/// How a dry run prints the calls it would make: kubeadm changed the form in 1.32 (PR 126776, a dry-run client
/// built on a fake clientset with reactors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DryRunForm {
    /// kubeadm up to 1.31: `Resource name: "x"`, objects indented by a tab, a Node change shown as its patch.
    Printer,
    /// kubeadm 1.32+: `Resource name "x", namespace "y"`; a GET or LIST of an object the fake client does not
    /// hold says so; a GET or PATCH of a Node answers with the Node its reactor makes up; objects unindented,
    /// each followed by a blank line.
    FakeClient,
}

impl DryRunForm {
    /// The form of the kubeadm release that deploys `v`.
    pub fn of(v: &kbinit_phases::version::KubeVersion) -> DryRunForm {
        if v.dry_run_fake_client() { DryRunForm::FakeClient } else { DryRunForm::Printer }
    }
}

/// How long to wait for the kubelet to register a Node before patching it.
pub const NODE_REGISTRATION_TIMEOUT: Duration = Duration::from_secs(120);

/// Carries out the steps in order.
pub fn apply_api(steps: &[ApiStep], target: Target<'_>, out: &Output) -> anyhow::Result<()> {
    for step in steps {
        match step {
            ApiStep::Say(line) => out.say(line),
            ApiStep::Op(op) => match (op.as_ref(), target) {
                (ApiOp::Write { object, policy, owner }, Target::DryRun(form)) => {
                    dry_write(form, object, *policy, owner, out)
                }
                (ApiOp::Write { object, policy, owner }, Target::Live(c)) => {
                    live_write(c, object, *policy, owner.as_ref(), out)
                        .with_context(|| format!("writing {} {}", object.resource.kind, object.key()))?;
                }
                (ApiOp::PatchNode { name, change }, Target::DryRun(form)) => {
                    dry_action(form, out, "GET", &ResourceType::of::<Node>(), Some(name));
                    dry_action(form, out, "PATCH", &ResourceType::of::<Node>(), Some(name));
                    match form {
                        // the patch reactor answers with the made-up Node, unpatched
                        DryRunForm::FakeClient => dry_object(form, out, &fake_node(name)),
                        DryRunForm::Printer => {
                            if let Some(p) = change.patch_for(&Node::default()) {
                                out.say("[dryrun] Attached patch:");
                                out.raw(&format!("\t{p}\n"));
                            }
                        }
                    }
                }
                (ApiOp::PatchNode { name, change }, Target::Live(c)) => {
                    patch_node(c, name, change, out).with_context(|| format!("updating Node {name:?}"))?;
                }
            },
        }
    }
    Ok(())
}

/// Prints one call the way kubeadm's dry-run does.
pub fn dry_action(form: DryRunForm, out: &Output, verb: &str, resource: &ResourceType, name: Option<&str>) {
    dry_action_in(form, out, verb, resource, None, name);
}

/// [`dry_action`] for a call in a namespace (1.32+ prints it; earlier releases only put it in the event).
pub fn dry_action_in(
    form: DryRunForm,
    out: &Output,
    verb: &str,
    resource: &ResourceType,
    namespace: Option<&str>,
    name: Option<&str>,
) {
    api_event(out, verb, resource, namespace, name, ApiOutcome::DryRun);
    out.say(&format!(
        "[dryrun] Would perform action {verb} on resource {:?} in API group {:?}",
        resource.plural,
        resource.dry_run_group()
    ));
    match form {
        DryRunForm::Printer => {
            if let Some(n) = name {
                out.say(&format!("[dryrun] Resource name: {n:?}"));
            }
        }
        DryRunForm::FakeClient => {
            if let Some(n) = name {
                out.say(&format!("[dryrun] Resource name {n:?}, namespace {:?}", namespace.unwrap_or_default()));
            }
            let is_node = resource.kind == "Node";
            match verb {
                "GET" if is_node => dry_object(form, out, &fake_node(name.unwrap_or_default())),
                "GET" | "LIST" => out.say(&format!(
                    "[dryrun] Real object does not exist. Attempting to {verb} from followup reactors or from the fake client tracker"
                )),
                _ => {}
            }
        }
    }
}

/// The Node kubeadm 1.32+'s dry-run reactor answers a GET or PATCH of Node `name` with (its fields as Go
/// serializes a Node with only these set).
fn fake_node(name: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "annotations": {"kubeadm.alpha.kubernetes.io/cri-socket": "dry-run-cri-socket"},
            "labels": {"kubernetes.io/hostname": name},
            "name": name,
        },
        "spec": {},
        "status": {
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 0}},
            "nodeInfo": {
                "architecture": "", "bootID": "", "containerRuntimeVersion": "", "kernelVersion": "",
                "kubeProxyVersion": "", "kubeletVersion": "", "machineID": "", "operatingSystem": "", "osImage": "",
                "systemUUID": "",
            },
        },
    })
}

/// Prints an object as kubeadm's dry-run attaches it (`creationTimestamp: null` included as Go writes an unset
/// time): tab-indented up to 1.31, as it is and followed by a blank line from 1.32.
pub fn dry_object(form: DryRunForm, out: &Output, body: &Value) {
    let mut body = body.clone();
    for p in ["/metadata", "/spec/template/metadata"] {
        if let Some(meta) = body.pointer_mut(p).and_then(Value::as_object_mut) {
            meta.entry("creationTimestamp").or_insert(Value::Null);
        }
    }
    out.say("[dryrun] Attached object:");
    let yaml = kbinit_phases::go_format::yaml::to_yaml(&body);
    match form {
        DryRunForm::Printer => out.raw(&yaml.lines().map(|l| format!("\t{l}\n")).collect::<String>()),
        DryRunForm::FakeClient => out.raw(&format!("{}\n\n", yaml.trim_end_matches('\n'))),
    }
}

fn dry_write(form: DryRunForm, object: &ApiObject, policy: WritePolicy, owner: &Option<Owner>, out: &Output) {
    let ns = object.namespace.as_deref();
    if matches!(policy, WritePolicy::ReadThenWrite | WritePolicy::CreateNew) {
        dry_action_in(form, out, "GET", &object.resource, ns, Some(&object.name));
    }
    let mut body = object.body.clone();
    if let Some(o) = owner {
        dry_action_in(form, out, "GET", &o.key.resource, o.key.namespace.as_deref(), Some(&o.key.name));
        set_owner(&mut body, &o.key, "");
    }
    dry_action_in(form, out, "CREATE", &object.resource, ns, None);
    dry_object(form, out, &body);
}

fn set_owner(body: &mut Value, owner: &ObjectKey, uid: &str) {
    if let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert(
            "ownerReferences".into(),
            json!([{
                "apiVersion": owner.resource.api_version(),
                "blockOwnerDeletion": true,
                "controller": true,
                "kind": owner.resource.kind,
                "name": owner.name,
                "uid": uid,
            }]),
        );
    }
}

fn live_write(
    c: &Cluster,
    object: &ApiObject,
    policy: WritePolicy,
    owner: Option<&Owner>,
    out: &Output,
) -> anyhow::Result<()> {
    let res = &object.resource;
    let ns = object.namespace.as_deref();
    let mut body = object.body.clone();
    if let Some(o) = owner {
        let live = c
            .get(&o.key.resource, o.key.namespace.as_deref(), &o.key.name)?
            .ok_or_else(|| anyhow::anyhow!("its owner {} {} does not exist", o.key.resource.kind, key_text(&o.key)))?;
        let uid = live.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or_default().to_string();
        set_owner(&mut body, &o.key, &uid);
    }
    let verb = match policy {
        WritePolicy::CreateOrUpdate => match c.create(res, ns, &body) {
            Ok(_) => "created",
            Err(e) if exists_after_refusal(c, object, &e)? => {
                update(c, object, &body)?;
                "updated"
            }
            Err(e) => return Err(e.into()),
        },
        WritePolicy::CreateOrKeep => match c.create(res, ns, &body) {
            Ok(_) => "created",
            Err(e) if exists_after_refusal(c, object, &e)? => "kept (exists)",
            Err(e) => return Err(e.into()),
        },
        WritePolicy::ReadThenWrite => match c.get(res, ns, &object.name)? {
            Some(_) => {
                update(c, object, &body)?;
                "updated"
            }
            None => match c.create(res, ns, &body) {
                Ok(_) => "created",
                Err(e) if e.is_already_exists() => {
                    update(c, object, &body)?;
                    "updated"
                }
                Err(e) => return Err(e.into()),
            },
        },
        WritePolicy::CreateNew => {
            if c.get(res, ns, &object.name)?.is_some() {
                anyhow::bail!("{} {} already exists", res.kind, object.key());
            }
            c.create(res, ns, &body)?;
            "created"
        }
    };
    out.debug(1, &format!("{} {} {verb}", res.kind, object.key()));
    Ok(())
}

/// Whether a refused create means "it is there already": 409 AlreadyExists, or 422 Invalid for an object that
/// exists (a real API server validates a Service's cluster IP before it compares names, so re-creating kube-dns
/// is "10.96.0.10 is already allocated"; kubeadm's DNS addon updates on that answer too). A 422 for an object
/// that does not exist is a real refusal and stays an error.
fn exists_after_refusal(c: &Cluster, object: &ApiObject, e: &CallError) -> Result<bool, CallError> {
    if e.is_already_exists() {
        return Ok(true);
    }
    if !e.is_invalid() {
        return Ok(false);
    }
    Ok(c.get(&object.resource, object.namespace.as_deref(), &object.name)?.is_some())
}

/// PUT over the live object: unconditionally first, then with the live resourceVersion while the server reports
/// a conflict.
fn update(c: &Cluster, object: &ApiObject, body: &Value) -> Result<(), CallError> {
    let ns = object.namespace.as_deref();
    let mut body = body.clone();
    if let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
    }
    for _ in 0..5 {
        match c.replace(&object.resource, ns, &object.name, &body) {
            Err(e) if e.is_conflict() => {
                let live = c.get(&object.resource, ns, &object.name)?;
                let rv = live.as_ref().and_then(|l| l.pointer("/metadata/resourceVersion")).cloned();
                if let (Some(rv), Some(meta)) = (rv, body.get_mut("metadata").and_then(Value::as_object_mut)) {
                    meta.insert("resourceVersion".into(), rv);
                }
            }
            other => return other.map(|_| ()),
        }
    }
    c.replace(&object.resource, ns, &object.name, &body).map(|_| ())
}

fn key_text(k: &ObjectKey) -> String {
    match &k.namespace {
        Some(ns) => format!("{ns}/{}", k.name),
        None => k.name.clone(),
    }
}

/// Waits for the kubelet to register the Node, then sends the patch that brings it to the wanted state (nothing
/// when it is there already).
fn patch_node(c: &Cluster, name: &str, change: &NodeChange, out: &Output) -> anyhow::Result<()> {
    let nodes = ResourceType::of::<Node>();
    let start = Instant::now();
    let mut told = Duration::ZERO;
    let node: Node = loop {
        let live = c.get(&nodes, None, name)?;
        let registered = live.as_ref().and_then(|n| n.pointer("/metadata/labels/kubernetes.io~1hostname")).is_some();
        if let (Some(v), true) = (live, registered) {
            break serde_json::from_value(v).context("decoding the Node")?;
        }
        let waited = start.elapsed();
        if waited >= NODE_REGISTRATION_TIMEOUT {
            anyhow::bail!(
                "the kubelet has not registered Node {name:?} after {}s (no Node object with label \
                 kubernetes.io/hostname); check `systemctl status kubelet` and `journalctl -xeu kubelet`",
                waited.as_secs()
            );
        }
        if waited >= told + Duration::from_secs(10) {
            told = waited;
            out.say(&format!(
                "[apiclient] Waiting for the kubelet to register Node {name:?} ({}s so far)",
                waited.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let mut node = node;
    for _ in 0..5 {
        let Some(patch) = change.patch_for(&node) else {
            out.debug(1, &format!("Node {name} already as wanted"));
            return Ok(());
        };
        let sent = c.patch(&nodes, None, name, PatchType::StrategicMerge, &patch);
        match sent {
            Err(e) if e.is_conflict() => {
                let live = c.get(&nodes, None, name)?.ok_or_else(|| anyhow::anyhow!("Node {name:?} disappeared"))?;
                node = serde_json::from_value(live).context("decoding the Node")?;
            }
            other => {
                other?;
                return Ok(());
            }
        }
    }
    anyhow::bail!("the Node kept changing while kbinit patched it (409 Conflict five times)")
}

/// Emits the `api` event of one call.
fn api_event(
    out: &Output,
    verb: &str,
    resource: &ResourceType,
    namespace: Option<&str>,
    name: Option<&str>,
    outcome: ApiOutcome<'_>,
) {
    out.event(&Event::Api { verb, resource: resource.plural, group: resource.group, namespace, name, outcome });
}
