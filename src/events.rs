//! The machine-readable events of `--output jsonl`: one JSON object per line on stdout, for automation and for a
//! timing breakdown of a run. In `text` mode no event is printed; the same run prints kubeadm's lines instead.
//!
//! # Schema
//!
//! Every event has `"event"` (its type) and `"time"` (UTC, RFC 3339 with milliseconds, e.g.
//! `"2024-05-01T10:00:00.123Z"`). The types, in the order a run emits them:
//!
//! | `event` | other fields |
//! |---|---|
//! | `phase-start` | `phase` (full name, `certs/ca`) |
//! | `phase-end` | `phase`, `duration_ms`, `status` (`ok`, `error`, or `skipped` when the phase does not apply to this run), `error` (only with `error`: the cause chain, without the `error execution phase …` prefix) |
//! | `file` | `path` (where the file was written on this machine: under `--root`, or in the dry-run directory), `node_path` (the path on the node, `/etc/kubernetes/pki/ca.key`), `mode` (octal string, `"0600"`), `sha256` (hex of the content), `dry_run` |
//! | `api` | `verb` (`GET`, `LIST`, `CREATE`, `UPDATE`, `PATCH`), `resource` (plural, `configmaps`), `group` (empty for core), `namespace` and `name` (`null` when the call has none), `status` (`ok`, `not-found`, `error`, or `dry-run`), `code` and `reason` (the server's answer, only with `not-found`/`error`), `dry_run` |
//! | `log` | `line` (one human line exactly as text mode prints it), `stream` (`stdout` or `stderr`: where text mode prints it), `v` (only for `-v` detail lines: the level that shows it) |
//! | `done` | `status` (`ok` or `error`), `duration_ms` (the whole command), `exit_code`, `error` (only with `error`: the whole message text mode prints after `error: `) |
//!
//! Phases nest: a parent's `phase-start` comes before its children's, and its `phase-end` after theirs, so its
//! duration covers them. A failing phase ends with `"status":"error"`, then every phase still open around it
//! ends the same way, then `done` follows.
//!
//! No event carries a secret: files are named and hashed, never shown; API events name objects, never their
//! content. The bootstrap token and the certificate key appear only inside `log` lines, exactly where text mode
//! prints them on purpose (the join commands at the end of init).

use std::path::Path;

use serde_json::{Map, Value, json};

/// One event. See the module documentation for the schema.
#[derive(Debug, Clone, PartialEq)]
pub enum Event<'a> {
    /// A phase begins.
    PhaseStart {
        /// Full phase name.
        phase: &'a str,
    },
    /// A phase ended.
    PhaseEnd {
        /// Full phase name.
        phase: &'a str,
        /// How long it ran, children included.
        duration_ms: u64,
        /// `ok`, `error` or `skipped`.
        status: &'static str,
        /// The cause chain when it failed.
        error: Option<String>,
    },
    /// A file was written.
    File {
        /// Where it was written on this machine.
        path: &'a Path,
        /// The node path it stands for.
        node_path: &'a str,
        /// Its permission bits.
        mode: u32,
        /// Its content, hashed.
        bytes: &'a [u8],
        /// Written into the dry-run directory.
        dry_run: bool,
    },
    /// An API call (or, in a dry run, a call that would be made).
    Api {
        /// `GET`, `LIST`, `CREATE`, `UPDATE`, `PATCH`.
        verb: &'a str,
        /// Plural resource name.
        resource: &'a str,
        /// API group (empty for core).
        group: &'a str,
        /// Namespace, for namespaced calls.
        namespace: Option<&'a str>,
        /// Object name, for calls on one object.
        name: Option<&'a str>,
        /// The outcome.
        outcome: ApiOutcome<'a>,
    },
    /// One human line.
    Log {
        /// The line.
        line: &'a str,
        /// Where text mode prints it.
        stream: Stream,
        /// The `-v` level that shows it (debug lines only).
        v: Option<u8>,
    },
    /// The command finished.
    Done {
        /// How long the command ran.
        duration_ms: u64,
        /// The error text when it failed.
        error: Option<String>,
        /// The process's exit code.
        exit_code: u8,
    },
}

/// How an API call went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiOutcome<'a> {
    /// The server accepted it.
    Ok,
    /// The server answered with an error status (404 included).
    Failed {
        /// HTTP status code, if the server answered.
        code: Option<u16>,
        /// The Status reason (`AlreadyExists`, `Conflict`, …) or the transport failure.
        reason: &'a str,
    },
    /// Dry run: not sent.
    DryRun,
}

/// The two streams text mode prints to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Progress lines.
    Stdout,
    /// Warnings, preflight findings, `-v` detail.
    Stderr,
}

impl Event<'_> {
    /// The event as one JSON object, stamped with the current time.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_string(), v);
        };
        match self {
            Event::PhaseStart { phase } => {
                put("event", "phase-start".into());
                put("phase", (*phase).into());
            }
            Event::PhaseEnd { phase, duration_ms, status, error } => {
                put("event", "phase-end".into());
                put("phase", (*phase).into());
                put("duration_ms", (*duration_ms).into());
                put("status", (*status).into());
                if let Some(e) = error {
                    put("error", e.as_str().into());
                }
            }
            Event::File { path, node_path, mode, bytes, dry_run } => {
                put("event", "file".into());
                put("path", path.to_string_lossy().into_owned().into());
                put("node_path", (*node_path).into());
                put("mode", format!("{mode:04o}").into());
                put("sha256", sha256_hex(bytes).into());
                put("dry_run", (*dry_run).into());
            }
            Event::Api { verb, resource, group, namespace, name, outcome } => {
                put("event", "api".into());
                put("verb", (*verb).into());
                put("resource", (*resource).into());
                put("group", (*group).into());
                put("namespace", json!(namespace));
                put("name", json!(name));
                match outcome {
                    ApiOutcome::Ok => put("status", "ok".into()),
                    ApiOutcome::Failed { code, reason } => {
                        put("status", if *code == Some(404) { "not-found" } else { "error" }.into());
                        put("code", json!(code));
                        put("reason", (*reason).into());
                    }
                    ApiOutcome::DryRun => put("status", "dry-run".into()),
                }
                put("dry_run", matches!(outcome, ApiOutcome::DryRun).into());
            }
            Event::Log { line, stream, v } => {
                put("event", "log".into());
                put("line", (*line).into());
                put("stream", if *stream == Stream::Stdout { "stdout" } else { "stderr" }.into());
                if let Some(v) = v {
                    put("v", (*v).into());
                }
            }
            Event::Done { duration_ms, error, exit_code } => {
                put("event", "done".into());
                put("status", if error.is_some() { "error" } else { "ok" }.into());
                put("duration_ms", (*duration_ms).into());
                put("exit_code", (*exit_code).into());
                if let Some(e) = error {
                    put("error", e.as_str().into());
                }
            }
        }
        m.insert("time".into(), now_rfc3339().into());
        Value::Object(m)
    }
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes))
}

/// The current UTC time as RFC 3339 with milliseconds.
fn now_rfc3339() -> String {
    let t = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_end_carries_the_error_only_when_failed() {
        let ok = Event::PhaseEnd { phase: "certs/ca", duration_ms: 5, status: "ok", error: None }.to_json();
        assert_eq!(ok["event"], "phase-end");
        assert_eq!(ok["duration_ms"], 5);
        assert!(ok.get("error").is_none());
        let bad = Event::PhaseEnd { phase: "certs/ca", duration_ms: 1, status: "error", error: Some("boom".into()) }
            .to_json();
        assert_eq!(bad["error"], "boom");
        let t = bad["time"].as_str().unwrap();
        assert_eq!(t.len(), "2024-05-01T10:00:00.123Z".len(), "{t}");
        assert!(t.ends_with('Z') && t.as_bytes()[10] == b'T', "{t}");
    }

    #[test]
    fn file_event_hashes_and_never_shows_content() {
        let e = Event::File {
            path: Path::new("/r/etc/kubernetes/pki/ca.key"),
            node_path: "/etc/kubernetes/pki/ca.key",
            mode: 0o600,
            bytes: b"abc",
            dry_run: false,
        }
        .to_json();
        assert_eq!(e["mode"], "0600");
        assert_eq!(e["sha256"], "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(!e.to_string().contains("\"abc\""));
    }

    #[test]
    fn api_outcomes() {
        let call = |outcome| {
            Event::Api {
                verb: "GET",
                resource: "secrets",
                group: "",
                namespace: Some("kube-system"),
                name: None,
                outcome,
            }
            .to_json()
        };
        let nf = call(ApiOutcome::Failed { code: Some(404), reason: "NotFound" });
        assert_eq!((nf["status"].as_str(), nf["code"].as_u64()), (Some("not-found"), Some(404)));
        assert_eq!(nf["name"], Value::Null);
        let dry = call(ApiOutcome::DryRun);
        assert_eq!((dry["status"].as_str(), dry["dry_run"].as_bool()), (Some("dry-run"), Some(true)));
        assert_eq!(call(ApiOutcome::Ok)["dry_run"], false);
    }
}
