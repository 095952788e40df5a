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

/// Runs `kbinit version`; as `kubeadm`, kubeadm's own output for the newest Kubernetes release kbinit sets up
/// (what `kubeadm version` of that release says of itself; kbinit has no Go build facts, so the commit, build date
/// and Go version are empty, and the compiler is `rustc`).
pub fn version(a: VersionArgs, out: &Output) -> anyhow::Result<()> {
    if out.program() == crate::output::Program::Kubeadm {
        return kubeadm_version(a, out);
    }
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

fn kubeadm_version(a: VersionArgs, out: &Output) -> anyhow::Result<()> {
    let k = kbinit_phases::version::KubeVersion::default_version();
    let git_version = k.to_string();
    let platform = format!("{}/{}", std::env::consts::OS, if cfg!(target_arch = "x86_64") { "amd64" } else { "arm64" });
    let (major, minor) = (k.major.to_string(), k.minor.to_string());
    match a.output.as_deref() {
        None => out.say(&format!(
            "kubeadm version: &version.Info{{Major:\"{major}\", Minor:\"{minor}\", EmulationMajor:\"\", \
             EmulationMinor:\"\", MinCompatibilityMajor:\"\", MinCompatibilityMinor:\"\", GitVersion:\"{git_version}\", \
             GitCommit:\"\", GitTreeState:\"\", BuildDate:\"\", GoVersion:\"\", Compiler:\"rustc\", Platform:\"{platform}\"}}"
        )),
        Some("short") => out.say(&git_version),
        Some(o @ ("json" | "yaml")) => {
            // kubeadm's output API: clientVersion with version.Info's json names
            let info = serde_json::json!({ "clientVersion": {
                "major": major, "minor": minor, "gitVersion": git_version, "gitCommit": "", "gitTreeState": "",
                "buildDate": "", "goVersion": "", "compiler": "rustc", "platform": platform,
            }});
            if o == "json" {
                out.say(&serde_json::to_string_pretty(&info)?);
            } else {
                out.raw(&kbinit_phases::go_format::yaml::to_yaml(&info));
            }
        }
        Some(o) => return Err(invalid(format!("invalid output format {o:?}: use short, json or yaml"))),
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
