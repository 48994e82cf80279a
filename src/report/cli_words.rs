//! The command line's words, part of the report catalogue ([`super::i18n::Messages`]
//! holds them as `cli`): the verdict table, the lines of a stage run and the summary of
//! `load`, in each language, and ([`super::command_words`]) those of the other commands
//! and the framing of errors. The compiler refuses a language that misses one. The
//! detail of an error (a name, a path, the parser's message) stays as it was made (see
//! the README, "On a terminal, in a pipe, in another language").

use crate::run::EnvironmentEvent;

/// The words of the command line's own output in one language.
pub struct CliWords {
    /// Verdict table columns: criterion, value, pass, warn, result, reason.
    pub table_columns: [&'static str; 6],
    /// A criterion's result in the table: pass, warn, fail.
    pub table_status: [&'static str; 3],
    /// The word before the gate's decision: `gate PASSED: …`.
    pub gate: &'static str,
    /// Said after the counts when warnings block the gate.
    pub warnings_block: &'static str,
    /// `run #N of SYSTEM RELEASE stage `S` on `ENV` by WHO`.
    pub run_started: fn(i64, &str, &str, &str, &str, &str) -> String,
    /// The environment reported the release.
    pub version_seen: fn(&str) -> String,
    /// A suite starts: name, kind.
    pub suite_started: fn(&str, &str) -> String,
    /// A load ended: requests, failed.
    pub load_outcome: fn(u64, u64) -> String,
    /// Prefix of what stopped a load.
    pub aborted: &'static str,
    /// The load engine failed.
    pub engine_failed: &'static str,
    /// A security suite ended: checks, findings, could not run, requests.
    pub security_outcome: fn(usize, usize, usize, u64) -> String,
    /// A security suite was cut short by a signal.
    pub security_interrupted: fn(&str) -> String,
    /// A signal came: which, and whether a load is being stopped.
    pub stopping: fn(&str, bool) -> String,
    /// The run was recorded as aborted: run id, why.
    pub recorded_aborted: fn(i64, &str) -> String,
    /// Live progress: elapsed s, users, requests, req/s, errors, p95 text, seconds left.
    pub progress: fn(u64, u32, u64, f64, u64, &str, u64) -> String,
    /// A security suite is running (shown after the seconds it has run).
    pub security_running: &'static str,
    /// Labels after the verdict: signed by, summary, report, junit.
    pub signed_by: &'static str,
    /// Summary file label.
    pub summary: &'static str,
    /// Report file label.
    pub report: &'static str,
    /// JUnit file label.
    pub junit: &'static str,
    /// What to do next after a passed gate: the approve command line follows.
    pub next: &'static str,
    /// Said after the approve command line.
    pub next_signed: &'static str,
    /// `load` summary heading: url, users, seconds.
    pub load_heading: fn(&str, u32, f64) -> String,
    /// `load` labels: requests, errors, latency, rate, first error.
    pub load_labels: [&'static str; 5],
    /// `load` was stopped by a signal before its end.
    pub load_interrupted: fn(&str) -> String,
    /// A suite ended: its name, what it did.
    pub suite_finished: fn(&str, &str) -> String,
    /// A step of preparing or removing the environment's container, as one line (a
    /// warning or an error with its prefix).
    pub environment_step: fn(&EnvironmentEvent) -> String,
    /// The other commands and the framing of errors.
    pub commands: &'static super::command_words::CommandWords,
}

/// English.
pub const EN: CliWords = CliWords {
    table_columns: ["criterion", "value", "pass", "warn", "result", "reason"],
    table_status: ["pass", "warn", "FAIL"],
    gate: "gate",
    warnings_block: " (warnings block this gate)",
    run_started: |id, system, release, stage, environment, by| {
        format!("run #{id} of {system} {release} stage `{stage}` on `{environment}` by {by}")
    },
    version_seen: |release| format!("  environment serves release {release}"),
    suite_started: |suite, kind| format!("  suite {suite} ({kind}) ..."),
    load_outcome: |requests, failed| format!("{requests} requests, {failed} failed"),
    aborted: "ABORTED",
    engine_failed: "load engine error",
    security_outcome: |checks, findings, could_not_run, requests| {
        format!("{checks} checks, {findings} findings, {could_not_run} could not run, {requests} requests")
    },
    security_interrupted: |signal| format!("interrupted by {signal}; its results are lost"),
    stopping: |signal, load| {
        format!(
            "  {signal}: stopping {} ...",
            if load { "the load" } else { "the stage" }
        )
    },
    recorded_aborted: |id, why| {
        format!("run #{id} {why}: recorded as aborted with what was measured")
    },
    progress: |elapsed, users, requests, rps, errors, p95, left| {
        format!("{elapsed:>3}s  {users} users  {requests} requests  {rps:.1} req/s  {errors} errors  p95 {p95}  {left}s left")
    },
    security_running: "checks and probes running",
    signed_by: "signed by",
    summary: "summary:",
    report: "report: ",
    junit: "junit:  ",
    next: "next:",
    next_signed: "(signed by a release manager's key)",
    load_heading: |url, users, secs| format!("{url} — {users} users for {secs:.1}s"),
    load_labels: ["requests", "errors", "latency", "rate", "first error"],
    load_interrupted: |signal| {
        format!("interrupted by {signal}: the figures cover the load until then")
    },
    suite_finished: |suite, outcome| format!("  suite {suite}: {outcome}"),
    environment_step: |step| match step {
        EnvironmentEvent::OrphansRemoved { count } => {
            format!("  removed {count} container(s) left by an earlier run whose process died")
        }
        EnvironmentEvent::OrphanSweepFailed { error } => {
            format!("warning: cannot look for containers left by earlier runs: {error}")
        }
        EnvironmentEvent::ContainerStarting { image, environment } => {
            format!("  starting a container of `{image}` for environment `{environment}` ...")
        }
        EnvironmentEvent::ContainerReady { id, base_url } => {
            format!("  container {id} ready at {base_url}")
        }
        EnvironmentEvent::LogsKept { path } => format!("  container logs: {}", path.display()),
        EnvironmentEvent::LogsLost { error } => format!("warning: {error}"),
        EnvironmentEvent::ContainerRemoved { id } => format!("  container {id} removed"),
        EnvironmentEvent::RemovalFailed { error } => format!("error: {error}"),
    },
    commands: &super::command_words::EN,
};

/// Vietnamese.
pub const VI: CliWords = CliWords {
    table_columns: [
        "tiêu chí",
        "giá trị",
        "ngưỡng đạt",
        "ngưỡng cảnh báo",
        "kết quả",
        "lý do",
    ],
    table_status: ["đạt", "cảnh báo", "KHÔNG ĐẠT"],
    gate: "cổng kiểm soát",
    warnings_block: " (cảnh báo chặn cổng này)",
    run_started: |id, system, release, stage, environment, by| {
        format!("lượt chạy #{id}: {system} {release}, giai đoạn `{stage}` trên `{environment}`, người chạy {by}")
    },
    version_seen: |release| format!("  môi trường đang chạy phiên bản {release}"),
    suite_started: |suite, kind| {
        let kind = if kind == "load" {
            "tải"
        } else {
            "bảo mật"
        };
        format!("  bộ kịch bản {suite} ({kind}) ...")
    },
    load_outcome: |requests, failed| format!("{requests} yêu cầu, {failed} thất bại"),
    aborted: "ĐÃ DỪNG",
    engine_failed: "lỗi bộ sinh tải",
    security_outcome: |checks, findings, could_not_run, requests| {
        format!("{checks} kiểm tra, {findings} phát hiện, {could_not_run} không chạy được, {requests} yêu cầu")
    },
    security_interrupted: |signal| format!("bị ngắt bởi {signal}; kết quả không được giữ"),
    stopping: |signal, load| {
        format!(
            "  {signal}: đang dừng {} ...",
            if load { "tải" } else { "giai đoạn" }
        )
    },
    recorded_aborted: |id, why| {
        format!("lượt chạy #{id} ({why}): đã ghi là đã dừng, với những gì đo được")
    },
    progress: |elapsed, users, requests, rps, errors, p95, left| {
        format!("{elapsed:>3}s  {users} người dùng  {requests} yêu cầu  {rps:.1} yêu cầu/s  {errors} lỗi  p95 {p95}  còn {left}s")
    },
    security_running: "đang chạy các kiểm tra bảo mật",
    signed_by: "ký bởi",
    summary: "tóm tắt:",
    report: "báo cáo:",
    junit: "junit:  ",
    next: "bước tiếp theo:",
    next_signed: "(ký bằng khóa của người quản lý phát hành)",
    load_heading: |url, users, secs| format!("{url} — {users} người dùng trong {secs:.1}s"),
    load_labels: ["yêu cầu", "lỗi", "độ trễ", "tốc độ", "lỗi đầu tiên"],
    load_interrupted: |signal| format!("bị ngắt bởi {signal}: số liệu tính đến lúc đó"),
    suite_finished: |suite, outcome| format!("  bộ kịch bản {suite}: {outcome}"),
    environment_step: |step| match step {
        EnvironmentEvent::OrphansRemoved { count } => format!(
            "  đã xóa {count} container do lượt chạy trước để lại (tiến trình của lượt đó đã mất)"
        ),
        EnvironmentEvent::OrphanSweepFailed { error } => {
            format!("cảnh báo: không tìm được các container do lượt chạy trước để lại: {error}")
        }
        EnvironmentEvent::ContainerStarting { image, environment } => {
            format!("  đang khởi động container từ `{image}` cho môi trường `{environment}` ...")
        }
        EnvironmentEvent::ContainerReady { id, base_url } => {
            format!("  container {id} đã sẵn sàng tại {base_url}")
        }
        EnvironmentEvent::LogsKept { path } => {
            format!("  nhật ký container: {}", path.display())
        }
        EnvironmentEvent::LogsLost { error } => format!("cảnh báo: {error}"),
        EnvironmentEvent::ContainerRemoved { id } => format!("  đã xóa container {id}"),
        EnvironmentEvent::RemovalFailed { error } => format!("lỗi: {error}"),
    },
    commands: &super::command_words::VI,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_15_container_steps_are_said_in_each_language_with_their_prefix() {
        let error = || "engine gone".to_string();
        let steps = [
            EnvironmentEvent::OrphansRemoved { count: 2 },
            EnvironmentEvent::OrphanSweepFailed { error: error() },
            EnvironmentEvent::ContainerStarting {
                image: "portal:1.0".into(),
                environment: "test".into(),
            },
            EnvironmentEvent::ContainerReady {
                id: "abc".into(),
                base_url: "http://127.0.0.1:1".into(),
            },
            EnvironmentEvent::LogsKept {
                path: "run-1/container.log".into(),
            },
            EnvironmentEvent::LogsLost { error: error() },
            EnvironmentEvent::ContainerRemoved { id: "abc".into() },
            EnvironmentEvent::RemovalFailed { error: error() },
        ];
        let said = |words: &CliWords| -> Vec<String> {
            steps.iter().map(|s| (words.environment_step)(s)).collect()
        };
        let (en, vi) = (said(&EN), said(&VI));
        assert_eq!(
            en[2],
            "  starting a container of `portal:1.0` for environment `test` ..."
        );
        for (e, v) in en.iter().zip(&vi) {
            assert_ne!(e, v);
        }
        for i in [1, 5] {
            assert!(en[i].starts_with("warning: ") && vi[i].starts_with("cảnh báo: "));
        }
        assert!(en[7].starts_with("error: ") && vi[7].starts_with("lỗi: "));
    }
}
