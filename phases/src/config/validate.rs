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

/// Feature gates kbinit knows for `version`, with whether they are deprecated.
pub fn known_feature_gates(version: &KubeVersion) -> Vec<&'static str> {
    let mut gates = vec!["PublicKeysECDSA", "RootlessControlPlane"];
    if version.minor <= 32 {
        gates.push("EtcdLearnerMode");
    }
    if version.minor <= 30 {
        gates.push("UpgradeAddonsBeforeControlPlane");
    }
    if version.at_least(30) && version.minor <= 33 {
        gates.push("WaitForAllControlPlaneComponents");
    }
    if version.at_least(31) {
        gates.push("ControlPlaneKubeletLocalMode");
    }
    if version.at_least(32) {
        gates.push("NodeLocalCRISocket");
    }
    gates
}

/// Checks feature-gate names against [`known_feature_gates`].
pub fn validate_feature_gates(field: &str, gates: &BTreeMap<String, bool>, version: &KubeVersion) -> Result<(), Error> {
    let known = known_feature_gates(version);
    for name in gates.keys() {
        if !known.contains(&name.as_str()) {
            return Err(Error::invalid(
                field,
                name,
                format!("unrecognized feature-gate key {name:?} for Kubernetes {version}; known: {}", known.join(", ")),
            ));
        }
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
