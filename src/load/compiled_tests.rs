//! The request executor's own line against unsafe methods on production, tried on the
//! executor itself (one goose user, no attack) against a loopback server that records
//! the method of every request that reached it.

use super::compiled::CompiledSuite;
use super::connections::SharedPool;
use crate::config::suite::{LoadSuite, StepSpec, TransactionSpec};
use crate::http_model::{HttpMethod, RequestBody, RequestSpec};
use crate::measure::recorder::{ErrorKind, Recorder};
use crate::measure::Measurements;
use crate::template::Template;
use crate::vocabulary::Target;
use goose::config::GooseConfiguration;
use goose::prelude::GooseUser;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a test server saw, one entry a request.
type Seen = Arc<Mutex<Vec<String>>>;

/// A loopback server answering `200 body` to everything, recording each request's
/// method.
fn counting_server(body: String) -> (String, Seen) {
    let (url, methods, _) = recording_server(body);
    (url, methods)
}

/// The same, also recording each request's head (request line and headers, lower-case).
fn recording_server(body: String) -> (String, Seen, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let methods = Arc::new(Mutex::new(Vec::new()));
    let heads = Arc::new(Mutex::new(Vec::new()));
    let (seen, seen_heads) = (methods.clone(), heads.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let seen = seen.clone();
            let seen_heads = seen_heads.clone();
            let body = body.clone();
            std::thread::spawn(move || {
                let mut writer = stream.try_clone().expect("clone");
                let mut reader = BufReader::new(stream);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut length = 0;
                    let mut head = line.trim_end().to_string();
                    loop {
                        let mut header = String::new();
                        if reader.read_line(&mut header).unwrap_or(0) == 0 {
                            return;
                        }
                        if header.trim().is_empty() {
                            break;
                        }
                        head.push('\n');
                        head.push_str(&header.trim_end().to_lowercase());
                        if let Some((k, v)) = header.split_once(':') {
                            if k.eq_ignore_ascii_case("content-length") {
                                length = v.trim().parse().unwrap_or(0);
                            }
                        }
                    }
                    let mut sent = vec![0; length];
                    if reader.read_exact(&mut sent).is_err() {
                        return;
                    }
                    let method = line.split(' ').next().unwrap_or_default().to_string();
                    seen.lock().expect("lock").push(method);
                    seen_heads.lock().expect("lock").push(head);
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if writer.write_all(answer.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, methods, heads)
}

fn step(method: HttpMethod, path: &str) -> StepSpec {
    StepSpec {
        name: format!("{method} {path}"),
        request: RequestSpec {
            method,
            path: Template::literal(path),
            headers: Vec::new(),
            body: RequestBody::None,
        },
        checks: Vec::new(),
        extract: Vec::new(),
        latency_budget: None,
    }
}

/// Two transactions: look up, then delete, then look up again; and one submission.
fn suite() -> LoadSuite {
    LoadSuite {
        think_time: None,
        max_connections: None,
        feeders: Vec::new(),
        transactions: vec![
            TransactionSpec {
                name: "tra-cuu-roi-xoa".into(),
                weight: 1,
                steps: vec![
                    step(HttpMethod::Get, "/api/thu-tuc"),
                    step(HttpMethod::Delete, "/api/ho-so/1"),
                    step(HttpMethod::Get, "/api/ho-so/1"),
                ],
            },
            TransactionSpec {
                name: "nop".into(),
                weight: 1,
                steps: vec![step(HttpMethod::Post, "/api/ho-so")],
            },
        ],
    }
}

/// Runs each transaction once as one user; gives the methods the server saw, the
/// measurements and the suite (for its breach).
async fn run_once(
    target: &Target,
    production_write: Option<&str>,
    seen: &Mutex<Vec<String>>,
) -> (Vec<String>, Measurements, CompiledSuite) {
    run_suite_once(suite(), target, production_write, seen).await
}

async fn run_suite_once(
    suite: LoadSuite,
    target: &Target,
    production_write: Option<&str>,
    seen: &Mutex<Vec<String>>,
) -> (Vec<String>, Measurements, CompiledSuite) {
    let recorder = Arc::new(Recorder::new());
    let compiled = CompiledSuite::new(
        "fence",
        &suite,
        target,
        production_write,
        recorder.clone(),
        None,
        1024,
        SharedPool::new(8).expect("client"),
    );
    let base = url::Url::parse(&target.base).expect("url");
    let mut user = GooseUser::single(base, &GooseConfiguration::default()).expect("user");
    compiled.equip(&mut user).expect("equipped");
    for index in 0..compiled.transactions.len() {
        compiled
            .run_transaction(index, &mut user)
            .await
            .expect("transaction");
    }
    let mut m = Measurements::default();
    recorder.finish_into(&mut m, Duration::from_secs(1));
    let methods = std::mem::take(&mut *seen.lock().expect("lock"));
    (methods, m, compiled)
}

#[tokio::test]
async fn on_production_the_executor_never_sends_an_undeclared_unsafe_method() {
    let (url, seen) = counting_server("{}".into());
    let production = Target::without_secrets(&url).in_production("production");

    let (methods, m, compiled) = run_once(&production, None, &seen).await;
    // The first GET went; the DELETE was refused, which ends its transaction; the POST
    // was refused. The server saw no unsafe method.
    assert_eq!(methods, ["GET"]);
    assert_eq!((m.requests, m.errors), (3, 2));
    assert_eq!(m.errors_by_kind.get(&ErrorKind::NotSent), Some(&2));
    assert_eq!(
        m.first_error.as_deref(),
        Some("DELETE not sent: environment `production` is production and suite `fence` is not a declared production write; only GET, HEAD and OPTIONS run there")
    );
    let breach = compiled.fence_breach().expect("the refusal stops the load");
    assert_eq!(breach.criterion, "production fence");
    assert!(breach.value.starts_with("DELETE not sent"), "{breach:?}");

    // A declared production write sends what it declares, as does a test tier: the same
    // server sees every method, so the assertion above can fail.
    let (methods, m, compiled) = run_once(&production, Some("dọn hồ sơ TEST-1"), &seen).await;
    assert_eq!(methods, ["GET", "DELETE", "GET", "POST"]);
    assert_eq!((m.requests, m.errors), (4, 0));
    assert!(compiled.fence_breach().is_none());
    let test = Target::without_secrets(&url);
    let (methods, _, _) = run_once(&test, None, &seen).await;
    assert_eq!(methods, ["GET", "DELETE", "GET", "POST"]);
}

#[tokio::test]
async fn a_body_past_the_limit_is_cut_and_a_check_that_needed_the_rest_says_so() {
    // 3 KiB of filler, then the text the check looks for; 1 KiB is kept (`run_suite_once`).
    let (url, seen) = counting_server(format!("{}da-tiep-nhan", "x".repeat(3 << 10)));
    let mut looked = step(HttpMethod::Get, "/api/ho-so/1");
    looked.checks = vec![crate::config::matcher::Matcher::BodyContains {
        text: "da-tiep-nhan".into(),
    }];
    let suite = LoadSuite {
        think_time: None,
        max_connections: None,
        feeders: Vec::new(),
        transactions: vec![TransactionSpec {
            name: "doc".into(),
            weight: 1,
            steps: vec![looked],
        }],
    };
    let target = Target::without_secrets(&url);
    let (methods, m, _) = run_suite_once(suite, &target, None, &seen).await;
    assert_eq!(methods, ["GET"]);
    assert_eq!(m.errors_by_kind.get(&ErrorKind::Check), Some(&1));
    assert_eq!(
        m.failed_checks.keys().collect::<Vec<_>>(),
        ["fence/doc/GET /api/ho-so/1: body contains \"da-tiep-nhan\" (body cut at 1024 bytes)"]
    );
}

#[tokio::test]
async fn a_step_made_once_sends_what_a_rendered_one_sends() {
    // The same request twice: once with a literal path and header (made once, at
    // start-up), once with a path and header rendered from a feeder on every iteration.
    let (url, seen, heads) = recording_server("{}".into());
    let target = Target::without_secrets(&url).with_secret_header("X-Api-Key", "khoa-789");
    let mut literal = step(HttpMethod::Get, "/api/ho-so/1?ky=2");
    literal.request.headers = vec![("X-Ma-Ho-So".into(), Template::literal("1"))];
    let mut rendered = step(HttpMethod::Get, "/api/ho-so/1?ky=2");
    rendered.request.path = Template::parse("/api/ho-so/{{ho-so.ma}}?ky=2").expect("template");
    rendered.request.headers = vec![(
        "X-Ma-Ho-So".into(),
        Template::parse("{{ho-so.ma}}").expect("template"),
    )];
    let suite = LoadSuite {
        think_time: None,
        max_connections: None,
        feeders: vec![crate::config::suite::Feeder {
            name: "ho-so".into(),
            mode: crate::config::suite::FeederMode::RoundRobin,
            file: "ho-so.csv".into(),
            columns: vec!["ma".into()],
            rows: vec![vec!["1".into()]],
        }],
        transactions: vec![TransactionSpec {
            name: "doc".into(),
            weight: 1,
            steps: vec![literal, rendered],
        }],
    };
    let (methods, m, _) = run_suite_once(suite, &target, None, &seen).await;
    assert_eq!(methods, ["GET", "GET"]);
    assert_eq!((m.requests, m.errors), (2, 0));
    let heads = std::mem::take(&mut *heads.lock().expect("lock"));
    let wanted = |head: &String| {
        let lines: Vec<&str> = head.lines().collect();
        lines[0] == "GET /api/ho-so/1?ky=2 HTTP/1.1"
            && lines.contains(&"x-api-key: khoa-789")
            && lines.contains(&"x-ma-ho-so: 1")
    };
    assert_eq!(heads.len(), 2);
    assert!(heads.iter().all(wanted), "{heads:#?}");
}
