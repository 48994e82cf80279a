//! Takes a plan, keeps a copy of the files it came from (rollout, suites, data,
//! environments, people) in the run's report folder before any traffic, so the
//! evidence shows exactly what was run even after the project changes. The copy is
//! read under the same rules as `validate` (regular files inside the project, bounded)
//! and must give the plan's digest: a file changed between `validate` and the copy
//! (or swapped for a FIFO) stops the run before anything is sent.

use crate::config::files_digest::FilesDigest;
use crate::config::project_file::{self, MAX_FEEDER_BYTES};
use crate::plan::Plan;
use std::io::{Error, ErrorKind};
use std::path::{Path, PathBuf};

/// The folder under a run's report folder holding the files as run.
pub const FILES_DIR: &str = "files";

/// Copies the plan's files (paths relative to its root) into `<dir>/files/`.
pub(super) fn keep(plan: &Plan, dir: &Path) -> std::io::Result<()> {
    keep_files(&plan.files_root, &plan.files, &plan.files_digest, dir)
}

/// Copies `files` (relative to `root`, in the digest's order) into `<dir>/files/` and
/// checks that the copy gives `digest`.
fn keep_files(root: &Path, files: &[PathBuf], digest: &str, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let base = dir.join(FILES_DIR);
    let mut copied = FilesDigest::default();
    for rel in files {
        // Every file of a plan passed these rules at `validate`; reading it again under
        // them keeps a file swapped since (a FIFO, a link out) from hanging the run.
        let bytes = project_file::read_bytes(root, &root.join(rel), MAX_FEEDER_BYTES)
            .map_err(|e| Error::new(ErrorKind::InvalidData, format!("{}: {e}", rel.display())))?;
        copied.add(rel, &bytes);
        let to = base.join(rel);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&to, &bytes)?;
    }
    let copied = copied.finish();
    if copied != digest {
        return Err(Error::new(
            ErrorKind::InvalidData,
            format!(
                "the project's files changed after they were validated (digest {}…, validated {}…); run again",
                &copied[..12],
                digest.chars().take(12).collect::<String>()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest_of(root: &Path, files: &[PathBuf]) -> String {
        let mut d = FilesDigest::default();
        for rel in files {
            d.add(rel, &std::fs::read(root.join(rel)).unwrap());
        }
        d.finish()
    }

    #[test]
    fn the_copy_must_give_the_validated_digest() {
        let project = tempfile::tempdir().unwrap();
        let root = project.path();
        std::fs::create_dir_all(root.join("scenarios/he-thong/data")).unwrap();
        std::fs::write(
            root.join("scenarios/he-thong/rollout.toml"),
            "version = 1\n",
        )
        .unwrap();
        std::fs::write(root.join("scenarios/he-thong/data/a.csv"), "so\n1\n").unwrap();
        let files = vec![
            PathBuf::from("scenarios/he-thong/data/a.csv"),
            PathBuf::from("scenarios/he-thong/rollout.toml"),
        ];
        let digest = digest_of(root, &files);
        let out = tempfile::tempdir().unwrap();
        keep_files(root, &files, &digest, &out.path().join("run-1")).unwrap();
        assert_eq!(
            std::fs::read_to_string(out.path().join("run-1/files/scenarios/he-thong/data/a.csv"))
                .unwrap(),
            "so\n1\n"
        );

        // Edited after `validate`: the run is stopped, naming why.
        std::fs::write(root.join("scenarios/he-thong/data/a.csv"), "so\n2\n").unwrap();
        let e = keep_files(root, &files, &digest, &out.path().join("run-2")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("the project's files changed after they were validated"),
            "{e}"
        );

        // Swapped for a FIFO: refused at once, never opened for reading.
        let fifo = root.join("scenarios/he-thong/data/a.csv");
        std::fs::remove_file(&fifo).unwrap();
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = keep_files(root, &files, &digest, &out.path().join("run-3")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "scenarios/he-thong/data/a.csv: it is a FIFO (named pipe), not a regular file"
        );
    }
}
