//! `kbinit init --dry-run --upload-certs` with kubeadm's own dry-run input, compared with what kubeadm v1.28.7
//! printed for it (../shared/reference/kubeadm-1.28.7/init-dry-run.txt): the same API calls in the same order,
//! on the same resources and API groups, with the same object kinds, names and namespaces; every attached object
//! without random content equal field by field; nothing sent anywhere (there is no cluster).

use serde_json::Value;

use crate::support::{Node, reference};

/// One API call as a dry-run prints it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Call {
    pub(crate) verb: String,
    pub(crate) resource: String,
    pub(crate) group: String,
    /// `Resource name:` line, or the attached object's metadata.name.
    pub(crate) name: String,
    pub(crate) namespace: String,
    pub(crate) kind: String,
    pub(crate) body: Option<Value>,
}

/// Parses every `[dryrun] Would perform action …` block with its name line and attached object or patch.
pub(crate) fn calls(text: &str) -> Vec<Call> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<Call> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        i += 1;
        if let Some(rest) = l.strip_prefix("[dryrun] Would perform action ") {
            // VERB on resource "x" in API group "g"
            let verb = rest.split_whitespace().next().unwrap().to_string();
            let quoted: Vec<&str> = rest.split('"').collect();
            out.push(Call {
                verb,
                resource: quoted[1].to_string(),
                group: quoted[3].to_string(),
                name: String::new(),
                namespace: String::new(),
                kind: String::new(),
                body: None,
            });
        } else if let Some(n) = l.strip_prefix("[dryrun] Resource name: ") {
            out.last_mut().unwrap().name = n.trim_matches('"').to_string();
        } else if let Some(rest) = l.strip_prefix("[dryrun] Resource name \"") {
            // kubeadm 1.32+: `Resource name "cp1", namespace ""`
            let c = out.last_mut().unwrap();
            let mut parts = rest.split('"');
            c.name = parts.next().unwrap_or_default().to_string();
            c.namespace = parts.nth(1).unwrap_or_default().to_string();
        } else if l == "[dryrun] Attached object:" || l == "[dryrun] Attached patch:" {
            // tab-indented through kubeadm 1.31; from 1.32 the object follows as it is, up to a blank line
            let tabbed = lines.get(i).is_some_and(|n| n.starts_with('\t'));
            let mut block = String::new();
            while i < lines.len()
                && if tabbed { lines[i].starts_with('\t') } else { !lines[i].is_empty() && !lines[i].starts_with('[') }
            {
                block.push_str(if tabbed { &lines[i][1..] } else { lines[i] });
                block.push('\n');
                i += 1;
            }
            let v: Value = if l.ends_with("patch:") {
                serde_json::from_str(&block).unwrap()
            } else {
                kbinit_phases::go_format::yaml::from_yaml(&block).unwrap()
            };
            let c = out.last_mut().unwrap();
            if let Some(n) = v.pointer("/metadata/name").and_then(Value::as_str) {
                c.name = n.to_string();
            }
            c.namespace = v.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or_default().to_string();
            c.kind = v.get("kind").and_then(Value::as_str).unwrap_or("patch").to_string();
            c.body = Some(v);
        }
    }
    out
}

/// Token ids are random: replace each distinct id by its order of appearance, everywhere in the calls.
pub(crate) fn normalize_tokens(calls: &mut [Call]) {
    let mut ids: Vec<String> = Vec::new();
    for c in calls.iter_mut() {
        if let Some(id) = c.name.strip_prefix("bootstrap-token-") {
            let id = id.to_string();
            if !ids.contains(&id) {
                ids.push(id.clone());
            }
            let n = ids.iter().position(|x| *x == id).unwrap();
            c.name = format!("bootstrap-token-#{n}");
        }
    }
}

/// Values that differ on every run: token data, expirations, the kubeadm-certs ciphertexts (kubeadm's are null
/// in its dry-run), the owner's token name.
pub(crate) fn deterministic(body: &Value) -> Option<Value> {
    let mut b = body.clone();
    let kind = b.get("kind").and_then(Value::as_str).unwrap_or_default();
    if kind == "Secret" {
        let data = b.get_mut("data")?.as_object_mut()?;
        for v in data.values_mut() {
            *v = Value::Null;
        }
        for p in ["/metadata/ownerReferences/0/name", "/metadata/name"] {
            if let Some(v) = b.pointer_mut(p).filter(|v| v.as_str().is_some_and(|s| s.starts_with("bootstrap-token-")))
            {
                *v = Value::Null;
            }
        }
    }
    // cluster-info carries this run's CA
    if let Some(Value::String(kc)) = b.pointer_mut("/data/kubeconfig") {
        *kc = kc
            .lines()
            .map(|l| {
                if l.trim_start().starts_with("certificate-authority-data:") {
                    "    certificate-authority-data: <CA>"
                } else {
                    l
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
    }
    Some(b)
}

#[test]
fn dry_run_makes_kubeadms_api_calls_in_kubeadms_order() {
    let reference_text = match std::fs::read_to_string(reference("init-dry-run.txt")) {
        Ok(t) => t,
        Err(_) => {
            eprintln!("skipping: ../shared/reference/kubeadm-1.28.7/init-dry-run.txt is not there");
            return;
        }
    };
    let node = Node::new();
    let config = reference("init-dry-run-config.yaml");
    let run = node
        .kbinit(&[
            "init",
            "--dry-run",
            "--upload-certs",
            "--ignore-preflight-errors=all",
            "--config",
            config.to_str().unwrap(),
        ])
        .ok();

    let mut want = calls(&reference_text);
    let mut got = calls(&run.stdout);
    assert_eq!(want.len(), 40, "the reference has 40 API calls");
    normalize_tokens(&mut want);
    normalize_tokens(&mut got);
    let key = |c: &Call| {
        (c.verb.clone(), c.resource.clone(), c.group.clone(), c.kind.clone(), c.namespace.clone(), c.name.clone())
    };
    let want_keys: Vec<_> = want.iter().map(key).collect();
    let got_keys: Vec<_> = got.iter().map(key).collect();
    for (i, (w, g)) in want_keys.iter().zip(&got_keys).enumerate() {
        assert_eq!(w, g, "call #{i} differs");
    }
    assert_eq!(want_keys.len(), got_keys.len(), "number of API calls");

    // objects and patches equal where kubeadm's values are deterministic
    for (w, g) in want.iter().zip(&got) {
        match (&w.body, &g.body) {
            (Some(wb), Some(gb)) => {
                assert_eq!(deterministic(gb), deterministic(wb), "{} {} {}", w.verb, w.resource, w.name);
            }
            (None, None) => {}
            _ => panic!("{} {} {}: one side has an attached object, the other not", w.verb, w.resource, w.name),
        }
    }

    // the certificate key of the config is the one printed, and the join commands carry it and the CA pin
    let key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    assert!(run.stdout.contains(&format!("[upload-certs] Using certificate key:\n{key}\n")), "{}", run.stdout);
    assert!(run.stdout.contains(&format!("--control-plane --certificate-key {key}")));
    let ca = std::fs::read(std::path::Path::new(&dry_run_dir(&run.stdout)).join("etc/kubernetes/pki/ca.crt")).unwrap();
    let pin = kbinit_phases::certs::ca_cert_hash(&ca).unwrap();
    assert!(run.stdout.contains(&format!("--discovery-token-ca-cert-hash {pin}")), "{}", run.stdout);
    assert!(run.stdout.contains("Your Kubernetes control-plane has initialized successfully!"));
    // nothing written under the root: a dry run changes nothing on the node
    assert!(!node.path("/etc/kubernetes/admin.conf").exists());
}

/// The directory a dry run rendered into (from its first `[dryrun]` line).
fn dry_run_dir(stdout: &str) -> String {
    let line = stdout.lines().find(|l| l.contains("every file is rendered into")).unwrap();
    line.rsplit('"').nth(1).unwrap().to_string()
}
