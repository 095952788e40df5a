//! YAML in and out. Output follows the layout of Go's sigs.k8s.io/yaml (keys sorted, sequences not indented
//! under their key, YAML 1.1-ambiguous strings quoted), so kbinit's files diff cleanly against kubeadm's.
//!
//! PLACEHOLDER BODY: `to_yaml` is being replaced by a go-yaml-v2-compatible emitter.

use serde_json::Value;

use crate::Error;

/// Renders a JSON value as YAML the way Kubernetes' Go code would.
pub fn to_yaml(value: &Value) -> String {
    serde_saphyr::to_string(value).unwrap_or_default()
}

/// Parses one YAML document into a JSON value.
pub fn from_yaml(text: &str) -> Result<Value, Error> {
    serde_saphyr::from_str(text).map_err(|e| Error::Document(format!("invalid YAML: {e}")))
}

/// Splits a multi-document YAML stream into JSON values (empty documents are dropped).
pub fn documents(text: &str) -> Result<Vec<Value>, Error> {
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(text).map_err(|e| Error::Document(format!("invalid YAML: {e}")))?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}
