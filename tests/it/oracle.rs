//! Real kubeadm as the oracle: the same configuration rendered by kubeadm (v1.28.7, v1.30.0, v1.31.2, v1.33.3
//! from ../shared/k8s) and by kbinit, compared file by file as the goldens observe them (manifests and kubelet
//! files verbatim; certificates as openssl's text without serials, dates and key bytes; kubeconfigs with
//! credentials redacted and the client subject shown; keys by type; modes). kubeadm runs its node-side init
//! phases in a private mount namespace whose /etc/kubernetes and /var/lib/kubelet are bound to a scratch root,
//! so the host is untouched.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use crate::golden::{observe, render};
use crate::support::realk8s::bins;
use crate::support::{Node, require_tool};

/// The node directories kubeadm writes to must exist on the host as mount points; tests that make them (and
/// remove them again when they made them) take this lock.
pub static MOUNT_POINTS: Mutex<()> = Mutex::new(());

const PHASES: [&str; 5] = ["certs all", "kubeconfig all", "etcd local", "control-plane all", "kubelet-start"];

/// Runs real kubeadm `release` with `commands` (each a kubeadm argument string; `$CFG` is the configuration file)
/// in a private mount namespace whose /etc/kubernetes and /var/lib/kubelet are the returned node root's; returns
/// the root and what kubeadm printed on stdout.
pub fn kubeadm_run(release: &str, config: &str, commands: &[&str]) -> (Node, String) {
    require_tool("unshare");
    let kubeadm = bins::binary(release, "kubeadm");
    let node = Node::new();
    for d in ["etc/kubernetes", "var/lib/kubelet"] {
        std::fs::create_dir_all(node.root().join(d)).unwrap();
    }
    let scratch = tempfile::tempdir().unwrap();
    let cfg = scratch.path().join("input.yaml");
    std::fs::write(&cfg, config).unwrap();
    let log = scratch.path().join("kubeadm.log");
    let mut script = String::from("set -e\nmount --bind \"$ROOT/etc/kubernetes\" /etc/kubernetes\n");
    script.push_str("mount --bind \"$ROOT/var/lib/kubelet\" /var/lib/kubelet\n");
    for c in commands {
        script.push_str(&format!("\"$KUBEADM\" {c} 2>>\"$LOG\"\n"));
    }
    let _lock = MOUNT_POINTS.lock().unwrap_or_else(|e| e.into_inner());
    let made: Vec<&str> = ["/etc/kubernetes", "/var/lib/kubelet"]
        .into_iter()
        .filter(|d| !Path::new(d).exists())
        .inspect(|d| std::fs::create_dir_all(d).unwrap())
        .collect();
    let out = std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .env("KUBEADM", &kubeadm)
        .env("CFG", &cfg)
        .env("ROOT", node.root())
        .env("LOG", &log)
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    for d in made.iter().rev() {
        let _ = std::fs::remove_dir(d);
    }
    let errors = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(out.status.success(), "kubeadm {release} failed: {}\n{errors}", String::from_utf8_lossy(&out.stderr));
    (node, String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Renders `config` with real kubeadm `release`'s node-side init phases into a fresh node root.
pub fn kubeadm_render(release: &str, config: &str) -> Node {
    let commands: Vec<String> = PHASES.iter().map(|p| format!("init phase {p} --config \"$CFG\" >/dev/null")).collect();
    let commands: Vec<&str> = commands.iter().map(String::as_str).collect();
    kubeadm_run(release, config, &commands).0
}

/// kbinit's render of the same configuration.
pub fn kbinit_render(config: &str) -> Node {
    let node = Node::new();
    let cfg = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(cfg.path(), config).unwrap();
    render(&node, cfg.path());
    node
}

/// Every difference between the two renders: one line naming the file, then a unified-style excerpt.
pub fn differences(kubeadm: &Node, kbinit: &Node) -> BTreeMap<String, String> {
    let theirs = observe(kubeadm);
    let ours = observe(kbinit);
    let mut out = BTreeMap::new();
    for f in theirs.keys().chain(ours.keys()) {
        match (theirs.get(f), ours.get(f)) {
            (Some(a), Some(b)) if a == b => {}
            (Some(a), Some(b)) => {
                let lines: Vec<String> = diff_lines(a, b);
                out.insert(f.clone(), lines.join("\n"));
            }
            (Some(_), None) => {
                out.insert(f.clone(), "kubeadm writes it, kbinit does not".into());
            }
            (None, Some(_)) => {
                out.insert(f.clone(), "kbinit writes it, kubeadm does not".into());
            }
            (None, None) => {}
        }
    }
    out
}

/// The lines only one side has, marked `-` (kubeadm) and `+` (kbinit).
fn diff_lines(theirs: &str, ours: &str) -> Vec<String> {
    let a: Vec<&str> = theirs.lines().collect();
    let b: Vec<&str> = ours.lines().collect();
    let mut out: Vec<String> = a.iter().filter(|l| !b.contains(l)).map(|l| format!("- {l}")).collect();
    out.extend(b.iter().filter(|l| !a.contains(l)).map(|l| format!("+ {l}")));
    if out.is_empty() {
        out.push("(the same lines in another order)".into());
    }
    out
}

/// A patches directory with a patch of every node target and type, kubeadm's file naming (target, optional
/// suffix, `+type`, extension): strategic, merge and JSON patches on the four manifests and the kubelet
/// configuration, two files for one target applied in file-name order, the CoreDNS Deployment (a target from
/// 1.31), and a file of an unknown target that both skip with a warning.
fn patches_dir() -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("oracle-patches");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in [
        ("etcd.yaml", "metadata:\n  labels:\n    patched: etcd\n"),
        ("kube-apiserver0+merge.yaml", "metadata:\n  annotations:\n    patched: first\n"),
        ("kube-apiserver1+merge.json", "{\"metadata\": {\"annotations\": {\"patched\": \"second\"}}}"),
        ("kube-controller-manager+json.yaml", "- op: add\n  path: /spec/containers/0/command/-\n  value: --v=4\n"),
        (
            "kube-scheduler+strategic.yaml",
            "spec:\n  containers:\n  - name: kube-scheduler\n    resources:\n      requests:\n        cpu: 200m\n",
        ),
        ("kubeletconfiguration+merge.yaml", "maxPods: 123\nserializeImagePulls: false\n"),
        // 1.31+: the CoreDNS Deployment init's dry run would create carries it; 1.28 and 1.30 skip the file
        ("corednsdeployment+merge.yaml", "metadata:\n  labels:\n    patched: coredns\n"),
        ("unknown-target.yaml", "a: b\n"),
    ] {
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir
}

/// The corpus: (case name, configuration) for `release`, in the config API that release reads best (v1beta3
/// before 1.31, v1beta4 from 1.31).
pub fn corpus(release: &str) -> Vec<(&'static str, String)> {
    let minor: u32 = release.split('.').nth(1).unwrap().parse().unwrap();
    let v4 = minor >= 31;
    let api = if v4 { "kubeadm.k8s.io/v1beta4" } else { "kubeadm.k8s.io/v1beta3" };
    let init = |extra: &str| {
        format!(
            "apiVersion: {api}\nkind: InitConfiguration\nlocalAPIEndpoint:\n  advertiseAddress: 10.0.0.10\n  bindPort: 6443\n\
             nodeRegistration:\n  name: cp1\n  criSocket: unix:///run/containerd/containerd.sock\n{extra}"
        )
    };
    let cluster = |extra: &str| {
        format!(
            "---\napiVersion: {api}\nkind: ClusterConfiguration\nkubernetesVersion: {release}\n\
             controlPlaneEndpoint: lb.example.com:6443\n{extra}"
        )
    };
    let args = |pairs: &[(&str, &str)]| -> String {
        if v4 {
            pairs.iter().map(|(k, v)| format!("    - name: {k}\n      value: \"{v}\"\n")).collect()
        } else {
            pairs.iter().map(|(k, v)| format!("    {k}: \"{v}\"\n")).collect()
        }
    };
    let input = std::fs::read_to_string(crate::support::reference("input-config.yaml")).unwrap();
    let mut cases = vec![("reference", input.replace("v1.28.7", release))];
    cases.push((
        "ha-sans-extra-args",
        init("")
            + &cluster(&format!(
                "networking:\n  podSubnet: 10.244.0.0/16\napiServer:\n  certSANs: [lb.example.com, 10.0.0.100, api.internal]\n  extraArgs:\n{}controllerManager:\n  extraArgs:\n{}scheduler:\n  extraArgs:\n{}",
                args(&[("audit-log-maxage", "30"), ("enable-admission-plugins", "NodeRestriction,PodSecurity")]),
                args(&[("node-monitor-grace-period", "20s")]),
                args(&[("v", "2")]),
            )),
    ));
    cases.push((
        "external-etcd",
        init("")
            + &cluster(
                "etcd:\n  external:\n    endpoints: [https://10.0.0.20:2379, https://10.0.0.21:2379]\n    caFile: /etc/etcd/ca.crt\n    certFile: /etc/etcd/client.crt\n    keyFile: /etc/etcd/client.key\n",
            ),
    ));
    cases.push((
        "dual-stack",
        init("")
            + &cluster("networking:\n  podSubnet: 10.244.0.0/16,fd00:10:244::/56\n  serviceSubnet: 10.96.0.0/16,fd00:10:96::/112\n"),
    ));
    cases.push(("image-repository", init("") + &cluster("imageRepository: registry.example.com/k8s\n")));
    if v4 {
        cases.push((
            "ecdsa-validity",
            init("")
                + &cluster("encryptionAlgorithm: ECDSA-P256\ncertificateValidityPeriod: 4320h0m0s\ncaCertificateValidityPeriod: 43800h0m0s\n"),
        ));
    } else {
        cases.push(("ecdsa", init("") + &cluster("featureGates:\n  PublicKeysECDSA: true\n")));
    }
    cases.push(("patches", init(&format!("patches:\n  directory: {}\n", patches_dir().display())) + &cluster("")));
    if v4 {
        // kubespray's one kubeadm-config.yaml (its v1beta4 template): Init, Cluster, Upgrade, KubeProxy and Kubelet
        // configuration together, certificatesDir /etc/kubernetes/ssl, its extraArgs
        cases.push(("kubespray", crate::realk8s::kubespray::kubeadm_config("10.0.0.10", release)));
    }
    cases.push((
        "component-configs",
        init("")
            + &cluster("networking:\n  podSubnet: 10.244.0.0/16\n")
            + "---\napiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\nmaxPods: 250\nserializeImagePulls: false\nevictionHard:\n  memory.available: 200Mi\n---\napiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\n",
    ));
    cases
}

/// Differences kbinit keeps on purpose: (release minors it applies to, file or command, the differing line as
/// `diff_lines` shows it, why). Empty: kbinit writes what kubeadm writes.
const DELIBERATE: &[(std::ops::RangeInclusive<u32>, &str, &str, &str)] = &[];

fn deliberate(minor: u32, what: &str, line: &str) -> bool {
    DELIBERATE.iter().any(|(r, w, l, _)| r.contains(&minor) && what.ends_with(w) && *l == line)
}

/// Everything the corpus renders at `release`, by real kubeadm and by kbinit, and the commands' outputs: every
/// difference not in [`DELIBERATE`] fails the test, listed in full.
fn oracle(release: &str) {
    require_tool("openssl");
    let minor: u32 = release.split('.').nth(1).unwrap().parse().unwrap();
    let mut report = String::new();
    for (case, config) in corpus(release) {
        let theirs = kubeadm_render(release, &config);
        let ours = kbinit_render(&config);
        for (f, d) in differences(&theirs, &ours) {
            let left: Vec<&str> = d.lines().filter(|l| !deliberate(minor, &f, l)).collect();
            if !left.is_empty() {
                report.push_str(&format!("== {release} {case} {f}\n{}\n", left.join("\n")));
            }
        }
    }
    for args in [
        &["config", "images", "list", "--kubernetes-version", release][..],
        &["config", "print", "init-defaults"],
        &["config", "print", "join-defaults"],
    ] {
        // one kbinit serves every release: it is told which one, where kubeadm is that release
        let mut ours_args = args.to_vec();
        if args[1] == "print" {
            ours_args.extend(["--kubernetes-version", release]);
        }
        let theirs = {
            let o = std::process::Command::new(bins::binary(release, "kubeadm"))
                .args(args)
                .env_remove("KUBECONFIG")
                .output()
                .unwrap();
            assert!(o.status.success(), "kubeadm {args:?}: {}", String::from_utf8_lossy(&o.stderr));
            String::from_utf8_lossy(&o.stdout).into_owned()
        };
        let ours = crate::support::kbinit(&ours_args).ok().stdout;
        if theirs != ours {
            let what = args.join(" ");
            let left: Vec<String> =
                diff_lines(&theirs, &ours).into_iter().filter(|l| !deliberate(minor, &what, l)).collect();
            if !left.is_empty() {
                report.push_str(&format!("== {release} {what}\n{}\n", left.join("\n")));
            }
        }
    }
    assert!(report.is_empty(), "kbinit differs from kubeadm {release}:\n{report}");
}

#[test]
fn kubeadm_v1_28_7_is_matched() {
    oracle("v1.28.7");
}

#[test]
fn kubeadm_v1_30_0_is_matched() {
    oracle("v1.30.0");
}

#[test]
fn kubeadm_v1_31_2_is_matched() {
    oracle("v1.31.2");
}

#[test]
fn kubeadm_v1_33_3_is_matched() {
    oracle("v1.33.3");
}

/// The `[dryrun]` lines from upload-config to the closing summary (the cluster part; kbinit's own last line,
/// where the rendered files are, comes after the summary), bootstrap token ids blanked (random).
fn dry_run_lines(text: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| !l.starts_with("[upload-config]"))
        .take_while(|l| !l.starts_with("Your Kubernetes control-plane has initialized successfully"))
        .filter(|l| l.starts_with("[dryrun]"))
        .map(|l| match l.find("bootstrap-token-") {
            Some(at) => {
                let end = (at + "bootstrap-token-".len() + 6).min(l.len());
                format!("{}bootstrap-token-######{}", &l[..at], &l[end..])
            }
            None => l.to_string(),
        })
        .collect()
}

/// The API objects of `init --dry-run --upload-certs`: the same calls in the same order, each object equal where
/// kubeadm's values are deterministic (tokens, ciphertexts and the CA aside), for the corpus cases that change
/// cluster objects (`patches`: the CoreDNS Deployment patched from 1.31, the uploaded kubelet-config not).
fn dry_run_oracle(release: &str) {
    use crate::init_dryrun::{calls, deterministic, normalize_tokens};
    let minor: u32 = release.split('.').nth(1).unwrap().parse().unwrap();
    let mut report = String::new();
    for (case, config) in corpus(release) {
        if !matches!(
            case,
            "reference"
                | "ha-sans-extra-args"
                | "dual-stack"
                | "component-configs"
                | "image-repository"
                | "patches"
                | "kubespray"
        ) {
            continue;
        }
        let key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
        let config = config.replacen(
            "kind: InitConfiguration\n",
            &format!("kind: InitConfiguration\ncertificateKey: {key}\n"),
            1,
        );
        let (_, theirs) = kubeadm_run(
            release,
            &config,
            &["init --dry-run --upload-certs --ignore-preflight-errors=all --config \"$CFG\""],
        );
        let node = Node::new();
        let cfg = node.root().join("input.yaml");
        std::fs::write(&cfg, &config).unwrap();
        let ours = node
            .kbinit(&[
                "init",
                "--dry-run",
                "--upload-certs",
                "--ignore-preflight-errors=all",
                "--config",
                cfg.to_str().unwrap(),
            ])
            .ok()
            .stdout;
        // every line of the cluster part kubeadm's dry-run prints about its calls, in order
        let (wd, gd) = (dry_run_lines(&theirs), dry_run_lines(&ours));
        if wd != gd {
            report.push_str(&format!(
                "== {release} {case}: [dryrun] lines\n{}\n",
                diff_lines(&wd.join("\n"), &gd.join("\n")).join("\n")
            ));
        }
        let (mut want, mut got) = (calls(&theirs), calls(&ours));
        normalize_tokens(&mut want);
        normalize_tokens(&mut got);
        if minor >= 32 {
            // kubeadm 1.32's dry-run form (PR 126776): the fake client's lines, the made-up Node its reactors
            // answer a GET or PATCH with, unindented objects
            assert!(ours.contains("[dryrun] Resource name \""), "kbinit does not print 1.32's dry-run form");
        }
        let line = |c: &crate::init_dryrun::Call| {
            format!("{} {}/{} {} {}/{}", c.verb, c.group, c.resource, c.kind, c.namespace, c.name)
        };
        let (wl, gl): (Vec<String>, Vec<String>) = (want.iter().map(line).collect(), got.iter().map(line).collect());
        if wl != gl {
            report.push_str(&format!(
                "== {release} {case}: API calls\n{}\n",
                diff_lines(&wl.join("\n"), &gl.join("\n")).join("\n")
            ));
            continue;
        }
        for (w, g) in want.iter().zip(&got) {
            let (wb, gb) = (w.body.as_ref().and_then(deterministic), g.body.as_ref().and_then(deterministic));
            if wb != gb {
                let yaml = |b: &Option<serde_json::Value>| {
                    b.as_ref().map(kbinit_phases::go_format::yaml::to_yaml).unwrap_or_default()
                };
                report.push_str(&format!(
                    "== {release} {case}: {}\n{}\n",
                    line(w),
                    diff_lines(&yaml(&wb), &yaml(&gb)).join("\n")
                ));
            }
        }
    }
    assert!(report.is_empty(), "kbinit's cluster objects differ from kubeadm {release}'s:\n{report}");
}

#[test]
fn kubeadm_v1_28_7_cluster_objects_are_matched() {
    dry_run_oracle("v1.28.7");
}

#[test]
fn kubeadm_v1_30_0_cluster_objects_are_matched() {
    dry_run_oracle("v1.30.0");
}

#[test]
fn kubeadm_v1_31_2_cluster_objects_are_matched() {
    dry_run_oracle("v1.31.2");
}

#[test]
fn kubeadm_v1_33_3_cluster_objects_are_matched() {
    dry_run_oracle("v1.33.3");
}
