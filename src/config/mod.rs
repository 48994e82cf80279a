//! Takes a project folder (`environments/*.toml`, `scenarios/<system>/*.toml`), gives a
//! validated [`Project`], or every mistake in every file as [`Diagnostics`].
//!
//! Parsing happens in two passes per format: private serde types that keep spans
//! (`toml::Spanned`) and reject unknown keys, then conversion into the public typed
//! values that the plan reads. Nothing here sends traffic.

mod abort_spec;
pub mod acceptance;
pub mod diagnostic;
pub mod environment;
pub mod feeder;
mod fence;
pub mod files_digest;
mod gate_spec;
pub mod ledger_setting;
pub mod load_suite;
pub mod matcher;
pub mod notify_spec;
mod placeholders;
pub mod probe_spec;
pub mod project_file;
pub mod promql;
pub mod provision;
pub mod rollout;
pub mod schema;
pub mod security_suite;
pub mod suite;
pub mod traffic;
pub mod units;

use diagnostic::{Diagnostic, Diagnostics, SourceFile};
use environment::Environment;
use files_digest::FilesDigest;
use rollout::Rollout;
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
    let (roster, people_file) = if people_path.exists() {
        match read(root, &people_path, &mut diagnostics) {
            Some(file) => (
                crate::identity::people_file::parse(&file, &mut diagnostics),
                Some(file),
            ),
            None => (None, None),
        }
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
        let Some(file) = read(root, &path, &mut diagnostics) else {
            continue;
        };
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
    let test_names: BTreeSet<String> = environments
        .values()
        .filter(|e| e.tier == environment::Tier::Test)
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
            let Some(file) = read(root, &path, &mut diagnostics) else {
                continue;
            };
            if path.file_name().is_some_and(|n| n == "rollout.toml") {
                rollout_file = Some(file);
            } else {
                suite_files.push((stem(&path), file));
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
            if let Some(suite) = suite::parse(file, name, &system_dir, root, &mut diagnostics) {
                suites.insert(name.clone(), suite);
            }
        }
        let known = rollout::KnownNames {
            environments: &env_names,
            suites: &suite_names,
            production: &production_names,
            test: &test_names,
            with_prometheus: &prometheus_names,
            roles: roles.as_ref(),
        };
        if let Some(rollout) = rollout::parse(&rollout_file, &folder, &known, &mut diagnostics) {
            fence::check_stages(&rollout, &suites, &environments, &mut diagnostics);
            let feeders = suites.values().filter_map(|s| match &s.body {
                suite::SuiteBody::Load(load) => {
                    Some(load.feeders.iter().map(|f| root.join(&f.file)))
                }
                suite::SuiteBody::Security(_) => None,
            });
            let feeders: Vec<PathBuf> = feeders.flatten().collect();
            let Some((files_digest, files)) = digest_system(
                root,
                &system_dir,
                &rollout,
                &env_files,
                &feeders,
                people_file.as_ref(),
                &mut diagnostics,
            ) else {
                continue;
            };
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

    fence::check_tiers(&environments, &env_files, &mut diagnostics);
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

/// The valid environments of the project at `root`, read on their own (a broken suite
/// does not hide them): what the ad-hoc commands check a URL against. Empty when `root`
/// holds no `environments/` folder.
pub fn environments(root: &Path) -> Vec<Environment> {
    let dir = root.join("environments");
    let Ok(paths) = toml_files(&dir) else {
        return Vec::new();
    };
    let mut diagnostics = Diagnostics::default();
    paths
        .iter()
        .filter_map(|path| {
            let file = read(root, path, &mut diagnostics)?;
            environment::parse(&file, &stem(path), &mut diagnostics)
        })
        .collect()
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

/// The digest of every file the system's plan reads — everything in the system's
/// folder, the feeders wherever they are in the project, the environments its stages
/// use — and those files relative to the root. A file that may not be read (a FIFO, a
/// device, a symlink out of the project, too large) is reported, never read.
fn digest_system(
    root: &Path,
    system_dir: &Path,
    rollout: &Rollout,
    env_files: &BTreeMap<String, SourceFile>,
    feeders: &[PathBuf],
    people: Option<&SourceFile>,
    diagnostics: &mut Diagnostics,
) -> Option<(String, Vec<PathBuf>)> {
    let mut paths: Vec<PathBuf> = feeders.to_vec();
    let mut stack = vec![system_dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match sorted_entries(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                diagnostics.push(file_problem(root, &dir, &e.to_string()));
                return None;
            }
        };
        for path in entries {
            // `symlink_metadata`: a symlinked folder is read as a file (and refused when
            // it leads out of the project), never walked into.
            if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
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
    paths.dedup();
    let mut hasher = FilesDigest::default();
    let mut shown = Vec::new();
    let before = diagnostics.0.len();
    for path in paths {
        let bytes = match project_file::read_bytes(root, &path, project_file::MAX_FEEDER_BYTES) {
            Ok(bytes) => bytes,
            Err(e) => {
                diagnostics.push(file_problem(root, &path, &e.to_string()));
                continue;
            }
        };
        let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
        hasher.add(&rel, &bytes);
        shown.push(rel);
    }
    (diagnostics.0.len() == before).then(|| (hasher.finish(), shown))
}

/// A file that could not be read, as a diagnostic on the file itself.
fn file_problem(root: &Path, path: &Path, problem: &str) -> Diagnostic {
    Diagnostic {
        path: path.strip_prefix(root).unwrap_or(path).to_path_buf(),
        line: 1,
        column: 1,
        width: 1,
        line_text: String::new(),
        message: format!("cannot read this file: {problem}"),
        expected: Some("a regular UTF-8 file inside the project folder".into()),
    }
}

/// Reads a project file; a file that may not be read becomes a diagnostic, located at
/// the bad byte when it is not UTF-8.
fn read(root: &Path, path: &Path, diagnostics: &mut Diagnostics) -> Option<SourceFile> {
    let shown = path.strip_prefix(root).unwrap_or(path).to_path_buf();
    let bytes = match project_file::read_bytes(root, path, project_file::MAX_TOML_BYTES) {
        Ok(bytes) => bytes,
        Err(e) => {
            diagnostics.push(file_problem(root, path, &e.to_string()));
            return None;
        }
    };
    match project_file::utf8(bytes.clone()) {
        Ok(text) => Some(SourceFile { path: shown, text }),
        Err(e) => {
            let file = SourceFile {
                path: shown,
                text: String::from_utf8_lossy(&bytes).into_owned(),
            };
            let (line, column) = match e {
                project_file::FileError::NotUtf8 { line, column } => (line, column),
                _ => (1, 1),
            };
            let offset = line_column_offset(&file.text, line, column);
            diagnostics.push(file.diagnostic(
                offset..offset + 1,
                "invalid UTF-8",
                Some("a file in UTF-8 (Vietnamese text included)".into()),
            ));
            None
        }
    }
}

/// The byte offset of a 1-based line and character column in `text`.
fn line_column_offset(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    line_start
        + text[line_start..]
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(0, |(i, _)| i)
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

/// The `.toml` entries of a folder that are not folders: a FIFO or a device named
/// `x.toml` is listed too, so reading it reports what it is instead of skipping it.
fn toml_files(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    Ok(sorted_entries(dir)?
        .into_iter()
        .filter(|p| !p.is_dir() && p.extension().is_some_and(|e| e == "toml"))
        .collect())
}

fn subfolders(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    Ok(sorted_entries(dir)?
        .into_iter()
        .filter(|p| p.is_dir())
        .collect())
}
