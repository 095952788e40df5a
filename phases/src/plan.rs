//! What a planner returns and what it may look at: [`Step`]s to carry out, and a read-only [`NodeView`].
//!
//! Planners never touch the host. They read what is already on the node through [`NodeView`] (implemented by the
//! binary over its root directory, and by tests over a map) and return the effects as data, which the binary
//! applies in order.

use std::collections::BTreeMap;

/// How a file is classified, which decides its mode and how `--dry-run` announces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A certificate (0644).
    Cert,
    /// A private key or `sa.pub` (0600).
    Key,
    /// A kubeconfig with credentials (0600).
    Kubeconfig,
    /// A static Pod manifest (0600).
    Manifest,
    /// A kubelet file: config.yaml, kubeadm-flags.env, instance-config.yaml (0644).
    Kubelet,
}

impl FileKind {
    /// The file mode kubeadm gives files of this kind.
    pub fn mode(self) -> u32 {
        match self {
            FileKind::Cert | FileKind::Kubelet => 0o644,
            FileKind::Key | FileKind::Kubeconfig | FileKind::Manifest => 0o600,
        }
    }
}

/// One effect on the node, in the order it must happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A line for the operator, e.g. `[certs] Generating "ca" certificate and key`.
    Say(String),
    /// Create a directory (and its parents) with this mode if it does not exist.
    EnsureDir {
        /// Absolute node path.
        path: String,
        /// Mode for newly created directories.
        mode: u32,
    },
    /// Write a file atomically, replacing what is there.
    WriteFile {
        /// Absolute node path.
        path: String,
        /// The whole content.
        bytes: Vec<u8>,
        /// What the file is (decides its mode).
        kind: FileKind,
    },
}

impl Step {
    /// Shorthand for [`Step::Say`].
    pub fn say(line: impl Into<String>) -> Step {
        Step::Say(line.into())
    }
    /// Shorthand for [`Step::WriteFile`].
    pub fn write(path: impl Into<String>, bytes: impl Into<Vec<u8>>, kind: FileKind) -> Step {
        Step::WriteFile { path: path.into(), bytes: bytes.into(), kind }
    }
}

/// Read-only access to what is on the node, by absolute node path (e.g. `/etc/kubernetes/pki/ca.crt`).
pub trait NodeView {
    /// The file's content, or `None` when it does not exist or cannot be read.
    fn read(&self, path: &str) -> Option<Vec<u8>>;
    /// `true` when the path exists (file, directory or anything else).
    fn exists(&self, path: &str) -> bool;
    /// `true` when the path is a directory.
    fn is_dir(&self, path: &str) -> bool;
}

/// A [`NodeView`] over an in-memory map, for tests and for planning on an empty node.
#[derive(Debug, Default, Clone)]
pub struct MemoryNode {
    /// Files by absolute node path.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Directories by absolute node path.
    pub dirs: Vec<String>,
}

impl MemoryNode {
    /// Records the files a plan writes, so a later plan sees them (as on a real node).
    pub fn absorb(&mut self, steps: &[Step]) {
        for s in steps {
            match s {
                Step::WriteFile { path, bytes, .. } => {
                    self.files.insert(path.clone(), bytes.clone());
                }
                Step::EnsureDir { path, .. } => self.dirs.push(path.clone()),
                Step::Say(_) => {}
            }
        }
    }
}

impl NodeView for MemoryNode {
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        self.files.get(path).cloned()
    }
    fn exists(&self, path: &str) -> bool {
        self.files.contains_key(path) || self.is_dir(path)
    }
    fn is_dir(&self, path: &str) -> bool {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        self.dirs.iter().any(|d| d == path) || self.files.keys().any(|f| f.starts_with(&prefix))
    }
}
