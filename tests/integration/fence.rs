//! The production fence (issue 12), through the binary: the origin fence. One test per
//! bypass the review found, each counting at a test server that nothing reached the
//! other origin, and pinning the exit code and the message of the refusal. Production
//! methods and tiers are in `fence_production`, file and resource bounds in
//! `fence_bounds`.

use crate::counting_server::{portal, Counter};
use crate::support::{run, run_stage_cmd, stagegate, text, Project};

/// A project whose trial-test stage runs only the suite `fence` (`suite` is its body
/// after `version`/`kind`), on `test_url`, with a quick profile.
pub(crate) fn project_with_suite(test_url: &str, production_url: &str, suite: &str) -> Project {
    let project = Project::new(test_url, production_url);
    project.write(
        "scenarios/dichvucong/fence.toml",
        &format!("version = 1\nkind = \"load\"\n{suite}"),
    );
    project.edit(
        "scenarios/dichvucong/rollout.toml",
        "suites = [\"tra-cuu-va-nop-ho-so\", \"bao-mat-co-ban\"]\ntraffic = { users = 4, ramp-up = \"1s\", duration = \"4s\" }",
        "suites = [\"fence\"]\ntraffic = { users = 2, ramp-up = \"0s\", duration = \"2s\" }",
    );
    // Judged on errors and latency only: the suite has no checks and no security part.
    project.edit(
        "scenarios/dichvucong/rollout.toml",
        "  { metric = \"check-failure-rate\", pass = \"< 1%\" },\n  { metric = \"latency-p95\", pass = \"< 1s\", warn = \"< 250ms\" },\n  { metric = \"security-high\", pass = \"== 0\" },\n  { metric = \"security-critical\", pass = \"== 0\" },\n]",
        "  { metric = \"latency-p95\", pass = \"< 1s\" },\n]",
    );
    project
}

/// `stagegate run` of release 1.0.0 by `qa.an`, with both environments' keys set.
pub(crate) fn run_stage(project: &Project, stage: &str) -> std::process::Output {
    run(run_stage_cmd(project, "1.0.0", stage, "qa.an")
        .env("DVC_PROD_API_KEY", "khoa-bi-mat-san-xuat-123")
        .env("DVC_TEST_KEY", "khoa-thu-nghiem-456"))
}

pub(crate) fn summary(project: &Project, stage: &str) -> serde_json::Value {
    let path = project.path(&format!(
        ".stagegate/runs/dichvucong/1.0.0/{stage}/run-1/summary.json"
    ));
    serde_json::from_str(&std::fs::read_to_string(path).expect("summary")).expect("JSON")
}

/// Gives the test environment an API key, so a leak would be visible at the other host.
pub(crate) fn with_test_key(project: &Project) {
    let path = project.path("environments/test.toml");
    let text = std::fs::read_to_string(&path).expect("test env");
    std::fs::write(
        path,
        format!("{text}\n[auth]\nheader = \"X-Api-Key\"\ntoken-env = \"DVC_TEST_KEY\"\n"),
    )
    .expect("write");
}

#[test]
fn issue_12_a_double_slash_path_is_refused_at_validate_and_nothing_reaches_the_other_host() {
    let home = Counter::start(portal);
    let other = Counter::start(portal);
    let project = project_with_suite(
        &home.url,
        "http://127.0.0.1:9",
        &format!(
            "[[transactions]]\nname = \"t\"\n[[transactions.steps]]\nmethod = \"GET\"\npath = \"//127.0.0.1:{}/lay-khoa\"\n",
            other.port
        ),
    );
    let out = run(stagegate(project.root()).arg("validate"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("error: `//127.0.0.1:{}/lay-khoa` could leave the environment's origin: a path starting with `//` or `/\\` names another host\n --> scenarios/dichvucong/fence.toml:7:8", other.port)),
        "{}",
        text(&out)
    );
    let out = run_stage(&project, "trial-test");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(other.seen().len(), 0, "the other host was reached");
}

#[test]
fn issue_12_a_rendered_path_that_leaves_the_origin_is_not_sent_with_the_key() {
    let other = Counter::start(portal);
    let escape = format!("/127.0.0.1:{}/lay-khoa", other.port);
    let home = Counter::start(move |seen| {
        if seen.path == "/api/phien-ban" {
            (200, vec![], r#"{"version":"1.0.0"}"#.into())
        } else {
            (200, vec![], format!(r#"{{"tiep":"{escape}"}}"#))
        }
    });
    let project = project_with_suite(
        &home.url,
        "http://127.0.0.1:9",
        "[[transactions]]\nname = \"t\"\n[[transactions.steps]]\nmethod = \"GET\"\npath = \"/bat-dau\"\nextract = [{ kind = \"json-pointer\", pointer = \"/tiep\", into = \"tiep\" }]\n[[transactions.steps]]\nmethod = \"GET\"\npath = \"/{{tiep}}\"\n",
    );
    with_test_key(&project);
    let out = run_stage(&project, "trial-test");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(other.seen().len(), 0, "the other host was reached");
    let s = summary(&project, "trial-test");
    let first = s["measurements"]["first_error"]
        .as_str()
        .unwrap_or_default();
    assert!(
        first.starts_with(&format!(
            "not sent: `http://127.0.0.1:{}/lay-khoa` is on origin",
            other.port
        )) || first.contains("names another host"),
        "{first}"
    );
}

#[test]
fn issue_12_a_cross_origin_redirect_is_not_followed_and_is_reported() {
    let other = Counter::start(portal);
    let to = format!("{}/lay-khoa", other.url);
    let home = Counter::start(move |seen| {
        if seen.path == "/api/phien-ban" {
            (200, vec![], r#"{"version":"1.0.0"}"#.into())
        } else {
            (302, vec![("location".into(), to.clone())], String::new())
        }
    });
    let project = project_with_suite(
        &home.url,
        "http://127.0.0.1:9",
        "[[transactions]]\nname = \"t\"\n[[transactions.steps]]\nmethod = \"GET\"\npath = \"/chuyen\"\n",
    );
    with_test_key(&project);
    let out = run_stage(&project, "trial-test");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(other.seen().len(), 0, "the redirect was followed");
    assert!(home
        .seen()
        .iter()
        .any(|s| s.headers.get("x-api-key").map(String::as_str) == Some("khoa-thu-nghiem-456")));
    let s = summary(&project, "trial-test");
    assert_eq!(
        s["measurements"]["first_error"].as_str(),
        Some(format!("cross-origin redirect (HTTP 302) from `{}` to `http://127.0.0.1:{}` not followed: the environment's credentials stay on its origin", home.url, other.port).as_str()),
        "{s}"
    );
}

#[test]
fn issue_12_a_redirect_loop_is_named_as_such() {
    let home = Counter::start(|seen| {
        if seen.path == "/api/phien-ban" {
            (200, vec![], r#"{"version":"1.0.0"}"#.into())
        } else {
            (
                302,
                vec![("location".into(), "/vong".into())],
                String::new(),
            )
        }
    });
    let project = project_with_suite(
        &home.url,
        "http://127.0.0.1:9",
        "[[transactions]]\nname = \"t\"\n[[transactions.steps]]\nmethod = \"GET\"\npath = \"/vong\"\n",
    );
    let out = run_stage(&project, "trial-test");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let s = summary(&project, "trial-test");
    let first = s["measurements"]["first_error"]
        .as_str()
        .unwrap_or_default();
    assert!(first.starts_with("redirect loop: "), "{first}");
}

#[test]
fn issue_12_a_probe_setup_step_with_a_full_url_elsewhere_is_refused_at_validate() {
    let other = Counter::start(portal);
    let project = Project::new("http://127.0.0.1:9", "http://127.0.0.2:9");
    project.write(
        "scenarios/dichvucong/bao-mat-co-ban.toml",
        &format!(
            "version = 1\nkind = \"security\"\ntags = [\"production-safe\"]\n[[probes]]\nname = \"p\"\nseverity = \"low\"\npath = \"/x\"\nmatchers = [{{ kind = \"body-contains\", text = \"y\" }}]\n[[probes.setup]]\npath = \"{}/lay-khoa\"\n",
            other.url
        ),
    );
    let out = run(stagegate(project.root()).arg("validate"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains(&format!("error: request to `{}` leaves the origin of environment `production` (stage `trial-production`), which does not list it: the environment's credentials would go there\n  --> scenarios/dichvucong/bao-mat-co-ban.toml:10:8", other.url)),
        "{t}"
    );
    assert_eq!(other.seen().len(), 0);
}

#[test]
fn issue_12_an_origin_the_environment_lists_is_allowed_without_its_key() {
    let other = Counter::start(portal);
    let home = Counter::start(portal);
    let project = project_with_suite(
        &home.url,
        "http://127.0.0.1:9",
        &format!(
            "[[transactions]]\nname = \"t\"\n[[transactions.steps]]\nmethod = \"GET\"\npath = \"{}/dang-nhap\"\n",
            other.url
        ),
    );
    with_test_key(&project);
    let out = run(stagegate(project.root()).arg("validate"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let path = project.path("environments/test.toml");
    let env = std::fs::read_to_string(&path).expect("env");
    std::fs::write(
        &path,
        env.replace(
            "[version-endpoint]",
            &format!(
                "[[other-origins]]\nurl = \"{}\"\n\n[version-endpoint]",
                other.url
            ),
        ),
    )
    .expect("write");
    let out = run_stage(&project, "trial-test");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let seen = other.seen();
    assert!(!seen.is_empty());
    assert!(
        seen.iter().all(|s| !s.headers.contains_key("x-api-key")),
        "{seen:?}"
    );
}
