//! `ResetConfiguration` (`kubeadm.k8s.io/v1beta4`, kubeadm 1.31+): the document `kbinit reset --config` reads
//! (kubeadm's `cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go` `ResetConfiguration`, validated as
//! `ValidateResetConfiguration` does: an absolute `certificatesDir`, a CRI socket URL, known `unmountFlags`).
//! Other documents of the file are ignored with kubeadm's warning; unknown fields are warnings, as kubeadm's
//! non-strict decoding makes them.

use serde::Deserialize;
use serde_json::Value;

use crate::Error;

/// The one apiVersion a ResetConfiguration exists in.
pub const API_VERSION: &str = "kubeadm.k8s.io/v1beta4";

/// The `unmountFlags` kubeadm knows (`ValidateUnmountFlags`), in its order.
pub const UNMOUNT_FLAGS: [&str; 4] = ["MNT_FORCE", "MNT_DETACH", "MNT_EXPIRE", "UMOUNT_NOFOLLOW"];

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireReset {
    cleanup_tmp_dir: Option<bool>,
    certificates_dir: Option<String>,
    cri_socket: Option<String>,
    dry_run: Option<bool>,
    force: Option<bool>,
    ignore_preflight_errors: Option<Vec<String>>,
    skip_phases: Option<Vec<String>>,
    unmount_flags: Option<Vec<String>>,
}

/// A parsed ResetConfiguration: `None` / empty = not given (the flag or kbinit's default decides).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResetConfiguration {
    /// `cleanupTmpDir`.
    pub cleanup_tmp_dir: Option<bool>,
    /// `certificatesDir`.
    pub certificates_dir: Option<String>,
    /// `criSocket`.
    pub cri_socket: Option<String>,
    /// `dryRun`.
    pub dry_run: Option<bool>,
    /// `force`.
    pub force: Option<bool>,
    /// `ignorePreflightErrors`.
    pub ignore_preflight_errors: Vec<String>,
    /// `skipPhases`.
    pub skip_phases: Vec<String>,
    /// `unmountFlags`: flags of the umount2 call for each mount under /var/lib/kubelet.
    pub unmount_flags: Vec<String>,
}

/// Every field path of the ResetConfiguration document, from its wire type (see [`super::fields`]).
pub fn field_paths() -> Result<Vec<String>, super::fields::TraceError> {
    super::fields::field_paths::<WireReset>()
}

/// Reads the ResetConfiguration of a `--config` file, with the warnings to print.
pub fn parse_reset_configuration(text: &str) -> Result<(ResetConfiguration, Vec<String>), Error> {
    let mut warnings = Vec::new();
    let mut found = None;
    for doc in crate::go_format::yaml::documents(text)?.into_iter().filter(|d| !d.is_null()) {
        let api = doc.get("apiVersion").and_then(Value::as_str).unwrap_or_default().to_string();
        let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
        if kind != "ResetConfiguration" {
            warnings.push(format!("ignored YAML document with GroupVersionKind {api}, Kind={kind}"));
            continue;
        }
        if api != API_VERSION {
            return Err(Error::invalid("apiVersion", api, format!("ResetConfiguration exists only in {API_VERSION}")));
        }
        if found.is_some() {
            return Err(Error::invalid("kind", kind, "duplicate ResetConfiguration document"));
        }
        found = Some(super::wire::decode::<WireReset>(doc, "ResetConfiguration", API_VERSION, &mut warnings)?);
    }
    let Some(w) = found else {
        return Err(Error::Document("the --config file holds no ResetConfiguration document".into()));
    };
    if let Some(dir) = &w.certificates_dir {
        super::validate::validate_absolute("certificatesDir", dir)?;
    }
    if let Some(s) = w.cri_socket.as_deref().filter(|s| !s.is_empty())
        && !(s.starts_with("unix://") || s.starts_with("npipe://") || s.starts_with('/'))
    {
        return Err(Error::invalid("criSocket", s, "the CRI socket must be a unix:// URL or an absolute path"));
    }
    let unmount_flags = w.unmount_flags.unwrap_or_default();
    for f in &unmount_flags {
        if !UNMOUNT_FLAGS.contains(&f.as_str()) {
            return Err(Error::invalid(
                "unmountFlags",
                f,
                format!("unknown unmount flag; known flags: {}", UNMOUNT_FLAGS.join(", ")),
            ));
        }
    }
    let config = ResetConfiguration {
        cleanup_tmp_dir: w.cleanup_tmp_dir,
        certificates_dir: w.certificates_dir.filter(|s| !s.is_empty()),
        cri_socket: w.cri_socket.filter(|s| !s.is_empty()),
        dry_run: w.dry_run,
        force: w.force,
        ignore_preflight_errors: w.ignore_preflight_errors.unwrap_or_default(),
        skip_phases: w.skip_phases.unwrap_or_default(),
        unmount_flags,
    };
    Ok((config, warnings))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_refuses_what_kubeadm_refuses() {
        let head = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ResetConfiguration\n";
        let (c, w) = parse_reset_configuration(&format!(
            "{head}force: true\nunmountFlags: [MNT_DETACH]\ncertificatesDir: /srv/pki\nbogus: 1\n"
        ))
        .unwrap();
        assert_eq!(
            (c.force, c.unmount_flags, c.certificates_dir.as_deref()),
            (Some(true), vec!["MNT_DETACH".to_string()], Some("/srv/pki"))
        );
        assert_eq!(w, [r#"unknown field "bogus" in ResetConfiguration (kubeadm.k8s.io/v1beta4)"#]);
        for (body, named) in
            [("unmountFlags: [MNT_NOPE]\n", "unmountFlags"), ("certificatesDir: pki\n", "certificatesDir")]
        {
            let e = parse_reset_configuration(&format!("{head}{body}")).unwrap_err();
            assert!(e.is_invalid_input() && e.to_string().contains(named), "{e}");
        }
        assert!(parse_reset_configuration("apiVersion: kubeadm.k8s.io/v1beta3\nkind: ResetConfiguration\n").is_err());
    }
}
