//! Takes a load's virtual users, their think time and its connection bound, gives
//! whether this process may open enough file descriptors for the connections they hold
//! at once — raising its soft limit to the hard limit first, as `ulimit -n` would — so a
//! plan that cannot run is refused before it starts instead of running past its end
//! with connections that can never open.
//!
//! The rule: users share one connection pool bounded by the load's connection bound B
//! (`max-connections`, see `load::connections`): at most B requests in flight, so at
//! most B busy connections, and at most B idle ones kept for the next senders — 2·B
//! descriptors at worst (hyper returns a freed connection to the pool in the background,
//! so a sender that finds the pool empty a moment early opens another, which then waits
//! idle). A user that never thinks always has a request in flight, so without a think
//! time B is one per user; a thinking user holds no connection, so with a think time B
//! is what the descriptors allow. Only a bound whose 2·B descriptors exceed the limit is
//! refused: too many users without think time, or too high a `max-connections`.

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

/// The descriptors that can be connections: the limit less the reserve; `None` when the
/// operating system does not say (then nothing is refused, and nothing is bounded by it).
pub fn usable() -> Option<u64> {
    open_file_limit().map(|limit| limit.saturating_sub(RESERVED))
}

/// The most requests a load has in flight at once: `max_connections` when the suite sets
/// one (never more than the users); otherwise one per user when users do not think, and
/// when they do, as many as `usable` descriptors allow at two each (busy and idle, see
/// the module's rule), never more than the users.
pub fn connection_bound(
    peak_users: u32,
    thinks: bool,
    max_connections: Option<u32>,
    usable: Option<u64>,
) -> u64 {
    let users = u64::from(peak_users);
    match (max_connections, usable) {
        (Some(most), _) => u64::from(most).min(users),
        (None, Some(usable)) if thinks => users.min(usable / 2).max(1),
        (None, _) => users,
    }
}

/// Why a load cannot run within the descriptor limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DescriptorShortfall {
    /// The load's connection bound (requests in flight at once).
    pub connections: u64,
    /// Descriptors that can be connections.
    pub usable: u64,
    /// The process's open-file limit.
    pub limit: u64,
}

/// The shortfall, when the descriptors the load's connection bound may hold (two per
/// request in flight, see the module's rule) are more than those that can be connections.
pub fn shortfall(
    peak_users: u32,
    thinks: bool,
    max_connections: Option<u32>,
) -> Option<DescriptorShortfall> {
    let limit = open_file_limit()?;
    let usable = limit.saturating_sub(RESERVED);
    let connections = connection_bound(peak_users, thinks, max_connections, Some(usable));
    (connections.saturating_mul(2) > usable).then_some(DescriptorShortfall {
        connections,
        usable,
        limit,
    })
}

#[cfg(test)]
mod tests {
    use super::connection_bound;

    #[test]
    fn users_that_think_share_what_the_descriptors_allow() {
        assert_eq!(connection_bound(50_000, true, None, Some(19_936)), 9_968);
        assert_eq!(connection_bound(500, true, None, Some(19_936)), 500);
    }

    #[test]
    fn users_that_never_think_need_a_connection_each() {
        assert_eq!(connection_bound(25_000, false, None, Some(19_936)), 25_000);
    }

    #[test]
    fn a_configured_bound_wins_but_never_exceeds_the_users() {
        assert_eq!(
            connection_bound(50_000, true, Some(30_000), Some(19_936)),
            30_000
        );
        assert_eq!(
            connection_bound(50_000, false, Some(100), Some(19_936)),
            100
        );
        assert_eq!(connection_bound(10, true, Some(100), Some(19_936)), 10);
    }
}
