//! `kbinit kubeconfig user`: loads the configuration (`--config`, else defaults bound to this machine, as
//! kubeadm's `LoadOrDefaultInitConfiguration`), asks [`kbinit_phases::kubeconfig::user`] for the kubeconfig
//! signed by the CA under `--root`, and prints it on stdout. Nothing on the node changes.

use std::path::PathBuf;
use std::time::Duration;

use kbinit_phases::certs::{OnDemandKeys, PkiContext};
use kbinit_phases::config::{self, InitFlags};
use kbinit_phases::go_format::duration::parse_duration;
use kbinit_phases::kubeconfig::user::{self, DEFAULT_VALIDITY, UserRequest};

use crate::error::invalid;
use crate::host::{Host, facts};
use crate::output::Output;

/// The flags of `kubeconfig user`, as given.
#[derive(Debug, Clone, Default)]
pub struct UserFlags {
    /// `--client-name`.
    pub client_name: Option<String>,
    /// `--org` (repeatable, comma-separated).
    pub orgs: Vec<String>,
    /// `--validity-period` (Go duration; default 8760h).
    pub validity_period: Option<String>,
    /// `--token`.
    pub token: Option<String>,
    /// `--config`.
    pub config: Option<PathBuf>,
}

/// Checks the flags, builds the kubeconfig and prints it (kubeadm prints the document and a newline).
pub fn exec(host: &Host, flags: &UserFlags, out: &Output) -> anyhow::Result<()> {
    let client_name = flags
        .client_name
        .as_deref()
        .ok_or_else(|| invalid("required flag \"client-name\" not set: give the name of the user (--client-name)"))?;
    let validity = match &flags.validity_period {
        None => DEFAULT_VALIDITY,
        Some(v) => parse_validity(v)?,
    };
    let req = UserRequest { client_name, orgs: &flags.orgs, token: flags.token.as_deref(), validity };
    user::validate(&req)?;
    let text = crate::flows::read_config(flags.config.as_ref())?;
    let loaded = config::load_init(text.as_deref(), &InitFlags::default(), &facts::gather(host))?;
    loaded.warnings.iter().for_each(|w| out.warn(w));
    let cfg = loaded.config;
    let node = cfg.node();
    let ctx = PkiContext { cluster: &cfg.cluster, node: &node, now: time::OffsetDateTime::now_utc() };
    let made = user::user_kubeconfig(&ctx, &req, host, &OnDemandKeys)?;
    made.warnings.iter().for_each(|w| out.warn(w));
    out.raw(&made.text);
    out.say("");
    Ok(())
}

fn parse_validity(text: &str) -> anyhow::Result<Duration> {
    parse_duration(text).map_err(|e| {
        invalid(format!(
            "invalid argument {text:?} for \"--validity-period\" flag: {e} (a duration such as 8760h or 24h)"
        ))
    })
}
