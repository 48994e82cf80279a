//! Takes two ledgers, gives the first one's whole content in the second: every roster,
//! release, run, approval and promotion with its id, and every audit event exactly as
//! written (times, statements, signatures, hashes). The source must verify and the
//! target must be empty; the target is verified after the copy and must end on the same
//! head. This is how a SQLite ledger moves into PostgreSQL, and back.

use super::store::{args, Transaction};
use super::{audit, rows, Ledger, LedgerError, VerifyProblem};

/// What a copy moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    /// Audit events copied.
    pub events: usize,
    /// Runs copied.
    pub runs: usize,
    /// Approvals and rejections copied.
    pub decisions: usize,
    /// The head both ledgers end on: sequence number and hash.
    pub head: (i64, String),
}

/// Why a copy did not happen or did not verify.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// Reading or writing failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The source does not verify: copying it would spread a forged record.
    #[error("the source ledger does not verify, nothing copied: {0}")]
    SourceUnverified(VerifyProblem),
    /// The target holds events already.
    #[error("the target ledger is not empty ({0} events), nothing copied (hint: copy into a new database or file)")]
    TargetNotEmpty(i64),
    /// The copy does not verify or ends elsewhere.
    #[error("the copy does not verify: {0}")]
    CopyUnverified(String),
}

impl Ledger {
    /// Copies this whole ledger into `target`, which must be empty.
    pub fn copy_into(&self, target: &Ledger) -> Result<CopyReport, CopyError> {
        let source_report = self.verify()?.map_err(CopyError::SourceUnverified)?;
        let (events_there, _) = target.head()?;
        if events_there != 0 {
            return Err(CopyError::TargetNotEmpty(events_there));
        }
        let from = self.storage();
        let rosters = rows::rosters_all(from).map_err(LedgerError::from)?;
        let releases = rows::releases_all(from).map_err(LedgerError::from)?;
        let runs = rows::runs_where(from, "1 = 1 ORDER BY id", &[]).map_err(LedgerError::from)?;
        let decisions =
            rows::approvals_where(from, "1 = 1 ORDER BY id", &[]).map_err(LedgerError::from)?;
        let promotions = rows::promotions_where(from, "1 = 1", &[]).map_err(LedgerError::from)?;
        let events = audit::events(from, None, None).map_err(LedgerError::from)?;

        let to = target.storage();
        let write = || -> Result<(), super::store::StoreError> {
            let tx = Transaction::write(to)?;
            for (digest, json) in &rosters {
                tx.execute(
                    "INSERT INTO rosters (digest, roster) VALUES (?1, ?2)",
                    args![digest, json],
                )?;
            }
            for r in &releases {
                rows::insert_release(&*tx, r)?;
            }
            for run in &runs {
                rows::insert_run_as(&*tx, run.id, run)?;
            }
            for d in &decisions {
                rows::insert_approval_as(&*tx, d.id, d)?;
            }
            for p in &promotions {
                rows::insert_promotion(&*tx, p)?;
            }
            for e in &events {
                audit::insert(&*tx, e)?;
            }
            tx.commit()
        };
        write().map_err(LedgerError::from)?;

        let copied = target
            .verify()?
            .map_err(|p| CopyError::CopyUnverified(p.to_string()))?;
        if copied.head != source_report.head {
            return Err(CopyError::CopyUnverified(format!(
                "it ends on event #{} {} but the source on #{} {}",
                copied.head.0, copied.head.1, source_report.head.0, source_report.head.1
            )));
        }
        Ok(CopyReport {
            events: events.len(),
            runs: runs.len(),
            decisions: decisions.len(),
            head: copied.head,
        })
    }
}
