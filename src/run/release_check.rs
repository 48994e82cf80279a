//! Takes the plan's environment and target, gives the release it serves (read from its
//! `[version-endpoint]`), or why it could not be read.

use crate::http_model::origin;
use crate::plan::Plan;
use crate::vocabulary::Target;
use std::time::Duration;

/// How long the release check waits for the version endpoint: as long as a slow
/// portal's health page may take, short enough that a dead one fails the stage quickly.
const VERSION_TIMEOUT: Duration = Duration::from_secs(10);

/// What the environment said about its release.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum ReleaseSeen {
    /// The environment has no version endpoint.
    NotChecked,
    /// It serves this release.
    Serves(String),
    /// It could not be read; why.
    Unreadable(String),
}

/// Asks the environment which release it serves.
pub(super) async fn check(plan: &Plan, target: &Target) -> ReleaseSeen {
    let Some(endpoint) = &plan.environment.version_endpoint else {
        return ReleaseSeen::NotChecked;
    };
    match read_version(target, &endpoint.path, &endpoint.json_pointer).await {
        Ok(seen) => ReleaseSeen::Serves(seen),
        Err(why) => ReleaseSeen::Unreadable(why),
    }
}

async fn read_version(target: &Target, path: &str, pointer: &str) -> Result<String, String> {
    // The same fence as every other request: the environment's origin only, its own
    // credentials there, redirects within the origin (a cross-origin one is reported,
    // not followed: a custom header such as `X-Api-Key` would go along with it).
    let url = target
        .resolve_url(path)
        .map_err(|e| format!("not sent: {e}"))?;
    let client = reqwest::Client::builder()
        .redirect(origin::redirect_policy())
        .connect_timeout(origin::CONNECT_TIMEOUT)
        .timeout(VERSION_TIMEOUT)
        .build()
        .map_err(|e| e.to_string())?;
    let mut request = client.get(url.clone());
    for (name, value) in target.credentials_for(&url) {
        request = request.header(name, value);
    }
    let mut response = match request.send().await {
        Ok(r) => r,
        Err(e) => return Err(failed(&e, &url).await),
    };
    let status = response.status();
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok());
    if let Some(text) = origin::unfollowed_redirect(status.as_u16(), response.url(), location) {
        return Err(text);
    }
    if !status.is_success() {
        return Err(format!("HTTP {} from {url}", status.as_u16()));
    }
    // A version document is a few bytes: read no more than the environment's body
    // limit, and name a larger answer for what it is.
    let limit = target.body_limit();
    let mut kept: Vec<u8> = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) if kept.len() + chunk.len() > limit => {
                return Err(format!(
                    "body too large: {url} answered more than {limit} bytes, not a version document"
                ));
            }
            Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(e) => return Err(failed(&e, &url).await),
        }
    }
    let body: serde_json::Value =
        serde_json::from_slice(&kept).map_err(|_| format!("{url} did not answer JSON"))?;
    match body.pointer(pointer) {
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        Some(other) => Ok(other.to_string()),
        None => Err(format!("{url} has no `{pointer}`")),
    }
}

/// A failed request named for what it is (TLS with the certificate's names, DNS,
/// refused, reset, timeout, redirect loop), never "connection refused" for all of them.
async fn failed(e: &reqwest::Error, url: &url::Url) -> String {
    format!(
        "{} at {url}",
        crate::http_model::certificate::describe_with_names(e, url).await
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    /// A loopback server giving `answer` to every request, recording each request's
    /// first line and its `x-api-key` header.
    fn server(answer: String) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut writer = stream.try_clone().unwrap();
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                let mut key = String::new();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                        break;
                    }
                    if let Some(v) = h.to_ascii_lowercase().strip_prefix("x-api-key:") {
                        key = v.trim().to_string();
                    }
                }
                log.lock()
                    .unwrap()
                    .push(format!("{} key={key}", line.trim()));
                let _ = writer.write_all(answer.as_bytes());
            }
        });
        (url, seen)
    }

    fn target(url: &str) -> Target {
        Target::without_secrets(url).with_secret_header("X-Api-Key", "khoa-phien-ban")
    }

    #[tokio::test]
    async fn a_cross_origin_redirect_of_the_version_endpoint_is_not_followed_with_the_key() {
        let (other, other_seen) =
            server("HTTP/1.1 200 OK\r\ncontent-length: 19\r\n\r\n{\"version\":\"1.0.0\"}".into());
        let (home, home_seen) = server(format!(
            "HTTP/1.1 302 Found\r\nlocation: {other}/api/phien-ban\r\ncontent-length: 0\r\n\r\n"
        ));
        let why = read_version(&target(&home), "/api/phien-ban", "/version")
            .await
            .unwrap_err();
        assert!(
            why.starts_with("cross-origin redirect (HTTP 302) from `http://127.0.0.1:"),
            "{why}"
        );
        assert_eq!(
            home_seen.lock().unwrap().as_slice(),
            ["GET /api/phien-ban HTTP/1.1 key=khoa-phien-ban"]
        );
        assert!(
            other_seen.lock().unwrap().is_empty(),
            "the other origin was asked"
        );
        // The same server answered directly is read.
        assert_eq!(
            read_version(&target(&other), "/api/phien-ban", "/version").await,
            Ok("1.0.0".to_string())
        );
    }

    #[tokio::test]
    async fn failures_are_named_and_a_huge_answer_is_not_read_whole() {
        let big = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{}",
            3 << 20,
            "x".repeat(3 << 20)
        );
        let (url, _) = server(big);
        let why = read_version(&target(&url), "/v", "/version")
            .await
            .unwrap_err();
        assert_eq!(
            why,
            format!(
                "body too large: {url}/v answered more than 1048576 bytes, not a version document"
            )
        );
        let why = read_version(&target("http://127.0.0.1:9"), "/v", "/version")
            .await
            .unwrap_err();
        assert!(why.starts_with("connection refused: "), "{why}");
        let why = read_version(&target(&url), "//other.example/v", "/version")
            .await
            .unwrap_err();
        assert!(why.starts_with("not sent: "), "{why}");
    }
}
