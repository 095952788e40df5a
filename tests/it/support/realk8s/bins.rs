//! The real Kubernetes binaries of `../shared/k8s/<version>/` (xz-compressed upstream builds): unpacked once per
//! checkout into the target directory, under the checksum `SHA256SUMS` gives for them, and checked against it.
//! A missing archive, a missing `xz` or a checksum that does not match fails the test naming what to fix.

use std::path::PathBuf;

/// Whether `../shared/k8s/<version>/<name>.xz` exists.
pub fn available(version: &str, name: &str) -> bool {
    crate::support::shared().join("k8s").join(version).join(format!("{name}.xz")).is_file()
}

/// The path of the unpacked, checksum-verified binary `name` of release `version` (`v1.33.3`): the one unpacker
/// the real-node fixture also uses (it stands on its own so that benches/realnode.rs can include it), so both
/// share one cache and one lock.
pub fn binary(version: &str, name: &str) -> PathBuf {
    crate::support::realnode::k8s_binary(version, name)
}
