//! Flags before the sub-command they belong to, as kubeadm's command line takes them: cobra parses the flags of
//! the final command wherever they stand, so `kubeadm --kubeconfig F token create` and `kubeadm init phase
//! --config F upload-certs` work (kubespray's kubeadm roles run both forms). clap wants each flag after its own
//! command, so such flags are moved there before parsing; a flag the command it stands after knows itself, and
//! everything from the first positional argument or `--` on, stays where it is.

use std::ffi::OsString;

/// The long or short name of a flag token (`--name`, `--name=value`, `-n`), without its dashes.
fn flag_name(token: &str) -> Option<(&str, bool)> {
    if let Some(long) = token.strip_prefix("--") {
        let (name, inline) = match long.split_once('=') {
            Some((n, _)) => (n, true),
            None => (long, false),
        };
        return (!name.is_empty()).then_some((name, inline));
    }
    let short = token.strip_prefix('-')?;
    (short.len() == 1).then_some((short, false))
}

/// The argument `cmd` itself (not a descendant) defines under the long or short name `name`.
fn own_arg<'a>(cmd: &'a clap::Command, name: &str) -> Option<&'a clap::Arg> {
    cmd.get_arguments()
        .find(|a| a.get_long() == Some(name) || a.get_short().is_some_and(|s| name.len() == 1 && name.starts_with(s)))
}

/// Whether the flag `name`, wherever it is defined under `cmd`, takes a value.
fn takes_value(cmd: &clap::Command, name: &str) -> bool {
    match own_arg(cmd, name) {
        Some(a) => a.get_action().takes_values(),
        None => cmd.get_subcommands().any(|c| takes_value(c, name)),
    }
}

/// `argv` with every flag that stands before a later sub-command, and that the command it stands after does not
/// define, moved behind the last sub-command name.
pub fn hoist(root: &clap::Command, argv: Vec<OsString>) -> Vec<OsString> {
    let mut it = argv.into_iter();
    let Some(program) = it.next() else { return Vec::new() };
    let rest: Vec<OsString> = it.collect();
    let mut path: Vec<OsString> = Vec::new();
    let mut moved: Vec<OsString> = Vec::new();
    let mut kept: Vec<OsString> = Vec::new();
    let mut cmd = root;
    let mut i = 0;
    while i < rest.len() {
        let Some(token) = rest[i].to_str() else { break };
        if token == "--" {
            break;
        }
        if let Some((name, inline)) = flag_name(token) {
            let value = !inline && takes_value(cmd, name);
            let n = if value { 2 } else { 1 };
            let group = rest[i..(i + n).min(rest.len())].to_vec();
            if own_arg(cmd, name).is_some() {
                kept.extend(group)
            } else {
                moved.extend(group)
            }
            i += n;
            continue;
        }
        match cmd.find_subcommand(token) {
            Some(sub) => {
                path.append(&mut kept);
                path.push(rest[i].clone());
                cmd = sub;
                i += 1;
            }
            None => break,
        }
    }
    let mut out = vec![program];
    out.extend(path);
    out.extend(kept);
    out.extend(moved);
    out.extend(rest.into_iter().skip(i));
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn run(line: &str) -> String {
        let argv: Vec<OsString> = line.split(' ').map(OsString::from).collect();
        let out = hoist(&crate::cli::command(), argv);
        out.iter().map(|a| a.to_string_lossy().into_owned()).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn a_flag_of_a_later_command_moves_behind_it() {
        assert_eq!(
            run("kubeadm --kubeconfig /etc/kubernetes/admin.conf token create"),
            "kubeadm token create --kubeconfig /etc/kubernetes/admin.conf"
        );
        assert_eq!(
            run("kubeadm init phase --config /etc/kubernetes/kubeadm-config.yaml upload-certs --upload-certs"),
            "kubeadm init phase upload-certs --upload-certs --config /etc/kubernetes/kubeadm-config.yaml"
        );
        assert_eq!(
            run("kubeadm --kubeconfig=/a.conf token delete abcdef"),
            "kubeadm token delete --kubeconfig=/a.conf abcdef"
        );
    }

    #[test]
    fn flags_in_place_and_positionals_are_left_alone() {
        // a global flag of the root stays where it is, with its value
        assert_eq!(run("kbinit --root /tmp/r init --dry-run"), "kbinit --root /tmp/r init --dry-run");
        assert_eq!(run("kbinit -v 5 token list"), "kbinit -v 5 token list");
        // already in order
        assert_eq!(run("kubeadm token create --print-join-command"), "kubeadm token create --print-join-command");
        // a positional that is not a sub-command ends the walk: nothing after it moves
        assert_eq!(run("kubeadm join lb:6443 --token x"), "kubeadm join lb:6443 --token x");
        assert_eq!(run("kubeadm upgrade apply -y v1.33.3 --force"), "kubeadm upgrade apply -y v1.33.3 --force");
    }

    #[test]
    fn every_hoisted_line_parses() {
        for line in [
            "kubeadm --kubeconfig /etc/kubernetes/admin.conf token create",
            "kubeadm init phase --config /etc/kubernetes/kubeadm-config.yaml upload-certs --upload-certs",
        ] {
            let argv: Vec<OsString> = line.split(' ').map(OsString::from).collect();
            let hoisted = hoist(&crate::cli::command(), argv);
            crate::cli::command().try_get_matches_from(hoisted).unwrap();
        }
    }
}
