//! kbinit's CRI client (`kbinit::cri`, no crictl) against the CRI server stand-in on a unix socket: every RPC kbinit
//! uses (Version, Status, RuntimeConfig, ListImages, ImageStatus, PullImage, ListPodSandbox, StopPodSandbox,
//! RemovePodSandbox), kubeadm's retries, and the messages an operator reads when the runtime is down, lacks an
//! RPC or refuses a pull. Then the commands built on it: `config images pull`, preflight's CRI and ImagePull
//! checks, and reset's removal of the pod sandboxes — all through the stand-in under the node's `--root`.

use kbinit::cri::proto::path;
use kbinit::cri::{CriClient, CriError, ops};
use tonic::Code;

use crate::support::Node;
use crate::support::cri_stub::{CriStub, Sandbox, State};

const SOCKET: &str = "unix:///var/run/containerd/containerd.sock";

fn stub(node: &Node, state: State) -> CriStub {
    CriStub::start(&node.path("/var/run/containerd/containerd.sock"), state)
}

fn client(s: &CriStub) -> CriClient {
    CriClient::connect(SOCKET, &s.socket).unwrap()
}

#[test]
fn version_status_and_runtime_config() {
    let node = Node::new();
    let s = stub(&node, State::default());
    let c = client(&s);
    let v = c.version().unwrap();
    assert_eq!((v.runtime_name.as_str(), v.runtime_api_version.as_str()), ("containerd", "v1"));
    ops::is_running(&c).unwrap();
    assert!(ops::runtime_config_supported(&c).unwrap());
    assert_eq!(
        s.calls().iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
        [path::VERSION, path::STATUS, path::RUNTIME_CONFIG]
    );
}

#[test]
fn a_runtime_without_runtime_config_answers_unimplemented() {
    let node = Node::new();
    let s = stub(&node, State { no_runtime_config: true, ..Default::default() });
    let c = client(&s);
    assert!(!ops::runtime_config_supported(&c).unwrap());
    let e = c.runtime_config().unwrap_err();
    let text = e.to_string();
    assert!(e.is_unimplemented(), "{e:?}");
    assert!(text.contains("does not implement /runtime.v1.RuntimeService/RuntimeConfig"), "{text}");
    assert!(text.contains("unknown method RuntimeConfig for service runtime.v1.RuntimeService"), "{text}");
    assert!(text.contains(SOCKET), "{text}");
}

#[test]
fn a_runtime_that_is_not_ready_is_not_running() {
    let node = Node::new();
    let s = stub(
        &node,
        State { not_ready: Some(("ContainerdNotReady".into(), "still starting".into())), ..Default::default() },
    );
    let err = ops::is_running(&client(&s)).unwrap_err();
    assert_eq!(
        err,
        "container runtime condition \"RuntimeReady\" is not true. reason: ContainerdNotReady, message: still starting"
    );
}

#[test]
fn images_listed_checked_and_pulled() {
    let node = Node::new();
    let s = stub(&node, State { images: vec!["registry.k8s.io/pause:3.9".into()], ..Default::default() });
    let c = client(&s);
    let listed = c.list_images().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].repo_tags, ["registry.k8s.io/pause:3.9"]);
    assert!(ops::image_exists(&c, "registry.k8s.io/pause:3.9"));
    assert!(!ops::image_exists(&c, "registry.k8s.io/etcd:3.5.12-0"));
    let r = ops::pull(&c, "registry.k8s.io/etcd:3.5.12-0", ops::PULL_IMAGE_RETRY).unwrap();
    assert!(r.starts_with("sha256:"), "{r}");
    assert!(ops::image_exists(&c, "registry.k8s.io/etcd:3.5.12-0"));
    assert_eq!(s.count(path::PULL_IMAGE), 1);
}

#[test]
fn a_failing_pull_is_retried_then_succeeds_or_is_reported() {
    let node = Node::new();
    let flaky = "registry.k8s.io/coredns/coredns:v1.10.1";
    let gone = "registry.k8s.io/kube-apiserver:v1.28.99";
    let mut state = State::default();
    state.refuse_pull.insert(flaky.into(), (2, Code::Unavailable, "connection reset by peer".into()));
    let not_found = format!(
        "failed to pull and unpack image \"{gone}\": failed to resolve reference \"{gone}\": {gone}: not found"
    );
    state.refuse_pull.insert(gone.into(), (usize::MAX, Code::NotFound, not_found.clone()));
    let s = stub(&node, state);
    let c = client(&s);
    ops::pull(&c, flaky, ops::PULL_IMAGE_RETRY).unwrap();
    assert_eq!(s.count(path::PULL_IMAGE), 3, "two refusals, then the pull that worked");
    let f = ops::pull(&c, gone, ops::PULL_IMAGE_RETRY).unwrap_err();
    assert_eq!(f.attempts, 5);
    assert_eq!(s.count(path::PULL_IMAGE), 8, "kubeadm's PullImageRetry: five attempts");
    let text = f.to_string();
    assert!(text.starts_with(&format!("failed to pull image {gone} (5 attempts): ")), "{text}");
    assert!(text.ends_with(&format!("rpc error: code = NotFound desc = {not_found}")), "{text}");
}

#[test]
fn sandboxes_listed_stopped_and_removed() {
    let node = Node::new();
    let mut state = State {
        sandboxes: vec![Sandbox::new("aaa", "etcd-cp1"), Sandbox::new("bbb", "kube-apiserver-cp1")],
        ..Default::default()
    };
    state.refuse_stop.insert("bbb".into(), 2);
    let s = stub(&node, state);
    let c = client(&s);
    let ids = ops::list_kube_sandboxes(&c).unwrap();
    assert_eq!(ids, ["aaa", "bbb"]);
    assert!(ops::remove_sandboxes(&c, &ids).is_empty());
    assert!(s.state.lock().unwrap().sandboxes.is_empty());
    let stops: Vec<_> = s.calls().into_iter().filter(|(p, _)| p == path::STOP_POD_SANDBOX).map(|(_, id)| id).collect();
    assert_eq!(stops, ["aaa", "bbb", "bbb", "bbb"], "each stopped before removal; bbb retried");
    // stop of a sandbox that is gone: NotFound, tried RemoveContainerRetry times, reported in kubeadm's words
    let errs = ops::remove_sandboxes(&c, &["zzz".into()]);
    assert_eq!(errs.len(), 1);
    assert!(errs[0].starts_with("failed to stop running pod zzz: "), "{}", errs[0]);
    assert!(errs[0].contains("code = NotFound"), "{}", errs[0]);
    assert_eq!(s.calls().iter().filter(|(p, id)| p == path::STOP_POD_SANDBOX && id == "zzz").count(), 5);
}

#[test]
fn a_runtime_that_is_down_is_named() {
    let node = Node::new();
    let file = node.path("/var/run/containerd/containerd.sock");
    // no socket at all
    let e = CriClient::connect(SOCKET, &file).unwrap_err();
    assert!(matches!(e, CriError::Down { .. }), "{e:?}");
    let text = e.to_string();
    assert!(text.starts_with(&format!("no container runtime answers at {SOCKET}: ")), "{text}");
    assert!(text.contains("does not exist") && text.contains("systemctl start containerd"), "{text}");
    // a socket left behind by a runtime that stopped: connection refused
    drop(stub(&node, State::default()));
    let e = CriClient::connect(SOCKET, &file).unwrap_err();
    assert!(e.to_string().contains("connection refused"), "{e}");
    // not a socket
    std::fs::remove_file(&file).unwrap();
    std::fs::write(&file, b"").unwrap();
    assert!(CriClient::connect(SOCKET, &file).unwrap_err().to_string().contains("is not a socket"));
}

#[test]
fn unknown_rpcs_are_unimplemented_as_containerd_says() {
    // the stand-in itself, held to containerd's answers: an RPC it does not serve is Unimplemented
    let node = Node::new();
    let s = stub(&node, State { no_runtime_config: true, ..Default::default() });
    let c = client(&s);
    match c.runtime_config().unwrap_err() {
        CriError::Unimplemented { method, message, .. } => {
            assert_eq!(method, path::RUNTIME_CONFIG);
            assert_eq!(message, "unknown method RuntimeConfig for service runtime.v1.RuntimeService");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_runtime_that_stops_between_calls_is_down() {
    let node = Node::new();
    let s = stub(&node, State::default());
    let c = client(&s);
    c.version().unwrap();
    drop(s);
    let e = c.list_images().unwrap_err();
    assert!(matches!(e, CriError::Down { .. }), "{e:?}");
    assert!(e.to_string().starts_with(&format!("no container runtime answers at {SOCKET}")), "{e}");
}

#[test]
fn container_runtime_version_warns_from_1_35_when_runtime_config_is_missing() {
    use kbinit::preflight::runtime::container_runtime_version;
    let node = Node::new();
    let host = kbinit::host::Host::new(node.root().to_path_buf(), None);
    let v = |minor| kbinit_phases::version::KubeVersion { major: 1, minor, patch: 0, suffix: String::new() };
    // containerd 1.7: no RuntimeConfig
    let old = stub(&node, State { no_runtime_config: true, ..Default::default() });
    assert_eq!(container_runtime_version(&host, SOCKET, &v(34)), None, "kubeadm added the check in v1.35");
    let f = container_runtime_version(&host, SOCKET, &v(35)).unwrap();
    assert_eq!((f.name.as_str(), f.error), ("ContainerRuntimeVersion", false));
    assert!(f.message.contains("does not implement the CRI RuntimeConfig method"), "{}", f.message);
    assert!(f.message.contains(SOCKET) && f.message.contains("kubelet v1.38"), "{}", f.message);
    let f = container_runtime_version(&host, SOCKET, &v(36)).unwrap();
    assert!(!f.error && f.message.contains("kubelet v1.37"), "{}", f.message);
    drop(old);
    // containerd 2: it answers, nothing to say
    let new = stub(&node, State::default());
    assert_eq!(container_runtime_version(&host, SOCKET, &v(37)), None);
    assert_eq!(new.count(path::RUNTIME_CONFIG), 1);
}
