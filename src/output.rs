//! The only place kbinit prints. Phase lines go to stdout in kubeadm's words; warnings and debug detail go to
//! stderr. Passing an [`Output`] around (instead of printing from anywhere) keeps every line testable.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;

/// Where kbinit's lines go, and how much detail is wanted (`-v`/`--v=N`).
#[derive(Debug, Clone, Default)]
pub struct Output {
    verbosity: u8,
}

impl Output {
    /// An output at the given verbosity (0 = kubeadm's default).
    pub fn new(verbosity: u8) -> Output {
        Output { verbosity }
    }

    /// One line of progress, e.g. `[certs] Generating "ca" certificate and key`.
    pub fn say(&self, line: &str) {
        let mut out = std::io::stdout().lock();
        // a closed stdout (`kbinit … | head`) must not turn into a panic
        let _ = writeln!(out, "{line}");
    }

    /// Text printed exactly as given (no newline added), e.g. a whole YAML document.
    pub fn raw(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
    }

    /// A warning on stderr, prefixed like kubeadm's (`W…` lines become `[WARNING]`).
    pub fn warn(&self, line: &str) {
        let _ = writeln!(std::io::stderr().lock(), "[WARNING] {line}");
    }

    /// A line on stderr as is (preflight findings use this).
    pub fn err_line(&self, line: &str) {
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }

    /// Detail shown only at `--v` >= `level`.
    pub fn debug(&self, level: u8, line: &str) {
        if self.verbosity >= level {
            let _ = writeln!(std::io::stderr().lock(), "I {line}");
        }
    }
}
