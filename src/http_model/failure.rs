//! Takes a reqwest error, gives the failure named for what it is — TLS (with what the
//! certificate says), DNS, refused, reset, timeout, redirect loop — with the chain of
//! causes, so a certificate problem is never reported as "connection refused".

use std::error::Error as StdError;

/// The kinds of failure a request can end in, as named in reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The TLS handshake failed (an untrusted or wrong-name certificate, mostly).
    Tls,
    /// The host name did not resolve.
    Dns,
    /// Nothing listens at the address.
    Refused,
    /// The peer reset the connection.
    Reset,
    /// No answer in time.
    Timeout,
    /// Redirected round and round.
    RedirectLoop,
    /// Anything else on the way (a broken body, a protocol error).
    Other,
}

/// The error's causes, outermost first, joined with `: ` and without repeats.
fn chain(e: &reqwest::Error) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

fn io_kind(e: &reqwest::Error) -> Option<std::io::ErrorKind> {
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = s.source();
    }
    None
}

/// What kind of failure `e` is.
pub fn kind(e: &reqwest::Error) -> FailureKind {
    let text = chain(e).to_ascii_lowercase();
    if e.is_timeout() {
        FailureKind::Timeout
    } else if e.is_redirect() || text.contains("redirect loop") {
        FailureKind::RedirectLoop
    } else if text.contains("certificate") || text.contains("tls") || text.contains("handshake") {
        FailureKind::Tls
    } else if text.contains("dns error") || text.contains("failed to lookup address") {
        FailureKind::Dns
    } else {
        match io_kind(e) {
            Some(std::io::ErrorKind::ConnectionRefused) => FailureKind::Refused,
            Some(std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted) => {
                FailureKind::Reset
            }
            Some(std::io::ErrorKind::TimedOut) => FailureKind::Timeout,
            _ if text.contains("connection refused") => FailureKind::Refused,
            _ if text.contains("connection reset") => FailureKind::Reset,
            _ => FailureKind::Other,
        }
    }
}

/// The failure named, then its causes: `TLS failure: … certificate not valid for name
/// "127.0.0.1"; certificate is only valid for DnsName("localhost")`.
pub fn describe(e: &reqwest::Error) -> String {
    let causes = chain(e);
    match kind(e) {
        FailureKind::Tls => format!("TLS failure: {causes}"),
        FailureKind::Dns => format!("DNS lookup failed: {causes}"),
        FailureKind::Refused => format!("connection refused: {causes}"),
        FailureKind::Reset => format!("connection reset: {causes}"),
        FailureKind::Timeout => format!("timed out: {causes}"),
        FailureKind::RedirectLoop => format!("redirect loop: {causes}"),
        FailureKind::Other => causes,
    }
}
