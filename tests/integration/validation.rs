//! Malformed files: every mistake is reported at its exact line and column, with what
//! was expected, exit code 2, and nothing sent (issue 2).

use crate::support::{run, stagegate, text, Project};

/// One malformed-file case: which file to write, its text, and where the error must point.
struct Case {
    name: &'static str,
    file: &'static str,
    text: &'static str,
    at: &'static str,
    message: &'static str,
}

const ENV_OK: &str = "version = 1\ntier = \"test\"\nbase-url = \"http://127.0.0.1:1\"\n";

fn cases() -> Vec<Case> {
    vec![
        Case { name: "unknown key in an environment", file: "environments/extra.toml", text: "version = 1\ntier = \"test\"\nbase-url = \"http://127.0.0.1:1\"\nmax_rps = 5\n", at: "environments/extra.toml:4:1", message: "unknown field `max_rps`" },
        Case { name: "unknown tier", file: "environments/extra.toml", text: "version = 1\ntier = \"staging\"\nbase-url = \"http://127.0.0.1:1\"\n", at: "environments/extra.toml:2:8", message: "unknown variant `staging`" },
        Case { name: "url that is not http", file: "environments/extra.toml", text: "version = 1\ntier = \"test\"\nbase-url = \"ftp://127.0.0.1\"\n", at: "environments/extra.toml:3:12", message: "is not an http(s) URL" },
        Case { name: "secret pasted instead of a variable name", file: "environments/extra.toml", text: "version = 1\ntier = \"test\"\nbase-url = \"http://127.0.0.1:1\"\n[auth]\nheader = \"X-Api-Key\"\ntoken-env = \"s3cr3t-value\"\n", at: "environments/extra.toml:6:13", message: "never holds the secret itself" },
        Case { name: "unsupported version", file: "environments/extra.toml", text: "version = 2\ntier = \"test\"\nbase-url = \"http://127.0.0.1:1\"\n", at: "environments/extra.toml:1:11", message: "unsupported format version 2" },
        Case { name: "toml syntax error", file: "environments/extra.toml", text: "version = 1\ntier = \"test\nbase-url = \"http://127.0.0.1:1\"\n", at: "environments/extra.toml:2:", message: "" },
        Case { name: "zero max-users", file: "environments/extra.toml", text: "version = 1\ntier = \"test\"\nbase-url = \"http://127.0.0.1:1\"\n[limits]\nmax-users = 0\n", at: "environments/extra.toml:5:13", message: "`max-users` must be positive" },
        Case { name: "suite without kind", file: "scenarios/dichvucong/extra.toml", text: "version = 1\ndescription = \"x\"\n", at: "scenarios/dichvucong/extra.toml:1:1", message: "`kind` is missing" },
        Case { name: "unknown suite kind", file: "scenarios/dichvucong/extra.toml", text: "version = 1\nkind = \"stress\"\n", at: "scenarios/dichvucong/extra.toml:2:8", message: "unknown suite kind `stress`" },
        Case { name: "unknown template variable", file: "scenarios/dichvucong/extra.toml", text: "version = 1\nkind = \"load\"\n[[transactions]]\nname = \"t\"\n[[transactions.steps]]\nmethod = \"GET\"\npath = \"/api/ho-so/{{ma}}\"\n", at: "scenarios/dichvucong/extra.toml:7:20", message: "unknown variable `ma`" },
        Case { name: "variable used before the step that extracts it", file: "scenarios/dichvucong/extra.toml", text: "version = 1\nkind = \"load\"\n[[transactions]]\nname = \"t\"\n[[transactions.steps]]\nmethod = \"GET\"\npath = \"/a/{{id}}\"\n[[transactions.steps]]\nmethod = \"GET\"\npath = \"/b\"\nextract = [{ kind = \"header\", name = \"x-id\", into = \"id\" }]\n", at: "scenarios/dichvucong/extra.toml:7:12", message: "variable `id` is extracted only by a later step, `step-2` (step 2)" },
        Case { name: "missing feeder file", file: "scenarios/dichvucong/extra.toml", text: "version = 1\nkind = \"load\"\n[[feeders]]\nname = \"f\"\nfile = \"data/khong-co.csv\"\n[[transactions]]\nname = \"t\"\n[[transactions.steps]]\nmethod = \"GET\"\npath = \"/\"\n", at: "scenarios/dichvucong/extra.toml:5:8", message: "cannot use feeder file `data/khong-co.csv`" },
        Case { name: "unknown security check", file: "scenarios/dichvucong/extra.toml", text: "version = 1\nkind = \"security\"\nchecks = [{ id = \"header.x-content-type-options\" }, { id = \"header.nope\" }]\n", at: "scenarios/dichvucong/extra.toml:3:60", message: "unknown security check `header.nope`" },
        Case { name: "probe judging on status alone", file: "scenarios/dichvucong/extra.toml", text: "version = 1\nkind = \"security\"\n[[probes]]\nname = \"p\"\nseverity = \"high\"\npath = \"/admin\"\nmatchers = [{ kind = \"status\", equals = 200 }]\n", at: "scenarios/dichvucong/extra.toml:7:12", message: "may not judge on the status code alone" },
        Case { name: "unknown tag with Vietnamese text before it", file: "scenarios/dichvucong/extra.toml", text: "version = 1\nkind = \"security\"\ntags = [\"nguy-hiểm\", \"bảo-mật\"]\nchecks = [{ id = \"header.csp\" }]\n", at: "scenarios/dichvucong/extra.toml:3:22", message: "unknown tag `bảo-mật`" },
    ]
}

fn rollout_cases() -> Vec<(
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
)> {
    // (name, text to replace in rollout.toml, replacement, expected position, message)
    vec![
        ("unknown environment", "environment = \"production\"\nsuites = [\"giam-sat-tong-hop\", \"bao-mat-co-ban\"]", "environment = \"prod\"\nsuites = [\"giam-sat-tong-hop\", \"bao-mat-co-ban\"]", "scenarios/dichvucong/rollout.toml:38:15", "unknown environment `prod`"),
        ("unknown suite", "suites = [\"tra-cuu-va-nop-ho-so\", \"bao-mat-co-ban\"]\ntraffic = { users = 4", "suites = [\"tra-cuu-va-nop-ho-so\", \"bao-mat-coban\"]\ntraffic = { users = 4", "scenarios/dichvucong/rollout.toml:10:35", "unknown suite `bao-mat-coban`"),
        ("threshold without unit", "{ metric = \"latency-p95\", pass = \"< 1s\", warn = \"< 250ms\" }", "{ metric = \"latency-p95\", pass = \"< 1000\", warn = \"< 250ms\" }", "scenarios/dichvucong/rollout.toml:15:36", "bad threshold `< 1000` for `latency-p95`: a latency needs a unit"),
        ("unknown metric", "{ metric = \"check-failure-rate\", pass = \"< 1%\" },\n  { metric = \"latency-p95\", pass = \"< 1s\"", "{ metric = \"check-fail-rate\", pass = \"< 1%\" },\n  { metric = \"latency-p95\", pass = \"< 1s\"", "scenarios/dichvucong/rollout.toml:14:14", "unknown variant `check-fail-rate`"),
        ("bad duration", "duration = \"4s\" }\ngate.criteria = [\n  { metric = \"error-rate\", pass = \"< 1%\" },\n  { metric = \"check-failure-rate\", pass = \"< 1%\" },\n  { metric = \"latency-p95\", pass = \"< 1s\", warn", "duration = \"4 parsecs\" }\ngate.criteria = [\n  { metric = \"error-rate\", pass = \"< 1%\" },\n  { metric = \"check-failure-rate\", pass = \"< 1%\" },\n  { metric = \"latency-p95\", pass = \"< 1s\", warn", "scenarios/dichvucong/rollout.toml:11:51", "bad duration `4 parsecs`"),
        ("empty gate", "gate.criteria = [\n  { metric = \"error-rate\", pass = \"< 0.5%\" },\n  { metric = \"latency-p95\", pass = \"< 500ms\" },\n  { metric = \"requests\", pass = \">= 10\" },\n]", "gate.criteria = []", "scenarios/dichvucong/rollout.toml:60:17", "a gate needs at least one criterion"),
        ("zero approvers", "approval = { approvers = 2, roles = [\"release-manager\"] }", "approval = { approvers = 0, roles = [\"release-manager\"] }", "scenarios/dichvucong/rollout.toml:65:26", "a stage needs at least one approver"),
        ("missing stage", "[stages.real-production]", "[stages.real-prod]", "scenarios/dichvucong/rollout.toml:56:9", "unknown field `real-prod`"),
    ]
}

fn clean_project() -> Project {
    Project::new("http://127.0.0.1:9", "http://127.0.0.1:9")
}

#[test]
fn every_malformed_file_is_reported_at_its_exact_position() {
    let mut checked = 0;
    for case in cases() {
        let project = clean_project();
        project.write(case.file, case.text);
        let out = run(stagegate(project.root()).arg("validate"));
        let all = text(&out);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}: exit code\n{all}",
            case.name
        );
        if case.at.is_empty() {
            continue;
        }
        assert!(
            all.contains(&format!("--> {}", case.at)),
            "{}: expected position {}\n{all}",
            case.name,
            case.at
        );
        assert!(
            all.contains(case.message),
            "{}: expected message {:?}\n{all}",
            case.name,
            case.message
        );
        assert!(all.contains("nothing was sent to any target"), "{all}");
        checked += 1;
    }
    for (name, from, to, at, message) in rollout_cases() {
        let project = clean_project();
        project.edit("scenarios/dichvucong/rollout.toml", from, to);
        let out = run(stagegate(project.root()).arg("validate"));
        let all = text(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: exit code\n{all}");
        assert!(
            all.contains(&format!("--> {at}")),
            "{name}: expected position {at}\n{all}"
        );
        assert!(
            all.contains(message),
            "{name}: expected message {message:?}\n{all}"
        );
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} cases pinned a position");
    let _ = ENV_OK;
}

#[test]
fn every_mistake_in_a_file_is_reported_not_just_the_first() {
    let project = clean_project();
    project.edit(
        "scenarios/dichvucong/rollout.toml",
        "environment = \"test\"",
        "environment = \"tset\"",
    );
    project.edit(
        "scenarios/dichvucong/rollout.toml",
        "approval = { approvers = 2, roles = [\"release-manager\"] }",
        "approval = { approvers = 0, roles = [\"release-manager\"] }",
    );
    let out = run(stagegate(project.root()).arg("validate"));
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        all.contains("unknown environment `tset`")
            && all.contains("a stage needs at least one approver"),
        "{all}"
    );
    assert!(all.contains("2 errors found"), "{all}");
}

#[test]
fn the_error_shows_the_line_with_carets_under_the_offending_text() {
    let project = clean_project();
    project.edit(
        "scenarios/dichvucong/rollout.toml",
        "pass = \"< 500ms\" },\n  { metric = \"requests\"",
        "pass = \"< 5OOms\" },\n  { metric = \"requests\"",
    );
    let out = run(stagegate(project.root()).arg("validate"));
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains("  { metric = \"latency-p95\", pass = \"< 5OOms\" },"),
        "{all}"
    );
    assert!(
        all.contains("|                                    ^^^^^^^^^\n"),
        "{all}"
    );
}

#[test]
fn the_shipped_sample_project_is_valid() {
    let out = run(stagegate(std::path::Path::new(env!("CARGO_MANIFEST_DIR"))).arg("validate"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn issue_15_validate_writes_its_json_into_a_file_with_out() {
    let project = Project::new("http://127.0.0.1:1", "http://127.0.0.1:2");
    let file = project.path("validate.json");
    let file_arg = file.display().to_string();
    let validate = |extra: &[&str]| {
        let mut args = vec!["validate", "-o", file_arg.as_str()];
        args.extend(extra);
        run(stagegate(project.root()).args(args))
    };
    // `-o` with text output is refused, before anything is written.
    let refused = validate(&[]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        text(&refused).contains("--output json"),
        "{}",
        text(&refused)
    );
    assert!(!file.exists());

    let ok = validate(&["--output", "json"]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    assert!(ok.stdout.is_empty(), "{}", text(&ok));
    let read = || -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(&file).expect("written")).expect("JSON")
    };
    let v = read();
    assert_eq!(
        (v["schema"].as_str(), v["ok"].as_bool()),
        (Some("stagegate.validate/v1"), Some(true)),
        "{v}"
    );

    // Invalid files: the report of what is wrong is the file's content, exit 2.
    project.write(
        "environments/extra.toml",
        "version = 1\ntier = \"staging\"\n",
    );
    let bad = validate(&["--output", "json"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(bad.stdout.is_empty(), "{}", text(&bad));
    let v = read();
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["errors"][0]["path"], "environments/extra.toml", "{v}");
}
