//! The outputs of `run` and `demo`: the terminal, the run's report files (with
//! `findings.sarif` when the run had security checks), the live
//! metrics when asked for and the `--events` log when asked for — each a run consumer,
//! gathered into one [`Consumers`].

use super::metrics_args::LiveMetrics;
use super::progress::TerminalProgress;
use super::CliError;
use crate::report::event_log::EventLog;
use crate::report::outputs::{run_report_files, HtmlReports, JunitXml, SummaryJson};
use crate::report::sarif_file::FindingsSarif;
use crate::run::{Consumers, RunConsumer};
use std::path::Path;

pub(super) struct RunOutputs {
    terminal: TerminalProgress,
    files: (SummaryJson, JunitXml, HtmlReports),
    sarif: FindingsSarif,
    events: Option<EventLog>,
}

impl RunOutputs {
    /// The terminal and report files, and the event log at `events` when given.
    pub(super) fn new(events: Option<&Path>) -> Result<RunOutputs, CliError> {
        let events = match events {
            Some(path) => Some(EventLog::create(path).map_err(|e| {
                CliError::invalid(format!(
                    "cannot write the event log `{}`: {e}",
                    path.display()
                ))
            })?),
            None => None,
        };
        Ok(RunOutputs {
            terminal: TerminalProgress::new(),
            files: {
                let ui = super::ui::get();
                run_report_files(ui.lang, ui.zone.clone())
            },
            sarif: FindingsSarif,
            events,
        })
    }

    /// Every consumer, with the live metrics when they are on.
    pub(super) fn consumers<'a>(&'a self, live: Option<&'a LiveMetrics>) -> Consumers<'a> {
        Consumers::new()
            .with(&self.terminal)
            .with(&self.files.0)
            .with(&self.files.1)
            .with(&self.files.2)
            .with(&self.sarif)
            .with_some(live.map(LiveMetrics::consumer))
            .with_some(self.events.as_ref().map(|e| e as &dyn RunConsumer))
    }
}
