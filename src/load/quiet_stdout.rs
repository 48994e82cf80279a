//! goose 0.19 prints "N users launched." with `println!` whatever its quiet settings
//! say. stagegate's standard output is machine-readable (JSON verdicts), so while an
//! attack runs file descriptor 1 points at /dev/null; stagegate itself writes progress
//! to standard error during that time and restores standard output afterwards.

use std::io::Write;

/// Restores standard output when dropped.
pub(super) struct StdoutMuted {
    saved: Option<libc::c_int>,
}

/// Points standard output at /dev/null until the guard is dropped. If anything fails,
/// output is left as it was: a stray goose line is better than a lost verdict.
pub(super) fn mute() -> StdoutMuted {
    let _ = std::io::stdout().flush();
    // SAFETY: plain POSIX calls on descriptors this function owns; every result is checked
    // and nothing is closed that the process still uses.
    unsafe {
        let saved = libc::dup(libc::STDOUT_FILENO);
        if saved < 0 {
            return StdoutMuted { saved: None };
        }
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
        if null < 0 {
            libc::close(saved);
            return StdoutMuted { saved: None };
        }
        let redirected = libc::dup2(null, libc::STDOUT_FILENO) >= 0;
        libc::close(null);
        if !redirected {
            libc::close(saved);
            return StdoutMuted { saved: None };
        }
        StdoutMuted { saved: Some(saved) }
    }
}

impl Drop for StdoutMuted {
    fn drop(&mut self) {
        let _ = std::io::stdout().flush();
        if let Some(saved) = self.saved.take() {
            // SAFETY: `saved` is the descriptor duplicated in `mute`, still open.
            unsafe {
                libc::dup2(saved, libc::STDOUT_FILENO);
                libc::close(saved);
            }
        }
    }
}
