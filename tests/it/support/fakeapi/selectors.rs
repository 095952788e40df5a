//! Query handling for LIST: percent-decoding, label selectors (`k=v`, `k==v`, `k!=v`, `k in (…)`, `k notin (…)`,
//! `k`, `!k`) and the field selectors the fake supports (`metadata.name`, `metadata.namespace`, `type` for
//! Secrets and `spec.unschedulable` for Nodes; `=`, `==`, `!=`). Other field labels are rejected with the real server's 400 message.

use serde_json::Value;

use super::store::str_at;

/// `a=b&c=d` decoded into pairs.
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// The first value of a query parameter.
pub fn param<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(x) => {
                    out.push(x);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits on commas outside parentheses.
fn requirements(sel: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in sel.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(sel[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(sel[start..].trim());
    out.into_iter().filter(|r| !r.is_empty()).collect()
}

/// Whether an object's labels satisfy a label selector.
pub fn labels_match(obj: &Value, selector: &str) -> bool {
    let label = |k: &str| obj.pointer("/metadata/labels").and_then(|l| l.get(k)).and_then(Value::as_str);
    requirements(selector).iter().all(|req| {
        let set = |rest: &str| -> Vec<String> {
            rest.trim().trim_start_matches('(').trim_end_matches(')').split(',').map(|s| s.trim().to_string()).collect()
        };
        if let Some((k, rest)) = req.split_once(" notin ") {
            return label(k.trim()).is_none_or(|v| !set(rest).iter().any(|s| s == v));
        }
        if let Some((k, rest)) = req.split_once(" in ") {
            return label(k.trim()).is_some_and(|v| set(rest).iter().any(|s| s == v));
        }
        if let Some((k, v)) = req.split_once("!=") {
            return label(k.trim()) != Some(v.trim());
        }
        if let Some((k, v)) = req.split_once("==").or_else(|| req.split_once('=')) {
            return label(k.trim()) == Some(v.trim());
        }
        match req.strip_prefix('!') {
            Some(k) => label(k.trim()).is_none(),
            None => label(req).is_some(),
        }
    })
}

/// Whether an object satisfies a field selector; Err(label) names an unsupported field.
pub fn fields_match(obj: &Value, resource: &str, selector: &str) -> Result<bool, String> {
    for req in requirements(selector) {
        let (field, negate, want) = match req.split_once("!=") {
            Some((f, v)) => (f.trim(), true, v.trim()),
            None => match req.split_once("==").or_else(|| req.split_once('=')) {
                Some((f, v)) => (f.trim(), false, v.trim()),
                None => return Err(req.to_string()),
            },
        };
        let unschedulable = obj.pointer("/spec/unschedulable").and_then(Value::as_bool).unwrap_or(false);
        let have = match (field, resource) {
            ("metadata.name", _) => str_at(obj, "/metadata/name"),
            ("metadata.namespace", _) => str_at(obj, "/metadata/namespace"),
            ("type", "secrets") => str_at(obj, "/type"),
            // the Node field label (false when unset), as kubeadm's CreateJob check lists schedulable Nodes
            ("spec.unschedulable", "nodes") => {
                if unschedulable {
                    "true"
                } else {
                    "false"
                }
            }
            _ => return Err(field.to_string()),
        };
        if (have == want) == negate {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selectors_match_like_the_real_server() {
        let o = json!({"metadata": {"name": "n", "labels": {"app": "dns", "tier": "x"}}, "type": "t/u"});
        assert!(labels_match(&o, "app=dns,tier in (x, y)"));
        assert!(!labels_match(&o, "app!=dns"));
        assert!(labels_match(&o, "!missing,app"));
        assert!(!labels_match(&o, "tier notin (x)"));
        assert_eq!(
            parse_query("fieldSelector=type%3Dt%2Fu&x=a+b"),
            vec![("fieldSelector".into(), "type=t/u".into()), ("x".into(), "a b".into())]
        );
        assert_eq!(fields_match(&o, "secrets", "type=t/u,metadata.name=n"), Ok(true));
        assert_eq!(fields_match(&o, "secrets", "metadata.name!=n"), Ok(false));
        assert_eq!(fields_match(&o, "configmaps", "type=t/u"), Err("type".into()));
        let cordoned = json!({"metadata": {"name": "n"}, "spec": {"unschedulable": true}});
        assert_eq!(fields_match(&o, "nodes", "spec.unschedulable=false"), Ok(true));
        assert_eq!(fields_match(&cordoned, "nodes", "spec.unschedulable=false"), Ok(false));
        assert_eq!(fields_match(&cordoned, "nodes", "spec.unschedulable!=false"), Ok(true));
        assert!(labels_match(&json!({"metadata": {"labels": {"r": ""}}}), "r="));
        assert!(!labels_match(&json!({"metadata": {"labels": {"r": "x"}}}), "r="));
    }
}
