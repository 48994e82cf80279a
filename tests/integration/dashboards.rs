//! Every panel of the shipped Grafana dashboards returns data from a real Prometheus
//! after a scraped run (live metrics of `stagegate run`, the ledger's from
//! `stagegate serve`, the sample system's own).

use crate::metrics::{free_port, host_port, Prometheus};
use crate::support::{quick_traffic, run, stage_cmd_in, stagegate, text, Project, Sample};
use serde_json::Value;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// Every `expr` of every panel of a dashboard file.
fn panel_queries(path: &Path) -> Vec<(String, String)> {
    let json: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut out = Vec::new();
    let provisioned = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("dashboards/provisioning/datasources/prometheus.yaml"),
    )
    .unwrap();
    for panel in json["panels"].as_array().unwrap() {
        // Every panel reads the provisioned data source, by its uid.
        let uid = panel["datasource"]["uid"].as_str().unwrap();
        assert!(
            provisioned.contains(&format!("uid: {uid}\n")),
            "{}: data source `{uid}` is not provisioned",
            path.display()
        );
        for target in panel["targets"].as_array().unwrap() {
            out.push((
                panel["title"].as_str().unwrap().to_string(),
                target["expr"].as_str().unwrap().to_string(),
            ));
        }
    }
    out
}

#[test]
fn every_dashboard_query_returns_data_after_a_scraped_run() {
    let sample = Sample::start(&["--flaw", "server-version"]);
    let project = Project::new(&sample.url, "http://127.0.0.1:9");
    quick_traffic(&project, "trial-test", 4, "4s");
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    // `stagegate serve` on the same ledger, for the rollout board.
    std::fs::create_dir_all(project.path(".stagegate")).unwrap();
    let serve_addr = format!("127.0.0.1:{}", free_port());
    let mut serve = stagegate(project.root())
        .args(["serve", "--listen", &serve_addr])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let prometheus = Prometheus::start(&[
        ("stagegate-run", &metrics_addr, &[]),
        ("stagegate-ledger", &serve_addr, &[]),
        ("sample", host_port(&sample.url), &[]),
    ]);
    prometheus.wait_for_up("stagegate-ledger");

    let out = run(
        stage_cmd_in(project.root(), "1.0.0", "trial-test", "qa.test").args([
            "--metrics-listen",
            &metrics_addr,
            "--metrics-linger",
            "20s",
        ]),
    );
    // The planted flaw makes a finding, so the gate may pass or not; only the data matters.
    assert!(text(&out).contains("metrics: http://"), "{}", text(&out));
    assert!(
        !text(&out).contains("not scraped within"),
        "the final values were never scraped: {}",
        text(&out)
    );
    // Two more ledger scrapes, so the rollout board sees the finished run.
    std::thread::sleep(Duration::from_secs(3));

    let dashboards = Path::new(env!("CARGO_MANIFEST_DIR")).join("dashboards");
    let mut checked = 0;
    for name in [
        "rollout-board.json",
        "live-load.json",
        "security-findings.json",
    ] {
        for (title, expr) in panel_queries(&dashboards.join(name)) {
            let query = expr
                .replace("$system", "dichvucong")
                .replace("$release", "1.0.0")
                .replace("$stage", "trial-test")
                .replace("$__rate_interval", "1m")
                .replace("$__range", "5m");
            assert!(
                !query.contains('$'),
                "{name} / {title}: unsubstituted variable in `{query}`"
            );
            let result = prometheus.range(&query, 5);
            assert!(
                !result.is_empty(),
                "{name} / {title}: `{query}` returned nothing"
            );
            checked += 1;
        }
    }
    assert!(checked >= 12, "only {checked} panel queries");
    let _ = serve.kill();
    let _ = serve.wait();
}
