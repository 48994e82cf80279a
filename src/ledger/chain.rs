//! The one walk of the audit log's hash chain: takes events in order, gives where the
//! chain first stops holding together ([`ChainBreak`]). `ledger verify` (over the
//! database) and `evidence verify` (over an archive's `chain.json`) both use it, and say
//! the break in their own words.

use super::audit::{AuditEvent, GENESIS};
use std::fmt;

/// Where, and how, a chain of events breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainBreak {
    /// Event `seq` stands where event `expected` should: events were removed or
    /// renumbered.
    Renumbered {
        /// The event found.
        seq: i64,
        /// The number expected there.
        expected: i64,
    },
    /// Event `seq` does not carry the hash of the event before it.
    BrokenLink {
        /// The event.
        seq: i64,
    },
    /// Event `seq`'s content does not match its own hash.
    Edited {
        /// The event.
        seq: i64,
        /// Its kind.
        kind: String,
        /// Who it names.
        actor: String,
    },
}

impl ChainBreak {
    /// The event at which the chain breaks.
    pub fn seq(&self) -> i64 {
        match self {
            ChainBreak::Renumbered { seq, .. }
            | ChainBreak::BrokenLink { seq }
            | ChainBreak::Edited { seq, .. } => *seq,
        }
    }
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChainBreak::Renumbered { expected, .. } => write!(
                f,
                "expected event #{expected} here: events were removed or renumbered"
            ),
            ChainBreak::BrokenLink { .. } => f.write_str(
                "its link to the previous event is broken (an event before it was edited or removed)",
            ),
            ChainBreak::Edited { kind, actor, .. } => write!(
                f,
                "its content does not match its hash ({kind} by {actor}, was it edited?)"
            ),
        }
    }
}

/// Checks that `events` are numbered from 1, each carries the hash of the one before
/// (the first, [`GENESIS`]) and each matches its own hash.
pub fn check_chain(events: &[AuditEvent]) -> Result<(), ChainBreak> {
    let mut prev = GENESIS;
    for (expected, e) in (1..).zip(events) {
        if e.seq != expected {
            return Err(ChainBreak::Renumbered {
                seq: e.seq,
                expected,
            });
        }
        if e.prev_hash != prev {
            return Err(ChainBreak::BrokenLink { seq: e.seq });
        }
        if e.computed_hash() != e.hash {
            return Err(ChainBreak::Edited {
                seq: e.seq,
                kind: e.kind.clone(),
                actor: e.actor.clone(),
            });
        }
        prev = &e.hash;
    }
    Ok(())
}
