//! Field checks shared by the config loader and the CLI, each returning an [`Error::Invalid`] that names the field
//! (config path or flag) and the value. They follow kubeadm's validation package
//! (`cmd/kubeadm/app/apis/kubeadm/validation/validation.go`); `parity` (tests) lists each of its rules with the case
//! that pins kbinit's outcome, and the rules kbinit treats differently, with why.
//!
//! | module | holds |
//! |---|---|
//! | [`tokens`] | bootstrap tokens, usages, groups, CA pins, certificate keys |
//! | [`names`] | DNS-1123 names, certificate SANs, node names, image repositories |
//! | [`network`] | addresses, ports, `host:port` endpoints, service and pod subnets |
//! | [`locations`] | absolute paths, the CRI socket URL, the discovery file |
//! | [`etcd`] | external etcd endpoints and TLS files |
//! | [`args`] | extra args, ignored preflight errors, pull policy, validity warnings |
//!
//! This file holds the feature-gate checks.

use std::collections::BTreeMap;

use crate::Error;
use crate::version::KubeVersion;

pub mod args;
pub mod etcd;
pub mod locations;
pub mod names;
pub mod network;
#[cfg(test)]
mod parity;
pub mod tokens;

pub use args::*;
pub use etcd::*;
pub use locations::*;
pub use names::*;
pub use network::*;
pub use tokens::*;

/// Feature gates kbinit knows for `version` (the release's kubeadm list, [`crate::features`]).
pub fn known_feature_gates(version: &KubeVersion) -> Vec<&'static str> {
    crate::features::known(version).into_iter().map(|(n, _)| n).collect()
}

/// Checks feature gates against `version`'s kubeadm ([`crate::features::check`]): unknown and removed gates,
/// and locked (GA) gates switched off, are refused.
pub fn validate_feature_gates(field: &str, gates: &BTreeMap<String, bool>, version: &KubeVersion) -> Result<(), Error> {
    for (name, value) in gates {
        crate::features::check(field, name, *value, version)?;
    }
    Ok(())
}

/// Parses `--feature-gates=A=true,B=false`.
pub fn parse_feature_gates(field: &str, s: &str) -> Result<BTreeMap<String, bool>, Error> {
    let mut out = BTreeMap::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((k, v)) = part.split_once('=') else {
            return Err(Error::invalid(field, s, format!("missing bool value for feature-gate key {part:?}")));
        };
        let b = match v.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "t" => true,
            "false" | "0" | "f" => false,
            _ => {
                return Err(Error::invalid(field, s, format!("invalid value {v:?} of feature-gate key {k:?}")));
            }
        };
        out.insert(k.trim().to_string(), b);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_gate_strings() {
        assert!(parse_feature_gates("f", "PublicKeysECDSA=true").unwrap()["PublicKeysECDSA"]);
        assert!(parse_feature_gates("f", "PublicKeysECDSA=maybe").is_err());
        assert!(parse_feature_gates("f", "PublicKeysECDSA").is_err());
    }
}
