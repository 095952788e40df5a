//! kbinit installed as `kubeadm`, driven the way kubespray's kubeadm roles drive kubeadm, command for command
//! (kubernetes-sigs/kubespray: roles/kubernetes/control-plane/tasks/kubeadm-setup.yml and kubeadm-secondary.yml,
//! roles/kubernetes/kubeadm/tasks/main.yml, kubeadm-upgrade.yml), against the real v1.33.3 control plane:
//!
//! - one `kubeadm-config.yaml` as kubespray's `kubeadm-config.v1beta4.yaml.j2` renders it (Init-, Cluster-,
//!   Upgrade-, KubeProxy- and KubeletConfiguration in one file, certificatesDir `/etc/kubernetes/ssl`, its
//!   extraArgs for etcd, API server and controller-manager) checked with `kubeadm config validate --config`;
//! - `kubeadm init --config=… --ignore-preflight-errors=… --skip-phases=addon/coredns --upload-certs`, the
//!   certificate key read from the line kubespray's regex `--certificate-key ([^ ]+)` matches;
//! - `kubeadm --kubeconfig /etc/kubernetes/admin.conf token create` (the flag before the command, as cobra takes
//!   it) printing the token alone, and `kubeadm init phase --config … upload-certs --upload-certs` whose last line
//!   is the new certificate key;
//! - a worker's `kubeadm join --config kubeadm-client.conf --ignore-preflight-errors=… --skip-phases=` (an empty
//!   list) with the token and the CA hash kubespray computes with openssl;
//! - `kubeadm upgrade apply -y v1.33.3 --certificate-renewal=true --config=kubeadm-config.yaml … --force` with
//!   the same multi-document file (the other documents ignored with kubeadm's warning).
//!
//! Values are kubespray's defaults where the harness allows; the scheduler's `--config` file that kubespray adds
//! is left out (the harness runs the scheduler as a host process, where the file's own kubeconfig path would not
//! be under the node root), and bind addresses are 0.0.0.0 (`kube_*_bind_address`).

use crate::support::nodes::lan::Lan;
use crate::support::realk8s::node::RealNode;
use crate::support::run_ok;

const CP: &str = "10.77.0.1";
const WORKER: &str = "10.77.0.3";

/// kubespray's kubeadm-config.yaml for node `cp1` at `address`, as its v1beta4 template renders it with the
/// defaults for Kubernetes `release` (also the file oracle's `kubespray` case, tests/it/oracle.rs).
pub fn kubeadm_config(address: &str, release: &str) -> String {
    format!(
        r#"apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: "{address}"
  bindPort: 6443
nodeRegistration:
  name: "cp1"
  taints:
  - effect: NoSchedule
    key: node-role.kubernetes.io/control-plane
  criSocket: unix:///var/run/containerd/containerd.sock
  imagePullPolicy: IfNotPresent
  imagePullSerial: true
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
clusterName: cluster.local
encryptionAlgorithm: RSA-2048
certificateValidityPeriod: 8760h0m0s
caCertificateValidityPeriod: 87600h0m0s
etcd:
  local:
    imageRepository: "registry.k8s.io"
    imageTag: "3.5.21-0"
    dataDir: "/var/lib/etcd"
    extraArgs:
    - name: election-timeout
      value: "5000"
    - name: heartbeat-interval
      value: "250"
    - name: auto-compaction-retention
      value: "8"
    - name: snapshot-count
      value: "10000"
    - name: quota-backend-bytes
      value: "2147483648"
    - name: max-request-bytes
      value: "1572864"
    serverCertSANs:
      - "etcd.kube-system.svc.cluster.local"
      - "{address}"
    peerCertSANs:
      - "etcd.kube-system.svc.cluster.local"
      - "{address}"
dns:
  disabled: true
  imageRepository: registry.k8s.io/coredns
  imageTag: v1.12.0
networking:
  dnsDomain: cluster.local
  serviceSubnet: "10.233.0.0/18"
  podSubnet: "10.233.64.0/18"
kubernetesVersion: {release}
controlPlaneEndpoint: "{address}:6443"
certificatesDir: /etc/kubernetes/ssl
imageRepository: registry.k8s.io
apiServer:
  extraArgs:
  - name: etcd-compaction-interval
    value: "5m0s"
  - name: default-not-ready-toleration-seconds
    value: "300"
  - name: default-unreachable-toleration-seconds
    value: "300"
  - name: anonymous-auth
    value: "True"
  - name: authorization-mode
    value: "Node,RBAC"
  - name: bind-address
    value: "0.0.0.0"
  - name: apiserver-count
    value: "1"
  - name: endpoint-reconciler-type
    value: lease
  - name: service-node-port-range
    value: "30000-32767"
  - name: service-cluster-ip-range
    value: "10.233.0.0/18"
  - name: kubelet-preferred-address-types
    value: "InternalDNS,InternalIP,Hostname,ExternalDNS,ExternalIP"
  - name: profiling
    value: "False"
  - name: request-timeout
    value: "1m0s"
  - name: enable-aggregator-routing
    value: "False"
  - name: service-account-lookup
    value: "True"
  - name: storage-backend
    value: "etcd3"
  - name: allow-privileged
    value: "true"
  - name: event-ttl
    value: "1h0m0s"
  certSANs:
  - "kubernetes"
  - "kubernetes.default"
  - "kubernetes.default.svc"
  - "kubernetes.default.svc.cluster.local"
  - "10.233.0.1"
  - "localhost"
  - "127.0.0.1"
  - "::1"
  - "cp1"
  - "{address}"
controllerManager:
  extraArgs:
  - name: node-monitor-grace-period
    value: "40s"
  - name: node-monitor-period
    value: "5s"
  - name: cluster-cidr
    value: "10.233.64.0/18"
  - name: service-cluster-ip-range
    value: "10.233.0.0/18"
  - name: node-cidr-mask-size-ipv4
    value: "24"
  - name: profiling
    value: "False"
  - name: terminated-pod-gc-threshold
    value: "12500"
  - name: bind-address
    value: "0.0.0.0"
  - name: leader-elect-lease-duration
    value: "15s"
  - name: leader-elect-renew-deadline
    value: "10s"
  - name: configure-cloud-routes
    value: "false"
scheduler:
  extraArgs:
  - name: bind-address
    value: "0.0.0.0"
  - name: profiling
    value: "False"
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: UpgradeConfiguration
apply:
  kubernetesVersion: {release}
  allowExperimentalUpgrades: true
  certificateRenewal: true
  etcdUpgrade: true
  forceUpgrade: true
  ignorePreflightErrors:
  - "all"
  imagePullPolicy: IfNotPresent
  imagePullSerial: true
  skipPhases:
  - "addon/coredns"
node:
  certificateRenewal: true
  etcdUpgrade: true
  ignorePreflightErrors:
  - "all"
  imagePullPolicy: IfNotPresent
  imagePullSerial: true
---
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
bindAddress: "0.0.0.0"
clientConnection:
  acceptContentTypes: 
  burst: 10
  contentType: application/vnd.kubernetes.protobuf
  kubeconfig: 
  qps: 5
clusterCIDR: "10.233.64.0/18"
configSyncPeriod: 15m0s
conntrack:
  maxPerCore: 32768
  min: 131072
  tcpCloseWaitTimeout: 1h0m0s
  tcpEstablishedTimeout: 24h0m0s
enableProfiling: False
healthzBindAddress: "0.0.0.0:10256"
hostnameOverride: "cp1"
iptables:
  masqueradeAll: False
  masqueradeBit: 14
  minSyncPeriod: 0s
  syncPeriod: 30s
ipvs:
  excludeCIDRs: []
  minSyncPeriod: 0s
  scheduler: rr
  syncPeriod: 30s
  strictARP: False
  tcpTimeout: 0s
  tcpFinTimeout: 0s
  udpTimeout: 0s
metricsBindAddress: "127.0.0.1:10249"
mode: ipvs
nodePortAddresses: []
oomScoreAdj: -999
portRange: 
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
clusterDNS:
- 169.254.25.10
"#
    )
}

/// kubespray's kubeadm-client.conf (kubeadm-client.conf.j2, v1beta4, token discovery with the CA hash).
fn kubeadm_client_conf(token: &str, ca_hash: &str) -> String {
    format!(
        "---
apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: {CP}:6443
    token: {token}
    caCertHashes:
    - sha256:{ca_hash}
  tlsBootstrapToken: {token}
timeouts:
  discovery: 60s
caCertPath: /etc/kubernetes/ssl/ca.crt
nodeRegistration:
  name: 'w1'
  criSocket: unix:///var/run/containerd/containerd.sock
"
    )
}

/// `openssl x509 -pubkey | openssl rsa -pubin -outform der | openssl dgst -sha256 -hex`, as kubespray computes
/// the CA hash.
fn openssl_ca_hash(ca: &std::path::Path) -> String {
    let script = format!(
        "set -o pipefail && openssl x509 -pubkey -in {} | openssl rsa -pubin -outform der 2>/dev/null | \
         openssl dgst -sha256 -hex | sed 's/^.* //'",
        ca.display()
    );
    run_ok("bash", &["-c", &script]).trim().to_string()
}

#[test]
fn kubespray_drives_kbinit_installed_as_kubeadm() {
    crate::support::require_tool("openssl");
    let links = tempfile::tempdir().unwrap();
    let kubeadm = links.path().join("kubeadm");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_kbinit"), &kubeadm).unwrap();

    let lan = Lan::create("kspray", "10.77.0.100");
    let cp = RealNode::on_lan(&lan, "kspray1", "cp1", CP, "v1.33.3");
    let cfg = cp.node.path("/etc/kubernetes/kubeadm-config.yaml");
    std::fs::create_dir_all(cfg.parent().unwrap()).unwrap();
    std::fs::write(&cfg, kubeadm_config(CP, "v1.33.3")).unwrap();

    // the template's `validate:` step
    let validate = cp.run_as(&kubeadm, &["config", "validate", "--config", cfg.to_str().unwrap()]);
    assert_eq!((validate.code, validate.stdout.trim()), (0, "ok"), "{}", validate.stderr);

    let init = cp.run_as(
        &kubeadm,
        &[
            "init",
            &format!("--config={}", cfg.display()),
            "--ignore-preflight-errors=all",
            "--skip-phases=addon/coredns",
            "--upload-certs",
        ],
    );
    assert_eq!(init.code, 0, "kubeadm init failed\n{}\n{}\n{}", init.stdout, init.stderr, cp.report());
    let key = init
        .stdout
        .lines()
        .find_map(|l| l.split("--certificate-key ").nth(1))
        .map(|k| k.split_whitespace().next().unwrap_or_default().to_string())
        .expect("a --certificate-key line for kubespray's regex");
    assert!(key.len() == 64 && key.chars().all(|c| c.is_ascii_hexdigit()), "{key}");
    assert!(init.stdout.contains("[addons] Applied essential addon: kube-proxy"), "{}", init.stdout);
    assert!(!init.stdout.contains("CoreDNS"), "addon/coredns was skipped:\n{}", init.stdout);
    assert!(cp.node.path("/etc/kubernetes/ssl/apiserver.crt").exists(), "certificatesDir /etc/kubernetes/ssl");

    // kubespray reads the token from stdout: it must be the only thing printed there
    let token = cp.run_as(&kubeadm, &["--kubeconfig", "/etc/kubernetes/admin.conf", "token", "create"]);
    assert_eq!(token.code, 0, "{}\n{}", token.stdout, token.stderr);
    let token = token.stdout.trim().to_string();
    let (id, secret) = token.split_once('.').unwrap_or_default();
    assert!(id.len() == 6 && secret.len() == 16, "not a bare token on stdout: {token:?}");

    // "Upload certificates so they are fresh and not expired": the key is stdout's last line
    let upload =
        cp.run_as(&kubeadm, &["init", "phase", "--config", cfg.to_str().unwrap(), "upload-certs", "--upload-certs"]);
    assert_eq!(upload.code, 0, "{}\n{}", upload.stdout, upload.stderr);
    let fresh = upload.stdout.lines().last().unwrap_or_default().trim();
    assert!(fresh.len() == 64 && fresh.chars().all(|c| c.is_ascii_hexdigit()), "{}", upload.stdout);
    let secret = cp.with_admin(|api| {
        api.call_once(http::Method::GET, "/api/v1/namespaces/kube-system/secrets/kubeadm-certs", None)
    });
    assert!(secret.is_ok(), "kubeadm-certs not uploaded: {secret:?}");

    // a worker, with the token above and the CA hash as kubespray computes it
    let ca_hash = openssl_ca_hash(&cp.node.path("/etc/kubernetes/ssl/ca.crt"));
    let w = RealNode::on_lan(&lan, "ksprayw", "w1", WORKER, "v1.33.3");
    let client = w.node.path("/etc/kubernetes/kubeadm-client.conf");
    std::fs::create_dir_all(client.parent().unwrap()).unwrap();
    std::fs::write(&client, kubeadm_client_conf(&token, &ca_hash)).unwrap();
    let join = w.run_as(
        &kubeadm,
        &[
            "join",
            "--config",
            client.to_str().unwrap(),
            // kubespray's list: DirAvailable--etc-kubernetes-manifests and kubeadm_ignore_preflight_errors, here
            // the checks this harness node fails (no container runtime, no kubelet binary, no ip_forward)
            "--ignore-preflight-errors=DirAvailable--etc-kubernetes-manifests,CRI,KubeletVersion,FileContent--proc-sys-net-ipv4-ip_forward",
            "--skip-phases=",
        ],
    );
    assert_eq!(join.code, 0, "kubeadm join failed\n{}\n{}\n{}", join.stdout, join.stderr, w.report());
    let node = cp.with_admin(|api| api.call_once(http::Method::GET, "/api/v1/nodes/w1", None));
    assert!(node.is_ok(), "Node w1 not registered: {node:?}\n{}", w.report());
    assert!(w.node.path("/etc/kubernetes/kubelet.conf").exists());

    // kubeadm-upgrade.yml's command, with the same multi-document file
    let upgrade = cp.run_as(
        &kubeadm,
        &[
            "upgrade",
            "apply",
            "-y",
            "v1.33.3",
            "--certificate-renewal=true",
            &format!("--config={}", cfg.display()),
            "--ignore-preflight-errors=all",
            "--allow-experimental-upgrades",
            "--etcd-upgrade=true",
            "--force",
        ],
    );
    assert_eq!(
        upgrade.code,
        0,
        "kubeadm upgrade apply failed\n{}\n{}\n{}",
        upgrade.stdout,
        upgrade.stderr,
        cp.report()
    );
    assert!(
        upgrade.stderr.contains(
            "[config] WARNING: Ignored configuration document with GroupVersionKind kubeadm.k8s.io/v1beta4, Kind=InitConfiguration"
        ),
        "{}",
        upgrade.stderr
    );
    assert!(upgrade.stdout.contains("[upgrade] SUCCESS!"), "{}", upgrade.stdout);
}
