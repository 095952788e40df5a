//! Flag-like values: `k=v` extra-args strings and argument names (`ValidateExtraArgs`), `--ignore-preflight-errors`
//! (`ValidateIgnorePreflightErrors`), `imagePullPolicy` (`ValidateImagePullPolicy`) and the certificate validity
//! warnings (`ValidateCertValidity`).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::Error;
use crate::config::model::Arg;
use crate::go_format::duration::format_duration;

/// Parses `k=v,k=v` extra-args flag strings (`--apiserver-extra-args`), sorted by name like a v1beta3 map.
pub fn parse_extra_args(field: &str, s: &str) -> Result<BTreeMap<String, String>, Error> {
    let mut out = BTreeMap::new();
    for part in s.split(',').filter(|p| !p.trim().is_empty()) {
        match part.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                out.insert(k.trim().trim_start_matches("--").to_string(), v.to_string());
            }
            _ => {
                return Err(Error::invalid(field, s, format!("{part:?} is not of the form key=value")));
            }
        }
    }
    Ok(out)
}

/// Every extra argument has a name (`ValidateExtraArgs`: a v1beta3 map key `""` or a v1beta4 entry without `name`).
pub fn validate_arg_names(field: &str, args: &[Arg]) -> Result<(), Error> {
    match args.iter().position(|a| a.name.is_empty()) {
        None => Ok(()),
        Some(i) => Err(Error::invalid(field, format!("index {i}"), "argument has no name")),
    }
}

/// Lower-cases `--ignore-preflight-errors` names and refuses `all` mixed with names.
pub fn normalize_ignore_preflight(field: &str, names: &[String]) -> Result<Vec<String>, Error> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        let n = n.trim().to_ascii_lowercase();
        if !n.is_empty() && !out.contains(&n) {
            out.push(n);
        }
    }
    if out.iter().any(|n| n == "all") && out.len() > 1 {
        return Err(Error::invalid(field, out.join(","), "don't specify individual checks if 'all' is used"));
    }
    Ok(out)
}

/// `IfNotPresent`, `Always` or `Never` (empty is defaulted before this).
pub fn validate_image_pull_policy(field: &str, policy: &str) -> Result<(), Error> {
    if matches!(policy, "IfNotPresent" | "Always" | "Never") {
        Ok(())
    } else {
        Err(Error::invalid(field, policy, "invalid pull policy: must be IfNotPresent, Always or Never"))
    }
}

/// kubeadm's defaults: one year for leaf certificates, ten for CAs (`constants.CertificateValidityPeriod`,
/// `CACertificateValidityPeriod`).
pub const CERTIFICATE_VALIDITY: Duration = Duration::from_secs(8760 * 3600);
/// See [`CERTIFICATE_VALIDITY`].
pub const CA_CERTIFICATE_VALIDITY: Duration = Duration::from_secs(87600 * 3600);

/// The warnings kubeadm prints (and goes on) when a validity period is longer than its default.
pub fn cert_validity_warnings(leaf: Option<Duration>, ca: Option<Duration>) -> Vec<String> {
    let mut w = Vec::new();
    if let Some(d) = leaf.filter(|d| *d > CERTIFICATE_VALIDITY) {
        w.push(format!(
            "certificateValidityPeriod: the value {} is more than the recommended default for certificate expiration: {}",
            format_duration(d),
            format_duration(CERTIFICATE_VALIDITY)
        ));
    }
    if let Some(d) = ca.filter(|d| *d > CA_CERTIFICATE_VALIDITY) {
        w.push(format!(
            "caCertificateValidityPeriod: the value {} is more than the recommended default for CA certificate expiration: {}",
            format_duration(d),
            format_duration(CA_CERTIFICATE_VALIDITY)
        ));
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_lists() {
        assert_eq!(normalize_ignore_preflight("f", &["Swap".into(), "NumCPU".into()]).unwrap(), ["swap", "numcpu"]);
        assert!(normalize_ignore_preflight("f", &["all".into(), "Swap".into()]).is_err());
        assert_eq!(parse_extra_args("f", "v=2,profiling=false").unwrap().len(), 2);
        assert!(parse_extra_args("f", "novalue").is_err());
        let args = [Arg { name: "v".into(), value: "2".into() }, Arg { name: String::new(), value: "x".into() }];
        let err = validate_arg_names("apiServer.extraArgs", &args).unwrap_err().to_string();
        assert!(err.contains("\"index 1\"") && err.contains("argument has no name"), "{err}");
        assert!(
            validate_image_pull_policy("p", "Always").is_ok() && validate_image_pull_policy("p", "always").is_err()
        );
    }

    #[test]
    fn validity_warnings_past_the_defaults() {
        assert!(cert_validity_warnings(Some(CERTIFICATE_VALIDITY), Some(CA_CERTIFICATE_VALIDITY)).is_empty());
        let w = cert_validity_warnings(Some(Duration::from_secs(8761 * 3600)), Some(Duration::from_secs(87601 * 3600)));
        assert_eq!(
            w[0],
            "certificateValidityPeriod: the value 8761h0m0s is more than the recommended default for certificate expiration: 8760h0m0s"
        );
        assert!(w[1].starts_with("caCertificateValidityPeriod: the value 87601h0m0s"), "{w:?}");
    }
}
