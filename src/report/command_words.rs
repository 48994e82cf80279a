//! The words of the commands that are not a stage run — `status`, `history`, `plan`,
//! `validate`, `approve`/`reject` — and the framing of the command line's errors, in
//! each language. Part of [`super::cli_words::CliWords`] (so of the report catalogue):
//! the compiler refuses a language that misses one. Names, ids, paths and the parser's
//! own detail are data and are shown as they are; English keeps the exact text the
//! commands printed before they had a catalogue, so scripts that read it still work.

use crate::config::acceptance::Acceptance;
use crate::config::diagnostic::DiagnosticWords;
use crate::ledger::{RunState, StageState};
use crate::stage::StageId;
use std::time::Duration;

/// The framing of an error line; what follows it stays as the error was made.
pub struct ErrorWords {
    /// Before bad input and before a problem a check found: `error:`.
    pub error: &'static str,
    /// Before a refusal of the rollout rules (exit 3).
    pub refused: &'static str,
    /// Before an error of stagegate itself or its tools (exit 5).
    pub internal: &'static str,
    /// Before a warning.
    pub warning: &'static str,
    /// Opens a hint: `(hint: …)`.
    pub hint: &'static str,
    /// The framing of a mistake in a file (`file:line:column`, carets).
    pub diagnostic: DiagnosticWords,
}

/// The words of the commands other than `run` and `load`, in one language.
pub struct CommandWords {
    /// `status` columns before the stages: system, release.
    pub status_columns: [&'static str; 2],
    /// A stage's state in the `status` table (English shows the JSON identifier).
    pub stage_state: fn(StageState) -> &'static str,
    /// `status` on an empty ledger.
    pub no_releases: &'static str,
    /// `history` of a release with no event: system, release.
    pub no_history: fn(&str, &str) -> String,
    /// A ledger event's kind (`run-started`, `approval`, …); an unknown one as it is.
    pub event_kind: fn(&str) -> &str,
    /// A run's state.
    pub run_state: fn(RunState) -> &'static str,
    /// `history` detail of a finished run: its id, its state in words.
    pub history_run_ended: fn(&str, &str) -> String,
    /// `history` detail of a started run: its id, the environment.
    pub history_run_started: fn(&str, &str) -> String,
    /// `history` detail of a decision: the note.
    pub history_note: fn(&str) -> String,
    /// `history`: the word before the signer's fingerprint.
    pub history_signed: &'static str,
    /// Heading of a stage's plan: number, id, title, system, release.
    pub plan_heading: fn(usize, &str, &str, &str, &str) -> String,
    /// A stage's title (`trial run on test`).
    pub stage_title: fn(StageId) -> &'static str,
    /// An environment's tier (`test`, `production`).
    pub tier: fn(&str) -> &'static str,
    /// A suite's kind (`load`, `security`).
    pub suite_kind: fn(&str) -> &'static str,
    /// Plan labels: environment, limits, suite, traffic, gate, accepted, warning, abort,
    /// approval (each padded to one width by the caller).
    pub plan_labels: [&'static str; 9],
    /// Environment line: name, tier in words, where it is reached.
    pub plan_environment: fn(&str, &str, &str) -> String,
    /// Limits line: max users, max requests/s, forbidden tags (joined).
    pub plan_limits: fn(Option<u32>, Option<f64>, &str) -> String,
    /// A suite that may write to production: suite, the reason written in the rollout.
    pub plan_production_write: fn(&str, &str) -> String,
    /// Traffic line: users, ramp-up, duration, rate cap in requests/s.
    pub plan_traffic: fn(u32, Duration, Duration, Option<f64>) -> String,
    /// A criterion a security suite implies: its metric.
    pub implied: fn(&str) -> String,
    /// A load suite no gate criterion reads: its name.
    pub unread_suite: fn(&str) -> String,
    /// An accepted risk of the gate, and whether it has expired.
    pub acceptance: fn(&Acceptance, bool) -> String,
    /// An abort criterion (as written) and when it is checked.
    pub plan_abort: fn(&str) -> String,
    /// Approval line: approvers needed, whether the runner may approve.
    pub plan_approval: fn(u32, bool) -> String,
    /// `validate` found no mistake: environments, systems, suites.
    pub validate_ok: fn(usize, usize, usize) -> String,
    /// `validate` warning: system, stage, what the gate does not read.
    pub validate_unread: fn(&str, &str, &str) -> String,
    /// `validate` note: system, stage, the criterion a security suite implies.
    pub validate_implied: fn(&str, &str, &str) -> String,
    /// `reject` recorded: run, system, release, stage.
    pub rejected: fn(i64, &str, &str, &str) -> String,
    /// `approve` promoted the stage: run, approvals, required, stage, system, release.
    pub promoted: fn(i64, u32, u32, &str, &str, &str) -> String,
    /// `approve` recorded, more approvers needed: run, approvals, required.
    pub approved_waiting: fn(i64, u32, u32) -> String,
    /// A signer: id, name and roles when the roster knows them, key fingerprint.
    pub signer: fn(&str, Option<(&str, &str)>, &str) -> String,
    /// The framing of errors.
    pub errors: ErrorWords,
}

/// English: the text the commands have always printed.
pub const EN: CommandWords = CommandWords {
    status_columns: ["system", "release"],
    stage_state: StageState::as_str,
    no_releases: "no releases in the ledger yet",
    no_history: |system, release| format!("no history for {system} {release}"),
    event_kind: |kind| kind,
    run_state: RunState::as_str,
    history_run_ended: |id, state| format!("run #{id} {state}"),
    history_run_started: |id, environment| format!("run #{id} on {environment}"),
    history_note: |note| format!("note: {note}"),
    history_signed: "signed",
    plan_heading: |number, stage, title, system, release| {
        format!("stage {number} `{stage}` ({title}) of {system} release {release}")
    },
    stage_title: StageId::title,
    tier: |tier| match tier {
        "production" => "production",
        _ => "test",
    },
    suite_kind: |kind| match kind {
        "load" => "load",
        _ => "security",
    },
    plan_labels: [
        "environment",
        "limits",
        "suite",
        "traffic",
        "gate",
        "accepted",
        "warning",
        "abort",
        "approval",
    ],
    plan_environment: |name, tier, reach| format!("{name} ({tier}) at {reach}"),
    plan_limits: |users, rps, tags| {
        format!(
            "max-users {}, max-rps {}, forbidden tags [{tags}]",
            users.map_or("none".into(), |u| u.to_string()),
            rps.map_or("none".into(), |r| r.to_string()),
        )
    },
    plan_production_write: |suite, reason| {
        format!("production write  suite `{suite}` may change production: {reason}")
    },
    plan_traffic: |users, ramp_up, duration, cap| {
        format!(
            "{users} users, ramp-up {ramp_up:?}, duration {duration:?}, rate cap {}",
            cap.map_or("none".into(), |r| format!("{r}/s"))
        )
    },
    implied: |metric| format!("{metric} == 0 {}", crate::gate::IMPLIED),
    unread_suite: |suite| {
        format!("suite `{suite}` (load): no gate criterion reads its results (add e.g. `error-rate` or `latency-p95`)")
    },
    acceptance: |a, expired| {
        format!(
            "{a}{}",
            if expired {
                " (EXPIRED: no longer applies)"
            } else {
                ""
            }
        )
    },
    plan_abort: |abort| format!("{abort} (checked every second while load runs)"),
    plan_approval: |approvers, self_approval| {
        format!(
            "{approvers} distinct approver(s){}",
            if self_approval {
                ", self-approval allowed"
            } else {
                ", not the person who ran it"
            }
        )
    },
    validate_ok: |environments, systems, suites| {
        format!("ok: {environments} environment(s), {systems} system(s), {suites} suite(s) valid")
    },
    validate_unread: |system, stage, what| format!("warning: {system} stage {stage}: {what}"),
    validate_implied: |system, stage, criterion| {
        format!("note: {system} stage {stage}: no security criterion, judged by {criterion}")
    },
    rejected: |run, system, release, stage| {
        format!("rejected run #{run} of {system} {release} stage `{stage}`")
    },
    promoted: |run, approvals, required, stage, system, release| {
        format!("approved run #{run} ({approvals}/{required}): stage `{stage}` of {system} {release} is PROMOTED")
    },
    approved_waiting: |run, approvals, required| {
        format!(
            "approved run #{run} ({approvals}/{required} approvals): waiting for {} more distinct approver(s)",
            required.saturating_sub(approvals)
        )
    },
    signer: |id, known, fingerprint| match known {
        Some((name, roles)) => format!("{name} ({id}, {roles}) key {fingerprint}"),
        None => format!("{id} key {fingerprint}"),
    },
    errors: ErrorWords {
        error: "error:",
        refused: "error:",
        internal: "error:",
        warning: "warning:",
        hint: "(hint:",
        diagnostic: crate::config::diagnostic::EN_WORDS,
    },
};

/// Vietnamese.
pub const VI: CommandWords = CommandWords {
    status_columns: ["hệ thống", "phiên bản"],
    stage_state: |state| match state {
        StageState::NotRun => "chưa chạy",
        StageState::Running => "đang chạy",
        StageState::Failed => "không đạt",
        StageState::Aborted => "đã dừng",
        StageState::AwaitingApproval => "chờ phê duyệt",
        StageState::Promoted => "đã chuyển tiếp",
    },
    no_releases: "sổ cái chưa có phiên bản nào",
    no_history: |system, release| format!("chưa có lịch sử cho {system} {release}"),
    event_kind: |kind| match kind {
        "roster-pinned" => "ghim danh sách người",
        "run-started" => "bắt đầu lượt chạy",
        "run-finished" => "kết thúc lượt chạy",
        "run-aborted" => "dừng lượt chạy",
        "approval" => "phê duyệt",
        "rejection" => "từ chối",
        "promotion" => "chuyển tiếp",
        other => other,
    },
    run_state: |state| match state {
        RunState::Running => "đang chạy",
        RunState::Passed => "đạt",
        RunState::Failed => "không đạt",
        RunState::Aborted => "đã dừng",
    },
    history_run_ended: |id, state| format!("lượt chạy #{id} {state}"),
    history_run_started: |id, environment| format!("lượt chạy #{id} trên {environment}"),
    history_note: |note| format!("ghi chú: {note}"),
    history_signed: "ký bởi",
    plan_heading: |number, stage, title, system, release| {
        format!("giai đoạn {number} `{stage}` ({title}) của {system} phiên bản {release}")
    },
    stage_title: |stage| match stage {
        StageId::TrialTest => "chạy thử trên môi trường thử nghiệm",
        StageId::RealTest => "chạy thật trên môi trường thử nghiệm",
        StageId::TrialProduction => "chạy thử trên môi trường thật",
        StageId::RealProduction => "chạy thật trên môi trường thật",
    },
    tier: |tier| match tier {
        "production" => "môi trường thật",
        _ => "môi trường thử nghiệm",
    },
    suite_kind: |kind| match kind {
        "load" => "tải",
        _ => "bảo mật",
    },
    plan_labels: [
        "môi trường",
        "giới hạn",
        "bộ kịch bản",
        "lưu lượng",
        "cổng kiểm soát",
        "chấp nhận",
        "cảnh báo",
        "điều kiện dừng",
        "phê duyệt",
    ],
    plan_environment: |name, tier, reach| format!("{name} ({tier}) tại {reach}"),
    plan_limits: |users, rps, tags| {
        format!(
            "tối đa {} người dùng, tối đa {} yêu cầu/giây, thẻ bị cấm [{tags}]",
            users.map_or("không giới hạn".into(), |u| u.to_string()),
            rps.map_or("không giới hạn".into(), |r| r.to_string()),
        )
    },
    plan_production_write: |suite, reason| {
        format!(
            "ghi vào môi trường thật  bộ kịch bản `{suite}` có thể thay đổi dữ liệu thật: {reason}"
        )
    },
    plan_traffic: |users, ramp_up, duration, cap| {
        format!(
            "{users} người dùng, tăng dần trong {ramp_up:?}, kéo dài {duration:?}, giới hạn tốc độ {}",
            cap.map_or("không có".into(), |r| format!("{r} yêu cầu/giây"))
        )
    },
    implied: |metric| format!("{metric} == 0 (ngầm định: giai đoạn có chạy bộ kiểm tra bảo mật)"),
    unread_suite: |suite| {
        format!("bộ kịch bản `{suite}` (tải): không tiêu chí nào của cổng đọc kết quả của nó (thêm ví dụ `error-rate` hoặc `latency-p95`)")
    },
    acceptance: |a, expired| {
        format!(
            "{}{} — {} chấp nhận đến hết {}: {}{}",
            a.check,
            a.url
                .as_deref()
                .map(|url| format!(" tại {url}"))
                .unwrap_or_default(),
            a.by,
            a.expires.format("%d/%m/%Y"),
            a.reason,
            if expired {
                " (ĐÃ HẾT HẠN: không còn áp dụng)"
            } else {
                ""
            }
        )
    },
    plan_abort: |abort| format!("{abort} (kiểm tra mỗi giây khi đang chạy tải)"),
    plan_approval: |approvers, self_approval| {
        format!(
            "{approvers} người phê duyệt khác nhau{}",
            if self_approval {
                ", người chạy được tự phê duyệt"
            } else {
                ", không phải người đã chạy"
            }
        )
    },
    validate_ok: |environments, systems, suites| {
        format!("hợp lệ: {environments} môi trường, {systems} hệ thống, {suites} bộ kịch bản")
    },
    validate_unread: |system, stage, what| format!("cảnh báo: {system} giai đoạn {stage}: {what}"),
    validate_implied: |system, stage, criterion| {
        format!("lưu ý: {system} giai đoạn {stage}: không có tiêu chí bảo mật, được đánh giá theo {criterion}")
    },
    rejected: |run, system, release, stage| {
        format!("đã từ chối lượt chạy #{run} của {system} {release} giai đoạn `{stage}`")
    },
    promoted: |run, approvals, required, stage, system, release| {
        format!("đã phê duyệt lượt chạy #{run} ({approvals}/{required}): giai đoạn `{stage}` của {system} {release} ĐÃ ĐƯỢC CHUYỂN TIẾP")
    },
    approved_waiting: |run, approvals, required| {
        format!(
            "đã phê duyệt lượt chạy #{run} ({approvals}/{required} lượt phê duyệt): cần thêm {} người phê duyệt khác",
            required.saturating_sub(approvals)
        )
    },
    signer: |id, known, fingerprint| match known {
        Some((name, roles)) => format!("{name} ({id}, {roles}) khóa {fingerprint}"),
        None => format!("{id} khóa {fingerprint}"),
    },
    errors: ErrorWords {
        error: "lỗi:",
        refused: "bị từ chối:",
        internal: "lỗi nội bộ:",
        warning: "cảnh báo:",
        hint: "(gợi ý:",
        diagnostic: DiagnosticWords {
            error: "lỗi:",
            expected: "cần",
            summary: |count| format!("có {count} lỗi; không gửi gì đến hệ thống nào"),
        },
    },
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_15_every_fixed_vietnamese_phrase_of_the_commands_is_translated() {
        let pairs = [
            (EN.status_columns[0], VI.status_columns[0]),
            (EN.status_columns[1], VI.status_columns[1]),
            (EN.no_releases, VI.no_releases),
            (EN.history_signed, VI.history_signed),
            (EN.errors.error, VI.errors.error),
            (EN.errors.refused, VI.errors.refused),
            (EN.errors.internal, VI.errors.internal),
            (EN.errors.warning, VI.errors.warning),
            (EN.errors.hint, VI.errors.hint),
        ];
        let labels = EN.plan_labels.iter().zip(VI.plan_labels.iter());
        let same: Vec<&str> = pairs
            .iter()
            .map(|(e, v)| (*e, *v))
            .chain(labels.map(|(e, v)| (*e, *v)))
            .filter(|(e, v)| e == v)
            .map(|(e, _)| e)
            .collect();
        assert!(same.is_empty(), "not translated: {same:?}");
        for kind in [
            "roster-pinned",
            "run-started",
            "run-finished",
            "run-aborted",
            "approval",
            "rejection",
            "promotion",
        ] {
            assert_ne!((VI.event_kind)(kind), kind);
        }
    }

    #[test]
    fn english_words_print_what_the_commands_printed_before() {
        assert_eq!(
            (EN.approved_waiting)(3, 1, 2),
            "approved run #3 (1/2 approvals): waiting for 1 more distinct approver(s)"
        );
        assert_eq!(
            (EN.implied)("security-high"),
            "security-high == 0 (implied: the stage ran a security suite)"
        );
        assert_eq!(
            (EN.stage_state)(StageState::AwaitingApproval),
            "awaiting-approval"
        );
        assert_eq!(
            (VI.promoted)(1, 2, 2, "real-test", "dichvucong", "1.0.0"),
            "đã phê duyệt lượt chạy #1 (2/2): giai đoạn `real-test` của dichvucong 1.0.0 ĐÃ ĐƯỢC CHUYỂN TIẾP"
        );
    }
}
