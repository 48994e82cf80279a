//! Runs a declarative probe: its setup steps in order (each may extract values for the
//! later requests), then the judged request (as a test account when it says so). A
//! finding when every matcher matches, and, for a two-account probe (`same-as`), when
//! the other account's answer to the same request is the same (status and body).

use super::checks::{self, Context, Session};
use super::outcome::Finding;
use super::scanner::FetchError;
use crate::config::security_suite::{Account, AccountsSpec, Probe, RuleAction};
use crate::http_model::{self, HttpMethod, RequestSpec};
use std::collections::BTreeMap;

/// Extracted values whose names say they are secrets are scrubbed from evidence.
const SECRET_NAME_PARTS: [&str; 4] = ["token", "key", "secret", "password"];

/// One request of a probe, its placeholders filled in.
struct Request {
    method: HttpMethod,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
}

/// What fills a probe's requests: the session's tokens and the variables so far.
struct Filler<'a> {
    accounts: Option<&'a AccountsSpec>,
    session: Option<&'a Session>,
    vars: &'a BTreeMap<String, String>,
}

impl Filler<'_> {
    /// The shared request model rendered with the variables so far, as `account`.
    fn request(&self, spec: &RequestSpec, account: Option<Account>) -> Request {
        let rendered = spec.render(&|name: &str| self.vars.get(name).map(String::as_str));
        let mut headers = rendered.headers;
        if let (Some(account), Some(session), Some(accounts)) =
            (account, self.session, self.accounts)
        {
            headers.push(checks::auth_header(accounts, session.token(account)));
        }
        Request {
            method: rendered.method,
            path: rendered.path,
            headers,
            body: rendered.body.to_text().map(|(text, _)| text),
        }
    }
}

pub(crate) async fn run(
    context: &mut Context<'_>,
    probe: &Probe,
) -> Result<Vec<Finding>, FetchError> {
    let session = if probe.needs_session() {
        Some(context.session().await?)
    } else {
        None
    };
    let mut vars = BTreeMap::new();
    if let Some(object) = session.as_ref().and_then(|s| s.object.as_ref()) {
        vars.insert("object".to_string(), object.id.clone());
    }
    for step in &probe.setup {
        let filler = Filler {
            accounts: context.accounts,
            session: session.as_ref(),
            vars: &vars,
        };
        let request = filler.request(&step.request, step.as_account);
        let exchange = context
            .scanner
            .fetch(
                request.method.as_str(),
                &request.path,
                &request.headers,
                request.body.as_deref(),
            )
            .await?;
        for extraction in &step.extract {
            let into = extraction.variable();
            let Some(value) = http_model::extract(extraction, &exchange.response, &mut None) else {
                return Err(FetchError::Transport(format!(
                    "setup step `{} {}` answered HTTP {} without a value for `{into}`",
                    request.method, request.path, exchange.response.status
                )));
            };
            if SECRET_NAME_PARTS
                .iter()
                .any(|part| into.to_ascii_lowercase().contains(part))
            {
                context.scanner.add_secret(&value);
            }
            vars.insert(into.to_string(), value);
        }
    }
    let filler = Filler {
        accounts: context.accounts,
        session: session.as_ref(),
        vars: &vars,
    };
    let mine = filler.request(&probe.request, probe.as_account);
    let theirs = probe
        .same_as
        .map(|other| (other, filler.request(&probe.request, Some(other))));
    let scanner = &mut context.scanner;
    let exchange = scanner
        .fetch(
            mine.method.as_str(),
            &mine.path,
            &mine.headers,
            mine.body.as_deref(),
        )
        .await?;
    let mut json = None;
    if !probe
        .matchers
        .iter()
        .all(|m| m.matches_with(&exchange.response, &mut json))
    {
        return Ok(Vec::new());
    }
    let mut notes: Vec<String> = probe.matchers.iter().map(|m| m.to_string()).collect();
    if let Some((other, request)) = theirs {
        let answer = scanner
            .fetch(
                request.method.as_str(),
                &request.path,
                &request.headers,
                request.body.as_deref(),
            )
            .await?;
        if answer.response.status != exchange.response.status
            || answer.response.body != exchange.response.body
        {
            return Ok(Vec::new());
        }
        notes.push(format!("same answer as account {other}"));
    }
    let note = format!("(matched: {})", notes.join(" and "));
    Ok(vec![Finding {
        check: probe.id(),
        name: probe.name.clone(),
        severity: probe.severity,
        url: exchange.url.clone(),
        evidence: scanner.evidence(&exchange, &note),
        remediation: probe.remediation.clone(),
        rule: RuleAction::Fail,
    }])
}
