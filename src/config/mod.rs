//! Takes a project folder (`environments/*.toml`, `scenarios/<system>/*.toml`), gives a
//! validated [`Project`], or every mistake in every file as [`Diagnostics`].
//!
//! Parsing happens in two passes per format: private serde types that keep spans
//! (`toml::Spanned`) and reject unknown keys, then conversion into the public typed
//! values that the plan reads. Nothing here sends traffic.

pub mod diagnostic;
pub mod environment;
pub mod matcher;
pub mod promql;
pub mod provision;
pub mod rollout;
pub mod security_suite;
pub mod suite;
pub mod traffic;
pub mod units;

use diagnostic::{Diagnostics, SourceFile};
use environment::Environment;
use rollout::Rollout;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use suite::Suite;
use toml::Spanned;

/// The only file-format version this build reads.
pub const FORMAT_VERSION: u32 = 1;

/// Every validated file of a project.
#[derive(Debug, Clone)]
pub struct Project {
    /// The folder holding `environments/` and `scenarios/`.
    pub root: PathBuf,
    /// Environments by name.
    pub environments: BTreeMap<String, Environment>,
    /// Systems by name.
    pub systems: BTreeMap<String, SystemFiles>,
    /// The people who may sign runs and decisions (`people.toml`), when the project has
    /// one; running or deciding needs it.
    pub roster: Option<crate::identity::Roster>,
}

/// One system's rollout and suites, with the digest of the files they came from.
#[derive(Debug, Clone)]
pub struct SystemFiles {
    /// The rollout plan.
    pub rollout: Rollout,
    /// Suites by name.
    pub suites: BTreeMap<String, Suite>,
    /// SHA-256 of every file the system's plan reads (rollout, suites, data,
    /// environments), so a run can be pinned to exactly what it ran.
    pub files_digest: String,
    /// The files that went into the digest, relative to the root.
    pub files: Vec<PathBuf>,
}

/// Why a project could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A folder or file could not be read.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// What we tried to read.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The project has no `environments/` or `scenarios/` folder.
    #[error("`{0}` holds no stagegate project (hint: run in a folder with `environments/` and `scenarios/`, or pass `--root DIR`)")]
    NotAProject(PathBuf),
    /// One or more files are invalid.
    #[error("{0}")]
    Invalid(Diagnostics),
}

impl Project {
    /// The system's files, or `None` if there is no such system.
    pub fn system(&self, name: &str) -> Option<&SystemFiles> {
        self.systems.get(name)
    }
}

/// Loads and validates every file under `root`.
pub fn load(root: &Path) -> Result<Project, LoadError> {
    let env_dir = root.join("environments");
    let scenario_dir = root.join("scenarios");
    if !env_dir.is_dir() || !scenario_dir.is_dir() {
        return Err(LoadError::NotAProject(root.to_path_buf()));
    }
    let mut diagnostics = Diagnostics::default();

    // The roster first: rollouts name its roles.
    let people_path = root.join(crate::identity::people_file::FILE_NAME);
    let (roster, people_file) = if people_path.is_file() {
        let file = read(root, &people_path)?;
        (
            crate::identity::people_file::parse(&file, &mut diagnostics),
            Some(file),
        )
    } else {
        (None, None)
    };
    let roles: Option<BTreeSet<String>> = roster
        .as_ref()
        .map(|r| r.roles().into_iter().map(|r| r.0.clone()).collect());

    let mut environments = BTreeMap::new();
    let mut env_names = BTreeSet::new();
    let mut env_files = BTreeMap::new();
    for path in toml_files(&env_dir)? {
        let name = stem(&path);
        env_names.insert(name.clone());
        let file = read(root, &path)?;
        if let Some(env) = environment::parse(&file, &name, &mut diagnostics) {
            environments.insert(name.clone(), env);
        }
        env_files.insert(name, file);
    }

    let production_names: BTreeSet<String> = environments
        .values()
        .filter(|e: &&Environment| e.tier == environment::Tier::Production)
        .map(|e| e.name.clone())
        .collect();
    let prometheus_names: BTreeSet<String> = environments
        .values()
        .filter(|e| e.prometheus_url.is_some())
        .map(|e| e.name.clone())
        .collect();
    let mut systems = BTreeMap::new();
    for system_dir in subfolders(&scenario_dir)? {
        let folder = stem(&system_dir);
        let mut suite_files = Vec::new();
        let mut rollout_file = None;
        for path in toml_files(&system_dir)? {
            if path.file_name().is_some_and(|n| n == "rollout.toml") {
                rollout_file = Some(read(root, &path)?);
            } else {
                suite_files.push((stem(&path), read(root, &path)?));
            }
        }
        let Some(rollout_file) = rollout_file else {
            // A folder of suites without a plan is allowed (shared suites); it is simply
            // not a system.
            continue;
        };
        let suite_names: BTreeSet<String> = suite_files.iter().map(|(n, _)| n.clone()).collect();
        let mut suites = BTreeMap::new();
        for (name, file) in &suite_files {
            if let Some(suite) = suite::parse(file, name, &system_dir, &mut diagnostics) {
                suites.insert(name.clone(), suite);
            }
        }
        let known = rollout::KnownNames {
            environments: &env_names,
            suites: &suite_names,
            production: &production_names,
            with_prometheus: &prometheus_names,
            roles: roles.as_ref(),
        };
        if let Some(rollout) = rollout::parse(&rollout_file, &folder, &known, &mut diagnostics) {
            let (files_digest, files) = digest_system(
                root,
                &system_dir,
                &rollout,
                &env_files,
                people_file.as_ref(),
            )?;
            systems.insert(
                folder.clone(),
                SystemFiles {
                    rollout,
                    suites,
                    files_digest,
                    files,
                },
            );
        }
    }

    if !diagnostics.is_empty() {
        return Err(LoadError::Invalid(diagnostics));
    }
    Ok(Project {
        root: root.to_path_buf(),
        environments,
        systems,
        roster,
    })
}

/// Reports a `version` other than the one this build reads.
pub(crate) fn check_version(
    file: &SourceFile,
    version: &Spanned<u32>,
    diagnostics: &mut Diagnostics,
) {
    if *version.get_ref() != FORMAT_VERSION {
        diagnostics.push(file.diagnostic(
            version.span(),
            format!("unsupported format version {}", version.get_ref()),
            Some(format!("`version = {FORMAT_VERSION}`")),
        ));
    }
}

fn digest_system(
    root: &Path,
    system_dir: &Path,
    rollout: &Rollout,
    env_files: &BTreeMap<String, SourceFile>,
    people: Option<&SourceFile>,
) -> Result<(String, Vec<PathBuf>), LoadError> {
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut stack = vec![system_dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| LoadError::Io {
            path: dir.clone(),
            source,
        })?;
        for entry in entries {
            let path = entry
                .map_err(|source| LoadError::Io {
                    path: dir.clone(),
                    source,
                })?
                .path();
            if path.is_dir() {
                stack.push(path);
            } else {
                paths.push(path);
            }
        }
    }
    let used_envs: BTreeSet<&String> = rollout.stages.values().map(|s| &s.environment).collect();
    for name in used_envs {
        if let Some(file) = env_files.get(name) {
            paths.push(root.join(&file.path));
        }
    }
    // The roster is pinned like the plan: a run is judged by the people of its time.
    if let Some(file) = people {
        paths.push(root.join(&file.path));
    }
    paths.sort();
    let mut hasher = Sha256::new();
    let mut shown = Vec::new();
    for path in paths {
        let bytes = std::fs::read(&path).map_err(|source| LoadError::Io {
            path: path.clone(),
            source,
        })?;
        let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
        hasher.update(rel.to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update(Sha256::digest(&bytes));
        shown.push(rel);
    }
    Ok((hex::encode(hasher.finalize()), shown))
}

fn read(root: &Path, path: &Path) -> Result<SourceFile, LoadError> {
    let shown = path.strip_prefix(root).unwrap_or(path).to_path_buf();
    SourceFile::read(path, shown).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let entries = std::fs::read_dir(dir).map_err(|source| LoadError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths = Vec::new();
    for entry in entries {
        paths.push(
            entry
                .map_err(|source| LoadError::Io {
                    path: dir.to_path_buf(),
                    source,
                })?
                .path(),
        );
    }
    paths.sort();
    Ok(paths)
}

fn toml_files(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    Ok(sorted_entries(dir)?
        .into_iter()
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "toml"))
        .collect())
}

fn subfolders(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    Ok(sorted_entries(dir)?
        .into_iter()
        .filter(|p| p.is_dir())
        .collect())
}
