//! Runs a declarative probe: one request (as a test account when it says so); a
//! finding when every matcher matches, and, for a two-account probe (`same-as`), when
//! the other account's answer to the same request is the same (status and body).

use super::checks::{self, Context};
use super::outcome::Finding;
use super::scanner::FetchError;
use crate::config::security_suite::RuleAction;
use crate::config::security_suite::{Account, Probe};

pub(crate) async fn run(
    context: &mut Context<'_>,
    probe: &Probe,
) -> Result<Vec<Finding>, FetchError> {
    let needs_session =
        probe.as_account.is_some() || probe.same_as.is_some() || probe.path.contains("{{object}}");
    let session = if needs_session {
        Some(context.session().await?)
    } else {
        None
    };
    let mut path = probe.path.clone();
    if let Some(object) = session.as_ref().and_then(|s| s.object.as_ref()) {
        path = path.replace("{{object}}", &object.id);
    }
    let headers_as = |account: Option<Account>| -> Vec<(String, String)> {
        let mut headers = probe.headers.clone();
        if let (Some(account), Some(session), Some(accounts)) =
            (account, &session, context.accounts)
        {
            headers.push(checks::auth_header(accounts, session.token(account)));
        }
        headers
    };
    let headers = headers_as(probe.as_account);
    let other_headers = probe.same_as.map(|a| headers_as(Some(a)));
    let scanner = &mut context.scanner;
    let exchange = scanner
        .fetch(
            probe.method.as_str(),
            &path,
            &headers,
            probe.body.as_deref(),
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
    if let (Some(other), Some(other_headers)) = (probe.same_as, other_headers) {
        let theirs = scanner
            .fetch(
                probe.method.as_str(),
                &path,
                &other_headers,
                probe.body.as_deref(),
            )
            .await?;
        if theirs.response.status != exchange.response.status
            || theirs.response.body != exchange.response.body
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
