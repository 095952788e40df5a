//! What kbinit deliberately does otherwise than kubeadm's validation, each with what kubeadm does, why kbinit
//! differs, and a case pinning kbinit's outcome; and the validators that do not apply to kbinit at all.

use super::{ACCEPTED, Apis, Input, Rule, Want, cluster, cluster4, init, join, refused};

/// A deliberate difference.
pub(super) struct Differs {
    pub rule: Rule,
    /// What kubeadm does with the same input.
    pub kubeadm: &'static str,
    /// Why kbinit does otherwise.
    pub why: &'static str,
}

#[rustfmt::skip]
pub(super) const DIFFERS: &[Differs] = &[
    Differs {
        rule: Rule { id: "differs.advertise.loopback", go: "ValidateAPIEndpoint", input: init("localAPIEndpoint: {advertiseAddress: 127.0.0.1}"), want: refused("localAPIEndpoint.advertiseAddress", "not loopback") },
        kubeadm: "looks for a global unicast address on the lo interface and uses it; fails with \"unable to resolve link-local addresses\" when there is none (the usual case)",
        why: "kbinit's host facts carry no lo addresses, so it refuses loopback up front; on ordinary hosts the outcome is kubeadm's",
    },
    Differs {
        rule: Rule { id: "differs.advertise.multicast", go: "ValidateIPFromString", input: init("localAPIEndpoint: {advertiseAddress: 224.0.0.1}"), want: refused("localAPIEndpoint.advertiseAddress", "multicast") },
        kubeadm: "accepts any parsable IP (ChooseAPIServerBindAddress keeps it); the API server then cannot serve on it",
        why: "refused earlier, before anything is written, instead of a control plane that never comes up",
    },
    Differs {
        rule: Rule { id: "differs.taints.effect", go: "ValidateNodeRegistrationOptions", input: init("nodeRegistration: {taints: [{key: a, effect: Sometimes}]}"), want: refused("nodeRegistration.taints[0].effect", "NoSchedule") },
        kubeadm: "does not validate taints (a TODO in ValidateNodeRegistrationOptions); the API server refuses the Node patch in mark-control-plane, after the control plane is up",
        why: "refused earlier: the value can only fail later",
    },
    Differs {
        rule: Rule { id: "differs.taints.key", go: "ValidateNodeRegistrationOptions", input: init("nodeRegistration: {taints: [{key: \"\", effect: NoSchedule}]}"), want: refused("nodeRegistration.taints[0].key", "key") },
        kubeadm: "not validated; refused by the API server when the node is patched",
        why: "refused earlier",
    },
    Differs {
        rule: Rule { id: "differs.pod-overlaps-service", go: "ValidateNetworking", input: cluster("networking: {podSubnet: 10.96.0.0/16, serviceSubnet: 10.96.0.0/12}"), want: refused("networking.podSubnet", "overlaps the service subnet") },
        kubeadm: "does not compare the pod and service subnets",
        why: "overlapping pod and service ranges break service routing in every CNI; nothing useful accepts them",
    },
    Differs {
        rule: Rule { id: "differs.etcd.external.no-endpoints", go: "ValidateEtcd → ValidateURLs", input: cluster("etcd: {external: {endpoints: []}}"), want: refused("etcd.external.endpoints", "at least one") },
        kubeadm: "accepts an empty list (ValidateURLs loops over nothing) and renders --etcd-servers= empty",
        why: "refused earlier: the API server cannot start without etcd",
    },
    Differs {
        rule: Rule { id: "differs.etcd.external.scheme", go: "ValidateURLs", input: cluster("etcd: {external: {endpoints: [\"localhost:2379\"]}}"), want: refused("etcd.external.endpoints[0]", "http:// or https://") },
        kubeadm: "Go's url.Parse reads `localhost:2379` as scheme `localhost` and accepts it (any scheme passes without TLS files)",
        why: "kbinit talks to etcd itself (health, member add/remove) and speaks only http and https",
    },
    Differs {
        rule: Rule { id: "differs.discovery.endpoint-host", go: "ValidateDiscoveryTokenAPIServer", input: join("discovery: {bootstrapToken: {token: abcdef.0123456789abcdef, apiServerEndpoint: \"Bad_Host:6443\", unsafeSkipCAVerification: true}}"), want: refused("discovery.bootstrapToken.apiServerEndpoint", "neither an IP address nor a valid DNS name") },
        kubeadm: "only net.SplitHostPort: any host and port text passes and fails when discovery connects",
        why: "refused earlier with the field named",
    },
    Differs {
        rule: Rule { id: "differs.discovery.pin-format", go: "ValidateDiscoveryBootstrapToken", input: join("discovery: {bootstrapToken: {token: abcdef.0123456789abcdef, apiServerEndpoint: \"10.0.0.10:6443\", caCertHashes: [\"md5:abab\"]}}"), want: refused("discovery.bootstrapToken.caCertHashes", "sha256") },
        kubeadm: "checks the pin format when discovery runs (pubkeypin), not in validation",
        why: "refused earlier: a malformed pin can never match",
    },
    Differs {
        rule: Rule { id: "differs.discovery.file-relative", go: "ValidateDiscoveryKubeConfigPath", input: join("discovery: {file: {kubeConfigPath: discovery.conf}}"), want: refused("discovery.file.kubeConfigPath", "path is not absolute") },
        kubeadm: "accepts a relative path when it exists in the working directory (os.Stat)",
        why: "kbinit resolves node paths under --root and never reads the working directory; existence is checked when the file is read",
    },
    Differs {
        rule: Rule { id: "differs.crisocket.relative", go: "ValidateSocketPath", input: init("nodeRegistration: {criSocket: containerd.sock}"), want: refused("nodeRegistration.criSocket", "unix://") },
        kubeadm: "prepends unix:// to anything not starting with \"unix\" (`unix://containerd.sock` then passes ValidateSocketPath)",
        why: "the result names no socket the kubelet can reach; an absolute path still gets the prefix and a warning, as in kubeadm",
    },
    Differs {
        rule: Rule { id: "differs.crisocket.unix-one-slash", go: "ValidateSocketPath", input: init("nodeRegistration: {criSocket: \"unix:/run/containerd/containerd.sock\"}"), want: refused("nodeRegistration.criSocket", "unix://") },
        kubeadm: "`unix:/path` parses as scheme unix and passes",
        why: "kbinit writes and dials the socket as `unix://` + absolute path, the form every runtime documents; `unix:/path` would reach the kubelet untranslated",
    },
    Differs {
        rule: Rule { id: "differs.ip.leading-zeros", go: "ValidateIPFromString", input: init("localAPIEndpoint: {advertiseAddress: 010.0.0.10}"), want: refused("localAPIEndpoint.advertiseAddress", "must be ipv4 or ipv6 address") },
        kubeadm: "ParseIPSloppy reads 010.0.0.1 as 10.0.0.1",
        why: "ambiguous (octal or decimal); Go's own net.ParseIP refuses it since Go 1.17",
    },
    Differs {
        rule: Rule { id: "differs.duration.negative", go: "ValidateInitConfiguration", input: Input::Init { init: "timeouts: {controlPlaneComponentHealthCheck: -1m}", cluster: "", extra: "", apis: Apis::V4 }, want: refused("timeouts.controlPlaneComponentHealthCheck", "negative") },
        kubeadm: "does not validate timeouts; a negative one makes the wait give up at once",
        why: "no field means anything by a negative duration",
    },
    Differs {
        rule: Rule { id: "differs.extra-volumes.paths", go: "ValidateAPIServer", input: cluster("apiServer: {extraVolumes: [{name: audit, hostPath: var/log, mountPath: /var/log}]}"), want: refused("apiServer.extraVolumes[0].hostPath", "path is not absolute") },
        kubeadm: "does not validate extraVolumes; the kubelet refuses the static Pod",
        why: "refused earlier, before a manifest that cannot run is written",
    },
    Differs {
        rule: Rule { id: "differs.token.expires-alone", go: "ValidateBootstrapTokens", input: init("bootstrapTokens: [{expires: \"2030-01-01T00:00:00Z\"}]"), want: ACCEPTED },
        kubeadm: "SetDefaults_BootstrapToken fills ttl (24h) when it is nil, so `expires` alone then meets \"the BootstrapToken .TTL and .Expires fields are mutually exclusive\" (read from the sources, not run)",
        why: "the field is documented as the alternative to ttl; kbinit lets it work and still refuses both given",
    },
    Differs {
        rule: Rule { id: "differs.component-configs", go: "componentconfigs.Validate", input: Input::Init { init: "", cluster: "", extra: "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nhealthzPort: 70000", apis: Apis::V4 }, want: ACCEPTED },
        kubeadm: "runs the kubelet's and kube-proxy's own validation on their documents",
        why: "kbinit carries the documents through as given and does not hold copies of those components' validators; the kubelet and kube-proxy refuse bad values when they start",
    },
    Differs {
        rule: Rule { id: "differs.first-error-only", go: "ValidateClusterConfiguration", input: cluster4("networking: {dnsDomain: Bad_Domain, serviceSubnet: 10.0.0.0/8}"), want: refused("networking.serviceSubnet", "too large") },
        kubeadm: "collects every field error (field.ErrorList) and prints them together",
        why: "kbinit stops at the first bad field in its loading order; each error still names its field",
    },
    Differs {
        rule: Rule { id: "differs.unknown-fields", go: "ValidateInitConfiguration", input: cluster("networking: {podSubnett: 10.244.0.0/16}"), want: Want::Warned("unknown field \"networking.podSubnett\"") },
        kubeadm: "strict decoding prints a warning for an unknown field and goes on (init, join); `config validate` makes it an error",
        why: "the same warning; kbinit has no `config validate`",
    },
];

/// Validators that do not apply to kbinit, with why.
pub(super) const NOT_APPLICABLE: &[(&str, &str)] = &[
    (
        "ValidateResetConfiguration",
        "checked by `kbinit reset --config` (config::reset); a ResetConfiguration in an init file is ignored, as \
         kubeadm init ignores it",
    ),
    (
        "ValidateUnmountFlags",
        "part of ResetConfiguration (unmountFlags), checked by `kbinit reset --config` (config::reset)",
    ),
    (
        "ValidateUpgradeConfiguration",
        "checked by `kbinit upgrade --config` (upgrade::config); in an init file the document is ignored with a warning",
    ),
];
