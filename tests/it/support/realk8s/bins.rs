//! The real Kubernetes binaries of `../shared/k8s/<version>/` (xz-compressed upstream builds): unpacked once per
//! checkout into the target directory, under the checksum `SHA256SUMS` gives for them, and checked against it.
//! A missing archive, a missing `xz` or a checksum that does not match fails the test naming what to fix.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

/// Serialises unpacking within this test process (tests run on several threads).
static UNPACK: Mutex<()> = Mutex::new(());

/// Whether `../shared/k8s/<version>/<name>.xz` exists.
pub fn available(version: &str, name: &str) -> bool {
    crate::support::shared().join("k8s").join(version).join(format!("{name}.xz")).is_file()
}

/// The path of the unpacked, checksum-verified binary `name` of release `version` (`v1.33.3`).
pub fn binary(version: &str, name: &str) -> PathBuf {
    let k8s = crate::support::shared().join("k8s");
    let sums = std::fs::read_to_string(k8s.join("SHA256SUMS"))
        .unwrap_or_else(|e| panic!("{}: {e} (the real binaries of ../shared/k8s are needed)", k8s.display()));
    let key = format!("{version}/{name}");
    let sum = sums
        .lines()
        .find_map(|l| l.split_once("  ").filter(|(_, f)| *f == key).map(|(s, _)| s.to_string()))
        .unwrap_or_else(|| panic!("{key} is not in {}/SHA256SUMS", k8s.display()));
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("realk8s").join(&sum);
    let bin = dir.join(name);
    let _guard = UNPACK.lock().unwrap_or_else(|e| e.into_inner());
    if bin.is_file() {
        return bin;
    }
    crate::support::require_tool("xz");
    std::fs::create_dir_all(&dir).unwrap();
    let archive = k8s.join(format!("{key}.xz"));
    let partial = dir.join(format!(".{name}.partial"));
    let out = std::fs::File::create(&partial).unwrap();
    let status = Command::new("xz").arg("-dc").arg(&archive).stdout(out).status().unwrap();
    assert!(status.success(), "xz -dc {} failed", archive.display());
    let got = crate::support::run_ok("sha256sum", &[partial.to_str().unwrap()]);
    let got = got.split_whitespace().next().unwrap_or_default();
    assert_eq!(got, sum, "{} unpacks to a binary whose sha256 is not the one in SHA256SUMS", archive.display());
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::rename(&partial, &bin).unwrap();
    bin
}
