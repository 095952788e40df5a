//! `--patches <dir>` (kubeadm's `app/util/patches`): files named `target[suffix][+patchtype].extension`, with
//! target one of [`TARGETS`], patch type `strategic` (the default), `merge` or `json`, extension `json` or `yaml`,
//! applied in file-name order to what kbinit renders for that target (sheet §1.3).
//!
//! The strategic merge patch is the subset Kubernetes objects of these targets need: maps merge key by key,
//! `null` deletes a key, and lists whose items all carry a `name` (containers, volumes, env, volumeMounts) merge
//! item by item on it; any other list is replaced. `$patch` directives are not supported.

use serde_json::Value;

use crate::Error;

/// Every target kbinit knows, in kubeadm's order (`util/patches` knownTargets); [`known_targets`] says which a
/// release knows.
pub const TARGETS: [&str; 7] = [
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubeletconfiguration",
    "corednsdeployment",
    "kubeproxydaemonset",
];

/// The targets the kubeadm of `version` knows: the four manifests and the kubelet configuration; the CoreDNS
/// Deployment from 1.31; the kube-proxy DaemonSet from 1.37. A file for another target is skipped as kubeadm
/// skips it (`[patches] Ignoring file …: unknown target`).
pub fn known_targets(version: &crate::version::KubeVersion) -> Vec<&'static str> {
    TARGETS
        .into_iter()
        .filter(|t| match *t {
            "corednsdeployment" => version.patches_coredns_deployment(),
            "kubeproxydaemonset" => version.patches_kube_proxy_daemonset(),
            _ => true,
        })
        .collect()
}

/// How a patch is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// Strategic merge patch (the default).
    Strategic,
    /// JSON merge patch (RFC 7386).
    Merge,
    /// JSON patch (RFC 6902).
    Json,
}

impl PatchType {
    /// The content type kubeadm names in its `[patches]` line.
    pub fn mime(self) -> &'static str {
        match self {
            PatchType::Strategic => "application/strategic-merge-patch+json",
            PatchType::Merge => "application/merge-patch+json",
            PatchType::Json => "application/json-patch+json",
        }
    }
}

/// One patch file.
#[derive(Debug, Clone, PartialEq)]
pub struct Patch {
    /// The target it applies to.
    pub target: &'static str,
    /// Its type.
    pub kind: PatchType,
    /// Its body (a document, or a list of operations for JSON patches).
    pub body: Value,
    /// The file name, for messages.
    pub file: String,
}

/// Reads the patch files of a directory, given as (file name, content), for the kubeadm of `version`: files that
/// do not follow the naming scheme or name a target that release does not know, and empty files, are skipped
/// (the returned lines say which, in kubeadm's words); a known file that does not parse is an error.
pub fn parse_patch_files(
    files: &[(String, String)],
    version: &crate::version::KubeVersion,
) -> Result<(Vec<Patch>, Vec<String>), Error> {
    let known = known_targets(version);
    let mut sorted: Vec<&(String, String)> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut patches = Vec::new();
    let mut warnings = Vec::new();
    for (name, text) in sorted {
        let Some((stem, ext)) = name.rsplit_once('.') else {
            warnings.push(format!("[patches] Ignoring file {name:?}: it has no extension"));
            continue;
        };
        if !matches!(ext, "json" | "yaml") {
            warnings.push(format!("[patches] Ignoring file {name:?}: the extension must be json or yaml"));
            continue;
        }
        let (base, kind) = match stem.split_once('+') {
            None => (stem, PatchType::Strategic),
            Some((b, "strategic")) => (b, PatchType::Strategic),
            Some((b, "merge")) => (b, PatchType::Merge),
            Some((b, "json")) => (b, PatchType::Json),
            Some((_, other)) => {
                return Err(Error::invalid(
                    "--patches",
                    name,
                    format!("unknown patch type {other:?}: use strategic, merge or json"),
                ));
            }
        };
        let Some(target) = known.iter().find(|t| base.starts_with(**t)) else {
            warnings.push(format!(
                "[patches] Ignoring file {name:?}: unknown target, must be one of [{}]",
                known.join(" ")
            ));
            continue;
        };
        if text.trim().is_empty() {
            warnings.push(format!("[patches] Ignoring empty file: {name:?}"));
            continue;
        }
        let body =
            crate::go_format::yaml::from_yaml(text).map_err(|e| Error::invalid("--patches", name, e.to_string()))?;
        if kind == PatchType::Json && !body.is_array() {
            return Err(Error::invalid("--patches", name, "a json patch is a list of operations"));
        }
        patches.push(Patch { target, kind, body, file: name.clone() });
    }
    Ok((patches, warnings))
}

/// Applies every patch for `target` to `doc`, in order; returns kubeadm's line for each.
pub fn apply_patches(target: &str, doc: &mut Value, patches: &[Patch]) -> Result<Vec<String>, Error> {
    let mut lines = Vec::new();
    for p in patches.iter().filter(|p| p.target == target) {
        match p.kind {
            PatchType::Strategic => strategic(doc, &p.body),
            PatchType::Merge => merge_patch(doc, &p.body),
            PatchType::Json => json_patch(doc, &p.body).map_err(|e| Error::invalid("--patches", &p.file, e))?,
        }
        lines.push(format!("[patches] Applied patch of type {:?} to target {target:?}", p.kind.mime()));
    }
    Ok(lines)
}

/// The file steps of a phase with the patches applied to what they write for a patch target: the static Pod
/// manifests (`/etc/kubernetes/manifests/<target>.yaml`) and the kubelet's `config.yaml`
/// (`kubeletconfiguration`), each write preceded by kubeadm's `[patches]` lines. Other steps pass unchanged.
pub fn patch_steps(steps: Vec<crate::plan::Step>, patches: &[Patch]) -> Result<Vec<crate::plan::Step>, Error> {
    use crate::plan::Step;
    if patches.is_empty() {
        return Ok(steps);
    }
    let kubelet_config = crate::paths::join(crate::paths::KUBELET_DIR, "config.yaml");
    let mut out = Vec::with_capacity(steps.len());
    for step in steps {
        let Step::WriteFile { path, bytes, kind } = step else {
            out.push(step);
            continue;
        };
        let manifest = path
            .strip_prefix(crate::paths::MANIFESTS_DIR)
            .and_then(|rest| rest.strip_prefix('/'))
            .and_then(|f| f.strip_suffix(".yaml"))
            .filter(|t| MANIFEST_TARGETS.contains(t));
        let target = match manifest {
            Some(t) => t,
            None if path == kubelet_config => "kubeletconfiguration",
            None => {
                out.push(Step::WriteFile { path, bytes, kind });
                continue;
            }
        };
        if !patches.iter().any(|p| p.target == target) {
            out.push(Step::WriteFile { path, bytes, kind });
            continue;
        }
        let text = String::from_utf8(bytes).map_err(|_| Error::invalid("--patches", target, "not UTF-8 text"))?;
        let mut doc = crate::go_format::yaml::from_yaml(&text)?;
        let lines = apply_patches(target, &mut doc, patches)?;
        let patched = if manifest.is_some() {
            let pod: k8s_openapi::api::core::v1::Pod = serde_json::from_value(doc)
                .map_err(|e| Error::invalid("--patches", target, format!("the patched manifest is not a Pod: {e}")))?;
            crate::manifests::pod_yaml(&pod)?
        } else {
            crate::go_format::yaml::to_yaml(&doc)
        };
        out.extend(lines.into_iter().map(Step::Say));
        out.push(Step::WriteFile { path, bytes: patched.into_bytes(), kind });
    }
    Ok(out)
}

/// The cluster-phase writes with the addon patches applied: the CoreDNS Deployment (`corednsdeployment`) and
/// the kube-proxy DaemonSet (`kubeproxydaemonset`) are patched before they are sent, as kubeadm patches them
/// before creating them, each preceded by kubeadm's `[patches]` line. Other steps pass unchanged.
pub fn patch_api_steps(steps: Vec<crate::api::ApiStep>, patches: &[Patch]) -> Result<Vec<crate::api::ApiStep>, Error> {
    use crate::api::{ApiOp, ApiStep};
    if patches.is_empty() {
        return Ok(steps);
    }
    let mut out = Vec::with_capacity(steps.len());
    for mut step in steps {
        if let ApiStep::Op(op) = &mut step
            && let ApiOp::Write { object, .. } = op.as_mut()
        {
            let target = match (object.body.get("kind").and_then(Value::as_str), object.name.as_str()) {
                (Some("Deployment"), "coredns") => Some("corednsdeployment"),
                (Some("DaemonSet"), "kube-proxy") => Some("kubeproxydaemonset"),
                _ => None,
            };
            if let Some(t) = target {
                out.extend(apply_patches(t, &mut object.body, patches)?.into_iter().map(ApiStep::Say));
            }
        }
        out.push(step);
    }
    Ok(out)
}

/// The targets written as static Pod manifests.
const MANIFEST_TARGETS: [&str; 4] = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"];

/// JSON merge patch (RFC 7386): objects merge key by key, a `null` in `patch` deletes the key, anything else
/// replaces.
pub fn merge_patch(doc: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *doc = patch.clone();
        return;
    };
    if !doc.is_object() {
        *doc = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(d) = doc {
        for (k, v) in p {
            if v.is_null() {
                d.remove(k);
            } else {
                merge_patch(d.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// Deep-merges `over` into `base`: objects merge key by key, anything else replaces; a `null` in `over` is written
/// as `null` (unlike [`merge_patch`], where it deletes the key). For user-supplied component configuration laid
/// over kbinit's defaults.
pub fn overlay(base: &mut Value, over: &Value) {
    merge_over(base, over, false);
}

/// [`overlay`] as Go's decoder lays a user's component configuration over kubeadm's defaults: a `null` where the
/// default is a string, number or boolean leaves that field at Go's zero value (`""`, `0`, `false`) instead of
/// `null` (kubeadm decodes into the typed KubeletConfiguration / KubeProxyConfiguration and marshals it back; a
/// kubespray KubeProxyConfiguration has `acceptContentTypes:` and `portRange:` with no value, which kubeadm writes
/// as `""` — real kubeadm 1.31.2 and 1.33.3, tests/it/oracle.rs).
pub fn overlay_as_go_decodes(base: &mut Value, over: &Value) {
    merge_over(base, over, true);
}

/// [`overlay`], and with `go_zero` [`overlay_as_go_decodes`].
fn merge_over(base: &mut Value, over: &Value, go_zero: bool) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(existing) => merge_over(existing, v, go_zero),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b @ Value::String(_), Value::Null) if go_zero => *b = Value::String(String::new()),
        (b @ Value::Number(_), Value::Null) if go_zero => *b = Value::from(0),
        (b @ Value::Bool(_), Value::Null) if go_zero => *b = Value::Bool(false),
        (b, o) => *b = o.clone(),
    }
}

fn named(list: &[Value]) -> bool {
    !list.is_empty() && list.iter().all(|i| i.get("name").and_then(Value::as_str).is_some())
}

fn strategic(doc: &mut Value, patch: &Value) {
    match (doc, patch) {
        (Value::Object(d), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    d.remove(k);
                } else if let Some(existing) = d.get_mut(k) {
                    strategic(existing, v);
                } else {
                    d.insert(k.clone(), v.clone());
                }
            }
        }
        (Value::Array(d), Value::Array(p)) if named(d) && named(p) => {
            for item in p {
                let name = item.get("name").cloned();
                match d.iter_mut().find(|i| i.get("name") == name.as_ref()) {
                    Some(existing) => strategic(existing, item),
                    None => d.push(item.clone()),
                }
            }
        }
        (d, p) => *d = p.clone(),
    }
}

fn pointer_parent<'a>(doc: &'a mut Value, path: &str) -> Result<(&'a mut Value, String), String> {
    let (parent, last) = path.rsplit_once('/').ok_or_else(|| format!("bad JSON pointer {path:?}"))?;
    let last = last.replace("~1", "/").replace("~0", "~");
    let node = doc.pointer_mut(parent).ok_or_else(|| format!("path {parent:?} does not exist"))?;
    Ok((node, last))
}

fn json_add(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    if path.is_empty() {
        *doc = value;
        return Ok(());
    }
    let (parent, key) = pointer_parent(doc, path)?;
    match parent {
        Value::Object(m) => {
            m.insert(key, value);
        }
        Value::Array(a) if key == "-" => a.push(value),
        Value::Array(a) => {
            let i: usize = key.parse().map_err(|_| format!("bad index {key:?}"))?;
            if i > a.len() {
                return Err(format!("index {i} out of range"));
            }
            a.insert(i, value);
        }
        _ => return Err(format!("cannot add under {path:?}")),
    }
    Ok(())
}

fn json_remove(doc: &mut Value, path: &str) -> Result<Value, String> {
    let (parent, key) = pointer_parent(doc, path)?;
    match parent {
        Value::Object(m) => m.remove(&key).ok_or_else(|| format!("path {path:?} does not exist")),
        Value::Array(a) => {
            let i: usize = key.parse().map_err(|_| format!("bad index {key:?}"))?;
            if i >= a.len() {
                return Err(format!("index {i} out of range"));
            }
            Ok(a.remove(i))
        }
        _ => Err(format!("path {path:?} does not exist")),
    }
}

fn json_patch(doc: &mut Value, ops: &Value) -> Result<(), String> {
    for op in ops.as_array().into_iter().flatten() {
        let path = op.get("path").and_then(Value::as_str).ok_or("an operation without a path")?;
        let value = || op.get("value").cloned().ok_or_else(|| format!("{path}: an operation without a value"));
        match op.get("op").and_then(Value::as_str) {
            Some("add") => json_add(doc, path, value()?)?,
            Some("remove") => {
                json_remove(doc, path)?;
            }
            Some("replace") => {
                json_remove(doc, path)?;
                json_add(doc, path, value()?)?;
            }
            Some("test") => {
                if doc.pointer(path) != Some(&value()?) {
                    return Err(format!("test failed at {path:?}"));
                }
            }
            Some(m @ ("move" | "copy")) => {
                let from = op.get("from").and_then(Value::as_str).ok_or("move/copy without from")?;
                let v = if m == "move" {
                    json_remove(doc, from)?
                } else {
                    doc.pointer(from).cloned().ok_or_else(|| format!("path {from:?} does not exist"))?
                };
                json_add(doc, path, v)?;
            }
            other => return Err(format!("unknown operation {other:?}")),
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[test]
    fn a_null_over_a_scalar_default_is_gos_zero_value() {
        let mut base = serde_json::json!({"a": "x", "n": 5, "b": true, "l": [1], "o": {"s": "y"}});
        let over = serde_json::json!({"a": null, "n": null, "b": null, "l": null, "o": {"s": null}, "new": null});
        overlay_as_go_decodes(&mut base, &over);
        assert_eq!(base, serde_json::json!({"a": "", "n": 0, "b": false, "l": null, "o": {"s": ""}, "new": null}));
    }

    use super::*;
    use serde_json::json;

    fn pod() -> Value {
        json!({"metadata": {"name": "kube-scheduler"}, "spec": {"containers": [
            {"name": "kube-scheduler", "image": "s:1", "resources": {"requests": {"cpu": "100m"}}}
        ]}})
    }

    #[test]
    fn names_types_and_targets() {
        let files = vec![
            ("kube-scheduler0+merge.yaml".to_string(), "metadata:\n  labels:\n    a: b\n".to_string()),
            (
                "kube-scheduler.yaml".to_string(),
                "spec:\n  containers:\n  - name: kube-scheduler\n    resources:\n      requests:\n        cpu: 200m\n"
                    .to_string(),
            ),
            (
                "etcd+json.json".to_string(),
                r#"[{"op": "add", "path": "/metadata/labels", "value": {"x": "y"}}]"#.to_string(),
            ),
            ("README.md".to_string(), "hi".to_string()),
            ("other.yaml".to_string(), "a: 1".to_string()),
        ];
        let (patches, warnings) = parse_patch_files(&files, &v("v1.33.3")).unwrap();
        assert_eq!(patches.len(), 3);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        let mut p = pod();
        let lines = apply_patches("kube-scheduler", &mut p, &patches).unwrap();
        // file-name order: "kube-scheduler.yaml" < "kube-scheduler0+merge.yaml"
        assert_eq!(
            lines,
            [
                "[patches] Applied patch of type \"application/strategic-merge-patch+json\" to target \"kube-scheduler\"",
                "[patches] Applied patch of type \"application/merge-patch+json\" to target \"kube-scheduler\"",
            ]
        );
        assert_eq!(p["spec"]["containers"][0]["resources"]["requests"]["cpu"], "200m");
        assert_eq!(p["spec"]["containers"][0]["image"], "s:1", "strategic merge keeps the container's other fields");
        assert_eq!(p["metadata"]["labels"]["a"], "b");
        let mut e = json!({"metadata": {}});
        apply_patches("etcd", &mut e, &patches).unwrap();
        assert_eq!(e["metadata"]["labels"]["x"], "y");
    }

    #[test]
    fn json_patch_operations_and_errors() {
        let mut d = json!({"a": [1, 2], "b": {"c": 1}});
        json_patch(
            &mut d,
            &json!([
                {"op": "replace", "path": "/b/c", "value": 2},
                {"op": "add", "path": "/a/-", "value": 3},
                {"op": "remove", "path": "/a/0"},
                {"op": "copy", "from": "/b", "path": "/d"},
                {"op": "test", "path": "/d/c", "value": 2},
            ]),
        )
        .unwrap();
        assert_eq!(d, json!({"a": [2, 3], "b": {"c": 2}, "d": {"c": 2}}));
        assert!(json_patch(&mut d, &json!([{"op": "remove", "path": "/nope"}])).is_err());
        let bad = parse_patch_files(&[("etcd+yolo.yaml".into(), "a: 1".into())], &v("v1.33.3")).unwrap_err();
        assert!(bad.to_string().contains("unknown patch type"));
    }

    fn v(s: &str) -> crate::version::KubeVersion {
        s.parse().unwrap()
    }

    #[test]
    fn addon_targets_per_release_and_applied_to_the_addon_objects() {
        let files = [
            ("corednsdeployment+merge.yaml".to_string(), "spec:\n  replicas: 5\n".to_string()),
            ("kubeproxydaemonset.yaml".to_string(), "metadata:\n  labels:\n    patched: \"yes\"\n".to_string()),
            ("etcd.yaml".to_string(), "\n".to_string()),
        ];
        // 1.30 knows neither addon target, 1.31-1.36 CoreDNS only, 1.37 both; an empty file is skipped
        let (p, w) = parse_patch_files(&files, &v("v1.30.0")).unwrap();
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(
            w[0],
            "[patches] Ignoring file \"corednsdeployment+merge.yaml\": unknown target, must be one of [etcd \
             kube-apiserver kube-controller-manager kube-scheduler kubeletconfiguration]"
        );
        assert_eq!(w[1], "[patches] Ignoring empty file: \"etcd.yaml\"");
        let (p, _) = parse_patch_files(&files, &v("v1.33.3")).unwrap();
        assert_eq!(p.iter().map(|p| p.target).collect::<Vec<_>>(), ["corednsdeployment"]);
        let (p, _) = parse_patch_files(&files, &v("v1.37.0")).unwrap();
        assert_eq!(p.len(), 2);
        use crate::api::{ApiObject, ApiOp, ApiStep, WritePolicy};
        let write = |kind: &str, name: &str| {
            ApiStep::Op(Box::new(ApiOp::Write {
                object: ApiObject {
                    resource: crate::api::ResourceType::of::<k8s_openapi::api::apps::v1::Deployment>(),
                    namespace: Some("kube-system".into()),
                    name: name.into(),
                    body: json!({"kind": kind, "metadata": {"name": name}, "spec": {"replicas": 2}}),
                },
                policy: WritePolicy::CreateOrUpdate,
                owner: None,
            }))
        };
        let steps =
            patch_api_steps(vec![write("Deployment", "coredns"), write("DaemonSet", "kube-proxy")], &p).unwrap();
        let bodies: Vec<&Value> = steps
            .iter()
            .filter_map(|s| match s {
                ApiStep::Op(op) => match op.as_ref() {
                    ApiOp::Write { object, .. } => Some(&object.body),
                    _ => None,
                },
                ApiStep::Say(_) => None,
            })
            .collect();
        assert_eq!(bodies[0]["spec"]["replicas"], 5);
        assert_eq!(bodies[1]["metadata"]["labels"]["patched"], "yes");
        assert_eq!(steps.len(), 4, "a [patches] line before each patched object");
    }
}
