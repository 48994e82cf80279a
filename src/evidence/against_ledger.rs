//! Takes an evidence archive's hash chain and the live ledger's events, gives what the
//! ledger lost or changed since the archive was made: a cut-off tail (events the archive
//! holds and the ledger no longer has) or a rewritten history (an event whose hash is
//! not the one the archive holds).

use crate::ledger::AuditEvent;

/// Problems found comparing the archive's chain with the ledger's events; empty when the
/// ledger still holds every event of the archive, unchanged.
pub fn compare(archived: &[AuditEvent], live: &[AuditEvent]) -> Vec<String> {
    let live_head = live.last().map_or(0, |e| e.seq);
    let Some(archived_head) = archived.last() else {
        return Vec::new();
    };
    for a in archived {
        match live.iter().find(|e| e.seq == a.seq) {
            None => {
                return vec![format!(
                    "the ledger's tail is missing: the archive holds events up to #{} ({}), the ledger ends at #{live_head}",
                    archived_head.seq, archived_head.kind
                )]
            }
            Some(e) if e.hash != a.hash => {
                return vec![format!(
                    "the ledger diverges from the archive at event #{}: the archive holds {} by {} with hash {}…, the ledger {} by {} with hash {}…",
                    a.seq,
                    a.kind,
                    a.actor,
                    &a.hash[..a.hash.len().min(12)],
                    e.kind,
                    e.actor,
                    &e.hash[..e.hash.len().min(12)]
                )]
            }
            Some(_) => {}
        }
    }
    Vec::new()
}
