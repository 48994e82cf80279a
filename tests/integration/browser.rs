//! Headless Chromium for the report tests: a page opened with no network, the requests
//! it tried to make, its screenshot, and its visible text.

use crate::support::text;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Chromium, headless, with every host name resolving to nothing: a page that tried
/// to load anything from the network would find no host.
pub(crate) fn chromium(args: &[&str], page: &Path) -> std::process::Output {
    let profile = tempfile::tempdir().expect("profile dir");
    // A page with no script renders in well under a second; the bound only keeps a
    // wedged browser from holding the test run.
    Command::new("timeout")
        .args(["60", "chromium"])
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--window-size=1280,2400",
            // The page has no script: nothing to wait for once it is laid out.
            "--virtual-time-budget=2000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs (hint: scripts/test installs the Debian package `chromium`)")
}

/// Asserts the page references nothing outside itself.
pub(crate) fn assert_self_contained(html: &str) {
    let lower = html.to_lowercase();
    for needle in [
        "src=", "href=", "<script", "<link", "@import", "url(", "<iframe", "<img",
    ] {
        assert!(
            !lower.contains(needle),
            "the page must load nothing: found `{needle}`"
        );
    }
    assert!(
        !lower.contains("=\"http") && !lower.contains("='http"),
        "no external address in an attribute"
    );
}

/// The addresses a page asked for while Chromium loaded it, from Chromium's own network
/// log. Chromium's background requests (updates, accounts) carry no origin; anything the
/// page asks for carries the page's origin (`null` for a file).
pub(crate) fn page_requests(page: &Path) -> Vec<String> {
    let log_dir = tempfile::tempdir().expect("log dir");
    let log = log_dir.path().join("netlog.json");
    let out = chromium(
        &["--dump-dom", &format!("--log-net-log={}", log.display())],
        page,
    );
    assert!(out.status.success(), "{}", text(&out));
    let netlog: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&log).expect("net log written"))
            .expect("net log is JSON");
    let start_job = netlog["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
        .as_i64()
        .expect("event type known");
    netlog["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["type"].as_i64() == Some(start_job))
        .filter(|e| e["params"]["url"].is_string() && e["params"]["initiator"] != "not an origin")
        .map(|e| e["params"]["url"].as_str().unwrap_or("").to_string())
        .collect()
}

pub(crate) fn screenshot_path(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir.join(name)
}

pub(crate) fn assert_png(path: &Path) {
    let mut head = [0u8; 8];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .expect("screenshot written");
    assert_eq!(
        &head,
        b"\x89PNG\r\n\x1a\n",
        "{} is not a PNG",
        path.display()
    );
    assert!(
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) > 20_000,
        "the screenshot is nearly empty"
    );
}

/// Visible text of a page: tags, the style sheet and the title removed.
pub(crate) fn visible_text(html: &str) -> String {
    let body = html.split("</style>").nth(1).unwrap_or(html);
    let mut out = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}
