//! `kbinit init` killed with SIGKILL right after it wrote the static Pod manifests, then run again on the same
//! real node: the second run converges (control plane up through the kubelet, node Ready).

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::realnode::node::RealNode;
use crate::support::realnode::{Site, configs};

#[test]
fn init_killed_after_manifests_then_rerun_converges() {
    let t0 = Instant::now();
    let site = Site::create("kill", "10.79.0");
    let cp1 = RealNode::start(&site, "cp1", "10.79.0.1");
    let cfg = cp1.file("init.yaml", &configs::init("cp1", "10.79.0.1", &["all"]));
    let mut first = cp1
        .command(env!("CARGO_BIN_EXE_kbinit"))
        .args(["init", "--config", &cfg])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let manifests = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"]
        .map(|c| cp1.path(&format!("/etc/kubernetes/manifests/{c}.yaml")));
    cp1.wait_for("the four manifests", Duration::from_secs(60), |_| manifests.iter().all(|m| m.exists()));
    first.kill().unwrap();
    let status = first.wait().unwrap();
    assert!(!status.success(), "the first init was killed, not finished: {status}");

    let again = cp1.kbinit_ok(&["init", "--config", &cfg]);
    assert!(again.stdout.contains("initialized successfully"), "{}", again.stdout);
    super::wait_static_pods(&cp1, &cp1, Duration::from_secs(120));
    cp1.wait_ready(&cp1, Duration::from_secs(180));
    eprintln!("realnode kill_rerun: whole test {:?}", t0.elapsed());
}
