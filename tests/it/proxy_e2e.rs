//! HA with no load balancer anywhere (issue 11): test nodes on a private LAN, `init --api-server-proxy` on cp1
//! with cp1's own address as the control-plane endpoint, cp2 and cp3 joining as control-plane nodes at the same
//! time, two workers; every node's kubelet stand-in runs kbinit's api-server-proxy from the unit file kbinit
//! wrote (as systemd would) and the API servers publish themselves in the `kubernetes` EndpointSlice (as the
//! real reconciler does). Then: every proxy lists the three API servers healthy; cp1's API server is stopped and
//! cp2 blackholed (a blackhole route in its namespace drops everything it sends to the LAN) while a worker's client keeps calling the API
//! through 127.0.0.1:7445, the time to recovered traffic printed; a fourth control-plane node joins later and
//! appears in every proxy without a restart; a proxy restarted while every API server is down comes back from
//! its cache and serves as soon as one is up.
//!
//! fake-api: to move: a worker joined with the proxy on, a stopped and a blackholed server are `realk8s::proxy`;
//! control-plane joins with the proxy on, a later control-plane join and the restart from the cache with every server
//! down are not there yet.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::fakeapi::FakeApi;
use crate::support::nodes::lan::Lan;
use crate::support::nodes::testnode::{TestNode, join_config};
use crate::support::{Run, require_tool};

const VERSION: &str = "v1.34.0";

fn addr(i: u8) -> String {
    format!("10.78.0.{i}")
}

fn ok(run: Run, what: &str, node: &TestNode) -> Run {
    let log = std::fs::read_to_string(node.node.path("/api-server-proxy.log")).unwrap_or_default();
    assert_eq!(
        run.code,
        0,
        "{what} failed\nstdout:\n{}\nstderr:\n{}\nstand-in: {:?}\nproxy log:\n{log}",
        run.stdout,
        run.stderr,
        node.standin.events()
    );
    run
}

/// The backends `api-server-proxy status` shows on `node`, with their health.
fn backends(node: &TestNode) -> Vec<(String, String)> {
    let run = node.kbinit(&["api-server-proxy", "status"]);
    run.stdout
        .lines()
        .skip(2)
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some((f.next()?.to_string(), f.next()?.to_string()))
        })
        .collect()
}

fn wait_backends(nodes: &[&TestNode], want: &[String], limit: Duration) {
    let start = Instant::now();
    for n in nodes {
        loop {
            let got = backends(n);
            let healthy: Vec<&String> = got.iter().filter(|(_, h)| h == "healthy").map(|(a, _)| a).collect();
            if want.iter().all(|w| healthy.contains(&w)) && got.len() == want.len() {
                break;
            }
            let log = std::fs::read_to_string(n.node.path("/api-server-proxy.log")).unwrap_or_default();
            assert!(
                start.elapsed() < limit,
                "{}: backends {got:?}, want {want:?} healthy\nproxy log:\n{log}",
                n.standin.root.display()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

/// A client on a worker calling the API through its proxy (the kubelet's kubelet.conf) every 50 ms: on one
/// kept-alive connection (as a kubelet's watch), or `fresh` with a new connection per call (spread over the API
/// servers by the proxy, so some calls meet the failed one).
struct Prober {
    log: Arc<Mutex<Vec<(Instant, Instant, bool)>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Prober {
    fn start(node: &TestNode, name: &str, fresh: bool) -> Prober {
        let kubeconfig = std::fs::read_to_string(node.node.path("/etc/kubernetes/kubelet.conf")).unwrap();
        assert!(kubeconfig.contains("server: https://127.0.0.1:7445"), "{kubeconfig}");
        assert!(kubeconfig.contains("tls-server-name: kubernetes"), "{kubeconfig}");
        let (log, stop) = (Arc::new(Mutex::new(Vec::new())), Arc::new(AtomicBool::new(false)));
        let (l, s, ns, path) = (log.clone(), stop.clone(), node.ns.name.clone(), format!("/api/v1/nodes/{name}"));
        let thread = std::thread::spawn(move || {
            crate::support::nodes::kubelet::enter_netns(&ns);
            let mut client = None;
            while !s.load(Ordering::Relaxed) {
                let t = Instant::now();
                if client.is_none() || fresh {
                    client = kbinit::api::Cluster::from_kubeconfig_text(&kubeconfig, Duration::from_secs(2)).ok();
                }
                let good = client.as_ref().is_some_and(|c| c.call_once(http::Method::GET, &path, None).is_ok());
                l.lock().unwrap().push((t, Instant::now(), good));
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        Prober { log, stop, thread: Some(thread) }
    }

    /// The time from `t0` until the end of the last failed or slow (over 0.5 s) call after it.
    fn failover_since(&self, t0: Instant) -> Duration {
        let log = self.log.lock().unwrap();
        log.iter()
            .filter(|(start, end, good)| {
                *end > t0
                    && (!good || *end - *start > Duration::from_millis(500))
                    && *start >= t0 - Duration::from_secs(1)
            })
            .map(|(_, end, _)| *end - t0)
            .max()
            .unwrap_or_default()
    }

    fn good_since(&self, t: Instant) -> usize {
        self.log.lock().unwrap().iter().filter(|(start, _, good)| *start >= t && *good).count()
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn apiserver_manifest(n: &TestNode) -> (std::path::PathBuf, std::path::PathBuf) {
    (n.node.path("/etc/kubernetes/manifests/kube-apiserver.yaml"), n.node.path("/kube-apiserver.yaml.stopped"))
}

fn stop_apiserver(n: &TestNode) {
    let (live, parked) = apiserver_manifest(n);
    std::fs::rename(live, parked).unwrap();
}

fn start_apiserver(n: &TestNode) {
    let (live, parked) = apiserver_manifest(n);
    std::fs::rename(parked, live).unwrap();
}

#[test]
fn ha_without_a_load_balancer_through_the_node_local_proxy() {
    if !require_tool("etcd") || !require_tool("etcdctl") || !require_tool("ip") {
        return;
    }
    let api = FakeApi::new();
    let lan = Lan::create("px", "10.78.0.100");
    let cp1 = TestNode::start("px1", "cp1", &[], &api, true);
    let cp2 = TestNode::start("px2", "cp2", &[], &api, false);
    let cp3 = TestNode::start("px3", "cp3", &[], &api, false);
    let w4 = TestNode::start("px4", "w4", &[], &api, false);
    let w5 = TestNode::start("px5", "w5", &[], &api, false);
    let cp6 = TestNode::start("px6", "cp6", &[], &api, false);
    for (i, n) in [&cp1, &cp2, &cp3, &w4, &w5, &cp6].iter().enumerate() {
        lan.attach(&n.ns, &addr(i as u8 + 1));
    }

    // cp1: init with its own address as the endpoint, no load balancer
    let cfg = cp1.config(&crate::support::nodes::testnode::init_config(VERSION, &addr(1), &addr(1)));
    let run = ok(cp1.kbinit(&["init", "--config", &cfg, "--upload-certs", "--api-server-proxy"]), "init on cp1", &cp1);
    let token = run.stdout.lines().find_map(|l| l.strip_prefix("[bootstrap-token] Using token: ")).unwrap().to_string();
    let key =
        run.stdout.lines().skip_while(|l| *l != "[upload-certs] Using certificate key:").nth(1).unwrap().to_string();
    let pin = run.stdout.split_whitespace().find(|w| w.starts_with("sha256:")).unwrap().to_string();
    assert!(run.stdout.contains("kbinit api-server-proxy install"), "{}", run.stdout);
    let admin = cp1.node.read_str("/etc/kubernetes/admin.conf");
    assert!(admin.contains(&format!("server: https://{}:6443", addr(1))), "admin.conf keeps the endpoint: {admin}");

    // cp2 and cp3 at the same time, then both workers at the same time
    let run_all = |jobs: Vec<(&TestNode, String)>| {
        std::thread::scope(|s| {
            let hs: Vec<_> =
                jobs.iter().map(|(n, cfg)| s.spawn(move || n.kbinit(&["join", "--config", cfg]))).collect();
            for (h, (n, _)) in hs.into_iter().zip(&jobs) {
                ok(h.join().unwrap(), "join", n);
            }
        })
    };
    let cp_join = |n: &TestNode, name: &str, i: u8| {
        n.config(&join_config(&format!("{}:6443", addr(1)), name, &token, &pin, Some((&addr(i), &key)), Some("2m")))
    };
    run_all(vec![(&cp2, cp_join(&cp2, "cp2", 2)), (&cp3, cp_join(&cp3, "cp3", 3))]);
    let w_join = |n: &TestNode, name: &str| {
        n.config(&join_config(&format!("{}:6443", addr(1)), name, &token, &pin, None, Some("2m")))
    };
    run_all(vec![(&w4, w_join(&w4, "w4")), (&w5, w_join(&w5, "w5"))]);
    for n in [&cp1, &cp2, &cp3, &w4, &w5] {
        assert!(n.node.path("/etc/systemd/system/kbinit-api-server-proxy.service").exists());
    }

    // every node's proxy: the three API servers, healthy (learnt from the EndpointSlice through itself)
    let three: Vec<String> = (1..=3).map(|i| format!("{}:6443", addr(i))).collect();
    let all = [&cp1, &cp2, &cp3, &w4, &w5];
    wait_backends(&all, &three, Duration::from_secs(60));
    for n in all {
        // workers too have the cluster CA (join writes it): the checks are /readyz, answered by the API servers
        let log = std::fs::read_to_string(n.node.path("/api-server-proxy.log")).unwrap_or_default();
        assert!(log.contains("health checks: GET /readyz over TLS"), "{}: {log}", n.standin.root.display());
    }
    assert!(
        api.object("/api/v1/nodes/w4").is_some() && api.object("/api/v1/nodes/w5").is_some(),
        "the kubelets registered through 127.0.0.1"
    );

    // failures while a worker's client keeps calling the API through its proxy
    let prober = Prober::start(&w4, "w4", false);
    let fresh = Prober::start(&w4, "w4", true);
    std::thread::sleep(Duration::from_secs(2));
    let t0 = Instant::now();
    stop_apiserver(&cp1);
    std::thread::sleep(Duration::from_secs(6));
    let refused = (prober.failover_since(t0), fresh.failover_since(t0));
    let t1 = Instant::now();
    // a blackhole: every packet cp2 sends to the LAN is dropped (a more specific route than the LAN's /24)
    cp2.ns.exec_ok("ip", &["route", "add", "blackhole", "10.78.0.0/25"]);
    std::thread::sleep(Duration::from_secs(10));
    let blackholed = (prober.failover_since(t1), fresh.failover_since(t1));
    let served = (prober.good_since(t1 + Duration::from_secs(5)), fresh.good_since(t1 + Duration::from_secs(5)));
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    eprintln!(
        "[proxy_e2e] worker traffic recovered (kept-alive connection / a connection per call): {:.0} / {:.0} ms after \
         cp1's API server stopped, {:.0} / {:.0} ms after cp2 was blackholed",
        ms(refused.0),
        ms(refused.1),
        ms(blackholed.0),
        ms(blackholed.1)
    );
    assert!(
        served.0 > 20 && served.1 > 10,
        "the worker's API calls go on through cp3 ({served:?} good calls in the last 5 s)"
    );
    drop(fresh);
    let w4_view = backends(&w4);
    assert!(w4_view.contains(&(format!("{}:6443", addr(3)), "healthy".into())), "{w4_view:?}");
    assert!(w4_view.contains(&(format!("{}:6443", addr(1)), "unhealthy".into())), "{w4_view:?}");
    assert!(w4_view.contains(&(format!("{}:6443", addr(2)), "unhealthy".into())), "{w4_view:?}");
    drop(prober);

    // both back; a fourth control-plane node joins and appears in every proxy, none restarted
    cp2.ns.exec_ok("ip", &["route", "del", "blackhole", "10.78.0.0/25"]);
    start_apiserver(&cp1);
    wait_backends(&all, &three, Duration::from_secs(30));
    ok(cp6.kbinit(&["join", "--config", &cp_join(&cp6, "cp6", 6)]), "control-plane join of cp6", &cp6);
    let four: Vec<String> = [1u8, 2, 3, 6].iter().map(|i| format!("{}:6443", addr(*i))).collect();
    wait_backends(&[&cp1, &cp2, &cp3, &w4, &w5, &cp6], &four, Duration::from_secs(30));
    // init again on cp1 with the same configuration converges (the kubelet's kubeconfig through the proxy is
    // its own, not a foreign file)
    let again = ok(cp1.kbinit(&["init", "--config", &cfg, "--api-server-proxy"]), "init again on cp1", &cp1);
    assert!(!again.stderr.contains("[ERROR"), "{}", again.stderr);
    for n in all {
        let ev = n.standin.events();
        assert!(!ev.iter().any(|e| e.starts_with("restarted api-server-proxy")), "{ev:?}");
    }

    // every API server down, w5's proxy restarted: it comes back from its cache and serves once one is up
    for n in [&cp1, &cp2, &cp3, &cp6] {
        stop_apiserver(n);
    }
    std::thread::sleep(Duration::from_secs(2));
    w5.standin.kill_proxy();
    let start = Instant::now();
    let restarted = loop {
        let status = w5.kbinit(&["api-server-proxy", "status"]).stdout;
        if w5.standin.events().iter().any(|e| e.starts_with("restarted api-server-proxy"))
            && status.contains("from the cache")
        {
            break status;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "w5's proxy did not come back from its cache: {status}");
        std::thread::sleep(Duration::from_millis(200));
    };
    for a in &four {
        assert!(restarted.contains(a.as_str()), "{restarted}");
    }
    let prober = Prober::start(&w5, "w5", true);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        prober.good_since(Instant::now() - Duration::from_secs(2)),
        0,
        "nothing to serve with every API server down"
    );
    let up = Instant::now();
    start_apiserver(&cp3);
    let served = loop {
        if prober.good_since(up) > 0 {
            break up.elapsed();
        }
        assert!(up.elapsed() < Duration::from_secs(20), "w5 not served after cp3's API server came back");
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!(
        "[proxy_e2e] a proxy restarted with every API server down served {:.0} ms after one came back",
        served.as_secs_f64() * 1e3
    );
}
