//! Takes a number of virtual users, gives whether this process may open enough file
//! descriptors for them — raising its soft limit to the hard limit first, as `ulimit
//! -n` would — so a plan that cannot run is refused before it starts instead of
//! running past its end with connections that can never open.

/// Descriptors kept aside for what is not a user's connection: the ledger, report
/// files, the metrics server, the security client, stdio, goose's own channels.
pub const RESERVED: u64 = 64;

/// The soft limit on open files after raising it as far as the hard limit allows;
/// `None` when the operating system does not say.
pub fn open_file_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local rlimit.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    Some(limit.rlim_cur)
}

/// The most virtual users the descriptor limit allows (one connection each, and the
/// reserve), and the limit itself, when `users` is more than that.
pub fn too_many(users: u32) -> Option<(u64, u64)> {
    let limit = open_file_limit()?;
    let most = limit.saturating_sub(RESERVED);
    (u64::from(users) > most).then_some((most, limit))
}
