//! Takes the process's SIGINT and SIGTERM, gives them to a [`Cancel`] token, for the
//! whole command.
//!
//! SIGINT goes through the `ctrlc` crate on purpose: goose installs its own Ctrl-C
//! handler with `ctrlc` at the start of every attack, replacing any other handler, but
//! `ctrlc` takes only one handler per process, so once ours is set goose's is refused.
//! goose's handler would only stop the load and let the stage be judged on part of its
//! traffic; an interrupted run must be recorded as aborted instead, never as passed.
//! SIGTERM, which goose leaves alone, is caught by tokio.

use super::cancel::{Cancel, Signal};
use tokio::signal::unix::{signal, SignalKind};

/// The signals could not be caught.
#[derive(Debug, thiserror::Error)]
#[error("cannot catch signals: {0}")]
pub struct SignalError(String);

/// Starts catching SIGINT and SIGTERM into `cancel`; call it from inside the runtime,
/// before anything else installs a handler.
pub fn install(cancel: &Cancel) -> Result<(), SignalError> {
    let on_interrupt = cancel.clone();
    ctrlc::set_handler(move || on_interrupt.request(Signal::Interrupt))
        .map_err(|e| SignalError(e.to_string()))?;
    let mut terminate = signal(SignalKind::terminate()).map_err(|e| SignalError(e.to_string()))?;
    let on_terminate = cancel.clone();
    tokio::spawn(async move {
        while terminate.recv().await.is_some() {
            on_terminate.request(Signal::Terminate);
        }
    });
    Ok(())
}
