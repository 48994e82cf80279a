//! Takes one notification and one target, gives a delivered POST or why not: the body
//! for the target's kind, an HMAC-SHA256 signature when the target has a secret, and a
//! bounded number of attempts. Errors name the target by scheme and host only: a Slack
//! webhook address carries its own secret in the path.

use super::Notification;
use crate::config::notify_spec::{NotifyTarget, NotifyUrl};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

/// Attempts per notification: a chat server restarting or a brief network blip is
/// ridden out, a target that is down does not keep the command waiting long.
pub const ATTEMPTS: u32 = 3;
/// Time for one attempt (connect and answer).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Wait after the first failed attempt; doubled after each further one.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Header carrying `sha256=<hex of HMAC-SHA256(secret, body)>`, like GitHub's
/// `X-Hub-Signature-256`.
pub const SIGNATURE_HEADER: &str = "X-Stagegate-Signature";
/// Header naming the event, so a receiver can route without parsing the body.
pub const EVENT_HEADER: &str = "X-Stagegate-Event";

/// `sha256=<hex>` of the body under `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(body);
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        }
        Err(_) => String::new(),
    }
}

/// Sends with retries; `Err` says why the last attempt failed.
pub fn deliver(target: &NotifyTarget, notification: &Notification) -> Result<(), String> {
    let url = match &target.url {
        NotifyUrl::Literal(url) => url.clone(),
        NotifyUrl::Env(var) => std::env::var(var)
            .ok()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("`{var}` (the target's url-env) is not set"))?,
    };
    let shown = shown_as(&url);
    let body = notification.body(target.kind);
    let signature = match &target.secret_env {
        Some(var) => {
            let secret = std::env::var(var)
                .ok()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("{shown}: `{var}` (the target's secret-env) is not set"))?;
            Some(signature(secret.as_bytes(), body.as_bytes()))
        }
        None => None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("{shown}: cannot start a runtime: {e}"))?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(ATTEMPT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("stagegate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("{shown}: {e}"))?;
        let mut backoff = FIRST_BACKOFF;
        let mut last = String::new();
        for attempt in 1..=ATTEMPTS {
            let mut request = client
                .post(&url)
                .header("Content-Type", "application/json")
                .header(EVENT_HEADER, notification.event.name())
                .body(body.clone());
            if let Some(sig) = &signature {
                request = request.header(SIGNATURE_HEADER, sig);
            }
            match request.send().await {
                Ok(r) if r.status().is_success() => return Ok(()),
                Ok(r) => last = format!("HTTP {}", r.status().as_u16()),
                // Without the address: reqwest's errors print the URL.
                Err(e) => last = crate::http_model::failure::describe(&e.without_url()),
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
        }
        Err(format!("{shown}: {last} after {ATTEMPTS} attempts"))
    })
}

/// `scheme://host[:port]` of an address, never its path or query.
fn shown_as(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}{}",
            u.scheme(),
            u.host_str().unwrap_or("?"),
            u.port().map(|p| format!(":{p}")).unwrap_or_default()
        ),
        Err(_) => "a notification target".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_rfc_4231_vector() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn addresses_are_shown_without_path() {
        assert_eq!(
            shown_as("https://hooks.slack.com/services/T000/B000/secret"),
            "https://hooks.slack.com"
        );
    }
}
