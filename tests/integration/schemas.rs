//! Issue 15: JSON Schemas. `stagegate schema FORMAT` is generated from the parser's
//! types; the committed `schemas/` must equal it; and every stagegate TOML file in the
//! repository (examples, scenarios, environments, init templates, a fresh `init`)
//! validates against the committed schemas with an independent validator (Python's
//! tomllib + jsonschema, `scripts/validate-toml-schemas`), while a broken file does not.

use super::support::{run, stagegate, stagegate_bin, text};
use std::path::Path;
use std::process::Command;

const FORMATS: [&str; 5] = ["environment", "rollout", "load", "security", "people"];

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn issue_15_committed_schemas_are_the_generated_ones() {
    for format in FORMATS {
        let out = run(Command::new(stagegate_bin()).args(["schema", format]));
        assert!(out.status.success(), "{}", text(&out));
        let committed =
            std::fs::read_to_string(repo().join(format!("schemas/{format}.schema.json")))
                .expect("committed schema");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            committed,
            "schemas/{format}.schema.json is stale (hint: stagegate schema -o schemas)"
        );
        let schema: serde_json::Value = serde_json::from_str(&committed).expect("JSON");
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
    }
}

fn validator(roots: &[&Path]) -> std::process::Output {
    let out = Command::new("python3")
        .arg(repo().join("scripts/validate-toml-schemas"))
        .args(roots)
        .output()
        .expect("python3 runs");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("No module named"),
        "python3 lacks jsonschema (hint: scripts/test installs python3-jsonschema)"
    );
    out
}

#[test]
fn issue_15_every_toml_file_validates_against_its_schema_independently() {
    let out = validator(&[]);
    assert!(out.status.success(), "{}", text(&out));
    let listing = String::from_utf8_lossy(&out.stdout).to_string();
    for format in FORMATS {
        if format != "people" {
            assert!(
                listing.contains(&format!("ok {format}")),
                "no {format} file checked: {listing}"
            );
        }
    }
    // A fresh init (with people.toml) validates too.
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(run(stagegate(dir.path()).args(["init", "van-ban"]))
        .status
        .success());
    let out = validator(&[dir.path()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("ok people"),
        "{}",
        text(&out)
    );
    // And a mistake is caught by the schema as by `validate`.
    let rollout = dir.path().join("scenarios/van-ban/rollout.toml");
    let t = std::fs::read_to_string(&rollout).expect("read");
    std::fs::write(
        &rollout,
        t.replace("environment = \"test\"", "enviroment = \"test\""),
    )
    .expect("write");
    let out = validator(&[dir.path()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("enviroment"), "{}", text(&out));
    let out = run(stagegate(dir.path()).arg("validate"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    // The same mistake as `validate --output json` (shape `stagegate.validate/v1`).
    let out = run(stagegate(dir.path()).args(["validate", "--output", "json"]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["schema"], "stagegate.validate/v1");
    assert_eq!(v["ok"], false);
    let error = &v["errors"][0];
    assert!(
        error["message"]
            .as_str()
            .unwrap_or("")
            .contains("enviroment"),
        "{v}"
    );
    assert!(error["line"].as_u64().unwrap_or(0) > 1, "{v}");
}

/// `check-jsonschema` on PATH, or where scripts/test installs it.
fn check_jsonschema() -> std::path::PathBuf {
    let local = repo().join("target/tools/bin/check-jsonschema");
    if local.is_file() {
        return local;
    }
    "check-jsonschema".into()
}

#[test]
fn issue_15_ci_examples_validate_against_the_vendor_schemas() {
    for (file, schema) in [
        ("docs/ci/gitlab-ci.yml", "vendor.gitlab-ci"),
        ("docs/ci/github-workflow.yml", "vendor.github-workflows"),
    ] {
        let out = Command::new(check_jsonschema())
            .args(["--builtin-schema", schema])
            .arg(repo().join(file))
            .output()
            .expect("check-jsonschema runs (hint: scripts/test installs it from PyPI)");
        assert!(out.status.success(), "{file}: {}", text(&out));
        let example = std::fs::read_to_string(repo().join(file)).expect("read");
        assert!(example.contains("stagegate run"), "{file}");
        assert!(
            example.contains("junit") && example.contains("sarif"),
            "{file}"
        );
    }
}

#[test]
fn issue_15_file_format_reference_lists_every_key_of_the_committed_schemas() {
    let out = Command::new("python3")
        .arg(repo().join("scripts/gen-file-format-reference"))
        .current_dir(repo())
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "{}", text(&out));
    let committed = std::fs::read_to_string(repo().join("docs/file-format.md")).expect("read");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim_end(),
        committed.trim_end(),
        "docs/file-format.md is stale (hint: scripts/gen-file-format-reference > docs/file-format.md)"
    );
    for key in [
        "base-url",
        "think-time",
        "out-of-scope",
        "approvers",
        "secret-env",
        "roles",
    ] {
        assert!(committed.contains(&format!("`{key}`")), "{key} missing");
    }
}
