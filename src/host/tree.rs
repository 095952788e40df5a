//! Whole directory trees on the node: emptying one (reset), copying one and marking the copy complete (the etcd
//! data backup of upgrade). Removing a tree or a single file is [`super::Host::remove_tree`] /
//! [`super::Host::remove`].
//! They act on machine paths the caller resolved through [`super::Host`].

use std::path::Path;

/// Deletes everything inside `dir` (not following symlinks) and keeps `dir`; a missing dir is fine.
pub fn clean_dir(dir: &Path) -> anyhow::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => anyhow::bail!("reading {}: {e}", dir.display()),
    };
    let mut failed = Vec::new();
    for entry in entries.flatten() {
        let p = entry.path();
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        let r = if is_dir { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
        if let Err(e) = r {
            failed.push(format!("{}: {e}", p.display()));
        }
    }
    if failed.is_empty() { Ok(()) } else { anyhow::bail!("{}", failed.join("; ")) }
}

/// Marks a copied tree complete: writes the empty file `name` inside `dir`, which a copy cut short lacks.
pub fn mark_complete(dir: &Path, name: &str) -> std::io::Result<()> {
    std::fs::write(dir.join(name), b"")
}

/// Copies a directory tree, keeping file modes.
pub fn copy_dir(src: &Path, dst: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dst)?;
    std::fs::set_permissions(dst, std::fs::Permissions::from_mode(0o700))?;
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let to = dst.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &to)?;
        } else {
            std::fs::copy(entry.path(), &to)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_dir_keeps_the_dir_and_does_not_follow_symlinks() {
        let t = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("keep"), "x").unwrap();
        let dir = t.path().join("d");
        std::fs::create_dir_all(dir.join("sub/deeper")).unwrap();
        std::fs::write(dir.join("sub/deeper/f"), "x").unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.join("link")).unwrap();
        clean_dir(&dir).unwrap();
        assert!(dir.is_dir());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        assert!(outside.path().join("keep").exists());
        clean_dir(&t.path().join("absent")).unwrap();
    }
}
