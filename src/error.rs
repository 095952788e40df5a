//! Exit codes and the errors that carry them: 0 ok, 1 failure, 2 preflight, 3 invalid input (kubeadm's codes).

use std::fmt;

/// kbinit's exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success (also `--help` and `--version`).
    Ok = 0,
    /// Any failure.
    Failure = 1,
    /// Preflight checks failed.
    Preflight = 2,
    /// Invalid input: a flag, a config document or a value.
    Invalid = 3,
}

/// Preflight found errors that were not ignored. Its text is kubeadm's.
#[derive(Debug)]
pub struct PreflightFailed(pub String);

impl fmt::Display for PreflightFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for PreflightFailed {}

/// Bad input found by the binary itself (a flag value, a phase name, a flag mix).
#[derive(Debug)]
pub struct InvalidInput(pub String);

impl fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for InvalidInput {}

/// Shorthand to fail with [`InvalidInput`].
pub fn invalid(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(InvalidInput(msg.into()))
}

/// The exit code an error deserves, from the first cause in its chain that says.
pub fn exit_code(err: &anyhow::Error) -> Exit {
    for cause in err.chain() {
        if cause.is::<PreflightFailed>() {
            return Exit::Preflight;
        }
        if cause.is::<InvalidInput>() {
            return Exit::Invalid;
        }
        if let Some(e) = cause.downcast_ref::<kbinit_phases::Error>() {
            return if e.is_invalid_input() { Exit::Invalid } else { Exit::Failure };
        }
    }
    Exit::Failure
}
