//! kube-apiserver, kube-controller-manager and kube-scheduler static Pods (reference §D.1–§D.5).

use k8s_openapi::api::core::v1::{Container, EnvVar as PodEnvVar, Pod};

use super::{
    HostPath, arg, command, find_arg, join_host_port, liveness_probe, name_probe_port, probe_host_for_bind,
    readiness_probe, requests, startup_probe, static_pod, write_manifest_steps,
};
use crate::Error;
use crate::config::model::{Arg, ClusterConfiguration, ControlPlaneComponent, EnvVar, Etcd, NodeIdentity};
use crate::paths;
use crate::plan::{NodeView, Step};

const COMPONENTS: &[(&str, &str)] = &[
    ("apiserver", "kube-apiserver"),
    ("controller-manager", "kube-controller-manager"),
    ("scheduler", "kube-scheduler"),
];

/// Authorization modes the API server knows; anything else is dropped from `authorization-mode`.
const AUTHZ_MODES: &[&str] = &["Node", "RBAC", "Webhook", "ABAC", "AlwaysAllow", "AlwaysDeny"];

/// CA directories mounted into the API server and controller-manager only when they exist on the host.
const OPTIONAL_CA_DIRS: &[(&str, &str)] = &[
    ("etc-pki", "/etc/pki"),
    ("usr-share-ca-certificates", "/usr/share/ca-certificates"),
    ("usr-local-share-ca-certificates", "/usr/local/share/ca-certificates"),
    ("etc-ca-certificates", "/etc/ca-certificates"),
];

const CA_CERTS_DIR: &str = "/etc/ssl/certs";
const FLEXVOLUME_DIR: &str = "/usr/libexec/kubernetes/kubelet-plugins/volume/exec";

/// The control-plane sub-phases: ("apiserver","kube-apiserver"), ("controller-manager","kube-controller-manager"),
/// ("scheduler","kube-scheduler").
pub fn control_plane_components() -> &'static [(&'static str, &'static str)] {
    COMPONENTS
}

/// The Pod for one component (component = "kube-apiserver" | "kube-controller-manager" | "kube-scheduler").
/// `proxy_env` = the `*_proxy` variables of kbinit's own environment (the binary passes them in; §D.1).
pub fn control_plane_pod(
    component: &str,
    cluster: &ClusterConfiguration,
    node: &NodeIdentity,
    view: &dyn NodeView,
    proxy_env: &[EnvVar],
) -> Result<Pod, Error> {
    let image = format!("{}/{component}:{}", cluster.image_repository, cluster.kubernetes_version.image_tag());
    let (settings, mut container, mut mounts, annotation) = match component {
        "kube-apiserver" => {
            let (c, m, a) = apiserver(cluster, node, view);
            (&cluster.api_server.component, c, m, Some(a))
        }
        "kube-controller-manager" => {
            let (c, m) = controller_manager(cluster, view);
            (&cluster.controller_manager, c, m, None)
        }
        "kube-scheduler" => {
            let (c, m) = scheduler(cluster);
            (&cluster.scheduler, c, m, None)
        }
        other => {
            return Err(Error::invalid(
                "component",
                other,
                "expected kube-apiserver, kube-controller-manager or kube-scheduler",
            ));
        }
    };
    container.image = Some(image);
    container.env = env(proxy_env, &settings.extra_envs);
    if cluster.kubernetes_version.named_probe_ports() {
        name_probe_port(&mut container);
    }
    mounts.extend(settings.extra_volumes.iter().map(|v| HostPath {
        name: v.name.clone(),
        host_path: v.host_path.clone(),
        mount_path: v.mount_path.clone(),
        read_only: v.read_only,
        path_type: Some(v.path_type.clone()),
    }));
    Ok(static_pod(component, annotation, container, mounts, false))
}

/// Steps for one control-plane sub-phase: Say `[control-plane] Creating static Pod manifest for
/// "kube-apiserver"`, EnsureDir /etc/kubernetes/manifests 0700, WriteFile (FileKind::Manifest).
pub fn plan_control_plane(
    component: &str,
    cluster: &ClusterConfiguration,
    node: &NodeIdentity,
    view: &dyn NodeView,
    proxy_env: &[EnvVar],
) -> Result<Vec<Step>, Error> {
    let pod = control_plane_pod(component, cluster, node, view, proxy_env)?;
    let mut steps = vec![Step::say(format!("[control-plane] Creating static Pod manifest for {component:?}"))];
    steps.extend(write_manifest_steps(component, &pod)?);
    Ok(steps)
}

/// The proxy variables (names ending in `_proxy`, any case, non-empty) merged with `extraEnvs` (which win),
/// sorted by name; `None` when there are none.
fn env(proxy_env: &[EnvVar], extra: &[EnvVar]) -> Option<Vec<PodEnvVar>> {
    let mut merged: std::collections::BTreeMap<&str, &EnvVar> = proxy_env
        .iter()
        .filter(|e| e.name.to_ascii_lowercase().ends_with("_proxy") && !e.value.is_empty())
        .map(|e| (e.name.as_str(), e))
        .collect();
    merged.extend(extra.iter().map(|e| (e.name.as_str(), e)));
    let list: Vec<PodEnvVar> = merged.into_values().map(crate::manifests::pod_env_var).collect();
    (!list.is_empty()).then_some(list)
}

/// `ca-certs`, `k8s-certs` and the CA directories that exist on the host, all read-only.
fn ca_mounts(cluster: &ClusterConfiguration, view: &dyn NodeView) -> Vec<HostPath> {
    let mut list = vec![
        HostPath::new("ca-certs", CA_CERTS_DIR, "DirectoryOrCreate", true),
        HostPath::new("k8s-certs", &cluster.certificates_dir, "DirectoryOrCreate", true),
    ];
    for (name, dir) in OPTIONAL_CA_DIRS {
        if view.is_dir(dir) {
            list.push(HostPath::new(name, dir, "DirectoryOrCreate", true));
        }
    }
    list
}

fn apiserver(
    cluster: &ClusterConfiguration,
    node: &NodeIdentity,
    view: &dyn NodeView,
) -> (Container, Vec<HostPath>, (String, String)) {
    let pki = |name: &str| paths::join(&cluster.certificates_dir, name);
    let advertise = node.advertise_address.to_string();
    let extra = &cluster.api_server.component.extra_args;
    let mut defaults = vec![
        arg("advertise-address", &advertise),
        arg("allow-privileged", "true"),
        arg("client-ca-file", pki("ca.crt")),
        arg("enable-admission-plugins", "NodeRestriction"),
        arg("enable-bootstrap-token-auth", "true"),
        arg("kubelet-client-certificate", pki("apiserver-kubelet-client.crt")),
        arg("kubelet-client-key", pki("apiserver-kubelet-client.key")),
        arg("kubelet-preferred-address-types", "InternalIP,ExternalIP,Hostname"),
        arg("proxy-client-cert-file", pki("front-proxy-client.crt")),
        arg("proxy-client-key-file", pki("front-proxy-client.key")),
        arg("requestheader-allowed-names", "front-proxy-client"),
        arg("requestheader-client-ca-file", pki("front-proxy-ca.crt")),
        arg("requestheader-extra-headers-prefix", "X-Remote-Extra-"),
        arg("requestheader-group-headers", "X-Remote-Group"),
        arg("requestheader-username-headers", "X-Remote-User"),
        arg("secure-port", node.bind_port.to_string()),
        arg("service-account-issuer", format!("https://kubernetes.default.svc.{}", cluster.networking.dns_domain)),
        arg("service-account-key-file", pki("sa.pub")),
        arg("service-account-signing-key-file", pki("sa.key")),
        arg("service-cluster-ip-range", &cluster.networking.service_subnet),
        arg("tls-cert-file", pki("apiserver.crt")),
        arg("tls-private-key-file", pki("apiserver.key")),
    ];
    let mut mounts = ca_mounts(cluster, view);
    match &cluster.etcd {
        Etcd::Local(local) => {
            let servers =
                find_arg(&local.extra_args, "advertise-client-urls").map(str::to_string).unwrap_or_else(|| {
                    let localhost = if node.advertise_address.is_ipv6() { "::1" } else { "127.0.0.1" };
                    format!("https://{}", join_host_port(localhost, 2379))
                });
            defaults.push(arg("etcd-servers", servers));
            defaults.push(arg("etcd-cafile", pki("etcd/ca.crt")));
            defaults.push(arg("etcd-certfile", pki("apiserver-etcd-client.crt")));
            defaults.push(arg("etcd-keyfile", pki("apiserver-etcd-client.key")));
        }
        Etcd::External(ext) => {
            defaults.push(arg("etcd-servers", ext.endpoints.join(",")));
            if !ext.ca_file.is_empty() {
                defaults.push(arg("etcd-cafile", &ext.ca_file));
            }
            if !ext.cert_file.is_empty() && !ext.key_file.is_empty() {
                defaults.push(arg("etcd-certfile", &ext.cert_file));
                defaults.push(arg("etcd-keyfile", &ext.key_file));
            }
            mounts.extend(external_etcd_mounts(cluster, &[&ext.ca_file, &ext.cert_file, &ext.key_file]));
        }
    }
    let extra: Vec<Arg> = if cluster.kubernetes_version.authorization_mode_in_manifest_only() {
        // 1.30+: a default from the user's modes (filtered), which the user's own value then overrides as
        // written; none at all beside a structured `authorization-config`
        if find_arg(extra, "authorization-config").is_none() {
            defaults.push(arg("authorization-mode", authorization_mode(extra)));
        }
        extra.to_vec()
    } else {
        // before: the user's authorization-mode is replaced by the filtered one
        defaults.push(arg("authorization-mode", authorization_mode(extra)));
        extra.iter().filter(|a| a.name != "authorization-mode").cloned().collect()
    };
    let probe_host = probe_host_for_bind(&advertise);
    let container = Container {
        command: Some(command("kube-apiserver", defaults, &extra, &cluster.kubernetes_version)),
        liveness_probe: Some(liveness_probe(&probe_host, "/livez", node.bind_port, "HTTPS")),
        readiness_probe: Some(readiness_probe(&probe_host, "/readyz", node.bind_port, "HTTPS")),
        startup_probe: Some(startup_probe(&probe_host, "/livez", node.bind_port, "HTTPS")),
        resources: Some(requests(&[("cpu", "250m")])),
        ..Default::default()
    };
    let annotation = (
        "kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint".to_string(),
        join_host_port(&advertise, node.bind_port),
    );
    (container, mounts, annotation)
}

/// The user's `authorization-mode` reduced to modes the API server knows, or `Node,RBAC`.
fn authorization_mode(extra: &[Arg]) -> String {
    let requested = find_arg(extra, "authorization-mode").unwrap_or_default();
    let modes: Vec<&str> = requested.split(',').filter(|m| AUTHZ_MODES.contains(m)).collect();
    if modes.is_empty() { "Node,RBAC".into() } else { modes.join(",") }
}

/// `etcd-certs-<i>` for every directory of the external etcd cert files not already mounted (sorted, deduplicated).
fn external_etcd_mounts(cluster: &ClusterConfiguration, files: &[&str]) -> Vec<HostPath> {
    let mounted = [CA_CERTS_DIR, "/etc/pki", cluster.certificates_dir.as_str()];
    let dirs: std::collections::BTreeSet<String> = files
        .iter()
        .filter(|f| !f.is_empty())
        .map(|f| match f.rfind('/') {
            Some(0) => "/".to_string(),
            Some(i) => f[..i].to_string(),
            None => ".".to_string(),
        })
        .filter(|d| d != "." && !mounted.iter().any(|m| d.starts_with(m)))
        .collect();
    dirs.iter()
        .enumerate()
        .map(|(i, d)| HostPath::new(&format!("etcd-certs-{i}"), d, "DirectoryOrCreate", true))
        .collect()
}

fn controller_manager(cluster: &ClusterConfiguration, view: &dyn NodeView) -> (Container, Vec<HostPath>) {
    let pki = |name: &str| paths::join(&cluster.certificates_dir, name);
    let kubeconfig = paths::join(paths::KUBERNETES_DIR, "controller-manager.conf");
    let extra = &cluster.controller_manager.extra_args;
    // external CA mode: the CA certificate is there but its key is not
    let external_ca = view.exists(&pki("ca.crt")) && !view.exists(&pki("ca.key"));
    let (signing_cert, signing_key) =
        if external_ca { (String::new(), String::new()) } else { (pki("ca.crt"), pki("ca.key")) };
    let mut defaults = vec![
        arg("authentication-kubeconfig", &kubeconfig),
        arg("authorization-kubeconfig", &kubeconfig),
        arg("bind-address", "127.0.0.1"),
        arg("client-ca-file", pki("ca.crt")),
        arg("cluster-signing-cert-file", signing_cert),
        arg("cluster-signing-key-file", signing_key),
        arg("controllers", "*,bootstrapsigner,tokencleaner"),
        arg("kubeconfig", &kubeconfig),
        arg("leader-elect", "true"),
        arg("requestheader-client-ca-file", pki("front-proxy-ca.crt")),
        arg("root-ca-file", pki("ca.crt")),
        arg("service-account-private-key-file", pki("sa.key")),
        arg("use-service-account-credentials", "true"),
    ];
    let net = &cluster.networking;
    if !net.pod_subnet.is_empty() {
        defaults.push(arg("allocate-node-cidrs", "true"));
        defaults.push(arg("cluster-cidr", &net.pod_subnet));
        if !net.service_subnet.is_empty() {
            defaults.push(arg("service-cluster-ip-range", &net.service_subnet));
        }
    }
    if !cluster.cluster_name.is_empty() {
        defaults.push(arg("cluster-name", &cluster.cluster_name));
    }
    let mut mounts = ca_mounts(cluster, view);
    mounts.push(HostPath::new("kubeconfig", &kubeconfig, "FileOrCreate", true));
    if cluster.kubernetes_version.kcm_flexvolume_mount() {
        let flex = find_arg(extra, "flex-volume-plugin-dir").unwrap_or(FLEXVOLUME_DIR);
        mounts.push(HostPath::new("flexvolume-dir", flex, "DirectoryOrCreate", false));
    }
    let host = probe_host_for_bind(find_arg(extra, "bind-address").unwrap_or("127.0.0.1"));
    let container = Container {
        command: Some(command("kube-controller-manager", defaults, extra, &cluster.kubernetes_version)),
        liveness_probe: Some(liveness_probe(&host, "/healthz", 10257, "HTTPS")),
        startup_probe: Some(startup_probe(&host, "/healthz", 10257, "HTTPS")),
        resources: Some(requests(&[("cpu", "200m")])),
        ..Default::default()
    };
    (container, mounts)
}

fn scheduler(cluster: &ClusterConfiguration) -> (Container, Vec<HostPath>) {
    let kubeconfig = paths::join(paths::KUBERNETES_DIR, "scheduler.conf");
    let extra: &ControlPlaneComponent = &cluster.scheduler;
    let defaults = vec![
        arg("authentication-kubeconfig", &kubeconfig),
        arg("authorization-kubeconfig", &kubeconfig),
        arg("bind-address", "127.0.0.1"),
        arg("kubeconfig", &kubeconfig),
        arg("leader-elect", "true"),
    ];
    let host = probe_host_for_bind(find_arg(&extra.extra_args, "bind-address").unwrap_or("127.0.0.1"));
    let (live, ready) = if cluster.kubernetes_version.scheduler_livez_probes() {
        ("/livez", Some(readiness_probe(&host, "/readyz", 10259, "HTTPS")))
    } else {
        ("/healthz", None)
    };
    let container = Container {
        command: Some(command("kube-scheduler", defaults, &extra.extra_args, &cluster.kubernetes_version)),
        liveness_probe: Some(liveness_probe(&host, live, 10259, "HTTPS")),
        readiness_probe: ready,
        startup_probe: Some(startup_probe(&host, live, 10259, "HTTPS")),
        resources: Some(requests(&[("cpu", "100m")])),
        ..Default::default()
    };
    let mounts = vec![HostPath::new("kubeconfig", &kubeconfig, "FileOrCreate", true)];
    (container, mounts)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::model::{ExternalEtcd, HostPathMount};
    use crate::manifests::fixture;
    use crate::manifests::pod_yaml;
    use crate::plan::MemoryNode;

    fn render(component: &str, cluster: &ClusterConfiguration, view: &MemoryNode, env: &[EnvVar]) -> String {
        let node = fixture::init().node();
        pod_yaml(&control_plane_pod(component, cluster, &node, view, env).unwrap()).unwrap()
    }

    fn command_of(yaml: &str) -> Vec<String> {
        let v = crate::go_format::yaml::from_yaml(yaml).unwrap();
        serde_json::from_value(v["spec"]["containers"][0]["command"].clone()).unwrap()
    }

    #[test]
    fn reference_manifests_byte_for_byte() {
        let init = fixture::init();
        for (_, component) in control_plane_components() {
            let got = render(component, &init.cluster, &fixture::view(), &[]);
            assert_eq!(got, fixture::reference(&format!("{component}.yaml")), "{component}");
        }
    }

    #[test]
    fn plan_says_and_writes_the_manifest() {
        let init = fixture::init();
        let steps = plan_control_plane("kube-scheduler", &init.cluster, &init.node(), &fixture::view(), &[]).unwrap();
        assert_eq!(steps[0], Step::say("[control-plane] Creating static Pod manifest for \"kube-scheduler\""));
        assert_eq!(steps[1], Step::EnsureDir { path: "/etc/kubernetes/manifests".into(), mode: 0o700 });
        let Step::WriteFile { path, kind, bytes } = &steps[2] else { panic!("{steps:?}") };
        assert_eq!(path, "/etc/kubernetes/manifests/kube-scheduler.yaml");
        assert_eq!(*kind, crate::plan::FileKind::Manifest);
        assert_eq!(String::from_utf8(bytes.clone()).unwrap(), fixture::reference("kube-scheduler.yaml"));
        assert!(control_plane_pod("kube-proxy", &init.cluster, &init.node(), &fixture::view(), &[]).is_err());
    }

    #[test]
    fn extra_args_override_defaults_and_add_flags() {
        let mut init = fixture::init();
        init.cluster.api_server.component.extra_args = vec![
            Arg { name: "secure-port".into(), value: "7443".into() },
            Arg { name: "audit-log-path".into(), value: "/var/log/audit.log".into() },
            Arg { name: "authorization-mode".into(), value: "Bogus,RBAC,Node".into() },
        ];
        let cmd = command_of(&render("kube-apiserver", &init.cluster, &fixture::view(), &[]));
        assert!(cmd.contains(&"--secure-port=7443".to_string()));
        assert!(!cmd.contains(&"--secure-port=6443".to_string()));
        assert!(cmd.contains(&"--audit-log-path=/var/log/audit.log".to_string()));
        assert_eq!(cmd.iter().filter(|a| a.starts_with("--authorization-mode=")).count(), 1);
        assert!(cmd.contains(&"--authorization-mode=RBAC,Node".to_string()));
        let mut sorted = cmd[1..].to_vec();
        sorted.sort();
        assert_eq!(sorted, cmd[1..]);

        init.cluster.api_server.component.extra_args =
            vec![Arg { name: "authorization-mode".into(), value: "Nope".into() }];
        let cmd = command_of(&render("kube-apiserver", &init.cluster, &fixture::view(), &[]));
        assert!(cmd.contains(&"--authorization-mode=Node,RBAC".to_string()));
    }

    #[test]
    fn from_1_36_the_users_flags_follow_the_sorted_defaults_in_their_order() {
        let mut init = fixture::init();
        init.cluster.api_server.component.extra_args = vec![
            Arg { name: "service-account-issuer".into(), value: "https://new.example".into() },
            Arg { name: "service-account-issuer".into(), value: "https://kubernetes.default.svc.cluster.local".into() },
            Arg { name: "audit-log-path".into(), value: "/var/log/audit.log".into() },
        ];
        let user = [
            "--service-account-issuer=https://new.example",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            "--audit-log-path=/var/log/audit.log",
        ];
        for (release, keeps_order) in [("v1.35.0", false), ("v1.36.0", true), ("v1.37.1", true)] {
            init.cluster.kubernetes_version = release.parse().unwrap();
            let cmd = command_of(&render("kube-apiserver", &init.cluster, &fixture::view(), &[]));
            let n = cmd.len();
            if keeps_order {
                // the user's, as given, after the defaults (the first issuer is the one that signs tokens)
                assert_eq!(cmd[n - 3..], user, "{release}");
                let mut defaults = cmd[1..n - 3].to_vec();
                defaults.sort();
                assert_eq!(defaults, cmd[1..n - 3], "{release}: defaults sorted");
            } else {
                let mut sorted = cmd[1..].to_vec();
                sorted.sort();
                assert_eq!(sorted, cmd[1..], "{release}: everything sorted");
                assert_ne!(cmd[n - 3..], user, "{release}");
            }
            // a user flag still replaces the default of its name
            assert_eq!(cmd.iter().filter(|a| a.starts_with("--service-account-issuer=")).count(), 2, "{release}");
        }
    }

    #[test]
    fn v1beta4_duplicate_args_are_kept_in_order() {
        let mut init = fixture::init();
        init.cluster.scheduler.extra_args = vec![
            Arg { name: "v".into(), value: "2".into() },
            Arg { name: "feature-gates".into(), value: "A=true".into() },
            Arg { name: "feature-gates".into(), value: "B=false".into() },
        ];
        let cmd = command_of(&render("kube-scheduler", &init.cluster, &fixture::view(), &[]));
        let fg: Vec<&String> = cmd.iter().filter(|a| a.starts_with("--feature-gates")).collect();
        assert_eq!(fg, ["--feature-gates=A=true", "--feature-gates=B=false"]);
        assert_eq!(cmd.last().unwrap(), "--v=2");
    }

    #[test]
    fn extra_volumes_are_mounted_sorted_by_name() {
        let mut init = fixture::init();
        init.cluster.controller_manager.extra_volumes = vec![HostPathMount {
            name: "aaa-plugins".into(),
            host_path: "/opt/plugins".into(),
            mount_path: "/plugins".into(),
            read_only: false,
            path_type: String::new(),
        }];
        let yaml = render("kube-controller-manager", &init.cluster, &fixture::view(), &[]);
        assert!(yaml.contains("  - hostPath:\n      path: /opt/plugins\n      type: \"\"\n    name: aaa-plugins\n  - hostPath:\n      path: /etc/ssl/certs\n"), "{yaml}");
        assert!(yaml.contains("    volumeMounts:\n    - mountPath: /plugins\n      name: aaa-plugins\n    - mountPath: /etc/ssl/certs\n"), "{yaml}");
    }

    #[test]
    fn ipv6_advertise_address() {
        let init = fixture::init();
        let node = NodeIdentity { advertise_address: "fd00::10".parse().unwrap(), ..init.node() };
        let pod = control_plane_pod("kube-apiserver", &init.cluster, &node, &fixture::view(), &[]).unwrap();
        let yaml = pod_yaml(&pod).unwrap();
        assert!(yaml.contains("advertise-address.endpoint: '[fd00::10]:6443'"), "{yaml}");
        assert!(yaml.contains("- --etcd-servers=https://[::1]:2379\n"));
        assert!(yaml.contains("- --advertise-address=fd00::10\n"));
        assert!(yaml.contains("host: fd00::10\n"));
    }

    #[test]
    fn external_etcd_flags_and_cert_mounts() {
        let mut init = fixture::init();
        init.cluster.etcd = Etcd::External(ExternalEtcd {
            endpoints: vec!["https://e1:2379".into(), "https://e2:2379".into()],
            ca_file: "/etc/etcd/pki/ca.crt".into(),
            cert_file: "/etc/kubernetes/pki/etcd-client.crt".into(),
            key_file: "/srv/keys/etcd-client.key".into(),
        });
        let yaml = render("kube-apiserver", &init.cluster, &fixture::view(), &[]);
        let cmd = command_of(&yaml);
        assert!(cmd.contains(&"--etcd-servers=https://e1:2379,https://e2:2379".to_string()));
        assert!(cmd.contains(&"--etcd-cafile=/etc/etcd/pki/ca.crt".to_string()));
        assert!(cmd.contains(&"--etcd-certfile=/etc/kubernetes/pki/etcd-client.crt".to_string()));
        assert!(
            yaml.contains("path: /etc/etcd/pki\n      type: DirectoryOrCreate\n    name: etcd-certs-0\n"),
            "{yaml}"
        );
        assert!(yaml.contains("path: /srv/keys\n      type: DirectoryOrCreate\n    name: etcd-certs-1\n"), "{yaml}");
        assert!(!yaml.contains("etcd-certs-2"));

        // no key file: neither cert nor key flag; no CA: no cafile flag
        init.cluster.etcd = Etcd::External(ExternalEtcd {
            endpoints: vec!["http://e1:2379".into()],
            cert_file: "/etc/etcd/c.crt".into(),
            ..Default::default()
        });
        let cmd = command_of(&render("kube-apiserver", &init.cluster, &fixture::view(), &[]));
        assert!(!cmd.iter().any(|a| a.starts_with("--etcd-certfile") || a.starts_with("--etcd-cafile")));
    }

    #[test]
    fn proxy_env_and_extra_envs() {
        let mut init = fixture::init();
        init.cluster.controller_manager.extra_envs = vec![EnvVar::new("NO_PROXY", "10.0.0.0/8")];
        let proxy = [
            EnvVar::new("HTTPS_PROXY", "http://proxy:3128"),
            EnvVar::new("no_proxy", "localhost"),
            EnvVar::new("http_proxy", ""),
            EnvVar::new("HOME", "/root"),
        ];
        let yaml = render("kube-controller-manager", &init.cluster, &fixture::view(), &proxy);
        assert!(yaml.contains(
            "    env:\n    - name: HTTPS_PROXY\n      value: http://proxy:3128\n    - name: NO_PROXY\n      value: 10.0.0.0/8\n    - name: no_proxy\n      value: localhost\n    image:"
        ), "{yaml}");
        assert!(!yaml.contains("HOME"));
    }

    #[test]
    fn external_ca_leaves_signing_flags_empty() {
        let init = fixture::init();
        let mut view = fixture::view();
        view.files.insert("/etc/kubernetes/pki/ca.crt".into(), b"cert".to_vec());
        let cmd = command_of(&render("kube-controller-manager", &init.cluster, &view, &[]));
        assert!(cmd.contains(&"--cluster-signing-cert-file=".to_string()));
        assert!(cmd.contains(&"--cluster-signing-key-file=".to_string()));
        view.files.insert("/etc/kubernetes/pki/ca.key".into(), b"key".to_vec());
        let cmd = command_of(&render("kube-controller-manager", &init.cluster, &view, &[]));
        assert!(cmd.contains(&"--cluster-signing-key-file=/etc/kubernetes/pki/ca.key".to_string()));
    }

    #[test]
    fn no_pod_subnet_no_cidr_flags_and_etc_pki_when_present() {
        let mut init = fixture::init();
        init.cluster.networking.pod_subnet = String::new();
        let mut view = fixture::view();
        view.dirs.push("/etc/pki".into());
        let yaml = render("kube-controller-manager", &init.cluster, &view, &[]);
        let cmd = command_of(&yaml);
        assert!(!cmd.iter().any(|a| a.starts_with("--allocate-node-cidrs") || a.starts_with("--cluster-cidr")));
        assert!(!cmd.iter().any(|a| a.starts_with("--service-cluster-ip-range")));
        assert!(yaml.contains("name: etc-pki"));
    }
}
