//! The append-only audit log: each event carries the SHA-256 of the previous event, the
//! roster it is checked against, its signer's key fingerprint, the statement that key
//! signed and the SSHSIG signature. Its payload is the full row it recorded.
//! `docs/signatures.md` states the hash rules this file implements.

use super::statement::{self, RecordStatement, RECORD_FORMAT};
use super::store::{args, Row, Storage, StoreError};
use super::LedgerError;
use crate::identity::Signer;
use crate::stage::StageId;
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
pub(super) fn head(db: &dyn Storage) -> Result<(i64, String), StoreError> {
    match db
        .query("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", &[])?
        .first()
    {
        Some(r) => Ok((r.int(0)?, r.text(1)?)),
        None => Ok((0, GENESIS.to_string())),
    }
}

pub(super) fn append(
    db: &dyn Storage,
    draft: &Draft<'_>,
    seal: Seal<'_>,
) -> Result<AuditEvent, LedgerError> {
    let (last, prev) = head(db)?;
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
    insert(db, &event)?;
    Ok(event)
}

/// Writes an event as it is (appending, or copying a ledger). The unique index on
/// `prev_hash` refuses a second successor of any event.
pub(super) fn insert(db: &dyn Storage, event: &AuditEvent) -> Result<(), StoreError> {
    db.execute(
        &format!(
            "INSERT INTO audit ({EVENT_COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
        ),
        args![
            event.seq,
            &event.at,
            &event.kind,
            &event.system,
            &event.release,
            &event.stage,
            &event.actor,
            &event.payload,
            &event.prev_hash,
            &event.roster,
            &event.signer,
            &event.statement,
            &event.signature,
            &event.hash
        ],
    )?;
    Ok(())
}

const EVENT_COLUMNS: &str =
    "seq, at, kind, system, release, stage, actor, payload, prev_hash, roster, signer, statement, signature, hash";

fn event_from(r: &Row) -> Result<AuditEvent, StoreError> {
    Ok(AuditEvent {
        seq: r.int(0)?,
        at: r.text(1)?,
        kind: r.text(2)?,
        system: r.text(3)?,
        release: r.text(4)?,
        stage: r.opt_text(5)?,
        actor: r.text(6)?,
        payload: r.text(7)?,
        prev_hash: r.text(8)?,
        roster: r.text(9)?,
        signer: r.text(10)?,
        statement: r.text(11)?,
        signature: r.text(12)?,
        hash: r.text(13)?,
    })
}

pub(super) fn events(
    db: &dyn Storage,
    system: Option<&str>,
    release: Option<&str>,
) -> Result<Vec<AuditEvent>, StoreError> {
    db.query(
        &format!(
            "SELECT {EVENT_COLUMNS} FROM audit
             WHERE (CAST(?1 AS TEXT) IS NULL OR system = ?1) AND (CAST(?2 AS TEXT) IS NULL OR release = ?2) ORDER BY seq"
        ),
        args![system, release],
    )?
    .iter()
    .map(event_from)
    .collect()
}

pub(super) fn event(db: &dyn Storage, seq: i64) -> Result<Option<AuditEvent>, StoreError> {
    db.query(
        &format!("SELECT {EVENT_COLUMNS} FROM audit WHERE seq = ?1"),
        args![seq],
    )?
    .first()
    .map(event_from)
    .transpose()
}

/// The hash of the event that recorded run `run_id`'s result (its last `run-finished`
/// or `run-aborted` event): the evidence a decision names.
pub(super) fn result_event_hash(
    db: &dyn Storage,
    run_id: i64,
) -> Result<Option<String>, StoreError> {
    db.query(
        &format!(
            "SELECT hash FROM audit WHERE kind IN ('run-finished', 'run-aborted')
             AND {} = ?1 ORDER BY seq DESC LIMIT 1",
            db.json_int("payload", "id")
        ),
        args![run_id],
    )?
    .first()
    .map(|r| r.text(0))
    .transpose()
}
