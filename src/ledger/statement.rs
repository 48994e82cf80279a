//! Takes a decision or an event about to be recorded, gives the exact text a person's
//! key signs (a "statement"), and reads statements back. Two kinds:
//!
//! - a **decision statement** (`stagegate.decision/v1`): what an approver or rejecter
//!   signs before the ledger records anything — system, release, stage, run, the evidence
//!   digest, the decision, the note, the time, the person and the hash of the ledger event
//!   it follows. `approve --print-payload` shows it; `ssh-keygen -Y sign` can sign it.
//! - a **record statement** (`stagegate.record/v1`): what a command signs for every other
//!   event it writes (run started or finished, release registered, roster pinned, a dead
//!   run marked aborted): the event's content hash, its kind and the person.
//!
//! Both are one line of JSON with keys in alphabetical order and no spaces, ending with a
//! newline (`docs/signatures.md` gives the rules an independent verifier needs).

use crate::ledger::rows::Decision;
use crate::stage::StageId;
use serde::{Deserialize, Serialize};

/// Format name of decision statements.
pub const DECISION_FORMAT: &str = "stagegate.decision/v1";
/// Format name of record statements.
pub const RECORD_FORMAT: &str = "stagegate.record/v1";

/// What an approver or rejecter signs. Field order is the canonical key order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionStatement {
    /// When the decision was made (RFC 3339 UTC, milliseconds).
    pub at: String,
    /// Approve or reject.
    pub decision: Decision,
    /// Hash of the ledger event that recorded the run's result: it covers the files
    /// digest, the verdict and the measurements.
    pub evidence: String,
    /// [`DECISION_FORMAT`].
    pub format: String,
    /// The note, as given.
    pub note: String,
    /// The deciding person's id.
    pub person: String,
    /// Hash of the ledger's last event when the statement was made.
    pub previous: String,
    /// Release.
    pub release: String,
    /// The run decided on.
    pub run: i64,
    /// Stage.
    pub stage: StageId,
    /// System.
    pub system: String,
}

/// What a command signs for an event it records. Field order is the canonical key order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordStatement {
    /// The event's content hash (every field but the statement and signature).
    pub content: String,
    /// [`RECORD_FORMAT`].
    pub format: String,
    /// The event kind.
    pub kind: String,
    /// The person whose command wrote the event.
    pub person: String,
    /// True when the command recorded it on its own (a dead run found and marked
    /// aborted), not as the person's own act.
    #[serde(rename = "recorded-by-tool")]
    pub recorded_by_tool: bool,
}

/// Renders a statement: compact JSON, keys in declaration (alphabetical) order, `\n`.
pub fn render<T: Serialize>(statement: &T) -> String {
    // Serialising plain strings, numbers and unit enums cannot fail.
    let mut text = serde_json::to_string(statement).unwrap_or_default();
    text.push('\n');
    text
}

/// Reads a decision statement, insisting that it is in canonical form (so that what was
/// signed and what is shown are the same bytes).
pub fn parse_decision(text: &str) -> Result<DecisionStatement, String> {
    let parsed: DecisionStatement =
        serde_json::from_str(text).map_err(|e| format!("not a decision statement: {e}"))?;
    if parsed.format != DECISION_FORMAT {
        return Err(format!("unknown statement format `{}`", parsed.format));
    }
    if render(&parsed) != text {
        return Err("the statement is not in canonical form (one line of compact JSON with a final newline, as `--print-payload` prints it)".into());
    }
    Ok(parsed)
}

/// Reads a record statement in canonical form.
pub fn parse_record(text: &str) -> Result<RecordStatement, String> {
    let parsed: RecordStatement =
        serde_json::from_str(text).map_err(|e| format!("not a record statement: {e}"))?;
    if parsed.format != RECORD_FORMAT || render(&parsed) != text {
        return Err("the record statement is not in canonical form".into());
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decision_statement_is_one_canonical_line_and_reads_back() {
        let s = DecisionStatement {
            at: "2026-11-29T01:00:00.000Z".into(),
            decision: Decision::Approve,
            evidence: "ab".into(),
            format: DECISION_FORMAT.into(),
            note: "đã xem \"kỹ\"".into(),
            person: "rm.binh".into(),
            previous: "cd".into(),
            release: "1.0.0".into(),
            run: 3,
            stage: StageId::TrialTest,
            system: "dichvucong".into(),
        };
        let text = render(&s);
        assert_eq!(
            text,
            "{\"at\":\"2026-11-29T01:00:00.000Z\",\"decision\":\"approve\",\"evidence\":\"ab\",\"format\":\"stagegate.decision/v1\",\"note\":\"đã xem \\\"kỹ\\\"\",\"person\":\"rm.binh\",\"previous\":\"cd\",\"release\":\"1.0.0\",\"run\":3,\"stage\":\"trial-test\",\"system\":\"dichvucong\"}\n"
        );
        assert_eq!(parse_decision(&text), Ok(s));
        assert!(parse_decision(&text.replace(",\"run\"", ", \"run\"")).is_err());
    }
}
