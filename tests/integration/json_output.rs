//! Issue 15: every command that prints JSON names its shape in `schema`, so a CI job
//! can tell which shape it reads before it reads it.

use crate::support::{quick_traffic, run, run_stage_cmd, stagegate, text, Project, Sample};
use std::path::Path;

/// Runs `stagegate --root ROOT ARGS`, checks its exit code, gives its standard output as
/// JSON.
fn json_of(root: &Path, args: &[&str], codes: &[i32]) -> serde_json::Value {
    let out = run(stagegate(root).args(args));
    let code = out.status.code().unwrap_or(-1);
    assert!(
        codes.contains(&code),
        "{args:?} exit {code}: {}",
        text(&out)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?} printed no JSON object ({e}): {}", text(&out)))
}

#[test]
fn issue_15_every_json_output_names_its_versioned_schema() {
    let sample = Sample::start(&[]);
    let project = Project::new(&sample.url, &sample.url);
    quick_traffic(&project, "trial-test", 2, "1s");
    let root = project.root();

    let mut ran = run_stage_cmd(&project, "1.0.0", "trial-test", "qa.nguyen");
    let out = run(ran.args(["--output", "json"]));
    let code = out.status.code().unwrap_or(-1);
    assert!([0, 1].contains(&code), "run: {}", text(&out));
    let run_json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("run JSON");

    let release = ["dichvucong", "--release", "1.0.0"];
    let with = |head: &[&'static str], tail: &[&'static str]| -> Vec<&'static str> {
        [head, tail, &["--output", "json"]].concat()
    };
    let cases = [
        (run_json, "stagegate.run/v1"),
        (
            json_of(root, &with(&["status"], &[]), &[0]),
            "stagegate.status/v1",
        ),
        (
            json_of(root, &with(&["plan"], &release), &[0]),
            "stagegate.plan/v1",
        ),
        (
            json_of(root, &with(&["checks"], &[]), &[0]),
            "stagegate.checks/v1",
        ),
        (
            json_of(root, &with(&["history"], &release), &[0]),
            "stagegate.history/v1",
        ),
        (
            json_of(root, &with(&["validate"], &[]), &[0]),
            "stagegate.validate/v1",
        ),
    ];
    for (json, schema) in &cases {
        assert_eq!(json["schema"], *schema, "{json:#}");
    }
    // Each shape keeps what it printed before the field was added.
    let [(run_json, _), (status, _), (plan, _), (checks, _), ..] = &cases;
    assert_eq!(run_json["run_id"], 1, "{run_json:#}");
    assert!(run_json["verdict"]["results"].is_array(), "{run_json:#}");
    assert_eq!(status["releases"][0]["release"], "1.0.0", "{status:#}");
    assert_eq!(
        status["releases"][0]["stages"].as_array().map(Vec::len),
        Some(4),
        "{status:#}"
    );
    assert_eq!(
        (plan["system"].as_str(), plan["release"].as_str()),
        (Some("dichvucong"), Some("1.0.0"))
    );
    assert_eq!(plan["stages"].as_array().map(Vec::len), Some(4), "{plan:#}");
    assert_eq!(plan["stages"][0]["stage"], "trial-test", "{plan:#}");
    assert!(
        checks["checks"].as_array().is_some_and(|c| c.len() >= 25)
            && checks["passive_request_bound"].as_u64().is_some(),
        "{checks:#}"
    );

    // `scan` needs no project; its SARIF form keeps SARIF's own `version` and `$schema`.
    let scan = json_of(root, &["scan", &sample.url, "--output", "json"], &[0, 1]);
    assert_eq!(scan["schema"], "stagegate.scan/v1", "{scan:#}");
    assert_eq!(scan["profile"], "passive", "{scan:#}");
    assert!(scan["checks"].as_array().is_some_and(|c| !c.is_empty()));
    let sarif = json_of(root, &["scan", &sample.url, "--output", "sarif"], &[0, 1]);
    assert_eq!(sarif["version"], "2.1.0", "{sarif:#}");
    assert!(sarif.get("schema").is_none(), "{sarif:#}");
}
