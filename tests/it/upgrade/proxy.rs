//! An upgrade keeps kbinit's node-local API server proxy (issue 11): a control plane made with `init
//! --api-server-proxy` at the second-newest minor, with no load balancer, is upgraded to the newest; the kubelet's
//! kubeconfig, kube-proxy's kubeconfig in its ConfigMap and the proxy's unit still go through 127.0.0.1:7445.
//!
//! fake-api: the newest minors of kbinit's table have no real binaries in ../shared/k8s (only v1.28.7 and v1.33.3).

use kbinit_phases::version::{KubeVersion, MAX_MINOR};

use super::{ok, upgrade_config};
use crate::support::fakeapi::FakeApi;
use crate::support::nodes::lan::Lan;
use crate::support::nodes::testnode::{TestNode, init_config};
use crate::support::require_tool;

const CP: &str = "10.81.0.1";

fn kube_proxy_kubeconfig(api: &FakeApi) -> String {
    let cm = api.object("/api/v1/namespaces/kube-system/configmaps/kube-proxy").expect("the kube-proxy ConfigMap");
    cm["data"]["kubeconfig.conf"].as_str().unwrap().to_string()
}

#[test]
fn an_upgrade_keeps_the_api_server_proxy() {
    if !require_tool("etcd") || !require_tool("ip") {
        return;
    }
    let v = |m: u32| KubeVersion::resolve(&format!("v1.{m}.0")).unwrap();
    let (old, new) = (v(MAX_MINOR - 1), v(MAX_MINOR));
    let api = FakeApi::new();
    let lan = Lan::create("uppx", "10.81.0.100");
    let cp = TestNode::start("uppx1", "cp1", &[], &api, true);
    lan.attach(&cp.ns, CP);
    let cfg = cp.config(&init_config(&old.to_string(), CP, CP));
    ok(cp.kbinit(&["init", "--config", &cfg, "--api-server-proxy"]), "init", &cp);
    let through_proxy =
        |text: &str| text.contains("server: https://127.0.0.1:7445") && text.contains("tls-server-name: kubernetes");
    assert!(through_proxy(&kube_proxy_kubeconfig(&api)), "{}", kube_proxy_kubeconfig(&api));

    let up = upgrade_config(&cp);
    ok(cp.kbinit(&["upgrade", "apply", &new.to_string(), "--yes", "--config", &up]), "upgrade apply", &cp);
    let kube_proxy = kube_proxy_kubeconfig(&api);
    assert!(through_proxy(&kube_proxy), "kube-proxy left the proxy:\n{kube_proxy}");
    let image = api.object("/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy").unwrap()
        ["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(image.ends_with(&format!(":{new}")), "kube-proxy was upgraded: {image}");
    let kubelet = cp.node.read_str("/etc/kubernetes/kubelet.conf");
    assert!(kubelet.contains("server: https://127.0.0.1:7445"), "the kubelet left the proxy:\n{kubelet}");
    assert!(cp.node.path("/etc/systemd/system/kbinit-api-server-proxy.service").exists());
    assert!(cp.node.read_str("/etc/kubernetes/admin.conf").contains(&format!("server: https://{CP}:6443")));
}
