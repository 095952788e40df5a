//! A node that runs the real control plane: a network namespace holding the node's address, a node root that
//! kbinit writes into, and a supervisor in the role of the kubelet for the static Pods. What kbinit writes is
//! run as a kubelet would run it:
//!
//! - each manifest under `/etc/kubernetes/manifests` → the real binary with exactly the manifest's command line,
//!   paths under the node root (what the kubelet's hostPath mounts do): etcd is Debian's etcd-server, the others
//!   come from `../shared/k8s/<release>` ([`super::bins`]); a changed manifest restarts its process, a removed one
//!   stops it, one that exited is started again; each process's output goes to `<root>/logs/<component>.log`, shown when a test fails;
//! - its mirror Pod (`<component>-<node>`, `kubernetes.io/config.hash` of the manifest) posted to the real API
//!   server and replaced when the manifest changes, as the kubelet does;
//! - the kubelet's healthz on 127.0.0.1:10248 once `/var/lib/kubelet/config.yaml` exists, the Node registered with
//!   `kubelet.conf`'s own credentials and its status posted `Ready` with capacity (so the real scheduler can bind
//!   to it), and a Pod of a Job bound to this node reported `Succeeded` (kubeadm's health-check Job runs a
//!   container that exits at once; there are no containers here);
//! - the kubelet's TLS bootstrap when kbinit join wrote `bootstrap-kubelet.conf`: a CSR signed by the real
//!   controller-manager, then `kubelet.conf`.
//!
//! Not here: containers (CoreDNS and kube-proxy Pods stay Pending): the real kubelet and containerd run in
//! `support::realnode`, beside this lighter supervisor.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Value, json};

use super::bins;
use crate::support::nodes::kubelet::{enter_netns, etcd34_flag, mirror_pod, serve_kubelet_healthz, tls_bootstrap};
use crate::support::nodes::netns::Netns;
use crate::support::nodes::staticpod::{host_paths, manifest_command, resolve};
use crate::support::{Node, Run};

const COMPONENTS: [&str; 4] = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"];

#[derive(Default)]
struct State {
    running: BTreeMap<String, (String, Option<Child>)>,
    /// The manifest text whose mirror Pod is in the API.
    mirrored: BTreeMap<String, String>,
    healthz: bool,
    registered: bool,
    ready_posted: bool,
    events: Vec<String>,
}

/// A running real node; everything it started is killed on drop.
pub struct RealNode {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    state: Arc<Mutex<State>>,
    /// The network namespace.
    pub ns: Netns,
    /// The node root.
    pub node: Node,
    /// The node name.
    pub name: String,
}

impl RealNode {
    /// A node `name` with `address` on its loopback, whose control plane runs the binaries of `release`
    /// (`v1.33.3`).
    pub fn start(tag: &str, name: &str, address: &str, release: &str) -> RealNode {
        let ns = Netns::create(format!("kb-real-{tag}-{}", std::process::id()), &[address]);
        RealNode::supervise(ns, name, release)
    }

    /// A node `name` with `address` on the test LAN `lan` (reachable from the other nodes on it).
    pub fn on_lan(
        lan: &crate::support::nodes::lan::Lan,
        tag: &str,
        name: &str,
        address: &str,
        release: &str,
    ) -> RealNode {
        let ns = Netns::create(format!("kb-real-{tag}-{}", std::process::id()), &[]);
        lan.attach(&ns, address);
        RealNode::supervise(ns, name, release)
    }

    fn supervise(ns: Netns, name: &str, release: &str) -> RealNode {
        crate::support::require_tool("etcd");
        crate::support::require_tool("ip");
        for c in &COMPONENTS[1..] {
            if bins::available(release, c) {
                bins::binary(release, c); // unpacked before the supervisor needs it
            }
        }
        let node = Node::new();
        let stop = Arc::new(AtomicBool::new(false));
        let state = Arc::new(Mutex::new(State::default()));
        let (flag, st, root, netns, node_name, rel) = (
            stop.clone(),
            state.clone(),
            node.root().to_path_buf(),
            ns.name.clone(),
            name.to_string(),
            release.to_string(),
        );
        let thread = std::thread::spawn(move || {
            enter_netns(&netns);
            while !flag.load(Ordering::Relaxed) {
                if let Err(e) = tick(&root, &node_name, &rel, &st) {
                    let mut s = st.lock().unwrap();
                    if s.events.last() != Some(&e) {
                        s.events.push(e);
                    }
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        RealNode { stop, thread: Some(thread), state, ns, node, name: name.into() }
    }

    /// Writes a file into the node root and returns its host path.
    pub fn file(&self, name: &str, text: &str) -> String {
        let p = self.node.root().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }

    /// Runs kbinit with `--root` inside the node's namespace.
    pub fn kbinit(&self, args: &[&str]) -> Run {
        self.run_as(std::path::Path::new(env!("CARGO_BIN_EXE_kbinit")), args)
    }

    /// Runs `program` (kbinit under another name, e.g. a `kubeadm` link to it) with `--root` inside the node's
    /// namespace.
    pub fn run_as(&self, program: &std::path::Path, args: &[&str]) -> Run {
        let mut c = self.ns.command(program.to_str().unwrap());
        c.arg("--root").arg(self.node.root()).args(args).env_remove("KUBECONFIG");
        c.output().unwrap().into()
    }

    /// Runs kbinit and asserts exit 0, showing the node's state otherwise.
    pub fn kbinit_ok(&self, args: &[&str]) -> Run {
        let run = self.kbinit(args);
        assert_eq!(
            run.code,
            0,
            "kbinit {args:?} failed\nstdout:\n{}\nstderr:\n{}\n{}",
            run.stdout,
            run.stderr,
            self.report()
        );
        run
    }

    /// What the supervisor did and the tail of each component's log.
    pub fn report(&self) -> String {
        let mut text = format!("node {}: {:?}\n", self.name, self.state.lock().unwrap().events);
        for c in COMPONENTS {
            let log = std::fs::read_to_string(self.node.root().join(format!("logs/{c}.log"))).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(12).collect();
            text.push_str(&format!("--- {c} log tail:\n{}\n", tail.into_iter().rev().collect::<Vec<_>>().join("\n")));
        }
        text
    }

    /// Runs `f` with a client of the cluster as the node's `super-admin.conf` (else `admin.conf`), from inside
    /// the node's namespace.
    pub fn with_admin<T: Send>(&self, f: impl FnOnce(&kbinit::api::Cluster) -> T + Send) -> T {
        let root = self.node.root().to_path_buf();
        let netns = self.ns.name.clone();
        std::thread::scope(|s| {
            s.spawn(move || {
                enter_netns(&netns);
                let c = admin_client(&root).expect("an admin kubeconfig on the node");
                f(&c)
            })
            .join()
            .unwrap()
        })
    }
}

impl Drop for RealNode {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for (_, (_, child)) in s.running.iter_mut() {
            if let Some(c) = child.as_mut() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        if std::thread::panicking() {
            drop(s);
            eprintln!("{}", self.report());
        }
    }
}

fn admin_client(root: &std::path::Path) -> Option<kbinit::api::Cluster> {
    ["etc/kubernetes/super-admin.conf", "etc/kubernetes/admin.conf"].iter().find_map(|f| {
        let text = std::fs::read_to_string(root.join(f)).ok()?;
        kbinit::api::Cluster::from_kubeconfig_text(&text, Duration::from_secs(5)).ok()
    })
}

fn kubelet_client(root: &std::path::Path) -> Option<kbinit::api::Cluster> {
    let text = std::fs::read_to_string(root.join("etc/kubernetes/kubelet.conf")).ok()?;
    kbinit::api::Cluster::from_kubeconfig_text(&text, Duration::from_secs(5)).ok()
}

fn spawn(root: &std::path::Path, release: &str, component: &str, yaml: &str) -> Result<Option<Child>, String> {
    let mounts = host_paths(yaml);
    let args: Vec<String> = manifest_command(yaml).iter().map(|f| resolve(f, &mounts, root)).collect();
    let (program, args): (std::path::PathBuf, Vec<String>) = if component == "etcd" {
        ("etcd".into(), args[1..].iter().map(|a| etcd34_flag(a)).collect())
    } else if bins::available(release, component) {
        (bins::binary(release, component), args[1..].to_vec())
    } else {
        return Ok(None); // no binary of this release (kube-scheduler 1.28): the Pod "runs" without a process
    };
    std::fs::create_dir_all(root.join("logs")).map_err(|e| e.to_string())?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(root.join(format!("logs/{component}.log")))
        .map_err(|e| e.to_string())?;
    Command::new(&program)
        .args(&args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map(Some)
        .map_err(|e| format!("starting {}: {e}", program.display()))
}

fn tick(root: &std::path::Path, node: &str, release: &str, st: &Arc<Mutex<State>>) -> Result<(), String> {
    let mut s = st.lock().unwrap();
    if !s.healthz && root.join("var/lib/kubelet/config.yaml").exists() {
        serve_kubelet_healthz()?;
        s.healthz = true;
    }
    for c in COMPONENTS {
        let text = std::fs::read_to_string(root.join(format!("etc/kubernetes/manifests/{c}.yaml"))).ok();
        let text = text.filter(|t| t.ends_with('\n'));
        let current = s.running.get(c).map(|(t, _)| t.clone());
        // a container that exited is started again, as the kubelet restarts it (a kube-apiserver started before
        // its etcd gives up after a while), at most once a second
        let exited = match s.running.get_mut(c) {
            Some((_, Some(child))) => child.try_wait().ok().flatten(),
            _ => None,
        };
        if let (Some(status), Some(yaml)) = (exited, text.as_ref().filter(|t| current.as_ref() == Some(*t))) {
            std::thread::sleep(Duration::from_secs(1));
            let child = spawn(root, release, c, yaml)?;
            s.events.push(format!("restarted {c} ({status})"));
            s.running.insert(c.to_string(), (yaml.clone(), child));
            continue;
        }
        if current == text {
            continue;
        }
        if let Some((_, Some(mut child))) = s.running.remove(c) {
            let _ = child.kill();
            let _ = child.wait();
            s.events.push(format!("stopped {c}"));
        }
        if let Some(yaml) = text {
            let child = spawn(root, release, c, &yaml)?;
            s.events.push(format!("started {c}{}", if child.is_none() { " (no binary)" } else { "" }));
            s.running.insert(c.to_string(), (yaml, child));
        }
    }
    // mirror Pods: the API server may not answer yet, so each tick tries what is missing
    let pending: Vec<(String, String)> = s
        .running
        .iter()
        .filter(|(c, (t, _))| s.mirrored.get(*c) != Some(t))
        .map(|(c, (t, _))| (c.clone(), t.clone()))
        .collect();
    let bootstrap = s.healthz
        && !root.join("etc/kubernetes/kubelet.conf").exists()
        && root.join("etc/kubernetes/bootstrap-kubelet.conf").exists();
    if bootstrap {
        drop(s);
        tls_bootstrap(root, node, &root.join("etc/kubernetes/bootstrap-kubelet.conf"))?;
        s = st.lock().unwrap();
        s.events.push("TLS bootstrap: kubelet.conf written".into());
    }
    let want_node = !s.registered && root.join("etc/kubernetes/kubelet.conf").exists();
    let want_ready = s.registered && !s.ready_posted;
    drop(s);
    if !pending.is_empty()
        && let Some(api) = admin_client(root)
    {
        let pods = kbinit_phases::api::ResourceType::of::<k8s_openapi::api::core::v1::Pod>();
        for (c, yaml) in pending {
            let pod = mirror_pod(&yaml, node)?;
            let name = format!("{c}-{node}");
            // as the kubelet's mirror client deletes: at once (a bound Pod otherwise waits for its kubelet)
            let gone = api.call_once(
                http::Method::DELETE,
                &format!("{}?gracePeriodSeconds=0", pods.item_path(Some("kube-system"), &name)),
                None,
            );
            if matches!(&gone, Err(e) if !e.is_not_found()) {
                continue;
            }
            match api.create(&pods, Some("kube-system"), &pod) {
                Ok(_) => {
                    let mut s = st.lock().unwrap();
                    s.mirrored.insert(c.clone(), yaml);
                    s.events.push(format!("mirror Pod {name}"));
                }
                Err(e) if e.code().is_none() || e.code() == Some(403) || e.is_already_exists() => {}
                Err(e) => return Err(format!("posting mirror Pod {name}: {e}")),
            }
        }
    }
    if want_node
        && let Some(api) = kubelet_client(root)
        && register(&api, node)?
    {
        st.lock().unwrap().registered = true;
    }
    if want_ready
        && let Some(api) = kubelet_client(root)
        && post_ready(&api, node)?
    {
        let mut s = st.lock().unwrap();
        s.ready_posted = true;
        s.events.push(format!("Node {node} Ready"));
    }
    if st.lock().unwrap().ready_posted
        && let Some(api) = kubelet_client(root)
    {
        finish_job_pods(&api, node)?;
    }
    Ok(())
}

fn register(api: &kbinit::api::Cluster, node: &str) -> Result<bool, String> {
    let nodes = kbinit_phases::api::ResourceType::of::<k8s_openapi::api::core::v1::Node>();
    let body = json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": { "name": node, "labels": {
            "kubernetes.io/hostname": node, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64" } },
    });
    match api.create(&nodes, None, &body) {
        Ok(_) => Ok(true),
        Err(e) if e.is_already_exists() => Ok(true),
        Err(e) if e.code().is_none() || e.code() == Some(403) => Ok(false),
        Err(e) => Err(format!("registering Node {node}: {e}")),
    }
}

fn post_ready(api: &kbinit::api::Cluster, node: &str) -> Result<bool, String> {
    let nodes = kbinit_phases::api::ResourceType::of::<k8s_openapi::api::core::v1::Node>();
    let now = now_rfc3339();
    let resources = json!({"cpu": "2", "memory": "4Gi", "pods": "110", "ephemeral-storage": "10Gi"});
    let patch = json!({"status": {
        "capacity": resources, "allocatable": resources,
        "conditions": [{ "type": "Ready", "status": "True", "reason": "KubeletReady",
            "message": "kubelet is posting ready status", "lastHeartbeatTime": now, "lastTransitionTime": now }],
    }});
    let path = format!("{}/status", nodes.item_path(None, node));
    match api.call_once(
        http::Method::PATCH,
        &path,
        Some(("application/strategic-merge-patch+json", serde_json::to_vec(&patch).unwrap())),
    ) {
        Ok(_) => Ok(true),
        Err(e) if e.code().is_none() => Ok(false),
        Err(e) => Err(format!("posting the status of Node {node}: {e}")),
    }
}

/// A Pod of a Job that the scheduler bound to this node "runs" and exits 0.
fn finish_job_pods(api: &kbinit::api::Cluster, node: &str) -> Result<(), String> {
    let pods = kbinit_phases::api::ResourceType::of::<k8s_openapi::api::core::v1::Pod>();
    let Ok(list) = api.list(&pods, None, &format!("fieldSelector=spec.nodeName%3D{node}")) else { return Ok(()) };
    for pod in list {
        let owned_by_job = pod
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .is_some_and(|o| o.iter().any(|r| r["kind"] == "Job"));
        let phase = pod.pointer("/status/phase").and_then(Value::as_str).unwrap_or("Pending");
        if !owned_by_job || phase != "Pending" {
            continue;
        }
        let (Some(ns), Some(name)) = (
            pod.pointer("/metadata/namespace").and_then(Value::as_str),
            pod.pointer("/metadata/name").and_then(Value::as_str),
        ) else {
            continue;
        };
        let now = now_rfc3339();
        let containers: Vec<Value> = pod
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .map(|cs| {
                cs.iter()
                    .map(|c| json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": false,
                        "restartCount": 0, "started": false,
                        "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": now, "finishedAt": now}}}))
                    .collect()
            })
            .unwrap_or_default();
        let patch = json!({"status": {"phase": "Succeeded", "startTime": now, "containerStatuses": containers}});
        let path = format!("{}/status", pods.item_path(Some(ns), name));
        let _ = api.call_once(
            http::Method::PATCH,
            &path,
            Some(("application/strategic-merge-patch+json", serde_json::to_vec(&patch).unwrap())),
        );
    }
    Ok(())
}

/// Now as the API's RFC 3339 seconds (`2026-12-06T20:15:00Z`).
fn now_rfc3339() -> String {
    let t = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}
