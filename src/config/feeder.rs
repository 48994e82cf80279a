//! Takes a feeder's path as a suite writes it, gives the CSV's header and rows, read
//! through [`project_file`](super::project_file): a regular file inside the project, at
//! most [`MAX_FEEDER_BYTES`](super::project_file::MAX_FEEDER_BYTES), UTF-8 checked with
//! the line and column of a bad byte.

use super::project_file::{self, MAX_FEEDER_BYTES};
use std::path::{Path, PathBuf};

/// A feeder file as read: where it is and what it holds.
pub(super) struct FeederFile {
    /// The file's real path, relative to the project root (for the files as run).
    pub path: PathBuf,
    /// Column names from the header row.
    pub columns: Vec<String>,
    /// The data rows.
    pub rows: Vec<Vec<String>>,
}

/// The header and the data rows of the feeder `rel` (relative to `dir`, the suite's
/// folder), which must be inside `root`.
pub(super) fn read(root: &Path, dir: &Path, rel: &str) -> Result<FeederFile, String> {
    let path = dir.join(rel);
    let real = project_file::inside(root, &path).map_err(|e| e.to_string())?;
    let text = project_file::read_text(root, &real, MAX_FEEDER_BYTES).map_err(|e| e.to_string())?;
    let root_real = root.canonicalize().map_err(|e| e.to_string())?;
    let shown = real.strip_prefix(&root_real).unwrap_or(&real).to_path_buf();
    let (columns, rows) = parse_csv(&text)?;
    Ok(FeederFile {
        path: shown,
        columns,
        rows,
    })
}

/// The header and data rows of a CSV text; a feeder without data rows is refused.
pub fn parse_csv(text: &str) -> Result<(Vec<String>, Vec<Vec<String>>), String> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let columns: Vec<String> = reader
        .headers()
        .map_err(|e| e.to_string())?
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| e.to_string())?;
        rows.push(record.iter().map(str::to_string).collect());
    }
    if rows.is_empty() {
        return Err("it has no data rows".into());
    }
    Ok((columns, rows))
}
