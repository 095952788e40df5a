//! The commands that talk to the container runtime, run as an operator runs them, against the CRI server
//! stand-in listening at the node's `/var/run/containerd/containerd.sock` (under `--root`, where kbinit detects
//! it): `config images pull` (every image once, in `config images list`'s order, kubeadm's lines; a refused image
//! retried five times then reported, exit 1; a runtime that is down), preflight's `CRI` and `ImagePull` checks,
//! and reset's removal of the pod sandboxes (stop then remove, each).

use kbinit::cri::proto::path;
use tonic::Code;

use crate::support::Node;
use crate::support::config::init_yaml;
use crate::support::cri_stub::{CriStub, Sandbox, State};

const VERSION: &str = "v1.28.7";

fn stub(node: &Node, state: State) -> CriStub {
    CriStub::start(&node.path("/var/run/containerd/containerd.sock"), state)
}

fn images(node: &Node) -> Vec<String> {
    let run = node.kbinit(&["config", "images", "list", "--kubernetes-version", VERSION]).ok();
    run.stdout.lines().map(str::to_string).collect()
}

fn pulled(s: &CriStub) -> Vec<String> {
    s.calls().into_iter().filter(|(p, _)| p == path::PULL_IMAGE).map(|(_, i)| i).collect()
}

#[test]
fn config_images_pull_pulls_every_image_once() {
    let node = Node::new();
    let list = images(&node);
    assert_eq!(list.len(), 7, "{list:?}");
    // an image already present is pulled all the same: kubeadm's `config images pull` does not ask first
    let s = stub(&node, State { images: vec![list[4].clone()], ..Default::default() });
    let run = node.kbinit(&["config", "images", "pull", "--kubernetes-version", VERSION]).ok();
    let expected: Vec<String> = list.iter().map(|i| format!("[config/images] Pulled {i}")).collect();
    assert_eq!(run.stdout.lines().collect::<Vec<_>>(), expected);
    assert_eq!(pulled(&s), list, "each image pulled once, in order");
    assert_eq!(s.count(path::IMAGE_STATUS), 0);
}

#[test]
fn config_images_pull_retries_a_refused_image_then_reports_it() {
    let node = Node::new();
    let list = images(&node);
    let etcd = list.iter().find(|i| i.contains("/etcd:")).unwrap().clone();
    let message = format!(
        "failed to pull and unpack image \"{etcd}\": failed to resolve reference \"{etcd}\": unexpected status from HEAD request: 503 Service Unavailable"
    );
    let mut state = State::default();
    state.refuse_pull.insert(etcd.clone(), (usize::MAX, Code::Unknown, message.clone()));
    // the first image fails twice, then works: retried, not reported
    state.refuse_pull.insert(list[0].clone(), (2, Code::Unknown, "i/o timeout".into()));
    let s = stub(&node, state);
    let run = node.kbinit(&["config", "images", "pull", "--kubernetes-version", VERSION]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let at = list.iter().position(|i| *i == etcd).unwrap();
    let expected: Vec<String> = list[..at].iter().map(|i| format!("[config/images] Pulled {i}")).collect();
    assert_eq!(run.stdout.lines().collect::<Vec<_>>(), expected, "the images before etcd, then it stops");
    assert!(run.stderr.contains(&format!("failed to pull image {etcd} (5 attempts): ")), "{}", run.stderr);
    assert!(run.stderr.contains(&format!("rpc error: code = Unknown desc = {message}")), "{}", run.stderr);
    let calls = pulled(&s);
    assert_eq!(calls.iter().filter(|i| **i == etcd).count(), 5, "kubeadm's PullImageRetry");
    assert_eq!(calls.iter().filter(|i| **i == list[0]).count(), 3);
    assert!(list[at + 1..].iter().all(|i| !calls.contains(i)), "nothing after the failed image");
}

#[test]
fn config_images_pull_with_no_runtime_names_the_socket() {
    let node = Node::new();
    let run = node.kbinit(&[
        "config",
        "images",
        "pull",
        "--kubernetes-version",
        VERSION,
        "--cri-socket",
        "unix:///run/crio/crio.sock",
    ]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(run.stderr.contains("no container runtime answers at unix:///run/crio/crio.sock"), "{}", run.stderr);
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);
}

fn preflight_config(policy: &str) -> String {
    init_yaml(VERSION, "10.0.0.10")
        .without_cri_socket()
        .node_registration(&format!("imagePullPolicy: {policy}"))
        .build()
}

fn preflight(node: &Node, policy: &str) -> crate::support::Run {
    node.put("/kbinit.yaml", preflight_config(policy).as_bytes());
    let cfg = node.path("/kbinit.yaml");
    // whatever else this host lacks is ignored; the CRI findings are what is looked at
    node.kbinit(&["init", "phase", "preflight", "--config", cfg.to_str().unwrap(), "--ignore-preflight-errors=all"])
}

#[test]
fn preflight_asks_the_runtime_and_pulls_only_what_is_missing() {
    let node = Node::new();
    let list = images(&node);
    let s = stub(&node, State { images: list[..3].to_vec(), ..Default::default() });
    let run = preflight(&node, "IfNotPresent");
    assert!(!run.stderr.contains("[WARNING CRI]"), "{}", run.stderr);
    assert!(!run.stderr.contains("[WARNING ImagePull]"), "{}", run.stderr);
    assert!(s.count(path::STATUS) >= 1);
    assert_eq!(pulled(&s), list[3..], "the images present are not pulled again");
    assert!(!run.stderr.contains("sandbox image"), "no sandbox image reported, no warning\n{}", run.stderr);
    // Always: every image pulled, none asked about
    let s2 = stub(&node, State { images: list.clone(), ..Default::default() });
    preflight(&node, "Always");
    assert_eq!(pulled(&s2), list);
    // Never: nothing pulled; a runtime on another pause image than kubeadm's is warned about
    let pause = list.iter().find(|i| i.contains("/pause:")).unwrap();
    let s3 = stub(&node, State { sandbox_image: Some("registry.k8s.io/pause:3.6".into()), ..Default::default() });
    let run = preflight(&node, "Never");
    assert!(pulled(&s3).is_empty());
    let want = format!(
        "[WARNING] detected that the sandbox image \"registry.k8s.io/pause:3.6\" of the container runtime is \
         inconsistent with that used by kubeadm. It is recommended to use \"{pause}\" as the CRI sandbox image."
    );
    assert!(run.stderr.contains(&want), "{}", run.stderr);
}

#[test]
fn preflight_reports_a_refused_pull_and_a_runtime_that_is_down() {
    let node = Node::new();
    let list = images(&node);
    let mut state = State::default();
    state.refuse_pull.insert(list[1].clone(), (usize::MAX, Code::NotFound, format!("{}: not found", list[1])));
    let s = stub(&node, state);
    let run = preflight(&node, "IfNotPresent");
    let want = format!("\t[WARNING ImagePull]: failed to pull image {} (5 attempts): ", list[1]);
    assert!(run.stderr.contains(&want), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("rpc error: code = NotFound desc = {}: not found", list[1])),
        "{}",
        run.stderr
    );
    drop(s);
    // the runtime stopped (its socket left behind): the CRI check says so, naming the socket
    let run = preflight(&node, "IfNotPresent");
    let cri = run.stderr.lines().find(|l| l.contains("[WARNING CRI]")).unwrap_or_else(|| panic!("{}", run.stderr));
    assert!(cri.contains("container runtime is not running: no container runtime answers at unix:///var/run/containerd/containerd.sock"), "{cri}");
    assert!(cri.contains("connection refused"), "{cri}");
    assert!(run.stderr.contains("[WARNING ImagePull]: the images were neither checked nor pulled: "), "{}", run.stderr);
}

#[test]
fn reset_stops_and_removes_every_pod_sandbox() {
    let node = Node::new();
    let sandboxes = vec![Sandbox::new("e1", "etcd-cp1"), Sandbox::new("a1", "kube-apiserver-cp1")];
    let s = stub(&node, State { sandboxes, ..Default::default() });
    let run = node.kbinit(&["reset", "--force"]).ok();
    assert!(run.stdout.contains("[reset] Removing Kubernetes-managed containers"), "{}", run.stdout);
    assert!(!run.stderr.contains("Failed to remove containers"), "{}", run.stderr);
    let calls: Vec<_> =
        s.calls().into_iter().map(|(p, id)| format!("{}:{id}", p.rsplit('/').next().unwrap())).collect();
    assert_eq!(
        calls,
        ["ListPodSandbox:", "StopPodSandbox:e1", "RemovePodSandbox:e1", "StopPodSandbox:a1", "RemovePodSandbox:a1"]
    );
    assert!(s.state.lock().unwrap().sandboxes.is_empty());
}

#[test]
fn reset_warns_about_a_sandbox_that_will_not_stop() {
    let node = Node::new();
    let mut state = State { sandboxes: vec![Sandbox::new("stuck", "etcd-cp1")], ..Default::default() };
    state.refuse_stop.insert("stuck".into(), usize::MAX);
    let s = stub(&node, state);
    let run = node.kbinit(&["reset", "--force"]).ok();
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("Failed to remove containers"))
        .unwrap_or_else(|| panic!("{}", run.stderr));
    assert!(line.contains("[reset] Failed to remove containers: failed to stop running pod stuck: "), "{line}");
    assert_eq!(s.count(path::STOP_POD_SANDBOX), 5, "kubeadm's RemoveContainerRetry");
    assert_eq!(s.count(path::REMOVE_POD_SANDBOX), 0);
    // without a runtime under the root, reset says it leaves the containers alone
    drop(s);
    std::fs::remove_file(node.path("/var/run/containerd/containerd.sock")).unwrap();
    let run = node.kbinit(&["reset", "--force"]).ok();
    assert!(run.stdout.contains("[reset] Not removing containers: --root is"), "{}", run.stdout);
}

#[test]
fn reset_asks_the_runtime_the_kubelet_was_set_up_with() {
    // two runtimes on the node; the kubelet's instance-config.yaml names CRI-O's socket, so reset asks CRI-O
    let node = Node::new();
    let containerd = stub(&node, State { sandboxes: vec![Sandbox::new("c1", "other")], ..Default::default() });
    let crio = CriStub::start(
        &node.path("/var/run/crio/crio.sock"),
        State { sandboxes: vec![Sandbox::new("k1", "etcd-cp1")], ..Default::default() },
    );
    node.put(
        "/var/lib/kubelet/instance-config.yaml",
        b"containerRuntimeEndpoint: \"unix:///var/run/crio/crio.sock\"\n",
    );
    node.kbinit(&["reset", "--force"]).ok();
    assert!(crio.state.lock().unwrap().sandboxes.is_empty());
    assert!(containerd.calls().is_empty(), "{:?}", containerd.calls());
}

#[test]
fn config_images_pull_reads_the_config_and_refuses_bad_input_before_pulling() {
    let node = Node::new();
    let s = stub(&node, State::default());
    // a version outside kbinit's range: invalid input (exit 3), the runtime never asked
    let bad = node.kbinit(&["config", "images", "pull", "--kubernetes-version", "v1.20.0"]);
    assert_eq!(bad.code, 3, "{}\n{}", bad.stdout, bad.stderr);
    assert!(s.calls().is_empty(), "{:?}", s.calls());
    // --config: its imageRepository and criSocket are used
    let text = init_yaml("v1.29.0", "10.0.0.10")
        .cri_socket("unix:///var/run/containerd/containerd.sock")
        .cluster("imageRepository: mirror.example.com/k8s\n")
        .build();
    node.put("/cfg.yaml", text.as_bytes());
    let cfg = node.path("/cfg.yaml");
    let run = node.kbinit(&["config", "images", "pull", "--config", cfg.to_str().unwrap()]).ok();
    let images = pulled(&s);
    assert_eq!(images.len(), 7, "{images:?}");
    assert!(images.iter().all(|i| i.starts_with("mirror.example.com/k8s/")), "{images:?}");
    assert!(images.contains(&"mirror.example.com/k8s/kube-apiserver:v1.29.0".to_string()), "{images:?}");
    assert_eq!(run.stdout.lines().count(), 7);
}

#[test]
fn preflight_pulls_all_at_once_without_image_pull_serial() {
    let node = Node::new();
    let cfg = |serial: bool| {
        init_yaml("v1.31.0", "10.0.0.10")
            .v1beta4()
            .without_cri_socket()
            .node_registration(&format!("imagePullSerial: {serial}"))
            .build()
    };
    let run = |serial: bool| {
        node.put("/kbinit.yaml", cfg(serial).as_bytes());
        let path = node.path("/kbinit.yaml");
        node.kbinit(&[
            "init",
            "phase",
            "preflight",
            "--config",
            path.to_str().unwrap(),
            "--ignore-preflight-errors=all",
        ])
    };
    let delay = std::time::Duration::from_millis(300);
    let parallel = stub(&node, State { pull_delay: delay, ..Default::default() });
    let out = run(false);
    assert!(!out.stderr.contains("[WARNING ImagePull]"), "{}", out.stderr);
    assert_eq!(pulled(&parallel).len(), 7);
    assert!(parallel.state.lock().unwrap().max_pulls_in_flight > 1, "imagePullSerial: false pulls at once");
    drop(parallel);
    let serial = stub(&node, State { pull_delay: delay, ..Default::default() });
    run(true);
    assert_eq!(pulled(&serial).len(), 7);
    assert_eq!(serial.state.lock().unwrap().max_pulls_in_flight, 1, "imagePullSerial: true, one at a time");
}
