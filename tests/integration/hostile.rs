//! The hostile-file corpus (issue 12): every file under `tests/hostile/` is dropped into
//! a fresh sample project where its `.expect` file says (`place:`), and `stagegate
//! validate` must end within five seconds with exit 2 and exactly the errors listed —
//! `path:line:column: message`, in order. No case may crash, hang or pass.

use crate::support::{run, stagegate, text, Project};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn cases() -> Vec<(String, PathBuf, PathBuf)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile");
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("tests/hostile") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "expect") {
            let stem = path
                .file_stem()
                .expect("stem")
                .to_string_lossy()
                .into_owned();
            let file = std::fs::read_dir(&dir)
                .expect("dir")
                .flatten()
                .map(|e| e.path())
                .find(|p| {
                    p.file_stem().is_some_and(|s| s.to_string_lossy() == stem)
                        && p.extension().is_some_and(|e| e != "expect")
                })
                .unwrap_or_else(|| panic!("no hostile file for {stem}"));
            cases.push((stem, file, path));
        }
    }
    cases.sort();
    cases
}

/// `path:line:column: message` for every error of a `validate` output.
fn errors(output: &str) -> Vec<String> {
    let lines: Vec<&str> = output.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some(message) = line.strip_prefix("error: ") {
            let at = lines
                .get(i + 1)
                .and_then(|l| l.trim_start().strip_prefix("--> "))
                .unwrap_or("?");
            found.push(format!("{at}: {message}"));
        }
    }
    found
}

#[test]
fn issue_12_every_hostile_file_gets_its_exact_located_error() {
    let cases = cases();
    assert!(cases.len() >= 50, "only {} hostile files", cases.len());
    // Each case is a process of its own: four at a time keep the test short on a busy
    // machine (a case is judged on its own time, not on the others').
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((name, file, expect)) = cases.get(i) else {
                    return;
                };
                if let Some(failure) = try_case(name, file, expect) {
                    failures.lock().expect("lock").push(failure);
                }
            });
        }
    });
    let mut failures = failures.into_inner().expect("lock");
    failures.sort();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs one hostile case; gives what went wrong, if anything.
fn try_case(name: &str, file: &Path, expect: &Path) -> Option<String> {
    let expected = std::fs::read_to_string(expect).expect("expect file");
    let mut lines = expected.lines();
    let place = lines
        .next()
        .and_then(|l| l.strip_prefix("place: "))
        .unwrap_or_else(|| panic!("{name}: first line is not `place: PATH`"));
    let wanted: Vec<String> = lines.map(str::to_string).collect();
    let project = Project::new("http://127.0.0.1:9", "http://127.0.0.2:9");
    std::fs::copy(file, project.path(place)).expect("place the hostile file");
    let started = Instant::now();
    let out = run(stagegate(project.root()).arg("validate"));
    let took = started.elapsed();
    let all = text(&out);
    let got = errors(&all);
    (out.status.code() != Some(2) || got != wanted || took > Duration::from_secs(5)).then(|| {
        format!(
            "{name}: exit {:?} after {took:?}\n  wanted {wanted:#?}\n  got    {got:#?}",
            out.status.code()
        )
    })
}
