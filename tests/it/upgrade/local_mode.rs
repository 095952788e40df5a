//! The upgrade into the first minor whose kubelet talks to its own API server (ControlPlaneKubeletLocalMode,
//! found from kbinit's version table): a control plane behind a load balancer has its kubelet.conf pointed from
//! the load balancer to its own API server, as a fresh init at that minor writes it (sheet §4.5).
//!
//! fake-api: the minor that turns on ControlPlaneKubeletLocalMode and its predecessor have no real binaries in
//! ../shared/k8s (only v1.28.7 and v1.33.3).

use kbinit_phases::version::{KubeVersion, MAX_MINOR, MIN_MINOR};

use super::{ok, upgrade_config};
use crate::support::fakeapi::FakeApi;
use crate::support::nodes::lan::Lan;
use crate::support::nodes::testnode::{TestNode, init_config};
use crate::support::require_tool;

const LB: &str = "10.80.0.100";
const CP: &str = "10.80.0.1";

#[test]
fn kubelet_conf_moves_to_the_local_api_server_with_the_minor_that_wants_it() {
    if !require_tool("etcd") || !require_tool("ip") {
        return;
    }
    let v = |m: u32| KubeVersion::resolve(&format!("v1.{m}.0")).unwrap();
    let Some(first) =
        (MIN_MINOR + 1..=MAX_MINOR).find(|m| v(*m).kubelet_local_mode() && !v(m - 1).kubelet_local_mode())
    else {
        return;
    };
    let (old, new) = (v(first - 1), v(first));
    let api = FakeApi::new();
    let lan = Lan::create("uplm", LB);
    let cp = TestNode::start("uplm1", "cp1", &[], &api, true);
    lan.attach(&cp.ns, CP);
    let _lb = lan.balancer(format!("{LB}:6443").parse().unwrap(), vec![format!("{CP}:6443").parse().unwrap()]);
    let cfg = cp.config(&init_config(&old.to_string(), CP, LB));
    ok(cp.kbinit(&["init", "--config", &cfg]), "init", &cp);
    assert!(cp.node.read_str("/etc/kubernetes/kubelet.conf").contains(&format!("server: https://{LB}:6443\n")));
    let up = upgrade_config(&cp);
    let run = ok(cp.kbinit(&["upgrade", "apply", &new.to_string(), "--yes", "--config", &up]), "apply", &cp);
    assert!(run.stdout.contains("[upgrade/kubeconfig] The kubeconfig files for this node were successfully upgraded!"));
    let conf = cp.node.read_str("/etc/kubernetes/kubelet.conf");
    assert!(conf.contains(&format!("server: https://{CP}:6443\n")), "{conf}");
    // what init at the new minor writes
    let fresh = crate::support::Node::new();
    let fcfg = fresh.root().join("kbinit.yaml");
    std::fs::write(&fcfg, init_config(&new.to_string(), CP, LB)).unwrap();
    let fcfg = fcfg.display().to_string();
    fresh.kbinit(&["init", "phase", "certs", "ca", "--config", &fcfg]).ok();
    fresh.kbinit(&["init", "phase", "kubeconfig", "kubelet", "--config", &fcfg]).ok();
    let server = |t: &str| t.lines().find(|l| l.trim_start().starts_with("server:")).unwrap().to_string();
    assert_eq!(server(&conf), server(&fresh.read_str("/etc/kubernetes/kubelet.conf")));
}
