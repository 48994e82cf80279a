//! Takes a catalogue entry and a [`Context`] (the scanner and, when the suite has them,
//! its test accounts), gives the check's findings. One file per family of checks; each
//! judges on content (a header value, a reflected unguessable value, a file's
//! signature, an account's own view), never on a status code alone.

mod auth;
mod cors;
mod exposure;
mod headers;
mod methods;
mod transport;

use super::catalogue::CheckInfo;
use super::outcome::Finding;
use super::scanner::{FetchError, Scanner};
use crate::config::security_suite::AccountsSpec;

pub(crate) use auth::{auth_header, Session, SESSION_REQUESTS};

/// What checks share during one run.
pub(crate) struct Context<'a> {
    /// Sends the requests.
    pub scanner: Scanner,
    /// The suite's test accounts.
    pub accounts: Option<&'a AccountsSpec>,
    /// The logged-in accounts and their object, made once on first use.
    session: Option<Result<Session, String>>,
}

impl<'a> Context<'a> {
    /// A context with no session yet.
    pub fn new(scanner: Scanner, accounts: Option<&'a AccountsSpec>) -> Context<'a> {
        Context {
            scanner,
            accounts,
            session: None,
        }
    }

    /// The account session, logging in on first use.
    pub async fn session(&mut self) -> Result<Session, FetchError> {
        if self.session.is_none() {
            let made = match self.accounts {
                Some(accounts) => Session::open(&mut self.scanner, accounts)
                    .await
                    .map_err(|e| e.to_string()),
                None => Err("the suite has no `[accounts]`".to_string()),
            };
            self.session = Some(made);
        }
        match &self.session {
            Some(Ok(s)) => Ok(s.clone()),
            Some(Err(e)) => Err(FetchError::Transport(format!("test accounts: {e}"))),
            None => Err(FetchError::Transport("test accounts: no session".into())),
        }
    }
}

/// A random value nobody could have guessed, for reflection checks and missing pages.
pub(crate) fn unguessable() -> String {
    format!(
        "{:016x}{:016x}",
        rand::random::<u64>(),
        rand::random::<u64>()
    )
}

/// Runs one built-in check.
pub(crate) async fn run(
    context: &mut Context<'_>,
    info: &CheckInfo,
) -> Result<Vec<Finding>, FetchError> {
    let family = info.id.split('.').next().unwrap_or_default();
    match (family, info.id) {
        ("header", _) | (_, "disclosure.server-version") => {
            headers::run(&mut context.scanner, info).await
        }
        ("cors", _) => cors::run(&mut context.scanner, info).await,
        ("transport" | "tls", _) => transport::run(&mut context.scanner, info).await,
        ("exposure", "exposure.excessive-data") => auth::run(context, info).await,
        ("exposure", _) => exposure::run(&mut context.scanner, info).await,
        ("method", _) | (_, "disclosure.verbose-errors") => {
            let login = context.accounts.map(|a| a.login.path.clone());
            methods::run(&mut context.scanner, info, login.as_deref()).await
        }
        ("auth" | "authz" | "cache" | "ratelimit", _) => auth::run(context, info).await,
        _ => Err(FetchError::Refused(format!(
            "check `{}` has no implementation in this build",
            info.id
        ))),
    }
}
