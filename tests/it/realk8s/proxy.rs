//! kbinit's node-local API server proxy in front of two real kube-apiservers v1.33.3 on one real etcd.
//!
//! cp1 is a real control plane made by `kbinit init --api-server-proxy` (which records the proxy setting and its
//! RBAC; cp1's own kubelet stand-in reaches the API through cp1's proxy, whose unit runs as systemd would); cp2 runs
//! a second real kube-apiserver only, from cp1's manifest with its own advertise address and cp1's etcd (its PKI
//! copied), so both servers publish themselves in the real `kubernetes` EndpointSlice through their lease
//! reconcilers. w1 is a worker made by `kbinit join` (token discovery, its kubelet stand-in's TLS bootstrap signed by
//! the real controller-manager): the cluster's setting makes join write the proxy's unit, seeded with cp1 only (cp2
//! can only come from discovery), and point kubelet.conf at 127.0.0.1:7445 with `tls-server-name`.
//!
//! Traffic shaped like the kubelet's (its own identity: a watch of its Node, a Lease renewed and the Node's status
//! patched every 0.5 s) and kube-proxy's (the real `kube-system/kube-proxy` ServiceAccount's token: a watch of
//! Services and EndpointSlices, and the real kube-proxy v1.33.3 with that identity) flows through the proxy while the
//! backend carrying the most connections is stopped (its manifest moved away: the process is killed, connections
//! refused), brought back, then blackholed (an iptables `DROP` in w1's namespace of every packet to it: the backend
//! stays in the EndpointSlice, only the proxy's own checks can find it out) and let through again. Asserted: no
//! request fails outside the failover window after each event (the README's "a blackholed one within about 2 s", plus
//! one client timeout), the watches resume (the Node watch keeps seeing heartbeats, the Service watch sees a Service
//! created at the end, and the real kube-proxy programs that Service into iptables in w1's namespace), and
//! `api-server-proxy status` shows the victim out and then back healthy.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use kube::core::WatchEvent;
use serde_json::{Value, json};

use crate::support::Node;
use crate::support::nodes::lan::Lan;
use crate::support::nodes::netns::Netns;
use crate::support::nodes::proxyunit;
use crate::support::nodes::testnode::join_config;
use crate::support::realk8s::node::RealNode;

const RELEASE: &str = "v1.33.3";
const CP1: &str = "10.79.0.1";
const CP2: &str = "10.79.0.2";
const W1: &str = "10.79.0.3";
/// How long after a backend fails its clients may see errors: the blackhole detection the README documents
/// (about 2 s) plus one call timeout of the client ([`CALL_TIMEOUT`]).
const WINDOW: Duration = Duration::from_secs(5);
/// How long the test's clients wait for one answer (generous: CI runs two tests at once on two cores).
const CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// systemd's part for kbinit's unit on one node: its `ExecStart` run inside the node's namespace once the unit
/// file exists, started again if it exits; stopped on drop.
struct ProxyService {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ProxyService {
    fn start(ns: &Netns, root: &std::path::Path) -> ProxyService {
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, ns, root) = (stop.clone(), ns.name.clone(), root.to_path_buf());
        let thread = std::thread::spawn(move || {
            crate::support::nodes::kubelet::enter_netns(&ns);
            let mut child = None;
            while !flag.load(Ordering::Relaxed) {
                proxyunit::supervise(&root, &mut child);
                std::thread::sleep(Duration::from_millis(100));
            }
            proxyunit::stop(&mut child);
        });
        ProxyService { stop, thread: Some(thread) }
    }
}

impl Drop for ProxyService {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A process of the test, killed on drop.
struct Killed(std::process::Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What the clients saw: each call (start, end, error) and each watch event (time, what).
#[derive(Default)]
struct Seen {
    calls: Vec<(Instant, Instant, Option<String>)>,
    node_events: Vec<Instant>,
    services: Vec<(Instant, String)>,
    watch_starts: usize,
}

fn kubeconfig(ca: &str, user: Value) -> String {
    serde_json::to_string(&json!({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:7445", "tls-server-name": "kubernetes",
            "certificate-authority-data": ca}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
    }))
    .unwrap()
}

async fn client(text: &str) -> kube::Client {
    let kc = kube::config::Kubeconfig::from_yaml(text).unwrap();
    let mut config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default()).await.unwrap();
    config.connect_timeout = Some(Duration::from_secs(2));
    config.read_timeout = Some(Duration::from_secs(90));
    config.proxy_url = None;
    kube::Client::try_from(config).unwrap()
}

async fn call(c: &kube::Client, method: http::Method, path: &str, body: Option<Value>) -> Result<Value, String> {
    let mut req = http::Request::builder().method(method.clone()).uri(path);
    if method == http::Method::PATCH {
        req = req.header("Content-Type", "application/strategic-merge-patch+json");
    } else if body.is_some() {
        req = req.header("Content-Type", "application/json");
    }
    let req = req.body(body.map(|b| serde_json::to_vec(&b).unwrap()).unwrap_or_default()).unwrap();
    match tokio::time::timeout(CALL_TIMEOUT, c.request::<Value>(req)).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err(format!("no answer within {CALL_TIMEOUT:?}")),
    }
}

/// Watches `path` (a list path) from its current state, again after every end or break, calling `on` per event.
async fn watch(
    c: kube::Client,
    path: &str,
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
    on: impl Fn(&mut Seen, &Value),
) {
    let sep = if path.contains('?') { '&' } else { '?' };
    while !stop.load(Ordering::Relaxed) {
        let Ok(list) = call(&c, http::Method::GET, path, None).await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let rv = list.pointer("/metadata/resourceVersion").and_then(Value::as_str).unwrap_or("0").to_string();
        let req = http::Request::get(format!("{path}{sep}watch=1&timeoutSeconds=300&resourceVersion={rv}"))
            .body(Vec::new())
            .unwrap();
        let Ok(events) = c.request_events::<Value>(req).await else { continue };
        seen.lock().unwrap().watch_starts += 1;
        futures_util::pin_mut!(events);
        loop {
            let next = tokio::time::timeout(Duration::from_millis(500), events.try_next()).await;
            if stop.load(Ordering::Relaxed) {
                return;
            }
            match next {
                Err(_) => continue,
                Ok(Ok(Some(WatchEvent::Added(o) | WatchEvent::Modified(o)))) => on(&mut seen.lock().unwrap(), &o),
                Ok(Ok(Some(_))) => {}
                Ok(_) => break,
            }
        }
    }
}

/// The kubelet's and kube-proxy's traffic through w1's proxy, in a thread inside w1's namespace.
fn traffic(ns: &str, kubelet: String, kube_proxy: String, seen: Arc<Mutex<Seen>>, stop: Arc<AtomicBool>) {
    crate::support::nodes::kubelet::enter_netns(ns);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let kubelet = client(&kubelet).await;
        let proxy = client(&kube_proxy).await;
        let node_watch = watch(
            kubelet.clone(),
            "/api/v1/nodes?fieldSelector=metadata.name%3Dw1",
            seen.clone(),
            stop.clone(),
            |s, _| s.node_events.push(Instant::now()),
        );
        let slices =
            watch(proxy.clone(), "/apis/discovery.k8s.io/v1/endpointslices", seen.clone(), stop.clone(), |_, _| {});
        let services = watch(proxy, "/api/v1/services", seen.clone(), stop.clone(), |s, o| {
            let name = o.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string();
            s.services.push((Instant::now(), name));
        });
        let heartbeat = async {
            let lease = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/w1";
            let status = "/api/v1/nodes/w1/status";
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let t_now = time::OffsetDateTime::now_utc();
                let now = format!(
                    "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                    t_now.year(),
                    t_now.month() as u8,
                    t_now.day(),
                    t_now.hour(),
                    t_now.minute(),
                    t_now.second()
                );
                let mut r = call(&kubelet, http::Method::GET, lease, None).await;
                if r.is_ok() {
                    let renew = json!({"spec": {"renewTime": now.replace('Z', ".000000Z")}});
                    r = call(&kubelet, http::Method::PATCH, lease, Some(renew)).await;
                }
                if r.is_ok() {
                    let cond = json!({"status": {"conditions": [{"type": "Ready", "status": "True",
                        "reason": "KubeletReady", "lastHeartbeatTime": now, "lastTransitionTime": now}]}});
                    r = call(&kubelet, http::Method::PATCH, status, Some(cond)).await;
                }
                seen.lock().unwrap().calls.push((t, Instant::now(), r.err()));
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        };
        tokio::join!(node_watch, slices, services, heartbeat);
    });
}

/// `api-server-proxy status` on w1: (backend, health, connections).
fn status(ns: &Netns, root: &Node) -> Vec<(String, String, usize)> {
    let o = ns
        .command(env!("CARGO_BIN_EXE_kbinit"))
        .arg("--root")
        .arg(root.root())
        .args(["api-server-proxy", "status"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .skip(2)
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some((f.next()?.to_string(), f.next()?.to_string(), f.next()?.parse().ok()?))
        })
        .collect()
}

/// Waits until `want(health of addr)` holds on w1's proxy, up to `limit`; `None` = not in the table.
fn wait_health(ns: &Netns, w1: &Node, addr: &str, limit: Duration, want: impl Fn(Option<&str>) -> bool) {
    let start = Instant::now();
    loop {
        let table = status(ns, w1);
        if want(table.iter().find(|(a, _, _)| a == addr).map(|(_, h, _)| h.as_str())) {
            return;
        }
        let log = std::fs::read_to_string(w1.path("/api-server-proxy.log")).unwrap_or_default();
        assert!(start.elapsed() < limit, "{addr} on w1's proxy: {table:?}\nproxy log:\n{log}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_node_local_proxy_on_two_real_api_servers_rides_out_a_stop_and_a_blackhole() {
    for tool in ["iptables", "iptables-save"] {
        crate::support::require_tool(tool);
    }
    let lan = Lan::create("rpx", "10.79.0.100");
    let cp1 = RealNode::on_lan(&lan, "rpx1", "cp1", CP1, RELEASE);
    let cfg = cp1.file("kbinit.yaml", &super::init_config(RELEASE, CP1));
    // cp1's kubelet reaches the API through its own proxy from the start: its unit runs as soon as init writes it
    let _cp1_proxy = ProxyService::start(&cp1.ns, cp1.node.root());
    let init = cp1.kbinit_ok(&["init", "--config", &cfg, "--api-server-proxy"]);
    let pin = init.stdout.split_whitespace().find(|w| w.starts_with("sha256:")).unwrap().to_string();

    // cp2: a second real kube-apiserver on cp1's etcd, with its own advertise address
    let cp2 = RealNode::on_lan(&lan, "rpx2", "cp2", CP2, RELEASE);
    let pki = cp1.node.path("/etc/kubernetes/pki");
    std::fs::create_dir_all(cp2.node.path("/etc/kubernetes/manifests")).unwrap();
    let o =
        std::process::Command::new("cp").arg("-a").arg(&pki).arg(cp2.node.path("/etc/kubernetes")).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let manifest = cp1.node.read_str("/etc/kubernetes/manifests/kube-apiserver.yaml");
    let second = manifest
        .replace(&format!("--advertise-address={CP1}"), &format!("--advertise-address={CP2}"))
        .replace("--etcd-servers=https://127.0.0.1:2379", &format!("--etcd-servers=https://{CP1}:2379"));
    assert!(
        second.contains(&format!("--advertise-address={CP2}")) && second.contains(&format!("https://{CP1}:2379")),
        "{second}"
    );
    let live2 = cp2.node.path("/etc/kubernetes/manifests/kube-apiserver.yaml");
    std::fs::write(&live2, &second).unwrap();

    // w1: a worker made by `kbinit join`: the cluster's proxy setting makes join write the unit (run as systemd
    // would) and point the kubelet's kubeconfigs at 127.0.0.1:7445; its TLS bootstrap goes through the proxy
    let deadline = Instant::now() + Duration::from_secs(60);
    while cp1
        .with_admin(|api| {
            api.call_once(http::Method::GET, "/api/v1/namespaces/kube-public/configmaps/cluster-info", None)
        })
        .ok()
        .and_then(|ci| ci.pointer("/data/jws-kubeconfig-abcdef").cloned())
        .is_none()
    {
        assert!(Instant::now() < deadline, "cluster-info was never signed\n{}", cp1.report());
        std::thread::sleep(Duration::from_millis(500));
    }
    let w1node = RealNode::on_lan(&lan, "rpxw", "w1", W1, RELEASE);
    let (w1ns, w1) = (&w1node.ns, &w1node.node);
    let _w1_proxy = ProxyService::start(w1ns, w1.root());
    let join = join_config(&format!("{CP1}:6443"), "w1", "abcdef.0123456789abcdef", &pin, None, None);
    let jcfg = w1node.file("join.yaml", &join);
    w1node.kbinit_ok(&["join", "--config", &jcfg]);
    let unit = w1.read_str("/etc/systemd/system/kbinit-api-server-proxy.service");
    let exec = unit.lines().find_map(|l| l.strip_prefix("ExecStart=")).unwrap().to_string();
    assert!(exec.contains(&format!("--server {CP1}:6443")) && !exec.contains(CP2), "seeded with cp1 only: {exec}");
    let kubelet_conf = w1.read_str("/etc/kubernetes/kubelet.conf");
    assert!(
        kubelet_conf.contains("server: https://127.0.0.1:7445") && kubelet_conf.contains("tls-server-name: kubernetes"),
        "{kubelet_conf}"
    );

    // both servers learnt from the real EndpointSlice (cp2's API server takes a while to start)
    for a in [CP1, CP2] {
        wait_health(w1ns, w1, &format!("{a}:6443"), Duration::from_secs(120), |h| h == Some("healthy"));
    }

    // the Node's Lease, as a kubelet creates it (its own identity, through the proxy); the real
    // kube-proxy ServiceAccount's token for the kube-proxy-shaped watches
    let (ca, token) = cp1.with_admin(|api| {
        let sa = "/api/v1/namespaces/kube-system/serviceaccounts/kube-proxy/token";
        let req = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"expirationSeconds": 3600}});
        let t = api.call_once(http::Method::POST, sa, Some(("application/json", serde_json::to_vec(&req).unwrap())));
        let t = t.unwrap()["status"]["token"].as_str().unwrap().to_string();
        let ca = kubelet_conf.lines().find_map(|l| l.trim().strip_prefix("certificate-authority-data: "));
        (ca.expect("the CA in kubelet.conf").to_string(), t)
    });
    let kube_proxy = kubeconfig(&ca, json!({"token": token}));
    // and the real kube-proxy v1.33.3 with that kubeconfig, programming iptables in w1's namespace
    w1.put("/var/lib/kube-proxy/kubeconfig.conf", kube_proxy.as_bytes());
    let kp_log = std::fs::File::create(w1.path("/kube-proxy.log")).unwrap();
    let _kube_proxy = Killed(
        w1ns.command(crate::support::realk8s::bins::binary(RELEASE, "kube-proxy").to_str().unwrap())
            .arg(format!("--kubeconfig={}", w1.path("/var/lib/kube-proxy/kubeconfig.conf").display()))
            .args(["--hostname-override=w1", "--proxy-mode=iptables", "--cluster-cidr=10.244.0.0/16"])
            // the conntrack table size is a host-wide sysctl a network namespace cannot set
            .args(["--conntrack-max-per-core=0", "--metrics-bind-address=127.0.0.1:10249"])
            .stdout(kp_log.try_clone().unwrap())
            .stderr(kp_log)
            .spawn()
            .unwrap(),
    );
    let kubelet_text = kubelet_conf.clone();
    let ns = w1ns.name.clone();
    std::thread::scope(|s| {
        s.spawn(move || {
            crate::support::nodes::kubelet::enter_netns(&ns);
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let c = client(&kubelet_text).await;
                // the node's kubelet stand-in registered the Node through the proxy during the join
                call(&c, http::Method::GET, "/api/v1/nodes/w1", None).await.expect("Node w1 registered by its kubelet");
                let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": "w1", "namespace": "kube-node-lease"},
                    "spec": {"holderIdentity": "w1", "leaseDurationSeconds": 40}});
                let path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases";
                call(&c, http::Method::POST, path, Some(lease)).await.expect("Lease w1 created as the kubelet");
            })
        });
    });

    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let (ns, seen, stop) = (w1ns.name.clone(), seen.clone(), stop.clone());
        std::thread::spawn(move || traffic(&ns, kubelet_conf, kube_proxy, seen, stop))
    };
    std::thread::sleep(Duration::from_secs(4));

    // the victim of each event: the backend carrying the most of w1's connections now
    let victim = || {
        let table = status(w1ns, w1);
        let v = table.iter().max_by_key(|(a, _, n)| (*n, a.clone())).unwrap();
        assert!(v.2 > 0, "the clients' connections go through the proxy: {table:?}");
        v.0.split(':').next().unwrap().to_string()
    };
    let node_of = |ip: &str| if ip == CP1 { &cp1 } else { &cp2 };

    // 1. stopped: its manifest moved away, the supervisor kills the process
    let stopped = victim();
    let live = node_of(&stopped).node.path("/etc/kubernetes/manifests/kube-apiserver.yaml");
    let parked = node_of(&stopped).node.path("/kube-apiserver.yaml.stopped");
    let t_stop = Instant::now();
    std::fs::rename(&live, &parked).unwrap();
    let addr = format!("{stopped}:6443");
    wait_health(w1ns, w1, &addr, Duration::from_secs(5), |h| h != Some("healthy"));
    std::thread::sleep(Duration::from_secs(6));
    std::fs::rename(&parked, &live).unwrap();
    wait_health(w1ns, w1, &addr, Duration::from_secs(120), |h| h == Some("healthy"));
    std::thread::sleep(Duration::from_secs(3));

    // 2. blackholed: every packet from w1 to it dropped
    let holed = victim();
    let rule = ["OUTPUT", "-d", holed.as_str(), "-j", "DROP"];
    let t_hole = Instant::now();
    w1ns.exec_ok("iptables", &[&["-A"][..], &rule[..]].concat());
    let addr = format!("{holed}:6443");
    wait_health(w1ns, w1, &addr, Duration::from_secs(6), |h| h != Some("healthy"));
    std::thread::sleep(Duration::from_secs(8));
    w1ns.exec_ok("iptables", &[&["-D"][..], &rule[..]].concat());
    wait_health(w1ns, w1, &addr, Duration::from_secs(30), |h| h == Some("healthy"));

    // the Service watch still delivers (a Service created now is seen)
    cp1.with_admin(|api| {
        let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "after-failover"},
            "spec": {"ports": [{"port": 80}]}});
        let body = Some(("application/json", serde_json::to_vec(&svc).unwrap()));
        api.call_once(http::Method::POST, "/api/v1/namespaces/default/services", body).unwrap();
    });
    let t_svc = Instant::now();
    while !seen.lock().unwrap().services.iter().any(|(_, n)| n == "after-failover") {
        assert!(t_svc.elapsed() < Duration::from_secs(10), "the Service watch did not resume");
        std::thread::sleep(Duration::from_millis(100));
    }
    // the real kube-proxy's informers resumed too: it programs the new Service
    let t_kp = Instant::now();
    loop {
        let rules = String::from_utf8_lossy(&w1ns.exec("iptables-save", &[]).stdout).into_owned();
        if rules.contains("default/after-failover") {
            break;
        }
        let log = std::fs::read_to_string(w1.path("/kube-proxy.log")).unwrap_or_default();
        assert!(t_kp.elapsed() < Duration::from_secs(30), "kube-proxy never programmed the Service\n{log}\n{rules}");
        std::thread::sleep(Duration::from_millis(250));
    }
    stop.store(true, Ordering::Relaxed);
    thread.join().unwrap();

    let seen = seen.lock().unwrap();
    let in_window = |t: Instant| [t_stop, t_hole].iter().any(|e| t + CALL_TIMEOUT >= *e && t <= *e + WINDOW);
    let late: Vec<_> = seen.calls.iter().filter(|(s, _, e)| e.is_some() && !in_window(*s)).collect();
    let failed = seen.calls.iter().filter(|(_, _, e)| e.is_some()).count();
    let log = std::fs::read_to_string(w1.path("/api-server-proxy.log")).unwrap_or_default();
    assert!(late.is_empty(), "calls failed outside the failover window: {late:?}\nproxy log:\n{log}");
    // the Node watch sees heartbeats again after each event: no gap longer than the window, plus the watch's
    // re-list (one call timeout when it first meets a connection the proxy cut) and a heartbeat (1 s resolution)
    let first = seen.node_events.first().copied().expect("the Node watch saw the heartbeats");
    let gap = seen.node_events.windows(2).map(|w| w[1] - w[0]).max().unwrap_or_default();
    assert!(gap <= WINDOW + Duration::from_secs(3), "the Node watch paused {gap:?}\nproxy log:\n{log}");
    assert!(seen.node_events.last().unwrap().duration_since(first) > Duration::from_secs(20));
    let ok = seen.calls.len() - failed;
    eprintln!(
        "[realk8s proxy] stopped {stopped}, blackholed {holed}: {ok} kubelet heartbeats served, {failed} failed \
         within the window, longest Node watch gap {gap:?}, {} watch (re)starts",
        seen.watch_starts
    );
    assert!(seen.watch_starts >= 4, "the watches were re-established after their backend went: {}", seen.watch_starts);
}
