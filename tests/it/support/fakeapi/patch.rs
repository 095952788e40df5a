//! PATCH bodies. JSON merge patch (RFC 7386) serves both `merge-patch+json` and `strategic-merge-patch+json`:
//! simplified, because strategic merge would merge some lists by key (containers by name, ownerReferences by uid…)
//! where this replaces every list; for the lists kbinit patches that is also the real answer (Node `spec.taints` has
//! no patch strategy, so the real server replaces it too). `$patch` directives are not understood. JSON patch
//! (RFC 6902) is answered with 415. `apply-patch+yaml` is a create-or-merge (see `rest`).

use serde_json::Value;

/// RFC 7386: objects merge key by key, `null` deletes, anything else replaces.
pub fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    if let Value::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_replaces_lists_and_deletes_nulls() {
        let mut node = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"taints": [{"key": "x"}]}});
        merge(&mut node, &json!({"metadata": {"labels": {"b": null, "c": ""}}, "spec": {"taints": [{"key": "y"}]}}));
        assert_eq!(node, json!({"metadata": {"labels": {"a": "1", "c": ""}}, "spec": {"taints": [{"key": "y"}]}}));
    }
}
