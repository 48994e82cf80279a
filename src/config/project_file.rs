//! Takes a path inside a project folder, gives its text — or a typed refusal — reading
//! only what a project may hold: a regular file (never a FIFO, a device or a socket,
//! which would hang or never end), inside the project folder once symlinks are
//! resolved, no larger than a bound, and valid UTF-8 (a mistake located by line and
//! column). Every file `validate`, `plan` and `run` read goes through here.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The largest TOML file read: a real rollout or suite is a few KiB.
pub const MAX_TOML_BYTES: u64 = 1 << 20;
/// The largest CSV feeder read: 64 MiB is about half a million citizen rows.
pub const MAX_FEEDER_BYTES: u64 = 64 << 20;

/// Why a project file was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// A FIFO, device, socket or folder where a file was expected.
    #[error("it is a {0}, not a regular file")]
    NotRegular(&'static str),
    /// The path (or the symlink it is) leads outside the project folder.
    #[error("it is outside the project folder")]
    OutsideProject,
    /// Larger than the bound.
    #[error("it is larger than {limit} bytes")]
    TooLarge {
        /// The bound.
        limit: u64,
    },
    /// Not UTF-8; line and column (in characters) of the first bad byte.
    #[error("invalid UTF-8 at line {line}, column {column}")]
    NotUtf8 {
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
    },
    /// The operating system refused (missing file, permissions).
    #[error("{0}")]
    Io(String),
}

fn kind_of(file_type: std::fs::FileType) -> Option<&'static str> {
    if file_type.is_file() {
        None
    } else if file_type.is_dir() {
        Some("folder")
    } else if file_type.is_fifo() {
        Some("FIFO (named pipe)")
    } else if file_type.is_char_device() || file_type.is_block_device() {
        Some("device")
    } else if file_type.is_socket() {
        Some("socket")
    } else {
        Some("special file")
    }
}

/// The canonical form of `path`, refused when it is not inside `root`.
pub fn inside(root: &Path, path: &Path) -> Result<PathBuf, FileError> {
    let root = root
        .canonicalize()
        .map_err(|e| FileError::Io(e.to_string().to_lowercase()))?;
    let real = path
        .canonicalize()
        .map_err(|e| FileError::Io(e.to_string().to_lowercase()))?;
    if !real.starts_with(&root) {
        return Err(FileError::OutsideProject);
    }
    Ok(real)
}

/// Reads the bytes of a regular file inside `root`, at most `limit` of them.
pub fn read_bytes(root: &Path, path: &Path, limit: u64) -> Result<Vec<u8>, FileError> {
    let real = inside(root, path)?;
    if let Some(kind) = std::fs::metadata(&real)
        .map_err(|e| FileError::Io(e.to_string().to_lowercase()))
        .map(|m| kind_of(m.file_type()))?
    {
        return Err(FileError::NotRegular(kind));
    }
    // Opened without blocking and checked again on the handle, so a file swapped for a
    // FIFO between the check and the open still cannot hang the read.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&real)
        .map_err(|e| FileError::Io(e.to_string().to_lowercase()))?;
    let meta = file
        .metadata()
        .map_err(|e| FileError::Io(e.to_string().to_lowercase()))?;
    if let Some(kind) = kind_of(meta.file_type()) {
        return Err(FileError::NotRegular(kind));
    }
    if meta.len() > limit {
        return Err(FileError::TooLarge { limit });
    }
    let mut bytes = Vec::new();
    File::take(file, limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| FileError::Io(e.to_string().to_lowercase()))?;
    if bytes.len() as u64 > limit {
        return Err(FileError::TooLarge { limit });
    }
    Ok(bytes)
}

/// Reads a UTF-8 text file inside `root`, at most `limit` bytes.
pub fn read_text(root: &Path, path: &Path, limit: u64) -> Result<String, FileError> {
    utf8(read_bytes(root, path, limit)?)
}

/// The bytes as text, or where the first invalid byte is.
pub fn utf8(bytes: Vec<u8>) -> Result<String, FileError> {
    String::from_utf8(bytes).map_err(|e| {
        let good = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let before = String::from_utf8_lossy(&bytes[..good]);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        FileError::NotUtf8 { line, column }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_is_located_by_line_and_character_column() {
        let bytes = b"a = 1\nt\xc3\xaan = \xff\n".to_vec();
        assert_eq!(utf8(bytes), Err(FileError::NotUtf8 { line: 2, column: 7 }));
    }

    #[test]
    fn fifos_devices_and_files_outside_are_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let fifo = root.join("x.toml");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo with a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert_eq!(
            read_text(root, &fifo, MAX_TOML_BYTES),
            Err(FileError::NotRegular("FIFO (named pipe)"))
        );
        let zero = root.join("zero.csv");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        assert!(matches!(
            read_bytes(root, &zero, MAX_FEEDER_BYTES),
            Err(FileError::OutsideProject)
        ));
        let big = root.join("big.toml");
        std::fs::write(&big, vec![b'a'; 2000]).unwrap();
        assert_eq!(
            read_text(root, &big, 1000),
            Err(FileError::TooLarge { limit: 1000 })
        );
    }
}
