//! Takes the plan's environment and target, gives the release it serves (read from its
//! `[version-endpoint]`), or why it could not be read.

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
    let url = target.url(path);
    let client = reqwest::Client::builder()
        .timeout(VERSION_TIMEOUT)
        .build()
        .map_err(|e| e.to_string())?;
    let mut request = client.get(&url);
    for (name, value) in &target.headers {
        request = request.header(name, value);
    }
    let response = request.send().await.map_err(|e| {
        if e.is_connect() {
            format!("connection refused at {url}")
        } else if e.is_timeout() {
            format!("timed out after {VERSION_TIMEOUT:?} at {url}")
        } else {
            e.to_string()
        }
    })?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("HTTP {} from {url}", status.as_u16()));
    }
    let body: serde_json::Value = response
        .json()
        .await
        .map_err(|_| format!("{url} did not answer JSON"))?;
    match body.pointer(pointer) {
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        Some(other) => Ok(other.to_string()),
        None => Err(format!("{url} has no `{pointer}`")),
    }
}
