//! The `--patches` / `patches.directory` files that init, join and upgrade apply to what they render: read from
//! the directory (a path on the machine running kbinit, as kubeadm reads it) before anything on the node
//! changes, so a missing directory or a malformed patch is refused with the file named and nothing written.

use kbinit_phases::patches::{Patch, parse_patch_files};

use crate::error::invalid;
use crate::output::Output;

/// Reads a patches directory for the kubeadm of `version` (the targets it knows); empty = none. Files that do
/// not follow kubeadm's naming, name a target that release does not know or are empty are skipped with a warning
/// naming them, as kubeadm skips them.
pub fn load(dir: &str, version: &kbinit_phases::version::KubeVersion, out: &Output) -> anyhow::Result<Vec<Patch>> {
    if dir.is_empty() {
        return Ok(Vec::new());
    }
    let entries = std::fs::read_dir(dir).map_err(|e| invalid(format!("patches directory {dir:?}: {e}")))?;
    let mut files = Vec::new();
    for e in entries.flatten() {
        if e.path().is_file() {
            let text =
                std::fs::read_to_string(e.path()).map_err(|err| invalid(format!("{}: {err}", e.path().display())))?;
            files.push((e.file_name().to_string_lossy().into_owned(), text));
        }
    }
    let (patches, warnings) = parse_patch_files(&files, version)?;
    for w in warnings {
        out.warn(&w);
    }
    Ok(patches)
}
