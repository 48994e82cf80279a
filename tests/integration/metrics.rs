//! Prometheus metrics, PromQL gates and dashboards against a real Prometheus (issue 5).
//! Prometheus (Debian package `prometheus`) runs on an ephemeral loopback port with a
//! 1 s scrape interval and its storage in a temporary folder; it is killed on drop.

use crate::support::{quick_traffic, run, stage_cmd_in, stagegate, text, Project, Sample};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A loopback port for a server named before it starts (see `reserved_port`).
pub(crate) fn free_port() -> u16 {
    crate::support::reserved_port()
}

/// A plain HTTP/1.0 GET (the connection closes after the answer: no chunking).
pub(crate) fn http_get(addr: &str, path_and_query: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "GET {path_and_query} HTTP/1.0\r\nHost: {addr}\r\n\r\n"
    )
    .ok()?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw).ok()?;
    let status = raw.split(' ').nth(1)?.parse().ok()?;
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}

/// A scrape target: job name, `host:port`, static labels.
type ScrapeTarget<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

/// A Prometheus server scraping the given targets every second.
pub(crate) struct Prometheus {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// `targets`: (job, `host:port`, extra static labels).
    pub(crate) fn start(targets: &[ScrapeTarget<'_>]) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let mut config = String::from("global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1s\nscrape_configs:\n");
        for (job, target, labels) in targets {
            config.push_str(&format!(
                "  - job_name: {job}\n    static_configs:\n      - targets: ['{target}']\n"
            ));
            if !labels.is_empty() {
                config.push_str("        labels:\n");
                for (k, v) in labels.iter() {
                    config.push_str(&format!("          {k}: '{v}'\n"));
                }
            }
        }
        std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
        let addr = format!("127.0.0.1:{}", free_port());
        let child = Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus starts (Debian package `prometheus`; scripts/test installs it)");
        let prometheus = Prometheus {
            child,
            addr,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if matches!(http_get(&prometheus.addr, "/-/ready"), Some((200, _))) {
                return prometheus;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("prometheus at {} was not ready within 30s", prometheus.addr);
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits until every target of `job` has been scraped successfully.
    pub(crate) fn wait_for_up(&self, job: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(v) = self.instant(&format!("up{{job=\"{job}\"}} == 1")) {
                if !v.is_empty() {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("prometheus never scraped job `{job}`");
    }

    pub(crate) fn api(&self, path: &str, params: &[(&str, &str)]) -> Value {
        let mut url = url::Url::parse(&format!("http://{}{path}", self.addr)).unwrap();
        url.query_pairs_mut().extend_pairs(params);
        let (status, body) = http_get(
            &self.addr,
            &format!("{}?{}", url.path(), url.query().unwrap_or("")),
        )
        .expect("prometheus answers");
        let json: Value =
            serde_json::from_str(&body).unwrap_or_else(|_| panic!("HTTP {status}: {body}"));
        assert_eq!(json["status"], "success", "{params:?}: {body}");
        json
    }

    pub(crate) fn instant(&self, query: &str) -> Option<Vec<Value>> {
        let mut url = url::Url::parse(&format!("http://{}/api/v1/query", self.addr)).unwrap();
        url.query_pairs_mut().append_pair("query", query);
        let (_, body) = http_get(
            &self.addr,
            &format!("{}?{}", url.path(), url.query().unwrap_or("")),
        )?;
        let json: Value = serde_json::from_str(&body).ok()?;
        json["data"]["result"].as_array().cloned()
    }

    /// A range query over the last `minutes`, as a Grafana panel asks it.
    pub(crate) fn range(&self, query: &str, minutes: i64) -> Vec<Value> {
        let end = chrono::Utc::now().timestamp();
        let start = (end - minutes * 60).to_string();
        let json = self.api(
            "/api/v1/query_range",
            &[
                ("query", query),
                ("start", &start),
                ("end", &end.to_string()),
                ("step", "1"),
            ],
        );
        json["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn host_port(url: &str) -> &str {
    url.trim_start_matches("http://")
}

/// A project whose trial-test gate has extra criteria and whose test environment has
/// a Prometheus URL.
fn project_with(sample_url: &str, prometheus_url: &str, extra: &str) -> Project {
    let project = Project::new(sample_url, "http://127.0.0.1:9");
    quick_traffic(&project, "trial-test", 4, "3s");
    project.edit(
        "environments/test.toml",
        "tier = \"test\"\n",
        &format!("tier = \"test\"\nprometheus-url = \"{prometheus_url}\"\n"),
    );
    project.edit("scenarios/dichvucong/rollout.toml", "  { metric = \"security-critical\", pass = \"== 0\" },\n]\napproval = { approvers = 1, roles = [\"release-manager\"] }\n\n# 2.", &format!("  {{ metric = \"security-critical\", pass = \"== 0\" }},\n{extra}]\napproval = {{ approvers = 1 }}\n\n# 2."));
    project
}

/// Runs trial-test of 1.0.0 and returns (exit code, verdict results, output).
fn run_trial(project: &Project, extra_args: &[&str]) -> (i32, Vec<Value>, String) {
    let out = run(
        stage_cmd_in(project.root(), "1.0.0", "trial-test", "qa.test")
            .args(["--output", "json"])
            .args(extra_args),
    );
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let json: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("no JSON verdict: {}", text(&out)));
    let results = json["verdict"]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    (out.status.code().unwrap_or(-1), results, text(&out))
}

fn result<'a>(results: &'a [Value], metric: &str) -> &'a Value {
    results
        .iter()
        .find(|r| r["metric"] == metric)
        .unwrap_or_else(|| panic!("no result for {metric} in {results:?}"))
}

/// Server-side p95 of the sample's API routes over the run's own window, seen by the
/// environment's Prometheus.
const SERVER_P95: &str = r#"  { metric = "promql", name = "server-p95", query = "histogram_quantile(0.95, sum by (le) (rate(sample_http_request_duration_seconds_bucket{system=\"$system\", route=~\"/api/.*\", route!=\"/api/phien-ban\"}[$__range])))", pass = "< 0.25" },
"#;

#[test]
fn promql_gate_passes_on_a_healthy_system_and_fails_on_a_slowed_one() {
    let healthy = Sample::start(&[]);
    let slowed = Sample::start(&["--latency-ms", "300"]);
    let prometheus = Prometheus::start(&[
        (
            "healthy",
            host_port(&healthy.url),
            &[("system", "dichvucong")],
        ),
        (
            "slowed",
            host_port(&slowed.url),
            &[("system", "dichvucong-slowed")],
        ),
    ]);
    prometheus.wait_for_up("healthy");

    let good = project_with(&healthy.url, &prometheus.url(), SERVER_P95);
    let (code, results, out) = run_trial(&good, &[]);
    let p95 = result(&results, "promql:server-p95");
    assert_eq!(p95["status"], "pass", "{out}");
    let value = p95["value"].as_f64().unwrap();
    assert!(value > 0.0 && value < 0.25, "server p95 {value}");
    assert_eq!(code, 0, "{out}");

    // The slowed system is told apart by its `system` label: the query's `$system` is
    // substituted, so the slowed project's gate reads only the slowed server.
    let bad = project_with(
        &slowed.url,
        &prometheus.url(),
        &SERVER_P95.replace("$system", "$system-slowed"),
    );
    let (code, results, out) = run_trial(&bad, &[]);
    let p95 = result(&results, "promql:server-p95");
    assert_eq!(p95["status"], "fail", "{out}");
    assert!(p95["value"].as_f64().unwrap() >= 0.25, "{p95}");
    assert!(
        p95["reason"].as_str().unwrap().contains("must be < 0.2500"),
        "{p95}"
    );
    // The load generator's own latency criterion only warns at 300 ms: the server-side
    // criterion is what stops this release.
    assert_eq!(result(&results, "latency-p95")["status"], "warn", "{out}");
    assert_eq!(code, 1, "{out}");
}

#[test]
fn promql_failures_each_have_their_own_reason() {
    let sample = Sample::start(&[]);
    let prometheus = Prometheus::start(&[(
        "sample",
        host_port(&sample.url),
        &[("system", "dichvucong")],
    )]);
    prometheus.wait_for_up("sample");
    let extra = r#"  { metric = "promql", name = "empty", query = "sum(no_such_metric_total{system=\"$system\"})", pass = "< 1" },
  { metric = "promql", name = "nan", query = "vector(0) / 0", pass = "< 1" },
  { metric = "promql", name = "bad", query = "sum(rate(sample_http_requests_total[$__range]", pass = "< 1" },
  { metric = "promql", name = "few", query = "vector(0.1)", pass = "< 1", min-samples = 100000 },
  { metric = "promql", name = "many", query = "sample_http_requests_total", pass = ">= 0" },
  { metric = "promql", name = "fine", query = "sum(increase(sample_http_requests_total{system=\"$system\"}[$__range]))", pass = "> 10" },
"#;
    let project = project_with(&sample.url, &prometheus.url(), extra);
    let (code, results, out) = run_trial(&project, &[]);
    assert_eq!(code, 1, "{out}");
    let reason = |name: &str| {
        let r = result(&results, &format!("promql:{name}"));
        (
            r["status"].as_str().unwrap().to_string(),
            r["reason"].as_str().unwrap().to_string(),
        )
    };
    let expect = [
        ("empty", "no data: empty result"),
        ("nan", "no data: the query's value is NaN"),
        ("bad", "no data: prometheus error: HTTP 400 bad_data"),
        ("few", "insufficient data: "),
        ("many", "no data: the query returned "),
    ];
    for (name, start) in expect {
        let (status, why) = reason(name);
        assert_eq!(status, "fail", "{name}: {why}");
        assert!(
            why.starts_with(start),
            "{name}: `{why}` should start with `{start}`"
        );
    }
    let (status, why) = reason("fine");
    assert_eq!(status, "pass", "{why}");
}

#[test]
fn unreachable_prometheus_fails_the_gate_with_its_own_reason() {
    let sample = Sample::start(&[]);
    let closed = format!("http://127.0.0.1:{}", free_port());
    let project = project_with(&sample.url, &closed, SERVER_P95);
    let (code, results, out) = run_trial(&project, &[]);
    assert_eq!(code, 1, "{out}");
    let p95 = result(&results, "promql:server-p95");
    assert_eq!(p95["status"], "fail");
    assert!(
        p95["reason"]
            .as_str()
            .unwrap()
            .starts_with("no data: prometheus unreachable at"),
        "{p95}"
    );
    // Every other criterion had its data: the unreachable Prometheus alone failed it.
    assert!(
        results
            .iter()
            .filter(|r| r["metric"] != "promql:server-p95")
            .all(|r| r["status"] != "fail"),
        "{results:?}"
    );
}

/// A Prometheus Pushgateway (Debian package `prometheus-pushgateway`), killed on drop.
struct Pushgateway {
    child: Child,
    addr: String,
}

impl Pushgateway {
    fn start() -> Pushgateway {
        let addr = format!("127.0.0.1:{}", free_port());
        let child = Command::new("prometheus-pushgateway")
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the pushgateway starts (Debian package `prometheus-pushgateway`; scripts/test installs it)");
        let pushgateway = Pushgateway { child, addr };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if matches!(http_get(&pushgateway.addr, "/-/ready"), Some((200, _))) {
                return pushgateway;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "the pushgateway at {} was not ready within 20s",
            pushgateway.addr
        );
    }
}

impl Drop for Pushgateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn promtool_check(metrics: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs (Debian package `prometheus`)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(metrics.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.success(), text(&out))
}

#[test]
fn metrics_pass_promtool_and_reach_the_pushgateway() {
    let sample = Sample::start(&[]);
    let project = Project::new(&sample.url, "http://127.0.0.1:9");
    quick_traffic(&project, "trial-test", 4, "3s");
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let pushgateway = Pushgateway::start();
    let push_url = format!("http://{}", pushgateway.addr);
    let mut child = stage_cmd_in(project.root(), "1.0.0", "trial-test", "qa.test")
        .args([
            "--metrics-listen",
            &metrics_addr,
            "--metrics-linger",
            "30s",
            "--pushgateway",
            &push_url,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Poll /metrics (this test is the scraper) until the run has ended. The run lingers
    // until a scrape after its end, so the polling goes on after the final values are
    // seen: a scrape that saw them before the run began to linger would not count, and
    // the run would wait out its 30 s.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut live_users = false;
    let mut last = String::new();
    let mut seen_passed = false;
    while Instant::now() < deadline && child.try_wait().expect("try_wait").is_none() {
        if let Some((200, body)) = http_get(&metrics_addr, "/metrics") {
            live_users |= body
                .lines()
                .any(|l| l.starts_with("stagegate_virtual_users{") && !l.ends_with(" 0"));
            let finished = body.lines().any(|l| {
                l.starts_with("stagegate_run_state{")
                    && l.contains("state=\"passed\"")
                    && l.ends_with(" 1")
            });
            // Keep the last body that shows the end (the server may stop mid-scrape).
            if finished || !seen_passed {
                last = body;
            }
            seen_passed |= finished;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "run failed");
    assert!(live_users, "no active virtual users were ever shown");
    assert!(
        seen_passed,
        "the run's passed state was never scraped:\n{last}"
    );
    for name in [
        "stagegate_requests_total{",
        "stagegate_request_duration_seconds_bucket{",
        "stagegate_check_failures_total{",
        "stagegate_security_findings{",
        "stagegate_gate_criterion_value{",
        "stagegate_gate_criterion_status{",
    ] {
        assert!(last.contains(name), "{name} missing from\n{last}");
    }
    assert!(
        last.contains("outcome=\"ok\"") && last.contains("transaction=\"tra-cuu-thu-tuc\""),
        "{last}"
    );
    let (ok, report) = promtool_check(&last);
    assert!(ok && report.trim().is_empty(), "promtool: {report}");

    // The Pushgateway accepted the final metrics under the run's grouping key.
    let (code, pushed) = http_get(&pushgateway.addr, "/metrics").unwrap();
    assert_eq!(code, 200);
    let passed = pushed
        .lines()
        .find(|l| l.starts_with("stagegate_run_state{") && l.contains(r#"state="passed""#))
        .unwrap_or_else(|| panic!("no pushed run state in\n{pushed}"));
    for label in [
        r#"job="stagegate""#,
        r#"system="dichvucong""#,
        r#"release="1.0.0""#,
        r#"stage="trial-test""#,
        r#"environment="test""#,
    ] {
        assert!(passed.contains(label), "{label} missing from {passed}");
    }
    assert!(passed.ends_with(" 1"), "{passed}");
    assert!(
        pushed.contains("stagegate_gate_criterion_status{"),
        "{pushed}"
    );

    // The ledger exporter's text passes promtool too.
    let mut serve = stagegate(project.root())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(serve.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .trim_start_matches("serving ledger metrics on http://")
        .trim_end_matches("/metrics")
        .to_string();
    let (code, ledger_metrics) = http_get(&addr, "/metrics").unwrap();
    let _ = serve.kill();
    let _ = serve.wait();
    assert_eq!(code, 200);
    assert!(ledger_metrics.contains(r#"stagegate_stage_state{release="1.0.0",stage="trial-test",state="awaiting-approval",system="dichvucong"} 1"#), "{ledger_metrics}");
    assert!(ledger_metrics.contains(r#"stagegate_approvals_pending{release="1.0.0",stage="trial-test",system="dichvucong"} 1"#), "{ledger_metrics}");
    let (ok, report) = promtool_check(&ledger_metrics);
    assert!(ok && report.trim().is_empty(), "promtool: {report}");
}
