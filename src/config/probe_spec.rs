//! Takes the `[[probes]]` of a security suite, gives [`Probe`]s: one judged request (the
//! shared [`RequestSpec`]), optional setup requests whose extracted values later
//! requests use, matchers, and whether the probe is production-safe — every path, header
//! and body template checked, and every path judged by the origin fence.

use super::diagnostic::{Diagnostics, SourceFile};
use super::matcher::Matcher;
use super::placeholders;
use super::security_suite::{Account, RawAccounts};
use super::suite::{OffBaseRequest, Severity};
use crate::http_model::{Extraction, HttpMethod, RequestBody, RequestSpec};
use crate::template::Template;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use toml::Spanned;

/// A declarative probe: one request; a finding when every matcher matches (and, with
/// `same_as`, when the answer equals the other account's answer to the same request).
#[derive(Debug, Clone)]
pub struct Probe {
    /// Name, used as the finding's check id (`probe.<name>`).
    pub name: String,
    /// Severity of the finding.
    pub severity: Severity,
    /// The judged request; `{{object}}` is account A's object id.
    pub request: RequestSpec,
    /// All must match for a finding.
    pub matchers: Vec<Matcher>,
    /// Send as this test account.
    pub as_account: Option<Account>,
    /// Also send as this account; a finding needs both answers to be the same.
    pub same_as: Option<Account>,
    /// Requests sent first, in order, whose extracted values the later requests use.
    pub setup: Vec<ProbeStep>,
    /// May run against production.
    pub production_safe: bool,
    /// What to do about it.
    pub remediation: String,
}

/// A request a probe sends before the one it judges, to prepare state and take values
/// (`{{name}}` in later paths, headers and bodies).
#[derive(Debug, Clone)]
pub struct ProbeStep {
    /// What is sent.
    pub request: RequestSpec,
    /// Send as this test account.
    pub as_account: Option<Account>,
    /// Values taken from the answer.
    pub extract: Vec<Extraction>,
}

impl Probe {
    /// The id its findings carry.
    pub fn id(&self) -> String {
        format!("probe.{}", self.name)
    }

    /// Whether it needs the test accounts' session (a login, or account a's object).
    pub fn needs_session(&self) -> bool {
        self.as_account.is_some()
            || self.same_as.is_some()
            || self.request.uses("object")
            || self
                .setup
                .iter()
                .any(|s| s.as_account.is_some() || s.request.uses("object"))
    }

    /// The requests it sends of its own: setup steps, the judged request, and the
    /// other account's request when it compares two.
    pub fn requests(&self) -> u64 {
        self.setup.len() as u64 + if self.same_as.is_some() { 2 } else { 1 }
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawProbe {
    #[schemars(with = "String")]
    name: Spanned<String>,
    severity: Severity,
    #[serde(default = "get")]
    method: HttpMethod,
    #[schemars(with = "String")]
    path: Spanned<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<String>,
    #[schemars(with = "Option<Vec<Matcher>>")]
    matchers: Option<Spanned<Vec<Matcher>>>,
    #[serde(rename = "as")]
    #[schemars(with = "Option<Account>")]
    as_account: Option<Spanned<Account>>,
    #[schemars(with = "Option<Account>")]
    same_as: Option<Spanned<Account>>,
    #[schemars(with = "Option<bool>")]
    production_safe: Option<Spanned<bool>>,
    #[serde(default)]
    remediation: String,
    #[serde(default)]
    setup: Vec<RawProbeStep>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawProbeStep {
    #[serde(default = "get")]
    method: HttpMethod,
    #[schemars(with = "String")]
    path: Spanned<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<String>,
    #[serde(rename = "as")]
    #[schemars(with = "Option<Account>")]
    as_account: Option<Spanned<Account>>,
    #[serde(default)]
    extract: Vec<Extraction>,
}

fn get() -> HttpMethod {
    HttpMethod::Get
}

const NO_VARIABLES: &str = "a value extracted by an earlier `setup` step, or `object`";

/// The request of a probe or a setup step; header and body mistakes are reported at
/// the path (they carry no span of their own). `None` when any part is invalid.
#[allow(clippy::too_many_arguments)]
fn request(
    file: &SourceFile,
    method: HttpMethod,
    path: &Spanned<String>,
    headers: &BTreeMap<String, String>,
    body: Option<&String>,
    known: &BTreeSet<String>,
    check_path_variables: bool,
    off_base: &mut Vec<OffBaseRequest>,
    diagnostics: &mut Diagnostics,
) -> Option<RequestSpec> {
    let before = diagnostics.0.len();
    let scope = placeholders::Scope {
        known,
        later: &placeholders::NOTHING_LATER,
        none_known: NO_VARIABLES,
    };
    let path_template = if check_path_variables {
        placeholders::template(file, path, &scope, diagnostics)
    } else {
        Template::parse(path.get_ref()).ok()
    };
    placeholders::check_path(file, path, off_base, diagnostics);
    let mut header_templates = Vec::new();
    for (name, text) in headers {
        let t = placeholders::template_at(file, path.span(), text, &scope, diagnostics);
        header_templates.extend(t.map(|t| (name.clone(), t)));
    }
    let body = match body {
        None => Some(RequestBody::None),
        Some(text) => placeholders::template_at(file, path.span(), text, &scope, diagnostics)
            .map(RequestBody::Text),
    };
    if diagnostics.0.len() > before {
        return None;
    }
    Some(RequestSpec {
        method,
        path: path_template?,
        headers: header_templates,
        body: body?,
    })
}

/// Parses and checks the probes of a suite whose `[accounts]` is `accounts`.
pub(super) fn parse(
    file: &SourceFile,
    raw_probes: Vec<RawProbe>,
    accounts: Option<&RawAccounts>,
    off_base: &mut Vec<OffBaseRequest>,
    diagnostics: &mut Diagnostics,
) -> Vec<Probe> {
    let mut probes = Vec::new();
    for p in raw_probes {
        // Variables a probe may use: account a's object, then what its setup extracts.
        let mut known = BTreeSet::new();
        let has_object = accounts.is_some_and(|a| a.create.is_some());
        if has_object {
            known.insert("object".to_string());
        }
        let mut setup = Vec::new();
        for step in &p.setup {
            if let Some(account) = &step.as_account {
                if accounts.is_none() {
                    diagnostics.push(file.diagnostic(
                        account.span(),
                        format!(
                            "setup step sends as account `{}`, but the suite has no `[accounts]`",
                            account.get_ref()
                        ),
                        Some("an `[accounts]` table".into()),
                    ));
                }
            }
            let request = request(
                file,
                step.method,
                &step.path,
                &step.headers,
                step.body.as_ref(),
                &known,
                true,
                off_base,
                diagnostics,
            );
            placeholders::refuse_in_literal_text(
                file,
                step.path.span().start..file.text.len(),
                "an extraction",
                step.extract.iter().flat_map(Extraction::literal_texts),
                diagnostics,
            );
            for e in &step.extract {
                known.insert(e.variable().to_string());
            }
            setup.extend(request.map(|request| ProbeStep {
                request,
                as_account: step.as_account.as_ref().map(|a| *a.get_ref()),
                extract: step.extract.clone(),
            }));
        }
        let path = p.path.get_ref();
        let uses_object = path.contains("{{object}}");
        // A missing `{{object}}` has its own message just below.
        let judged = request(
            file,
            p.method,
            &p.path,
            &p.headers,
            p.body.as_ref(),
            &known,
            !uses_object || has_object,
            off_base,
            diagnostics,
        );
        if uses_object && !has_object {
            diagnostics.push(file.diagnostic(
                p.path.span(),
                "`{{object}}` needs an object created by account a",
                Some("`create = { path, body, id }` in `[accounts]`".into()),
            ));
        }
        for account in [&p.as_account, &p.same_as].into_iter().flatten() {
            if accounts.is_none() {
                diagnostics.push(file.diagnostic(
                    account.span(),
                    format!(
                        "probe sends as account `{}`, but the suite has no `[accounts]`",
                        account.get_ref()
                    ),
                    Some("an `[accounts]` table".into()),
                ));
            }
        }
        let matchers_span = p
            .matchers
            .as_ref()
            .map_or_else(|| p.name.span(), |m| m.span());
        let matchers: Vec<Matcher> = p.matchers.map(Spanned::into_inner).unwrap_or_default();
        placeholders::refuse_in_literal_text(
            file,
            matchers_span.clone(),
            "a matcher",
            matchers.iter().flat_map(Matcher::literal_texts),
            diagnostics,
        );
        if let (Some(same), Some(who)) = (&p.same_as, &p.as_account) {
            if same.get_ref() == who.get_ref() {
                diagnostics.push(file.diagnostic(
                    same.span(),
                    "a probe compared with itself always matches",
                    Some("the other account".into()),
                ));
            }
        }
        if p.same_as.is_none() {
            if matchers.is_empty() {
                diagnostics.push(file.diagnostic(matchers_span.clone(), "a probe needs at least one matcher", Some("e.g. `[{ kind = \"status\", equals = 200 }, { kind = \"body-contains\", text = \"...\" }]`".into())));
            } else if matchers.iter().all(|m| matches!(m, Matcher::Status { .. })) {
                // Status alone is how scanners invent findings (soft 404s, catch-all routes).
                diagnostics.push(
                    file.diagnostic(
                        matchers_span.clone(),
                        "a probe may not judge on the status code alone",
                        Some(
                            "a body, header or JSON matcher as well, or `same-as` another account"
                                .into(),
                        ),
                    ),
                );
            }
        }
        // A probe that logs in sends a POST; production-safe means GET, HEAD, OPTIONS only.
        let safe_by_nature = p.method.is_safe()
            && p.as_account.is_none()
            && p.same_as.is_none()
            && p.setup
                .iter()
                .all(|s| s.method.is_safe() && s.as_account.is_none());
        if let Some(claim) = p
            .production_safe
            .as_ref()
            .filter(|c| *c.get_ref() && !safe_by_nature)
        {
            diagnostics.push(file.diagnostic(
                claim.span(),
                format!(
                    "probe `{}` cannot be production-safe: it sends {}",
                    p.name.get_ref(),
                    if !p.method.is_safe() {
                        p.method.to_string()
                    } else if let Some(step) = p.setup.iter().find(|s| !s.method.is_safe()) {
                        format!("{} in its setup", step.method)
                    } else {
                        "a login (POST)".to_string()
                    }
                ),
                Some("production-safe probes send GET, HEAD or OPTIONS without logging in".into()),
            ));
        }
        if let Some(request) = judged {
            probes.push(Probe {
                name: p.name.get_ref().clone(),
                severity: p.severity,
                request,
                matchers,
                as_account: p.as_account.map(Spanned::into_inner),
                same_as: p.same_as.map(Spanned::into_inner),
                setup,
                production_safe: p
                    .production_safe
                    .map_or(safe_by_nature, |c| *c.get_ref() && safe_by_nature),
                remediation: p.remediation,
            });
        }
    }
    probes
}
