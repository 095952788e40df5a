//! `kbinit init --upload-certs` end to end on a test node: a network namespace with the node's address, a
//! kubelet stand-in that runs the static Pods kbinit writes (real etcd from the rendered manifest, the fake API
//! server in place of kube-apiserver, the controller loops), and then:
//! - the store holds every object kbinit's dry-run lists for the same input (which `init_dryrun` holds equal to
//!   kubeadm's), field by field, and the node is labelled and tainted;
//! - kubeadm-certs decrypts with the printed key under Python's `cryptography` to the files on disk;
//! - `token create --print-join-command` prints the pin openssl computes, and that token has exactly the rights
//!   the real RBAC grants (cluster-info anonymously, create a CSR, get kubeadm-certs; not list secrets);
//! - re-running single phases converges.
//!
//! fake-api: the newest supported version (v1.37) has no real kube-apiserver in ../shared/k8s; the v1.28.7 cases are
//! to move to `realk8s::cluster_twice`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::support::config::init_yaml;
use crate::support::fakeapi::{FakeApi, ServingTls};
use crate::support::nodes::testnode::TestNode;
use crate::support::{Node, require_tool};

const ADDRESS: &str = "192.0.2.10";

fn config(version: &str) -> String {
    init_yaml(version, ADDRESS).endpoint(ADDRESS).pod_subnet().build()
}

/// Every object a dry-run attaches to its CREATE calls.
fn dry_run_objects(stdout: &str) -> Vec<Value> {
    crate::init_dryrun::calls(stdout).into_iter().filter(|c| c.verb == "CREATE").filter_map(|c| c.body).collect()
}

/// The store path of an object.
fn path_of(obj: &Value) -> String {
    let api_version = obj["apiVersion"].as_str().unwrap();
    let kind = obj["kind"].as_str().unwrap();
    let plural = match kind {
        "ConfigMap" => "configmaps",
        "Secret" => "secrets",
        "Role" => "roles",
        "RoleBinding" => "rolebindings",
        "ClusterRole" => "clusterroles",
        "ClusterRoleBinding" => "clusterrolebindings",
        "ServiceAccount" => "serviceaccounts",
        "Service" => "services",
        "Deployment" => "deployments",
        "DaemonSet" => "daemonsets",
        other => panic!("unexpected kind {other}"),
    };
    let root = if api_version.contains('/') { format!("/apis/{api_version}") } else { format!("/api/{api_version}") };
    let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap();
    let cluster_scoped = kind.starts_with("Cluster");
    match obj.pointer("/metadata/namespace").and_then(Value::as_str) {
        Some(ns) if !cluster_scoped => format!("{root}/namespaces/{ns}/{plural}/{name}"),
        _ => format!("{root}/{plural}/{name}"),
    }
}

/// `want` is contained in `got` (every field of `want` equal in `got`; `got` may have more, as servers add).
fn contains(got: &Value, want: &Value, at: &str) -> Result<(), String> {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            for (k, wv) in w {
                match g.get(k) {
                    Some(gv) => contains(gv, wv, &format!("{at}.{k}"))?,
                    None if wv.is_null() => {}
                    None => return Err(format!("{at}.{k} missing")),
                }
            }
            Ok(())
        }
        (Value::Array(g), Value::Array(w)) if g.len() == w.len() => {
            g.iter().zip(w).enumerate().try_for_each(|(i, (gv, wv))| contains(gv, wv, &format!("{at}[{i}]")))
        }
        _ if got == want => Ok(()),
        _ => Err(format!("{at}: got {got}, want {want}")),
    }
}

fn python_decrypt(key_hex: &str, b64: &str) -> Option<Vec<u8>> {
    let script = "import sys,base64\nfrom cryptography.hazmat.primitives.ciphers.aead import AESGCM\n\
                  blob=base64.b64decode(sys.argv[2])\n\
                  sys.stdout.buffer.write(AESGCM(bytes.fromhex(sys.argv[1])).decrypt(blob[:12], blob[12:], None))\n";
    let o = Command::new("python3").args(["-c", script, key_hex, b64]).output().ok()?;
    o.status.success().then_some(o.stdout)
}

fn openssl_pin(ca: &Path) -> String {
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl x509 -in {} -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -hex",
            ca.display()
        ))
        .output()
        .unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    format!("sha256:{}", text.trim().rsplit(' ').next().unwrap())
}

#[test]
fn init_upload_certs_end_to_end() {
    if !require_tool("etcd") || !require_tool("ip") || !require_tool("openssl") || !require_tool("python3") {
        return;
    }
    let api = FakeApi::new();
    let tn = TestNode::start("init", "cp1", &[ADDRESS], &api, true);
    let (node, ns, standin) = (&tn.node, &tn.ns, &tn.standin);
    let cfg = &tn.config(&config("v1.28.7"));

    let run = tn.kbinit(&["init", "--config", cfg, "--upload-certs", "--ignore-preflight-errors=all"]);
    assert_eq!(
        run.code,
        0,
        "init failed\nstdout:\n{}\nstderr:\n{}\nstand-in: {:?}\netcd:\n{}",
        run.stdout,
        run.stderr,
        standin.events(),
        standin.etcd_log()
    );
    assert!(run.stdout.contains("[apiclient] All control plane components are healthy after"), "{}", run.stdout);
    assert!(run.stdout.contains("Your Kubernetes control-plane has initialized successfully!"));
    // real etcd runs from the rendered manifest with kbinit's certificates
    assert!(standin.etcd_args().iter().any(|a| a == &format!("--advertise-client-urls=https://{ADDRESS}:2379")));
    let pki = node.path("/etc/kubernetes/pki");
    let etcdctl = ns
        .command("etcdctl")
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints=https://{ADDRESS}:2379"))
        .arg(format!("--cacert={}", pki.join("etcd/ca.crt").display()))
        .arg(format!("--cert={}", pki.join("etcd/healthcheck-client.crt").display()))
        .arg(format!("--key={}", pki.join("etcd/healthcheck-client.key").display()))
        .args(["member", "list"])
        .output()
        .unwrap();
    let members = String::from_utf8_lossy(&etcdctl.stdout);
    assert!(members.contains(&format!("started, cp1, https://{ADDRESS}:2380")), "{members}{}", standin.etcd_log());

    // every object the dry-run of the same input lists is in the store, field by field
    let dry = Node::new();
    dry.put("/kbinit.yaml", config("v1.28.7").as_bytes());
    let dry_cfg = dry.path("/kbinit.yaml");
    let dry_run = dry
        .kbinit(&[
            "init",
            "--dry-run",
            "--upload-certs",
            "--ignore-preflight-errors=all",
            "--config",
            dry_cfg.to_str().unwrap(),
        ])
        .ok();
    let wanted = dry_run_objects(&dry_run.stdout);
    assert!(wanted.len() >= 30, "{} objects in the dry run", wanted.len());
    for mut want in wanted {
        let kind = want["kind"].as_str().unwrap().to_string();
        let name = want.pointer("/metadata/name").and_then(Value::as_str).unwrap().to_string();
        // random per run: token ids and secrets, expirations, ciphertexts, the CA in cluster-info, owner uid
        if kind == "Secret" && name.starts_with("bootstrap-token-") {
            continue; // checked below through the tokens the run printed
        }
        if let Some(m) = want.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("creationTimestamp");
            m.remove("ownerReferences");
            m.remove("resourceVersion"); // the server assigns its own
            if kind.starts_with("Cluster") {
                m.remove("namespace"); // kubeadm's stray namespace on kubeadm:get-nodes; the server drops it
            }
        }
        if let Some(t) = want.pointer_mut("/spec/template/metadata").and_then(Value::as_object_mut) {
            t.remove("creationTimestamp");
        }
        if name == "kubeadm-certs" || name == "cluster-info" {
            want.as_object_mut().unwrap().remove("data");
        }
        let got = api.object(&path_of(&want)).unwrap_or_else(|| panic!("{kind} {name} is not in the store"));
        contains(&got, &want, &format!("{kind} {name}")).unwrap();
    }
    // the node: labelled, tainted, annotated
    let cp1 = api.object("/api/v1/nodes/cp1").unwrap();
    assert_eq!(cp1.pointer("/metadata/labels/node-role.kubernetes.io~1control-plane"), Some(&Value::from("")));
    assert_eq!(cp1.pointer("/spec/taints/0/key"), Some(&Value::from("node-role.kubernetes.io/control-plane")));
    assert_eq!(
        cp1.pointer("/metadata/annotations/kubeadm.alpha.kubernetes.io~1cri-socket"),
        Some(&Value::from("unix:///run/containerd/containerd.sock"))
    );
    // the printed bootstrap token exists with kubeadm's data; cluster-info was signed for it by the signer
    let token = run.stdout.lines().find_map(|l| l.strip_prefix("[bootstrap-token] Using token: ")).unwrap().to_string();
    let (id, secret) = token.split_once('.').unwrap();
    let token_secret = api.object(&format!("/api/v1/namespaces/kube-system/secrets/bootstrap-token-{id}")).unwrap();
    let b64 = |s: &str| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, s);
    assert_eq!(token_secret.pointer("/data/token-secret"), Some(&Value::from(b64(secret))));
    assert_eq!(token_secret.pointer("/data/usage-bootstrap-signing"), Some(&Value::from(b64("true"))));
    std::thread::sleep(Duration::from_millis(500)); // the signer's loop runs every 100 ms
    let cluster_info = api.object("/api/v1/namespaces/kube-public/configmaps/cluster-info").unwrap();
    let kubeconfig = cluster_info.pointer("/data/kubeconfig").and_then(Value::as_str).unwrap();
    assert!(kubeconfig.contains(&format!("server: https://{ADDRESS}:6443")));
    let jws = cluster_info.pointer(&format!("/data/jws-kubeconfig-{id}")).and_then(Value::as_str).unwrap();
    kbinit_phases::jws::verify_detached(kubeconfig.as_bytes(), jws, id, secret).unwrap();

    // kubeadm-certs: decrypted by Python's cryptography with the printed key, byte for byte the files on disk
    let key =
        run.stdout.lines().skip_while(|l| *l != "[upload-certs] Using certificate key:").nth(1).unwrap().to_string();
    let certs = api.object("/api/v1/namespaces/kube-system/secrets/kubeadm-certs").unwrap();
    let owner = certs.pointer("/metadata/ownerReferences/0/name").and_then(Value::as_str).unwrap();
    let owner_secret = api.object(&format!("/api/v1/namespaces/kube-system/secrets/{owner}")).unwrap();
    assert_eq!(certs.pointer("/metadata/ownerReferences/0/uid"), owner_secret.pointer("/metadata/uid"));
    let files = [
        ("ca.crt", "ca.crt"),
        ("ca.key", "ca.key"),
        ("front-proxy-ca.crt", "front-proxy-ca.crt"),
        ("front-proxy-ca.key", "front-proxy-ca.key"),
        ("sa.key", "sa.key"),
        ("sa.pub", "sa.pub"),
        ("etcd-ca.crt", "etcd/ca.crt"),
        ("etcd-ca.key", "etcd/ca.key"),
    ];
    let data = certs["data"].as_object().unwrap();
    assert_eq!(data.len(), files.len(), "{:?}", data.keys().collect::<Vec<_>>());
    for (k, file) in files {
        let plain = python_decrypt(&key, data[k].as_str().unwrap()).unwrap_or_else(|| panic!("{k} does not decrypt"));
        assert_eq!(plain, std::fs::read(pki.join(file)).unwrap(), "{k}");
    }
    let wrong = format!("{:064x}", 7);
    assert!(python_decrypt(&wrong, data["ca.key"].as_str().unwrap()).is_none(), "a wrong key must not decrypt");

    // token create --print-join-command: the pin openssl computes
    let created = tn.kbinit(&["token", "create", "--print-join-command"]);
    assert_eq!(created.code, 0, "{}{}", created.stdout, created.stderr);
    let pin = openssl_pin(&pki.join("ca.crt"));
    let line = created.stdout.trim_end_matches('\n');
    assert!(line.starts_with(&format!("kbinit join {ADDRESS}:6443 --token ")), "{line}");
    assert!(line.ends_with(&format!("--discovery-token-ca-cert-hash {pin} ")), "{line} vs {pin}");
    let new_token = line.split_whitespace().nth(4).unwrap().to_string();
    let listed = tn.kbinit(&["token", "list"]);
    assert!(listed.stdout.contains(&new_token) && listed.stdout.contains(&token), "{}", listed.stdout);

    // the new token's rights, over TLS from this process (a listener on the host's loopback, same store)
    let tls = ServingTls {
        cert_pem: std::fs::read_to_string(pki.join("apiserver.crt")).unwrap(),
        key_pem: std::fs::read_to_string(pki.join("apiserver.key")).unwrap(),
        client_ca_pem: std::fs::read_to_string(pki.join("ca.crt")).unwrap(),
    };
    let local = api.serve("127.0.0.1:0".parse().unwrap(), tls);
    let ca_der = {
        let pem = std::fs::read(pki.join("ca.crt")).unwrap();
        x509_parser::pem::parse_x509_pem(&pem).unwrap().1.contents
    };
    let client = |token: Option<&str>| {
        let mut c = kube::Config::new(local.url().parse().unwrap());
        c.root_cert = Some(vec![ca_der.clone()]);
        c.tls_server_name = Some("kubernetes".into());
        if let Some(t) = token {
            c.auth_info.token = Some(t.to_string().into());
        }
        kbinit::api::Cluster::from_kube_config(c, Duration::from_secs(2)).unwrap()
    };
    let anonymous = client(None);
    let bootstrap = client(Some(&new_token));
    use kbinit_phases::api::ResourceType;
    let cm = ResourceType::of::<k8s_openapi::api::core::v1::ConfigMap>();
    let secrets = ResourceType::of::<k8s_openapi::api::core::v1::Secret>();
    assert!(anonymous.get(&cm, Some("kube-public"), "cluster-info").unwrap().is_some());
    assert_eq!(anonymous.list(&secrets, Some("kube-system"), "").unwrap_err().code(), Some(403));
    assert_eq!(bootstrap.list(&secrets, Some("kube-system"), "").unwrap_err().code(), Some(403));
    assert!(bootstrap.get(&secrets, Some("kube-system"), "kubeadm-certs").unwrap().is_some());
    assert!(bootstrap.get(&cm, Some("kube-system"), "kubeadm-config").unwrap().is_some());
    let csrs = ResourceType {
        group: "certificates.k8s.io",
        version: "v1",
        plural: "certificatesigningrequests",
        kind: "CertificateSigningRequest",
        namespaced: false,
    };
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(rcgen::DnType::OrganizationName, "system:nodes");
    params.distinguished_name.push(rcgen::DnType::CommonName, "system:node:worker9");
    let csr_pem = params.serialize_request(&key).unwrap().pem().unwrap();
    let csr = serde_json::json!({
        "apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
        "metadata": { "name": "node-csr-worker9" },
        "spec": { "request": b64(&csr_pem), "signerName": "kubernetes.io/kube-apiserver-client-kubelet",
                  "usages": ["digital signature", "client auth"] },
    });
    bootstrap.create(&csrs, None, &csr).unwrap();

    // re-running phases converges
    for phase in [
        &["init", "phase", "upload-config", "all"][..],
        &["init", "phase", "bootstrap-token"],
        &["init", "phase", "mark-control-plane"],
        &["init", "phase", "addon", "all"],
        &["init", "phase", "kubelet-finalize", "all"],
        &["init", "phase", "show-join-command"],
    ] {
        let mut args = phase.to_vec();
        args.extend(["--config", cfg]);
        let again = tn.kbinit(&args);
        assert_eq!(again.code, 0, "{phase:?} again\n{}{}", again.stdout, again.stderr);
    }
    // a live run's --output jsonl reports each API call with its outcome: create refused, then update
    let live = tn.kbinit(&["init", "phase", "upload-config", "kubeadm", "--output", "jsonl", "--config", cfg]);
    assert_eq!(live.code, 0, "{}{}", live.stdout, live.stderr);
    let calls: Vec<Value> = live
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["event"] == "api" && e["name"] == "kubeadm-config")
        .collect();
    assert_eq!(calls[0]["verb"], "CREATE", "{calls:?}");
    assert_eq!(calls[0]["code"], 409, "{calls:?}");
    assert!(calls.iter().any(|e| e["verb"] == "UPDATE" && e["status"] == "ok"), "{calls:?}");
    let again = tn.kbinit(&["init", "phase", "upload-certs", "--upload-certs", "--config", cfg]);
    assert_eq!(again.code, 0, "upload-certs again\n{}{}", again.stdout, again.stderr);
    let new_key = again.stdout.lines().skip_while(|l| *l != "[upload-certs] Using certificate key:").nth(1).unwrap();
    let certs = api.object("/api/v1/namespaces/kube-system/secrets/kubeadm-certs").unwrap();
    let ca = python_decrypt(new_key, certs.pointer("/data/ca.crt").and_then(Value::as_str).unwrap()).unwrap();
    assert_eq!(ca, std::fs::read(pki.join("ca.crt")).unwrap(), "re-uploaded with the new key");
    // no request of the whole run got a 5xx
    assert!(api.requests().iter().all(|r| r.status < 500));
}

/// The newest supported version (v1.37): the kubelet check, the per-component control-plane checks, admin.conf
/// without rights until `kubeadm:cluster-admins` is bound (created through super-admin.conf), no cri-socket
/// annotation (NodeLocalCRISocket), kubeadm-config stored as v1beta4; and what 1.37 adds: the
/// `kubeadm:kubelet-api-admin` binding, kube-proxy `mode: iptables`, the CRI socket only in
/// instance-config.yaml, and etcd started from a manifest with the etcd 3.6 flag names; and, with a
/// control-plane endpoint that does not answer yet, every call goes to this node's own API server (1.34+).
/// (The real API server here is v1.33.3 and cannot be run as the newest release: see the fake-api line above.)
#[test]
fn init_newest_end_to_end() {
    if !require_tool("etcd") || !require_tool("ip") {
        return;
    }
    let api = FakeApi::new();
    let version = crate::support::nodes::testnode::newest_version();
    let tn = TestNode::start("initnew", "cp1", &[ADDRESS], &api, true);
    let standin = &tn.standin;
    // the control-plane endpoint is a load balancer not serving yet (nothing listens on 7443): from 1.34 init
    // asks this node's own API server for everything (kubeadm PR 138449), so it must not matter
    let cfg = &config(&version)
        .replace("kubeadm.k8s.io/v1beta3", "kubeadm.k8s.io/v1beta4")
        .replace(&format!("controlPlaneEndpoint: {ADDRESS}:6443"), &format!("controlPlaneEndpoint: {ADDRESS}:7443"));
    assert!(cfg.contains(":7443"), "{cfg}");
    let cfg = &tn.config(cfg);
    let run = tn.kbinit(&["init", "--config", cfg, "--ignore-preflight-errors=all"]);
    assert_eq!(
        run.code,
        0,
        "init failed\nstdout:\n{}\nstderr:\n{}\nstand-in: {:?}",
        run.stdout,
        run.stderr,
        standin.events()
    );
    for line in [
        &format!("[init] Using Kubernetes version: {version}"),
        "[kubelet-check] Waiting for a healthy kubelet at http://127.0.0.1:10248/healthz. This can take up to 4m0s",
        "[control-plane-check] Waiting for healthy control plane components. This can take up to 4m0s",
        &format!("[control-plane-check] Checking kube-apiserver at https://{ADDRESS}:6443/livez"),
        "[control-plane-check] Checking kube-controller-manager at https://127.0.0.1:10257/healthz",
        "[control-plane-check] Checking kube-scheduler at https://127.0.0.1:10259/livez",
        "[upload-certs] Skipping phase. Please see --upload-certs",
    ] {
        assert!(run.stdout.contains(line), "missing {line:?} in\n{}", run.stdout);
    }
    assert!(run.stdout.contains("[control-plane-check] kube-scheduler is healthy after"));
    // the binding that gives admin.conf its rights was created by super-admin (system:masters)
    let crb = api.object("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/kubeadm:cluster-admins").unwrap();
    assert_eq!(crb.pointer("/roleRef/name"), Some(&Value::from("cluster-admin")));
    let creators: Vec<_> = api
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/clusterrolebindings"))
        .map(|r| (r.user.clone(), r.status))
        .collect();
    assert_eq!(creators.first().map(|c| c.0.as_str()), Some("kubernetes-admin"), "{creators:?}");
    assert!(creators.iter().any(|(u, s)| u == "kubernetes-super-admin" && *s == 201), "{creators:?}");
    let cp1 = api.object("/api/v1/nodes/cp1").unwrap();
    assert!(cp1.pointer("/metadata/annotations/kubeadm.alpha.kubernetes.io~1cri-socket").is_none());
    let kc = api.object("/api/v1/namespaces/kube-system/configmaps/kubeadm-config").unwrap();
    let stored = kc.pointer("/data/ClusterConfiguration").and_then(Value::as_str).unwrap();
    assert!(
        stored.contains("apiVersion: kubeadm.k8s.io/v1beta4")
            && stored.contains(&format!("kubernetesVersion: {version}")),
        "{stored}"
    );
    assert!(api.object("/apis/apps/v1/namespaces/kube-system/deployments/coredns").is_some());
    // 1.37: the API server's kubelet client (O = system:kubelet-api-admin) is bound to the kubelet API role
    let crb = api.object("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/kubeadm:kubelet-api-admin").unwrap();
    assert_eq!(crb.pointer("/roleRef/name"), Some(&Value::from("system:kubelet-api-admin")));
    assert_eq!(crb.pointer("/subjects/0/name"), Some(&Value::from("system:kubelet-api-admin")));
    let proxy = api.object("/api/v1/namespaces/kube-system/configmaps/kube-proxy").unwrap();
    let conf = proxy.pointer("/data/config.conf").and_then(Value::as_str).unwrap();
    assert!(conf.lines().any(|l| l == "mode: iptables"), "{conf}");
    let node = &tn.node;
    assert_eq!(
        node.read_str("/var/lib/kubelet/instance-config.yaml"),
        "containerRuntimeEndpoint: \"unix:///run/containerd/containerd.sock\"\n"
    );
    assert!(!node.read_str("/var/lib/kubelet/kubeadm-flags.env").contains("--container-runtime-endpoint"));
    let etcd = standin.etcd_args();
    assert!(etcd.iter().any(|a| a == "--feature-gates=InitialCorruptCheck=true"), "{etcd:?}");
    // admin.conf itself still names the control-plane endpoint, as kubeadm writes it
    assert!(node.read_str("/etc/kubernetes/admin.conf").contains(&format!("server: https://{ADDRESS}:7443")));
}

/// wait-control-plane that times out names the component, its URL and its last answer, and prints kubeadm's
/// troubleshooting hints, instead of "timed out waiting for the condition".
#[test]
fn wait_control_plane_timeout_names_the_component() {
    if !require_tool("ip") {
        return;
    }
    // a node whose kubelet never runs anything: no kubelet config, no manifests are written
    let api = FakeApi::new();
    let tn = TestNode::start("wait", "cp1", &[ADDRESS], &api, false);
    let text = config("v1.28.7")
        .replace("controlPlaneEndpoint:", "apiServer:\n  timeoutForControlPlane: 2s\ncontrolPlaneEndpoint:");
    let cfg = &tn.config(&text);
    for phase in [&["certs", "all"][..], &["kubeconfig", "admin"]] {
        let mut args = vec!["init", "phase"];
        args.extend_from_slice(phase);
        args.extend(["--config", cfg]);
        assert_eq!(tn.kbinit(&args).code, 0);
    }
    let run = tn.kbinit(&["init", "phase", "wait-control-plane", "--config", cfg]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("This can take up to 2s"), "{}", run.stdout);
    assert!(
        run.stderr.contains(&format!(
            "kube-apiserver at https://{ADDRESS}:6443/healthz is not healthy after 2s: last answer:"
        )) && run.stderr.contains("onnection refused"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("the kubelet at http://127.0.0.1:10248/healthz is not healthy either"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("'journalctl -xeu kubelet'"), "{}", run.stderr);
    assert!(!run.stderr.contains("timed out waiting for the condition"));
}
