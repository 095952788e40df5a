//! The node as kbinit sees it: every node path resolved under one root directory (`--root`, default `/`),
//! atomic writes with the right mode from the first byte, and `--dry-run`, which sends every write into a fresh
//! directory instead while reads still see the real node ([`Host::for_command`]), or, for the commands that only
//! list what they would do (reset, upgrade), refuses every write ([`Host::for_listing_command`]). Flows ask
//! [`Host::is_dry_run`]; nothing else decides dry-run.
//!
//! This is the only module that writes to the file system: `.clippy.toml` refuses `std::fs` writes everywhere
//! else, and allows them here.

#![allow(clippy::disallowed_methods)]

pub mod apply;
mod atomic;
pub mod facts;
pub mod services;
pub mod tree;

use std::path::{Path, PathBuf};

use anyhow::Context;
use kbinit_phases::plan::NodeView;

use crate::error::invalid;
use crate::output::Output;

pub use atomic::{AtomicFile, remove_stale_temps, write_atomic};

/// The node's file system, under a root, with an optional dry-run redirect.
#[derive(Debug, Clone)]
pub struct Host {
    root: PathBuf,
    dry_run_dir: Option<PathBuf>,
    /// A dry run that renders nothing: the flow only says what it would do (reset, upgrade).
    listing: bool,
}

impl Host {
    /// A host rooted at `root`; with `dry_run_dir`, writes go there (as a tree mirroring the node) and nothing
    /// under `root` changes.
    pub fn new(root: PathBuf, dry_run_dir: Option<PathBuf>) -> Host {
        Host { root, dry_run_dir, listing: false }
    }

    /// The host for a command: the root, and with `--dry-run` a fresh directory (or `--dry-run-dir`, which must
    /// be new or empty) that receives every write; says where dry-run files go. This is where dry-run is decided.
    pub fn for_command(
        root: &Path,
        dry_run: bool,
        dry_run_dir: Option<&PathBuf>,
        cmd: &str,
        out: &Output,
    ) -> anyhow::Result<Host> {
        if !root.is_dir() {
            return Err(invalid(format!("--root {:?} is not a directory", root.display())));
        }
        let dir = match (dry_run, dry_run_dir) {
            (false, Some(_)) => return Err(invalid("--dry-run-dir can only be used with --dry-run")),
            (false, None) => None,
            (true, Some(d)) => {
                let non_empty = std::fs::read_dir(d).map(|mut e| e.next().is_some()).unwrap_or(false);
                if non_empty {
                    return Err(invalid(format!(
                        "--dry-run-dir {:?} is not empty: pick a new or empty directory",
                        d.display()
                    )));
                }
                std::fs::create_dir_all(d).map_err(|e| anyhow::anyhow!("creating {}: {e}", d.display()))?;
                Some(d.clone())
            }
            (true, None) => Some(
                tempfile::Builder::new()
                    .prefix(&format!("kbinit-{cmd}-dryrun"))
                    .tempdir()
                    .map_err(|e| anyhow::anyhow!("creating the dry-run directory: {e}"))?
                    .keep(),
            ),
        };
        if let Some(d) = &dir {
            out.say(&format!("[dryrun] Nothing on the node changes; every file is rendered into {:?}", d.display()));
        }
        Ok(Host::new(root.to_path_buf(), dir))
    }

    /// The host for a command whose `--dry-run` renders nothing and only lists what it would do (`reset`,
    /// `upgrade apply|node`): no directory is made and nothing is said here; [`Host::is_dry_run`] tells the flow to
    /// say `Would …` instead of acting, and every write or removal is refused. The other half of where dry-run is
    /// decided, beside [`Host::for_command`].
    pub fn for_listing_command(root: &Path, dry_run: bool) -> anyhow::Result<Host> {
        if !root.is_dir() {
            return Err(invalid(format!("--root {:?} is not a directory", root.display())));
        }
        Ok(Host { root: root.to_path_buf(), dry_run_dir: None, listing: dry_run })
    }

    /// `true` when dry-running: writes go to the dry-run directory (or, for a listing dry run, nowhere) and nothing
    /// on the node changes.
    pub fn is_dry_run(&self) -> bool {
        self.dry_run_dir.is_some() || self.listing
    }

    /// An error when this is a listing dry run, which must not change anything.
    fn refuse_listing(&self, what: &str) -> std::io::Result<()> {
        if self.listing {
            return Err(std::io::Error::other(format!("{what} in a dry run")));
        }
        Ok(())
    }

    /// `true` when the root is `/`, i.e. kbinit acts on the real machine (services may be started).
    pub fn is_real_root(&self) -> bool {
        self.root == Path::new("/")
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The dry-run directory, when dry-running.
    pub fn dry_run_dir(&self) -> Option<&Path> {
        self.dry_run_dir.as_deref()
    }

    /// Where a node path lives on this machine (under the root).
    pub fn path(&self, node_path: &str) -> PathBuf {
        self.root.join(node_path.trim_start_matches('/'))
    }

    /// Where a write of this node path goes (the dry-run directory when dry-running).
    pub fn write_path(&self, node_path: &str) -> PathBuf {
        match &self.dry_run_dir {
            Some(d) => d.join(node_path.trim_start_matches('/')),
            None => self.path(node_path),
        }
    }

    /// Where reads of a node path are served from: the dry-run copy if one was written, else the node.
    fn read_path(&self, node_path: &str) -> PathBuf {
        if let Some(d) = &self.dry_run_dir {
            let p = d.join(node_path.trim_start_matches('/'));
            if p.exists() {
                return p;
            }
        }
        self.path(node_path)
    }

    /// Writes a file atomically with its final mode (see [`write_atomic`]).
    pub fn write(&self, node_path: &str, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
        self.refuse_listing(&format!("writing {node_path}"))?;
        let p = self.write_path(node_path);
        write_atomic(&p, bytes, mode).with_context(|| format!("writing {node_path}"))
    }

    /// Starts an atomic write of a node path in pieces (see [`AtomicFile`]); its directory must exist. Not for
    /// dry runs.
    pub fn create_atomic(&self, node_path: &str, mode: u32) -> anyhow::Result<AtomicFile> {
        anyhow::ensure!(self.dry_run_dir.is_none(), "streaming {node_path} in a dry run");
        AtomicFile::create(&self.path(node_path), mode).with_context(|| format!("creating {node_path}"))
    }

    /// Removes a directory tree that kbinit itself made and that holds nothing to keep (a half-built
    /// restore). Not for dry runs.
    pub fn remove_dir_all(&self, node_path: &str) -> anyhow::Result<()> {
        anyhow::ensure!(self.dry_run_dir.is_none(), "removing {node_path} in a dry run");
        match std::fs::remove_dir_all(self.path(node_path)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(anyhow::Error::new(e).context(format!("removing {node_path}"))),
        }
    }

    /// Removes what writers killed mid-write left in these node directories (see [`remove_stale_temps`]) and
    /// returns the node paths removed; nothing when dry-running (the node is only read then).
    pub fn remove_stale_temps(&self, node_dirs: &[&str]) -> anyhow::Result<Vec<String>> {
        if self.dry_run_dir.is_some() {
            return Ok(Vec::new());
        }
        let mut removed = Vec::new();
        for dir in node_dirs {
            let found = remove_stale_temps(&self.path(dir)).with_context(|| format!("cleaning up {dir}"))?;
            removed.extend(found.iter().filter_map(|p| {
                let name = p.file_name()?.to_string_lossy().into_owned();
                Some(format!("{}/{name}", dir.trim_end_matches('/')))
            }));
        }
        Ok(removed)
    }

    /// Removes a file on the node (under the root; a dry run does not call this). `NotFound` is the caller's to
    /// judge.
    pub fn remove(&self, node_path: &str) -> std::io::Result<()> {
        self.refuse_listing(&format!("removing {node_path}"))?;
        std::fs::remove_file(self.path(node_path))
    }

    /// Removes a directory tree on the node (under the root; a dry run does not call this).
    pub fn remove_tree(&self, node_path: &str) -> std::io::Result<()> {
        self.refuse_listing(&format!("removing {node_path}"))?;
        std::fs::remove_dir_all(self.path(node_path))
    }

    /// Creates a directory and its missing parents; new directories get `mode`.
    pub fn ensure_dir(&self, node_path: &str, mode: u32) -> anyhow::Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        self.refuse_listing(&format!("creating directory {node_path}"))?;
        let p = self.write_path(node_path);
        if p.is_dir() {
            return Ok(());
        }
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(mode)
            .create(&p)
            .with_context(|| format!("creating directory {node_path}"))
    }

    /// Moves a node path to another in the same file system (`rename(2)`, atomic), then fsyncs both
    /// directories, so a crash leaves the file in exactly one of the two places. Not for dry runs.
    pub fn rename(&self, from: &str, to: &str) -> anyhow::Result<()> {
        anyhow::ensure!(!self.is_dry_run(), "moving {from} to {to} in a dry run");
        let (a, b) = (self.path(from), self.path(to));
        std::fs::rename(&a, &b).with_context(|| format!("moving {from} to {to}"))?;
        for dir in [a.parent(), b.parent()].into_iter().flatten() {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .with_context(|| format!("syncing {}", dir.display()))?;
        }
        Ok(())
    }

    /// Removes a file; one that does not exist is not an error. Not for dry runs.
    pub fn remove_file(&self, node_path: &str) -> anyhow::Result<()> {
        anyhow::ensure!(!self.is_dry_run(), "removing {node_path} in a dry run");
        match std::fs::remove_file(self.path(node_path)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(anyhow::Error::new(e).context(format!("removing {node_path}"))),
        }
    }

    /// Reads a node path (through the dry-run overlay).
    pub fn read(&self, node_path: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.read_path(node_path))
    }
}

impl NodeView for Host {
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        Host::read(self, path).ok()
    }
    fn exists(&self, path: &str) -> bool {
        self.read_path(path).symlink_metadata().is_ok()
    }
    fn is_dir(&self, path: &str) -> bool {
        self.read_path(path).is_dir()
    }
}
