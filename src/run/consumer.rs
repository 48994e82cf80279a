//! The one seam between the runner and its outputs: a [`RunConsumer`] receives every
//! [`RunEvent`] (and may watch every request of a load suite); [`Consumers`] fans the
//! events out to many and keeps what failed, so an output that cannot write never stops
//! the run or hides another output. A new output is a new consumer; the runner is not
//! touched.

use super::event::RunEvent;
use crate::measure::RequestObserver;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// An output could not be made.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {what} `{}`: {source}", path.display())]
pub struct ConsumerError {
    /// Which output (`summary.json`, `the event log`, …).
    pub what: String,
    /// Where it was being written.
    pub path: PathBuf,
    /// Why.
    pub source: std::io::Error,
}

/// Receives run events.
pub trait RunConsumer: Sync {
    /// Handles one event; an error is kept by [`Consumers`] and reported after the run.
    fn event(&self, event: RunEvent<'_>) -> Result<(), ConsumerError>;

    /// Something that sees every request of load suite `suite` as it completes (live
    /// metrics); none by default.
    fn request_observer(&self, _suite: &str) -> Option<Arc<dyn RequestObserver>> {
        None
    }
}

/// A consumer that ignores everything.
pub struct NoConsumer;

impl RunConsumer for NoConsumer {
    fn event(&self, _: RunEvent<'_>) -> Result<(), ConsumerError> {
        Ok(())
    }
}

/// Every consumer of one command, in the order they were added.
#[derive(Default)]
pub struct Consumers<'a> {
    all: Vec<&'a dyn RunConsumer>,
    failures: Mutex<Vec<ConsumerError>>,
}

impl<'a> Consumers<'a> {
    /// No consumer yet.
    pub fn new() -> Consumers<'a> {
        Consumers::default()
    }

    /// Adds one.
    pub fn with(mut self, consumer: &'a dyn RunConsumer) -> Consumers<'a> {
        self.all.push(consumer);
        self
    }

    /// Adds one when there is one.
    pub fn with_some(self, consumer: Option<&'a dyn RunConsumer>) -> Consumers<'a> {
        match consumer {
            Some(c) => self.with(c),
            None => self,
        }
    }

    /// What could not be written so far, taken out.
    pub fn take_failures(&self) -> Vec<ConsumerError> {
        match self.failures.lock() {
            Ok(mut f) => std::mem::take(&mut *f),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }
}

impl RunConsumer for Consumers<'_> {
    fn event(&self, event: RunEvent<'_>) -> Result<(), ConsumerError> {
        for consumer in &self.all {
            if let Err(e) = consumer.event(event) {
                match self.failures.lock() {
                    Ok(mut f) => f.push(e),
                    Err(poisoned) => poisoned.into_inner().push(e),
                }
            }
        }
        Ok(())
    }

    /// Every consumer that wants the requests gets them.
    fn request_observer(&self, suite: &str) -> Option<Arc<dyn RequestObserver>> {
        let observers: Vec<Arc<dyn RequestObserver>> = self
            .all
            .iter()
            .filter_map(|c| c.request_observer(suite))
            .collect();
        match observers.len() {
            0 => None,
            1 => observers.into_iter().next(),
            _ => Some(Arc::new(Observers(observers))),
        }
    }
}

struct Observers(Vec<Arc<dyn RequestObserver>>);

impl RequestObserver for Observers {
    fn observe(&self, sample: &crate::measure::RequestSample<'_>) {
        for o in &self.0 {
            o.observe(sample);
        }
    }
}
