//! Takes project files (each path relative to the project root, with its bytes) in path
//! order, gives the files digest a plan and its run carry: computed once at `validate`
//! and again over the copy a run keeps, so the two can be compared.

use sha2::{Digest, Sha256};
use std::path::Path;

/// A files digest being computed: each file's relative path, a zero byte and the
/// SHA-256 of its bytes, in the order added (sorted by path).
pub struct FilesDigest(Sha256);

impl Default for FilesDigest {
    fn default() -> Self {
        FilesDigest(Sha256::new())
    }
}

impl FilesDigest {
    /// Adds one file.
    pub fn add(&mut self, rel: &Path, bytes: &[u8]) {
        self.0.update(rel.to_string_lossy().as_bytes());
        self.0.update([0]);
        self.0.update(Sha256::digest(bytes));
    }

    /// The digest, in hex.
    pub fn finish(self) -> String {
        hex::encode(self.0.finalize())
    }
}
