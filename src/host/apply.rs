//! Carries out a planner's [`Step`]s on the [`Host`], in order, and announces writes the way kubeadm's dry-run
//! does. Every file written (dry-run included) is also a `file` event for `--output jsonl`: where it landed, its
//! mode and its SHA-256, never its content.

use kbinit_phases::plan::{FileKind, Step};

use crate::events::Event;
use crate::host::Host;
use crate::output::Output;

/// Applies the steps. In dry-run mode files land in the dry-run directory and are announced (with their
/// content, except for keys, certificates and kubeconfigs).
pub fn apply(steps: &[Step], host: &Host, out: &Output) -> anyhow::Result<()> {
    for step in steps {
        match step {
            Step::Say(line) => out.say(line),
            Step::EnsureDir { path, mode } => host.ensure_dir(path, *mode)?,
            Step::WriteFile { path, bytes, kind } => {
                host.write(path, bytes, kind.mode())?;
                out.event(&Event::File {
                    path: &host.write_path(path),
                    node_path: path,
                    mode: kind.mode(),
                    bytes,
                    dry_run: host.is_dry_run(),
                });
                out.debug(2, &format!("wrote {path} ({:o}, {} bytes)", kind.mode(), bytes.len()));
                if host.is_dry_run() {
                    announce(path, bytes, *kind, out);
                }
            }
        }
    }
    Ok(())
}

fn announce(path: &str, bytes: &[u8], kind: FileKind, out: &Output) {
    match kind {
        FileKind::Manifest | FileKind::Kubelet => {
            out.say(&format!("[dryrun] Would write file {path:?} with content:"));
            let text = String::from_utf8_lossy(bytes);
            let body: String = text.lines().map(|l| format!("\t{l}\n")).collect();
            out.raw(&body);
        }
        FileKind::Cert | FileKind::Key | FileKind::Kubeconfig => {
            out.say(&format!(
                "[dryrun] Would write file {path:?} (mode {:04o}; not printed: key material or credentials)",
                kind.mode()
            ));
        }
    }
}
