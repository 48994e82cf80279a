//! Takes a plan, keeps a copy of the files it came from (rollout, suites, data,
//! environments) in the run's report folder before any traffic, so the evidence shows
//! exactly what was run even after the project changes.

use crate::plan::Plan;
use std::path::Path;

/// The folder under a run's report folder holding the files as run.
pub const FILES_DIR: &str = "files";

/// Copies the plan's files (paths relative to its root) into `<dir>/files/`.
pub(super) fn keep(plan: &Plan, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let base = dir.join(FILES_DIR);
    for rel in &plan.files {
        let to = base.join(rel);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(plan.files_root.join(rel), &to)?;
    }
    Ok(())
}
