//! A kubelet stand-in for one test node: a thread that lives in the node's network namespace, watches the node
//! root as a kubelet would, and brings up what kbinit wrote.
//!
//! - `/var/lib/kubelet/config.yaml` written → the kubelet "runs": healthz answers `ok` on 127.0.0.1:10248.
//! - `manifests/etcd.yaml` → real Debian etcd with exactly the manifest's command line (paths under the root).
//! - `manifests/kube-apiserver.yaml` → a listener of the shared fake API server on the manifest's
//!   `--secure-port`, all addresses, with the manifest's serving certificate and client CA.
//! - `manifests/kube-controller-manager.yaml`, `kube-scheduler.yaml` → health listeners on 10257/10259 (what
//!   kubeadm's control-plane check probes), and optionally the controller loops (bootstrap signer, token
//!   cleaner, CSR approver/signer) with the cluster CA from the root, as kube-controller-manager would.
//! - `bootstrap-kubelet.conf` without `kubelet.conf` → the TLS bootstrap: an ECDSA key, a CSR to
//!   `kubernetes.io/kube-apiserver-client-kubelet` with the bootstrap token, wait for the signed certificate,
//!   `/var/lib/kubelet/pki/kubelet-client-current.pem`, then `/etc/kubernetes/kubelet.conf`.
//! - `kubelet.conf` usable → registers its Node (labels `kubernetes.io/hostname`, `os`, `arch`) through the API
//!   with the kubelet's own credentials, then posts its `Ready` condition `True` (see `nodestatus`;
//!   [`KubeletStandIn::set_ready`] makes it `False`).
//!
//! - a manifest that changes (an upgrade) → the static Pod is stopped and started again from the new manifest,
//!   and its mirror Pod gets the new `kubernetes.io/config.hash` (a hash of the manifest), as the kubelet does;
//!   a manifest whose text contains a string given to [`KubeletStandIn::break_manifests`] is "started" without
//!   running anything (mirror Pod and hash updated, nothing answers): a component that never becomes healthy.
//!
//! What is simplified: no containers, no pod status, the API server needs no etcd (the fake keeps its own store).

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use super::staticpod::{host_paths, manifest_command, resolve};
use crate::support::fakeapi::{Controllers, FakeApi, Listener, ServingTls};

/// What the stand-in did, for test messages and assertions.
#[derive(Default)]
struct State {
    events: Vec<String>,
    etcd: Option<Child>,
    etcd_args: Vec<String>,
    listeners: Vec<(String, Listener)>,
    controllers: Option<Controllers>,
    healthz: bool,
    started: Vec<String>,
    /// The manifest text each started static Pod was started from.
    started_from: std::collections::BTreeMap<String, String>,
    /// Manifests containing one of these strings are never really run.
    broken: Vec<String>,
    registered: bool,
    /// The node reports NotReady ([`KubeletStandIn::set_ready`]).
    not_ready: bool,
    /// The `Ready` status last posted for the registered Node.
    posted_ready: Option<bool>,
    /// kbinit's api-server-proxy, run as its systemd unit would be.
    proxy: Option<Child>,
}

/// The installed etcd is Debian's 3.4, while the manifests of Kubernetes 1.35+ name an etcd 3.6/3.7 image and
/// its flag names: `--feature-gates=InitialCorruptCheck=true` and `--watch-progress-notify-interval` (etcd 3.6
/// renamed the `--experimental-…` flags). The stand-in starts 3.4 with the old names for those two flags and
/// passes every other flag as written; [`KubeletStandIn::etcd_args`] still reports the manifest's own line.
pub(crate) fn etcd34_flag(arg: &str) -> String {
    match arg {
        "--feature-gates=InitialCorruptCheck=true" => "--experimental-initial-corrupt-check=true".into(),
        a => match a.strip_prefix("--watch-progress-notify-interval=") {
            Some(v) => format!("--experimental-watch-progress-notify-interval={v}"),
            None => a.to_string(),
        },
    }
}

/// The running stand-in; stops (etcd killed, listeners closed) on drop.
pub struct KubeletStandIn {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    state: Arc<Mutex<State>>,
    /// The node root.
    pub root: PathBuf,
}

/// Settings of one stand-in.
#[derive(Clone)]
pub struct StandInConfig {
    /// The node's network namespace.
    pub netns: String,
    /// The node root kbinit writes into.
    pub root: PathBuf,
    /// The node name it registers.
    pub node_name: String,
    /// Run the controller loops when the controller-manager manifest appears.
    pub run_controllers: bool,
    /// Static Pods never started (e.g. `etcd`, to see what kbinit does when a member never comes up).
    pub refuse: Vec<&'static str>,
}

impl KubeletStandIn {
    /// Starts watching.
    pub fn start(cfg: StandInConfig, api: FakeApi) -> KubeletStandIn {
        let stop = Arc::new(AtomicBool::new(false));
        let state = Arc::new(Mutex::new(State::default()));
        let (flag, st, root) = (stop.clone(), state.clone(), cfg.root.clone());
        let thread = std::thread::spawn(move || {
            enter_netns(&cfg.netns);
            while !flag.load(Ordering::Relaxed) {
                if let Err(e) = tick(&cfg, &api, &st) {
                    st.lock().unwrap().events.push(format!("error: {e}"));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        KubeletStandIn { stop, thread: Some(thread), state, root }
    }

    /// What happened so far, in order.
    pub fn events(&self) -> Vec<String> {
        self.state.lock().unwrap().events.clone()
    }

    /// The etcd command line it started (resolved under the root).
    pub fn etcd_args(&self) -> Vec<String> {
        self.state.lock().unwrap().etcd_args.clone()
    }

    /// etcd's log.
    pub fn etcd_log(&self) -> String {
        std::fs::read_to_string(self.root.join("etcd.log")).unwrap_or_default()
    }

    /// Kills this node's api-server-proxy (the stand-in restarts it, as systemd would).
    #[allow(dead_code)] // for the proxy tests
    pub fn kill_proxy(&self) {
        if let Some(c) = self.state.lock().unwrap().proxy.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// From now on, a static Pod whose manifest contains `needle` (e.g. `kube-apiserver:v1.30.0`) is "started"
    /// without running: its mirror Pod and hash change, nothing answers on its ports.
    pub fn break_manifests(&self, needle: &str) {
        self.state.lock().unwrap().broken.push(needle.to_string());
    }

    /// Runs every manifest again (undoes [`KubeletStandIn::break_manifests`]).
    pub fn fix_manifests(&self) {
        self.state.lock().unwrap().broken.clear();
    }

    /// From now on the kubelet reports its Node's `Ready` condition as `ready` (`False`: a NotReady node).
    #[allow(dead_code)] // for the upgrade health tests
    pub fn set_ready(&self, ready: bool) {
        self.state.lock().unwrap().not_ready = !ready;
    }

    /// The `Ready` status the kubelet last posted for its Node, if any.
    #[allow(dead_code)] // for the upgrade health tests
    pub fn posted_ready(&self) -> Option<bool> {
        self.state.lock().unwrap().posted_ready
    }

    /// Kills this node's etcd (to test what kbinit does when a member never becomes healthy).
    #[allow(dead_code)] // for the join tests
    pub fn kill_etcd(&self) {
        if let Some(mut c) = self.state.lock().unwrap().etcd.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for KubeletStandIn {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(mut c) = s.etcd.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        s.listeners.clear();
        s.controllers = None;
        super::proxyunit::stop(&mut s.proxy);
    }
}

/// Moves the calling thread into `/run/netns/<name>`: sockets it creates and processes it spawns live there.
pub(crate) fn enter_netns(name: &str) {
    let ns = std::fs::File::open(format!("/run/netns/{name}")).unwrap();
    // SAFETY: setns(2) changes only this thread's network namespace; the fd is open for the call.
    let rc = unsafe { nix::libc::setns(ns.as_raw_fd(), nix::libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns into {name}: {}", std::io::Error::last_os_error());
}

fn tick(cfg: &StandInConfig, api: &FakeApi, st: &Arc<Mutex<State>>) -> Result<(), String> {
    let root = &cfg.root;
    let under = |p: &str| root.join(p.trim_start_matches('/'));
    let mut s = st.lock().unwrap();
    if !s.healthz && under("/var/lib/kubelet/config.yaml").exists() {
        serve_kubelet_healthz()?;
        s.healthz = true;
        s.events.push("kubelet healthz on 127.0.0.1:10248".into());
    }
    if let Some(line) = super::proxyunit::supervise(root, &mut s.proxy) {
        s.events.push(line);
    }
    if s.proxy.is_some() && !root.join(super::proxyunit::UNIT).exists() {
        super::proxyunit::stop(&mut s.proxy);
    }
    // a static Pod whose manifest is gone is stopped, as the kubelet does (e.g. after `kbinit reset`)
    let gone: Vec<String> =
        s.started.iter().filter(|n| !under(&format!("/etc/kubernetes/manifests/{n}.yaml")).exists()).cloned().collect();
    // a static Pod whose manifest changed is restarted from the new one, as the kubelet does
    let changed: Vec<String> = s
        .started
        .iter()
        .filter(|n| {
            let now = std::fs::read_to_string(under(&format!("/etc/kubernetes/manifests/{n}.yaml"))).ok();
            now.is_some_and(|t| t.ends_with('\n') && s.started_from.get(*n) != Some(&t))
        })
        .cloned()
        .collect();
    for name in gone.into_iter().chain(changed) {
        if name == "etcd"
            && let Some(mut c) = s.etcd.take()
        {
            let _ = c.kill();
            let _ = c.wait();
        }
        s.listeners.retain(|(n, _)| *n != name);
        if name == "kube-controller-manager" {
            s.controllers = None;
        }
        s.started.retain(|n| *n != name);
        s.started_from.remove(&name);
        s.events.push(format!("stopped {name}"));
    }
    for name in ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"] {
        let path = under(&format!("/etc/kubernetes/manifests/{name}.yaml"));
        if s.started.iter().any(|n| n == name) || cfg.refuse.contains(&name) || !path.exists() {
            continue;
        }
        let Ok(yaml) = std::fs::read_to_string(&path) else { continue };
        if !yaml.ends_with('\n') {
            continue; // (kbinit writes atomically; a half-written file is never seen, but be safe)
        }
        if s.broken.iter().any(|b| yaml.contains(b.as_str())) {
            api.upsert(mirror_pod(&yaml, &cfg.node_name)?);
            s.started.push(name.to_string());
            s.started_from.insert(name.to_string(), yaml.clone());
            s.events.push(format!("started {name} (broken: nothing runs)"));
            continue;
        }
        let mounts = host_paths(&yaml);
        let args: Vec<String> = manifest_command(&yaml).iter().map(|f| resolve(f, &mounts, root)).collect();
        let flag = |n: &str| -> Option<String> {
            args.iter().find_map(|a| a.strip_prefix(&format!("--{n}=")).map(str::to_string))
        };
        match name {
            "etcd" => {
                let log = std::fs::File::create(root.join("etcd.log")).map_err(|e| e.to_string())?;
                let child = Command::new("etcd")
                    .args(args[1..].iter().map(|a| etcd34_flag(a)))
                    .env_clear()
                    .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                    .stdin(Stdio::null())
                    .stdout(log.try_clone().map_err(|e| e.to_string())?)
                    .stderr(log)
                    .spawn()
                    .map_err(|e| format!("starting etcd: {e}"))?;
                s.etcd = Some(child);
                s.etcd_args = args.clone();
            }
            "kube-apiserver" => {
                let (Some(cert), Some(key), Some(ca)) =
                    (flag("tls-cert-file"), flag("tls-private-key-file"), flag("client-ca-file"))
                else {
                    return Err("kube-apiserver manifest without its TLS flags".into());
                };
                let port: u16 = flag("secure-port").and_then(|p| p.parse().ok()).unwrap_or(6443);
                let tls = serving_tls(&cert, &key, &ca)?;
                s.listeners.push((name.to_string(), api.serve(format!("0.0.0.0:{port}").parse().unwrap(), tls)));
                if let Some(ip) = flag("advertise-address") {
                    super::proxyunit::add_endpoint(api, &ip, port);
                }
            }
            _ => {
                // health endpoints answered anonymously by the fake, with the API server's certificate
                let pki = under("/etc/kubernetes/pki");
                let tls = serving_tls(
                    &pki.join("apiserver.crt").display().to_string(),
                    &pki.join("apiserver.key").display().to_string(),
                    &pki.join("ca.crt").display().to_string(),
                )?;
                let port = if name == "kube-scheduler" { 10259 } else { 10257 };
                s.listeners.push((name.to_string(), api.serve(format!("127.0.0.1:{port}").parse().unwrap(), tls)));
                if name == "kube-controller-manager" && cfg.run_controllers {
                    let ca = std::fs::read_to_string(pki.join("ca.crt")).map_err(|e| e.to_string())?;
                    let ca_key = std::fs::read_to_string(pki.join("ca.key")).map_err(|e| e.to_string())?;
                    s.controllers = Some(api.start_controllers(&ca, &ca_key));
                }
            }
        }
        api.upsert(mirror_pod(&yaml, &cfg.node_name)?);
        s.started.push(name.to_string());
        s.started_from.insert(name.to_string(), yaml.clone());
        s.events.push(format!("started {name}"));
    }
    let kubelet_conf = under("/etc/kubernetes/kubelet.conf");
    let bootstrap_conf = under("/etc/kubernetes/bootstrap-kubelet.conf");
    if !kubelet_conf.exists() {
        s.registered = false; // reset: a new kubelet.conf registers again
        if s.posted_ready.take().is_some() {
            super::nodestatus::kubelet_stopped(api, &cfg.node_name);
            s.events.push(format!("Node {} Ready=Unknown (kubelet stopped)", cfg.node_name));
        }
    }
    if !kubelet_conf.exists() && bootstrap_conf.exists() && s.healthz {
        drop(s);
        tls_bootstrap(&cfg.root, &cfg.node_name, &bootstrap_conf)?;
        s = st.lock().unwrap();
        s.events.push("TLS bootstrap done: kubelet.conf written".into());
    }
    if !s.registered && kubelet_conf.exists() {
        drop(s);
        let registered = register_node(cfg)?;
        s = st.lock().unwrap();
        if registered {
            s.registered = true;
            s.events.push(format!("registered Node {}", cfg.node_name));
        }
    }
    let ready = !s.not_ready;
    if s.registered && s.posted_ready != Some(ready) {
        drop(s);
        if super::nodestatus::post_ready(root, &cfg.node_name, ready)? {
            let mut s = st.lock().unwrap();
            s.posted_ready = Some(ready);
            s.events.push(format!("Node {} Ready={ready}", cfg.node_name));
        }
    }
    Ok(())
}

/// The mirror Pod a kubelet posts for a static Pod: `<name>-<node>` in the manifest's namespace, the manifest's
/// labels and annotations plus `kubernetes.io/config.mirror`, its spec bound to the node.
pub(crate) fn mirror_pod(yaml: &str, node: &str) -> Result<Value, String> {
    let mut pod = kbinit_phases::go_format::yaml::from_yaml(yaml).map_err(|e| e.to_string())?;
    let name = pod.pointer("/metadata/name").and_then(Value::as_str).ok_or("a manifest without a name")?.to_string();
    let meta = pod.get_mut("metadata").and_then(Value::as_object_mut).ok_or("a manifest without metadata")?;
    meta.insert("name".into(), json!(format!("{name}-{node}")));
    meta.remove("creationTimestamp");
    let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
    annotations["kubernetes.io/config.mirror"] = json!("mirror");
    annotations["kubernetes.io/config.source"] = json!("file");
    annotations["kubernetes.io/config.hash"] = json!(config_hash(yaml));
    pod["spec"]["nodeName"] = json!(node);
    if let Some(o) = pod.as_object_mut() {
        o.remove("status");
    }
    Ok(pod)
}

/// The `kubernetes.io/config.hash` of a manifest: a hash of its text (the kubelet hashes the decoded Pod; any
/// function that changes with the manifest serves the upgrade's wait).
fn config_hash(yaml: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    yaml.hash(&mut h);
    format!("{:016x}", h.finish())
}

fn serving_tls(cert: &str, key: &str, ca: &str) -> Result<ServingTls, String> {
    let read = |p: &str| std::fs::read_to_string(p).map_err(|e| format!("{p}: {e}"));
    Ok(ServingTls { cert_pem: read(cert)?, key_pem: read(key)?, client_ca_pem: read(ca)? })
}

/// Plain-HTTP `ok` on 127.0.0.1:10248 for every request, from a thread of its own (the socket is bound here, in
/// the node's namespace).
pub(crate) fn serve_kubelet_healthz() -> Result<(), String> {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:10248").map_err(|e| format!("kubelet healthz: {e}"))?;
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut buf = [0u8; 1024];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
            );
        }
    });
    Ok(())
}

fn client(kubeconfig_text: &str) -> Result<kbinit::api::Cluster, String> {
    kbinit::api::Cluster::from_kubeconfig_text(kubeconfig_text, Duration::from_secs(5)).map_err(|e| format!("{e:#}"))
}

/// The kubelet's TLS bootstrap (§E.5/§K.2), done as the kubelet does it.
pub(crate) fn tls_bootstrap(root: &Path, node_name: &str, bootstrap_conf: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(bootstrap_conf).map_err(|e| e.to_string())?;
    let c = client(&text)?;
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| e.to_string())?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(rcgen::DnType::OrganizationName, "system:nodes");
    params.distinguished_name.push(rcgen::DnType::CommonName, format!("system:node:{}", node_name));
    let csr = params.serialize_request(&key).map_err(|e| e.to_string())?.pem().map_err(|e| e.to_string())?;
    // unique per bootstrap, as the kubelet's generated names are (a node may bootstrap again after a reset)
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    let name = format!("node-csr-{}-{:x}", node_name, stamp % 0xffff_ffff);
    let body = json!({
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": { "name": name },
        "spec": {
            "request": base64::engine::general_purpose::STANDARD.encode(csr),
            "signerName": "kubernetes.io/kube-apiserver-client-kubelet",
            "usages": ["digital signature", "client auth"],
        },
    });
    let csrs = kbinit_phases::api::ResourceType {
        group: "certificates.k8s.io",
        version: "v1",
        plural: "certificatesigningrequests",
        kind: "CertificateSigningRequest",
        namespaced: false,
    };
    c.create(&csrs, None, &body).map_err(|e| format!("posting the CSR: {e}"))?;
    let mut cert_pem = None;
    for _ in 0..200 {
        let got = c.get(&csrs, None, &name).map_err(|e| format!("reading the CSR: {e}"))?;
        if let Some(b64) = got.as_ref().and_then(|v| v.pointer("/status/certificate")).and_then(Value::as_str) {
            let pem = base64::engine::general_purpose::STANDARD.decode(b64).map_err(|e| e.to_string())?;
            cert_pem = Some(String::from_utf8(pem).map_err(|e| e.to_string())?);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let cert_pem = cert_pem.ok_or("the CSR was not signed within 20 s")?;
    let pki = root.join("var/lib/kubelet/pki");
    std::fs::create_dir_all(&pki).map_err(|e| e.to_string())?;
    let pem_path = pki.join("kubelet-client-current.pem");
    std::fs::write(&pem_path, format!("{cert_pem}{}", key.serialize_pem())).map_err(|e| e.to_string())?;
    // kubelet.conf: the bootstrap file's cluster, the new client certificate (embedded here: the path in the
    // real file names the node path, which the test process cannot resolve without the root)
    let mut kc = kbinit_phases::go_format::yaml::from_yaml(&text).map_err(|e| e.to_string())?;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    kc["users"] = json!([{ "name": "default-auth", "user": {
        "client-certificate-data": b64(&cert_pem), "client-key-data": b64(&key.serialize_pem()) } }]);
    // the kubelet keeps only server and CA of the bootstrap cluster (it drops tls-server-name)
    if let Some(c) = kc.pointer_mut("/clusters/0/cluster").and_then(Value::as_object_mut) {
        c.remove("tls-server-name");
    }
    if let Some(ctx) = kc.pointer_mut("/contexts/0/context/user") {
        *ctx = json!("default-auth");
    }
    std::fs::write(root.join("etc/kubernetes/kubelet.conf"), kbinit_phases::go_format::yaml::to_yaml(&kc))
        .map_err(|e| e.to_string())
}

/// Registers the Node with the kubelet's credentials; `false` while the API server is not reachable yet.
fn register_node(cfg: &StandInConfig) -> Result<bool, String> {
    let text = std::fs::read_to_string(cfg.root.join("etc/kubernetes/kubelet.conf")).map_err(|e| e.to_string())?;
    let c = client(&text)?;
    let nodes = kbinit_phases::api::ResourceType::of::<k8s_openapi::api::core::v1::Node>();
    let node = json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": { "name": cfg.node_name, "labels": {
            "kubernetes.io/hostname": cfg.node_name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
        }},
        "spec": {},
    });
    match c.call_once(
        http::Method::POST,
        &nodes.collection_path(None),
        Some(("application/json", serde_json::to_vec(&node).unwrap())),
    ) {
        Ok(_) => Ok(true),
        Err(e) if e.is_already_exists() => Ok(true),
        Err(e) if e.code().is_none() => Ok(false), // not up yet
        Err(e) => Err(format!("registering Node {}: {e}", cfg.node_name)),
    }
}
