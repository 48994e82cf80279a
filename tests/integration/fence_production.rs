//! The production fence (issue 12), through the binary: on production only safe methods
//! run unless a suite says why it writes, tiers must match their stages, and ad-hoc
//! `load` and `scan` refuse a production origin without `--production`; nothing is
//! sent when refused (counted at the server).

use crate::counting_server::{portal, Counter};
use crate::fence::run_stage;
use crate::support::{run, stagegate, text, Project, SYSTEM};

fn delete_suite_on_production(project: &Project, tags: &str) {
    project.write(
        "scenarios/dichvucong/xoa.toml",
        &format!("version = 1\nkind = \"load\"\n{tags}[[transactions]]\nname = \"xoa\"\n[[transactions.steps]]\nname = \"xoa-ho-so\"\nmethod = \"DELETE\"\npath = \"/api/ho-so/1\"\n"),
    );
    project.edit(
        "scenarios/dichvucong/rollout.toml",
        "environment = \"production\"\nsuites = [\"giam-sat-tong-hop\", \"bao-mat-co-ban\"]",
        "environment = \"production\"\nsuites = [\"xoa\"]",
    );
}

#[test]
fn issue_12_an_untagged_delete_suite_is_refused_on_production_before_any_traffic() {
    let production = Counter::start(portal);
    let project = Project::new("http://127.0.0.1:9", &production.url);
    delete_suite_on_production(&project, "");
    let out = run(stagegate(project.root()).args([
        "plan",
        SYSTEM,
        "--release",
        "1.0.0",
        "--stage",
        "trial-production",
    ]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("step `xoa/xoa-ho-so` of suite `xoa` sends DELETE, and environment `production` is production: only GET, HEAD and OPTIONS run there"), "{}", text(&out));
    let out = run_stage(&project, "trial-production");
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(production.unsafe_requests(), 0);
}

#[test]
fn issue_12_a_production_write_needs_a_reason_and_the_plan_shows_it() {
    let project = Project::new("http://127.0.0.1:9", "http://127.0.0.2:9");
    delete_suite_on_production(&project, "tags = [\"production-write\"]\n");
    let out = run(stagegate(project.root()).arg("validate"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("error: a `production-write` suite needs a written reason\n --> scenarios/dichvucong/xoa.toml:3:9"), "{}", text(&out));
    project.edit(
        "scenarios/dichvucong/xoa.toml",
        "tags = [\"production-write\"]\n",
        "tags = [\"production-write\"]\nproduction-write-reason = \"dọn hồ sơ thử nghiệm TEST-1 sau mỗi đợt\"\n",
    );
    let out = run(stagegate(project.root()).args([
        "plan",
        SYSTEM,
        "--release",
        "1.0.0",
        "--stage",
        "trial-production",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("production write  suite `xoa` may change production: dọn hồ sơ thử nghiệm TEST-1 sau mỗi đợt"), "{}", text(&out));
}

#[test]
fn issue_12_a_test_tier_environment_at_the_production_origin_is_refused() {
    let production = Counter::start(portal);
    let project = Project::new("http://127.0.0.1:9", &production.url);
    project.write(
        "environments/gia-san-xuat.toml",
        &format!(
            "version = 1\ntier = \"test\"\nbase-url = \"{}\"\n",
            production.url
        ),
    );
    let out = run(stagegate(project.root()).arg("validate"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains(&format!("error: environment `gia-san-xuat` is tier `test` at `{}`, the origin of production environment `production`\n --> environments/gia-san-xuat.toml:3:12", production.url)), "{}", text(&out));
    assert_eq!(production.seen().len(), 0);
}

#[test]
fn issue_12_production_stages_must_name_a_production_environment() {
    let test = Counter::start(portal);
    let project = Project::new(&test.url, "http://127.0.0.2:9");
    project.edit(
        "scenarios/dichvucong/rollout.toml",
        "environment = \"production\"\nsuites = [\"giam-sat-tong-hop\", \"bao-mat-co-ban\"]",
        "environment = \"test\"\nsuites = [\"giam-sat-tong-hop\", \"bao-mat-co-ban\"]",
    );
    let out = run(stagegate(project.root()).arg("validate"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("error: stage `trial-production` must run on a production-tier environment; `test` is test tier\n  --> scenarios/dichvucong/rollout.toml:38:15"), "{}", text(&out));
    let out = run_stage(&project, "trial-production");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(test.seen().len(), 0);
}

#[test]
fn issue_12_adhoc_load_and_scan_refuse_a_production_origin_without_the_flag() {
    let production = Counter::start(portal);
    let project = Project::new("http://127.0.0.1:9", &production.url);
    let url = format!("{}/api/thu-tuc", production.url);
    let out =
        run(stagegate(project.root()).args(["load", &url, "--users", "2", "--duration", "1s"]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains(&format!("error: `{url}` is production environment `production` of the project in `{}`; `stagegate load` refuses it without `--production` (nothing was sent)", project.root().display())), "{}", text(&out));
    let out = run(stagegate(project.root()).args(["scan", &production.url]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("`stagegate scan` refuses it without `--production`"),
        "{}",
        text(&out)
    );
    let out = run(stagegate(project.root()).args([
        "load",
        &url,
        "--users",
        "50",
        "--duration",
        "1s",
        "--production",
    ]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("error: production environment `production` refuses this load; nothing was sent: 50 users exceed `max-users = 10`"), "{}", text(&out));
    let out = run(stagegate(project.root()).args([
        "load",
        &url,
        "-m",
        "DELETE",
        "--users",
        "1",
        "--duration",
        "1s",
        "--production",
    ]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(production.seen().len(), 0);
    let out = run(stagegate(project.root()).args([
        "load",
        &url,
        "--users",
        "2",
        "--duration",
        "1s",
        "--production",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!production.seen().is_empty());
    assert_eq!(production.unsafe_requests(), 0);
}

#[test]
fn issue_12_a_secret_pasted_into_token_env_is_never_printed() {
    let project = Project::new("http://127.0.0.1:9", "http://127.0.0.2:9");
    project.edit(
        "environments/production.toml",
        "token-env = \"DVC_PROD_API_KEY\"",
        "token-env = \"sk-live-9f8e7d6c5b4a\"",
    );
    let out = run(stagegate(project.root()).arg("validate"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(!text(&out).contains("9f8e7d6c5b4a"), "{}", text(&out));
    assert!(text(&out).contains("error: `token-env` names an environment variable; it never holds the secret itself\n  --> environments/production.toml:14:13"), "{}", text(&out));
}
