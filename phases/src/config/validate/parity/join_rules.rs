//! Parity rules of `ValidateJoinConfiguration`: discovery (token, API server endpoint, CA pins, file or HTTPS
//! kubeconfig, TLS bootstrap token), node registration, the control-plane part and `caCertPath`.

use super::{ACCEPTED, Input, Rule, join, refused};

/// Token discovery that needs no pin, to which a case adds its own fields.
macro_rules! token_discovery {
    () => {
        "discovery: {bootstrapToken: {token: abcdef.0123456789abcdef, apiServerEndpoint: \"10.0.0.10:6443\", unsafeSkipCAVerification: true}}"
    };
}

#[rustfmt::skip]
pub(super) const RULES: &[Rule] = &[
    Rule { id: "join.discovery.none", go: "ValidateDiscovery", input: join("discovery: {}"), want: refused("discovery", "") },
    Rule { id: "join.discovery.both", go: "ValidateDiscovery", input: join("discovery: {bootstrapToken: {token: abcdef.0123456789abcdef, apiServerEndpoint: \"10.0.0.10:6443\", unsafeSkipCAVerification: true}, file: {kubeConfigPath: /etc/kubernetes/d.conf}}"), want: refused("discovery", "mutually exclusive") },
    Rule { id: "join.discovery.token", go: "ValidateDiscoveryBootstrapToken → ValidateToken", input: join("discovery: {bootstrapToken: {token: abcdef.0123456789ABCDEF, apiServerEndpoint: \"10.0.0.10:6443\", unsafeSkipCAVerification: true}}"), want: refused("discovery.bootstrapToken.token", "[a-z0-9]{6}") },
    Rule { id: "join.discovery.endpoint.required", go: "ValidateDiscoveryBootstrapToken", input: join("discovery: {bootstrapToken: {token: abcdef.0123456789abcdef, unsafeSkipCAVerification: true}}"), want: refused("discovery.bootstrapToken.apiServerEndpoint", "") },
    Rule { id: "join.discovery.endpoint.port", go: "ValidateDiscoveryTokenAPIServer", input: join("discovery: {bootstrapToken: {token: abcdef.0123456789abcdef, apiServerEndpoint: 10.0.0.10, unsafeSkipCAVerification: true}}"), want: refused("discovery.bootstrapToken.apiServerEndpoint", "host:port") },
    Rule { id: "join.discovery.endpoint.ipv6", go: "ValidateDiscoveryTokenAPIServer", input: join("discovery: {bootstrapToken: {token: abcdef.0123456789abcdef, apiServerEndpoint: \"[fd00::10]:6443\", unsafeSkipCAVerification: true}}"), want: ACCEPTED },
    Rule { id: "join.discovery.pins.required", go: "ValidateDiscoveryBootstrapToken", input: join("discovery: {bootstrapToken: {token: abcdef.0123456789abcdef, apiServerEndpoint: \"10.0.0.10:6443\"}}"), want: refused("discovery.bootstrapToken.caCertHashes", "without caCertHashes can be unsafe") },
    Rule { id: "join.discovery.pins.given", go: "ValidateDiscoveryBootstrapToken", input: join("discovery: {bootstrapToken: {token: abcdef.0123456789abcdef, apiServerEndpoint: \"10.0.0.10:6443\", caCertHashes: [\"sha256:abababababababababababababababababababababababababababababababab\"]}}"), want: ACCEPTED },
    Rule { id: "join.discovery.tls-bootstrap-token", go: "ValidateDiscovery → ValidateToken", input: join(concat!(token_discovery!(), "\n")), want: ACCEPTED },
    Rule { id: "join.discovery.tls-bootstrap-token.bad", go: "ValidateDiscovery → ValidateToken", input: join("discovery: {tlsBootstrapToken: abc, bootstrapToken: {token: abcdef.0123456789abcdef, apiServerEndpoint: \"10.0.0.10:6443\", unsafeSkipCAVerification: true}}"), want: refused("discovery.tlsBootstrapToken", "[a-z0-9]{6}") },
    Rule { id: "join.discovery.file.https", go: "ValidateDiscoveryFile → ValidateDiscoveryKubeConfigPath", input: join("discovery: {file: {kubeConfigPath: \"https://lb.example.com/cluster-info.yaml\"}}"), want: ACCEPTED },
    Rule { id: "join.discovery.file.http", go: "ValidateDiscoveryKubeConfigPath", input: join("discovery: {file: {kubeConfigPath: \"http://lb.example.com/cluster-info.yaml\"}}"), want: refused("discovery.file.kubeConfigPath", "if a URL is used, the scheme must be https") },
    Rule { id: "join.discovery.file.file-url", go: "ValidateDiscoveryKubeConfigPath", input: join("discovery: {file: {kubeConfigPath: \"file:///etc/kubernetes/d.conf\"}}"), want: ACCEPTED },
    Rule { id: "join.discovery.file.empty", go: "ValidateDiscoveryKubeConfigPath", input: join("discovery: {file: {kubeConfigPath: \"\"}}"), want: refused("discovery.file.kubeConfigPath", "not a valid HTTPS URL or a file on disk") },
    Rule { id: "join.discovery.file.tls-token", go: "ValidateDiscovery → ValidateToken", input: join("discovery: {tlsBootstrapToken: nope, file: {kubeConfigPath: /etc/kubernetes/d.conf}}"), want: refused("discovery.tlsBootstrapToken", "[a-z0-9]{6}") },
    Rule { id: "join.discovery.flags.token", go: "ValidateDiscoveryBootstrapToken → ValidateToken", input: Input::JoinFlags(|f| {
        f.api_server_endpoint = Some("10.0.0.10:6443".into());
        f.token = Some("short".into());
        f.discovery_token_unsafe_skip_ca_verification = true;
    }), want: refused("--discovery-token", "[a-z0-9]{6}") },
    Rule { id: "join.discovery.flags.file-http", go: "ValidateDiscoveryKubeConfigPath", input: Input::JoinFlags(|f| f.discovery_file = Some("http://lb.example.com/cluster-info.yaml".into())), want: refused("--discovery-file", "if a URL is used, the scheme must be https") },
    Rule { id: "join.nodereg.flags.crisocket", go: "ValidateSocketPath", input: Input::JoinFlags(|f| {
        f.discovery_file = Some("/etc/kubernetes/d.conf".into());
        f.cri_socket = Some("tcp://10.0.0.1:2375".into());
    }), want: refused("--cri-socket", "only URL scheme \"unix\" is supported") },
    Rule { id: "join.ca-cert-path.suffix", go: "ValidateJoinConfiguration", input: join(concat!(token_discovery!(), "\ncaCertPath: /etc/kubernetes/pki/ca.pem")), want: refused("caCertPath", ".crt") },
    Rule { id: "join.ca-cert-path.absolute", go: "ValidateJoinConfiguration", input: join(concat!(token_discovery!(), "\ncaCertPath: pki/ca.crt")), want: refused("caCertPath", "absolute") },
    Rule { id: "join.nodereg.name", go: "ValidateJoinConfiguration → ValidateNodeRegistrationOptions", input: join(concat!(token_discovery!(), "\nnodeRegistration: {name: worker_1}")), want: refused("nodeRegistration.name", "DNS-1123") },
    Rule { id: "join.nodereg.crisocket", go: "ValidateNodeRegistrationOptions → ValidateSocketPath", input: join(concat!(token_discovery!(), "\nnodeRegistration: {criSocket: \"npipe:////./pipe/containerd\"}")), want: refused("nodeRegistration.criSocket", "only URL scheme \"unix\" is supported, got \"npipe\"") },
    Rule { id: "join.control-plane.address", go: "ValidateJoinControlPlane → ValidateAPIEndpoint", input: join(concat!(token_discovery!(), "\ncontrolPlane: {localAPIEndpoint: {advertiseAddress: cp-2}}")), want: refused("controlPlane.localAPIEndpoint.advertiseAddress", "must be ipv4 or ipv6 address") },
    Rule { id: "join.control-plane.port", go: "ValidateJoinControlPlane → ValidatePort", input: join(concat!(token_discovery!(), "\ncontrolPlane: {localAPIEndpoint: {bindPort: 65536}}")), want: refused("controlPlane.localAPIEndpoint.bindPort", "between 1 and 65535") },
    Rule { id: "join.control-plane.certificate-key", go: "ValidateJoinControlPlane → ValidateCertificateKey", input: join(concat!(token_discovery!(), "\ncontrolPlane: {certificateKey: \"0123\"}")), want: refused("controlPlane.certificateKey", "64 hex characters") },
    Rule { id: "join.control-plane.ok", go: "ValidateJoinControlPlane", input: join(concat!(token_discovery!(), "\ncontrolPlane: {localAPIEndpoint: {advertiseAddress: 10.0.0.11}}")), want: ACCEPTED },
];
