//! Tests of the cluster phases against kubeadm v1.28.7's own dry-run (every attached object and patch, every
//! line), plus the cases the reference does not cover: other versions, upload/download round trips, errors.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use k8s_openapi::api::core::v1::{Node, Secret};
use serde_json::Value;

use super::addons::{CoreDnsState, coredns_image, is_default_corefile, plan_addons, plan_coredns};
use super::bootstrap_token::{ResolvedToken, cluster_info_configmap, plan_bootstrap_token, plan_cluster_admins};
use super::certkey::CertificateKey;
use super::mark_control_plane::plan_mark_control_plane;
use super::token::Token;
use super::upload_certs::{decode_certs_secret, plan_upload_certs};
use super::upload_config::plan_upload_config;
use crate::api::{ApiOp, ApiStep, WritePolicy};
use crate::config::{Etcd, ExternalEtcd, HostFacts, InitConfiguration, InitFlags, load_init};
use crate::go_format::time::parse_rfc3339;
use crate::kubeconfig::control_plane_endpoint;
use crate::plan::{FileKind, MemoryNode, Step};
use crate::version::KubeVersion;

/// A file of /work/shared/reference/kubeadm-1.28.7, or `None` (with a note) when the reference is not there.
pub(crate) fn reference_file(name: &str) -> Option<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/reference/kubeadm-1.28.7/").to_string() + name;
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(_) => {
            eprintln!("note: {path} is absent, skipping the comparison with kubeadm");
            None
        }
    }
}

const CONFIG: &str = "\
apiVersion: kubeadm.k8s.io/v1beta3
kind: InitConfiguration
certificateKey: 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
localAPIEndpoint:
  advertiseAddress: 10.0.0.10
  bindPort: 6443
nodeRegistration:
  name: cp1
  criSocket: unix:///run/containerd/containerd.sock
---
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
kubernetesVersion: v1.28.7
controlPlaneEndpoint: lb.example.com:6443
networking:
  podSubnet: 10.244.0.0/16
";

fn host() -> HostFacts {
    HostFacts {
        hostname: "render-host".into(),
        default_address: Some("10.0.0.10".parse().unwrap()),
        cri_sockets: vec!["unix:///run/containerd/containerd.sock".into()],
        systemd_resolved: false,
    }
}

fn init_from(text: &str) -> InitConfiguration {
    load_init(Some(text), &InitFlags::default(), &host()).unwrap().config
}

/// The reference input (init-dry-run-config.yaml, also embedded above so version tests run without it).
fn reference_init() -> InitConfiguration {
    init_from(&reference_file("init-dry-run-config.yaml").unwrap_or_else(|| CONFIG.to_string()))
}

fn with_version(v: &str) -> InitConfiguration {
    init_from(&CONFIG.replace("v1.28.7", v))
}

/// What the reference run used: the tokens it printed and the clock its expirations imply.
const INIT_TOKEN: &str = "kh3ugf.ekauarlpivo5s6tj";
const CERTS_TOKEN: &str = "wa38n8.cpa0melez0uypusf";
const NOW: &str = "2026-11-22T13:23:29Z";

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Object(Value),
    Patch(Value),
}

/// Every `[dryrun] Attached object:` / `Attached patch:` block, and every line kubeadm printed itself, from the
/// upload-config phase to the last addon.
fn parse_dry_run(text: &str) -> (Vec<Item>, Vec<String>) {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| l.starts_with("[upload-config]")).unwrap();
    let end = lines.iter().position(|l| *l == "[addons] Applied essential addon: kube-proxy").unwrap();
    let mut items = Vec::new();
    let mut said = Vec::new();
    let mut i = start;
    while i <= end {
        let line = lines[i];
        i += 1;
        if line == "[dryrun] Attached object:" || line == "[dryrun] Attached patch:" {
            let mut block = Vec::new();
            while i < lines.len() && lines[i].starts_with('\t') {
                block.push(&lines[i][1..]);
                i += 1;
            }
            let body = block.join("\n") + "\n";
            items.push(if line.ends_with("object:") {
                Item::Object(crate::go_format::yaml::from_yaml(&body).unwrap())
            } else {
                Item::Patch(serde_json::from_str(&body).unwrap())
            });
        } else if !line.starts_with("[dryrun]") {
            said.push(line.to_string());
        }
    }
    (items, said)
}

/// Our steps as the same items and lines (writes' bodies; node changes as the patch against a fresh node).
fn flatten(steps: &[ApiStep]) -> (Vec<Item>, Vec<String>) {
    let mut items = Vec::new();
    let mut said = Vec::new();
    for s in steps {
        match s {
            ApiStep::Say(l) => said.push(l.clone()),
            ApiStep::Op(op) => match op.as_ref() {
                ApiOp::Write { object, .. } => items.push(Item::Object(object.body.clone())),
                ApiOp::PatchNode { change, .. } => items.push(Item::Patch(change.patch_for(&Node::default()).unwrap())),
            },
        }
    }
    (items, said)
}

fn strip_creation_timestamps(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.remove("creationTimestamp");
            m.values_mut().for_each(strip_creation_timestamps);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_creation_timestamps),
        _ => {}
    }
}

/// Paths where two values differ.
fn diff(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                diff(&format!("{path}.{k}"), x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null), out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                diff(&format!("{path}[{i}]"), p, q, out);
            }
        }
        _ if a != b => out.push(format!("{path}: ours {a} / kubeadm {b}")),
        _ => {}
    }
}

fn reference_steps(init: &InitConfiguration, ca_pem: &[u8]) -> Vec<ApiStep> {
    let now = parse_rfc3339(NOW).unwrap();
    let key = CertificateKey::parse(&init.certificate_key).unwrap();
    let mut tokens = ResolvedToken::resolve_all(&init.bootstrap_tokens).unwrap();
    tokens[0].token = Token::parse(INIT_TOKEN).unwrap();
    let server = control_plane_endpoint(&init.cluster, &init.node());
    let mut steps = plan_upload_config(init, &host()).unwrap();
    steps.extend(
        plan_upload_certs(&init.cluster, &key, &Token::parse(CERTS_TOKEN).unwrap(), now, true, &MemoryNode::default())
            .unwrap(),
    );
    steps.extend(plan_mark_control_plane(&init.node_registration.name, &init.node_registration.taints));
    steps.extend(plan_bootstrap_token(&init.cluster.kubernetes_version, &tokens, true, &server, ca_pem, now).unwrap());
    steps.extend(plan_addons(init, &CoreDnsState::default(), &[]).unwrap());
    steps
}

fn cluster_info_ca(items: &[Item]) -> Vec<u8> {
    use base64::Engine;
    let cm = items
        .iter()
        .find_map(|i| match i {
            Item::Object(o) if o["metadata"]["name"] == "cluster-info" => Some(o.clone()),
            _ => None,
        })
        .unwrap();
    let kubeconfig = crate::go_format::yaml::from_yaml(cm["data"]["kubeconfig"].as_str().unwrap()).unwrap();
    let b64 = kubeconfig["clusters"][0]["cluster"]["certificate-authority-data"].as_str().unwrap();
    base64::engine::general_purpose::STANDARD.decode(b64).unwrap()
}

#[test]
fn every_object_and_patch_matches_kubeadm_1_28_7_dry_run() {
    let Some(text) = reference_file("init-dry-run.txt") else { return };
    let (mut theirs, _) = parse_dry_run(&text);
    let init = reference_init();
    let steps = reference_steps(&init, &cluster_info_ca(&theirs));
    let (mut ours, _) = flatten(&steps);
    assert_eq!(ours.len(), theirs.len(), "number of objects and patches");

    // kubeadm-certs: the reference holds null values (its dry-run read an empty /etc/kubernetes/pki) and shows the
    // owner reference the applier fills in from the live owner; compare those separately
    let owner = steps.iter().find_map(|s| match s {
        ApiStep::Op(op) => match op.as_ref() {
            ApiOp::Write { owner: Some(o), .. } => Some(o.key.name.clone()),
            _ => None,
        },
        _ => None,
    });
    for (o, t) in ours.iter_mut().zip(theirs.iter_mut()) {
        let (Item::Object(o), Item::Object(t)) = (o, t) else { continue };
        strip_creation_timestamps(o);
        strip_creation_timestamps(t);
        if t["metadata"]["name"] == "kubeadm-certs" {
            let refs = t["metadata"].as_object_mut().unwrap().remove("ownerReferences").unwrap();
            assert_eq!(refs[0]["name"].as_str(), owner.as_deref());
            assert_eq!(
                (refs[0]["controller"].clone(), refs[0]["blockOwnerDeletion"].clone()),
                (true.into(), true.into())
            );
            let data = o["data"].as_object_mut().unwrap();
            assert!(data.values().all(|v| v == ""), "missing files are uploaded empty");
            data.values_mut().for_each(|v| *v = Value::Null);
        }
    }
    for (n, (o, t)) in ours.iter().zip(&theirs).enumerate() {
        let (o, t) = match (o, t) {
            (Item::Object(o), Item::Object(t)) | (Item::Patch(o), Item::Patch(t)) => (o, t),
            _ => panic!("item {n}: ours {o:?} / kubeadm {t:?} are not the same kind of thing"),
        };
        let mut diffs = Vec::new();
        diff("", o, t, &mut diffs);
        assert!(diffs.is_empty(), "item {n} ({} {}) differs:\n{}", t["kind"], t["metadata"]["name"], diffs.join("\n"));
    }
}

#[test]
fn lines_match_kubeadm_1_28_7_dry_run() {
    let Some(text) = reference_file("init-dry-run.txt") else { return };
    let (theirs, said) = parse_dry_run(&text);
    let (_, ours) = flatten(&reference_steps(&reference_init(), &cluster_info_ca(&theirs)));
    assert_eq!(ours, said);
}

#[test]
fn write_policies_follow_kubeadm() {
    let init = with_version("v1.28.7");
    let steps = reference_steps(&init, b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n");
    let policy = |kind: &str, name: &str| {
        steps.iter().find_map(|s| match s {
            ApiStep::Op(op) => match op.as_ref() {
                ApiOp::Write { object, policy, .. } if object.resource.kind == kind && object.name == name => {
                    Some(*policy)
                }
                _ => None,
            },
            _ => None,
        })
    };
    assert_eq!(policy("Secret", "bootstrap-token-wa38n8"), Some(WritePolicy::CreateNew));
    assert_eq!(policy("Secret", "bootstrap-token-kh3ugf"), Some(WritePolicy::ReadThenWrite));
    assert_eq!(policy("Secret", "kubeadm-certs"), Some(WritePolicy::CreateOrUpdate));
    assert_eq!(policy("ServiceAccount", "coredns"), Some(WritePolicy::CreateOrKeep));
    assert_eq!(policy("ServiceAccount", "kube-proxy"), Some(WritePolicy::CreateOrKeep));
    assert_eq!(policy("ConfigMap", "coredns"), Some(WritePolicy::CreateOrUpdate));
    let kept =
        plan_coredns(&init.cluster, &CoreDnsState { existing_replicas: Some(5), custom_corefile: true }).unwrap();
    let ApiStep::Op(op) = &kept[0] else { panic!("the ConfigMap comes first") };
    let ApiOp::Write { policy, .. } = op.as_ref() else { panic!("a write") };
    assert_eq!(*policy, WritePolicy::CreateOrKeep, "an edited Corefile is kept");
    let replicas = kept.iter().find_map(|s| match s {
        ApiStep::Op(op) => match op.as_ref() {
            ApiOp::Write { object, .. } if object.resource.kind == "Deployment" => {
                Some(object.body["spec"]["replicas"].clone())
            }
            _ => None,
        },
        _ => None,
    });
    assert_eq!(replicas, Some(5.into()));
}

#[test]
fn cluster_info_bytes_have_the_h1_shape() {
    let cm = cluster_info_configmap("https://k8s.example.com:6443", b"PEM");
    let text = &cm.data.unwrap()["kubeconfig"];
    assert_eq!(
        text,
        "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: UEVN\n    server: https://k8s.example.com:6443\n  \
         name: \"\"\ncontexts: null\ncurrent-context: \"\"\nkind: Config\npreferences: {}\nusers: null\n"
    );
    assert_eq!(cm.metadata.namespace.as_deref(), Some("kube-public"));
}

pub(super) fn written<'a>(steps: &'a [ApiStep], kind: &str, name: &str) -> Option<&'a Value> {
    steps.iter().find_map(|s| match s {
        ApiStep::Op(op) => match op.as_ref() {
            ApiOp::Write { object, .. } if object.resource.kind == kind && object.name == name => Some(&object.body),
            _ => None,
        },
        _ => None,
    })
}

fn has_node_patch(steps: &[ApiStep]) -> bool {
    steps.iter().any(|s| matches!(s, ApiStep::Op(op) if matches!(op.as_ref(), ApiOp::PatchNode { .. })))
}

#[test]
fn versions_change_images_cri_annotation_stored_api_and_cluster_admins() {
    let old = with_version("v1.28.7");
    let new = with_version("v1.34.0");
    assert_eq!(coredns_image(&old.cluster), "registry.k8s.io/coredns/coredns:v1.10.1");
    assert_eq!(coredns_image(&new.cluster), "registry.k8s.io/coredns/coredns:v1.12.1");
    let addons = plan_addons(&new, &CoreDnsState::default(), &[]).unwrap();
    let ds = written(&addons, "DaemonSet", "kube-proxy").unwrap();
    assert_eq!(ds["spec"]["template"]["spec"]["containers"][0]["image"], "registry.k8s.io/kube-proxy:v1.34.0");
    let dep = written(&addons, "Deployment", "coredns").unwrap();
    assert_eq!(dep["spec"]["template"]["spec"]["containers"][0]["image"], "registry.k8s.io/coredns/coredns:v1.12.1");

    assert!(has_node_patch(&plan_upload_config(&old, &host()).unwrap()), "1.28 annotates the CRI socket");
    let upload_new = plan_upload_config(&new, &host()).unwrap();
    assert!(!has_node_patch(&upload_new), "NodeLocalCRISocket: no annotation");
    let stored = written(&upload_new, "ConfigMap", "kubeadm-config").unwrap()["data"]["ClusterConfiguration"].clone();
    assert!(stored.as_str().unwrap().contains("apiVersion: kubeadm.k8s.io/v1beta4"), "{stored}");

    assert!(plan_cluster_admins(&old.cluster.kubernetes_version).unwrap().is_empty());
    for v in ["v1.29.0", "v1.34.0"] {
        let steps = plan_cluster_admins(&KubeVersion::resolve(v).unwrap()).unwrap();
        let crb = written(&steps, "ClusterRoleBinding", "kubeadm:cluster-admins").unwrap();
        assert_eq!(crb["roleRef"]["name"], "cluster-admin");
        assert_eq!(crb["subjects"][0], serde_json::json!({"kind": "Group", "name": "kubeadm:cluster-admins"}));
    }
}

#[test]
fn custom_repository_dns_override_disabled_addons_and_proxy_env() {
    let mut init = with_version("v1.28.7");
    init.cluster.image_repository = "mirror.example/k8s".into();
    assert_eq!(coredns_image(&init.cluster), "mirror.example/k8s/coredns:v1.10.1");
    init.cluster.dns_image_repository = "registry.k8s.io".into();
    init.cluster.dns_image_tag = "v9".into();
    assert_eq!(coredns_image(&init.cluster), "registry.k8s.io/coredns/coredns:v9");
    let env = [("https_proxy".to_string(), "http://p:3128".to_string())];
    let steps = plan_addons(&init, &CoreDnsState::default(), &env).unwrap();
    let ds = written(&steps, "DaemonSet", "kube-proxy").unwrap();
    let c = &ds["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "mirror.example/k8s/kube-proxy:v1.28.7");
    assert_eq!(c["env"][1], serde_json::json!({"name": "https_proxy", "value": "http://p:3128"}));
    init.cluster.dns_disabled = true;
    init.cluster.proxy_disabled = true;
    assert!(plan_addons(&init, &CoreDnsState::default(), &env).unwrap().is_empty());
}

#[test]
fn ipv6_and_user_kube_proxy_config() {
    let mut init = with_version("v1.28.7");
    init.local_api_endpoint.advertise_address = "fd00::10".parse().unwrap();
    init.cluster.networking.service_subnet = "fd00:10:96::/108".into();
    let cfg = super::addons::kube_proxy_configuration(&init);
    assert_eq!(cfg["bindAddress"], "::");
    let svc = super::addons::kube_dns_service(&init.cluster).unwrap();
    assert_eq!(svc.spec.unwrap().cluster_ip.as_deref(), Some("fd00:10:96::a"));
    init.kube_proxy = Some(serde_json::json!({"mode": "ipvs", "clusterCIDR": "10.1.0.0/16"}));
    let cm = super::addons::kube_proxy_configmap(&init);
    assert!(cm.metadata.annotations.is_none(), "no hash for a user-supplied configuration");
    let conf = crate::go_format::yaml::from_yaml(&cm.data.unwrap()["config.conf"]).unwrap();
    assert_eq!((conf["mode"].as_str(), conf["clusterCIDR"].as_str()), (Some("ipvs"), Some("10.1.0.0/16")));
    assert_eq!(conf["clientConnection"]["kubeconfig"], "/var/lib/kube-proxy/kubeconfig.conf");
}

#[test]
fn default_corefile_detection() {
    let text = super::addons::default_corefile("cluster.local");
    assert!(is_default_corefile(&text, "cluster.local"));
    assert!(is_default_corefile(&text.replace("    ", "\t"), "cluster.local"));
    assert!(!is_default_corefile(&text.replace("cache 30", "cache 60"), "cluster.local"));
    assert!(!is_default_corefile(&text, "example.org"));
}

fn pki_files(dir: &str) -> MemoryNode {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["kubernetes".into()]).unwrap().self_signed(&key).unwrap();
    let mut node = MemoryNode::default();
    for name in ["ca", "front-proxy-ca", "etcd/ca"] {
        node.files.insert(format!("{dir}/{name}.crt"), cert.pem().into_bytes());
        node.files.insert(format!("{dir}/{name}.key"), key.serialize_pem().into_bytes());
    }
    node.files.insert(format!("{dir}/sa.key"), key.serialize_pem().into_bytes());
    node.files.insert(format!("{dir}/sa.pub"), key.public_key_pem().into_bytes());
    node
}

fn certs_secret(steps: &[ApiStep]) -> Secret {
    steps
        .iter()
        .find_map(|s| match s {
            ApiStep::Op(op) => match op.as_ref() {
                ApiOp::Write { object, .. } if object.name == "kubeadm-certs" => {
                    Some(object.typed::<Secret>().unwrap())
                }
                _ => None,
            },
            _ => None,
        })
        .unwrap()
}

#[test]
fn uploaded_certs_download_with_the_key_and_sniffed_modes() {
    let mut init = with_version("v1.28.7");
    init.cluster.certificates_dir = "/srv/pki".into();
    let node = pki_files("/srv/pki");
    let key = CertificateKey::generate().unwrap();
    let now = parse_rfc3339(NOW).unwrap();
    let steps = plan_upload_certs(&init.cluster, &key, &Token::generate(), now, false, &node).unwrap();
    assert!(!steps.iter().any(|s| matches!(s, ApiStep::Say(l) if l.contains("Using certificate key"))));
    let secret = certs_secret(&steps);
    let files = decode_certs_secret(&secret, &key, &init.cluster).unwrap();
    assert_eq!(files[0], Step::say("[download-certs] Saving the certificates to the folder: \"/srv/pki\""));
    let writes: Vec<(&str, FileKind)> = files
        .iter()
        .filter_map(|s| match s {
            Step::WriteFile { path, bytes, kind } => {
                assert_eq!(Some(bytes), node.files.get(path), "{path} comes back byte for byte");
                Some((path.as_str(), *kind))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        writes,
        [
            ("/srv/pki/ca.crt", FileKind::Cert),
            ("/srv/pki/ca.key", FileKind::Key),
            ("/srv/pki/front-proxy-ca.crt", FileKind::Cert),
            ("/srv/pki/front-proxy-ca.key", FileKind::Key),
            ("/srv/pki/sa.key", FileKind::Key),
            ("/srv/pki/sa.pub", FileKind::Cert),
            ("/srv/pki/etcd/ca.crt", FileKind::Cert),
            ("/srv/pki/etcd/ca.key", FileKind::Key),
        ]
    );
    assert!(files.contains(&Step::EnsureDir { path: "/srv/pki/etcd".into(), mode: 0o755 }));

    let wrong = CertificateKey::generate().unwrap();
    let e = decode_certs_secret(&secret, &wrong, &init.cluster).unwrap_err().to_string();
    assert!(e.contains("certificate key is wrong"), "{e}");
    assert!(e.contains("kbinit init phase upload-certs --upload-certs"), "{e}");
}

#[test]
fn download_skips_empty_values_and_refuses_missing_or_unknown_ones() {
    let init = with_version("v1.28.7");
    let key = CertificateKey::generate().unwrap();
    let now = parse_rfc3339(NOW).unwrap();
    let mut node = pki_files("/etc/kubernetes/pki");
    node.files.remove("/etc/kubernetes/pki/front-proxy-ca.key");
    let steps = plan_upload_certs(&init.cluster, &key, &Token::generate(), now, true, &node).unwrap();
    let mut secret = certs_secret(&steps);
    let files = decode_certs_secret(&secret, &key, &init.cluster).unwrap();
    assert!(!files.iter().any(|s| matches!(s, Step::WriteFile { path, .. } if path.ends_with("front-proxy-ca.key"))));
    assert_eq!(files.iter().filter(|s| matches!(s, Step::WriteFile { .. })).count(), 7);

    let data = secret.data.as_mut().unwrap();
    data.insert("sa.pub".into(), k8s_openapi::ByteString(super::certkey::seal(&key, b"not pem").unwrap()));
    let e = decode_certs_secret(&secret, &key, &init.cluster).unwrap_err().to_string();
    assert!(e.contains("unknown data found in Secret entry \"sa.pub\""), "{e}");
    secret.data.as_mut().unwrap().remove("sa.pub");
    let e = decode_certs_secret(&secret, &key, &init.cluster).unwrap_err().to_string();
    assert!(e.contains("name: sa.pub"), "{e}");

    let mut external = init.cluster.clone();
    external.etcd = Etcd::External(ExternalEtcd {
        endpoints: vec!["https://etcd:2379".into()],
        ca_file: "/etc/etcd/ca.pem".into(),
        cert_file: "/etc/etcd/client.pem".into(),
        key_file: "/etc/etcd/client-key.pem".into(),
    });
    let names: Vec<String> = super::upload_certs::certs_to_transfer(&external).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "ca.crt",
            "ca.key",
            "front-proxy-ca.crt",
            "front-proxy-ca.key",
            "sa.key",
            "sa.pub",
            "external-etcd-ca.crt",
            "external-etcd.crt",
            "external-etcd.key"
        ]
    );
}
