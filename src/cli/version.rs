//! `kbinit version` and `kbinit completion`.

use clap::Args;

use crate::error::invalid;
use crate::output::Output;

/// Flags of `kbinit version`.
#[derive(Args, Debug)]
pub struct VersionArgs {
    /// Output: short, json or yaml (default: a line of text).
    #[arg(short = 'o', long = "output")]
    pub output: Option<String>,
}

/// Flags of `kbinit completion`.
#[derive(Args, Debug)]
pub struct CompletionArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}

/// Runs `kbinit version`.
pub fn version(a: VersionArgs, out: &Output) -> anyhow::Result<()> {
    let v = env!("CARGO_PKG_VERSION");
    let info = serde_json::json!({ "clientVersion": {
        "gitVersion": format!("v{v}"),
        "kubernetesVersions": format!("v1.{}-v1.{}", kbinit_phases::version::MIN_MINOR, kbinit_phases::version::MAX_MINOR),
        "platform": format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
    }});
    match a.output.as_deref() {
        None => out.say(&format!(
            "kbinit version: v{v} (sets up Kubernetes v1.{} to v1.{})",
            kbinit_phases::version::MIN_MINOR,
            kbinit_phases::version::MAX_MINOR
        )),
        Some("short") => out.say(&format!("v{v}")),
        Some("json") => out.say(&serde_json::to_string_pretty(&info)?),
        Some("yaml") => out.raw(&kbinit_phases::go_format::yaml::to_yaml(&info)),
        Some(o) => {
            return Err(invalid(format!("invalid output format {o:?}: use short, json or yaml")));
        }
    }
    Ok(())
}

/// Runs `kbinit completion`.
pub fn completion(a: CompletionArgs, out: &Output) -> anyhow::Result<()> {
    let mut cmd = super::command();
    let mut script = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "kbinit", &mut script);
    out.raw(&String::from_utf8_lossy(&script));
    Ok(())
}
