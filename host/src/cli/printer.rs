//! All user-facing output: data to stdout, everything else to stderr, at the verbosity asked
//! for, with colour only on a terminal and never under `NO_COLOR`.

use std::io::{IsTerminal, Write};

use crate::render::{LogLevel, LogLine};
use crate::validate::{Finding, Severity};

/// How much to say on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Errors only.
    Quiet,
    /// Errors, warnings and notes.
    Normal,
    /// Everything, including prototypes' debug logs.
    Verbose,
}

/// The one printer of a `kiln` process.
#[derive(Debug, Clone)]
pub struct Printer {
    verbosity: Verbosity,
    color: bool,
}

impl Printer {
    /// A printer at `verbosity`; colour follows the terminal and `NO_COLOR`.
    pub fn new(verbosity: Verbosity) -> Self {
        let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Printer { verbosity, color }
    }

    /// Write data (YAML, JSON) to stdout, byte for byte: what goes to kubectl or a file.
    pub fn data(&self, text: &str) -> anyhow::Result<()> {
        self.data_with(|out| out.write_all(text.as_bytes()))
    }

    /// Write text for people (descriptions, tables, reports) to stdout, with the last line of
    /// defence of `sanitize`: untrusted parts were escaped where they were embedded.
    pub fn text(&self, text: &str) -> anyhow::Result<()> {
        self.data(&sanitize(text))
    }

    /// Write data to stdout as `write` produces it.
    pub fn data_with(
        &self,
        write: impl FnOnce(&mut std::io::StdoutLock<'static>) -> std::io::Result<()>,
    ) -> anyhow::Result<()> {
        let mut out = std::io::stdout().lock();
        match write(&mut out).and_then(|()| out.flush()) {
            // A closed pipe (`kiln show | head`) is not an error.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => Ok(other?),
        }
    }

    fn styled(&self, label: &str, code: &str) -> String {
        if self.color { format!("\x1b[{code}m{label}\x1b[0m") } else { label.to_string() }
    }

    /// A warning.
    pub fn warn(&self, message: &str) {
        if self.verbosity >= Verbosity::Normal {
            eprintln!("{}: {}", self.styled("warning", "1;33"), sanitize(message));
        }
    }

    /// A problem that is not the command's final error (one of several findings), shown at
    /// every verbosity.
    pub fn problem(&self, message: &str) {
        eprintln!("{}: {}", self.styled("error", "1;31"), sanitize(message));
    }

    /// A note, shown at normal verbosity.
    pub fn note(&self, message: &str) {
        if self.verbosity >= Verbosity::Normal {
            eprintln!("{}: {}", self.styled("note", "1;36"), sanitize(message));
        }
    }

    /// A progress line, shown at normal verbosity.
    pub fn progress(&self, message: &str) {
        if self.verbosity >= Verbosity::Normal {
            eprintln!("{}", sanitize(message));
        }
    }

    /// Whether a live status line suits stderr: a terminal that can redraw (not `TERM=dumb`),
    /// and the user did not ask for quiet.
    pub fn live(&self) -> bool {
        self.verbosity >= Verbosity::Normal
            && std::io::stderr().is_terminal()
            && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
    }

    /// Whether stderr takes colour (a terminal, and no `NO_COLOR`).
    pub fn colored(&self) -> bool {
        self.color
    }

    /// Whether stdout is a terminal that takes colour.
    pub fn color_stdout(&self) -> bool {
        std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
    }

    /// Detail, shown with `--verbose`.
    pub fn detail(&self, message: &str) {
        if self.verbosity >= Verbosity::Verbose {
            eprintln!("{}", sanitize(message));
        }
    }

    /// A prototype's log lines, tagged with the component.
    pub fn logs(&self, component: &str, lines: &[LogLine]) {
        for line in lines {
            let (label, code, min) = match line.level {
                LogLevel::Debug => ("debug", "2", Verbosity::Verbose),
                LogLevel::Info => ("info", "0", Verbosity::Normal),
                LogLevel::Warn => ("warn", "33", Verbosity::Normal),
                LogLevel::Error => ("error", "31", Verbosity::Quiet),
            };
            if self.verbosity >= min {
                eprintln!(
                    "[{component}] {}: {}",
                    self.styled(label, code),
                    crate::untrusted::Untrusted(&line.message)
                );
            }
        }
    }

    /// Report a failed command: the error, its causes numbered, and hints.
    pub fn report(&self, err: &anyhow::Error) {
        eprintln!("{}: {}", self.styled("error", "1;31"), sanitize(&err.to_string()));
        let causes: Vec<String> = err.chain().skip(1).map(|c| sanitize(&c.to_string())).collect();
        if !causes.is_empty() {
            eprintln!("caused by:");
            for (i, cause) in causes.iter().enumerate() {
                eprintln!("  {}: {cause}", i + 1);
            }
        }
        for hint in super::hints(err) {
            eprintln!("{}: {}", self.styled("hint", "1;32"), sanitize(&hint));
        }
    }
}

/// The notes of a session: the cache's notes and details, prototypes' logs, and validation
/// findings on the way to another command's output, each on stderr at its verbosity.
impl crate::session::Reporter for Printer {
    fn note(&self, text: &str) {
        Printer::note(self, text);
    }

    fn detail(&self, text: &str) {
        Printer::detail(self, text);
    }

    fn logs(&self, component: &str, lines: &[LogLine]) {
        Printer::logs(self, component, lines);
    }

    fn warn(&self, text: &str) {
        Printer::warn(self, text);
    }

    fn finding(&self, finding: &Finding) {
        let line = finding.to_string();
        let line = line.split_once(": ").map_or(line.as_str(), |(_, rest)| rest);
        match finding.severity {
            Severity::Error => self.problem(line),
            Severity::Warning => self.warn(line),
            Severity::Note => Printer::note(self, line),
        }
        if let Some(hint) = &finding.hint {
            self.progress(&format!("  hint: {}", crate::untrusted::Untrusted(hint)));
        }
    }
}

/// A message Kiln composed, on its way to the terminal: see [`crate::untrusted::message`].
pub fn sanitize(text: &str) -> String {
    crate::untrusted::message(text).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(super::sanitize("a\x1b[31mb\rc\n\td"), "a\\u{1b}[31mb\\rc\n\td");
    }
}
