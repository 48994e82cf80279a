//! The runner's cancellation: a cheap, clonable token that the signal handlers (or a
//! test, or a library caller) trip, and that the runner waits on between and during its
//! steps. It counts the requests: the first stops traffic and lets the runner record
//! what was measured; a second stops waiting for traffic to wind down.

use serde::Serialize;
use std::fmt;
use std::sync::Arc;
use tokio::sync::watch;

/// A process signal that asks a run to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Signal {
    /// Ctrl-C.
    #[serde(rename = "SIGINT")]
    Interrupt,
    /// `kill`, a CI runner's timeout, a container stop.
    #[serde(rename = "SIGTERM")]
    Terminate,
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        })
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct State {
    requests: u32,
    first: Option<Signal>,
}

/// The cancellation token of one command.
#[derive(Debug, Clone)]
pub struct Cancel {
    state: Arc<watch::Sender<State>>,
}

impl Default for Cancel {
    fn default() -> Self {
        Cancel::new()
    }
}

impl Cancel {
    /// A token nobody has tripped.
    pub fn new() -> Cancel {
        Cancel {
            state: Arc::new(watch::channel(State::default()).0),
        }
    }

    /// Asks the run to stop, because of `signal`. Callable from any thread, including
    /// a signal-handling one.
    pub fn request(&self, signal: Signal) {
        self.state.send_modify(|s| {
            s.requests += 1;
            s.first.get_or_insert(signal);
        });
    }

    /// The signal of the first request, once there was one.
    pub fn signal(&self) -> Option<Signal> {
        self.state.borrow().first
    }

    /// Waits until at least `count` requests were made; gives the first one's signal.
    pub async fn requested(&self, count: u32) -> Signal {
        let mut rx = self.state.subscribe();
        loop {
            let now = *rx.borrow_and_update();
            if let (true, Some(signal)) = (now.requests >= count, now.first) {
                return signal;
            }
            if rx.changed().await.is_err() {
                // The sender lives in `self`: it cannot be dropped while we wait.
                std::future::pending::<()>().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn the_first_signal_is_kept_and_requests_are_counted() {
        let cancel = Cancel::new();
        assert_eq!(cancel.signal(), None);
        let waiter = {
            let c = cancel.clone();
            tokio::spawn(async move { c.requested(2).await })
        };
        cancel.request(Signal::Terminate);
        assert_eq!(cancel.requested(1).await, Signal::Terminate);
        assert!(!waiter.is_finished());
        cancel.request(Signal::Interrupt);
        let second = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .expect("joined");
        assert_eq!(
            (second, cancel.signal()),
            (Signal::Terminate, Some(Signal::Terminate))
        );
    }
}
