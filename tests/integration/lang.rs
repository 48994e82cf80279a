//! Issue 15: `--lang vi` (or `STAGEGATE_LANG=vi`) says the text of `status`, `history`,
//! `plan`, `validate`, `approve`/`reject` and the framing of errors in Vietnamese; JSON
//! stays the same in every language.

use crate::support::{run, stagegate, text, Project};
use std::path::Path;

/// `stagegate --root ROOT --lang vi ARGS`: exit code, standard output, standard error.
fn vi(root: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = run(stagegate(root).args(["--lang", "vi"]).args(args));
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every `words` is in `text`, none of `english` is.
fn says(text: &str, words: &[&str], english: &[&str]) {
    for w in words {
        assert!(text.contains(w), "`{w}` missing from:\n{text}");
    }
    for e in english {
        assert!(!text.contains(e), "English `{e}` left in:\n{text}");
    }
}

#[test]
fn issue_15_status_history_approve_and_errors_speak_vietnamese() {
    let trial = crate::reports::TrialRun::start(&[]);
    assert_eq!(trial.code, 0);
    let root = trial.project.root();
    let release = ["dichvucong", "--release", "1.0.0"];

    let (code, out, all) = vi(root, &["status"]);
    assert_eq!(code, Some(0), "{all}");
    says(
        &out,
        &["hệ thống", "phiên bản", "chờ phê duyệt", "chưa chạy"],
        &["system", "awaiting-approval", "not-run"],
    );

    // The decision, signed: its line and its signer in Vietnamese.
    let key = crate::support::key_in(root, "rm.binh");
    let (code, out, all) = vi(
        root,
        &[
            "approve",
            "dichvucong",
            "--release",
            "1.0.0",
            "--stage",
            "trial-test",
            "--as",
            "rm.binh",
            "--key",
            &key,
            "--note",
            "ổn",
        ],
    );
    assert_eq!(code, Some(0), "{all}");
    says(
        &out,
        &[
            "đã phê duyệt lượt chạy #1",
            "ĐÃ ĐƯỢC CHUYỂN TIẾP",
            "ký bởi",
            "khóa SHA256:",
        ],
        &["approved", "PROMOTED", "signed by", " key "],
    );

    let (code, out, all) = vi(root, &[&["history"][..], &release].concat());
    assert_eq!(code, Some(0), "{all}");
    says(
        &out,
        &[
            "bắt đầu lượt chạy",
            "lượt chạy #1 đạt",
            "phê duyệt",
            "ghi chú: ổn",
            "chuyển tiếp",
            "ký bởi",
            // Local time, day first, as in the Vietnamese reports.
            "(UTC+07:00)",
        ],
        &["run-started", "run #1", "note:", "[signed", "Z  "],
    );

    // The framing of errors: a rejection with no reason (bad input), a decision the
    // rollout rules refuse (the stage is already promoted).
    let (code, _, err) = vi(
        root,
        &[
            "reject",
            "dichvucong",
            "--release",
            "1.0.0",
            "--stage",
            "trial-test",
            "--as",
            "rm.binh",
            "--key",
            &key,
        ],
    );
    assert_eq!(code, Some(2), "{err}");
    says(&err, &["lỗi: ", "(gợi ý: --note"], &["error:", "(hint:"]);
    let (code, _, err) = vi(Path::new("/nonexistent/stagegate-lang-test"), &["status"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.starts_with("lỗi: no ledger at"), "{err}");

    // JSON is for programs: the same in every language.
    let json = |lang: &str| {
        let out = run(stagegate(root).args(["--lang", lang, "status", "--output", "json"]));
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        out.stdout
    };
    assert_eq!(json("vi"), json("en"));
}

#[test]
fn issue_15_plan_and_validate_speak_vietnamese_and_file_errors_keep_their_place() {
    let project = Project::new("http://127.0.0.1:1", "http://127.0.0.1:2");
    let root = project.root();
    let (code, out, all) = vi(
        root,
        &[
            "plan",
            "dichvucong",
            "--release",
            "1.0.0",
            "--stage",
            "trial-test",
        ],
    );
    assert_eq!(code, Some(0), "{all}");
    says(
        &out,
        &[
            "giai đoạn 1 `trial-test` (chạy thử trên môi trường thử nghiệm)",
            "môi trường thử nghiệm",
            "người dùng",
            "cổng kiểm soát",
            "phê duyệt",
        ],
        &[
            "environment",
            "limits",
            "traffic",
            "approval",
            "distinct approver",
        ],
    );

    // `STAGEGATE_LANG` says the same as `--lang`.
    let out = run(stagegate(root).env("STAGEGATE_LANG", "vi").arg("validate"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    says(
        &said,
        &["hợp lệ: 2 môi trường, 1 hệ thống"],
        &["ok:", "environment(s)"],
    );

    // A mistake in a file: Vietnamese framing, the place and the parser's words kept.
    project.write(
        "environments/extra.toml",
        "version = 1\ntier = \"staging\"\nbase-url = \"http://127.0.0.1:1\"\n",
    );
    let (code, _, err) = vi(root, &["validate"]);
    assert_eq!(code, Some(2), "{err}");
    says(
        &err,
        &[
            "lỗi: unknown variant `staging`",
            "--> environments/extra.toml:2:8",
            "có 1 lỗi; không gửi gì đến hệ thống nào",
        ],
        &["error:", "found; nothing was sent"],
    );
    // In English, the same error word for word as before.
    let out = run(stagegate(root).arg("validate"));
    assert!(
        text(&out).contains("error: unknown variant `staging`")
            && text(&out).contains("1 error found; nothing was sent to any target"),
        "{}",
        text(&out)
    );
}
