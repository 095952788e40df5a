//! What the cluster phases send differently in 1.35–1.37 (kubeadm-1.35-1.38.md §2, §3): CoreDNS image, ports,
//! capabilities and Corefile; kube-proxy's mode; the 1.37 kubelet-api-admin binding.

#![allow(clippy::unwrap_used)]

use super::addons::{CoreDnsState, coredns_image, is_default_corefile, plan_addons};
use super::bootstrap_token::plan_kubelet_api_admin;
use super::tests::written;
use crate::config::{HostFacts, InitConfiguration, InitFlags, load_init};
use crate::version::KubeVersion;

fn init(version: &str) -> InitConfiguration {
    let text = format!(
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nlocalAPIEndpoint:\n  advertiseAddress: 10.0.0.10\n\
         nodeRegistration:\n  name: cp1\n  criSocket: unix:///run/containerd/containerd.sock\n---\n\
         apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: {version}\n\
         controlPlaneEndpoint: lb.example.com:6443\nnetworking:\n  podSubnet: 10.244.0.0/16\n"
    );
    let host = HostFacts {
        hostname: "cp1".into(),
        default_address: Some("10.0.0.10".parse().unwrap()),
        cri_sockets: vec!["unix:///run/containerd/containerd.sock".into()],
        systemd_resolved: false,
    };
    load_init(Some(&text), &InitFlags::default(), &host).unwrap().config
}

#[test]
fn coredns_per_release() {
    for (v, tag) in [("v1.34.0", "v1.12.1"), ("v1.35.1", "v1.13.1"), ("v1.36.2", "v1.14.2"), ("v1.37.0", "v1.14.3")] {
        assert_eq!(coredns_image(&init(v).cluster), format!("registry.k8s.io/coredns/coredns:{tag}"), "{v}");
    }
    let steps = plan_addons(&init("v1.37.0"), &CoreDnsState::default(), &[]).unwrap();
    let c = &written(&steps, "Deployment", "coredns").unwrap()["spec"]["template"]["spec"]["containers"][0];
    let names: Vec<&str> = c["ports"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["dns", "dns-tcp", "metrics", "liveness-probe", "readiness-probe"]);
    assert_eq!(c["livenessProbe"]["httpGet"]["port"], "liveness-probe");
    assert_eq!(c["readinessProbe"]["httpGet"]["port"], "readiness-probe");
    assert_eq!(c["securityContext"]["capabilities"]["drop"][0], "ALL");
    let corefile = written(&steps, "ConfigMap", "coredns").unwrap()["data"]["Corefile"].as_str().unwrap().to_string();
    assert!(
        corefile.contains(
            "    cache 30 {\n       disable success cluster.local\n       disable denial cluster.local\n    }\n"
        ),
        "{corefile}"
    );
    assert!(is_default_corefile(&corefile, "cluster.local"), "the new layout is still a default Corefile");
    // 1.33 probes by number (named ports from 1.34) and drops ALL (from 1.29; 1.28's `all` is held to real
    // kubeadm 1.28.7 by tests/it/oracle.rs)
    let old = plan_addons(&init("v1.33.0"), &CoreDnsState::default(), &[]).unwrap();
    let c = &written(&old, "Deployment", "coredns").unwrap()["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["livenessProbe"]["httpGet"]["port"], 8080);
    assert_eq!(c["securityContext"]["capabilities"]["drop"][0], "ALL");
}

#[test]
fn kube_proxy_mode_is_explicit_from_1_37() {
    for (v, mode) in [("v1.36.0", "mode: \"\""), ("v1.37.0", "mode: iptables")] {
        let steps = plan_addons(&init(v), &CoreDnsState::default(), &[]).unwrap();
        let conf = written(&steps, "ConfigMap", "kube-proxy").unwrap()["data"]["config.conf"].as_str().unwrap();
        assert!(conf.lines().any(|l| l == mode), "{v}: {conf}");
        let ds = written(&steps, "DaemonSet", "kube-proxy").unwrap();
        assert_eq!(ds["spec"]["template"]["spec"]["containers"][0]["image"], format!("registry.k8s.io/kube-proxy:{v}"));
    }
    // a mode the user chose is kept
    let mut i = init("v1.37.0");
    i.kube_proxy = Some(serde_json::json!({"mode": "nftables"}));
    let steps = plan_addons(&i, &CoreDnsState::default(), &[]).unwrap();
    let conf = written(&steps, "ConfigMap", "kube-proxy").unwrap()["data"]["config.conf"].as_str().unwrap();
    assert!(conf.lines().any(|l| l == "mode: nftables"), "{conf}");
}

#[test]
fn kubelet_api_admin_binding_only_from_1_37() {
    assert!(plan_kubelet_api_admin(&KubeVersion::resolve("v1.36.4").unwrap()).unwrap().is_empty());
    let steps = plan_kubelet_api_admin(&KubeVersion::resolve("v1.37.0").unwrap()).unwrap();
    let crb = written(&steps, "ClusterRoleBinding", "kubeadm:kubelet-api-admin").unwrap();
    assert_eq!(crb["roleRef"]["name"], "system:kubelet-api-admin");
    assert_eq!(crb["roleRef"]["kind"], "ClusterRole");
    assert_eq!(crb["subjects"][0], serde_json::json!({"kind": "Group", "name": "system:kubelet-api-admin"}));
}
