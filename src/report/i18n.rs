//! Takes a report language, gives its typed message catalogue: every word a report
//! shows is a field of [`Messages`], so a language cannot miss one (the compiler
//! refuses an incomplete catalogue) and a report is never a mix of two languages.
//! Values recorded by people or systems (notes, probe names, evidence) are data and
//! are shown as recorded.

use crate::config::suite::Severity;
use crate::gate::regression::{ChangeInterval, Settle};
use crate::gate::{CriterionResult, CriterionStatus, GateOutcome, Reason};
use crate::measure::ErrorKind;
use crate::measure::NoData;
use crate::security::catalogue;
use crate::stage::StageId;

/// A report language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Vietnamese (tiếng Việt).
    Vi,
}

impl Lang {
    /// The catalogue of this language.
    pub fn messages(self) -> &'static Messages {
        match self {
            Lang::En => &EN,
            Lang::Vi => &VI,
        }
    }
}

/// Where a stage stands (one type, from the ledger).
pub use crate::ledger::StageState;

/// Every word of a report in one language.
pub struct Messages {
    /// `lang` attribute of the page.
    pub code: &'static str,
    /// Title of a run report.
    pub run_report: &'static str,
    /// Title of a release report.
    pub release_report: &'static str,
    /// Field labels.
    pub system: &'static str,
    /// Release label.
    pub release: &'static str,
    /// Stage label.
    pub stage: &'static str,
    /// Environment label.
    pub environment: &'static str,
    /// Run label.
    pub run: &'static str,
    /// Run by label.
    pub run_by: &'static str,
    /// Start label.
    pub started: &'static str,
    /// End label.
    pub finished: &'static str,
    /// Files digest label.
    pub files_digest: &'static str,
    /// Release reported by the environment.
    pub version_seen: &'static str,
    /// Suites label.
    pub suites: &'static str,
    /// Tier names.
    pub tier_test: &'static str,
    /// Production tier.
    pub tier_production: &'static str,
    /// Pipeline heading.
    pub pipeline: &'static str,
    /// Stage titles in rollout order.
    pub stage_titles: [&'static str; 4],
    /// Stage states.
    pub state_not_run: &'static str,
    /// Running.
    pub state_running: &'static str,
    /// Failed.
    pub state_failed: &'static str,
    /// Aborted.
    pub state_aborted: &'static str,
    /// Awaiting approval.
    pub state_awaiting: &'static str,
    /// Promoted.
    pub state_promoted: &'static str,
    /// Gate heading.
    pub gate: &'static str,
    /// Gate table columns: criterion, value, pass, warn, result, reason.
    pub gate_columns: [&'static str; 6],
    /// Criterion results.
    pub status_pass: &'static str,
    /// Warned.
    pub status_warn: &'static str,
    /// Failed.
    pub status_fail: &'static str,
    /// A criterion value that could not be measured.
    pub no_data: &'static str,
    /// Gate decision passed.
    pub outcome_passed: &'static str,
    /// Gate decision failed.
    pub outcome_failed: &'static str,
    /// Summary line under the gate table: criteria, failed, warned.
    pub gate_counts: fn(usize, usize, usize) -> String,
    /// The run was stopped before it finished.
    pub aborted_note: &'static str,
    /// Accepted risks heading (the gate's `accept` list).
    pub accepted_risks: &'static str,
    /// Accepted risk columns: check, address, accepted by, reason, expires, findings.
    pub acceptance_columns: [&'static str; 6],
    /// An acceptance without `url`: it covers every address.
    pub every_url: &'static str,
    /// An acceptance past its expiry date.
    pub acceptance_expired: &'static str,
    /// An acceptance as one line of the terminal verdict table: what, who, until when,
    /// why, findings covered, whether it expired.
    pub acceptance_line: fn(&crate::gate::AcceptanceUse) -> String,
    /// Load heading.
    pub load: &'static str,
    /// Requests label.
    pub requests: &'static str,
    /// Errors label.
    pub errors: &'static str,
    /// Duration label.
    pub duration: &'static str,
    /// Throughput label.
    pub throughput: &'static str,
    /// Latency percentiles chart title.
    pub latency_percentiles: &'static str,
    /// Latency over time chart title.
    pub latency_over_time: &'static str,
    /// Throughput over time chart title.
    pub throughput_over_time: &'static str,
    /// Axis label: seconds since start.
    pub seconds: &'static str,
    /// No load measured.
    pub no_load: &'static str,
    /// Errors by kind heading.
    pub errors_by_kind: &'static str,
    /// Error kinds: connection, timeout, status, check, not sent.
    pub error_kinds: [&'static str; 5],
    /// No failed request.
    pub no_errors: &'static str,
    /// Transactions heading.
    pub transactions: &'static str,
    /// Transaction column.
    pub transaction: &'static str,
    /// Findings heading.
    pub findings: &'static str,
    /// Severity names, lowest first.
    pub severities: [&'static str; 5],
    /// Severity label.
    pub severity: &'static str,
    /// Evidence label.
    pub evidence: &'static str,
    /// Remediation label.
    pub remediation: &'static str,
    /// Address label.
    pub url: &'static str,
    /// No finding.
    pub no_findings: &'static str,
    /// Security checks heading.
    pub security_checks: &'static str,
    /// The check ran.
    pub check_ran: &'static str,
    /// The check could not run.
    pub check_error: &'static str,
    /// The check's precondition was absent (TLS on `http://`, no cookie).
    pub check_not_applicable: &'static str,
    /// No security suite ran.
    pub no_security: &'static str,
    /// Production writes heading (production stages).
    pub production_writes: &'static str,
    /// Production write columns: suite, written reason.
    pub production_write_columns: [&'static str; 2],
    /// No suite was a declared production write.
    pub no_production_writes: &'static str,
    /// Approvals heading.
    pub approvals: &'static str,
    /// Approval columns: stage, by, decision, note, at.
    pub approval_columns: [&'static str; 5],
    /// Decisions.
    pub approved: &'static str,
    /// Rejected.
    pub rejected: &'static str,
    /// No approval yet.
    pub no_approvals: &'static str,
    /// Runs heading (release report).
    pub runs: &'static str,
    /// State label.
    pub state: &'static str,
    /// Footer.
    pub generated: &'static str,
    /// A built-in check's name and remediation, when this language has its own words.
    pub check_text: fn(&str) -> Option<(&'static str, &'static str)>,
    /// A criterion's reason in this language.
    pub reason: fn(&CriterionResult) -> String,
    /// A criterion as written, in this language (`metric op value` is notation; a
    /// regression criterion has words).
    pub criterion: fn(&CriterionResult) -> String,
    /// A threshold as written, in this language.
    pub threshold: fn(&str) -> String,
    /// Whether times are shown in local time, day first ([`Messages::time`]); otherwise
    /// as recorded (RFC 3339, UTC).
    pub local_times: bool,
    /// The command line's words.
    pub cli: &'static super::cli_words::CliWords,
}

impl Messages {
    /// Every fixed phrase of the catalogue, for completeness checks.
    pub fn phrases(&self) -> Vec<&'static str> {
        let mut all = vec![
            self.code,
            self.run_report,
            self.release_report,
            self.system,
            self.release,
            self.stage,
            self.environment,
            self.run,
            self.run_by,
            self.started,
            self.finished,
            self.files_digest,
            self.version_seen,
            self.suites,
            self.tier_test,
            self.tier_production,
            self.pipeline,
            self.state_not_run,
            self.state_running,
            self.state_failed,
            self.state_aborted,
            self.state_awaiting,
            self.state_promoted,
            self.gate,
            self.status_pass,
            self.status_warn,
            self.status_fail,
            self.no_data,
            self.outcome_passed,
            self.outcome_failed,
            self.aborted_note,
            self.accepted_risks,
            self.every_url,
            self.acceptance_expired,
            self.load,
            self.requests,
            self.errors,
            self.duration,
            self.throughput,
            self.latency_percentiles,
            self.latency_over_time,
            self.throughput_over_time,
            self.seconds,
            self.no_load,
            self.errors_by_kind,
            self.no_errors,
            self.transactions,
            self.transaction,
            self.findings,
            self.severity,
            self.evidence,
            self.remediation,
            self.url,
            self.no_findings,
            self.security_checks,
            self.check_ran,
            self.check_error,
            self.check_not_applicable,
            self.no_security,
            self.production_writes,
            self.no_production_writes,
            self.approvals,
            self.approved,
            self.rejected,
            self.no_approvals,
            self.runs,
            self.state,
            self.generated,
        ];
        all.extend(self.stage_titles);
        all.extend(self.gate_columns);
        all.extend(self.acceptance_columns);
        all.extend(self.error_kinds);
        all.extend(self.severities);
        all.extend(self.approval_columns);
        all.extend(self.production_write_columns);
        all
    }

    /// A recorded time (RFC 3339, UTC) as this language writes it: Vietnamese in the
    /// report's zone, day first; English as recorded.
    pub fn time(&self, recorded: &str, zone: &super::local_time::ReportZone) -> String {
        if self.local_times {
            zone.day_first(recorded)
        } else {
            recorded.to_string()
        }
    }

    /// The title of a stage.
    pub fn stage_title(&self, stage: StageId) -> &'static str {
        self.stage_titles[stage.index()]
    }

    /// A stage state in words.
    pub fn state(&self, state: StageState) -> &'static str {
        match state {
            StageState::NotRun => self.state_not_run,
            StageState::Running => self.state_running,
            StageState::Failed => self.state_failed,
            StageState::Aborted => self.state_aborted,
            StageState::AwaitingApproval => self.state_awaiting,
            StageState::Promoted => self.state_promoted,
        }
    }

    /// A criterion status in words.
    pub fn status(&self, status: CriterionStatus) -> &'static str {
        match status {
            CriterionStatus::Pass => self.status_pass,
            CriterionStatus::Warn => self.status_warn,
            CriterionStatus::Fail => self.status_fail,
        }
    }

    /// A gate decision in words.
    pub fn outcome(&self, outcome: GateOutcome) -> &'static str {
        match outcome {
            GateOutcome::Passed => self.outcome_passed,
            GateOutcome::Failed => self.outcome_failed,
        }
    }

    /// A severity in words.
    pub fn severity_name(&self, severity: Severity) -> &'static str {
        let index = Severity::ALL
            .iter()
            .position(|s| *s == severity)
            .unwrap_or(0);
        self.severities[index]
    }

    /// An error kind in words.
    pub fn error_kind(&self, kind: ErrorKind) -> &'static str {
        self.error_kinds[match kind {
            ErrorKind::Connection => 0,
            ErrorKind::Timeout => 1,
            ErrorKind::Status => 2,
            ErrorKind::Check => 3,
            ErrorKind::NotSent => 4,
        }]
    }

    /// A tier in words.
    pub fn tier(&self, tier: &str) -> &'static str {
        if tier == "production" {
            self.tier_production
        } else {
            self.tier_test
        }
    }
}

/// English.
pub const EN: Messages = Messages {
    code: "en",
    run_report: "Stage run report",
    release_report: "Go-live dossier",
    system: "System",
    release: "Release",
    stage: "Stage",
    environment: "Environment",
    run: "Run",
    run_by: "Run by",
    started: "Started",
    finished: "Finished",
    files_digest: "Files digest (SHA-256)",
    version_seen: "Release served by the environment",
    suites: "Suites",
    tier_test: "test",
    tier_production: "production",
    pipeline: "Four-stage pipeline",
    stage_titles: [
        "Trial run on test",
        "Real run on test",
        "Trial run on production",
        "Real run on production",
    ],
    state_not_run: "not run",
    state_running: "running",
    state_failed: "failed",
    state_aborted: "aborted",
    state_awaiting: "awaiting approval",
    state_promoted: "promoted",
    gate: "Gate",
    gate_columns: [
        "Criterion",
        "Value",
        "Pass threshold",
        "Warning threshold",
        "Result",
        "Reason",
    ],
    status_pass: "pass",
    status_warn: "warning",
    status_fail: "FAIL",
    no_data: "no data",
    outcome_passed: "PASSED",
    outcome_failed: "FAILED",
    gate_counts: |criteria, failed, warned| {
        format!("{criteria} criteria, {failed} failed, {warned} warned")
    },
    aborted_note: "The run was stopped before it finished; it never counts as passed.",
    accepted_risks: "Accepted risks",
    acceptance_columns: [
        "Check",
        "Address",
        "Accepted by",
        "Reason",
        "Expires",
        "Findings covered",
    ],
    every_url: "every address",
    acceptance_expired: "expired: no longer applies",
    acceptance_line: |u| {
        format!(
            "accepted  {} ({} finding(s) this run{})",
            u.acceptance,
            u.findings,
            if u.expired {
                "; EXPIRED: no longer applies"
            } else {
                ""
            }
        )
    },
    load: "Load",
    requests: "Requests",
    errors: "Errors",
    duration: "Duration",
    throughput: "Throughput",
    latency_percentiles: "Latency percentiles (ms)",
    latency_over_time: "Latency p95 over time (ms)",
    throughput_over_time: "Throughput over time (requests/s)",
    seconds: "seconds",
    no_load: "No load was measured in this run.",
    errors_by_kind: "Errors by kind",
    error_kinds: [
        "connection",
        "timeout",
        "error status",
        "failed check",
        "not sent (refused by stagegate)",
    ],
    no_errors: "No request failed.",
    transactions: "Transactions",
    transaction: "Transaction",
    findings: "Security findings",
    severities: ["info", "low", "medium", "high", "critical"],
    severity: "Severity",
    evidence: "Evidence",
    remediation: "Remediation",
    url: "Address",
    no_findings: "No findings.",
    security_checks: "Security checks",
    check_ran: "ran",
    check_error: "could not run",
    check_not_applicable: "not applicable",
    no_security: "This stage ran no security suite.",
    production_writes: "Production writes",
    production_write_columns: ["Suite allowed to write to production", "Written reason"],
    no_production_writes: "No suite was allowed to write to production: only GET, HEAD and OPTIONS requests could be sent.",
    approvals: "Approvals",
    approval_columns: ["Stage", "By", "Decision", "Note", "At"],
    approved: "approved",
    rejected: "rejected",
    no_approvals: "No approvals yet.",
    runs: "Runs",
    state: "State",
    generated: "Generated by stagegate. Self-contained: this page loads nothing from the network.",
    check_text: |_| None,
    reason: |r| r.reason.clone(),
    criterion: |r| r.criterion.clone(),
    threshold: |t| t.to_string(),
    local_times: false,
    cli: &super::cli_words::EN,
};

/// Vietnamese.
pub const VI: Messages = Messages {
    code: "vi",
    run_report: "Báo cáo lượt chạy giai đoạn",
    release_report: "Hồ sơ đưa vào vận hành",
    system: "Hệ thống",
    release: "Phiên bản",
    stage: "Giai đoạn",
    environment: "Môi trường",
    run: "Lượt chạy",
    run_by: "Người chạy",
    started: "Bắt đầu",
    finished: "Kết thúc",
    files_digest: "Mã băm tệp (SHA-256)",
    version_seen: "Phiên bản môi trường đang chạy",
    suites: "Bộ kịch bản",
    tier_test: "thử nghiệm",
    tier_production: "thật",
    pipeline: "Quy trình bốn giai đoạn",
    stage_titles: [
        "Chạy thử trên môi trường thử nghiệm",
        "Chạy thật trên môi trường thử nghiệm",
        "Chạy thử trên môi trường thật",
        "Chạy thật trên môi trường thật",
    ],
    state_not_run: "chưa chạy",
    state_running: "đang chạy",
    state_failed: "không đạt",
    state_aborted: "đã dừng",
    state_awaiting: "chờ phê duyệt",
    state_promoted: "đã phê duyệt chuyển tiếp",
    gate: "Cổng kiểm soát",
    gate_columns: [
        "Tiêu chí",
        "Giá trị",
        "Ngưỡng đạt",
        "Ngưỡng cảnh báo",
        "Kết quả",
        "Lý do",
    ],
    status_pass: "đạt",
    status_warn: "cảnh báo",
    status_fail: "KHÔNG ĐẠT",
    no_data: "không có dữ liệu",
    outcome_passed: "ĐẠT",
    outcome_failed: "KHÔNG ĐẠT",
    gate_counts: |criteria, failed, warned| {
        format!("{criteria} tiêu chí, {failed} không đạt, {warned} cảnh báo")
    },
    aborted_note: "Lượt chạy đã bị dừng trước khi kết thúc; không bao giờ được tính là đạt.",
    accepted_risks: "Rủi ro đã chấp nhận",
    acceptance_columns: [
        "Phép kiểm tra",
        "Địa chỉ",
        "Người chấp nhận",
        "Lý do",
        "Hết hạn",
        "Số phát hiện được miễn",
    ],
    every_url: "mọi địa chỉ",
    acceptance_expired: "đã hết hạn: không còn áp dụng",
    acceptance_line: |u| {
        let a = &u.acceptance;
        format!(
            "chấp nhận  {}{} — {} chấp nhận đến hết {}: {} ({} phát hiện trong lượt này{})",
            a.check,
            a.url
                .as_deref()
                .map(|url| format!(" tại {url}"))
                .unwrap_or_default(),
            a.by,
            a.expires.format("%d/%m/%Y"),
            a.reason,
            u.findings,
            if u.expired {
                "; ĐÃ HẾT HẠN: không còn áp dụng"
            } else {
                ""
            }
        )
    },
    load: "Tải",
    requests: "Số yêu cầu",
    errors: "Số lỗi",
    duration: "Thời lượng",
    throughput: "Thông lượng",
    latency_percentiles: "Phân vị độ trễ (ms)",
    latency_over_time: "Độ trễ p95 theo thời gian (ms)",
    throughput_over_time: "Thông lượng theo thời gian (yêu cầu/giây)",
    seconds: "giây",
    no_load: "Lượt chạy này không đo tải.",
    errors_by_kind: "Lỗi theo loại",
    error_kinds: [
        "kết nối",
        "hết thời gian chờ",
        "mã trạng thái lỗi",
        "kiểm tra không đạt",
        "không gửi (stagegate từ chối)",
    ],
    no_errors: "Không có yêu cầu nào thất bại.",
    transactions: "Giao dịch",
    transaction: "Giao dịch",
    findings: "Phát hiện bảo mật",
    severities: ["thông tin", "thấp", "trung bình", "cao", "nghiêm trọng"],
    severity: "Mức độ",
    evidence: "Bằng chứng",
    remediation: "Cách khắc phục",
    url: "Địa chỉ",
    no_findings: "Không có phát hiện nào.",
    security_checks: "Các kiểm tra bảo mật",
    check_ran: "đã chạy",
    check_error: "không chạy được",
    check_not_applicable: "không áp dụng",
    no_security: "Giai đoạn này không chạy bộ kiểm tra bảo mật nào.",
    production_writes: "Ghi dữ liệu vào môi trường thật",
    production_write_columns: ["Bộ kịch bản được phép ghi vào môi trường thật", "Lý do đã ghi"],
    no_production_writes: "Không bộ kịch bản nào được phép ghi vào môi trường thật: chỉ các yêu cầu GET, HEAD và OPTIONS được gửi đi.",
    approvals: "Phê duyệt",
    approval_columns: [
        "Giai đoạn",
        "Người quyết định",
        "Quyết định",
        "Ghi chú",
        "Thời điểm",
    ],
    approved: "phê duyệt",
    rejected: "từ chối",
    no_approvals: "Chưa có phê duyệt nào.",
    runs: "Các lượt chạy",
    state: "Trạng thái",
    generated: "Tạo bởi stagegate. Trang độc lập: không tải gì từ mạng.",
    check_text: vi_check_text,
    reason: vi_reason,
    criterion: vi_criterion,
    threshold: vi_threshold,
    local_times: true,
    cli: &super::cli_words::VI,
};

/// The gate writes a regression criterion as `<metric> regression <= N% vs last passed
/// release` and its thresholds as `regression <= N%`.
fn vi_criterion(r: &CriterionResult) -> String {
    match r.criterion.split_once(" regression <= ") {
        Some((metric, rest)) => {
            let limit = rest.split(' ').next().unwrap_or(rest);
            format!("{metric} suy giảm <= {limit} so với phiên bản đạt trước đó")
        }
        None => r.criterion.clone(),
    }
}

fn vi_threshold(t: &str) -> String {
    t.replace("regression", "suy giảm")
}

/// Vietnamese names and remediation of the built-in checks, from the catalogue.
fn vi_check_text(check: &str) -> Option<(&'static str, &'static str)> {
    catalogue::lookup(check).map(|c| (c.name_vi, c.remediation_vi))
}

/// A criterion's reason in Vietnamese, from its data ([`Reason`]); nothing is read back
/// from the English text.
fn vi_reason(r: &CriterionResult) -> String {
    let metric = &r.metric;
    let pct = |ratio: f64| format!("{:+.0}%", ratio * 100.0);
    match &r.cause {
        Reason::Met => format!("{metric} = {}, đạt ngưỡng {}", r.shown, r.pass),
        Reason::Warned => match &r.warn {
            Some(warn) => format!("{metric} = {}, chưa đạt ngưỡng cảnh báo {warn}", r.shown),
            None => format!("{metric} = {}, cần chú ý", r.shown),
        },
        Reason::Missed => format!("{metric} = {}, phải {}", r.shown, r.pass),
        Reason::WithinBaseline {
            baseline,
            before,
            change,
            interval,
        } => format!(
            "{metric} = {}, so với {before} ở phiên bản {baseline} ({}{})",
            r.shown,
            pct(*change),
            vi_interval(interval)
        ),
        Reason::RegressionWarned {
            baseline,
            before,
            change,
            warn,
            interval,
        } => format!(
            "{metric} = {}, so với {before} ở phiên bản {baseline} ({}{}), vượt ngưỡng cảnh báo {:.0}%",
            r.shown,
            pct(*change),
            vi_interval(interval),
            warn * 100.0
        ),
        Reason::Regression {
            baseline,
            before,
            change,
            allowed,
            interval,
        } => format!(
            "suy giảm: {metric} = {}, so với {before} ở phiên bản {baseline} ({}{}), kém hơn mức cho phép {:.0}%",
            r.shown,
            pct(*change),
            vi_interval(interval),
            allowed * 100.0
        ),
        Reason::RegressionInconclusive {
            baseline,
            before,
            change,
            allowed,
            interval,
            settle,
        } => format!(
            "chưa kết luận được: {metric} = {}, so với {before} ở phiên bản {baseline} ({}{}), mức cho phép {:.0}%: {}",
            r.shown,
            pct(*change),
            vi_interval(interval),
            allowed * 100.0,
            vi_settle(settle, baseline)
        ),
        Reason::NoBaseline => {
            "chưa có mốc so sánh: chưa có phiên bản nào trước đó đạt giai đoạn này".into()
        }
        Reason::BaselineLacksValue { baseline } => {
            format!("chưa có mốc so sánh: phiên bản {baseline} không có giá trị {metric}")
        }
        Reason::InsufficientSamples { samples, needed } => format!(
            "không đủ dữ liệu: {metric} = {}, {samples} mẫu, tiêu chí cần {needed}",
            r.shown
        ),
        Reason::NoData { cause } => vi_no_data(cause),
        Reason::ReleaseUnreadable { detail } => {
            format!("không có dữ liệu: không đọc được phiên bản từ môi trường ({detail})")
        }
        Reason::Aborted { .. } => format!(
            "đã dừng tải: vi phạm tiêu chí dừng khẩn `{}` (giá trị {})",
            r.criterion, r.shown
        ),
        Reason::UnacceptedFindings {
            count,
            severity,
            first,
        } => format!(
            "{count} phát hiện mức {severity} chưa được chấp nhận, đầu tiên {first}: cần khắc phục, hoặc chấp nhận trong danh sách `accept` của cổng kiểm soát kèm lý do, người chấp nhận và ngày hết hạn"
        ),
        // Recorded before reasons were kept as data: shown as recorded.
        Reason::Unrecorded => r.reason.clone(),
    }
}

/// `; khoảng tin cậy 95%: +3% đến +9%`.
fn vi_interval(interval: &Option<ChangeInterval>) -> String {
    interval
        .as_ref()
        .map(|i| {
            format!(
                "; khoảng tin cậy {:.0}%: {:+.0}% đến {:+.0}%",
                i.confidence * 100.0,
                i.low * 100.0,
                i.high * 100.0
            )
        })
        .unwrap_or_default()
}

fn vi_settle(settle: &Settle, baseline: &str) -> String {
    match settle {
        Settle::MoreSamples {
            needed,
            had,
            baseline_had,
        } => format!(
            "quá ít yêu cầu để đo (lượt này {had}, phiên bản {baseline} {baseline_had}; mỗi lượt cần ít nhất {needed}): hãy chạy lâu hơn hoặc với nhiều người dùng hơn"
        ),
        Settle::LongerRun { requests, factor } => format!(
            "khoảng tin cậy vắt qua mức cho phép; khoảng {requests} yêu cầu (lượt chạy dài gấp {factor:.1} lần) sẽ đủ để kết luận"
        ),
        Settle::AtTheAllowance => {
            "mức thay đổi nằm đúng ở mức cho phép; không lượt chạy nào đủ dài để kết luận".into()
        }
    }
}

fn vi_no_data(cause: &NoData) -> String {
    let why = match cause {
        NoData::NoRequests => "lượt chạy không gửi yêu cầu nào".to_string(),
        NoData::NoneSucceeded { first_error } => {
            format!("không có yêu cầu nào thành công ({first_error})")
        }
        NoData::NoChecks => "không có phép kiểm tra nào được đánh giá".into(),
        NoData::NoTargetRate => "giai đoạn không đặt tốc độ mục tiêu".into(),
        NoData::ObservedByQuery | NoData::QueryNotRun => "truy vấn PromQL chưa được chạy".into(),
        NoData::NoPrometheusUrl { environment } => {
            format!("môi trường `{environment}` không khai báo `prometheus-url`")
        }
        NoData::Promql { detail } => format!("Prometheus không cho giá trị ({detail})"),
        NoData::NoSecuritySuite => "giai đoạn không chạy kiểm tra bảo mật nào".into(),
        NoData::NoSecurityCheckRan => "không có kiểm tra bảo mật nào được chạy".into(),
        NoData::ChecksErrored { count, first } => {
            format!("{count} kiểm tra bảo mật không chạy được ({first})")
        }
        NoData::NotANumber => "giá trị đo không phải là số".into(),
        NoData::Unrecorded => return "không có dữ liệu".into(),
    };
    format!("không có dữ liệu: {why}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(status: CriterionStatus, cause: Reason) -> CriterionResult {
        let mut r = CriterionResult {
            criterion: "latency-p95 < 200.0ms".into(),
            metric: "latency-p95".into(),
            value: Some(350.0),
            shown: "350.0ms".into(),
            pass: "< 200.0ms".into(),
            warn: None,
            status,
            reason: String::new(),
            cause,
        };
        r.reason = r.cause.english(&r);
        r
    }

    /// Issue 10: every reason is said from its data, in both languages; the Vietnamese
    /// text is not derived from the English one.
    #[test]
    fn issue_10_vietnamese_reasons_come_from_the_data_and_carry_no_english_words() {
        let english = [
            "must",
            "no data",
            "request",
            " is ",
            "samples",
            "baseline",
            "could not",
        ];
        let cases = [
            (
                CriterionStatus::Fail,
                Reason::Missed,
                "latency-p95 = 350.0ms, phải < 200.0ms",
            ),
            (
                CriterionStatus::Fail,
                Reason::NoData {
                    cause: NoData::NoRequests,
                },
                "không có dữ liệu: lượt chạy không gửi yêu cầu nào",
            ),
            (
                CriterionStatus::Fail,
                Reason::InsufficientSamples {
                    samples: 3,
                    needed: 10,
                },
                "không đủ dữ liệu: latency-p95 = 350.0ms, 3 mẫu, tiêu chí cần 10",
            ),
            (
                CriterionStatus::Fail,
                Reason::NoData {
                    cause: NoData::ChecksErrored {
                        count: 1,
                        first: "tls: x".into(),
                    },
                },
                "không có dữ liệu: 1 kiểm tra bảo mật không chạy được (tls: x)",
            ),
            (
                CriterionStatus::Warn,
                Reason::NoBaseline,
                "chưa có mốc so sánh: chưa có phiên bản nào trước đó đạt giai đoạn này",
            ),
        ];
        for (status, cause, vi) in cases {
            let r = result(status, cause);
            let text = (VI.reason)(&r);
            assert_eq!(text, vi);
            for word in english {
                assert!(!text.contains(word), "`{word}` in `{text}`");
            }
            // The English text, from the same data, is what the verdict stores.
            assert_eq!((EN.reason)(&r), r.reason);
            assert!(!r.reason.is_empty());
        }
        let regression = result(
            CriterionStatus::Fail,
            Reason::Regression {
                baseline: "1.0.0".into(),
                before: "100.0ms".into(),
                change: 2.5,
                allowed: 0.25,
                interval: None,
            },
        );
        assert_eq!(
            regression.reason,
            "regression: latency-p95 is 350.0ms vs 100.0ms in 1.0.0 (+250%), allowed 25%"
        );
        assert_eq!(
            (VI.reason)(&regression),
            "suy giảm: latency-p95 = 350.0ms, so với 100.0ms ở phiên bản 1.0.0 (+250%), kém hơn mức cho phép 25%"
        );
    }

    #[test]
    fn an_inconclusive_regression_says_what_would_settle_it_in_both_languages() {
        use crate::gate::regression::{ChangeInterval, Settle};
        let interval = ChangeInterval {
            low: -0.05,
            high: 0.6,
            confidence: 0.95,
            samples: 120,
            baseline_samples: 400,
        };
        let wide = result(
            CriterionStatus::Fail,
            Reason::RegressionInconclusive {
                baseline: "1.0.0".into(),
                before: "100.0ms".into(),
                change: 0.25,
                allowed: 0.2,
                interval: Some(interval),
                settle: Settle::LongerRun {
                    requests: 14_700,
                    factor: 122.5,
                },
            },
        );
        assert_eq!(
            wide.reason,
            "inconclusive: latency-p95 is 350.0ms vs 100.0ms in 1.0.0 (+25%; 95% CI -5% to +60%), allowed 20%: the interval straddles the allowance; about 14700 requests (a run 122.5× as long) would settle it"
        );
        assert_eq!(
            (VI.reason)(&wide),
            "chưa kết luận được: latency-p95 = 350.0ms, so với 100.0ms ở phiên bản 1.0.0 (+25%; khoảng tin cậy 95%: -5% đến +60%), mức cho phép 20%: khoảng tin cậy vắt qua mức cho phép; khoảng 14700 yêu cầu (lượt chạy dài gấp 122.5 lần) sẽ đủ để kết luận"
        );
        let few = result(
            CriterionStatus::Fail,
            Reason::RegressionInconclusive {
                baseline: "1.0.0".into(),
                before: "100.0ms".into(),
                change: 2.5,
                allowed: 0.2,
                interval: None,
                settle: Settle::MoreSamples {
                    needed: 100,
                    had: 5,
                    baseline_had: 400,
                },
            },
        );
        assert_eq!(
            few.reason,
            "inconclusive: latency-p95 is 350.0ms vs 100.0ms in 1.0.0 (+250%), allowed 20%: too few requests to measure it (this run 5, 1.0.0 400; each needs at least 100): run longer or with more users"
        );
        assert!((VI.reason)(&few).contains("mỗi lượt cần ít nhất 100"));
    }

    #[test]
    fn every_built_in_check_has_vietnamese_words() {
        for check in catalogue::CATALOGUE {
            let (name, remediation) = (VI.check_text)(check.id.as_str()).unwrap_or(("", ""));
            assert!(
                !name.is_empty() && name != "Kiểm tra bảo mật",
                "{} has no Vietnamese name",
                check.id
            );
            assert_ne!(remediation, check.remediation);
        }
    }

    #[test]
    fn every_vietnamese_phrase_is_translated() {
        // The phrases are listed field by field, so position i is the same phrase.
        let (en, vi) = (EN.phrases(), VI.phrases());
        assert_eq!(en.len(), vi.len());
        let same: Vec<_> = en
            .iter()
            .zip(&vi)
            .filter(|(e, v)| e == v)
            .map(|(e, _)| *e)
            .collect();
        assert!(same.is_empty(), "not translated: {same:?}");
    }

    #[test]
    fn regression_criteria_are_said_in_vietnamese() {
        let mut r = result(
            CriterionStatus::Pass,
            Reason::WithinBaseline {
                baseline: "0.9.0".into(),
                before: "1.0ms".into(),
                change: 0.0,
                interval: None,
            },
        );
        r.criterion = "latency-p95 regression <= 25% vs last passed release".into();
        assert_eq!(
            (VI.criterion)(&r),
            "latency-p95 suy giảm <= 25% so với phiên bản đạt trước đó"
        );
        assert_eq!((VI.threshold)("regression <= 25.00%"), "suy giảm <= 25.00%");
        assert_eq!((EN.criterion)(&r), r.criterion);
    }
}
