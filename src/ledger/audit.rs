//! The append-only audit log: each event carries the SHA-256 of the previous event, the
//! roster it is checked against, its signer's key fingerprint, the statement that key
//! signed and the SSHSIG signature. Its payload is the full row it recorded.
//! `docs/signatures.md` states the hash rules this file implements.

use super::statement::{self, RecordStatement, RECORD_FORMAT};
use super::LedgerError;
use crate::identity::Signer;
use crate::stage::StageId;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// The hash before the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Position in the log, from 1.
    pub seq: i64,
    /// When (RFC 3339 UTC, milliseconds).
    pub at: String,
    /// What happened: `roster-pinned`, `release-registered`, `run-started`,
    /// `run-finished`, `run-aborted`, `approval`, `rejection`, `promotion`.
    pub kind: String,
    /// System.
    pub system: String,
    /// Release.
    pub release: String,
    /// Stage, when it concerns one.
    pub stage: Option<String>,
    /// The person whose key signed (for a tool-recorded event: the command's signer).
    pub actor: String,
    /// The row recorded, as JSON.
    pub payload: String,
    /// Hash of the previous event.
    pub prev_hash: String,
    /// Digest of the pinned roster the signature is checked against.
    pub roster: String,
    /// `SHA256:…` of the signing key.
    pub signer: String,
    /// The exact text the key signed.
    pub statement: String,
    /// Armored SSHSIG of `statement`, namespace `stagegate`.
    pub signature: String,
    /// Hash of this event.
    pub hash: String,
}

/// The first problem `verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyProblem {
    /// The event concerned, when there is one.
    pub event: Option<i64>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for VerifyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.event {
            Some(seq) => write!(f, "event #{seq}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// SHA-256 over length-prefixed fields: each field is its UTF-8 length as 8 bytes big
/// endian, then its bytes, so moving text between fields changes the hash.
fn hash_fields(fields: &[&str]) -> String {
    let mut h = Sha256::new();
    for part in fields {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

impl AuditEvent {
    /// The content hash: every field except `statement`, `signature` and `hash`. A
    /// record statement names it, so the signature covers the whole event.
    pub fn content_hash(&self) -> String {
        let seq = self.seq.to_string();
        hash_fields(&[
            &seq,
            &self.at,
            &self.kind,
            &self.system,
            &self.release,
            self.stage.as_deref().unwrap_or(""),
            &self.actor,
            &self.payload,
            &self.prev_hash,
            &self.roster,
            &self.signer,
        ])
    }

    /// The hash this event's fields give, to compare with [`AuditEvent::hash`]: the
    /// content fields, then `statement` and `signature`.
    pub fn computed_hash(&self) -> String {
        let seq = self.seq.to_string();
        hash_fields(&[
            &seq,
            &self.at,
            &self.kind,
            &self.system,
            &self.release,
            self.stage.as_deref().unwrap_or(""),
            &self.actor,
            &self.payload,
            &self.prev_hash,
            &self.roster,
            &self.signer,
            &self.statement,
            &self.signature,
        ])
    }
}

/// What an event records, before it is placed in the chain and signed.
pub(super) struct Draft<'a> {
    pub kind: &'a str,
    pub system: &'a str,
    pub release: &'a str,
    pub stage: Option<StageId>,
    pub actor: &'a str,
    pub payload: &'a str,
    pub roster: &'a str,
}

/// How an event is signed.
pub(super) enum Seal<'a> {
    /// The command's key signs a record statement now.
    Record {
        signer: &'a dyn Signer,
        fingerprint: &'a str,
        recorded_by_tool: bool,
    },
    /// A statement signed before (a decision, or the approval a promotion rests on).
    Signed {
        at: Option<&'a str>,
        statement: &'a str,
        signature: &'a str,
        fingerprint: &'a str,
    },
}

/// The last event's sequence number and hash (`0` and [`GENESIS`] when empty).
pub(super) fn head(conn: &Connection) -> rusqlite::Result<(i64, String)> {
    Ok(conn
        .query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .unwrap_or((0, GENESIS.to_string())))
}

pub(super) fn append(
    conn: &Connection,
    draft: &Draft<'_>,
    seal: Seal<'_>,
) -> Result<AuditEvent, LedgerError> {
    let (last, prev) = head(conn)?;
    let now = super::now();
    let (at, signer) = match &seal {
        Seal::Record { fingerprint, .. } => (now, fingerprint.to_string()),
        Seal::Signed {
            at, fingerprint, ..
        } => (at.map_or(now, str::to_string), fingerprint.to_string()),
    };
    let mut event = AuditEvent {
        seq: last + 1,
        at,
        kind: draft.kind.to_string(),
        system: draft.system.to_string(),
        release: draft.release.to_string(),
        stage: draft.stage.map(|s| s.as_str().to_string()),
        actor: draft.actor.to_string(),
        payload: draft.payload.to_string(),
        prev_hash: prev,
        roster: draft.roster.to_string(),
        signer,
        statement: String::new(),
        signature: String::new(),
        hash: String::new(),
    };
    match seal {
        Seal::Record {
            signer,
            recorded_by_tool,
            ..
        } => {
            event.statement = statement::render(&RecordStatement {
                content: event.content_hash(),
                format: RECORD_FORMAT.into(),
                kind: event.kind.clone(),
                person: event.actor.clone(),
                recorded_by_tool,
            });
            event.signature = signer
                .sign(event.statement.as_bytes())
                .map_err(|e| LedgerError::Sign(e.to_string()))?;
        }
        Seal::Signed {
            statement,
            signature,
            ..
        } => {
            event.statement = statement.to_string();
            event.signature = signature.to_string();
        }
    }
    event.hash = event.computed_hash();
    conn.execute(
        "INSERT INTO audit (seq, at, kind, system, release, stage, actor, payload, prev_hash, roster, signer, statement, signature, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            event.seq, event.at, event.kind, event.system, event.release, event.stage, event.actor,
            event.payload, event.prev_hash, event.roster, event.signer, event.statement,
            event.signature, event.hash
        ],
    )?;
    Ok(event)
}

const EVENT_COLUMNS: &str =
    "seq, at, kind, system, release, stage, actor, payload, prev_hash, roster, signer, statement, signature, hash";

fn event_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEvent> {
    Ok(AuditEvent {
        seq: r.get(0)?,
        at: r.get(1)?,
        kind: r.get(2)?,
        system: r.get(3)?,
        release: r.get(4)?,
        stage: r.get(5)?,
        actor: r.get(6)?,
        payload: r.get(7)?,
        prev_hash: r.get(8)?,
        roster: r.get(9)?,
        signer: r.get(10)?,
        statement: r.get(11)?,
        signature: r.get(12)?,
        hash: r.get(13)?,
    })
}

pub(super) fn events(
    conn: &Connection,
    system: Option<&str>,
    release: Option<&str>,
) -> rusqlite::Result<Vec<AuditEvent>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {EVENT_COLUMNS} FROM audit
         WHERE (?1 IS NULL OR system = ?1) AND (?2 IS NULL OR release = ?2) ORDER BY seq"
    ))?;
    let rows = stmt.query_map(params![system, release], event_from)?;
    rows.collect()
}

pub(super) fn event(conn: &Connection, seq: i64) -> rusqlite::Result<Option<AuditEvent>> {
    conn.query_row(
        &format!("SELECT {EVENT_COLUMNS} FROM audit WHERE seq = ?1"),
        params![seq],
        event_from,
    )
    .optional()
}

/// The hash of the event that recorded run `run_id`'s result (its last `run-finished`
/// or `run-aborted` event): the evidence a decision names.
pub(super) fn result_event_hash(
    conn: &Connection,
    run_id: i64,
) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT hash FROM audit WHERE kind IN ('run-finished', 'run-aborted')
         AND json_extract(payload, '$.id') = ?1 ORDER BY seq DESC LIMIT 1",
        params![run_id],
        |r| r.get(0),
    )
    .optional()
}
