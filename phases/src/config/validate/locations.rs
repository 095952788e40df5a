//! Paths and URLs of files kubeadm is pointed at: absolute paths (`ValidateAbsolutePath`), the CRI socket URL
//! (`ValidateSocketPath`: scheme `unix` only) and the discovery kubeconfig (`ValidateDiscoveryKubeConfigPath`: an
//! `https://` URL or a file; `file://` URLs are turned into paths first, as kubeadm's defaulting does).

use crate::Error;

/// An absolute path.
pub fn validate_absolute(field: &str, s: &str) -> Result<(), Error> {
    if s.starts_with('/') { Ok(()) } else { Err(Error::invalid(field, s, "path is not absolute")) }
}

/// The scheme of a URL as Go's `url.Parse` finds it: letters, digits, `+`, `-`, `.` before the first `:`,
/// starting with a letter; `None` when there is none.
pub(super) fn url_scheme(s: &str) -> Option<&str> {
    let (scheme, _) = s.split_once(':')?;
    let mut b = scheme.bytes();
    let first = b.next()?;
    (first.is_ascii_alphabetic() && b.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')))
        .then_some(scheme)
}

/// A CRI socket given as a URL: its scheme must be `unix` (`ValidateSocketPath`).
pub fn validate_cri_socket(field: &str, s: &str) -> Result<(), Error> {
    match url_scheme(s) {
        Some("unix") if s.len() > "unix://".len() && s.starts_with("unix://") => Ok(()),
        Some("unix") => Err(Error::invalid(field, s, "expected unix:///path/to/socket")),
        other => Err(Error::invalid(
            field,
            s,
            format!("only URL scheme \"unix\" is supported, got {:?}", other.unwrap_or_default()),
        )),
    }
}

/// The discovery kubeconfig location (`discovery.file.kubeConfigPath`, `--discovery-file`): an `https://` URL, or a
/// path (a `file://` URL becomes its path). Returns the location to use.
pub fn discovery_file_location(field: &str, s: &str) -> Result<String, Error> {
    if s.is_empty() {
        return Err(Error::invalid(field, s, "not a valid HTTPS URL or a file on disk"));
    }
    let path = match url_scheme(s) {
        Some("https") => return Ok(s.to_string()),
        Some("file") => {
            let rest = s.trim_start_matches("file:").trim_start_matches("//");
            // file://host/path: Go's url.Parse puts "host" in Host and "/path" in Path
            rest.find('/').map_or("", |i| &rest[i..]).to_string()
        }
        Some(_) => return Err(Error::invalid(field, s, "if a URL is used, the scheme must be https")),
        None => s.to_string(),
    };
    validate_absolute(field, &path)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockets_and_discovery_files() {
        assert!(validate_cri_socket("c", "unix:///run/containerd/containerd.sock").is_ok());
        let err = validate_cri_socket("c", "tcp://10.0.0.1:2375").unwrap_err().to_string();
        assert!(err.contains(r#"only URL scheme "unix" is supported, got "tcp""#), "{err}");
        assert!(validate_cri_socket("c", "unix://").is_err());
        assert_eq!(
            discovery_file_location("d", "https://lb/cluster-info.yaml").unwrap(),
            "https://lb/cluster-info.yaml"
        );
        assert_eq!(discovery_file_location("d", "file:///etc/kubernetes/d.conf").unwrap(), "/etc/kubernetes/d.conf");
        assert_eq!(discovery_file_location("d", "/etc/kubernetes/d.conf").unwrap(), "/etc/kubernetes/d.conf");
        let err = discovery_file_location("d", "http://lb/x").unwrap_err().to_string();
        assert!(err.contains("if a URL is used, the scheme must be https"), "{err}");
        assert!(discovery_file_location("d", "d.conf").is_err());
        assert_eq!(url_scheme("/etc/a:b"), None);
        assert_eq!(url_scheme("HTTPS://x"), Some("HTTPS"));
    }
}
