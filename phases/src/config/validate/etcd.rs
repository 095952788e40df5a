//! External etcd (`ValidateEtcd` → `etcd.external`): client URLs (`ValidateURLs`, HTTPS required as soon as a CA,
//! certificate or key is given), certificate and key given together, a CA required with them, absolute file paths.

use super::locations::{url_scheme, validate_absolute};
use crate::Error;

/// An etcd client URL: `http://` or `https://` with a valid host (kbinit's etcd client speaks nothing else), and
/// `https://` when `require_https`.
pub fn validate_url(field: &str, s: &str, require_https: bool) -> Result<(), Error> {
    let scheme = url_scheme(s);
    let rest = match scheme {
        None => return Err(Error::invalid(field, s, "the URL without scheme is not allowed")),
        Some("http") if require_https => {
            return Err(Error::invalid(field, s, "the URL must be using the HTTPS scheme"));
        }
        Some("https" | "http") => s.split_once("://").map_or("", |(_, r)| r),
        Some(_) => return Err(Error::invalid(field, s, "must be an http:// or https:// URL")),
    };
    let hostport = rest.split(['/', '?', '#']).next().unwrap_or("");
    if hostport.is_empty() {
        return Err(Error::invalid(field, s, "the URL has no host"));
    }
    super::split_host_port(field, hostport, false).map(|_| ())
}

/// `etcd.external`: at least one endpoint (kbinit only, see the parity table), every endpoint a URL, `certFile` and
/// `keyFile` both or neither, `caFile` with them, HTTPS when any of the three is set, absolute paths.
pub fn validate_external_etcd(
    endpoints: &[String],
    ca_file: &str,
    cert_file: &str,
    key_file: &str,
) -> Result<(), Error> {
    if endpoints.is_empty() {
        return Err(Error::invalid("etcd.external.endpoints", "", "at least one endpoint is required"));
    }
    if cert_file.is_empty() != key_file.is_empty() {
        return Err(Error::invalid(
            "etcd.external.certFile",
            format!("certFile={cert_file:?} keyFile={key_file:?}"),
            "either both or none of .Etcd.External.CertFile and .Etcd.External.KeyFile must be set",
        ));
    }
    if !cert_file.is_empty() && ca_file.is_empty() {
        return Err(Error::invalid(
            "etcd.external.caFile",
            "",
            "setting .Etcd.External.CertFile and .Etcd.External.KeyFile requires .Etcd.External.CAFile",
        ));
    }
    let require_https = !(ca_file.is_empty() && cert_file.is_empty() && key_file.is_empty());
    for (i, e) in endpoints.iter().enumerate() {
        validate_url(&format!("etcd.external.endpoints[{i}]"), e, require_https)?;
    }
    for (f, v) in
        [("etcd.external.caFile", ca_file), ("etcd.external.certFile", cert_file), ("etcd.external.keyFile", key_file)]
    {
        if !v.is_empty() {
            validate_absolute(f, v)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_etcd() {
        let eps = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let tls = ("/etc/etcd/ca.crt", "/etc/etcd/c.crt", "/etc/etcd/c.key");
        assert!(validate_external_etcd(&eps(&["https://10.0.0.1:2379"]), tls.0, tls.1, tls.2).is_ok());
        assert!(validate_external_etcd(&eps(&["http://10.0.0.1:2379"]), "", "", "").is_ok());
        assert!(validate_external_etcd(&eps(&["http://10.0.0.1:2379"]), tls.0, tls.1, tls.2).is_err());
        assert!(
            validate_external_etcd(&eps(&["http://10.0.0.1:2379"]), tls.0, "", "").is_err(),
            "a CA alone asks for https"
        );
        let err = validate_external_etcd(&eps(&["https://e:2379"]), "", tls.1, tls.2).unwrap_err().to_string();
        assert!(err.contains("requires .Etcd.External.CAFile"), "{err}");
        assert!(validate_external_etcd(&eps(&["https://e:2379"]), tls.0, tls.1, "").is_err());
        assert!(validate_external_etcd(&eps(&["10.0.0.1:2379"]), "", "", "").is_err());
        assert!(validate_external_etcd(&eps(&["etcd1"]), "", "", "").is_err());
        assert!(validate_external_etcd(&eps(&["https://[fd00::1]:2379/"]), "", "", "").is_ok());
        assert!(validate_external_etcd(&eps(&["https://e:2379"]), "ca.crt", "", "").is_err());
        assert!(validate_external_etcd(&[], "", "", "").is_err());
    }
}
