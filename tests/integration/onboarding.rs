//! Issue 15: a new user's first steps. `init` in an empty folder gives a project that
//! validates and whose trial-test passes against the sample system; `--help` of every
//! command is pinned; shell completions and man pages come from the same command tree;
//! `sample-system --routes` lists what the sample serves; read-only commands never make
//! a ledger.

use super::support::{run, stagegate, stagegate_bin, text, Sample};
use std::process::Command;

#[test]
fn issue_15_init_validate_and_trial_test_in_an_empty_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let out = run(stagegate(root).args(["init", "van-ban"]));
    assert!(out.status.success(), "{}", text(&out));
    for file in [
        "environments/test.toml",
        "environments/production.toml",
        "scenarios/van-ban/rollout.toml",
        "scenarios/van-ban/smoke.toml",
        "scenarios/van-ban/security-baseline.toml",
        "scenarios/van-ban/data/search-terms.csv",
        "people.toml",
        ".stagegate/keys/qa.tester",
        ".gitignore",
    ] {
        assert!(root.join(file).is_file(), "{file} missing: {}", text(&out));
    }
    let out = run(stagegate(root).arg("validate"));
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("1 system(s), 2 suite(s) valid"),
        "{}",
        text(&out)
    );

    // The scaffold points at the documented sample address; the test moves it to an
    // ephemeral port so tests can run side by side.
    let sample = Sample::start(&[]);
    let env = root.join("environments/test.toml");
    let toml = std::fs::read_to_string(&env).expect("read");
    std::fs::write(&env, toml.replace("http://127.0.0.1:18080", &sample.url)).expect("write");
    let key = root.join(".stagegate/keys/qa.tester");
    let out = run(stagegate(root)
        .args([
            "run",
            "van-ban",
            "--release",
            "1.0.0",
            "--stage",
            "trial-test",
            "--key",
        ])
        .arg(&key));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(root.join(".stagegate/ledger.db").is_file());

    // A second system reuses the environments and people; the same name is refused.
    let out = run(stagegate(root).args(["init", "ho-tich"]));
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("people.toml"), "{}", text(&out));
    let out = run(stagegate(root).args(["init", "van-ban"]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("already exists"), "{}", text(&out));
    let out = run(stagegate(root).arg("validate"));
    assert!(
        text(&out).contains("2 system(s), 4 suite(s) valid"),
        "{}",
        text(&out)
    );
}

#[test]
fn issue_15_init_refuses_a_name_that_is_not_a_folder_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(stagegate(dir.path()).args(["init", "../Van Ban"]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(std::fs::read_dir(dir.path()).expect("dir").next().is_none());
}

/// Every command path of the CLI (`["ledger", "verify"]`, ...), from `--help` itself.
fn command_paths() -> Vec<Vec<String>> {
    fn subcommands(path: &[String]) -> Vec<String> {
        let out = run(Command::new(stagegate_bin()).args(path).arg("--help"));
        let help = String::from_utf8_lossy(&out.stdout).to_string();
        let Some(start) = help.find("Commands:\n") else {
            return Vec::new();
        };
        help[start + "Commands:\n".len()..]
            .lines()
            .take_while(|l| l.starts_with("  "))
            .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
            .filter_map(|l| l.split_whitespace().next())
            .filter(|name| *name != "help")
            .map(str::to_string)
            .collect()
    }
    let mut paths = vec![Vec::new()];
    let mut i = 0;
    while i < paths.len() {
        let path = paths[i].clone();
        for sub in subcommands(&path) {
            let mut child = path.clone();
            child.push(sub);
            paths.push(child);
        }
        i += 1;
    }
    paths
}

#[test]
fn issue_15_help_of_every_command_is_pinned() {
    let paths = command_paths();
    assert!(paths.len() > 20, "{paths:?}");
    for path in paths {
        let out = run(Command::new(stagegate_bin())
            .args(&path)
            .arg("--help")
            .env_clear()
            .env("COLUMNS", "100"));
        assert!(out.status.success(), "{path:?}");
        let name = if path.is_empty() {
            "help".to_string()
        } else {
            format!("help-{}", path.join("-"))
        };
        insta::assert_snapshot!(name, String::from_utf8_lossy(&out.stdout));
    }
}

#[test]
fn issue_15_completions_and_man_pages_cover_every_command() {
    let out = run(Command::new(stagegate_bin()).args(["completions", "bash"]));
    assert!(out.status.success());
    let script = String::from_utf8_lossy(&out.stdout);
    for word in ["init", "validate", "evidence", "sample-system", "--release"] {
        assert!(script.contains(word), "bash completion lacks {word}");
    }
    let out = run(Command::new(stagegate_bin()).args(["completions", "zsh"]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("#compdef stagegate"));
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(Command::new(stagegate_bin())
        .args(["man", "-o"])
        .arg(dir.path()));
    assert!(out.status.success(), "{}", text(&out));
    for page in [
        "stagegate.1",
        "stagegate-run.1",
        "stagegate-init.1",
        "stagegate-ledger-verify.1",
    ] {
        let roff = std::fs::read_to_string(dir.path().join(page)).expect(page);
        assert!(roff.contains(".TH"), "{page} is not roff");
    }
}

#[test]
fn issue_15_sample_routes_are_listed_and_served() {
    let out = run(Command::new(stagegate_bin()).args(["sample-system", "--routes"]));
    assert!(out.status.success());
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(listing.contains("/api/ho-so/{ma}"), "{listing}");
    assert!(listing.contains("open-redirect"), "{listing}");
    // Every fixed GET route listed answers something other than 404.
    let sample = Sample::start(&[]);
    for line in listing
        .lines()
        .filter(|l| l.trim_start().starts_with("GET "))
    {
        let path = line.split_whitespace().nth(1).expect("path");
        if path.contains('{') || path.contains('*') || path.starts_with("/.") {
            continue;
        }
        let out = run(Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
            .arg(format!("{}{path}", sample.url)));
        let code = String::from_utf8_lossy(&out.stdout).to_string();
        assert_ne!(code, "404", "{path} is listed but not served");
    }
}

#[test]
fn issue_15_read_only_commands_never_make_a_ledger() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("no-such-dir");
    for args in [
        vec!["status"],
        vec!["history", "x", "--release", "1.0.0"],
        vec!["ledger", "verify"],
        vec!["report", "x", "--release", "1.0.0"],
    ] {
        let out = run(stagegate(&root).args(&args));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(
            text(&out).contains("no ledger at") && text(&out).contains("no-such-dir"),
            "{args:?}: {}",
            text(&out)
        );
        assert!(!root.exists(), "{args:?} created {}", root.display());
    }
}
