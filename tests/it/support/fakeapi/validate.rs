//! Object-name validation with the real server's messages (k8s.io/apimachinery `validation.IsDNS1123Subdomain`,
//! `IsDNS1123Label`, `path.IsValidPathSegmentName`). Only names are validated; object bodies are taken as sent.

use super::resources::NameRule;
use super::status::Cause;

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or \
'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is \
'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and \
must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is \
'[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`
fn is_label(s: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let b = s.as_bytes();
    !b.is_empty() && alnum(b[0]) && alnum(b[b.len() - 1]) && b.iter().all(|&c| alnum(c) || c == b'-')
}

/// The field errors for `metadata.name` under a rule; empty when valid.
pub fn name_errors(rule: NameRule, name: &str) -> Vec<Cause> {
    let invalid =
        |msg: String| Cause { field: "metadata.name".into(), message: format!("Invalid value: {name:?}: {msg}") };
    let mut out = Vec::new();
    match rule {
        NameRule::Subdomain => {
            if name.len() > 253 {
                out.push(invalid("must be no more than 253 characters".into()));
            }
            if !name.split('.').all(is_label) {
                out.push(invalid(SUBDOMAIN_MSG.into()));
            }
        }
        NameRule::Label => {
            if name.len() > 63 {
                out.push(invalid("must be no more than 63 characters".into()));
            }
            if !is_label(name) {
                out.push(invalid(LABEL_MSG.into()));
            }
        }
        NameRule::PathSegment => {
            if name == "." || name == ".." {
                out.push(invalid(format!("may not be '{name}'")));
            }
            for bad in ["/", "%"] {
                if name.contains(bad) {
                    out.push(invalid(format!("may not contain '{bad}'")));
                }
            }
        }
    }
    out
}

/// The 422 cause for a missing name.
pub fn name_required() -> Cause {
    Cause { field: "metadata.name".into(), message: "Required value: name or generateName is required".into() }
}
