//! A check's verdict ([`Finding`]) and how findings are reported: kubeadm's check names for paths, the
//! `\t[WARNING Name]: msg` / `\t[ERROR Name]: msg` lines on stderr, `--ignore-preflight-errors` (`all` or names,
//! case-insensitive) and the fatal text that fails with exit code 2.

use crate::error::PreflightFailed;
use crate::output::Output;

/// One check's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// kubeadm's check name, e.g. `Port-6443`.
    pub name: String,
    /// An error (fatal unless ignored) rather than a warning.
    pub error: bool,
    /// What was found.
    pub message: String,
}

pub(super) fn error(name: impl Into<String>, message: impl Into<String>) -> Finding {
    Finding { name: name.into(), error: true, message: message.into() }
}
pub(super) fn warning(name: impl Into<String>, message: impl Into<String>) -> Finding {
    Finding { name: name.into(), error: false, message: message.into() }
}

/// kubeadm's name for a file or directory check: `/etc/kubernetes/x.yaml` → `-etc-kubernetes-x.yaml`.
pub fn path_name(path: &str) -> String {
    path.replace('/', "-")
}

/// The fatal-errors text kubeadm fails with.
pub(super) fn fatal_text(lines: &[String]) -> String {
    format!(
        "[preflight] Some fatal errors occurred:\n{}\n[preflight] If you know what you are doing, you can make a check \
         non-fatal with `--ignore-preflight-errors=...`",
        lines.join("\n")
    )
}

/// Prints findings; the errors that `ignore` does not cover are returned as `\t[ERROR Name]: msg` lines.
pub(super) fn print(findings: &[Finding], ignore: &[String], out: &Output) -> Vec<String> {
    let ignored = |name: &str| ignore.iter().any(|i| i.eq_ignore_ascii_case("all") || i.eq_ignore_ascii_case(name));
    let mut fatal = Vec::new();
    for f in findings {
        if !f.error || ignored(&f.name) {
            out.err_line(&format!("\t[WARNING {}]: {}", f.name, f.message));
        } else {
            fatal.push(format!("\t[ERROR {}]: {}", f.name, f.message));
        }
    }
    fatal
}

/// Prints findings and fails (exit 2) when an error remains that `ignore` does not cover.
pub fn report(findings: &[Finding], ignore: &[String], out: &Output) -> anyhow::Result<()> {
    let fatal = print(findings, ignore, out);
    if fatal.is_empty() {
        return Ok(());
    }
    Err(anyhow::Error::new(PreflightFailed(fatal_text(&fatal))))
}

/// `--ignore-preflight-errors` as kubeadm takes it: lower-cased; `all` mixed with names is invalid input
/// (exit 3).
pub fn normalize_ignore(names: &[String]) -> anyhow::Result<Vec<String>> {
    kbinit_phases::config::validate::normalize_ignore_preflight("ignore-preflight-errors", names)
        .map_err(anyhow::Error::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_kubeadm() {
        assert_eq!(path_name("/etc/kubernetes/manifests/etcd.yaml"), "-etc-kubernetes-manifests-etcd.yaml");
        assert_eq!(format!("DirAvailable-{}", path_name("/var/lib/etcd")), "DirAvailable--var-lib-etcd");
    }

    #[test]
    fn ignore_downgrades_errors() {
        let out = Output::new(0);
        let f = vec![error("Port-6443", "Port 6443 is in use"), warning("Swap", "on")];
        assert!(report(&f, &["port-6443".into()], &out).is_ok());
        assert!(report(&f, &["all".into()], &out).is_ok());
        let err = report(&f, &[], &out).unwrap_err().to_string();
        assert!(
            err.starts_with("[preflight] Some fatal errors occurred:\n\t[ERROR Port-6443]: Port 6443 is in use\n"),
            "{err}"
        );
        assert!(err.ends_with("you can make a check non-fatal with `--ignore-preflight-errors=...`"), "{err}");
    }

    #[test]
    fn all_with_names_is_invalid() {
        let e = normalize_ignore(&["all".into(), "Swap".into()]).unwrap_err();
        assert_eq!(crate::error::exit_code(&e), crate::error::Exit::Invalid);
        assert_eq!(normalize_ignore(&["Swap".into()]).unwrap(), ["swap"]);
    }
}
