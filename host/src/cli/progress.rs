//! Progress of a cluster verb (apply, delete, and anything else that reports
//! [`cluster::Event`]s), on stderr.
//!
//! Not on a terminal (a pipe, a CI log, the tests) it prints plain lines, as it always did: each
//! object's outcome with `--show-objects` (or `--verbose`), what is waited on with `--verbose`,
//! notes and warnings; the verb prints its summary line after. On a terminal it also keeps a
//! live status line under those: the verb, objects done and to do, counts by outcome, and what
//! it waits on and why, redrawn in place (indicatif) and cleared when the verb ends. `--quiet`
//! shows neither; `NO_COLOR` leaves the status line uncoloured.
//!
//! A new kind of event is one arm in [`Progress::event`] (what line it prints) and, if it
//! changes the status, one in [`Status::record`].

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Printer;
use crate::cluster::Event;

/// What the status line says: the verb, counts, and what is waited on. Kept apart from the
/// drawing so its text can be tested.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// What is being done: "applying `dev`".
    action: String,
    /// Objects done so far.
    done: usize,
    /// Objects to do in all, as far as known (a prune may find more).
    total: usize,
    /// Objects done, by outcome word, in the order first seen.
    outcomes: Vec<(String, usize)>,
    /// What is waited on: "Deployment/ns/web to be ready".
    waiting: Option<String>,
}

impl Status {
    /// The status of `action` on `total` objects, none done yet.
    pub fn new(action: impl Into<String>, total: usize) -> Self {
        Status { action: action.into(), total, ..Status::default() }
    }

    /// Take `event` into account.
    pub fn record(&mut self, event: &Event) {
        match event {
            Event::Done(key, outcome) => {
                self.done += 1;
                self.total = self.total.max(self.done);
                let word = outcome.word();
                match self.outcomes.iter_mut().find(|(w, _)| w == word) {
                    Some((_, n)) => *n += 1,
                    None => self.outcomes.push((word.to_string(), 1)),
                }
                if self.waiting.as_deref().is_some_and(|w| w.starts_with(&format!("{key} "))) {
                    self.waiting = None;
                }
            }
            Event::Waiting(key, what) => self.waiting = Some(format!("{key} to be {what}")),
            Event::Note(_) | Event::Warning(_) => {}
        }
    }

    /// The status line: `applying `dev`: 3/8 done (2 created, 1 unchanged), waiting for
    /// Deployment/ns/web to be ready`.
    pub fn line(&self) -> String {
        let mut line = format!("{}: {}/{} done", self.action, self.done, self.total);
        if !self.outcomes.is_empty() {
            let counts: Vec<String> =
                self.outcomes.iter().map(|(word, n)| format!("{n} {word}")).collect();
            line.push_str(&format!(" ({})", counts.join(", ")));
        }
        if let Some(waiting) = &self.waiting {
            line.push_str(&format!(", waiting for {waiting}"));
        }
        line
    }
}

/// The progress display of one cluster verb (see the module's docs). Feed it every event;
/// [`Progress::finish`] (or dropping it) clears the live line.
pub struct Progress<'p> {
    printer: &'p Printer,
    /// Print each object's outcome (`--show-objects`), not only with `--verbose`.
    each: bool,
    /// The live status line, on a terminal only.
    bar: Option<ProgressBar>,
    status: Mutex<Status>,
}

impl<'p> Progress<'p> {
    /// Progress of `action` on `total` objects, printed by `printer`.
    pub fn new(printer: &'p Printer, action: impl Into<String>, total: usize, each: bool) -> Self {
        let status = Status::new(action, total);
        let bar = printer.live().then(|| {
            let template = if printer.colored() {
                "{spinner:.cyan} {wide_msg} {elapsed:.dim}"
            } else {
                "{spinner} {wide_msg} {elapsed}"
            };
            let style = ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
                .with_style(style)
                .with_message(crate::untrusted::line(&status.line()).into_owned());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress { printer, each, bar, status: Mutex::new(status) }
    }

    /// Show `event`: its line, if it has one at this verbosity, and the new status.
    pub fn event(&self, event: &Event) {
        self.print(|| match event {
            Event::Done(key, outcome) if self.each => {
                self.printer.progress(&format!("{key} {}", outcome.describe()));
            }
            Event::Done(key, outcome) => {
                self.printer.detail(&format!("{key} {}", outcome.describe()));
            }
            Event::Waiting(key, what) => {
                self.printer.detail(&format!("waiting for {key} to be {what}"));
            }
            Event::Note(text) => self.printer.note(text),
            Event::Warning(text) => self.printer.warn(text),
        });
        let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
        status.record(event);
        if let Some(bar) = &self.bar {
            // Object names came from prototypes: escaped like every other line.
            bar.set_message(crate::untrusted::line(&status.line()).into_owned());
        }
    }

    /// Print lines above the live status line (as they are when there is none).
    fn print(&self, lines: impl FnOnce()) {
        match &self.bar {
            Some(bar) => bar.suspend(lines),
            None => lines(),
        }
    }

    /// Clear the live status line: the verb prints its summary next.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress<'_> {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{ObjectKey, Outcome};

    fn key(kind: &str, name: &str) -> ObjectKey {
        ObjectKey {
            api_version: "v1".into(),
            kind: kind.into(),
            namespace: Some("team-a".into()),
            name: name.into(),
            component: "web".into(),
        }
    }

    #[test]
    fn the_status_line_counts_done_and_to_do_and_says_what_it_waits_for() {
        let mut status = Status::new("applying `dev`", 3);
        assert_eq!(status.line(), "applying `dev`: 0/3 done");
        status.record(&Event::Done(key("Service", "web"), Outcome::Created));
        status.record(&Event::Done(key("ConfigMap", "web"), Outcome::Kept));
        status.record(&Event::Note("created namespace `team-a`".into()));
        assert_eq!(status.line(), "applying `dev`: 2/3 done (1 created, 1 unchanged)");
        status.record(&Event::Waiting(key("Deployment", "web"), "ready"));
        assert_eq!(
            status.line(),
            "applying `dev`: 2/3 done (1 created, 1 unchanged), waiting for \
             Deployment/team-a/web to be ready"
        );
        status.record(&Event::Done(key("Deployment", "web"), Outcome::Configured));
        // A prune finds one more than was rendered.
        status.record(&Event::Done(key("Service", "old"), Outcome::Pruned));
        assert_eq!(
            status.line(),
            "applying `dev`: 4/4 done (1 created, 1 unchanged, 1 configured, 1 pruned)"
        );
    }

    #[test]
    fn a_wait_is_cleared_only_by_its_own_object() {
        let mut status = Status::new("deleting `dev`", 2);
        status.record(&Event::Waiting(key("Deployment", "web"), "deleted"));
        status.record(&Event::Done(key("Deployment", "web-2"), Outcome::Deleted));
        assert!(status.line().ends_with("waiting for Deployment/team-a/web to be deleted"));
        status.record(&Event::Done(key("Deployment", "web"), Outcome::Deleted));
        assert_eq!(status.line(), "deleting `dev`: 2/2 done (2 deleted)");
    }
}
