//! The local (stacked) etcd member's static Pod (reference §D.6, probes per version §P).

use k8s_openapi::api::core::v1::{Container, EnvVar as PodEnvVar, Pod};

use super::{
    HostPath, arg, command, find_arg, join_host_port, liveness_probe, name_probe_port, readiness_probe, requests,
    startup_probe, static_pod, write_manifest_steps,
};
use crate::Error;
use crate::config::model::{ClusterConfiguration, Etcd, LocalEtcd, NodeIdentity};
use crate::paths;
use crate::plan::Step;

const CLIENT_PORT: u16 = 2379;
const PEER_PORT: u16 = 2380;
const METRICS_PORT: u16 = 2381;

/// The etcd Pod. `initial_cluster` = (name, peer URL) pairs; empty = this node alone (init). `existing` adds
/// `--initial-cluster-state=existing` (join).
pub fn etcd_pod(
    cluster: &ClusterConfiguration,
    node: &NodeIdentity,
    initial_cluster: &[(String, String)],
    existing: bool,
) -> Result<Pod, Error> {
    let Etcd::Local(local) = &cluster.etcd else {
        return Err(Error::invalid("etcd", "external", "a local etcd manifest needs etcd.local, not etcd.external"));
    };
    let pki = |name: &str| paths::join(&cluster.certificates_dir, name);
    let ip = node.advertise_address.to_string();
    let localhost = if node.advertise_address.is_ipv6() { "::1" } else { "127.0.0.1" };
    let client_url = format!("https://{}", join_host_port(&ip, CLIENT_PORT));
    let peer_url = format!("https://{}", join_host_port(&ip, PEER_PORT));
    let members = if initial_cluster.is_empty() {
        format!("{}={peer_url}", node.name)
    } else {
        initial_cluster.iter().map(|(n, u)| format!("{n}={u}")).collect::<Vec<_>>().join(",")
    };
    let mut defaults = vec![
        arg("advertise-client-urls", &client_url),
        arg("cert-file", pki("etcd/server.crt")),
        arg("client-cert-auth", "true"),
        arg("data-dir", &local.data_dir),
        arg("initial-advertise-peer-urls", &peer_url),
        arg("initial-cluster", members),
        arg("key-file", pki("etcd/server.key")),
        arg("listen-client-urls", format!("https://{},{client_url}", join_host_port(localhost, CLIENT_PORT))),
        arg("listen-metrics-urls", format!("http://{}", join_host_port(localhost, METRICS_PORT))),
        arg("listen-peer-urls", &peer_url),
        arg("name", &node.name),
        arg("peer-cert-file", pki("etcd/peer.crt")),
        arg("peer-client-cert-auth", "true"),
        arg("peer-key-file", pki("etcd/peer.key")),
        arg("peer-trusted-ca-file", pki("etcd/ca.crt")),
        arg("snapshot-count", "10000"),
        arg("trusted-ca-file", pki("etcd/ca.crt")),
    ];
    if existing {
        defaults.push(arg("initial-cluster-state", "existing"));
    }
    let v = &cluster.kubernetes_version;
    let tag = if local.image_tag.is_empty() { v.etcd_tag() } else { local.image_tag.as_str() };
    if v.etcd_36_flags(tag) {
        defaults.push(arg("feature-gates", "InitialCorruptCheck=true"));
        defaults.push(arg("watch-progress-notify-interval", "5s"));
    } else {
        defaults.push(arg("experimental-initial-corrupt-check", "true"));
        defaults.push(arg("experimental-watch-progress-notify-interval", "5s"));
    }
    let (host, port, scheme) = probe_endpoint(local, localhost);
    let (liveness, readiness, startup) = if v.etcd_livez_probes() {
        (
            liveness_probe(&host, "/livez", port, scheme),
            Some(readiness_probe(&host, "/readyz", port, scheme)),
            startup_probe(&host, "/readyz", port, scheme),
        )
    } else {
        (
            liveness_probe(&host, "/health?exclude=NOSPACE&serializable=true", port, scheme),
            None,
            startup_probe(&host, "/health?serializable=false", port, scheme),
        )
    };
    let repository =
        if local.image_repository.is_empty() { &cluster.image_repository } else { &local.image_repository };
    let env: Vec<PodEnvVar> = local.extra_envs.iter().map(crate::manifests::pod_env_var).collect();
    let mut container = Container {
        command: Some(command("etcd", defaults, &local.extra_args, &cluster.kubernetes_version)),
        image: Some(format!("{repository}/etcd:{tag}")),
        env: (!env.is_empty()).then_some(env),
        liveness_probe: Some(liveness),
        readiness_probe: readiness,
        startup_probe: Some(startup),
        resources: Some(requests(&[("cpu", "100m"), ("memory", "100Mi")])),
        ..Default::default()
    };
    if v.named_probe_ports() {
        name_probe_port(&mut container);
    }
    let mounts = vec![
        HostPath::new("etcd-data", &local.data_dir, "DirectoryOrCreate", false),
        HostPath::new("etcd-certs", &pki("etcd"), "DirectoryOrCreate", false),
    ];
    let annotation = ("kubeadm.kubernetes.io/etcd.advertise-client-urls".to_string(), client_url);
    Ok(static_pod("etcd", Some(annotation), container, mounts, true))
}

/// Steps for `etcd local`: `[etcd] Creating static Pod manifest for local etcd in "/etc/kubernetes/manifests"`,
/// EnsureDir of the data dir (0700) and of the manifests dir, WriteFile. For external etcd: no steps (silent).
pub fn plan_etcd_local(
    cluster: &ClusterConfiguration,
    node: &NodeIdentity,
    initial_cluster: &[(String, String)],
    existing: bool,
) -> Result<Vec<Step>, Error> {
    let Etcd::Local(local) = &cluster.etcd else {
        return Ok(Vec::new());
    };
    let pod = etcd_pod(cluster, node, initial_cluster, existing)?;
    let mut steps = vec![
        Step::say(format!("[etcd] Creating static Pod manifest for local etcd in {:?}", paths::MANIFESTS_DIR)),
        Step::EnsureDir { path: local.data_dir.clone(), mode: 0o700 },
    ];
    steps.extend(write_manifest_steps("etcd", &pod)?);
    Ok(steps)
}

/// Host, port and scheme of the probes: the first `listen-metrics-urls` extra arg if given, else the local
/// metrics port over plain HTTP.
fn probe_endpoint(local: &LocalEtcd, localhost: &str) -> (String, u16, &'static str) {
    let fallback = (localhost.to_string(), METRICS_PORT, "HTTP");
    let Some(urls) = find_arg(&local.extra_args, "listen-metrics-urls") else {
        return fallback;
    };
    let first = urls.split(',').next().unwrap_or_default();
    let Some((scheme, rest)) = first.split_once("://") else {
        return fallback;
    };
    let scheme = if scheme == "https" { "HTTPS" } else { "HTTP" };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, p)) => (h, p.strip_prefix(':')),
            None => (v6, None),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let host = if host.is_empty() { localhost } else { host };
    let port = port.and_then(|p| p.parse::<u16>().ok()).filter(|p| *p > 0).unwrap_or(METRICS_PORT);
    (host.to_string(), port, scheme)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::model::{Arg, EnvVar, ExternalEtcd};
    use crate::manifests::{fixture, pod_yaml};
    use crate::version::KubeVersion;

    #[test]
    fn reference_manifest_byte_for_byte() {
        let init = fixture::init();
        let pod = etcd_pod(&init.cluster, &init.node(), &[], false).unwrap();
        assert_eq!(pod_yaml(&pod).unwrap(), fixture::reference("etcd.yaml"));
    }

    #[test]
    fn plan_steps() {
        let init = fixture::init();
        let steps = plan_etcd_local(&init.cluster, &init.node(), &[], false).unwrap();
        assert_eq!(
            steps[0],
            Step::say("[etcd] Creating static Pod manifest for local etcd in \"/etc/kubernetes/manifests\"")
        );
        assert_eq!(steps[1], Step::EnsureDir { path: "/var/lib/etcd".into(), mode: 0o700 });
        assert_eq!(steps[2], Step::EnsureDir { path: "/etc/kubernetes/manifests".into(), mode: 0o700 });
        assert!(matches!(&steps[3], Step::WriteFile { path, .. } if path == "/etc/kubernetes/manifests/etcd.yaml"));

        let mut ext = init.cluster.clone();
        ext.etcd = Etcd::External(ExternalEtcd::default());
        assert!(plan_etcd_local(&ext, &init.node(), &[], false).unwrap().is_empty());
        assert!(etcd_pod(&ext, &init.node(), &[], false).is_err());
    }

    #[test]
    fn livez_and_readyz_probes_from_1_31() {
        let mut init = fixture::init();
        init.cluster.kubernetes_version = KubeVersion::resolve("v1.31.2").unwrap();
        let yaml = pod_yaml(&etcd_pod(&init.cluster, &init.node(), &[], false).unwrap()).unwrap();
        assert!(yaml.contains("    livenessProbe:\n      failureThreshold: 8\n      httpGet:\n        host: 127.0.0.1\n        path: /livez\n        port: 2381\n        scheme: HTTP\n"), "{yaml}");
        assert!(yaml.contains("    readinessProbe:\n      failureThreshold: 3\n      httpGet:\n        host: 127.0.0.1\n        path: /readyz\n        port: 2381\n        scheme: HTTP\n      periodSeconds: 1\n      timeoutSeconds: 15\n"), "{yaml}");
        assert!(yaml.contains("    startupProbe:\n      failureThreshold: 24\n      httpGet:\n        host: 127.0.0.1\n        path: /readyz\n"), "{yaml}");
        assert!(yaml.contains("image: registry.k8s.io/etcd:3.5.15-0\n"));
        assert!(!yaml.contains("/health"));
    }

    #[test]
    fn join_member_ipv6_and_overrides() {
        let mut init = fixture::init();
        if let Etcd::Local(local) = &mut init.cluster.etcd {
            local.image_repository = "mirror.example/k8s".into();
            local.image_tag = "3.5.99-0".into();
            local.extra_args = vec![
                Arg { name: "listen-metrics-urls".into(), value: "https://[::1]:9999,http://x:1".into() },
                Arg { name: "snapshot-count".into(), value: "5000".into() },
            ];
            local.extra_envs = vec![EnvVar::new("ETCD_X", "on")];
        }
        let node = NodeIdentity { advertise_address: "fd00::2".parse().unwrap(), ..init.node() };
        let members = vec![
            ("cp0".to_string(), "https://[fd00::1]:2380".to_string()),
            ("cp1".to_string(), "https://[fd00::2]:2380".to_string()),
        ];
        let yaml = pod_yaml(&etcd_pod(&init.cluster, &node, &members, true).unwrap()).unwrap();
        for want in [
            "- --advertise-client-urls=https://[fd00::2]:2379\n",
            "- --initial-cluster=cp0=https://[fd00::1]:2380,cp1=https://[fd00::2]:2380\n",
            "- --initial-cluster-state=existing\n",
            "- --listen-client-urls=https://[::1]:2379,https://[fd00::2]:2379\n",
            "- --listen-metrics-urls=https://[::1]:9999,http://x:1\n",
            "- --listen-peer-urls=https://[fd00::2]:2380\n",
            "- --snapshot-count=5000\n",
            "image: mirror.example/k8s/etcd:3.5.99-0\n",
            "        host: ::1\n        path: /health?exclude=NOSPACE&serializable=true\n        port: 9999\n        scheme: HTTPS\n",
            "    env:\n    - name: ETCD_X\n      value: \"on\"\n",
            "kubeadm.kubernetes.io/etcd.advertise-client-urls: https://[fd00::2]:2379\n",
        ] {
            assert!(yaml.contains(want), "{want}\n{yaml}");
        }
        assert!(!yaml.contains("snapshot-count=10000"));
    }
}
