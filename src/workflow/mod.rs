//! kubeadm's phase workflow: a tree of named phases run in order, `--skip-phases`, `<cmd> phase <name>` to run
//! one phase (or one sub-phase) alone, the `all` pseudo-phase, and the phase listing in `--help`.
//!
//! A [`Phase`] is plain data; the run data `D` is typed (kubeadm's is `interface{}` re-asserted in every
//! phase). Selection is pure ([`Workflow::select`]), so it is unit-tested without running anything.

use std::time::Instant;

use crate::error::invalid;
use crate::events::Event;
use crate::output::Output;

/// What a phase does when it runs.
/// The phase's own name is passed in, so one function can serve a table of sub-phases.
pub type RunFn<D> = fn(&mut D, &Output, &str) -> anyhow::Result<()>;
/// Whether a phase applies to this run (e.g. super-admin only for 1.29+); it is silently passed over if not.
pub type RunIf<D> = fn(&D) -> bool;

/// One phase: a name, a one-line help, optional children and an optional action.
pub struct Phase<D> {
    /// Name as used in `phase <name>` and `--skip-phases` (`parent/child` for children).
    pub name: &'static str,
    /// One-line help.
    pub short: String,
    /// Other accepted names (e.g. `uploadconfig`).
    pub aliases: &'static [&'static str],
    /// Left out of the `--help` listing (still runnable and skippable).
    pub hidden: bool,
    /// Sub-phases, in order.
    pub children: Vec<Phase<D>>,
    /// Offer an `all` sub-command that runs every child.
    pub with_all: bool,
    /// The phase's own action, run before its children.
    pub run: Option<RunFn<D>>,
    /// Run only when this says so.
    pub run_if: Option<RunIf<D>>,
}

impl<D> Phase<D> {
    /// A leaf phase with an action.
    pub fn leaf(name: &'static str, short: impl Into<String>, run: RunFn<D>) -> Phase<D> {
        Phase {
            name,
            short: short.into(),
            aliases: &[],
            hidden: false,
            children: Vec::new(),
            with_all: false,
            run: Some(run),
            run_if: None,
        }
    }
    /// A parent phase with children and an `all` sub-command; `run` (if any) runs before the children.
    pub fn parent(
        name: &'static str,
        short: impl Into<String>,
        run: Option<RunFn<D>>,
        children: Vec<Phase<D>>,
    ) -> Phase<D> {
        Phase { name, short: short.into(), aliases: &[], hidden: false, children, with_all: true, run, run_if: None }
    }
    /// Adds a run condition.
    pub fn run_if(mut self, f: RunIf<D>) -> Self {
        self.run_if = Some(f);
        self
    }
    /// Hides the phase from the help listing.
    pub fn hidden(mut self) -> Self {
        self.hidden = true;
        self
    }
    /// Adds aliases.
    pub fn aliases(mut self, a: &'static [&'static str]) -> Self {
        self.aliases = a;
        self
    }
}

/// A phase in a flattened workflow: its full name (`certs/ca`) and its place in the tree.
struct Flat<'a, D> {
    full: String,
    depth: usize,
    phase: &'a Phase<D>,
}

/// The phases of one command (init, join, reset).
pub struct Workflow<D> {
    /// The command's name, for messages.
    pub command: &'static str,
    /// Top-level phases, in order.
    pub phases: Vec<Phase<D>>,
}

impl<D> Workflow<D> {
    fn flatten(&self) -> Vec<Flat<'_, D>> {
        fn walk<'a, D>(p: &'a Phase<D>, prefix: &str, depth: usize, out: &mut Vec<Flat<'a, D>>) {
            let full = if prefix.is_empty() { p.name.to_string() } else { format!("{prefix}/{}", p.name) };
            out.push(Flat { full: full.clone(), depth, phase: p });
            for c in &p.children {
                walk(c, &full, depth + 1, out);
            }
        }
        let mut out = Vec::new();
        for p in &self.phases {
            walk(p, "", 0, &mut out);
        }
        out
    }

    /// Every phase's full name in run order (what `--skip-phases` accepts).
    pub fn names(&self) -> Vec<String> {
        self.flatten().into_iter().map(|f| f.full).collect()
    }

    /// Resolves a name or alias path (`uploadconfig/kubeadm`) to the canonical full name.
    fn canonical(&self, name: &str) -> Option<String> {
        let mut level = &self.phases;
        let mut full = Vec::new();
        for part in name.to_ascii_lowercase().split('/') {
            let p = level.iter().find(|p| p.name == part || p.aliases.contains(&part))?;
            full.push(p.name);
            level = &p.children;
        }
        Some(full.join("/"))
    }

    /// The full names of the phases to run, in order. `only` limits the run to one phase and its descendants
    /// (`None` = all); `skip` removes phases and their descendants. Unknown names are an error.
    pub fn select(&self, only: Option<&str>, skip: &[String]) -> anyhow::Result<Vec<String>> {
        let mut skipped = Vec::new();
        for s in skip.iter().flat_map(|s| s.split(',')).map(str::trim).filter(|s| !s.is_empty()) {
            match self.canonical(s) {
                Some(c) => skipped.push(c),
                None => return Err(invalid(format!("invalid phase name: {s}"))),
            }
        }
        let only = match only {
            Some(o) => Some(self.canonical(o).ok_or_else(|| invalid(format!("invalid phase name: {o}")))?),
            None => None,
        };
        let within = |name: &str, root: &str| name == root || name.starts_with(&format!("{root}/"));
        Ok(self
            .flatten()
            .into_iter()
            .map(|f| f.full)
            .filter(|n| only.as_deref().is_none_or(|o| within(n, o)))
            .filter(|n| !skipped.iter().any(|s| within(n, s)))
            .collect())
    }

    /// Runs the selected phases in order. `data` is built only when a phase first needs it, so `--help` and
    /// name errors never load configuration.
    ///
    /// Each selected phase is announced with a `phase-start` event and closed with a `phase-end` event once
    /// its selected descendants ran (so a parent's duration covers its children); a failure closes the failing
    /// phase and every phase around it with `"status":"error"`.
    pub fn run(&self, selected: &[String], data: &mut D, out: &Output) -> anyhow::Result<()> {
        let mut open = OpenPhases::default();
        for f in self.flatten() {
            if !selected.contains(&f.full) {
                continue;
            }
            open.close_outside(&f.full, out);
            open.start(&f.full, out);
            if let Some(cond) = f.phase.run_if
                && !cond(data)
            {
                out.debug(1, &format!("[{}] skipping phase {}: it does not apply", self.command, f.full));
                open.end_last("skipped", None, out);
                continue;
            }
            if let Some(run) = f.phase.run {
                out.debug(1, &format!("[{}] running phase {}", self.command, f.full));
                if let Err(e) = run(data, out, f.phase.name) {
                    open.fail_all(&e, out);
                    return Err(e.context(format!("error execution phase {}", f.full)));
                }
            }
        }
        open.close_outside("", out);
        Ok(())
    }

    /// The phase listing kubeadm puts in `<cmd> --help`.
    pub fn help_listing(&self) -> String {
        let flat: Vec<_> = self.flatten().into_iter().filter(|f| !f.phase.hidden).collect();
        let mut lines = vec![format!("The \"{}\" command executes the following phases:", self.command), "```".into()];
        let label = |f: &Flat<'_, D>| {
            if f.depth == 0 { f.phase.name.to_string() } else { format!("{}/{}", "  ".repeat(f.depth), f.phase.name) }
        };
        let width = flat.iter().map(|f| label(f).len()).max().unwrap_or(0) + 2;
        for f in &flat {
            lines.push(format!("{:width$}{}", label(f), f.phase.short));
        }
        lines.push("```".into());
        lines.join("\n")
    }

    /// The `phase` sub-command tree: one sub-command per phase (with `all` where a phase has children), each
    /// taking the command's flags through `add_flags`.
    pub fn phase_command(&self, add_flags: fn(clap::Command) -> clap::Command) -> clap::Command {
        fn build<D>(p: &Phase<D>, add_flags: fn(clap::Command) -> clap::Command) -> clap::Command {
            let mut c = clap::Command::new(p.name);
            if p.children.is_empty() {
                c = add_flags(c);
            } else {
                c = c
                    .subcommand_required(true)
                    .arg_required_else_help(true)
                    .after_help("This command is not meant to be run on its own. See list of available subcommands.");
                if p.with_all {
                    let all = add_flags(clap::Command::new("all"));
                    c = c.subcommand(all.about(format!("Run all {} phases", p.name)).long_about(None));
                }
                for child in &p.children {
                    c = c.subcommand(build(child, add_flags));
                }
            }
            // set after the flags: a flags struct's own doc comment must not become the phase's help
            c.about(p.short.clone()).long_about(None).hide(p.hidden).visible_aliases(p.aliases.iter().copied())
        }
        let mut cmd = clap::Command::new("phase")
            .about(format!("Use this command to invoke single phase of the {} workflow", self.command))
            .subcommand_required(true)
            .arg_required_else_help(true);
        for p in &self.phases {
            cmd = cmd.subcommand(build(p, add_flags));
        }
        cmd
    }
}

/// The phases started and not yet ended, outermost first, with their start times.
#[derive(Default)]
struct OpenPhases(Vec<(String, Instant)>);

impl OpenPhases {
    fn start(&mut self, phase: &str, out: &Output) {
        out.event(&Event::PhaseStart { phase });
        self.0.push((phase.to_string(), Instant::now()));
    }

    /// Ends the innermost open phase.
    fn end_last(&mut self, status: &'static str, error: Option<String>, out: &Output) {
        if let Some((phase, since)) = self.0.pop() {
            let duration_ms = u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX);
            if error.is_none() {
                out.debug(2, &format!("phase {phase} {status} after {duration_ms} ms"));
            }
            out.event(&Event::PhaseEnd { phase: &phase, duration_ms, status, error });
        }
    }

    /// Ends every open phase that is not an ancestor of `next` (`""`: ends them all).
    fn close_outside(&mut self, next: &str, out: &Output) {
        while let Some((top, _)) = self.0.last() {
            if !next.is_empty() && next.starts_with(&format!("{top}/")) {
                break;
            }
            self.end_last("ok", None, out);
        }
    }

    /// Ends every open phase as failed with the phase's error chain.
    fn fail_all(&mut self, e: &anyhow::Error, out: &Output) {
        let text = format!("{e:#}");
        while !self.0.is_empty() {
            self.end_last("error", Some(text.clone()), out);
        }
    }
}

/// Walks the matches of a `phase` sub-command down to the phase it names; returns the full name (without a
/// trailing `all`) and the matches holding the flags.
pub fn matched_phase(m: &clap::ArgMatches) -> (String, &clap::ArgMatches) {
    let mut parts = Vec::new();
    let mut cur = m;
    while let Some((name, sub)) = cur.subcommand() {
        if name != "all" {
            parts.push(name.to_string());
        }
        cur = sub;
    }
    (parts.join("/"), cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noop(_: &mut Vec<&'static str>, _: &Output, _: &str) -> anyhow::Result<()> {
        Ok(())
    }

    fn wf() -> Workflow<Vec<&'static str>> {
        Workflow {
            command: "init",
            phases: vec![
                Phase::leaf("preflight", "checks", noop),
                Phase::parent(
                    "certs",
                    "certs",
                    None,
                    vec![Phase::leaf("ca", "ca", noop), Phase::leaf("apiserver", "as", noop)],
                ),
                Phase::parent("upload-config", "uc", None, vec![Phase::leaf("kubeadm", "k", noop)])
                    .aliases(&["uploadconfig"]),
            ],
        }
    }

    #[test]
    fn selects_in_order_and_skips_subtrees() {
        let w = wf();
        assert_eq!(
            w.names(),
            ["preflight", "certs", "certs/ca", "certs/apiserver", "upload-config", "upload-config/kubeadm"]
        );
        assert_eq!(w.select(None, &["certs".into()]).unwrap(), ["preflight", "upload-config", "upload-config/kubeadm"]);
        assert_eq!(w.select(Some("certs"), &["certs/ca".into()]).unwrap(), ["certs", "certs/apiserver"]);
        assert_eq!(
            w.select(None, &["uploadconfig/kubeadm,preflight".into()]).unwrap(),
            ["certs", "certs/ca", "certs/apiserver", "upload-config"]
        );
    }

    #[test]
    fn rejects_unknown_names() {
        let err = wf().select(None, &["certs/nope".into()]).unwrap_err();
        assert_eq!(err.to_string(), "invalid phase name: certs/nope");
        assert!(wf().select(None, &["all".into()]).is_err(), "all is not a phase");
    }

    #[test]
    fn listing_names_children_with_a_slash() {
        let l = wf().help_listing();
        assert!(l.contains("certs        certs") || l.contains("certs"), "{l}");
        assert!(l.contains("  /ca"), "{l}");
    }
}
