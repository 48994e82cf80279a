//! The recorder's own tests (a child module of `recorder`, in a file of its own).

use super::*;

#[test]
fn counts_errors_checks_and_percentiles() {
    let r = Recorder::new();
    for i in 0..100u64 {
        r.record(RequestSample {
            user: i as usize,
            transaction: "s/t",
            latency: Duration::from_millis(i + 1),
            error: (i % 20 == 0).then_some(ErrorKind::Status),
            checks: 2,
            failed_checks: if i % 50 == 0 {
                vec!["step: status".into()]
            } else {
                vec![]
            },
            error_text: None,
        });
    }
    let mut m = Measurements::default();
    r.finish_into(&mut m, Duration::from_secs(10));
    assert_eq!(
        (m.requests, m.errors, m.checks, m.check_failures),
        (100, 5, 200, 2)
    );
    assert_eq!(m.error_rate(), Some(0.05));
    assert_eq!(m.throughput(), Some(10.0));
    let p = m.latency_ms.unwrap();
    assert!((p.p50 - 50.0).abs() < 0.5, "p50 {}", p.p50);
    assert!((p.max - 100.0).abs() < 0.5);
    assert_eq!(m.failed_checks.get("step: status"), Some(&2));
}

#[test]
fn a_request_never_sent_fails_but_has_no_latency() {
    let r = Recorder::new();
    for (user, error, ms) in [(0, None, 40), (1, Some(ErrorKind::NotSent), 0)] {
        r.record(RequestSample {
            user,
            transaction: "s/t",
            latency: Duration::from_millis(ms),
            error,
            checks: 0,
            failed_checks: vec![],
            error_text: error.map(|_| "DELETE not sent: production".to_string()),
        });
    }
    let mut m = Measurements::default();
    r.finish_into(&mut m, Duration::from_secs(1));
    assert_eq!((m.requests, m.errors), (2, 1));
    assert_eq!(m.errors_by_kind.get(&ErrorKind::NotSent), Some(&1));
    assert_eq!(
        m.first_error.as_deref(),
        Some("DELETE not sent: production")
    );
    // Only the request that went on the wire is in the latency: a 0 ms sample would
    // make p50 about 0.
    let p = m.latency_ms.unwrap();
    assert!(
        (p.p50 - 40.0).abs() < 0.5 && (p.max - 40.0).abs() < 0.5,
        "{p:?}"
    );
}

#[test]
fn completed_seconds_are_compacted_out_of_the_shards() {
    let r = Recorder::new();
    let sample = |user: usize, ms: u64| RequestSample {
        user,
        transaction: "s/t",
        latency: Duration::from_millis(ms),
        error: None,
        checks: 0,
        failed_checks: Vec::new(),
        error_text: None,
    };
    r.record(sample(0, 10));
    r.record(sample(1, 30));
    assert!(r.completed_second(0).is_none(), "second 0 is still running");
    std::thread::sleep(Duration::from_millis(1100));
    r.record(sample(2, 20));
    let first = r.completed_second(0).expect("second 0 has ended");
    assert_eq!(first.requests, 2);
    assert!((first.latency_ms.expect("latency").max - 30.0).abs() < 0.5);
    let held: usize = r.shards.iter().map(|s| locked(s).seconds.len()).sum();
    assert_eq!(held, 1, "only the running second stays in the shards");
    let mut m = Measurements::default();
    r.finish_into(&mut m, Duration::from_secs(2));
    assert_eq!(m.series.iter().map(|s| s.requests).sum::<u64>(), 3);
    assert_eq!(m.requests, 3);
}

#[test]
fn a_user_counts_as_active_once_however_many_requests_it_sends() {
    let r = Recorder::new();
    // Users 1 and 17 share a shard; user 1 sends three requests, one of them refused.
    for (user, error) in [
        (0, None),
        (1, None),
        (1, Some(ErrorKind::NotSent)),
        (1, None),
        (17, None),
    ] {
        r.record(RequestSample {
            user,
            transaction: "s/t",
            latency: Duration::from_millis(5),
            error,
            checks: 0,
            failed_checks: Vec::new(),
            error_text: None,
        });
    }
    let snapshot = r.snapshot();
    assert_eq!(snapshot.active_users, 3);
    assert_eq!((snapshot.requests, snapshot.errors), (5, 1));
    assert!(
        snapshot.p95_ms.is_some_and(|p| (p - 5.0).abs() < 0.1),
        "{snapshot:?}"
    );
}
