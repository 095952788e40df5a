//! Parity rules of `ValidateInitConfiguration` (node registration, bootstrap tokens, local API endpoint, certificate
//! key) and `ValidateClusterConfiguration` (DNS, networking, API server and other components, paths, feature gates,
//! endpoint, images, etcd, key algorithm, validity periods), plus `ValidateMixedArguments` for init's flags.

use super::Input::{At, Flags};
use super::{ACCEPTED, Apis, Input, Rule, Want, cluster, cluster3, cluster4, init, init4, refused};

const DUAL: &str = "expected one (IPv4 or IPv6) CIDR or two CIDRs from each family for dual-stack networking";

#[rustfmt::skip]
pub(super) const RULES: &[Rule] = &[
    // ---- nodeRegistration (ValidateNodeRegistrationOptions, after SetNodeRegistrationDynamicDefaults)
    Rule { id: "nodereg.name.dns1123", go: "ValidateNodeRegistrationOptions", input: init("nodeRegistration: {name: bad_name}"), want: refused("nodeRegistration.name", "DNS-1123") },
    Rule { id: "nodereg.name.lowercased", go: "ValidateNodeRegistrationOptions", input: init("nodeRegistration: {name: \" CP-1 \"}"), want: ACCEPTED },
    Rule { id: "nodereg.name.flag", go: "ValidateNodeRegistrationOptions", input: Flags { cluster: None, set: |f| f.node_name = Some("Bad_Name".into()) }, want: refused("--node-name", "DNS-1123") },
    Rule { id: "nodereg.crisocket.scheme", go: "ValidateSocketPath", input: init("nodeRegistration: {criSocket: \"tcp://10.0.0.1:2375\"}"), want: refused("nodeRegistration.criSocket", "only URL scheme \"unix\" is supported, got \"tcp\"") },
    Rule { id: "nodereg.crisocket.path-prefixed", go: "ValidateSocketPath", input: init("nodeRegistration: {criSocket: /run/containerd/containerd.sock}"), want: Want::Warned("without URL scheme is deprecated") },
    Rule { id: "nodereg.kubelet-extra-args.name", go: "ValidateNodeRegistrationOptions → ValidateExtraArgs", input: init4("nodeRegistration: {kubeletExtraArgs: [{name: v, value: \"2\"}, {name: \"\", value: x}]}"), want: refused("nodeRegistration.kubeletExtraArgs", "argument has no name") },
    Rule { id: "nodereg.kubelet-extra-args.map-name", go: "ValidateExtraArgs", input: Input::Init { init: "nodeRegistration: {kubeletExtraArgs: {\"\": x}}", cluster: "", extra: "", apis: Apis::V3 }, want: refused("nodeRegistration.kubeletExtraArgs", "argument has no name") },
    Rule { id: "nodereg.pull-policy", go: "ValidateImagePullPolicy", input: init("nodeRegistration: {imagePullPolicy: always}"), want: refused("nodeRegistration.imagePullPolicy", "invalid pull policy") },
    Rule { id: "nodereg.pull-policy.empty-defaulted", go: "ValidateImagePullPolicy", input: init("nodeRegistration: {imagePullPolicy: \"\"}"), want: ACCEPTED },
    Rule { id: "nodereg.ignore-preflight.all-mixed", go: "ValidateIgnorePreflightErrors", input: init("nodeRegistration: {ignorePreflightErrors: [all, Swap]}"), want: refused("nodeRegistration.ignorePreflightErrors", "don't specify individual checks if 'all' is used") },
    Rule { id: "nodereg.ignore-preflight.case-folded", go: "ValidateIgnorePreflightErrors", input: init("nodeRegistration: {ignorePreflightErrors: [Swap, swap, ALL]}"), want: refused("nodeRegistration.ignorePreflightErrors", "'all'") },
    Rule { id: "nodereg.ignore-preflight.flag", go: "ValidateIgnorePreflightErrors", input: Flags { cluster: None, set: |f| f.ignore_preflight_errors = Some(vec!["all".into(), "NumCPU".into()]) }, want: refused("--ignore-preflight-errors", "'all'") },
    // ---- bootstrapTokens (ValidateBootstrapTokens, after SetDefaults_BootstrapToken)
    Rule { id: "token.format", go: "ValidateBootstrapTokens → ValidateToken", input: init("bootstrapTokens: [{token: ABCDEF.0123456789abcdef}]"), want: refused("bootstrapTokens[0].token", "[a-z0-9]{6}") },
    Rule { id: "token.format.ok", go: "ValidateToken", input: init("bootstrapTokens: [{token: abcdef.0123456789abcdef}]"), want: ACCEPTED },
    Rule { id: "token.usages", go: "ValidateTokenUsages", input: init("bootstrapTokens: [{usages: [signing, bogus]}]"), want: refused("bootstrapTokens[0].usages", "invalid bootstrap token usage string: bogus") },
    Rule { id: "token.usages.empty-defaulted", go: "ValidateTokenUsages", input: init("bootstrapTokens: [{usages: [], groups: []}]"), want: ACCEPTED },
    Rule { id: "token.groups.pattern", go: "ValidateTokenGroups", input: init("bootstrapTokens: [{groups: [\"system:masters\"]}]"), want: refused("bootstrapTokens[0].groups", "system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]") },
    Rule { id: "token.groups.need-authentication", go: "ValidateTokenGroups", input: init("bootstrapTokens: [{usages: [signing], groups: [\"system:bootstrappers:ci\"]}]"), want: refused("bootstrapTokens[0].groups", "unless --usages includes \"authentication\"") },
    Rule { id: "token.ttl-and-expires", go: "ValidateBootstrapTokens", input: init("bootstrapTokens: [{ttl: 1h, expires: \"2030-01-01T00:00:00Z\"}]"), want: refused("bootstrapTokens[0].expires", "mutually exclusive") },
    Rule { id: "token.flag", go: "ValidateToken", input: Flags { cluster: None, set: |f| f.token = Some("abcdef0123456789abcdef".into()) }, want: refused("--token", "[a-z0-9]{6}") },
    // ---- localAPIEndpoint (ValidateAPIEndpoint, after SetAPIEndpointDynamicDefaults)
    Rule { id: "endpoint.address.syntax", go: "ValidateAPIEndpoint → ValidateIPFromString", input: init("localAPIEndpoint: {advertiseAddress: 10.0.0.300}"), want: refused("localAPIEndpoint.advertiseAddress", "must be ipv4 or ipv6 address") },
    Rule { id: "endpoint.address.unspecified-defaulted", go: "ValidateIPFromString", input: init("localAPIEndpoint: {advertiseAddress: 0.0.0.0}"), want: ACCEPTED },
    Rule { id: "endpoint.address.ipv6", go: "ValidateIPFromString", input: init("localAPIEndpoint: {advertiseAddress: \"fd00::10\"}"), want: ACCEPTED },
    Rule { id: "endpoint.port.range", go: "ValidateAPIEndpoint → ValidatePort", input: init("localAPIEndpoint: {bindPort: 70000}"), want: refused("localAPIEndpoint.bindPort", "between 1 and 65535") },
    Rule { id: "endpoint.port.negative", go: "ValidatePort", input: init("localAPIEndpoint: {bindPort: -1}"), want: refused("localAPIEndpoint.bindPort", "between 1 and 65535") },
    Rule { id: "endpoint.port.zero-defaulted", go: "ValidatePort", input: init("localAPIEndpoint: {bindPort: 0}"), want: ACCEPTED },
    Rule { id: "endpoint.port.flag", go: "ValidatePort", input: Flags { cluster: None, set: |f| f.apiserver_bind_port = Some("65536".into()) }, want: refused("--apiserver-bind-port", "between 1 and 65535") },
    // ---- certificateKey (ValidateCertificateKey)
    Rule { id: "certificate-key.hex", go: "ValidateCertificateKey", input: init("certificateKey: abc"), want: refused("certificateKey", "64 hex characters") },
    Rule { id: "certificate-key.upper-hex", go: "ValidateCertificateKey", input: init("certificateKey: ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB"), want: ACCEPTED },
    // ---- dns (ValidateDNS)
    Rule { id: "dns.image-repository", go: "ValidateDNS → ValidateImageRepository", input: cluster("dns: {imageRepository: \"registry.example.com/Bad Repo\"}"), want: refused("dns.imageRepository", "invalid image repository format") },
    // ---- networking (ValidateNetworking)
    Rule { id: "net.dns-domain", go: "ValidateNetworking", input: cluster("networking: {dnsDomain: Cluster_Local}"), want: refused("networking.dnsDomain", "DNS-1123") },
    Rule { id: "net.service.syntax", go: "ValidateIPNetFromString", input: cluster("networking: {serviceSubnet: 10.96.0.0/33}"), want: refused("networking.serviceSubnet", "couldn't parse subnet") },
    Rule { id: "net.service.no-spaces", go: "ValidateIPNetFromString", input: cluster("networking: {serviceSubnet: \"10.96.0.0/16, fd00::/112\"}"), want: refused("networking.serviceSubnet", "couldn't parse subnet") },
    Rule { id: "net.service.dual-stack", go: "ValidateIPNetFromString", input: cluster("networking: {serviceSubnet: \"10.96.0.0/16,fd00:10:96::/112\"}"), want: ACCEPTED },
    Rule { id: "net.service.same-family", go: "ValidateIPNetFromString", input: cluster("networking: {serviceSubnet: \"10.96.0.0/16,10.97.0.0/16\"}"), want: refused("networking.serviceSubnet", DUAL) },
    Rule { id: "net.service.three", go: "ValidateIPNetFromString", input: cluster("networking: {serviceSubnet: \"10.96.0.0/16,fd00::/112,10.97.0.0/16\"}"), want: refused("networking.serviceSubnet", DUAL) },
    Rule { id: "net.service.min-size", go: "ValidateIPNetFromString", input: cluster("networking: {serviceSubnet: 10.96.0.0/29}"), want: refused("networking.serviceSubnet", "subnet with 8 address(es) is too small, the minimum is 10") },
    Rule { id: "net.service.min-size.boundary", go: "ValidateIPNetFromString", input: cluster("networking: {serviceSubnet: 10.96.0.0/28}"), want: ACCEPTED },
    Rule { id: "net.service.max-size", go: "ValidateServiceSubnetSize", input: cluster("networking: {serviceSubnet: 10.96.0.0/11}"), want: refused("networking.serviceSubnet", "for 32-bit addresses, the mask must be >= 12") },
    Rule { id: "net.service.max-size.boundary", go: "ValidateServiceSubnetSize", input: cluster("networking: {serviceSubnet: 10.96.0.0/12}"), want: ACCEPTED },
    Rule { id: "net.service.max-size.ipv6", go: "ValidateServiceSubnetSize", input: cluster("networking: {serviceSubnet: \"fd00::/107\"}"), want: refused("networking.serviceSubnet", "for 128-bit addresses, the mask must be >= 108") },
    Rule { id: "net.service.max-size.ipv6-boundary", go: "ValidateServiceSubnetSize", input: cluster("networking: {serviceSubnet: \"fd00::/108\"}"), want: ACCEPTED },
    Rule { id: "net.service.flag", go: "ValidateIPNetFromString", input: Flags { cluster: None, set: |f| f.service_cidr = Some("not-a-cidr".into()) }, want: refused("--service-cidr", "couldn't parse subnet") },
    Rule { id: "net.pod.syntax", go: "ValidateIPNetFromString", input: cluster("networking: {podSubnet: 10.244.0.0/33}"), want: refused("networking.podSubnet", "couldn't parse subnet") },
    Rule { id: "net.pod.dual-stack", go: "ValidateIPNetFromString", input: cluster("networking: {podSubnet: \"10.244.0.0/16,fd00:10:244::/56\"}"), want: ACCEPTED },
    Rule { id: "net.pod.same-family", go: "ValidateIPNetFromString", input: cluster("networking: {podSubnet: \"10.244.0.0/16,10.245.0.0/16\"}"), want: refused("networking.podSubnet", DUAL) },
    Rule { id: "net.pod.node-mask.smaller", go: "ValidatePodSubnetNodeMask", input: cluster("networking: {podSubnet: 10.244.0.0/25}"), want: refused("networking.podSubnet", "the size of pod subnet with mask 25 is smaller than the size of node subnet with mask 24") },
    Rule { id: "net.pod.node-mask.boundary", go: "ValidatePodSubnetNodeMask", input: cluster("networking: {podSubnet: 10.244.0.0/24}"), want: ACCEPTED },
    Rule { id: "net.pod.node-mask.difference", go: "ValidatePodSubnetNodeMask", input: cluster("networking: {podSubnet: 172.0.0.0/7}"), want: refused("networking.podSubnet", "pod subnet mask (7) and node-mask (24) difference is greater than 16") },
    Rule { id: "net.pod.node-mask.difference-boundary", go: "ValidatePodSubnetNodeMask", input: cluster("networking: {podSubnet: 172.0.0.0/8}"), want: ACCEPTED },
    Rule { id: "net.pod.node-mask.ipv6", go: "ValidatePodSubnetNodeMask", input: cluster("networking: {podSubnet: \"fd00:10:244::/47\"}"), want: refused("networking.podSubnet", "pod subnet mask (47) and node-mask (64) difference is greater than 16") },
    Rule { id: "net.pod.node-mask.from-extra-args", go: "ValidatePodSubnetNodeMask", input: cluster4("networking: {podSubnet: 10.244.0.0/25}\ncontrollerManager: {extraArgs: [{name: node-cidr-mask-size-ipv4, value: \"24\"}, {name: node-cidr-mask-size-ipv4, value: \"26\"}]}"), want: ACCEPTED },
    Rule { id: "net.pod.node-mask.from-map", go: "ValidatePodSubnetNodeMask", input: cluster3("networking: {podSubnet: 10.244.0.0/25}\ncontrollerManager: {extraArgs: {node-cidr-mask-size-ipv4: \"26\"}}"), want: ACCEPTED },
    Rule { id: "net.pod.node-mask.not-integer", go: "ValidatePodSubnetNodeMask", input: cluster3("networking: {podSubnet: 10.244.0.0/16}\ncontrollerManager: {extraArgs: {node-cidr-mask-size-ipv4: x}}"), want: refused("networking.podSubnet", "could not parse the value of the kube-controller-manager flag node-cidr-mask-size-ipv4 as an integer") },
    Rule { id: "net.pod.allocate-off.min-size", go: "ValidateNetworking, ValidateIPNetFromString", input: cluster3("networking: {podSubnet: 10.244.0.0/29}\ncontrollerManager: {extraArgs: {allocate-node-cidrs: \"false\"}}"), want: refused("networking.podSubnet", "subnet with 8 address(es) is too small, the minimum is 14") },
    Rule { id: "net.pod.allocate-off.boundary", go: "ValidateNetworking", input: cluster3("networking: {podSubnet: 10.244.0.0/28}\ncontrollerManager: {extraArgs: {allocate-node-cidrs: \"false\"}}"), want: ACCEPTED },
    Rule { id: "net.pod.flag", go: "ValidatePodSubnetNodeMask", input: Flags { cluster: None, set: |f| f.pod_network_cidr = Some("10.244.0.0/26".into()) }, want: refused("--pod-network-cidr", "smaller than the size of node subnet") },
    // ---- apiServer, controllerManager, scheduler (ValidateAPIServer, ValidateControllerManager, ValidateScheduler)
    Rule { id: "apiserver.cert-sans", go: "ValidateAPIServer → ValidateCertSANs", input: cluster("apiServer: {certSANs: [\"bad name!\"]}"), want: refused("apiServer.certSANs", "altname is not a valid IP address, DNS label or a DNS label with subdomain wildcards") },
    Rule { id: "apiserver.cert-sans.lowercased", go: "ValidateCertSANs", input: cluster("apiServer: {certSANs: [LB.Example.com, \"*.example.com\", 10.0.0.99, \"fd00::99\"]}"), want: ACCEPTED },
    Rule { id: "apiserver.cert-sans.flag", go: "ValidateCertSANs", input: Flags { cluster: None, set: |f| f.apiserver_cert_extra_sans = Some(vec!["lb_1".into()]) }, want: refused("--apiserver-cert-extra-sans", "altname is not a valid IP address") },
    Rule { id: "apiserver.extra-args.name", go: "ValidateAPIServer → ValidateExtraArgs", input: cluster4("apiServer: {extraArgs: [{name: \"\", value: x}]}"), want: refused("apiServer.extraArgs", "argument has no name") },
    Rule { id: "controller-manager.extra-args.name", go: "ValidateControllerManager", input: cluster3("controllerManager: {extraArgs: {\"\": x}}"), want: refused("controllerManager.extraArgs", "argument has no name") },
    Rule { id: "scheduler.extra-args.name", go: "ValidateScheduler", input: cluster4("scheduler: {extraArgs: [{name: \"\", value: x}]}"), want: refused("scheduler.extraArgs", "argument has no name") },
    // ---- the rest of ValidateClusterConfiguration
    Rule { id: "cluster.certificates-dir", go: "ValidateClusterConfiguration → ValidateAbsolutePath", input: cluster("certificatesDir: pki"), want: refused("certificatesDir", "path is not absolute") },
    Rule { id: "cluster.feature-gates.name", go: "ValidateFeatureGates", input: cluster("featureGates: {NoSuchGate: true}"), want: refused("featureGates", "NoSuchGate") },
    Rule { id: "cluster.endpoint.host", go: "ValidateHostPort", input: cluster("controlPlaneEndpoint: \"LB_example:6443\""), want: refused("controlPlaneEndpoint", "must be a valid IP address or a valid RFC-1123 DNS subdomain") },
    Rule { id: "cluster.endpoint.port", go: "ValidateHostPort", input: cluster("controlPlaneEndpoint: \"lb.example.com:0\""), want: refused("controlPlaneEndpoint", "must be a valid number between 1 and 65535") },
    Rule { id: "cluster.endpoint.bracketed-no-port", go: "ValidateHostPort", input: cluster("controlPlaneEndpoint: \"[fd00::1]\""), want: refused("controlPlaneEndpoint", "host '[fd00::1]'") },
    Rule { id: "cluster.endpoint.bare-ipv6", go: "ValidateHostPort", input: cluster("controlPlaneEndpoint: \"fd00::1\""), want: ACCEPTED },
    Rule { id: "cluster.endpoint.empty-port", go: "ValidateHostPort", input: cluster("controlPlaneEndpoint: \"lb.example.com:\""), want: ACCEPTED },
    Rule { id: "cluster.endpoint.ipv6-port", go: "ValidateHostPort", input: cluster("controlPlaneEndpoint: \"[fd00::1]:6443\""), want: ACCEPTED },
    Rule { id: "cluster.image-repository", go: "ValidateImageRepository", input: cluster("imageRepository: registry.example.com:5000/Team"), want: refused("imageRepository", "invalid image repository format") },
    Rule { id: "cluster.image-repository.registry-case", go: "ValidateImageRepository", input: cluster("imageRepository: Registry.Example.com:5000/team"), want: ACCEPTED },
    Rule { id: "cluster.image-repository.flag", go: "ValidateImageRepository", input: Flags { cluster: None, set: |f| f.image_repository = Some("registry.example.com/".into()) }, want: refused("--image-repository", "invalid image repository format") },
    // ---- etcd (ValidateEtcd)
    Rule { id: "etcd.neither-defaults-local", go: "ValidateEtcd", input: cluster("etcd: {}"), want: ACCEPTED },
    Rule { id: "etcd.exclusive", go: "ValidateEtcd", input: cluster("etcd: {local: {}, external: {endpoints: [\"https://10.0.0.1:2379\"]}}"), want: refused("etcd", "mutually exclusive") },
    Rule { id: "etcd.local.data-dir", go: "ValidateEtcd → ValidateAbsolutePath", input: cluster("etcd: {local: {dataDir: var/lib/etcd}}"), want: refused("etcd.local.dataDir", "path is not absolute") },
    Rule { id: "etcd.local.server-sans", go: "ValidateEtcd → ValidateCertSANs", input: cluster("etcd: {local: {serverCertSANs: [etcd_1]}}"), want: refused("etcd.local.serverCertSANs", "altname is not a valid IP address") },
    Rule { id: "etcd.local.server-sans.as-given", go: "ValidateCertSANs", input: cluster("etcd: {local: {serverCertSANs: [ETCD.example.com]}}"), want: refused("etcd.local.serverCertSANs", "altname") },
    Rule { id: "etcd.local.peer-sans", go: "ValidateEtcd → ValidateCertSANs", input: cluster("etcd: {local: {peerCertSANs: [\"*\"]}}"), want: refused("etcd.local.peerCertSANs", "altname") },
    Rule { id: "etcd.local.image-repository", go: "ValidateEtcd → ValidateImageRepository", input: cluster("etcd: {local: {imageRepository: \"a//b\"}}"), want: refused("etcd.local.imageRepository", "invalid image repository format") },
    Rule { id: "etcd.local.extra-args.name", go: "ValidateEtcd → ValidateExtraArgs", input: cluster4("etcd: {local: {extraArgs: [{name: \"\", value: x}]}}"), want: refused("etcd.local.extraArgs", "argument has no name") },
    Rule { id: "etcd.external.cert-without-key", go: "ValidateEtcd", input: cluster("etcd: {external: {endpoints: [\"https://10.0.0.1:2379\"], caFile: /e/ca.crt, certFile: /e/c.crt}}"), want: refused("etcd.external.certFile", "either both or none") },
    Rule { id: "etcd.external.cert-without-ca", go: "ValidateEtcd", input: cluster("etcd: {external: {endpoints: [\"https://10.0.0.1:2379\"], certFile: /e/c.crt, keyFile: /e/c.key}}"), want: refused("etcd.external.caFile", "requires .Etcd.External.CAFile") },
    Rule { id: "etcd.external.https-with-tls", go: "ValidateEtcd → ValidateURLs", input: cluster("etcd: {external: {endpoints: [\"http://10.0.0.1:2379\"], caFile: /e/ca.crt}}"), want: refused("etcd.external.endpoints[0]", "the URL must be using the HTTPS scheme") },
    Rule { id: "etcd.external.http-without-tls", go: "ValidateURLs", input: cluster("etcd: {external: {endpoints: [\"http://10.0.0.1:2379\"]}}"), want: ACCEPTED },
    Rule { id: "etcd.external.no-scheme", go: "ValidateURLs", input: cluster("etcd: {external: {endpoints: [etcd1]}}"), want: refused("etcd.external.endpoints[0]", "the URL without scheme is not allowed") },
    Rule { id: "etcd.external.ca-absolute", go: "ValidateEtcd → ValidateAbsolutePath", input: cluster("etcd: {external: {endpoints: [\"https://10.0.0.1:2379\"], caFile: ca.crt}}"), want: refused("etcd.external.caFile", "path is not absolute") },
    // ---- encryptionAlgorithm (ValidateEncryptionAlgorithm; ECDSA-P384 from 1.34)
    Rule { id: "crypto.algorithm", go: "ValidateEncryptionAlgorithm", input: cluster4("encryptionAlgorithm: RSA-1024"), want: refused("encryptionAlgorithm", "RSA-2048") },
    Rule { id: "crypto.algorithm.p384-before-1.34", go: "ValidateEncryptionAlgorithm", input: At { version: "v1.33.0", cluster: "encryptionAlgorithm: ECDSA-P384" }, want: refused("encryptionAlgorithm", "ECDSA-P384") },
    Rule { id: "crypto.algorithm.p384-from-1.34", go: "ValidateEncryptionAlgorithm", input: At { version: "v1.34.0", cluster: "encryptionAlgorithm: ECDSA-P384" }, want: ACCEPTED },
    // ---- validity periods (ValidateCertValidity: warnings only)
    Rule { id: "crypto.validity.leaf-warning", go: "ValidateCertValidity", input: cluster4("certificateValidityPeriod: 9000h"), want: Want::Warned("certificateValidityPeriod: the value 9000h0m0s is more than the recommended default for certificate expiration: 8760h0m0s") },
    Rule { id: "crypto.validity.ca-warning", go: "ValidateCertValidity", input: cluster4("caCertificateValidityPeriod: 87601h"), want: Want::Warned("caCertificateValidityPeriod: the value 87601h0m0s is more than the recommended default for CA certificate expiration: 87600h0m0s") },
    // ---- ValidateMixedArguments (init)
    Rule { id: "flags.mixed-with-config", go: "ValidateMixedArguments", input: Flags { cluster: Some(""), set: |f| f.token = Some("abcdef.0123456789abcdef".into()) }, want: refused("--config", "can not mix '--config' with arguments [token]") },
    Rule { id: "flags.allowed-with-config", go: "ValidateMixedArguments", input: Flags { cluster: Some(""), set: |f| f.node_name = Some("cp-9".into()) }, want: ACCEPTED },
    // ---- documents kubeadm init ignores (ResetConfiguration is validated only by `kubeadm reset`)
    Rule { id: "docs.reset-configuration-ignored", go: "ValidateResetConfiguration", input: Input::Init { init: "", cluster: "", extra: "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ResetConfiguration\ncriSocket: \"tcp://x\"", apis: Apis::V4 }, want: Want::Warned("ignored YAML document") },
];
