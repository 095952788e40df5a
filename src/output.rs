//! The only place kbinit prints. Phase lines go to stdout in kubeadm's words; warnings and debug detail go to
//! stderr. Passing an [`Output`] around (instead of printing from anywhere) keeps every line testable.
//!
//! With `--output jsonl` ([`Format::Jsonl`]) stdout carries only JSON events, one per line (schema in
//! [`crate::events`]): every human line becomes a `log` event, so nothing text mode shows is lost, and the
//! phase runner, the file applier and the API applier add their own events through [`Output::event`].

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;

use crate::events::{Event, Stream};

/// How a command prints: kubeadm's text, or JSON events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// kubeadm's human lines (stdout), warnings and detail (stderr).
    #[default]
    Text,
    /// One JSON event per line on stdout (see the events module's schema).
    Jsonl,
}

/// The name kbinit answers to: its own, or `kubeadm` when it is installed or linked under that name, where every
/// line that names the program (`kbinit join …`, `'kbinit init phase …'`) names `kubeadm` instead, as the
/// commands an operator or a tool (Cluster API, kubespray) copies from the output must run again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Program {
    /// `kbinit`.
    #[default]
    Kbinit,
    /// `kubeadm`.
    Kubeadm,
}

impl Program {
    /// The program as invoked: `kubeadm` when the file name of `argv[0]` is `kubeadm`.
    pub fn from_argv0(argv0: Option<&std::ffi::OsStr>) -> Program {
        let name = argv0.map(std::path::Path::new).and_then(std::path::Path::file_name);
        if name.is_some_and(|n| n == "kubeadm") { Program::Kubeadm } else { Program::Kbinit }
    }

    /// The command name.
    pub fn name(self) -> &'static str {
        match self {
            Program::Kbinit => "kbinit",
            Program::Kubeadm => "kubeadm",
        }
    }

    /// A human line with the program's commands named as invoked.
    fn words<'a>(self, line: &'a str) -> std::borrow::Cow<'a, str> {
        match self {
            Program::Kubeadm if line.contains("kbinit ") => line.replace("kbinit ", "kubeadm ").into(),
            _ => line.into(),
        }
    }
}

/// Where kbinit's lines go, and how much detail is wanted (`-v`/`--v=N`).
#[derive(Debug, Clone, Default)]
pub struct Output {
    verbosity: u8,
    format: Format,
    program: Program,
}

impl Output {
    /// A text output at the given verbosity (0 = kubeadm's default).
    pub fn new(verbosity: u8) -> Output {
        Output { verbosity, format: Format::Text, program: Program::Kbinit }
    }

    /// The same output for a program invoked as `program`.
    pub fn with_program(self, program: Program) -> Output {
        Output { program, ..self }
    }

    /// The name kbinit was invoked as.
    pub fn program(&self) -> Program {
        self.program
    }

    /// The same output printing in `format`.
    pub fn with_format(self, format: Format) -> Output {
        Output { format, ..self }
    }

    /// `true` when printing JSON events.
    pub fn is_jsonl(&self) -> bool {
        self.format == Format::Jsonl
    }

    /// Prints an event (JSON mode only; text mode has its own lines for the same facts).
    pub fn event(&self, event: &Event<'_>) {
        if self.is_jsonl() {
            let mut line = event.to_json().to_string();
            line.push('\n');
            // one write per event, under the lock: events never interleave
            let _ = std::io::stdout().lock().write_all(line.as_bytes());
        }
    }

    fn log(&self, line: &str, stream: Stream, v: Option<u8>) {
        self.event(&Event::Log { line, stream, v });
    }

    /// One line of progress, e.g. `[certs] Generating "ca" certificate and key`.
    pub fn say(&self, line: &str) {
        let line = &*self.program.words(line);
        if self.is_jsonl() {
            // the same lines text mode prints: an empty line too
            return line.split('\n').for_each(|l| self.log(l, Stream::Stdout, None));
        }
        let mut out = std::io::stdout().lock();
        // a closed stdout (`kbinit … | head`) must not turn into a panic
        let _ = writeln!(out, "{line}");
    }

    /// Text printed exactly as given (no newline added), e.g. a whole YAML document.
    pub fn raw(&self, text: &str) {
        let text = &*self.program.words(text);
        if self.is_jsonl() {
            let text = text.strip_suffix('\n').unwrap_or(text);
            if !text.is_empty() {
                text.split('\n').for_each(|l| self.log(l, Stream::Stdout, None));
            }
            return;
        }
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
    }

    /// A warning on stderr, prefixed like kubeadm's (`W…` lines become `[WARNING]`).
    pub fn warn(&self, line: &str) {
        let line = &*self.program.words(line);
        if self.is_jsonl() {
            return self.log(&format!("[WARNING] {line}"), Stream::Stderr, None);
        }
        let _ = writeln!(std::io::stderr().lock(), "[WARNING] {line}");
    }

    /// A line on stderr as is (preflight findings use this).
    pub fn err_line(&self, line: &str) {
        let line = &*self.program.words(line);
        if self.is_jsonl() {
            return line.split('\n').for_each(|l| self.log(l, Stream::Stderr, None));
        }
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }

    /// Detail shown only at `--v` >= `level`.
    pub fn debug(&self, level: u8, line: &str) {
        if self.verbosity < level {
            return;
        }
        let line = &*self.program.words(line);
        if self.is_jsonl() {
            return self.log(&format!("I {line}"), Stream::Stderr, Some(level));
        }
        let _ = writeln!(std::io::stderr().lock(), "I {line}");
    }

    /// The verbosity (`-v`).
    pub fn verbosity(&self) -> u8 {
        self.verbosity
    }
}
