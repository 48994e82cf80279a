//! Tells whether the process that started a run is still alive, so a run whose
//! process died can be marked aborted. A pid alone can be reused; the process start
//! time (from `/proc/<pid>/stat`) tells the runner from a stranger with its pid.

/// The current process: pid, start time, host.
pub(super) fn current() -> (i64, Option<String>, String) {
    let pid = std::process::id();
    (i64::from(pid), start_time(i64::from(pid)), host())
}

/// Whether the run's process is still running. Runs from another host are assumed
/// alive: this host cannot see them.
pub(super) fn is_alive(pid: i64, pid_start: Option<&str>, run_host: &str) -> bool {
    if run_host != host() {
        return true;
    }
    match (start_time(pid), pid_start) {
        (Some(now), Some(then)) => now == then,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

fn start_time(pid: i64) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses; fields resume after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    // Field 22 (starttime) is the 20th after the command name.
    rest.split_whitespace().nth(19).map(str::to_string)
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_dead_pid_is_not() {
        let (pid, start, host) = current();
        assert!(is_alive(pid, start.as_deref(), &host));
        assert!(!is_alive(pid, Some("1"), &host));
        assert!(!is_alive(i64::from(i32::MAX), None, &host));
    }
}
