//! `kbinit upgrade apply` on a control plane of real components: a v1.32 cluster (its manifests run by the v1.33.3
//! binaries, the only release of every component in ../shared/k8s) upgraded to v1.33.3. The addon phase writes
//! kube-dns and the CoreDNS Deployment and the kube-proxy DaemonSet over the live ones (the real server answers
//! the kube-dns create with 422, which must mean "update it"), and the control-plane phase renews admin.conf and
//! super-admin.conf after the components, as kubeadm's StaticPodControlPlane does.

use serde_json::Value;

use crate::support::realk8s::node::RealNode;

const UPGRADE: &str = "apiVersion: kubeadm.k8s.io/v1beta4
kind: UpgradeConfiguration
apply:
  ignorePreflightErrors: [ImagePull]
timeouts:
  upgradeManifests: 3m
";

/// The notAfter of the client certificate embedded in a kubeconfig, as openssl prints it.
fn not_after(node: &RealNode, kubeconfig: &str) -> String {
    let text = node.node.read_str(kubeconfig);
    let b64 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("client-certificate-data: "))
        .unwrap_or_else(|| panic!("{kubeconfig} has no embedded client certificate"));
    use base64::Engine as _;
    let pem = base64::engine::general_purpose::STANDARD.decode(b64.trim()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("c.pem");
    std::fs::write(&f, pem).unwrap();
    crate::support::run_ok("openssl", &["x509", "-noout", "-enddate", "-in", f.to_str().unwrap()]).trim().to_string()
}

fn image(v: &Value) -> String {
    v.pointer("/spec/template/spec/containers/0/image").and_then(Value::as_str).unwrap_or_default().to_string()
}

#[test]
fn upgrade_apply_on_a_real_control_plane_updates_addons_and_renews_admin_kubeconfigs() {
    crate::support::require_tool("openssl");
    let address = "192.0.2.62";
    let node = RealNode::start("upg", "cp1", address, "v1.33.3");
    let cfg = node.file("kbinit.yaml", &super::init_config("v1.32.0", address));
    node.kbinit_ok(&["init", "--config", &cfg, "--upload-certs"]);
    let get = |p: &str| node.with_admin(|api| api.call_once(http::Method::GET, p, None).unwrap());
    let dns_before = get("/api/v1/namespaces/kube-system/services/kube-dns");
    assert_eq!(
        image(&get("/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy")),
        "registry.k8s.io/kube-proxy:v1.32.0"
    );
    let admin_before = not_after(&node, "/etc/kubernetes/admin.conf");
    let super_before = not_after(&node, "/etc/kubernetes/super-admin.conf");
    std::thread::sleep(std::time::Duration::from_millis(1100)); // certificate times are whole seconds

    let up = node.file("upgrade.yaml", UPGRADE);
    let run = node.kbinit_ok(&["upgrade", "apply", "v1.33.3", "--yes", "--config", &up]);
    assert!(run.stdout.contains("[upgrade] SUCCESS!") || run.stdout.contains("SUCCESS"), "{}", run.stdout);

    let proxy = get("/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy");
    assert_eq!(image(&proxy), "registry.k8s.io/kube-proxy:v1.33.3", "kube-proxy not updated to the target");
    let coredns = get("/apis/apps/v1/namespaces/kube-system/deployments/coredns");
    let want = kbinit_phases::version::KubeVersion::resolve("v1.33.3").unwrap();
    assert_eq!(image(&coredns), format!("registry.k8s.io/coredns/coredns:{}", want.coredns_tag()));
    let dns = get("/api/v1/namespaces/kube-system/services/kube-dns");
    assert_eq!(
        dns.pointer("/metadata/uid"),
        dns_before.pointer("/metadata/uid"),
        "kube-dns was recreated, not updated"
    );
    assert_eq!(dns.pointer("/spec/clusterIP"), dns_before.pointer("/spec/clusterIP"));
    let kubeadm_config = get("/api/v1/namespaces/kube-system/configmaps/kubeadm-config");
    let cluster = kubeadm_config.pointer("/data/ClusterConfiguration").and_then(Value::as_str).unwrap();
    assert!(cluster.contains("kubernetesVersion: v1.33.3"), "{cluster}");

    let admin_after = not_after(&node, "/etc/kubernetes/admin.conf");
    let super_after = not_after(&node, "/etc/kubernetes/super-admin.conf");
    assert_ne!(admin_before, admin_after, "admin.conf was not renewed by upgrade apply");
    assert_ne!(super_before, super_after, "super-admin.conf was not renewed by upgrade apply");
    // the renewed admin.conf is accepted by the real server
    let nodes = node.kbinit_ok(&["upgrade", "plan"]);
    assert!(!nodes.stdout.is_empty());
}
