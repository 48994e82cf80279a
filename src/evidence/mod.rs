//! Takes the ledger and a release, gives its evidence archive (`.tar.gz`): every run's
//! folder (the files as run, `summary.json`, `junit.xml`, `report.html`), the release's
//! go-live dossier in English and Vietnamese, the ledger's events of the release with
//! the hash chain they belong to, and a manifest with the SHA-256 of every file.
//! [`verify`] checks such an archive years later without the database.

pub mod against_ledger;
pub mod archive;
pub mod verify;

use crate::ledger::{AuditEvent, Ledger, LedgerError};
use crate::report::context::ReleaseDossier;
use crate::report::html;
use crate::report::i18n::Lang;
use crate::report::local_time::ReportZone;
use archive::Entries;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

pub use verify::{verify, VerifyOutcome};

/// The format identifier of `manifest.json`; bumped on any incompatible change.
pub const MANIFEST_FORMAT: &str = "stagegate.evidence/v1";
/// The manifest's path in the archive.
pub const MANIFEST: &str = "manifest.json";
/// The release's audit events, in full.
pub const EVENTS: &str = "ledger/events.json";
/// Every event of the ledger's hash chain up to the archive, in full, so the chain can
/// be recomputed from the first event without the database and the release's events
/// placed in it.
pub const CHAIN: &str = "ledger/chain.json";
/// Every key of every roster the chain pinned, as an OpenSSH `allowed_signers` file.
pub const ALLOWED_SIGNERS: &str = "ledger/allowed_signers";
/// Folder of the release's signed payloads and signatures, one pair per event
/// (`event-<seq>.payload`, `event-<seq>.sig`), for `ssh-keygen -Y verify`.
pub const SIGNED_DIR: &str = "ledger/signed";

/// The manifest of an archive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`MANIFEST_FORMAT`].
    pub format: String,
    /// System.
    pub system: String,
    /// Release.
    pub release: String,
    /// When the archive was made.
    pub created_at: String,
    /// Hash of the last event of the chain in the archive: compare it with the live
    /// ledger to know the archive holds the ledger as it is.
    pub chain_head: String,
    /// Every run of the release and where its folder is in the archive.
    pub runs: Vec<ManifestRun>,
    /// Every other file of the archive with its SHA-256.
    pub files: Vec<ManifestFile>,
}

/// One run in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestRun {
    /// Run id.
    pub id: i64,
    /// Stage.
    pub stage: String,
    /// Final state.
    pub state: String,
    /// Its folder in the archive, when its reports were found.
    pub folder: Option<String>,
}

/// One file in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    /// Path in the archive.
    pub path: String,
    /// SHA-256, hex.
    pub sha256: String,
    /// Size.
    pub bytes: u64,
}

/// Why an archive could not be made.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// The ledger failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// Nothing to archive.
    #[error("the ledger has no release {release} of system `{system}` (hint: `stagegate status` lists them)")]
    UnknownRelease {
        /// System.
        system: String,
        /// Release.
        release: String,
    },
    /// A report folder could not be read.
    #[error("cannot read `{path}`: {source}")]
    Read {
        /// What.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The archive could not be written.
    #[error("cannot write the archive `{path}`: {source}")]
    Write {
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A document could not be serialized.
    #[error("cannot write JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// SHA-256 of bytes, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Collects the evidence of a release, manifest included.
/// The Vietnamese dossier in it writes local times in `zone`.
pub fn collect(
    ledger: &Ledger,
    system: &str,
    release: &str,
    zone: &ReportZone,
) -> Result<Entries, EvidenceError> {
    if !ledger
        .releases(Some(system))?
        .iter()
        .any(|(_, r)| r == release)
    {
        return Err(EvidenceError::UnknownRelease {
            system: system.to_string(),
            release: release.to_string(),
        });
    }
    let mut entries = Entries::new();
    let mut runs = Vec::new();
    for run in ledger.runs(Some(system), Some(release))? {
        let folder = format!("runs/{}/run-{}", run.stage, run.id);
        let found = match run
            .report_dir
            .as_deref()
            .map(Path::new)
            .filter(|d| d.is_dir())
        {
            Some(dir) => {
                add_folder(&mut entries, dir, &folder)?;
                Some(folder)
            }
            None => None,
        };
        runs.push(ManifestRun {
            id: run.id,
            stage: run.stage.to_string(),
            state: run.state.to_string(),
            folder: found,
        });
    }
    let dossier = ReleaseDossier::from_ledger(ledger, system, release)?;
    for (lang, code) in [(Lang::En, "en"), (Lang::Vi, "vi")] {
        entries.insert(
            format!("reports/{system}-{release}.{code}.html"),
            html::release_page(&dossier, lang, zone).into_bytes(),
        );
    }
    let events: Vec<AuditEvent> = ledger.events(Some(system), Some(release))?;
    let chain: Vec<AuditEvent> = ledger.events(None, None)?;
    entries.insert(EVENTS.into(), serde_json::to_vec_pretty(&events)?);
    entries.insert(CHAIN.into(), serde_json::to_vec_pretty(&chain)?);
    let mut signers: Vec<String> = Vec::new();
    for roster in ledger.pinned_rosters()? {
        for line in roster.allowed_signers().lines() {
            if !signers.iter().any(|l| l == line) {
                signers.push(line.to_string());
            }
        }
    }
    entries.insert(
        ALLOWED_SIGNERS.into(),
        format!("{}\n", signers.join("\n")).into_bytes(),
    );
    for e in &events {
        entries.insert(
            format!("{SIGNED_DIR}/event-{}.payload", e.seq),
            e.statement.clone().into_bytes(),
        );
        entries.insert(
            format!("{SIGNED_DIR}/event-{}.sig", e.seq),
            e.signature.clone().into_bytes(),
        );
    }
    let files = entries
        .iter()
        .map(|(path, bytes)| ManifestFile {
            path: path.clone(),
            sha256: sha256_hex(bytes),
            bytes: bytes.len() as u64,
        })
        .collect();
    let manifest = Manifest {
        format: MANIFEST_FORMAT.into(),
        system: system.to_string(),
        release: release.to_string(),
        created_at: crate::ledger::now(),
        chain_head: chain
            .last()
            .map_or_else(|| crate::ledger::GENESIS.to_string(), |e| e.hash.clone()),
        runs,
        files,
    };
    entries.insert(MANIFEST.into(), serde_json::to_vec_pretty(&manifest)?);
    Ok(entries)
}

/// Collects the evidence of a release and writes it to `path`.
pub fn write(
    ledger: &Ledger,
    system: &str,
    release: &str,
    zone: &ReportZone,
    path: &Path,
) -> Result<usize, EvidenceError> {
    let entries = collect(ledger, system, release, zone)?;
    archive::write(path, &entries).map_err(|source| EvidenceError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(entries.len())
}

fn add_folder(entries: &mut Entries, dir: &Path, prefix: &str) -> Result<(), EvidenceError> {
    let read = std::fs::read_dir(dir).map_err(|source| EvidenceError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in read {
        let entry = entry.map_err(|source| EvidenceError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        let name = format!("{prefix}/{}", entry.file_name().to_string_lossy());
        if path.is_dir() {
            add_folder(entries, &path, &name)?;
        } else {
            let bytes = std::fs::read(&path).map_err(|source| EvidenceError::Read {
                path: path.clone(),
                source,
            })?;
            entries.insert(name, bytes);
        }
    }
    Ok(())
}
