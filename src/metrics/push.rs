//! Takes the final metrics of a run as text, gives them to a Prometheus Pushgateway
//! (`PUT`-less push: `POST /metrics/job/stagegate/<label>/<value>…`) with the async
//! reqwest client. The prometheus crate's own push uses a blocking client that must not
//! run inside the async runtime, so it is not used.

use super::MetricsError;
use std::time::Duration;
use url::Url;

/// A Pushgateway that does not answer in this time is reported; the run's verdict is
/// already recorded, so nothing waits longer on it.
const PUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// The push URL for a grouping key: `<base>/metrics/job/stagegate/<name>/<value>…`,
/// each value percent-encoded as one path segment.
pub fn push_url(base: &Url, grouping: &[(String, String)]) -> Result<Url, MetricsError> {
    let mut url = base.clone();
    {
        let mut segments = url.path_segments_mut().map_err(|_| MetricsError::Push {
            url: base.to_string(),
            reason: "not a base URL".into(),
        })?;
        segments
            .pop_if_empty()
            .extend(["metrics", "job", "stagegate"]);
        for (name, value) in grouping {
            // The Pushgateway refuses an empty label value in a path; `base64` encoding
            // would be needed for it, and run labels are never empty.
            segments.push(name).push(value);
        }
    }
    Ok(url)
}

/// POSTs `text` (the Prometheus text format) to the Pushgateway.
pub async fn push(
    base: &Url,
    grouping: &[(String, String)],
    text: String,
) -> Result<(), MetricsError> {
    let url = push_url(base, grouping)?;
    let fail = |reason: String| MetricsError::Push {
        url: url.to_string(),
        reason,
    };
    let client = reqwest::Client::builder()
        .timeout(PUSH_TIMEOUT)
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let response = client
        .post(url.clone())
        .header("content-type", "text/plain; version=0.0.4")
        .body(text)
        .send()
        .await
        .map_err(|e| {
            fail(if e.is_connect() {
                "connection refused".into()
            } else {
                e.to_string()
            })
        })?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        return Err(fail(format!("HTTP {}: {}", status.as_u16(), body.trim())));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping_key_becomes_path_segments() {
        let base = Url::parse("http://127.0.0.1:9091/").unwrap();
        let url = push_url(
            &base,
            &[
                ("system".into(), "dichvucong".into()),
                ("release".into(), "1.0.0 rc/1".into()),
            ],
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9091/metrics/job/stagegate/system/dichvucong/release/1.0.0%20rc%2F1"
        );
    }
}
