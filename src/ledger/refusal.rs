//! The ledger's errors: [`Refusal`], one variant per rollout or signature rule with the
//! data a person needs to understand it (exit code 3), and [`LedgerError`] for
//! everything else.

use super::rows::RunState;
use crate::stage::StageId;

/// A rollout rule refused the action (exit code 3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The previous stage is not promoted for this release.
    #[error("stage `{stage}` of release {release} cannot run: the previous stage `{previous}` {state} (hint: run and approve `{previous}` first)")]
    PreviousStageNotPromoted {
        /// Requested stage.
        stage: StageId,
        /// Release.
        release: String,
        /// The stage that must be promoted first.
        previous: StageId,
        /// What it is now.
        state: String,
    },
    /// The stage was already promoted.
    #[error("stage `{stage}` of release {release} is already promoted")]
    AlreadyPromoted {
        /// Stage.
        stage: StageId,
        /// Release.
        release: String,
    },
    /// Another run of the same stage is in progress.
    #[error("run #{run} of stage `{stage}` is still in progress (started by {by})")]
    AlreadyRunning {
        /// Run id.
        run: i64,
        /// Stage.
        stage: StageId,
        /// Who started it.
        by: String,
    },
    /// Nothing to approve.
    #[error("stage `{stage}` of release {release} has not run yet: there is nothing to approve")]
    NotRun {
        /// Stage.
        stage: StageId,
        /// Release.
        release: String,
    },
    /// The latest run did not pass.
    #[error(
        "stage `{stage}` of release {release} cannot be approved: its latest run #{run} {state}"
    )]
    NotPassed {
        /// Stage.
        stage: StageId,
        /// Release.
        release: String,
        /// Run id.
        run: i64,
        /// Its state.
        state: RunState,
    },
    /// The person who ran the stage tried to approve it.
    #[error("{actor} ran stage `{stage}` (run #{run}) and cannot approve it (the plan does not allow self-approval)")]
    SelfApproval {
        /// Who.
        actor: String,
        /// Stage.
        stage: StageId,
        /// Run id.
        run: i64,
    },
    /// The same person approved twice.
    #[error("{actor} already approved run #{run}; approvals must come from distinct people")]
    DuplicateApprover {
        /// Who.
        actor: String,
        /// Run id.
        run: i64,
    },
    /// A release manager rejected the run.
    #[error("run #{run} was rejected by {by}; run the stage again before approving")]
    Rejected {
        /// Run id.
        run: i64,
        /// Who rejected it.
        by: String,
    },
    /// The decider does not hold a role that may decide on this stage.
    #[error("{person} ({held}) may not decide on stage `{stage}`: the plan lets only {allowed} approve or reject it")]
    WrongRole {
        /// Who.
        person: String,
        /// The roles they hold.
        held: String,
        /// Stage.
        stage: StageId,
        /// The roles that may.
        allowed: String,
    },
    /// `--run N` named a run that is not the one to decide on.
    #[error("run #{run} is not the latest run of stage `{stage}` of release {release} (the latest is #{latest}); only the latest passed run can be approved")]
    NotLatestRun {
        /// The run named.
        run: i64,
        /// Stage.
        stage: StageId,
        /// Release.
        release: String,
        /// The latest run.
        latest: i64,
    },
    /// The statement was made against an earlier ledger head.
    #[error("the ledger moved on since the decision was prepared (it followed event {expected}…, the head is now #{seq} {now}…); print the payload again and sign it")]
    HeadMoved {
        /// The head the statement names (short).
        expected: String,
        /// The head now.
        seq: i64,
        /// Its hash (short).
        now: String,
    },
    /// The statement's evidence digest is not the run's.
    #[error("the decision names evidence {named}…, but run #{run}'s recorded result is {actual}…; the decision was made on other evidence")]
    EvidenceMismatch {
        /// Run id.
        run: i64,
        /// What the statement says (short).
        named: String,
        /// What the ledger holds (short).
        actual: String,
    },
    /// The statement does not describe the decision asked for.
    #[error("the signed payload does not match the request: {0}")]
    StatementMismatch(String),
    /// The key is nobody's in the run's pinned roster.
    #[error("key {fingerprint} is not in the roster pinned with run #{run}: an unknown key cannot decide")]
    UnknownKey {
        /// The key.
        fingerprint: String,
        /// Run id.
        run: i64,
    },
    /// The key was revoked in the pinned roster.
    #[error("key {fingerprint} of {person} is revoked")]
    RevokedKey {
        /// The key.
        fingerprint: String,
        /// Whose.
        person: String,
    },
    /// The statement names another person than the key's owner.
    #[error("the decision is signed as {claimed}, but key {fingerprint} belongs to {owner}")]
    NotTheKeyOwner {
        /// The person the statement names.
        claimed: String,
        /// The key.
        fingerprint: String,
        /// Its owner.
        owner: String,
    },
    /// The signature does not check.
    #[error("the signature of {person} does not check: {reason}")]
    BadSignature {
        /// Whose key.
        person: String,
        /// Why.
        reason: String,
    },
    /// The files changed since the run.
    #[error("the files of `{system}` changed since run #{run} (digest {then} → {now}); run the stage again before approving")]
    FilesChanged {
        /// System.
        system: String,
        /// Run id.
        run: i64,
        /// Digest at run time (short).
        then: String,
        /// Digest now (short).
        now: String,
    },
}

/// What can go wrong with the ledger.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The storage failed.
    #[error("ledger database error: {0}")]
    Store(#[from] super::store::StoreError),
    /// A stored document could not be read back.
    #[error("ledger holds an unreadable record: {0}")]
    Corrupt(String),
    /// The folder for the ledger could not be created.
    #[error("cannot create the ledger folder `{path}`: {source}")]
    Folder {
        /// The folder.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A rollout rule refused the action.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// A command that writes events has no signer.
    #[error("this command writes to the ledger and must be signed (internal: no signer attached)")]
    Unsigned,
    /// Signing failed.
    #[error("cannot sign the ledger event: {0}")]
    Sign(String),
    /// The ledger file was written by an older stagegate, without signatures.
    #[error("the ledger was written by an older stagegate without signatures (hint: start a new ledger with `--ledger PATH`; keep the old one as it is)")]
    OldSchema,
    /// The ledger was migrated by a newer stagegate.
    #[error("the ledger's schema is version {found}, newer than this stagegate knows ({supported}) (hint: use the stagegate that wrote it, or a newer one)")]
    NewerSchema {
        /// The version found.
        found: i64,
        /// The newest this binary knows.
        supported: i64,
    },
}
