//! Checks that send unusual requests (not production-safe): TRACE echoing an
//! unguessable header back, and malformed JSON answered with a stack trace.

use super::super::catalogue::{CheckId, CheckInfo};
use super::super::outcome::Finding;
use super::super::scanner::{FetchError, Scanner};

/// Texts that only appear in stack traces and framework error pages, never in a short
/// user-facing error (a plain "invalid JSON" message matches none of them).
const STACK_TRACE_SIGNS: &[&str] = &[
    "panicked at",
    "stack backtrace:",
    "RUST_BACKTRACE",
    "Traceback (most recent call last)",
    "Exception in thread",
    "\tat java.",
    "\tat org.",
    "at System.",
    "NullReferenceException",
    "SQLSTATE[",
    "node_modules/",
    "Fatal error: Uncaught",
];

pub(super) async fn run(
    scanner: &mut Scanner,
    info: &CheckInfo,
    login_path: Option<&str>,
) -> Result<Vec<Finding>, FetchError> {
    match info.id {
        CheckId::MethodTrace => {
            let marker = super::unguessable();
            let exchange = scanner
                .fetch(
                    "TRACE",
                    "/",
                    &[("X-Stagegate-Probe".to_string(), marker.clone())],
                    None,
                )
                .await?;
            let echoed = (200..300).contains(&exchange.response.status)
                && exchange.response.body.contains(&marker);
            Ok(if echoed {
                vec![Finding::of(
                    info,
                    &exchange.url,
                    scanner.evidence(&exchange, "(TRACE echoed the unguessable request header)"),
                )]
            } else {
                Vec::new()
            })
        }
        CheckId::DisclosureVerboseErrors => {
            let mut findings = Vec::new();
            let mut paths = vec!["/".to_string()];
            paths.extend(login_path.map(str::to_string));
            for path in paths {
                let headers = [("Content-Type".to_string(), "application/json".to_string())];
                let exchange = scanner
                    .fetch("POST", &path, &headers, Some("{\"stagegate\": "))
                    .await?;
                if let Some(sign) = STACK_TRACE_SIGNS
                    .iter()
                    .find(|s| exchange.response.body.contains(**s))
                {
                    let note = format!("(malformed JSON answered with a stack trace: {sign:?})");
                    findings.push(Finding::of(
                        info,
                        &exchange.url,
                        scanner.evidence(&exchange, &note),
                    ));
                }
            }
            Ok(findings)
        }
        other => Err(FetchError::Refused(format!(
            "check `{other}` has no implementation in this build"
        ))),
    }
}
