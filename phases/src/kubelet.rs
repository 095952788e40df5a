//! The kubelet files kubeadm's `kubelet-start` writes: `/var/lib/kubelet/config.yaml` (§E.1),
//! `/var/lib/kubelet/kubeadm-flags.env` (§E.2) and, from 1.34 (NodeLocalCRISocket),
//! `/var/lib/kubelet/instance-config.yaml`; plus the component-config hash of the `kubelet-config` ConfigMap
//! (§E.4). Starting the kubelet is the binary's job.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::{Value, json};

use crate::Error;
use crate::config::model::{Arg, ClusterConfiguration, HostFacts, InitConfiguration, NodeRegistration};
use crate::go_format::yaml::to_yaml;
use crate::paths;
use crate::plan::{FileKind, Step};

/// The KubeletConfiguration kubeadm writes to /var/lib/kubelet/config.yaml (§E.1) with a user-supplied
/// KubeletConfiguration document (init.kubelet) merged over the defaults.
pub fn kubelet_configuration(init: &InitConfiguration, host: &HostFacts) -> Value {
    let cluster = &init.cluster;
    let mut config = json!({
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "authentication": {
            "anonymous": {"enabled": false},
            "webhook": {"cacheTTL": "0s", "enabled": true},
            "x509": {"clientCAFile": paths::join(&cluster.certificates_dir, "ca.crt")},
        },
        "authorization": {
            "mode": "Webhook",
            "webhook": {"cacheAuthorizedTTL": "0s", "cacheUnauthorizedTTL": "0s"},
        },
        "cgroupDriver": "systemd",
        "clusterDNS": [cluster_dns(&cluster.networking.service_subnet)],
        "clusterDomain": cluster.networking.dns_domain,
        "containerRuntimeEndpoint": "",
        "cpuManagerReconcilePeriod": "0s",
        "evictionPressureTransitionPeriod": "0s",
        "fileCheckFrequency": "0s",
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": 10248,
        "httpCheckFrequency": "0s",
        "imageMinimumGCAge": "0s",
        "logging": {"flushFrequency": 0, "options": {"json": {"infoBufferSize": "0"}}, "verbosity": 0},
        "memorySwap": {},
        "nodeStatusReportFrequency": "0s",
        "nodeStatusUpdateFrequency": "0s",
        "rotateCertificates": true,
        "runtimeRequestTimeout": "0s",
        "shutdownGracePeriod": "0s",
        "shutdownGracePeriodCriticalPods": "0s",
        "staticPodPath": paths::MANIFESTS_DIR,
        "streamingConnectionIdleTimeout": "0s",
        "syncFrequency": "0s",
        "volumeStatsAggPeriod": "0s",
    });
    if host.systemd_resolved {
        config["resolvConf"] = json!("/run/systemd/resolve/resolv.conf");
    }
    // zero values kubeadm's serializer writes for KubeletConfiguration fields of newer releases
    let v = &cluster.kubernetes_version;
    if v.kubelet_crash_loop_backoff() {
        config["crashLoopBackOff"] = json!({});
    }
    if v.kubelet_image_maximum_gc_age() {
        config["imageMaximumGCAge"] = json!("0s");
    }
    if v.kubelet_text_logging_options() {
        config["logging"]["options"]["text"] = json!({"infoBufferSize": "0"});
    }
    if let Some(user) = &init.kubelet {
        crate::patches::overlay_as_go_decodes(&mut config, user);
    }
    // kubeadm always forces these
    config["apiVersion"] = json!("kubelet.config.k8s.io/v1beta1");
    config["kind"] = json!("KubeletConfiguration");
    config["rotateCertificates"] = json!(true);
    config
}

/// The cluster DNS address: the 10th address of the first service CIDR (`10.96.0.0/12` → `10.96.0.10`).
pub(crate) fn cluster_dns(service_subnet: &str) -> String {
    let first = service_subnet.split(',').next().unwrap_or_default().trim();
    match first.parse::<ipnet::IpNet>().map(|n| n.network()) {
        Ok(IpAddr::V4(v4)) => std::net::Ipv4Addr::from(u32::from(v4).wrapping_add(10)).to_string(),
        Ok(IpAddr::V6(v6)) => std::net::Ipv6Addr::from(u128::from(v6).wrapping_add(10)).to_string(),
        Err(_) => "10.96.0.10".into(),
    }
}

/// `true` when the CRI socket goes to `instance-config.yaml` instead of `kubeadm-flags.env` (1.34+:
/// NodeLocalCRISocket, beta and on by default in 1.34 and 1.35, GA in 1.36, always in 1.37; flags.go writes
/// `--container-runtime-endpoint` only with the gate off).
pub fn cri_socket_in_instance_config(cluster: &ClusterConfiguration) -> bool {
    let v = &cluster.kubernetes_version;
    v.kubelet_config_merges_instance_config() && cluster.feature_gates.get("NodeLocalCRISocket") != Some(&false)
}

/// `true` when the node's CRI socket is kept on the node (instance-config.yaml) rather than in the node's
/// `kubeadm.alpha.kubernetes.io/cri-socket` annotation: from 1.34 while NodeLocalCRISocket is on (beta in 1.34 and
/// 1.35, so `false` turns the annotation back on; locked in 1.36; the annotation code is gone in 1.37).
pub fn cri_socket_recorded_locally(cluster: &ClusterConfiguration) -> bool {
    cri_socket_in_instance_config(cluster)
}

/// KUBELET_KUBEADM_ARGS line (§E.2): sorted flags, Go %q quoting, --hostname-override only when node name !=
/// lower-cased hostname, --pod-infra-container-image (≤1.34; the 1.35 kubelet has no such flag),
/// --container-runtime-endpoint unless [`cri_socket_in_instance_config`], register-with-taints only for worker
/// join.
pub fn flags_env(
    node_reg: &NodeRegistration,
    cluster: &ClusterConfiguration,
    host: &HostFacts,
    register_taints: bool,
) -> String {
    let mut defaults = Vec::new();
    if !cri_socket_in_instance_config(cluster) {
        defaults.push(Arg { name: "container-runtime-endpoint".into(), value: node_reg.cri_socket.clone() });
    }
    if cluster.kubernetes_version.writes_pod_infra_image() {
        defaults.push(Arg {
            name: "pod-infra-container-image".into(),
            value: format!("{}/pause:{}", cluster.image_repository, cluster.kubernetes_version.pause_tag()),
        });
    }
    if node_reg.name != host.hostname.to_lowercase() {
        defaults.push(Arg { name: "hostname-override".into(), value: node_reg.name.clone() });
    }
    if register_taints && !node_reg.taints.is_empty() {
        let taints: Vec<String> = node_reg
            .taints
            .iter()
            .map(|t| {
                if t.value.is_empty() {
                    format!("{}:{}", t.key, t.effect)
                } else {
                    format!("{}={}:{}", t.key, t.value, t.effect)
                }
            })
            .collect();
        defaults.push(Arg { name: "register-with-taints".into(), value: taints.join(",") });
    }
    let extra = &node_reg.kubelet_extra_args;
    let args = crate::manifests::merge_args(defaults, extra, &cluster.kubernetes_version);
    let line: Vec<String> = args.iter().map(|a| format!("--{}={}", a.name, a.value)).collect();
    format!("KUBELET_KUBEADM_ARGS={}\n", go_quote(&line.join(" ")))
}

/// Go's `%q` for a string: double quotes, backslash escapes for quotes, backslashes and unprintables.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{0B}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7F}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => {
                if (c as u32) <= 0xFFFF {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `sha256:<hex>` component-config hash over ConfigMap data values in key order (§E.4, §Q.4).
pub fn component_config_hash(data: &BTreeMap<String, String>) -> String {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for value in data.values() {
        ctx.update(value.as_bytes());
    }
    format!("sha256:{}", hex::encode(ctx.finish().as_ref()))
}

/// kubelet-start's file steps for init: Say lines as §N.3, EnsureDir /var/lib/kubelet 0700, kubeadm-flags.env
/// and config.yaml (FileKind::Kubelet), and for 1.34+ /var/lib/kubelet/instance-config.yaml (a
/// KubeletConfiguration with only containerRuntimeEndpoint). Starting the kubelet is the binary's job.
pub fn plan_kubelet_start(init: &InitConfiguration, host: &HostFacts) -> Result<Vec<Step>, Error> {
    let env = flags_env(&init.node_registration, &init.cluster, host, false);
    let config = kubelet_configuration(init, host);
    Ok(kubelet_file_steps(&init.cluster, &init.node_registration.cri_socket, env, &config))
}

/// The kubelet files init and join write alike, with kubeadm's lines: /var/lib/kubelet (0700), kubeadm-flags.env,
/// then config.yaml.
///
/// With NodeLocalCRISocket (1.34+, [`cri_socket_in_instance_config`]) the files follow kubeadm's
/// `phases/kubelet/config.go` (v1.33.3, the gate-on path): `instance-config.yaml` is the one line
/// `containerRuntimeEndpoint: "<socket>"` (Go-quoted), written before `config.yaml` and announced with the same
/// "Writing kubelet configuration" line (`writeConfigBytesToDisk` prints it for both files); it is applied to
/// `config.yaml` as a strategic-merge patch through kubeadm's patch manager, which prints its `[patches]` line,
/// so `config.yaml` names the socket while the ConfigMap keeps `""`.
pub fn kubelet_file_steps(
    cluster: &ClusterConfiguration,
    cri_socket: &str,
    flags_env: String,
    config: &Value,
) -> Vec<Step> {
    let mut steps = vec![
        Step::EnsureDir { path: paths::KUBELET_DIR.into(), mode: 0o700 },
        Step::say(format!(
            "[kubelet-start] Writing kubelet environment file with flags to file {:?}",
            paths::KUBELET_FLAGS_ENV
        )),
        Step::write(paths::KUBELET_FLAGS_ENV, flags_env, FileKind::Kubelet),
    ];
    if cri_socket_in_instance_config(cluster) {
        steps.extend(instance_config_steps(cri_socket));
        steps.push(Step::say(INSTANCE_CONFIG_PATCH_LINE));
    }
    steps.push(Step::say(format!("[kubelet-start] Writing kubelet configuration to file {:?}", paths::KUBELET_CONFIG)));
    steps.push(Step::write(
        paths::KUBELET_CONFIG,
        to_yaml(&node_kubelet_config(cluster, cri_socket, config)),
        FileKind::Kubelet,
    ));
    steps
}

/// The `[patches]` line kubeadm's patch manager prints when it applies `instance-config.yaml` to `config.yaml`.
pub const INSTANCE_CONFIG_PATCH_LINE: &str =
    "[patches] Applied patch of type \"application/strategic-merge-patch+json\" to target \"kubeletconfiguration\"";

/// Writing `instance-config.yaml` for `cri_socket`, with kubeadm's line (`WriteInstanceConfigToDisk`).
pub fn instance_config_steps(cri_socket: &str) -> Vec<Step> {
    vec![
        Step::say(format!(
            "[kubelet-start] Writing kubelet configuration to file {:?}",
            paths::KUBELET_INSTANCE_CONFIG
        )),
        Step::write(
            paths::KUBELET_INSTANCE_CONFIG,
            format!("containerRuntimeEndpoint: {}\n", go_quote(cri_socket)),
            FileKind::Kubelet,
        ),
    ]
}

/// The cluster's KubeletConfiguration as this node's `config.yaml` holds it: from 1.34, with `instance-config.yaml`
/// (the node's CRI socket) applied on top, as kubeadm's kubelet phase does after `--patches` — so init, join and
/// upgrade write the same file.
pub fn node_kubelet_config(cluster: &ClusterConfiguration, cri_socket: &str, config: &Value) -> Value {
    let mut config = config.clone();
    if cri_socket_in_instance_config(cluster) {
        config["containerRuntimeEndpoint"] = json!(cri_socket);
    }
    config
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::model::Taint;
    use crate::manifests::fixture;
    use crate::version::KubeVersion;

    #[test]
    fn reference_config_yaml_and_hash() {
        let init = fixture::init();
        let yaml = to_yaml(&kubelet_configuration(&init, &fixture::host()));
        assert_eq!(yaml, fixture::reference("kubelet-config.yaml"));
        assert_eq!(yaml.len(), 999);
        let data = BTreeMap::from([("kubelet".to_string(), yaml)]);
        assert_eq!(
            component_config_hash(&data),
            "sha256:1a57e3f87b04a6bde4ecbbdc2a102ed31a3de10425da3154f44eaf02012235cc"
        );
    }

    #[test]
    fn reference_flags_env() {
        let init = fixture::init();
        let env = flags_env(&init.node_registration, &init.cluster, &fixture::host(), false);
        assert_eq!(env, fixture::reference("kubeadm-flags.env"));
    }

    #[test]
    fn hostname_override_taints_extra_args_and_quoting() {
        let mut init = fixture::init();
        let host = HostFacts { hostname: "CP1".into(), ..fixture::host() };
        init.node_registration.taints.push(Taint {
            key: "dedicated".into(),
            value: "db".into(),
            effect: "NoExecute".into(),
            time_added: String::new(),
        });
        init.node_registration.kubelet_extra_args = vec![
            Arg { name: "pod-infra-container-image".into(), value: "my/pause:1".into() },
            Arg { name: "node-labels".into(), value: "a=\"b\"".into() },
        ];
        let env = flags_env(&init.node_registration, &init.cluster, &host, true);
        assert_eq!(
            env,
            "KUBELET_KUBEADM_ARGS=\"--container-runtime-endpoint=unix:///run/containerd/containerd.sock \
             --node-labels=a=\\\"b\\\" --pod-infra-container-image=my/pause:1 \
             --register-with-taints=node-role.kubernetes.io/control-plane:NoSchedule,dedicated=db:NoExecute\"\n"
        );
    }

    #[test]
    fn user_config_merges_and_resolved_and_ipv6_dns() {
        let mut init = fixture::init();
        init.kubelet = Some(json!({
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "cgroupDriver": "cgroupfs",
            "rotateCertificates": false,
            "authentication": {"anonymous": {"enabled": true}},
            "maxPods": 50,
        }));
        init.cluster.networking.service_subnet = "fd00:10:96::/112,10.96.0.0/12".into();
        let host = HostFacts { systemd_resolved: true, ..fixture::host() };
        let c = kubelet_configuration(&init, &host);
        assert_eq!(c["cgroupDriver"], "cgroupfs");
        assert_eq!(c["rotateCertificates"], true);
        assert_eq!(c["authentication"]["anonymous"]["enabled"], true);
        assert_eq!(c["authentication"]["webhook"]["enabled"], true);
        assert_eq!(c["maxPods"], 50);
        assert_eq!(c["resolvConf"], "/run/systemd/resolve/resolv.conf");
        assert_eq!(c["clusterDNS"], json!(["fd00:10:96::a"]));
    }

    #[test]
    fn plan_steps_before_and_from_1_34() {
        let mut init = fixture::init();
        let steps = plan_kubelet_start(&init, &fixture::host()).unwrap();
        assert_eq!(steps.len(), 5);
        assert_eq!(steps[0], Step::EnsureDir { path: "/var/lib/kubelet".into(), mode: 0o700 });
        assert_eq!(
            steps[1],
            Step::say(
                "[kubelet-start] Writing kubelet environment file with flags to file \"/var/lib/kubelet/kubeadm-flags.env\""
            )
        );
        assert_eq!(
            steps[3],
            Step::say("[kubelet-start] Writing kubelet configuration to file \"/var/lib/kubelet/config.yaml\"")
        );
        assert!(
            matches!(&steps[4], Step::WriteFile { path, kind: FileKind::Kubelet, .. } if path == "/var/lib/kubelet/config.yaml")
        );

        // 1.34 (NodeLocalCRISocket on): kubeadm's lines for both files and the patch of one onto the other
        init.cluster.kubernetes_version = KubeVersion::resolve("v1.34.1").unwrap();
        let steps = plan_kubelet_start(&init, &fixture::host()).unwrap();
        let said: Vec<String> = steps
            .iter()
            .filter_map(|s| match s {
                Step::Say(l) => Some(l.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(
            said,
            [
                "[kubelet-start] Writing kubelet environment file with flags to file \"/var/lib/kubelet/kubeadm-flags.env\"",
                "[kubelet-start] Writing kubelet configuration to file \"/var/lib/kubelet/instance-config.yaml\"",
                "[patches] Applied patch of type \"application/strategic-merge-patch+json\" to target \"kubeletconfiguration\"",
                "[kubelet-start] Writing kubelet configuration to file \"/var/lib/kubelet/config.yaml\"",
            ]
        );
        assert_eq!(
            written(&steps, paths::KUBELET_INSTANCE_CONFIG).unwrap(),
            "containerRuntimeEndpoint: \"unix:///run/containerd/containerd.sock\"\n"
        );
        // 1.34 still passes the pause image; the CRI socket is no longer a flag
        assert_eq!(
            written(&steps, paths::KUBELET_FLAGS_ENV).unwrap(),
            "KUBELET_KUBEADM_ARGS=\"--hostname-override=cp1 --pod-infra-container-image=registry.k8s.io/pause:3.10.1\"\n"
        );
    }

    fn written(steps: &[Step], file: &str) -> Option<String> {
        steps.iter().find_map(|s| match s {
            Step::WriteFile { path, bytes, .. } if path == file => Some(String::from_utf8(bytes.clone()).unwrap()),
            _ => None,
        })
    }

    #[test]
    fn node_local_cri_socket_from_1_34_and_its_gate() {
        let mut init = fixture::init();
        init.cluster.kubernetes_version = KubeVersion::resolve("v1.35.3").unwrap();
        let steps = plan_kubelet_start(&init, &fixture::host()).unwrap();
        let paths: Vec<&str> = steps
            .iter()
            .filter_map(|s| match s {
                Step::WriteFile { path, .. } => Some(path.as_str()),
                _ => None,
            })
            .collect();
        // instance-config.yaml is written before config.yaml, which carries its endpoint (§2.5)
        assert_eq!(paths, [paths::KUBELET_FLAGS_ENV, paths::KUBELET_INSTANCE_CONFIG, paths::KUBELET_CONFIG]);
        let config = written(&steps, paths::KUBELET_CONFIG).unwrap();
        assert!(config.contains("containerRuntimeEndpoint: unix:///run/containerd/containerd.sock\n"), "{config}");
        assert!(config.contains("crashLoopBackOff: {}\n") && config.contains("imageMaximumGCAge: 0s\n"), "{config}");
        assert_eq!(
            written(&steps, paths::KUBELET_FLAGS_ENV).unwrap(),
            "KUBELET_KUBEADM_ARGS=\"--hostname-override=cp1\"\n"
        );
        assert!(cri_socket_recorded_locally(&init.cluster));
        // the ConfigMap's copy keeps the empty endpoint
        assert_eq!(kubelet_configuration(&init, &fixture::host())["containerRuntimeEndpoint"], "");

        // NodeLocalCRISocket=false (beta in 1.34 and 1.35): the flag, no instance-config, the annotation
        init.cluster.feature_gates.insert("NodeLocalCRISocket".into(), false);
        let steps = plan_kubelet_start(&init, &fixture::host()).unwrap();
        assert!(written(&steps, paths::KUBELET_INSTANCE_CONFIG).is_none());
        let env = written(&steps, paths::KUBELET_FLAGS_ENV).unwrap();
        assert!(env.contains("--container-runtime-endpoint=unix:///run/containerd/containerd.sock"), "{env}");
        assert!(!env.contains("--pod-infra-container-image"), "{env}");
        assert!(written(&steps, paths::KUBELET_CONFIG).unwrap().contains("containerRuntimeEndpoint: \"\"\n"));
        assert!(!cri_socket_recorded_locally(&init.cluster));
    }
}
