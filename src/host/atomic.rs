//! Atomic file writes: a temporary file in the same directory, created with mode 0600 by the very `open(2)` that
//! creates it (`O_CREAT|O_EXCL`, so never a pre-planted file or symlink, and the umask can only narrow it), so
//! no other user can ever read a key or a kubeconfig, not even between create and chmod; then given its final
//! mode (a `chmod` only when that differs: 0644 certificates are widened, 0600 files stay as created), written,
//! fsynced, renamed over the target, and the directory fsynced. A crash at any point leaves either the old file
//! or the new one, never a truncated one (a leftover temporary file is 0600 too).
//!
//! A writer killed between create and rename leaves its temporary file behind. Since one kbinit runs per node,
//! such a file named for a process that no longer exists is garbage: [`write_atomic`] removes the ones of its
//! own target before writing, and [`remove_stale_temps`] sweeps a directory (for targets a re-run reuses instead
//! of writing). A live writer's file is never touched.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The target a temporary file of a writer that no longer runs was for: `Some("ca.key")` for
/// `.ca.key.kbinit-<pid>-<n>.tmp` when `<pid>` is neither this process nor a running one.
fn stale_temp_target(file_name: &str) -> Option<&str> {
    let inner = file_name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (target, tail) = inner.rsplit_once(".kbinit-")?;
    let (pid, n) = tail.split_once('-')?;
    let pid: u32 = pid.parse().ok()?;
    n.parse::<u32>().ok()?;
    let running = pid == std::process::id() || Path::new("/proc").join(pid.to_string()).exists();
    (!target.is_empty() && !running).then_some(target)
}

/// Removes the temporary files in `dir` that writers killed mid-write left (for any target, or only for
/// `target`); returns the paths removed. A missing directory holds none.
fn remove_stale(dir: &Path, target: Option<&str>) -> std::io::Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut removed = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(of) = name.to_str().and_then(stale_temp_target) else { continue };
        if target.is_some_and(|t| t != of) || !entry.file_type()?.is_file() {
            continue;
        }
        match std::fs::remove_file(entry.path()) {
            Ok(()) => removed.push(entry.path()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(removed)
}

/// Removes every temporary file in `dir` left by a kbinit writer that was killed mid-write (see the module
/// documentation); returns the paths removed.
pub fn remove_stale_temps(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    remove_stale(dir, None)
}

/// Writes `bytes` to `path` atomically with permissions exactly `mode`. Missing parent directories are created
/// with 0755 (kubeadm's default for its directories).
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    if !dir.is_dir() {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new().recursive(true).mode(0o755).create(dir)?;
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // what a killed earlier writer of this target left goes first (best effort: it only takes space)
    let _ = remove_stale(dir, Some(&name));
    let mut attempt = 0u32;
    let (tmp_path, mut file) = loop {
        let tmp = dir.join(format!(".{name}.kbinit-{}-{attempt}.tmp", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp) {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
            Err(e) => return Err(e),
        }
    };
    let result = (|| {
        if file.metadata()?.permissions().mode() & 0o7777 != mode {
            file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp_path, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp_path);
    }
    result
}

/// A file written atomically in pieces (a stream too large to hold in memory): the same temporary file, mode and
/// fsyncs as [`write_atomic`]; nothing appears at the target until [`AtomicFile::commit`], and a writer dropped
/// (or an error) before that removes its temporary file. One killed with -9 leaves it, for [`remove_stale_temps`].
pub struct AtomicFile {
    tmp: PathBuf,
    target: PathBuf,
    file: Option<File>,
}

impl AtomicFile {
    /// Opens the temporary file for `path` with `mode` (the directory must exist).
    pub fn create(path: &Path, mode: u32) -> std::io::Result<AtomicFile> {
        let dir = path.parent().unwrap_or(Path::new("/"));
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let _ = remove_stale(dir, Some(&name));
        let mut attempt = 0u32;
        let (tmp, file) = loop {
            let tmp = dir.join(format!(".{name}.kbinit-{}-{attempt}.tmp", std::process::id()));
            match OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp) {
                Ok(f) => break (tmp, f),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
                Err(e) => return Err(e),
            }
        };
        let mut w = AtomicFile { tmp, target: path.to_path_buf(), file: Some(file) };
        if mode != 0o600 {
            w.file()?.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        Ok(w)
    }

    fn file(&mut self) -> std::io::Result<&mut File> {
        self.file.as_mut().ok_or_else(|| std::io::Error::other("the file was already committed"))
    }

    /// Appends bytes.
    pub fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.file()?.write_all(bytes)
    }

    /// fsyncs the data, renames it over the target and fsyncs the directory.
    pub fn commit(mut self) -> std::io::Result<()> {
        let file = self.file.take().ok_or_else(|| std::io::Error::other("the file was already committed"))?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&self.tmp, &self.target)?;
        let dir = self.target.parent().unwrap_or(Path::new("/"));
        File::open(dir)?.sync_all()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn writes_with_exact_mode_and_replaces() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a/b/key");
        write_atomic(&p, b"one", 0o600).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().mode() & 0o777, 0o600);
        write_atomic(&p, b"two", 0o644).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::metadata(&p).unwrap().mode() & 0o777, 0o644);
        let leftovers: Vec<_> = std::fs::read_dir(p.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp files left behind");
        // a wider file already there is replaced by a new inode: the key is never readable through the old mode
        std::fs::write(&p, b"old").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_atomic(&p, b"key", 0o600).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().mode() & 0o777, 0o600);
    }

    /// A pid no process has.
    fn dead_pid() -> u32 {
        (99999..).find(|p| !Path::new(&format!("/proc/{p}")).exists()).unwrap()
    }

    #[test]
    fn a_killed_writers_temp_file_is_removed_by_the_next_write_of_its_target() {
        let d = tempfile::tempdir().unwrap();
        let dead = dead_pid();
        let own = std::process::id();
        let stale = d.path().join(format!(".ca.key.kbinit-{dead}-0.tmp"));
        let other_target = d.path().join(format!(".sa.key.kbinit-{dead}-3.tmp"));
        let live = d.path().join(format!(".ca.key.kbinit-{own}-7.tmp"));
        let foreign = d.path().join(".ca.key.swp");
        for p in [&stale, &other_target, &live, &foreign] {
            std::fs::write(p, b"-----BEGIN PRIVATE KEY-----\nMIIE").unwrap();
        }
        write_atomic(&d.path().join("ca.key"), b"key", 0o600).unwrap();
        assert!(!stale.exists(), "the dead writer's temp file of ca.key is gone");
        assert!(other_target.exists(), "another target's is left to the sweep");
        assert!(live.exists() && foreign.exists(), "a live writer's and a foreign file are untouched");
        let removed = remove_stale_temps(d.path()).unwrap();
        assert_eq!(removed, vec![other_target.clone()]);
        assert!(live.exists() && foreign.exists());
        assert_eq!(remove_stale_temps(&d.path().join("missing")).unwrap(), Vec::<PathBuf>::new());
    }

    #[test]
    fn only_kbinit_temp_names_count() {
        let dead = dead_pid();
        assert_eq!(stale_temp_target(&format!(".ca.key.kbinit-{dead}-0.tmp")), Some("ca.key"));
        assert_eq!(stale_temp_target(&format!(".kubelet.conf.kbinit-{dead}-12.tmp")), Some("kubelet.conf"));
        for not in [
            format!("ca.key.kbinit-{dead}-0.tmp"),
            format!(".ca.key.kbinit-{dead}.tmp"),
            ".ca.key.kbinit-x-0.tmp".to_string(),
            format!("..kbinit-{dead}-0.tmp"),
            format!(".ca.key.kbinit-{}-0.tmp", std::process::id()),
        ] {
            assert_eq!(stale_temp_target(&not), None, "{not}");
        }
    }

    #[test]
    fn a_streamed_file_appears_only_on_commit_and_a_dropped_one_leaves_nothing() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("snap.db");
        let mut w = AtomicFile::create(&p, 0o600).unwrap();
        w.write_all(b"one ").unwrap();
        w.write_all(b"two").unwrap();
        assert!(!p.exists(), "nothing at the target before commit");
        w.commit().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"one two");
        assert_eq!(std::fs::metadata(&p).unwrap().mode() & 0o777, 0o600);
        let mut w = AtomicFile::create(&d.path().join("other.db"), 0o600).unwrap();
        w.write_all(b"half").unwrap();
        drop(w);
        let names: Vec<_> = std::fs::read_dir(d.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("snap.db")]);
    }
}
