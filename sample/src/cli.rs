//! The sample system's command line, shared by `stagegate sample-system` and the
//! `stagegate-sample` binary of the container image: flags (each also an environment
//! variable, for containers) → [`Behaviour`] → a running portal.

use crate::{Behaviour, Flaw};
use clap::Args;
use std::net::SocketAddr;
use std::time::Duration;

/// Exit code for bad flags or an address that cannot be bound (stagegate's table).
const INVALID_INPUT: u8 = 2;

#[derive(Debug, Args)]
pub struct SampleArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Release it reports at /api/phien-ban.
    #[arg(long, default_value = "1.0.0", env = "STAGEGATE_SAMPLE_RELEASE")]
    pub release: String,
    /// Added latency on every API request, in milliseconds.
    #[arg(long, default_value_t = 0, env = "STAGEGATE_SAMPLE_LATENCY_MS")]
    pub latency_ms: u64,
    /// Fraction of API requests answered with HTTP 500, spread evenly (0.05 = exactly 1 in 20).
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate, env = "STAGEGATE_SAMPLE_ERROR_RATE")]
    pub error_rate: f64,
    /// A security flaw to plant (repeatable): missing-security-headers, weak-csp,
    /// insecure-cookie, server-version, verbose-errors, cors-reflect, cors-wildcard,
    /// exposed-git, exposed-env, exposed-backup, exposed-api-docs, directory-listing,
    /// trace-enabled, missing-auth, unchecked-token-signature, jwt-alg-none,
    /// expired-token-accepted, idor, officer-endpoint-open, excessive-data,
    /// cacheable-responses, no-rate-limit, django-debug, werkzeug-debugger,
    /// exposed-server-status, exposed-actuator, admin-console, default-page, git-listing,
    /// vcs-leftovers, editor-leftovers, cors-api, open-redirect.
    #[arg(long = "flaw", value_name = "NAME")]
    pub flaws: Vec<Flaw>,
    /// Require `X-Api-Key` on /api/ with the value of this environment variable.
    #[arg(long, value_name = "VAR")]
    pub api_key_env: Option<String>,
}

fn parse_rate(text: &str) -> Result<f64, String> {
    let rate: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if (0.0..=1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err("expected a fraction between 0 and 1".into())
    }
}

/// Serves the sample portal until Ctrl-C; gives the exit code (0, or 2 on bad input).
pub async fn serve(args: SampleArgs) -> u8 {
    let api_key = match &args.api_key_env {
        Some(var) => match std::env::var(var) {
            Ok(v) if !v.is_empty() => Some(v),
            _ => {
                eprintln!("error: --api-key-env {var}: the variable is not set");
                return INVALID_INPUT;
            }
        },
        None => None,
    };
    let behaviour = Behaviour {
        version: args.release,
        latency: Duration::from_millis(args.latency_ms),
        error_rate: args.error_rate,
        flaws: args.flaws.into_iter().collect(),
        api_key,
    };
    let running = match crate::start(args.listen, behaviour).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e}", args.listen);
            return INVALID_INPUT;
        }
    };
    // The first line on stdout is the bound address, so scripts and tests can read it.
    println!("listening on http://{}", running.addr);
    tokio::select! {
        _ = running.wait() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    0
}
