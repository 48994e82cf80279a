//! The append-only audit log: each event carries the SHA-256 of the previous event,
//! and its payload is the full row it recorded. `verify` recomputes the chain and
//! compares every table row with the last event about it.

use super::rows::{self, ApprovalRow, PromotionRow, ReleaseRow, RunRow};
use super::LedgerError;
use crate::stage::StageId;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;

/// The hash before the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Position in the log.
    pub seq: i64,
    /// When.
    pub at: String,
    /// What happened.
    pub kind: String,
    /// System.
    pub system: String,
    /// Release.
    pub release: String,
    /// Stage, when it concerns one.
    pub stage: Option<String>,
    /// Who.
    pub actor: String,
    /// The row recorded, as JSON.
    pub payload: String,
    /// Hash of the previous event.
    pub prev_hash: String,
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

/// Everything an event's hash covers.
struct EventContent<'a> {
    seq: i64,
    at: &'a str,
    kind: &'a str,
    system: &'a str,
    release: &'a str,
    stage: Option<&'a str>,
    actor: &'a str,
    payload: &'a str,
    prev: &'a str,
}

impl EventContent<'_> {
    fn hash(&self) -> String {
        let mut h = Sha256::new();
        let seq = self.seq.to_string();
        for part in [
            &seq,
            self.at,
            self.kind,
            self.system,
            self.release,
            self.stage.unwrap_or(""),
            self.actor,
            self.payload,
            self.prev,
        ] {
            // Length-prefix each field so moving text between fields changes the hash.
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        hex::encode(h.finalize())
    }
}

impl AuditEvent {
    /// The hash this event's content and link give, to compare with [`AuditEvent::hash`]
    /// (evidence archives check their events without the database).
    pub fn computed_hash(&self) -> String {
        self.content().hash()
    }

    fn content(&self) -> EventContent<'_> {
        EventContent {
            seq: self.seq,
            at: &self.at,
            kind: &self.kind,
            system: &self.system,
            release: &self.release,
            stage: self.stage.as_deref(),
            actor: &self.actor,
            payload: &self.payload,
            prev: &self.prev_hash,
        }
    }
}

pub(super) fn append(
    conn: &Connection,
    kind: &str,
    system: &str,
    release: &str,
    stage: Option<StageId>,
    actor: &str,
    payload: &str,
) -> Result<(), LedgerError> {
    let last: Option<(i64, String)> = conn
        .query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (seq, prev) = match last {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS.to_string()),
    };
    let at = super::now();
    let stage = stage.map(StageId::as_str);
    let hash = EventContent {
        seq,
        at: &at,
        kind,
        system,
        release,
        stage,
        actor,
        payload,
        prev: &prev,
    }
    .hash();
    conn.execute(
        "INSERT INTO audit (seq, at, kind, system, release, stage, actor, payload, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![seq, at, kind, system, release, stage, actor, payload, prev, hash],
    )?;
    Ok(())
}

pub(super) fn events(
    conn: &Connection,
    system: Option<&str>,
    release: Option<&str>,
) -> rusqlite::Result<Vec<AuditEvent>> {
    let mut stmt = conn.prepare(
        "SELECT seq, at, kind, system, release, stage, actor, payload, prev_hash, hash FROM audit
         WHERE (?1 IS NULL OR system = ?1) AND (?2 IS NULL OR release = ?2) ORDER BY seq",
    )?;
    let rows = stmt.query_map(params![system, release], |r| {
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
            hash: r.get(9)?,
        })
    })?;
    rows.collect()
}

/// Checks the chain and the tables; `Ok(Ok(n))` means `n` events verified.
pub(super) fn verify(conn: &Connection) -> Result<Result<usize, VerifyProblem>, LedgerError> {
    let all = events(conn, None, None)?;
    let mut prev = GENESIS.to_string();
    // The last payload recorded for each row, keyed by table and row key.
    let mut last_state: BTreeMap<(String, String), (i64, String)> = BTreeMap::new();
    for (expected_seq, e) in (1..).zip(all.iter()) {
        let problem = |message: String| {
            Ok(Err(VerifyProblem {
                event: Some(e.seq),
                message,
            }))
        };
        if e.seq != expected_seq {
            return problem(format!(
                "expected event #{expected_seq} here: events were removed or renumbered"
            ));
        }
        if e.prev_hash != prev {
            return problem("its link to the previous event is broken (an event before it was edited or removed)".into());
        }
        let hash = e.content().hash();
        if hash != e.hash {
            return problem(format!(
                "its content does not match its hash ({} by {}, was it edited?)",
                e.kind, e.actor
            ));
        }
        let key = match e.kind.as_str() {
            "release-registered" => serde_json::from_str::<ReleaseRow>(&e.payload)
                .map(|r| ("release".to_string(), format!("{}/{}", r.system, r.release))),
            "run-started" | "run-finished" | "run-aborted" => {
                serde_json::from_str::<RunRow>(&e.payload)
                    .map(|r| ("run".to_string(), r.id.to_string()))
            }
            "approval" | "rejection" => serde_json::from_str::<ApprovalRow>(&e.payload)
                .map(|r| ("approval".to_string(), r.id.to_string())),
            "promotion" => serde_json::from_str::<PromotionRow>(&e.payload).map(|p| {
                (
                    "promotion".to_string(),
                    format!("{}/{}/{}", p.system, p.release, p.stage),
                )
            }),
            other => return problem(format!("unknown event kind `{other}`")),
        };
        match key {
            Ok(key) => {
                last_state.insert(key, (e.seq, canonical(&e.payload)));
            }
            Err(err) => return problem(format!("its payload cannot be read: {err}")),
        }
        prev = e.hash.clone();
    }

    // Every row must equal the last event about it, and every recorded row must exist.
    let mut current: BTreeMap<(String, String), String> = BTreeMap::new();
    for r in rows::releases_all(conn)? {
        current.insert(
            ("release".into(), format!("{}/{}", r.system, r.release)),
            canonical(&rows::to_json(&r)?),
        );
    }
    for r in rows::runs_where(conn, "1 = 1", [])? {
        current.insert(
            ("run".into(), r.id.to_string()),
            canonical(&rows::to_json(&r)?),
        );
    }
    for a in rows::approvals_where(conn, "1 = 1", [])? {
        current.insert(
            ("approval".into(), a.id.to_string()),
            canonical(&rows::to_json(&a)?),
        );
    }
    for p in rows::promotions_where(conn, "1 = 1", [])? {
        current.insert(
            (
                "promotion".into(),
                format!("{}/{}/{}", p.system, p.release, p.stage),
            ),
            canonical(&rows::to_json(&p)?),
        );
    }
    for ((table, key), (seq, recorded)) in &last_state {
        match current.get(&(table.clone(), key.clone())) {
            None => {
                return Ok(Err(VerifyProblem {
                    event: Some(*seq),
                    message: format!("{table} {key} recorded here is missing from the ledger"),
                }))
            }
            Some(now) if now != recorded => {
                let field = differing_field(recorded, now).unwrap_or_else(|| "a field".into());
                return Ok(Err(VerifyProblem {
                    event: Some(*seq),
                    message: format!(
                        "{table} {key} was changed after this event recorded it (field `{field}`)"
                    ),
                }));
            }
            Some(_) => {}
        }
    }
    for (table, key) in current.keys() {
        if !last_state.contains_key(&(table.clone(), key.clone())) {
            return Ok(Err(VerifyProblem {
                event: None,
                message: format!("{table} {key} is in the ledger but no audit event recorded it"),
            }));
        }
    }
    Ok(Ok(all.len()))
}

fn canonical(json: &str) -> String {
    serde_json::from_str::<serde_json::Value>(json)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| json.to_string())
}

fn differing_field(a: &str, b: &str) -> Option<String> {
    let a: serde_json::Value = serde_json::from_str(a).ok()?;
    let b: serde_json::Value = serde_json::from_str(b).ok()?;
    let (a, b) = (a.as_object()?, b.as_object()?);
    a.iter()
        .find(|(k, v)| b.get(*k) != Some(v))
        .map(|(k, _)| k.clone())
}
