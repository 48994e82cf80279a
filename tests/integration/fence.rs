//! The production fence and hostile project files (issue 12), through the binary: one
//! test per bypass the review found, each counting at a test server that nothing
//! reached the other origin or production with an unsafe method, and pinning the exit
//! code and the message of the refusal.

use crate::support::{run, stagegate, stagegate_bin, text, Project};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SYSTEM: &str = "dichvucong";

/// One request a [`Counter`] saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: BTreeMap<String, String>,
}

/// A loopback HTTP server that records every request and answers with `answer`.
pub struct Counter {
    pub url: String,
    pub port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

type Answer = dyn Fn(&Seen) -> (u16, Vec<(String, String)>, String) + Send + Sync;

impl Counter {
    pub fn start(
        answer: impl Fn(&Seen) -> (u16, Vec<(String, String)>, String) + Send + Sync + 'static,
    ) -> Counter {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let answer: Arc<Answer> = Arc::new(answer);
        let recorded = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let recorded = recorded.clone();
                let answer = answer.clone();
                std::thread::spawn(move || serve(stream, &recorded, &*answer));
            }
        });
        Counter {
            url: format!("http://127.0.0.1:{port}"),
            port,
            seen,
        }
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }

    /// Requests whose method is not GET, HEAD or OPTIONS.
    pub fn unsafe_requests(&self) -> usize {
        self.seen()
            .iter()
            .filter(|s| !matches!(s.method.as_str(), "GET" | "HEAD" | "OPTIONS"))
            .count()
    }
}

fn serve(stream: TcpStream, seen: &Mutex<Vec<Seen>>, answer: &Answer) {
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let path = parts.next().unwrap_or_default().to_string();
        let mut headers = BTreeMap::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let length: usize = headers
            .get("content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if std::io::Read::read_exact(&mut reader, &mut body).is_err() {
            return;
        }
        let request = Seen {
            method,
            path,
            headers,
        };
        seen.lock().expect("lock").push(request.clone());
        let (status, extra, body) = answer(&request);
        let mut head = format!(
            "HTTP/1.1 {status} X\r\ncontent-length: {}\r\ncontent-type: application/json\r\n",
            body.len()
        );
        for (k, v) in extra {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(body.as_bytes()).is_err()
        {
            return;
        }
    }
}

/// Answers the version endpoint with 1.0.0 and everything else with `{}`.
fn portal(seen: &Seen) -> (u16, Vec<(String, String)>, String) {
    if seen.path == "/api/phien-ban" {
        (200, vec![], r#"{"version":"1.0.0"}"#.into())
    } else {
        (200, vec![], "{}".into())
    }
}

/// A project whose trial-test stage runs only the suite `fence` (`suite` is its body
/// after `version`/`kind`), on `test_url`, with a quick profile.
fn project_with_suite(test_url: &str, production_url: &str, suite: &str) -> Project {
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

fn run_stage(project: &Project, stage: &str) -> std::process::Output {
    run(stagegate(project.root())
        .args([
            "run",
            SYSTEM,
            "--release",
            "1.0.0",
            "--stage",
            stage,
            "--as",
            "qa.an",
            "--key",
            &crate::support::key(project, "qa.an"),
        ])
        .env("DVC_PROD_API_KEY", "khoa-bi-mat-san-xuat-123")
        .env("DVC_TEST_KEY", "khoa-thu-nghiem-456"))
}

fn summary(project: &Project, stage: &str) -> serde_json::Value {
    let path = project.path(&format!(
        ".stagegate/runs/dichvucong/1.0.0/{stage}/run-1/summary.json"
    ));
    serde_json::from_str(&std::fs::read_to_string(path).expect("summary")).expect("JSON")
}

/// Gives the test environment an API key, so a leak would be visible at the other host.
fn with_test_key(project: &Project) {
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

#[test]
fn issue_12_more_users_than_descriptors_is_refused_at_once_with_the_limit() {
    let started = Instant::now();
    let mut cmd = Command::new(stagegate_bin());
    cmd.args([
        "load",
        "http://127.0.0.1:9/x",
        "--users",
        "25000",
        "--duration",
        "10s",
    ]);
    // SAFETY: setrlimit in the child before exec, on a local struct.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 1024,
                rlim_max: 1024,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("error: 25000 virtual users need more file descriptors than this process may open (1024, of which 960 can be connections); nothing was sent"), "{}", text(&out));
    assert!(started.elapsed() < Duration::from_secs(5));
}

fn validate_within_5s(project: &Project) -> String {
    let started = Instant::now();
    let out = run(stagegate(project.root()).arg("validate"));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "validate took {:?}",
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    text(&out)
}

#[test]
fn issue_12_a_fifo_in_the_system_folder_ends_validate_at_once_with_its_name() {
    let project = Project::new("http://127.0.0.1:9", "http://127.0.0.2:9");
    let fifo = project.path("scenarios/dichvucong/data/ong.csv");
    let c = std::ffi::CString::new(fifo.to_str().expect("utf-8 path")).expect("path");
    // SAFETY: mkfifo with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let t = validate_within_5s(&project);
    assert!(t.contains("error: cannot read this file: it is a FIFO (named pipe), not a regular file\n --> scenarios/dichvucong/data/ong.csv:1:1"), "{t}");
}

#[test]
fn issue_12_a_feeder_symlinked_to_dev_zero_or_outside_the_project_is_refused() {
    let project = Project::new("http://127.0.0.1:9", "http://127.0.0.2:9");
    let data = project.path("scenarios/dichvucong/data");
    let feeder = std::fs::read_dir(&data)
        .expect("data")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "csv"))
        .expect("a csv feeder");
    std::fs::remove_file(&feeder).expect("rm");
    std::os::unix::fs::symlink("/dev/zero", &feeder).expect("symlink");
    let t = validate_within_5s(&project);
    assert!(t.contains("it is outside the project folder"), "{t}");
    let outside = tempfile::tempdir().expect("dir");
    std::fs::write(outside.path().join("x.csv"), "a\n1\n").expect("write");
    std::fs::remove_file(&feeder).expect("rm");
    std::os::unix::fs::symlink(outside.path().join("x.csv"), &feeder).expect("symlink");
    let t = validate_within_5s(&project);
    assert!(t.contains("it is outside the project folder"), "{t}");
}

#[test]
fn issue_12_huge_numbers_are_located_errors_not_aborts() {
    let project = Project::new("http://127.0.0.1:9", "http://127.0.0.2:9");
    project.write(
        "scenarios/dichvucong/so-lon.toml",
        "version = 1\nkind = \"load\"\nthink-time = \"18446744073709551615s\"\n[[transactions]]\nname = \"t\"\nweight = 4000000000\n[[transactions.steps]]\nmethod = \"GET\"\npath = \"/x\"\n",
    );
    project.edit(
        "scenarios/dichvucong/rollout.toml",
        "traffic = { users = 4, ramp-up = \"1s\", duration = \"4s\" }",
        "traffic = { users = 4000000000, ramp-up = \"1s\", duration = \"18446744073709551615s\", rate = 1e300 }",
    );
    let t = validate_within_5s(&project);
    for expected in [
        "error: weight 4000000000 is out of range\n --> scenarios/dichvucong/so-lon.toml:6:10",
        "error: bad duration `18446744073709551615s`: ",
        "--> scenarios/dichvucong/so-lon.toml:3:14",
        "error: 4000000000 users is out of range\n  --> scenarios/dichvucong/rollout.toml:11:21",
        "error: `rate` is out of range\n  --> scenarios/dichvucong/rollout.toml:11:92",
    ] {
        assert!(t.contains(expected), "missing {expected:?} in\n{t}");
    }
}

#[test]
fn issue_12_invalid_utf8_is_located_by_line_and_column() {
    let project = Project::new("http://127.0.0.1:9", "http://127.0.0.2:9");
    std::fs::write(
        project.path("scenarios/dichvucong/hong.toml"),
        b"version = 1\nkind = \"load\"\ndescription = \"Tra c\xff\xfeu\"\n",
    )
    .expect("write");
    let t = validate_within_5s(&project);
    assert!(
        t.contains("error: invalid UTF-8\n --> scenarios/dichvucong/hong.toml:3:21"),
        "{t}"
    );
}

/// The highest resident memory of a running process, in KiB (Linux `VmHWM`).
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[test]
fn issue_12_a_50_mb_body_is_read_to_its_end_in_flat_memory() {
    let body = Arc::new("x".repeat(50 << 20));
    let served = body.clone();
    let server = Counter::start(move |_| (200, vec![], served.as_str().to_string()));
    let mut child = Command::new(stagegate_bin())
        .args([
            "load",
            &format!("{}/lon", server.url),
            "--users",
            "5",
            "--duration",
            "3s",
            "--output",
            "json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("load starts");
    let pid = child.id();
    let mut peak = 0;
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        peak = peak.max(peak_rss_kib(pid).unwrap_or(0));
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the load did not end"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON summary");
    assert!(summary["requests"].as_u64().unwrap_or(0) >= 5, "{summary}");
    assert_eq!(summary["errors"], 0, "{summary}");
    // Five users each holding a 50 MB body would be 250 MB and more; read in chunks
    // and dropped, the process stays near its empty size.
    assert!(peak < 150 * 1024, "peak resident memory {peak} KiB");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_12_a_tls_failure_is_named_with_the_certificates_names() {
    let (cert, key) =
        crate::security::tls_fixture::server_cert("cong.dichvucong.gov.vn", None, false);
    let (port, _server) = crate::security::tls_fixture::serve(cert, key).await;
    let out = tokio::task::spawn_blocking(move || {
        run(Command::new(stagegate_bin()).args([
            "load",
            &format!("https://127.0.0.1:{port}/"),
            // Several users fail at once: whichever failure is recorded first must be
            // named with the certificate's names (one user reads them for all).
            "--users",
            "4",
            "--duration",
            "1s",
            "--output",
            "json",
        ]))
    })
    .await
    .expect("load ran");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let first = summary["first_error"].as_str().unwrap_or_default();
    assert!(first.starts_with("TLS failure: "), "{first}");
    assert!(!first.contains("connection refused"), "{first}");
    assert!(
        first.ends_with("(the certificate names `cong.dichvucong.gov.vn`)"),
        "{first}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_12_evidence_is_redacted_before_it_is_cut() {
    use stagegate::config::diagnostic::{Diagnostics, SourceFile};
    use stagegate::config::suite::{self, SuiteBody};
    let key = "khoa-bi-mat-san-xuat-0123456789";
    // The key straddles the 300-character evidence cut: cut first, then redacted, its
    // first ten characters would survive.
    let server = Counter::start(move |seen| {
        let echoed = seen.headers.get("x-api-key").cloned().unwrap_or_default();
        (
            200,
            vec![],
            format!("{}{echoed} loi-chi-tiet", "a".repeat(290)),
        )
    });
    let file = SourceFile {
        path: "bao-mat.toml".into(),
        text: "version = 1\nkind = \"security\"\n[[probes]]\nname = \"vong\"\nseverity = \"high\"\npath = \"/vong\"\nmatchers = [{ kind = \"body-contains\", text = \"loi-chi-tiet\" }]\n".into(),
    };
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut d = Diagnostics::default();
    let parsed = suite::parse(&file, "bao-mat", root, root, &mut d).expect("suite");
    let SuiteBody::Security(security) = parsed.body else {
        panic!("not a security suite")
    };
    let target =
        stagegate::plan::Target::without_secrets(&server.url).with_secret_header("X-Api-Key", key);
    let outcome = stagegate::security::run_suite(&security, &target).await;
    let json = serde_json::to_string(&outcome).expect("json");
    assert_eq!(outcome.findings.len(), 1, "{json}");
    assert!(outcome.findings[0].evidence.contains("***"), "{json}");
    assert!(!json.contains(&key[..10]), "{json}");
}
