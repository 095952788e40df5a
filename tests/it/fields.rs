//! Issue 16 item 4: no accepted configuration field without its effect. Every field of every document kbinit
//! reads is enumerated from its serde wire type ([`kbinit_phases::config::fields`]), so a field added later
//! fails here until it is given an expectation; each expectation sets the field to a non-default value and checks
//! the effect it names against a render without it:
//!
//! - `File(p)`: the file `p` that `init --dry-run` renders changes, appears or goes away (certificates compared
//!   by subject, issuer, SANs, validity span and key type, since their keys are random);
//! - `Object(k)`: the API object `Kind/namespace/name` that `init --dry-run` would send changes, appears or goes;
//! - `Refused(m)`: kbinit fails, printing `m`, as kubeadm does (and goes through without the field);
//! - `DryRun`: the command run without `--dry-run` is a dry run all the same;
//! - `Resolved(why)`: fields that steer what kbinit *does* rather than what it writes (timeouts, pull policy,
//!   the upload key): the loaded configuration changes, and `why` names the code and test that act on it.
//!
//! KubeletConfiguration and KubeProxyConfiguration are passed through to the components: one generic walk
//! changes every field of the rendered config.yaml / kube-proxy ConfigMap at once and shows each reaches the
//! written file, with kubeadm's warnings for the fields it recommends values for.
//!
//! | document | where |
//! |---|---|
//! | InitConfiguration, ClusterConfiguration, ApiServerProxyConfiguration | here, `init --dry-run` |
//! | JoinConfiguration | [`join`], a control-plane `join --dry-run` against the fake API server |
//! | ResetConfiguration | [`reset`], `reset --dry-run --config` |
//! | UpgradeConfiguration | here: each field reaches the settings the upgrade flows read |
//! | KubeletConfiguration, KubeProxyConfiguration | here, the generic walk |

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

mod join;
mod reset;

use crate::init_dryrun::calls;
use crate::support::{Node, Run};

#[derive(Debug, Clone, Copy)]
enum Effect {
    File(&'static str),
    Object(&'static str),
    Refused(&'static str),
    Resolved(&'static str),
    /// `dryRun`: without `--dry-run`, the command still renders into `--dry-run-dir` and leaves the node as it
    /// was, where the same command without the field refuses `--dry-run-dir`.
    DryRun,
}
use Effect::*;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Doc {
    Init,
    Cluster,
    /// kbinit's own `kbinit.io/v1alpha1` ApiServerProxyConfiguration, given only where a case sets it.
    Proxy,
}

impl Doc {
    fn kind(self) -> &'static str {
        match self {
            Doc::Init => "InitConfiguration",
            Doc::Cluster => "ClusterConfiguration",
            Doc::Proxy => "ApiServerProxyConfiguration",
        }
    }
}

/// One expectation: `path` (as the inventory names it), the documents' API version, what is merged into both
/// renders (`on`, JSON, may be empty) and into the changed one only (`set`), and the effect.
struct Case {
    path: &'static str,
    doc: Doc,
    v1beta3: bool,
    on: &'static str,
    set: &'static str,
    effect: Effect,
}

const fn c(path: &'static str, doc: Doc, set: &'static str, effect: Effect) -> Case {
    Case { path, doc, v1beta3: false, on: "", set, effect }
}
const fn on(path: &'static str, doc: Doc, on: &'static str, set: &'static str, effect: Effect) -> Case {
    Case { path, doc, v1beta3: false, on, set, effect }
}
const fn v3(path: &'static str, doc: Doc, set: &'static str, effect: Effect) -> Case {
    Case { path, doc, v1beta3: true, on: "", set, effect }
}

const APISERVER: &str = "/etc/kubernetes/manifests/kube-apiserver.yaml";
const KCM: &str = "/etc/kubernetes/manifests/kube-controller-manager.yaml";
const SCHED: &str = "/etc/kubernetes/manifests/kube-scheduler.yaml";
const ETCD: &str = "/etc/kubernetes/manifests/etcd.yaml";
const TOKEN_SECRET: &str = "Secret/kube-system/bootstrap-token-abcdef";
const FLAGS_ENV: &str = "/var/lib/kubelet/kubeadm-flags.env";
const NODE_PATCH: &str = "patch/nodes/cp1";
const UPLOAD: &str = "the upload-certs phase seals kubeadm-certs with it (tests/it/init_e2e.rs)";
const TIMEOUT: &str = "flows wait this long (src/flows/*/wait*, tests/it/realk8s)";

use Doc::{Cluster as C, Init as I, Proxy as P};

const PROXY_UNIT: &str = "/etc/systemd/system/kbinit-api-server-proxy.service";

/// The expectations for InitConfiguration and ClusterConfiguration, one per field path.
#[rustfmt::skip]
fn init_cases() -> Vec<Case> {
    let mut v = vec![
        c("bootstrapTokens[].token", I, r#"{"bootstrapTokens":[{"token":"ghijkl.0123456789abcdef"}]}"#, Object(TOKEN_SECRET)),
        c("bootstrapTokens[].description", I, r#"{"bootstrapTokens":[{"token":"abcdef.0123456789abcdef","description":"mine"}]}"#, Object(TOKEN_SECRET)),
        c("bootstrapTokens[].ttl", I, r#"{"bootstrapTokens":[{"token":"abcdef.0123456789abcdef","ttl":"0s"}]}"#, Object(TOKEN_SECRET)),
        c("bootstrapTokens[].expires", I, r#"{"bootstrapTokens":[{"token":"abcdef.0123456789abcdef","expires":"2040-01-01T00:00:00Z"}]}"#, Object(TOKEN_SECRET)),
        c("bootstrapTokens[].usages", I, r#"{"bootstrapTokens":[{"token":"abcdef.0123456789abcdef","usages":["authentication"]}]}"#, Object(TOKEN_SECRET)),
        c("bootstrapTokens[].groups", I, r#"{"bootstrapTokens":[{"token":"abcdef.0123456789abcdef","groups":["system:bootstrappers:extra"]}]}"#, Object(TOKEN_SECRET)),
        c("nodeRegistration.name", I, r#"{"nodeRegistration":{"name":"cp9"}}"#, File("/etc/kubernetes/pki/apiserver.crt")),
        c("nodeRegistration.criSocket", I, r#"{"nodeRegistration":{"criSocket":"unix:///var/run/crio/crio.sock"}}"#, File(FLAGS_ENV)),
        c("nodeRegistration.taints[].key", I, r#"{"nodeRegistration":{"taints":[{"key":"example.com/k","effect":"NoSchedule"}]}}"#, Object(NODE_PATCH)),
        on("nodeRegistration.taints[].value", I, r#"{"nodeRegistration":{"taints":[{"key":"k","effect":"NoSchedule"}]}}"#, r#"{"nodeRegistration":{"taints":[{"key":"k","value":"v","effect":"NoSchedule"}]}}"#, Object(NODE_PATCH)),
        on("nodeRegistration.taints[].effect", I, r#"{"nodeRegistration":{"taints":[{"key":"k","effect":"NoSchedule"}]}}"#, r#"{"nodeRegistration":{"taints":[{"key":"k","effect":"NoExecute"}]}}"#, Object(NODE_PATCH)),
        on("nodeRegistration.taints[].timeAdded", I, r#"{"nodeRegistration":{"taints":[{"key":"k","effect":"NoExecute"}]}}"#, r#"{"nodeRegistration":{"taints":[{"key":"k","effect":"NoExecute","timeAdded":"2030-01-01T00:00:00Z"}]}}"#, Object(NODE_PATCH)),
        c("nodeRegistration.kubeletExtraArgs", I, r#"{"nodeRegistration":{"kubeletExtraArgs":[{"name":"v","value":"4"}]}}"#, File(FLAGS_ENV)),
        c("nodeRegistration.ignorePreflightErrors", I, r#"{"skipPhases":[],"nodeRegistration":{"ignorePreflightErrors":[]}}"#, Refused("[ERROR ")),
        c("nodeRegistration.imagePullPolicy", I, r#"{"nodeRegistration":{"imagePullPolicy":"Never"}}"#, Resolved("preflight's image pull (src/preflight, tests/it/cri_commands.rs)")),
        c("nodeRegistration.imagePullSerial", I, r#"{"nodeRegistration":{"imagePullSerial":false}}"#, Resolved("preflight's image pull (src/preflight)")),
        c("localAPIEndpoint.advertiseAddress", I, r#"{"localAPIEndpoint":{"advertiseAddress":"10.0.0.99"}}"#, File(APISERVER)),
        c("localAPIEndpoint.bindPort", I, r#"{"localAPIEndpoint":{"bindPort":6444}}"#, File(APISERVER)),
        c("certificateKey", I, r#"{"certificateKey":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}"#, Resolved(UPLOAD)),
        c("skipPhases", I, r#"{"skipPhases":["preflight","addon/kube-proxy"]}"#, Object("ConfigMap/kube-system/kube-proxy")),
        c("patches.directory", I, r#"{"patches":{"directory":"@PATCHES@"}}"#, File(APISERVER)),
        c("dryRun", I, r#"{"dryRun":true}"#, DryRun),
    ];
    for (name, set) in [
        ("controlPlaneComponentHealthCheck", r#"{"timeouts":{"controlPlaneComponentHealthCheck":"7m"}}"#),
        ("kubeletHealthCheck", r#"{"timeouts":{"kubeletHealthCheck":"7m"}}"#),
        ("kubernetesAPICall", r#"{"timeouts":{"kubernetesAPICall":"7m"}}"#),
        ("etcdAPICall", r#"{"timeouts":{"etcdAPICall":"7m"}}"#),
        ("tlsBootstrap", r#"{"timeouts":{"tlsBootstrap":"7m"}}"#),
        ("discovery", r#"{"timeouts":{"discovery":"7m"}}"#),
        ("upgradeManifests", r#"{"timeouts":{"upgradeManifests":"7m"}}"#),
    ] {
        v.push(Case { path: leak(format!("timeouts.{name}")), doc: I, v1beta3: false, on: "", set, effect: Resolved(TIMEOUT) });
    }
    v.extend([
        c("etcd.local.imageRepository", C, r#"{"etcd":{"local":{"imageRepository":"example.com/etcd-images"}}}"#, File(ETCD)),
        c("etcd.local.imageTag", C, r#"{"etcd":{"local":{"imageTag":"3.5.99-0"}}}"#, File(ETCD)),
        c("etcd.local.dataDir", C, r#"{"etcd":{"local":{"dataDir":"/srv/etcd"}}}"#, File(ETCD)),
        c("etcd.local.extraArgs", C, r#"{"etcd":{"local":{"extraArgs":[{"name":"log-level","value":"debug"}]}}}"#, File(ETCD)),
        c("etcd.local.extraEnvs[].name", C, r#"{"etcd":{"local":{"extraEnvs":[{"name":"A","value":"1"}]}}}"#, File(ETCD)),
        on("etcd.local.extraEnvs[].value", C, r#"{"etcd":{"local":{"extraEnvs":[{"name":"A"}]}}}"#, r#"{"etcd":{"local":{"extraEnvs":[{"name":"A","value":"1"}]}}}"#, File(ETCD)),
        on("etcd.local.extraEnvs[].valueFrom", C, r#"{"etcd":{"local":{"extraEnvs":[{"name":"A"}]}}}"#, r#"{"etcd":{"local":{"extraEnvs":[{"name":"A","valueFrom":{"fieldRef":{"fieldPath":"status.podIP"}}}]}}}"#, File(ETCD)),
        c("etcd.local.serverCertSANs", C, r#"{"etcd":{"local":{"serverCertSANs":["etcd.example.com"]}}}"#, File("/etc/kubernetes/pki/etcd/server.crt")),
        c("etcd.local.peerCertSANs", C, r#"{"etcd":{"local":{"peerCertSANs":["etcd.example.com"]}}}"#, File("/etc/kubernetes/pki/etcd/peer.crt")),
        c("etcd.external.endpoints", C, r#"{"etcd":{"external":{"endpoints":["https://10.0.0.50:2379"]}}}"#, File(ETCD)),
        on("etcd.external.caFile", C, EXTERNAL, r#"{"etcd":{"external":{"caFile":"/srv/etcd/other-ca.crt"}}}"#, File(APISERVER)),
        on("etcd.external.certFile", C, EXTERNAL, r#"{"etcd":{"external":{"certFile":"/srv/etcd/other.crt"}}}"#, File(APISERVER)),
        on("etcd.external.keyFile", C, EXTERNAL, r#"{"etcd":{"external":{"keyFile":"/srv/etcd/other.key"}}}"#, File(APISERVER)),
        c("networking.serviceSubnet", C, r#"{"networking":{"serviceSubnet":"10.100.0.0/16"}}"#, File(APISERVER)),
        c("networking.podSubnet", C, r#"{"networking":{"podSubnet":"10.244.0.0/16"}}"#, File(KCM)),
        c("networking.dnsDomain", C, r#"{"networking":{"dnsDomain":"example.internal"}}"#, File("/var/lib/kubelet/config.yaml")),
        c("kubernetesVersion", C, r#"{"kubernetesVersion":"v1.33.1"}"#, File(APISERVER)),
        c("controlPlaneEndpoint", C, r#"{"controlPlaneEndpoint":"lb.example.com:6443"}"#, File("/etc/kubernetes/admin.conf")),
        c("apiServer.certSANs", C, r#"{"apiServer":{"certSANs":["api.example.com"]}}"#, File("/etc/kubernetes/pki/apiserver.crt")),
        v3("apiServer.timeoutForControlPlane", C, r#"{"apiServer":{"timeoutForControlPlane":"7m"}}"#, Resolved(TIMEOUT)),
        c("dns.imageRepository", C, r#"{"dns":{"imageRepository":"example.com/dns"}}"#, Object("Deployment/kube-system/coredns")),
        c("dns.imageTag", C, r#"{"dns":{"imageTag":"v1.99.0"}}"#, Object("Deployment/kube-system/coredns")),
        c("dns.disabled", C, r#"{"dns":{"disabled":true}}"#, Object("Deployment/kube-system/coredns")),
        c("proxy.disabled", C, r#"{"proxy":{"disabled":true}}"#, Object("DaemonSet/kube-system/kube-proxy")),
        c("certificatesDir", C, r#"{"certificatesDir":"/srv/pki"}"#, File("/etc/kubernetes/pki/ca.crt")),
        c("imageRepository", C, r#"{"imageRepository":"example.com/k8s"}"#, File(APISERVER)),
        c("featureGates", C, r#"{"featureGates":{"ControlPlaneKubeletLocalMode":false}}"#, Object("ConfigMap/kube-system/kubeadm-config")),
        c("clusterName", C, r#"{"clusterName":"other"}"#, File("/etc/kubernetes/admin.conf")),
        c("encryptionAlgorithm", C, r#"{"encryptionAlgorithm":"RSA-2048"}"#, File("/etc/kubernetes/pki/ca.crt")),
        c("certificateValidityPeriod", C, r#"{"certificateValidityPeriod":"100h"}"#, File("/etc/kubernetes/pki/apiserver.crt")),
        c("caCertificateValidityPeriod", C, r#"{"caCertificateValidityPeriod":"1000h"}"#, File("/etc/kubernetes/pki/ca.crt")),
    ]);
    v.extend([
        on("enabled", P, "{}", r#"{"enabled":false}"#, File(PROXY_UNIT)),
        on("port", P, "{}", r#"{"port":7446}"#, File(PROXY_UNIT)),
    ]);
    for (component, manifest) in [("apiServer", APISERVER), ("controllerManager", KCM), ("scheduler", SCHED)] {
        let vol = |extra: &str| leak(format!(r#"{{"{component}":{{"extraVolumes":[{{"name":"a","hostPath":"/srv/a","mountPath":"/srv/a"{extra}}}]}}}}"#));
        let env = |extra: &str| leak(format!(r#"{{"{component}":{{"extraEnvs":[{{"name":"A"{extra}}}]}}}}"#));
        let p = |f: &str| leak(format!("{component}.{f}"));
        v.extend([
            c(p("extraArgs"), C, leak(format!(r#"{{"{component}":{{"extraArgs":[{{"name":"v","value":"5"}}]}}}}"#)), File(manifest)),
            c(p("extraVolumes[].name"), C, vol(""), File(manifest)),
            on(p("extraVolumes[].hostPath"), C, vol(""), vol(r#","hostPath":"/srv/b""#), File(manifest)),
            on(p("extraVolumes[].mountPath"), C, vol(""), vol(r#","mountPath":"/srv/b""#), File(manifest)),
            on(p("extraVolumes[].readOnly"), C, vol(""), vol(r#","readOnly":true"#), File(manifest)),
            on(p("extraVolumes[].pathType"), C, vol(""), vol(r#","pathType":"DirectoryOrCreate""#), File(manifest)),
            c(p("extraEnvs[].name"), C, env(r#","value":"1""#), File(manifest)),
            on(p("extraEnvs[].value"), C, env(""), env(r#","value":"1""#), File(manifest)),
            on(p("extraEnvs[].valueFrom"), C, env(""), env(r#","valueFrom":{"fieldRef":{"fieldPath":"status.podIP"}}"#), File(manifest)),
        ]);
    }
    v
}

const EXTERNAL: &str = r#"{"etcd":{"external":{"endpoints":["https://10.0.0.50:2379"],"caFile":"/srv/etcd/ca.crt","certFile":"/srv/etcd/c.crt","keyFile":"/srv/etcd/c.key"}}}"#;

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn base_docs(v1beta3: bool) -> (Value, Value) {
    let init = json!({
        "localAPIEndpoint": {"advertiseAddress": "10.0.0.10", "bindPort": 6443},
        "nodeRegistration": {"name": "cp1", "criSocket": "unix:///run/containerd/containerd.sock", "ignorePreflightErrors": ["all"]},
        "bootstrapTokens": [{"token": "abcdef.0123456789abcdef"}],
        // a test host is no node; the one case about preflight runs it
        "skipPhases": ["preflight"],
    });
    let mut cluster = json!({"kubernetesVersion": "v1.33.3"});
    if !v1beta3 {
        // ECDSA keys: a render costs milliseconds instead of a second of RSA key generation
        cluster["encryptionAlgorithm"] = json!("ECDSA-P256");
    }
    (init, cluster)
}

/// The `--config` text: both documents (JSON is YAML) and any further documents.
fn config_text(init: &Value, cluster: &Value, v1beta3: bool, extra: &str) -> String {
    let api = if v1beta3 { "kubeadm.k8s.io/v1beta3" } else { "kubeadm.k8s.io/v1beta4" };
    let mut i = init.clone();
    i["apiVersion"] = json!(api);
    i["kind"] = json!("InitConfiguration");
    let mut c = cluster.clone();
    c["apiVersion"] = json!(api);
    c["kind"] = json!("ClusterConfiguration");
    format!("{i}\n---\n{c}\n{extra}")
}

/// What one `init --dry-run` produced, with what differs on every run (keys, token expiry near now, the
/// temporary directory) taken out.
#[derive(Debug, PartialEq)]
struct Render {
    code: i32,
    stdout: String,
    stderr: String,
    files: BTreeMap<String, String>,
    objects: BTreeMap<String, String>,
}

fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_inclusive(|c: char| c.is_whitespace() || c == '"' || c == ',') {
        let core = word.trim_end_matches(|c: char| c.is_whitespace() || c == '"' || c == ',');
        let b64 = core.len() >= 60
            && core.chars().all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '=' || c == ':');
        if b64 {
            out.push_str("<random>");
            out.push_str(&word[core.len()..]);
        } else {
            out.push_str(word);
        }
    }
    out
}

/// A certificate as everything but its key and serial: subject, issuer, SANs, validity span, key algorithm and
/// size. A key file as its PEM type and size class.
fn cert_summary(pem: &[u8]) -> String {
    let (_, p) = x509_parser::pem::parse_x509_pem(pem).unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(&p.contents).unwrap();
    let span = cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp();
    let sans = cert.subject_alternative_name().ok().flatten().map(|s| format!("{:?}", s.value.general_names));
    let spki = &cert.tbs_certificate.subject_pki;
    format!(
        "subject={} issuer={} sans={sans:?} span={span} key={} bits={}",
        cert.subject(),
        cert.issuer(),
        spki.algorithm.algorithm.to_id_string(),
        spki.subject_public_key.data.len()
    )
}

fn read_tree(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for p in crate::support::files(dir) {
        let bytes = std::fs::read(dir.join(p.trim_start_matches('/'))).unwrap();
        let v = if p.ends_with(".crt") {
            cert_summary(&bytes)
        } else if p.ends_with(".key") || p.ends_with(".pub") {
            let t = String::from_utf8_lossy(&bytes);
            format!("{} ~{}00 bytes", t.lines().next().unwrap_or_default(), bytes.len() / 100)
        } else {
            normalize(&String::from_utf8_lossy(&bytes))
        };
        out.insert(p, v);
    }
    out
}

/// A token expiry near now (the default TTL) is the same expiry for the comparison; a far one is not.
fn soon(b64: &str) -> bool {
    use base64::Engine as _;
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b64) else { return false };
    let year: u64 = String::from_utf8_lossy(&raw).get(..4).and_then(|y| y.parse().ok()).unwrap_or(0);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    year <= 1970 + now / 31_556_952 + 1
}

fn render(text: &str, flags: &[&str]) -> Render {
    render_cmd("init", text, flags)
}

/// [`render`] for `kbinit <cmd> --dry-run`.
fn render_cmd(cmd: &str, text: &str, flags: &[&str]) -> Render {
    let node = Node::new();
    let cfg = node.root().join("kbinit.yaml");
    std::fs::write(&cfg, text).unwrap();
    // the dry-run directory's writes are fsynced: on tmpfs they cost nothing
    let shm = Path::new("/dev/shm");
    let out = if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() }.unwrap();
    let dir = out.path().join("dry");
    let mut args = vec![cmd, "--dry-run", "--dry-run-dir", dir.to_str().unwrap(), "--config", cfg.to_str().unwrap()];
    args.extend_from_slice(flags);
    let Run { code, stdout, stderr } = node.kbinit(&args);
    let files = if dir.exists() { read_tree(&dir) } else { BTreeMap::new() };
    let mut objects: BTreeMap<String, String> = BTreeMap::new();
    for call in calls(&stdout) {
        let key = match call.kind.as_str() {
            "patch" => format!("patch/{}/{}", call.resource, call.name),
            "" => format!("{}/{}/{}", call.verb, call.resource, call.name),
            kind => format!("{kind}/{}/{}", call.namespace, call.name),
        };
        let mut body = call.body.unwrap_or(Value::Null);
        if let Some(Value::String(e)) = body.pointer_mut("/data/expiration")
            && soon(e)
        {
            *e = "<soon>".into();
        }
        objects.entry(key).or_default().push_str(&format!("{} {}\n", call.verb, normalize(&body.to_string())));
    }
    let strip = |s: &str| s.replace(dir.to_str().unwrap(), "<dir>");
    Render { code, stdout: strip(&stdout), stderr: strip(&stderr), files, objects }
}

/// Renders each distinct text once, four at a time (a render mostly waits: the binary loading, the file
/// system).
fn render_all(texts: &[&String]) -> BTreeMap<String, Render> {
    render_all_cmd("init", texts)
}

fn render_all_cmd(cmd: &str, texts: &[&String]) -> BTreeMap<String, Render> {
    let mut todo: Vec<&String> = texts.to_vec();
    todo.sort();
    todo.dedup();
    let next = std::sync::Mutex::new(todo.into_iter());
    let done = std::sync::Mutex::new(BTreeMap::new());
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                loop {
                    let Some(text) = next.lock().unwrap().next() else { break };
                    let r = render_cmd(cmd, text, &[]);
                    done.lock().unwrap().insert(text.clone(), r);
                }
            });
        }
    });
    done.into_inner().unwrap()
}

/// [`Effect::DryRun`]: `kbinit <cmd> --dry-run-dir D --config …` without `--dry-run`.
fn dry_run_by_config(cmd: &str, base_text: &str, changed_text: &str) -> Result<(), String> {
    let run = |text: &str| {
        let node = Node::new();
        let cfg = node.root().join("kbinit.yaml");
        std::fs::write(&cfg, text).unwrap();
        let out = tempfile::tempdir().unwrap();
        let dir = out.path().join("dry");
        let before = crate::support::snapshot(node.root());
        let run = node.kbinit(&[cmd, "--dry-run-dir", dir.to_str().unwrap(), "--config", cfg.to_str().unwrap()]);
        let untouched = crate::support::snapshot(node.root()) == before;
        (run, dir.join("etc/kubernetes").is_dir(), untouched)
    };
    let (base, _, _) = run(base_text);
    if base.code == 0 || !base.stderr.contains("--dry-run-dir can only be used with --dry-run") {
        return Err(format!("without the field, --dry-run-dir was not refused: exit {}", base.code));
    }
    let (changed, rendered, untouched) = run(changed_text);
    if changed.code != 0 || !rendered || !untouched {
        return Err(format!(
            "not a dry run: exit {}, rendered {rendered}, node untouched {untouched}: {}",
            changed.code,
            tail(&changed.stderr)
        ));
    }
    Ok(())
}

/// Checks one effect of `changed` against `base`; `Err` says what did not happen.
fn check(
    effect: Effect,
    base: &Render,
    changed: &Render,
    resolved: impl FnOnce() -> (String, String),
) -> Result<(), String> {
    let ok_run = |r: &Render| {
        if r.code == 0 { Ok(()) } else { Err(format!("exit {}: {}", r.code, tail(&r.stderr))) }
    };
    match effect {
        File(p) => {
            ok_run(changed)?;
            if base.files.get(p) == changed.files.get(p) {
                return Err(format!("{p} did not change (present: {})", changed.files.contains_key(p)));
            }
        }
        Object(k) => {
            ok_run(changed)?;
            if base.objects.get(k) == changed.objects.get(k) {
                return Err(format!("{k} did not change (sent: {})", changed.objects.contains_key(k)));
            }
        }
        Refused(m) => {
            // refused because of the field: the same input without it goes through
            ok_run(base).map_err(|e| format!("the render without the field fails too: {e}"))?;
            if changed.code == 0 || !(changed.stderr.contains(m) || changed.stdout.contains(m)) {
                return Err(format!("not refused with {m:?}: exit {} {}", changed.code, tail(&changed.stderr)));
            }
        }
        DryRun => unreachable!("checked by dry_run_by_config"),
        Resolved(why) => {
            ok_run(changed)?;
            let (before, after) = resolved();
            if before == after || after.starts_with("error") {
                return Err(format!("the loaded configuration did not change, so {why} cannot see it: {after}"));
            }
        }
    }
    Ok(())
}

fn tail(s: &str) -> String {
    s.lines().rev().take(3).collect::<Vec<_>>().join(" | ")
}

fn host() -> kbinit_phases::config::HostFacts {
    kbinit_phases::config::HostFacts {
        hostname: "cp1".into(),
        default_address: Some("10.0.0.10".parse().unwrap()),
        cri_sockets: vec![],
        systemd_resolved: false,
    }
}

fn loaded(text: &str) -> String {
    let flags = kbinit_phases::config::InitFlags::default();
    match kbinit_phases::config::load_init(Some(text), &flags, &host()) {
        Ok(l) => format!("{:?}", l.config),
        Err(e) => format!("error: {e}"),
    }
}

/// The inventory of a document, prefixed with its kind.
fn inventory() -> Vec<(Doc, String)> {
    use kbinit_phases::config::fields::field_paths;
    use kbinit_phases::config::wire::{WireCluster, WireInit};
    let mut all: Vec<(Doc, String)> = field_paths::<WireInit>().unwrap().into_iter().map(|p| (I, p)).collect();
    all.extend(field_paths::<WireCluster>().unwrap().into_iter().map(|p| (C, p)));
    all.extend(kbinit_phases::api_server_proxy::field_paths().unwrap().into_iter().map(|p| (P, p)));
    all
}

#[test]
fn every_init_and_cluster_configuration_field_has_its_effect() {
    let patches = tempfile::tempdir().unwrap();
    std::fs::write(patches.path().join("kube-apiserver+merge.yaml"), "metadata:\n  labels:\n    patched: \"yes\"\n")
        .unwrap();
    let cases = init_cases();
    let mut failures = Vec::new();
    for (doc, path) in inventory() {
        if !cases.iter().any(|c| c.doc == doc && c.path == path) {
            failures.push(format!("{}.{path}: no expectation (give it one in tests/it/fields.rs)", doc.kind()));
        }
    }
    let known: Vec<(Doc, String)> = inventory();
    let mut pairs = Vec::new();
    for case in &cases {
        if !known.iter().any(|(d, p)| *d == case.doc && p == case.path) {
            failures.push(format!("{}.{}: expectation for a field that does not exist", case.doc.kind(), case.path));
            continue;
        }
        let merged = |over: &str| {
            let (mut i, mut cl) = base_docs(case.v1beta3);
            if matches!(case.effect, Object(NODE_PATCH)) {
                // from 1.32 kubeadm's dry run shows no Node patch (its fake client answers the PATCH with a
                // made-up Node, as kbinit then does): the patch is seen in 1.31's form
                cl["kubernetesVersion"] = json!("v1.31.2");
            }
            let mut proxy = json!({"apiVersion": "kbinit.io/v1alpha1", "kind": "ApiServerProxyConfiguration"});
            for o in [case.on, over] {
                if o.is_empty() {
                    continue;
                }
                let o: Value = serde_json::from_str(&o.replace("@PATCHES@", patches.path().to_str().unwrap())).unwrap();
                match case.doc {
                    I => kbinit_phases::patches::overlay(&mut i, &o),
                    C => kbinit_phases::patches::overlay(&mut cl, &o),
                    P => kbinit_phases::patches::overlay(&mut proxy, &o),
                }
            }
            let extra = if case.doc == P { format!("---\n{proxy}\n") } else { String::new() };
            config_text(&i, &cl, case.v1beta3, &extra)
        };
        pairs.push((case, merged(""), merged(case.set)));
    }
    let texts: Vec<&String> = pairs.iter().flat_map(|(_, b, c)| [b, c]).collect();
    let renders = render_all(&texts);
    for (case, base_text, changed_text) in &pairs {
        let (base, changed) = (&renders[base_text], &renders[changed_text]);
        let result = match case.effect {
            DryRun => dry_run_by_config("init", base_text, changed_text),
            e => check(e, base, changed, || (loaded(base_text), loaded(changed_text))),
        };
        if let Err(e) = result {
            failures.push(format!("{}.{} ({:?}): {e}", case.doc.kind(), case.path, case.effect));
        }
    }
    assert!(failures.is_empty(), "{} field(s) without their effect:\n{}", failures.len(), failures.join("\n"));
}

/// A value of the same type that differs: strings get a suffix (durations become `7s`), numbers grow by 7,
/// booleans flip, lists change each item; `None` for what has no value to change (null, `{}`).
fn changed_value(v: &Value) -> Option<Value> {
    match v {
        Value::String(s) if s.ends_with('s') && s.trim_end_matches('s').chars().all(|c| c.is_ascii_digit()) => {
            Some(json!("7s"))
        }
        Value::String(s) if s.is_empty() => Some(json!("x-set")),
        Value::String(s) => Some(json!(format!("{s}-x"))),
        Value::Number(n) => Some(json!(n.as_i64().unwrap_or(0) + 7)),
        Value::Bool(b) => Some(json!(!b)),
        Value::Array(items) if !items.is_empty() => {
            items.iter().map(changed_value).collect::<Option<Vec<_>>>().map(Value::Array)
        }
        _ => None,
    }
}

/// Every leaf of `doc` (JSON pointer, value), objects walked, lists and scalars leaves.
fn leaves(doc: &Value, at: &str, out: &mut Vec<(String, Value)>) {
    match doc {
        Value::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                leaves(v, &format!("{at}/{k}"), out);
            }
        }
        other => out.push((at.to_string(), other.clone())),
    }
}

/// Fields kubeadm recommends a value for and warns about when given another (componentconfigs `Default()`).
const KUBELET_WARNED: [&str; 10] = [
    "/staticPodPath",
    "/clusterDNS",
    "/clusterDomain",
    "/authentication/x509/clientCAFile",
    "/authentication/anonymous/enabled",
    "/authorization/mode",
    "/authentication/webhook/enabled",
    "/healthzBindAddress",
    "/healthzPort",
    "/readOnlyPort",
];
const KUBE_PROXY_WARNED: [&str; 3] = ["/bindAddress", "/clusterCIDR", "/clientConnection/kubeconfig"];

fn kube_proxy_config(stdout: &str) -> Value {
    let call = calls(stdout)
        .into_iter()
        .find(|c| c.kind == "ConfigMap" && c.name == "kube-proxy")
        .expect("no kube-proxy ConfigMap in the dry run");
    let text = call.body.unwrap()["data"]["config.conf"].as_str().unwrap().to_string();
    kbinit_phases::go_format::yaml::from_yaml(&text).unwrap()
}

#[test]
fn every_kubelet_and_kube_proxy_field_reaches_the_component_with_kubeadms_warnings() {
    let (init, mut cluster) = base_docs(false);
    cluster["networking"] = json!({"podSubnet": "10.244.0.0/16"});
    let text = config_text(&init, &cluster, false, "");
    let base = render(&text, &[]);
    assert_eq!(base.code, 0, "{}", base.stderr);
    let kubelet: Value =
        kbinit_phases::go_format::yaml::from_yaml(&base.files["/var/lib/kubelet/config.yaml"].replace("<random>", "x"))
            .unwrap();
    let proxy = kube_proxy_config(&base.stdout);
    // fields kubeadm does not write by default: given, they reach the component too
    let mut kubelet_in = kubelet.clone();
    kubelet_in["maxPods"] = json!(111);
    kubelet_in["readOnlyPort"] = json!(10255);
    kubelet_in["evictionHard"] = json!({"memory.available": "5%"});
    let mut proxy_in = proxy.clone();
    proxy_in["portRange"] = json!("30000-32767");
    let mut walked = Vec::new();
    for (doc, input, forced) in
        [(&kubelet, &mut kubelet_in, &["/rotateCertificates"][..]), (&proxy, &mut proxy_in, &[][..])]
    {
        let mut all = Vec::new();
        leaves(doc, "", &mut all);
        for (ptr, v) in all {
            if ptr == "/apiVersion" || ptr == "/kind" || forced.contains(&ptr.as_str()) {
                continue;
            }
            if let Some(new) = changed_value(&v) {
                *input.pointer_mut(&ptr).unwrap() = new;
            }
        }
        walked.push(input.clone());
    }
    let docs = format!("---\n{}\n---\n{}\n", walked[0], walked[1]);
    let changed = render(&config_text(&init, &cluster, false, &docs), &[]);
    assert_eq!(changed.code, 0, "{}", changed.stderr);
    let kubelet_out: Value = kbinit_phases::go_format::yaml::from_yaml(
        &changed.files["/var/lib/kubelet/config.yaml"].replace("<random>", "x"),
    )
    .unwrap();
    let proxy_out = kube_proxy_config(&changed.stdout);
    let mut failures = Vec::new();
    for (kind, input, out, warned, forced) in [
        ("KubeletConfiguration", &walked[0], &kubelet_out, &KUBELET_WARNED[..], &["/rotateCertificates"][..]),
        ("KubeProxyConfiguration", &walked[1], &proxy_out, &KUBE_PROXY_WARNED[..], &[][..]),
    ] {
        let mut all = Vec::new();
        leaves(input, "", &mut all);
        // the walk is only as good as the documents it walks: kubeadm's defaults hold dozens of fields each
        assert!(all.len() > 30, "{kind}: only {} fields walked", all.len());
        for (ptr, want) in all {
            if forced.contains(&ptr.as_str()) {
                // kubeadm hard-codes it (componentconfigs/kubelet.go: "we must hardcode it to true"), no warning
                if out.pointer(&ptr) != Some(&json!(true)) {
                    failures.push(format!("{kind}{ptr}: not forced to true as kubeadm forces it"));
                }
                continue;
            }
            if out.pointer(&ptr) != Some(&want) {
                failures.push(format!("{kind}{ptr}: gave {want}, written {:?}", out.pointer(&ptr)));
            }
            let field = ptr.trim_start_matches('/').replace('/', ".");
            let line = format!("The recommended value for {field:?} in {kind:?}");
            let said = changed.stderr.contains(&line) || changed.stdout.contains(&line);
            if said != warned.contains(&ptr.as_str()) {
                failures.push(format!(
                    "{kind}{ptr}: kubeadm {} about it; kbinit {}",
                    if said { "says nothing" } else { "warns" },
                    if said { "warns" } else { "does not" }
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} component field(s) not passed through as kubeadm does:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// UpgradeConfiguration (`upgrade apply|node|plan|diff --config`): each field is a setting of the command it
/// sits under, so its effect is on what that command does; the test shows each reaches the parsed settings the
/// upgrade flows read (src/flows/upgrade, whose tests in tests/it/upgrade run them), and the settings' effects
/// there are held by those tests.
#[test]
fn every_upgrade_configuration_field_reaches_the_upgrade_settings() {
    use kbinit_phases::upgrade::config::{field_paths, parse_upgrade_configuration};
    let value = |path: &str| -> Value {
        let leaf = path.rsplit('.').next().unwrap();
        match leaf {
            "kubernetesVersion" => json!("v1.33.9"),
            "contextLines" => json!(9),
            "ignorePreflightErrors" => json!(["all"]),
            "skipPhases" => json!(["addon/coredns"]),
            "directory" => json!("/srv/patches"),
            "imagePullPolicy" => json!("Never"),
            // the booleans whose default is true
            "certificateRenewal" | "etcdUpgrade" | "imagePullSerial" => json!(false),
            _ if path.starts_with("timeouts.") => json!("7m"),
            _ => json!(true),
        }
    };
    let head = json!({"apiVersion": "kubeadm.k8s.io/v1beta4", "kind": "UpgradeConfiguration"});
    let base = format!("{:?}", parse_upgrade_configuration(&head.to_string()).unwrap());
    let mut failures = Vec::new();
    let paths = field_paths().unwrap();
    assert!(paths.len() > 30, "{paths:?}");
    for path in &paths {
        let mut doc = head.clone();
        let mut at = &mut doc;
        let parts: Vec<&str> = path.split('.').collect();
        for p in &parts[..parts.len() - 1] {
            at = at.as_object_mut().unwrap().entry(p.to_string()).or_insert(json!({}));
        }
        at[parts[parts.len() - 1]] = value(path);
        match parse_upgrade_configuration(&doc.to_string()) {
            Ok(c) if format!("{c:?}") != base => {}
            Ok(_) => failures.push(format!("UpgradeConfiguration.{path}: parsed and dropped")),
            Err(e) => failures.push(format!("UpgradeConfiguration.{path}: refused: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
