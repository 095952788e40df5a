//! The bad-input corpus (tests/corpus/bad-input/<case>/): each case is a config file and/or flags that kbinit
//! must refuse with exit code 3, a message naming the field, and a root left exactly as it was.

use crate::support::{Node, repo, snapshot};

#[test]
fn every_malformed_input_is_refused_before_anything_changes() {
    let dir = repo().join("tests/corpus/bad-input");
    let mut cases: Vec<_> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    cases.sort();
    assert!(cases.len() >= 30, "the corpus holds {} cases, want at least 30", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let node = Node::new();
        let before = snapshot(node.root());
        let mut args: Vec<String> = vec!["init".into()];
        let extra = std::fs::read_to_string(case.join("args")).unwrap_or_default();
        args.extend(extra.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from));
        let cfg = case.join("config.yaml");
        if cfg.exists() {
            args.push("--config".into());
            args.push(cfg.display().to_string());
        }
        let expect = std::fs::read_to_string(case.join("expect")).unwrap();
        let expect = expect.trim();
        let r = node.kbinit(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        if r.code != 3 {
            failures.push(format!("{name}: exit {} (want 3)\n{}{}", r.code, r.stdout, r.stderr));
        } else if !r.stderr.contains(expect) {
            failures.push(format!("{name}: message does not name {expect:?}: {}", r.stderr.trim()));
        }
        if snapshot(node.root()) != before {
            failures.push(format!("{name}: the root changed"));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

/// `kbinit join --config` with configs kubeadm's `ValidateJoinConfiguration` refuses: exit 3, the field named, the
/// root untouched (the join side of the parity table in phases/src/config/validate/parity/).
#[test]
fn malformed_join_configs_are_refused_before_anything_changes() {
    let discovery = "discovery:\n  bootstrapToken:\n    token: abcdef.0123456789abcdef\n    apiServerEndpoint: 10.0.0.10:6443\n    unsafeSkipCAVerification: true\n";
    let cases = [
        (
            "discovery:\n  file:\n    kubeConfigPath: http://lb.example.com/cluster-info.yaml\n".to_string(),
            "discovery.file.kubeConfigPath",
        ),
        (format!("{discovery}nodeRegistration:\n  criSocket: tcp://10.0.0.1:2375\n"), "nodeRegistration.criSocket"),
        (format!("{discovery}caCertPath: /etc/kubernetes/pki/ca.pem\n"), "caCertPath"),
        (format!("{discovery}controlPlane:\n  certificateKey: \"0123\"\n"), "controlPlane.certificateKey"),
        (
            format!("{discovery}nodeRegistration:\n  kubeletExtraArgs:\n  - name: \"\"\n    value: x\n"),
            "nodeRegistration.kubeletExtraArgs",
        ),
    ];
    let mut failures = Vec::new();
    for (body, field) in cases {
        let node = Node::new();
        let before = snapshot(node.root());
        let inputs = tempfile::tempdir().unwrap();
        let path = inputs.path().join("join-config.yaml");
        std::fs::write(&path, format!("apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\n{body}")).unwrap();
        let r = node.kbinit(&["join", "--config", &path.display().to_string()]);
        if r.code != 3 || !r.stderr.contains(field) {
            failures.push(format!("{field}: exit {} (want 3 naming it): {}", r.code, r.stderr.trim()));
        }
        if snapshot(node.root()) != before {
            failures.push(format!("{field}: the root changed"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
