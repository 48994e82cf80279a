//! `k8s render --pod-monitor` (issue 16): the PodMonitor for clusters running the
//! Prometheus Operator. `kubernetes-validate` carries no CRD schemas, so the PodMonitor
//! is checked against the Operator's own CRD (vendored in tests/fixtures/
//! prometheus-operator/) with Python's `jsonschema`, strictly: a field the CRD does not
//! define is an error, as `kubectl apply --validate=strict` makes it.

use crate::support::{run, stagegate, text, Project};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// Checks each document of `docs` against the v1 schema of the CRD in `crd` (YAML);
/// gives the errors, one a line, each prefixed with the document's index.
fn crd_errors(crd: &Path, docs: &[Value]) -> String {
    let script = r#"
import json, sys, yaml, jsonschema
crd = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
schema = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")["schema"]["openAPIV3Schema"]
def strict(node):
    # A structural schema lists every field; the API server drops (or, strictly,
    # refuses) the others. Refuse them here, unless the schema keeps unknown fields.
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node \
                and not node.get("x-kubernetes-preserve-unknown-fields"):
            node["additionalProperties"] = False
        for value in node.values():
            strict(value)
    elif isinstance(node, list):
        for value in node:
            strict(value)
strict(schema)
jsonschema.Draft4Validator.check_schema(schema)
validator = jsonschema.Draft4Validator(schema)
for i, doc in enumerate(json.load(open(sys.argv[2], encoding="utf-8"))):
    for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.path))):
        print(f"{i}: " + "/".join(map(str, e.path)) + ": " + e.message)
"#;
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), Value::Array(docs.to_vec()).to_string()).expect("write");
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(crd)
        .arg(file.path())
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "validator failed (hint: scripts/test installs python3-jsonschema and python3-yaml): {}",
        text(&out)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn documents(yaml: &str) -> Vec<Value> {
    yaml.split("---\n")
        .filter(|d| !d.trim().is_empty())
        .map(|d| serde_json::from_str(d).expect("each document is JSON"))
        .collect()
}

#[test]
fn k8s_render_pod_monitor_selects_the_workers_metrics_port_and_the_operators_crd_accepts_it() {
    let project = Project::new("http://127.0.0.1:9", "http://127.0.0.1:8");
    let manifest = project.path("stage.yaml");
    let out = run(stagegate(project.root())
        .args([
            "k8s",
            "render",
            "dichvucong",
            "--release",
            "1.0.0",
            "--stage",
            "trial-production",
            "--shards",
            "2",
            "--namespace",
            "kiem-thu",
            "--pod-monitor",
            "--pod-monitor-label",
            "release=prometheus",
            "-o",
        ])
        .arg(&manifest));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let docs = documents(&std::fs::read_to_string(&manifest).expect("manifest"));
    let monitors: Vec<&Value> = docs.iter().filter(|d| d["kind"] == "PodMonitor").collect();
    assert_eq!(monitors.len(), 1, "{docs:?}");
    let monitor = monitors[0];
    assert_eq!(monitor["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(monitor["metadata"]["namespace"], "kiem-thu");
    assert_eq!(monitor["metadata"]["labels"]["release"], "prometheus");

    // It selects every worker pod, by labels the pods carry, and their metrics port by
    // the name the container gives it.
    let jobs: Vec<&Value> = docs.iter().filter(|d| d["kind"] == "Job").collect();
    assert!(!jobs.is_empty());
    let selector = monitor["spec"]["selector"]["matchLabels"]
        .as_object()
        .expect("matchLabels");
    assert!(!selector.is_empty());
    let endpoint = &monitor["spec"]["podMetricsEndpoints"][0];
    assert_eq!(endpoint["path"], "/metrics");
    for job in &jobs {
        let template = &job["spec"]["template"];
        for (name, value) in selector {
            assert_eq!(&template["metadata"]["labels"][name], value, "{name}");
        }
        let container = &template["spec"]["containers"][0];
        let port = container["ports"]
            .as_array()
            .expect("ports")
            .iter()
            .find(|p| p["name"] == endpoint["port"])
            .unwrap_or_else(|| panic!("no port named {}: {container}", endpoint["port"]));
        let args: Vec<&str> = container["args"]
            .as_array()
            .expect("args")
            .iter()
            .filter_map(|a| a.as_str())
            .collect();
        let listen = format!("0.0.0.0:{}", port["containerPort"]);
        assert!(
            args.windows(2)
                .any(|w| w == ["--metrics-listen", listen.as_str()]),
            "the worker serves its metrics on the selected port: {args:?}"
        );
        // One way to be found, not two: no worker is scraped twice.
        let annotations = &template["metadata"]["annotations"];
        assert!(
            annotations.get("prometheus.io/scrape").is_none(),
            "{annotations}"
        );
    }

    let crd = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/prometheus-operator/monitoring.coreos.com_podmonitors.yaml");
    let errors = crd_errors(&crd, std::slice::from_ref(monitor));
    assert!(errors.is_empty(), "PodMonitor CRD schema errors:\n{errors}");
    // The check does refuse: a port given by number where the CRD wants its name, and a
    // misspelt field.
    let mut by_number = monitor.clone();
    by_number["spec"]["podMetricsEndpoints"][0]["port"] = Value::from(9464);
    let mut misspelt = monitor.clone();
    misspelt["spec"]["podMetricEndpoints"] = misspelt["spec"]["podMetricsEndpoints"].clone();
    let errors = crd_errors(&crd, &[by_number, misspelt]);
    assert!(
        errors.contains("0: spec/podMetricsEndpoints/0/port: 9464 is not of type 'string'"),
        "{errors}"
    );
    assert!(
        errors.contains("1: spec: Additional properties"),
        "{errors}"
    );

    // The rest validates against the Kubernetes API schemas (the validator only warns
    // that it has no schema for the PodMonitor).
    let validate = Command::new("kubernetes-validate")
        .arg("--strict")
        .arg(&manifest)
        .output()
        .expect("kubernetes-validate is installed (scripts/test installs it from PyPI)");
    assert!(validate.status.success(), "{}", text(&validate));
}

#[test]
fn k8s_render_refuses_a_pod_monitor_label_that_is_not_one() {
    let project = Project::new("http://127.0.0.1:9", "http://127.0.0.1:8");
    let out = run(stagegate(project.root()).args([
        "k8s",
        "render",
        "dichvucong",
        "--release",
        "1.0.0",
        "--stage",
        "trial-production",
        "--shards",
        "2",
        "--pod-monitor",
        "--pod-monitor-label",
        "release prometheus",
    ]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("expected `NAME=VALUE`"),
        "{}",
        text(&out)
    );
}
