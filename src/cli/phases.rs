//! The `phase` sub-commands of `init`, `join`, `reset`, `upgrade apply` and `upgrade node`: attached to their
//! command from the workflow in one way ([`attach`]), and read back from the matches in one way ([`phase_of`]).

use crate::workflow::Workflow;

/// Adds `wf`'s generated `phase` tree to the command `c` (every phase takes the command's flags, added by
/// `augment`) and the phase listing to its long help.
pub fn attach<D>(c: clap::Command, wf: &Workflow<D>, augment: fn(clap::Command) -> clap::Command) -> clap::Command {
    c.subcommand(wf.phase_command(augment))
        .after_long_help(wf.help_listing())
        .args_conflicts_with_subcommands(true)
        .term_width(0)
}

/// For a command's matches: the phase its `phase …` sub-command names (full name, without a trailing `all`)
/// and the matches that hold its flags; `None` when no phase was asked for.
pub fn phase_of(m: &clap::ArgMatches) -> Option<(String, &clap::ArgMatches)> {
    match m.subcommand() {
        Some(("phase", pm)) => Some(crate::workflow::matched_phase(pm)),
        _ => None,
    }
}
