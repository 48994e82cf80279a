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
//!
//! A sharded load is N processes, each with a limit of its own: the rule is applied to
//! one shard's users ([`LoadProcesses`]). The local launcher's workers also share this
//! machine's local ports, which no process limit covers: [`PortPressure`] says when
//! they may together open more connections to the target than there are ports.

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

/// The processes a stage's load runs in, as the descriptor check sees them: each process
/// has a limit of its own, so the rule is applied to the users of one process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoadProcesses {
    /// This process runs every user (`run` without `--shards`, `plan`, the demo).
    #[default]
    One,
    /// `N` shards, each its own process under this process's limit: the workers of
    /// `run --shards N --launcher local` (a child inherits its parent's limit), or a
    /// worker checking itself. Checked against the largest share (shard 0's, at most one
    /// user more than the others), so every worker of the run passes or none does.
    ShardsHere(u32),
    /// `N` shards on other hosts (containers, pods), whose limits are theirs and unknown
    /// here: nothing is checked here, each worker checks its own share as it starts
    /// (as [`LoadProcesses::ShardsHere`]) and a refusal fails the run with its reason.
    ShardsElsewhere(u32),
}

impl LoadProcesses {
    /// How many shards the load is divided into (1 when it is not).
    pub fn shards(self) -> u32 {
        match self {
            LoadProcesses::One => 1,
            LoadProcesses::ShardsHere(n) | LoadProcesses::ShardsElsewhere(n) => n.max(1),
        }
    }

    /// Whether this process's limit is the one each process of the load runs under.
    pub fn checked_here(self) -> bool {
        !matches!(self, LoadProcesses::ShardsElsewhere(_))
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
    shortfall_within(peak_users, thinks, max_connections, open_file_limit()?)
}

/// [`shortfall`] under a given open-file `limit`.
pub fn shortfall_within(
    peak_users: u32,
    thinks: bool,
    max_connections: Option<u32>,
    limit: u64,
) -> Option<DescriptorShortfall> {
    let usable = limit.saturating_sub(RESERVED);
    let connections = connection_bound(peak_users, thinks, max_connections, Some(usable));
    (connections.saturating_mul(2) > usable).then_some(DescriptorShortfall {
        connections,
        usable,
        limit,
    })
}

/// When the workers of a local sharded load may together hold more connections to the
/// target than this machine has local ports for one destination. Each connection to
/// one address and port takes a local port of its own (and keeps it for a minute in
/// TIME_WAIT once closed by this side), whichever process opens it; past the range,
/// `connect` fails with `EADDRNOTAVAIL`. Worth a note, not a refusal: the worst case
/// (two connections per request in flight, in every worker at once) is rarely reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortPressure {
    /// Workers on this machine.
    pub shards: u32,
    /// Connections they may hold at once at worst: two per request in flight each.
    pub connections: u64,
    /// Local ports for one destination (`net.ipv4.ip_local_port_range`).
    pub ports: u64,
}

/// The pressure of `shards` workers whose connection bound is `bound_per_shard` each,
/// when their worst case exceeds `ports`.
pub fn port_pressure(bound_per_shard: u64, shards: u32, ports: u64) -> Option<PortPressure> {
    let connections = bound_per_shard
        .saturating_mul(2)
        .saturating_mul(u64::from(shards));
    (connections > ports).then_some(PortPressure {
        shards,
        connections,
        ports,
    })
}

/// The local ports this machine gives outgoing connections, from
/// `/proc/sys/net/ipv4/ip_local_port_range`; `None` elsewhere than Linux.
pub fn local_ports() -> Option<u64> {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    let mut ends = range.split_whitespace().map(|n| n.parse::<u64>().ok());
    let (low, high) = (ends.next()??, ends.next()??);
    Some(high.saturating_sub(low) + 1)
}

#[cfg(test)]
mod tests {
    use super::{connection_bound, port_pressure, shortfall_within};

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

    #[test]
    fn the_rule_refuses_two_descriptors_per_request_in_flight_beyond_the_limit() {
        // 1024 - 64 = 960 usable: 480 users without think time fit, 481 do not.
        assert_eq!(shortfall_within(480, false, None, 1024), None);
        let short = shortfall_within(481, false, None, 1024).expect("refused");
        assert_eq!(
            (short.connections, short.usable, short.limit),
            (481, 960, 1024)
        );
    }

    #[test]
    fn workers_together_may_need_more_local_ports_than_the_machine_has() {
        assert_eq!(port_pressure(3_000, 4, 28_232), None);
        let pressure = port_pressure(9_968, 4, 28_232).expect("noted");
        assert_eq!((pressure.connections, pressure.ports), (79_744, 28_232));
    }
}
