//! `kbinit config migrate`: reads `--old-config`, has the planner ([`kbinit_phases::config::migrate()`]) rewrite
//! it in the newest kubeadm API version of its Kubernetes release, prints one warning per changed field, and
//! prints the new documents or writes them to `--new-config` (atomically, 0644 like kubeadm's file). Both paths
//! are the operator's files, not node paths, so `--root` does not apply to them.

use std::path::Path;

use crate::error::invalid;
use crate::host::Host;
use crate::output::Output;

/// Migrates `old` (see the module doc). Bad input exits 3 before anything is written.
pub fn migrate(
    host: &Host,
    old: &Path,
    new: Option<&Path>,
    allow_experimental: bool,
    out: &Output,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(old)
        .map_err(|e| invalid(format!("unable to read config from {:?}: {e}", old.display())))?;
    // the planner loads the documents only to prove old and new equivalent: a documentation address stands in
    // for a machine without a default route, as for `config validate`
    let mut facts = crate::host::facts::gather(host);
    facts.default_address.get_or_insert(std::net::IpAddr::from([192, 0, 2, 1]));
    let m = kbinit_phases::config::migrate(&text, allow_experimental, &facts)
        .map_err(|e| anyhow::Error::new(e).context(format!("--old-config {}", old.display())))?;
    m.warnings.iter().for_each(|w| out.warn(w));
    match new {
        None => out.raw(&m.text),
        Some(path) => crate::host::write_atomic(path, m.text.as_bytes(), 0o644)
            .map_err(|e| anyhow::anyhow!("writing --new-config {}: {e}", path.display()))?,
    }
    Ok(())
}
