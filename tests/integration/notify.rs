//! Issue 15: notifications. A trial-test run and its approval are told to a generic
//! webhook (signed with HMAC-SHA256, checked here with openssl, and retried after a 503)
//! and to a Slack-compatible target, both loopback servers in the test.

use super::support::{run, stagegate, text, Sample};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

/// One request as received: headers (lowercased names) and body.
struct Received {
    headers: Vec<(String, String)>,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A loopback HTTP server answering `503` to the first `fail_first` requests, then 200;
/// every request it read goes to the receiver.
fn receiver(fail_first: usize) -> (String, Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!(
        "http://{}/hook/secret-path",
        listener.local_addr().expect("addr")
    );
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for (i, stream) in listener.incoming().enumerate().take(50) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut headers = Vec::new();
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((n, v)) = line.trim_end().split_once(':') {
                    headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
                }
            }
            let length: usize = headers
                .iter()
                .find(|(n, _)| n == "content-length")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let status = if i < fail_first {
                "503 Service Unavailable"
            } else {
                "200 OK"
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            if i >= fail_first {
                let _ = tx.send(Received {
                    headers,
                    body: String::from_utf8_lossy(&body).into_owned(),
                });
            }
        }
    });
    (url, rx)
}

fn hmac_hex(secret: &str, body: &str) -> String {
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-hmac", secret, "-r"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("openssl runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(body.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("openssl output");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .expect("digest")
        .to_string()
}

#[test]
fn issue_15_webhook_and_slack_notifications_with_hmac() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let out = run(stagegate(root).args(["init", "van-ban"]));
    assert!(out.status.success(), "{}", text(&out));
    let sample = Sample::start(&[]);
    let env = root.join("environments/test.toml");
    let toml = std::fs::read_to_string(&env).expect("read");
    std::fs::write(&env, toml.replace("http://127.0.0.1:18080", &sample.url)).expect("write");

    let (hook_url, hooks) = receiver(1);
    let (slack_url, slack) = receiver(0);
    let rollout = root.join("scenarios/van-ban/rollout.toml");
    let mut text_of_rollout = std::fs::read_to_string(&rollout).expect("read");
    text_of_rollout.push_str(&format!(
        "\n[[notify]]\nkind = \"webhook\"\nurl = \"{hook_url}\"\nsecret-env = \"HOOK_SECRET\"\n\n[[notify]]\nkind = \"slack\"\nurl-env = \"SLACK_URL\"\non = [\"gate-failed\", \"promoted\"]\n"
    ));
    std::fs::write(&rollout, text_of_rollout).expect("write");
    let out = run(stagegate(root).arg("validate"));
    assert!(out.status.success(), "{}", text(&out));

    let secret = "s3cr3t-for-hmac";
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
        .arg(root.join(".stagegate/keys/qa.tester"))
        .env("HOOK_SECRET", secret)
        .env("SLACK_URL", &slack_url));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        !text(&out).contains(secret),
        "the secret leaked: {}",
        text(&out)
    );

    let mut events = Vec::new();
    for _ in 0..2 {
        let got = hooks
            .recv_timeout(Duration::from_secs(20))
            .expect("a webhook arrives");
        let signature = got.header("x-stagegate-signature").expect("signed");
        assert_eq!(signature, format!("sha256={}", hmac_hex(secret, &got.body)));
        let body: serde_json::Value = serde_json::from_str(&got.body).expect("JSON body");
        assert_eq!(body["schema"], "stagegate.notification/1");
        assert_eq!(body["system"], "van-ban");
        assert_eq!(body["stage"], "trial-test");
        assert_eq!(got.header("x-stagegate-event"), body["event"].as_str());
        events.push(body["event"].as_str().expect("event").to_string());
    }
    events.sort();
    assert_eq!(events, ["approval-waiting", "gate-passed"]);
    // Slack wants gate-failed and promoted only: nothing yet.
    assert!(slack.recv_timeout(Duration::from_millis(300)).is_err());

    let out = run(stagegate(root)
        .args([
            "approve",
            "van-ban",
            "--release",
            "1.0.0",
            "--stage",
            "trial-test",
            "--note",
            "ok",
            "--key",
        ])
        .arg(root.join(".stagegate/keys/rm.manager"))
        .env("HOOK_SECRET", secret)
        .env("SLACK_URL", &slack_url));
    assert!(out.status.success(), "{}", text(&out));
    let got = slack
        .recv_timeout(Duration::from_secs(20))
        .expect("slack message");
    let body: serde_json::Value = serde_json::from_str(&got.body).expect("JSON");
    let line = body["text"].as_str().expect("text");
    assert!(
        line.contains("van-ban 1.0.0 stage `trial-test`") && line.contains("promoted"),
        "{line}"
    );
    assert!(got.header("x-stagegate-signature").is_none());
    let got = hooks
        .recv_timeout(Duration::from_secs(20))
        .expect("promoted webhook");
    assert!(got.body.contains("\"event\":\"promoted\""), "{}", got.body);
}

#[test]
fn issue_15_an_unreachable_target_never_changes_the_verdict() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    assert!(run(stagegate(root).args(["init", "van-ban"]))
        .status
        .success());
    let sample = Sample::start(&[]);
    let env = root.join("environments/test.toml");
    let toml = std::fs::read_to_string(&env).expect("read");
    std::fs::write(&env, toml.replace("http://127.0.0.1:18080", &sample.url)).expect("write");
    // A port nobody listens on: bound, then closed.
    let closed = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let rollout = root.join("scenarios/van-ban/rollout.toml");
    let mut t = std::fs::read_to_string(&rollout).expect("read");
    t.push_str(&format!(
        "\n[[notify]]\nkind = \"webhook\"\nurl = \"http://{closed}/x\"\n"
    ));
    std::fs::write(&rollout, t).expect("write");
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
        .arg(root.join(".stagegate/keys/qa.tester")));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("notification not delivered"),
        "{}",
        text(&out)
    );
}
