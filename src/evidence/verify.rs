//! Takes the files of an evidence archive, gives every problem found in it: a file
//! whose bytes no longer match the manifest (named), a broken hash chain or an edited
//! event, a summary that disagrees with the ledger's record, files as run that no
//! longer give the digest the run recorded, and — evaluating every stored gate again
//! from the files as run and the stored measurements with [`gate::evaluate`] — a
//! threshold or result that differs from what the gate gives (the criterion named).

use super::archive::Entries;
use super::{Manifest, CHAIN, EVENTS, MANIFEST, MANIFEST_FORMAT};
use crate::gate::{self, Baseline, CriterionResult, GateVerdict};
use crate::ledger::chain::{self, ChainBreak};
use crate::ledger::{AuditEvent, RunRow, RunState, GENESIS};
use crate::report::{RunSummary, FILES_DIR, SUMMARY_FILE};
use crate::stage::StageId;
use std::collections::BTreeMap;

/// What verification checked and found.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct VerifyOutcome {
    /// Files whose SHA-256 was checked.
    pub files: usize,
    /// Ledger events checked against the chain.
    pub events: usize,
    /// Signatures checked against the rosters the chain pinned.
    pub signatures: usize,
    /// Runs whose gate was evaluated again.
    pub runs: usize,
    /// Criteria evaluated again.
    pub criteria: usize,
    /// Every problem, in words that name the file, event, run or criterion.
    pub problems: Vec<String>,
}

impl VerifyOutcome {
    /// No problem found.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Verifies an archive's files.
pub fn verify(entries: &Entries) -> VerifyOutcome {
    let mut out = VerifyOutcome::default();
    let Some(manifest) = entries
        .get(MANIFEST)
        .and_then(|b| serde_json::from_slice::<Manifest>(b).ok())
    else {
        out.problems.push(format!(
            "file `{MANIFEST}` is missing or unreadable: this is not a stagegate evidence archive"
        ));
        return out;
    };
    if manifest.format != MANIFEST_FORMAT {
        out.problems.push(format!(
            "file `{MANIFEST}` has format `{}`, this build reads `{MANIFEST_FORMAT}`",
            manifest.format
        ));
        return out;
    }
    check_files(&manifest, entries, &mut out);
    let runs = check_chain(&manifest, entries, &mut out);
    check_signatures(entries, &mut out);
    for (path, bytes) in entries
        .iter()
        .filter(|(p, _)| p.starts_with("runs/") && p.ends_with(&format!("/{SUMMARY_FILE}")))
    {
        let folder = &path[..path.len() - SUMMARY_FILE.len() - 1];
        match serde_json::from_slice::<RunSummary>(bytes) {
            Ok(summary) => check_run(
                folder,
                &summary,
                runs.get(&summary.run_id),
                entries,
                &mut out,
            ),
            Err(e) => out.problems.push(format!(
                "file `{path}` cannot be read as a run summary: {e}"
            )),
        }
    }
    // A finished run the ledger recorded must have its reports in the archive: a failed
    // run cannot be left out of a release's evidence.
    for row in runs
        .values()
        .filter(|r| matches!(r.state, RunState::Passed | RunState::Failed))
    {
        let summary = format!("runs/{}/run-{}/{SUMMARY_FILE}", row.stage, row.id);
        if !entries.contains_key(&summary) {
            out.problems.push(format!("run #{} ({} {}) is in the ledger's events but its reports are missing (`{summary}`)", row.id, row.stage, row.state));
        }
    }
    out
}

/// Checks every signature of the chain against the roster pinned for it, and every
/// decision against the rules, with no database: the same walk as `ledger verify`.
fn check_signatures(entries: &Entries, out: &mut VerifyOutcome) {
    let Some(Ok(chain)) = entries
        .get(CHAIN)
        .map(|b| serde_json::from_slice::<Vec<AuditEvent>>(b))
    else {
        return;
    };
    match crate::ledger::verify_events(&chain) {
        Ok(report) => out.signatures = report.signatures,
        Err(problem) => out
            .problems
            .push(format!("ledger {problem} (in `{CHAIN}`)")),
    }
}

fn check_files(manifest: &Manifest, entries: &Entries, out: &mut VerifyOutcome) {
    for file in &manifest.files {
        out.files += 1;
        match entries.get(&file.path) {
            None => out.problems.push(format!(
                "file `{}` is listed in the manifest but missing from the archive",
                file.path
            )),
            Some(bytes) => {
                let actual = super::sha256_hex(bytes);
                if actual != file.sha256 {
                    out.problems.push(format!(
                        "file `{}` was changed: its SHA-256 is {}…, the manifest says {}…",
                        file.path,
                        &actual[..12],
                        file.sha256.chars().take(12).collect::<String>()
                    ));
                }
            }
        }
    }
    for path in entries.keys().filter(|p| *p != MANIFEST) {
        if !manifest.files.iter().any(|f| &f.path == path) {
            out.problems.push(format!(
                "file `{path}` is in the archive but not in the manifest"
            ));
        }
    }
}

/// Checks the chain and the release's events; gives the last recorded state of each run.
fn check_chain(
    manifest: &Manifest,
    entries: &Entries,
    out: &mut VerifyOutcome,
) -> BTreeMap<i64, RunRow> {
    let mut runs = BTreeMap::new();
    let chain: Vec<AuditEvent> = match entries.get(CHAIN).map(|b| serde_json::from_slice(b)) {
        Some(Ok(c)) => c,
        _ => {
            out.problems
                .push(format!("file `{CHAIN}` is missing or unreadable"));
            return runs;
        }
    };
    let events: Vec<AuditEvent> = match entries.get(EVENTS).map(|b| serde_json::from_slice(b)) {
        Some(Ok(e)) => e,
        _ => {
            out.problems
                .push(format!("file `{EVENTS}` is missing or unreadable"));
            return runs;
        }
    };
    match chain::check_chain(&chain) {
        Ok(()) => {}
        Err(ChainBreak::Edited { seq, kind, actor }) => out.problems.push(format!(
            "ledger event #{seq} ({kind} by {actor}) in `{CHAIN}` does not match its hash: it was edited"
        )),
        Err(other) => out.problems.push(format!(
            "ledger hash chain is broken at event #{} (`{CHAIN}`)",
            other.seq()
        )),
    }
    if chain.last().map_or(GENESIS, |e| e.hash.as_str()) != manifest.chain_head {
        out.problems.push(format!(
            "the chain in `{CHAIN}` does not end at the head the manifest names ({})",
            manifest.chain_head
        ));
    }
    let by_seq: BTreeMap<i64, &AuditEvent> = chain.iter().map(|l| (l.seq, l)).collect();
    for missing in chain.iter().filter(|e| {
        e.system == manifest.system
            && e.release == manifest.release
            && !events.iter().any(|r| r.seq == e.seq)
    }) {
        out.problems.push(format!(
            "ledger event #{} ({}) of this release is missing from `{EVENTS}`",
            missing.seq, missing.kind
        ));
    }
    for e in &events {
        out.events += 1;
        if e.system != manifest.system || e.release != manifest.release {
            out.problems.push(format!(
                "ledger event #{} is about {} {}, not this release",
                e.seq, e.system, e.release
            ));
        }
        if e.computed_hash() != e.hash {
            out.problems.push(format!(
                "ledger event #{} ({} by {}) does not match its hash: it was edited",
                e.seq, e.kind, e.actor
            ));
        }
        match by_seq.get(&e.seq) {
            Some(link) if serde_json::to_value(link).ok() == serde_json::to_value(e).ok() => {}
            _ => out.problems.push(format!(
                "ledger event #{} is not the event the hash chain holds at that place",
                e.seq
            )),
        }
        if e.kind.starts_with("run-") {
            match serde_json::from_str::<RunRow>(&e.payload) {
                Ok(row) => {
                    runs.insert(row.id, row);
                }
                Err(err) => out
                    .problems
                    .push(format!("ledger event #{} cannot be read: {err}", e.seq)),
            }
        }
    }
    runs
}

fn check_run(
    folder: &str,
    summary: &RunSummary,
    row: Option<&RunRow>,
    entries: &Entries,
    out: &mut VerifyOutcome,
) {
    let id = summary.run_id;
    let Some(row) = row else {
        out.problems.push(format!(
            "run #{id} (`{folder}`): no ledger event in the archive records it"
        ));
        return;
    };
    if summary.files_digest != row.files_digest {
        out.problems.push(format!(
            "run #{id}: `{folder}/{SUMMARY_FILE}` names files digest {}, the ledger recorded {}",
            summary.files_digest, row.files_digest
        ));
    }
    let recorded_verdict = row
        .verdict
        .as_deref()
        .and_then(|v| serde_json::from_str::<GateVerdict>(v).ok());
    if let Some(recorded) = &recorded_verdict {
        if let Some(problem) = compare_verdicts(&summary.verdict, recorded, "the ledger's record") {
            out.problems.push(format!(
                "run #{id}: `{folder}/{SUMMARY_FILE}` differs from the ledger: {problem}"
            ));
        }
    }
    let summary_measurements = serde_json::to_value(&summary.measurements).ok();
    let recorded_measurements = row
        .measurements
        .as_deref()
        .and_then(|m| serde_json::from_str::<serde_json::Value>(m).ok());
    if summary_measurements != recorded_measurements {
        out.problems.push(format!("run #{id}: the measurements in `{folder}/{SUMMARY_FILE}` differ from the ledger's record"));
    }

    // The gate as run, from the files as run.
    let project = match load_files(folder, entries) {
        Ok(p) => p,
        Err(problem) => {
            out.problems.push(format!("run #{id}: {problem}"));
            return;
        }
    };
    let Some(files) = project.system(&summary.system) else {
        out.problems.push(format!(
            "run #{id}: the files as run in `{folder}/{FILES_DIR}` hold no system `{}`",
            summary.system
        ));
        return;
    };
    if files.files_digest != row.files_digest {
        out.problems.push(format!(
            "run #{id}: the files as run in `{folder}/{FILES_DIR}` give digest {}…, the run recorded {}…: a file was changed",
            &files.files_digest[..12],
            row.files_digest.chars().take(12).collect::<String>()
        ));
    }
    let Some(spec) = summary
        .stage
        .parse::<StageId>()
        .ok()
        .and_then(|s| files.rollout.stages.get(&s))
    else {
        out.problems.push(format!(
            "run #{id}: the files as run have no stage `{}`",
            summary.stage
        ));
        return;
    };
    // A run stopped before its gate (wrong release, files not kept) has no criteria.
    if summary.verdict.results.is_empty() && summary.state == RunState::Aborted {
        return;
    }
    let baseline = summary.baseline.as_ref().map(|b| Baseline {
        release: b.release.clone(),
        measurements: b.measurements.clone(),
    });
    let fresh = gate::evaluate(&spec.gate, &summary.measurements, baseline.as_ref());
    out.runs += 1;
    out.criteria += fresh.results.len();
    if let Some(problem) = compare_verdicts(&summary.verdict, &fresh, "the gate as run") {
        out.problems
            .push(format!("run #{id} ({}): {problem}", summary.stage));
    }
}

/// The run's own criteria, which the runner adds to a verdict besides the gate's: the
/// release check (the environment's release could not be read) and a stop before the
/// end (an abort criterion's breach, or a signal).
const RUN_CRITERIA: [&str; 2] = [gate::RELEASE_METRIC, gate::ABORT_METRIC];

/// The criteria a verdict judged from measurements with the gate.
fn gate_results(verdict: &GateVerdict) -> Vec<&CriterionResult> {
    verdict
        .results
        .iter()
        .filter(|r| !RUN_CRITERIA.contains(&r.metric.as_str()))
        .collect()
}

/// The first difference between a stored verdict and another, naming the criterion.
fn compare_verdicts(stored: &GateVerdict, other: &GateVerdict, what: &str) -> Option<String> {
    let (a, b) = (gate_results(stored), gate_results(other));
    for (s, o) in a.iter().zip(&b) {
        if s.criterion != o.criterion || s.pass != o.pass || s.warn != o.warn {
            return Some(format!(
                "criterion `{}`: the stored threshold (pass `{}`, warn `{}`) is not {what} (`{}`: pass `{}`, warn `{}`)",
                s.criterion,
                s.pass,
                s.warn.as_deref().unwrap_or("-"),
                o.criterion,
                o.pass,
                o.warn.as_deref().unwrap_or("-")
            ));
        }
        if s.status != o.status || s.shown != o.shown {
            return Some(format!(
                "criterion `{}`: stored result {} ({}), {what} gives {} ({})",
                s.criterion, s.status, s.shown, o.status, o.shown
            ));
        }
    }
    if a.len() != b.len() {
        return Some(format!(
            "the stored verdict has {} criteria, {what} has {}",
            a.len(),
            b.len()
        ));
    }
    // A run criterion fails the run whatever the gate says.
    let run_failed = stored
        .results
        .iter()
        .any(|r| RUN_CRITERIA.contains(&r.metric.as_str()));
    if stored.outcome != other.outcome && !run_failed {
        return Some(format!(
            "the stored decision is {}, {what} gives {}",
            stored.outcome, other.outcome
        ));
    }
    None
}

/// Writes the run's files as run into a temporary folder and loads them as a project.
fn load_files(folder: &str, entries: &Entries) -> Result<crate::config::Project, String> {
    let prefix = format!("{folder}/{FILES_DIR}/");
    let dir = tempfile::tempdir().map_err(|e| format!("cannot create a temporary folder: {e}"))?;
    let mut any = false;
    for (path, bytes) in entries.iter().filter(|(p, _)| p.starts_with(&prefix)) {
        let rel = &path[prefix.len()..];
        // Paths come from the archive: refuse any that could leave the folder.
        if rel.split('/').any(|part| part == ".." || part.is_empty()) {
            return Err(format!("file `{path}` has an unsafe path"));
        }
        let to = dir.path().join(rel);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot unpack `{path}`: {e}"))?;
        }
        std::fs::write(&to, bytes).map_err(|e| format!("cannot unpack `{path}`: {e}"))?;
        any = true;
    }
    if !any {
        return Err(format!("the files as run are missing (`{prefix}`)"));
    }
    crate::config::load(dir.path())
        .map_err(|e| format!("the files as run in `{prefix}` cannot be loaded: {e}"))
}
