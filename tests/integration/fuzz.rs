//! Property tests over every file parser and the template engine (issue 12): sample
//! files mutated at random (hostile tokens spliced in, bytes cut and repeated) and
//! arbitrary text are fed to the environment, suite (load and security), rollout,
//! people, settings (`stagegate.toml`) and CSV parsers, the duration and threshold
//! parsers, the origin fence and the template engine. None may panic, and every diagnostic must render. `FUZZ_CASES` sets the
//! cases per property (default 256, proptest's own, in the test suite; `scripts/reliability` runs many more and reports
//! the figure in RELIABILITY.md).

use proptest::prelude::*;
use stagegate::config::diagnostic::{Diagnostics, SourceFile};
use stagegate::config::rollout::KnownNames;
use stagegate::config::{environment, feeder, ledger_setting, project_file, rollout, suite, units};
use stagegate::http_model::origin;
use stagegate::identity::people_file;
use stagegate::template::Template;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("FUZZ_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(256),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

const TOKENS: &[&str] = &[
    "{{",
    "}}",
    "{{x}}",
    "{{object}}",
    "//",
    "/\\",
    "\n",
    "\"",
    "'",
    "[",
    "]",
    "[[",
    "]]",
    "=",
    "4000000000",
    "18446744073709551615",
    "-1",
    "0",
    "1e308",
    "nan",
    "inf",
    "-inf",
    "\u{0}",
    "Đăng ký",
    "\t",
    "#",
    "\\u0000",
    "http://evil.example",
    "https://",
    "[[transactions]]",
    "[[transactions.steps]]",
    "[[probes]]",
    "[[probes.setup]]",
    "production-write",
    "ms",
    "s",
    "d",
    "%",
    "/s",
    "<",
    "==",
    ">=",
    ",",
    "\r\n",
    "\u{202e}",
    "\u{feff}",
    "{",
    "}",
    "...",
];

/// A roster as `stagegate init` writes one: the start of the people-file mutations.
const PEOPLE: &str = r#"version = 1

[[person]]
id = "qa.nguyen"
name = "Nguyễn Văn An"
roles = ["qa"]
keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGyWc7jAEvCUGaOrg+9qlI1L7WXVW7QTWZqsTI8gW6t/ qa.nguyen"]

[[person]]
id = "rm.tran-thi-binh"
name = "Trần Thị Bình"
roles = ["release-manager", "ops"]
keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGyWc7jAEvCUGaOrg+9qlI1L7WXVW7QTWZqsTI8gW6t/ rm"]
"#;

/// A `stagegate.toml` naming a team ledger: the start of the settings mutations.
const SETTINGS: &str =
    "[ledger]\nlocation = \"postgres://qa@db.example:5432/stagegate?sslmode=require\"\n";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sample(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).expect("sample file")
}

/// One edit of a text: splice a token in, cut a range, or repeat a range.
#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, usize),
    Cut(usize, usize),
    Repeat(usize, usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec(
        prop_oneof![
            (any::<usize>(), 0..TOKENS.len()).prop_map(|(at, t)| Edit::Insert(at, t)),
            (any::<usize>(), 1usize..40).prop_map(|(at, n)| Edit::Cut(at, n)),
            (any::<usize>(), 1usize..40).prop_map(|(at, n)| Edit::Repeat(at, n)),
        ],
        1..6,
    )
}

/// Applies the edits to the text's bytes; the result may not be UTF-8 any more.
fn mutate(text: &str, edits: &[Edit]) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    for edit in edits {
        let len = bytes.len().max(1);
        match *edit {
            Edit::Insert(at, t) => {
                let at = at % (bytes.len() + 1);
                bytes.splice(at..at, TOKENS[t].bytes());
            }
            Edit::Cut(at, n) => {
                let at = at % len;
                let end = (at + n).min(bytes.len());
                bytes.drain(at.min(end)..end);
            }
            Edit::Repeat(at, n) => {
                let at = at % len;
                let end = (at + n).min(bytes.len());
                let piece: Vec<u8> = bytes[at.min(end)..end].to_vec();
                bytes.splice(end..end, piece);
            }
        }
    }
    bytes
}

/// The text as the loader would see it: UTF-8 checked (a located error otherwise).
fn as_file(path: &str, bytes: Vec<u8>) -> Option<SourceFile> {
    match project_file::utf8(bytes) {
        Ok(text) => Some(SourceFile {
            path: PathBuf::from(path),
            text,
        }),
        Err(e) => {
            assert!(e.to_string().starts_with("invalid UTF-8 at line "));
            None
        }
    }
}

fn rendered(diagnostics: &Diagnostics) {
    // Rendering quotes the line and draws carets: it must hold for any span.
    let _ = diagnostics.to_string();
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn environment_files_never_panic(e in edits()) {
        for name in ["environments/production.toml", "environments/test.toml", "environments/test-container.toml"] {
            if let Some(file) = as_file(name, mutate(&sample(name), &e)) {
                let mut d = Diagnostics::default();
                let _ = environment::parse(&file, "x", &mut d);
                rendered(&d);
            }
        }
    }

    #[test]
    fn suite_files_never_panic(e in edits()) {
        let dir = repo().join("scenarios/dichvucong");
        for name in ["tra-cuu-va-nop-ho-so", "giam-sat-tong-hop", "bao-mat-co-ban", "bao-mat-xam-nhap"] {
            let rel = format!("scenarios/dichvucong/{name}.toml");
            if let Some(file) = as_file(&rel, mutate(&sample(&rel), &e)) {
                let mut d = Diagnostics::default();
                let _ = suite::parse(&file, name, &dir, &repo(), &mut d);
                rendered(&d);
            }
        }
    }

    #[test]
    fn rollout_files_never_panic(e in edits()) {
        let rel = "scenarios/dichvucong/rollout.toml";
        if let Some(file) = as_file(rel, mutate(&sample(rel), &e)) {
            let environments: BTreeSet<String> = ["test", "production"].map(String::from).into();
            let suites: BTreeSet<String> = ["tra-cuu-va-nop-ho-so", "giam-sat-tong-hop", "bao-mat-co-ban", "bao-mat-xam-nhap"].map(String::from).into();
            let production: BTreeSet<String> = ["production".to_string()].into();
            let test: BTreeSet<String> = ["test".to_string()].into();
            let known = KnownNames { environments: &environments, suites: &suites, production: &production, test: &test, roles: None, with_prometheus: &production };
            let mut d = Diagnostics::default();
            let _ = rollout::parse(&file, "dichvucong", &known, &mut d);
            rendered(&d);
        }
    }

    #[test]
    fn feeder_csv_never_panics(e in edits()) {
        let rel = "scenarios/dichvucong/data/cong_dan_thu_nghiem.csv";
        if let Ok(text) = project_file::utf8(mutate(&sample(rel), &e)) {
            let _ = feeder::parse_csv(&text);
        }
    }

    #[test]
    fn people_and_settings_files_never_panic(e in edits()) {
        if let Some(file) = as_file("people.toml", mutate(PEOPLE, &e)) {
            let mut d = Diagnostics::default();
            let _ = people_file::parse(&file, &mut d);
            rendered(&d);
        }
        if let Some(file) = as_file("stagegate.toml", mutate(SETTINGS, &e)) {
            let _ = ledger_setting::parse(&file, &repo());
        }
    }

    #[test]
    fn templates_parse_and_render_any_text(text in "\\PC{0,80}", value in "\\PC{0,20}") {
        if let Ok(t) = Template::parse(&text) {
            let rendered = t.render(|_| Some(value.as_str()));
            // Literal text comes back unchanged; a template prints back as written.
            if t.is_literal() {
                prop_assert_eq!(rendered, text.clone());
            }
            prop_assert_eq!(Template::parse(&t.to_string()).map(|x| x.to_string()), Ok(t.to_string()));
        }
    }

    #[test]
    fn units_and_the_origin_fence_take_any_text(text in "\\PC{0,40}") {
        let _ = units::parse_duration(&text);
        for unit in [units::Unit::Milliseconds, units::Unit::Ratio, units::Unit::PerSecond, units::Unit::Count, units::Unit::Number] {
            let _ = units::Threshold::parse(&text, unit);
        }
        let fence = origin::Fence::new("http://127.0.0.1:8080", Vec::new()).expect("fence");
        if let Ok(url) = fence.resolve(&text) {
            // Whatever the text, a resolved URL is on the home origin.
            prop_assert_eq!(origin::Origin::of(&url), Some(fence.home().clone()));
        }
        let _ = origin::classify(&text);
    }

    #[test]
    fn rendered_paths_never_leave_the_origin(prefix in "/[a-z]{0,5}", value in "[/\\\\a-z.:@?#%\\t]{0,30}") {
        let fence = origin::Fence::new("http://127.0.0.1:8080/base", Vec::new()).expect("fence");
        let t = Template::parse(&format!("{prefix}{{{{v}}}}")).expect("template");
        let path = t.render(|_| Some(value.as_str()));
        if let Ok(url) = fence.resolve(&path) {
            prop_assert_eq!(url.host_str(), Some("127.0.0.1"));
            prop_assert_eq!(url.port(), Some(8080));
            prop_assert_eq!(url.scheme(), "http");
        }
    }
}

#[test]
fn the_fuzz_corpus_is_the_shipped_sample() {
    // The mutations start from real files: if they vanished the properties would
    // test nothing.
    assert!(Path::new(&repo().join("scenarios/dichvucong/rollout.toml")).is_file());
}
