//! Where results go: stdout, as text or (`--json`) JSON; notes and errors go to stderr so that
//! stdout stays machine-readable. Every write is flushed, so `watch` shows each event as it
//! arrives, and a write error (a closed pipe) ends the command instead of panicking.

use std::io::{self, Write};

use serde_json::Value;

use crate::failure::Failure;

/// The output form chosen on the command line.
pub struct Output {
    json: bool,
}

impl Output {
    pub fn new(json: bool) -> Self {
        Self { json }
    }

    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Prints a result: `text()` (a newline is added), or `json()` pretty-printed with `--json`.
    /// Only the chosen form is computed.
    pub fn result(
        &self,
        text: impl FnOnce() -> String,
        json: impl FnOnce() -> Value,
    ) -> Result<(), Failure> {
        if self.json {
            let pretty = serde_json::to_string_pretty(&json()).expect("a JSON value serializes");
            self.line(&pretty)
        } else {
            self.line(&text())
        }
    }

    /// Writes one line to stdout and flushes it.
    pub fn line(&self, line: &str) -> Result<(), Failure> {
        let mut stdout = io::stdout().lock();
        writeln!(stdout, "{line}")
            .and_then(|()| stdout.flush())
            .map_err(Failure::Output)
    }

    /// A remark for the person at the terminal, on stderr: `note: …`.
    pub fn note(&self, note: &str) {
        self.error(&format!("note: {note}"));
    }

    /// Writes to stderr; there is nowhere left to report a failure to do so.
    pub fn error(&self, text: &str) {
        let _ = writeln!(io::stderr().lock(), "{text}");
    }
}
