//! Takes the text of a `kind = "security"` suite, gives a [`SecuritySuite`]: built-in
//! checks by id, declarative probes (one request, or the same request as two test
//! accounts compared), a rules table (fail, warn or ignore per check), out-of-scope URL
//! patterns and the test accounts that authorization checks log in with. Every id,
//! pattern and account reference is checked here, with the span of the offending text.

use super::diagnostic::{Diagnostics, SourceFile};
use super::probe_spec::RawProbe;
pub use super::probe_spec::{Probe, ProbeStep};
use super::suite::{Suite, SuiteBody};
use crate::vocabulary::{AccountNeed, CheckId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use toml::Spanned;

/// A security suite.
#[derive(Debug, Clone, Default)]
pub struct SecuritySuite {
    /// Built-in checks, by id.
    pub checks: Vec<CheckId>,
    /// Declarative probes.
    pub probes: Vec<Probe>,
    /// What a finding of a check (or `probe.<name>`) does; absent means fail.
    pub rules: BTreeMap<String, RuleAction>,
    /// Path patterns (`*` matches any text) the suite must never request.
    pub out_of_scope: Vec<String>,
    /// Test accounts for authentication and authorization checks (boxed: most suites
    /// have none, and the suite enum stays small).
    pub accounts: Option<Box<AccountsSpec>>,
    /// The `User-Agent` the suite's requests carry; `None` sends stagegate's own
    /// (`stagegate/<version> (security scan)`).
    pub user_agent: Option<String>,
}

impl SecuritySuite {
    /// A suite of built-in checks only (the ad-hoc `scan` command).
    pub fn from_checks(ids: impl IntoIterator<Item = CheckId>) -> SecuritySuite {
        SecuritySuite {
            checks: ids.into_iter().collect(),
            ..SecuritySuite::default()
        }
    }

    /// The rule for a check or probe, by its written id (`probe.<name>` for probes).
    pub fn rule(&self, id: &str) -> RuleAction {
        self.rules.get(id).copied().unwrap_or_default()
    }

    /// The rule for a built-in check.
    pub fn rule_of(&self, id: CheckId) -> RuleAction {
        self.rule(id.as_str())
    }
}

/// What a check's findings do.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum RuleAction {
    /// Counted by the gate's `security-<severity>` metrics.
    #[default]
    Fail,
    /// Reported, but not counted by the gate.
    Warn,
    /// Not run at all.
    Ignore,
}

/// One of the two test accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Account {
    /// Account A, the owner of the objects the checks create.
    A,
    /// Account B, who must not see A's objects.
    B,
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Account::A => "a",
            Account::B => "b",
        })
    }
}

/// How test accounts log in, create an object and where objects and officer endpoints are.
#[derive(Debug, Clone)]
pub struct AccountsSpec {
    /// Login name of account A (a test citizen id, not a secret).
    pub a: String,
    /// Login name of account B.
    pub b: String,
    /// Header that carries the token.
    pub header: String,
    /// Text before the token in that header (`Bearer`), empty for none.
    pub scheme: String,
    /// The login request.
    pub login: LoginSpec,
    /// A login body that yields an already-expired token (a test-environment hook).
    pub expired_login_body: Option<String>,
    /// How account A creates an object it owns.
    pub create: Option<CreateSpec>,
    /// The path of one object, with `{{object}}` for its id.
    pub object: Option<String>,
    /// Endpoints only officers may use.
    pub officer: Vec<OfficerEndpoint>,
}

/// The login request of a test account.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LoginSpec {
    /// POST path.
    pub path: String,
    /// JSON body with `{{account}}` for the login name.
    pub body: String,
    /// JSON pointer of the token in the answer.
    pub token: String,
}

/// How account A creates an object.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CreateSpec {
    /// POST path.
    pub path: String,
    /// JSON body.
    pub body: String,
    /// JSON pointer of the new object's id in the answer.
    pub id: String,
}

/// An endpoint only officers may use, and a JSON pointer that is present in its data.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct OfficerEndpoint {
    /// GET path.
    pub path: String,
    /// JSON pointer that exists only in a real answer (not in an error).
    pub marker: String,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawSecuritySuite {
    #[schemars(with = "u32")]
    version: Spanned<u32>,
    #[allow(dead_code)]
    kind: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    tags: Vec<Spanned<String>>,
    #[serde(default)]
    checks: Vec<RawCheckRef>,
    #[serde(default)]
    probes: Vec<RawProbe>,
    #[schemars(with = "Option<String>")]
    production_write_reason: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RuleAction>")]
    rules: BTreeMap<Spanned<String>, RuleAction>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    out_of_scope: Vec<Spanned<String>>,
    #[schemars(with = "Option<RawAccounts>")]
    accounts: Option<Spanned<RawAccounts>>,
    #[schemars(with = "Option<String>")]
    user_agent: Option<Spanned<String>>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawCheckRef {
    #[schemars(with = "String")]
    id: Spanned<String>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawAccounts {
    a: String,
    b: String,
    #[serde(default = "authorization")]
    header: String,
    #[serde(default = "bearer")]
    scheme: String,
    #[schemars(with = "LoginSpec")]
    login: Spanned<LoginSpec>,
    expired_login_body: Option<String>,
    pub(super) create: Option<CreateSpec>,
    #[schemars(with = "Option<String>")]
    object: Option<Spanned<String>>,
    #[serde(default)]
    officer: Vec<OfficerEndpoint>,
}

fn authorization() -> String {
    "Authorization".into()
}

fn bearer() -> String {
    "Bearer".into()
}

/// The JSON Schema of a security suite, from the types it is parsed with (see
/// [`crate::config::schema`]).
pub fn json_schema() -> schemars::Schema {
    schemars::schema_for!(RawSecuritySuite)
}
/// Parses and validates a security suite.
pub(super) fn parse(file: &SourceFile, name: &str, diagnostics: &mut Diagnostics) -> Option<Suite> {
    let raw: RawSecuritySuite = file.parse_toml(diagnostics)?;
    let before = diagnostics.0.len();
    super::check_version(file, &raw.version, diagnostics);
    let (tags, production_write) = super::suite::check_tags(
        file,
        &raw.tags,
        raw.production_write_reason.as_ref(),
        diagnostics,
    );
    let accounts = raw.accounts.as_ref().map(|a| a.get_ref());
    let mut check_ids = Vec::new();
    for check in &raw.checks {
        let id = check.id.get_ref();
        match id.parse::<CheckId>() {
            Err(e) => diagnostics.push(file.diagnostic(
                check.id.span(),
                e.to_string(),
                Some("an id from `stagegate checks` (the built-in catalogue)".into()),
            )),
            Ok(parsed) => {
                if let Some(missing) = parsed
                    .account_need()
                    .and_then(|need| missing_account_part(need, accounts))
                {
                    diagnostics.push(file.diagnostic(
                        check.id.span(),
                        format!("check `{id}` needs test accounts: {missing}"),
                        Some("an `[accounts]` table with `login` (and `create`, `object`, `officer`, `expired-login-body` as the check needs)".into()),
                    ));
                }
                check_ids.push(parsed);
            }
        }
    }
    if raw.checks.is_empty() && raw.probes.is_empty() {
        // A suite that runs nothing must not look like a clean bill of health.
        diagnostics.push(file.whole_file(
            "a security suite needs at least one check or probe",
            Some("`checks = [{ id = \"...\" }]` or `[[probes]]`".into()),
        ));
    }
    if let (Some(raw_accounts), Some(a)) = (&raw.accounts, accounts) {
        if !a.login.get_ref().body.contains("{{account}}") {
            diagnostics.push(file.diagnostic(
                a.login.span(),
                "the login body never names the account",
                Some("a body with `{{account}}` where the login name goes".into()),
            ));
        }
        if let Some(object) = &a.object {
            if !object.get_ref().contains("{{object}}") || !object.get_ref().starts_with('/') {
                diagnostics.push(file.diagnostic(
                    object.span(),
                    "`object` must be a path with `{{object}}` for the id",
                    Some("e.g. `/api/ho-so/{{object}}`".into()),
                ));
            }
        }
        if a.a == a.b {
            diagnostics.push(file.diagnostic(
                raw_accounts.span(),
                "accounts `a` and `b` are the same account",
                Some("two different test accounts".into()),
            ));
        }
    }
    let mut off_base = Vec::new();
    let probes = super::probe_spec::parse(file, raw.probes, accounts, &mut off_base, diagnostics);
    let probe_ids: Vec<String> = probes.iter().map(Probe::id).collect();
    let mut rules = BTreeMap::new();
    for (id, action) in raw.rules {
        let known = raw.checks.iter().any(|c| c.id.get_ref() == id.get_ref())
            || probe_ids.contains(id.get_ref());
        if !known {
            diagnostics.push(file.diagnostic(
                id.span(),
                format!("rule for `{}`, which this suite does not run", id.get_ref()),
                Some("a check id listed in `checks` or `probe.<name>` of a probe here".into()),
            ));
        }
        rules.insert(id.into_inner(), action);
    }
    let mut out_of_scope = Vec::new();
    for pattern in raw.out_of_scope {
        if !pattern.get_ref().starts_with('/') {
            diagnostics.push(file.diagnostic(
                pattern.span(),
                "an out-of-scope pattern is a path",
                Some("a path pattern such as `/admin/*`".into()),
            ));
        }
        out_of_scope.push(pattern.into_inner());
    }
    if let Some(agent) = &raw.user_agent {
        let text = agent.get_ref();
        // A header value: visible ASCII and spaces only, so nothing can be smuggled in.
        if text.trim().is_empty() || !text.chars().all(|c| c == ' ' || c.is_ascii_graphic()) {
            diagnostics.push(file.diagnostic(
                agent.span(),
                "a User-Agent is one line of visible ASCII text",
                Some("e.g. `user-agent = \"stagegate (qa team, 0901 000 000)\"`".into()),
            ));
        }
    }
    let accounts = raw.accounts.map(|a| {
        let a = a.into_inner();
        Box::new(AccountsSpec {
            a: a.a,
            b: a.b,
            header: a.header,
            scheme: a.scheme,
            login: a.login.into_inner(),
            expired_login_body: a.expired_login_body,
            create: a.create,
            object: a.object.map(Spanned::into_inner),
            officer: a.officer,
        })
    });
    if diagnostics.0.len() > before {
        return None;
    }
    Some(Suite {
        name: name.to_string(),
        description: raw.description,
        tags,
        production_write,
        off_base,
        body: SuiteBody::Security(SecuritySuite {
            checks: check_ids,
            probes,
            rules,
            out_of_scope,
            accounts,
            user_agent: raw.user_agent.map(Spanned::into_inner),
        }),
    })
}

/// What a check that needs accounts misses in `[accounts]`, if anything.
fn missing_account_part(need: AccountNeed, accounts: Option<&RawAccounts>) -> Option<&'static str> {
    let Some(a) = accounts else {
        return Some("the suite has no `[accounts]` table");
    };
    let no_object = a.create.is_none() || a.object.is_none();
    match need {
        AccountNeed::Login => None,
        AccountNeed::Officer if a.officer.is_empty() => Some("`officer` endpoints are not listed"),
        AccountNeed::Officer => None,
        AccountNeed::ObjectAndExpiredLogin if a.expired_login_body.is_none() => {
            Some("`expired-login-body` is not set")
        }
        AccountNeed::Object | AccountNeed::ObjectAndExpiredLogin if no_object => {
            Some("`create` and `object` are needed to have an object to read")
        }
        AccountNeed::Object | AccountNeed::ObjectAndExpiredLogin => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn parse_text(text: &str) -> (Option<Suite>, String) {
        let file = SourceFile {
            path: PathBuf::from("bao-mat.toml"),
            text: text.into(),
        };
        let mut d = Diagnostics::default();
        let suite = parse(&file, "bao-mat", &mut d);
        (
            suite,
            d.0.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join("\n"),
        )
    }

    #[test]
    fn rules_scope_and_accounts_are_read() {
        let (suite, errors) = parse_text(
            "version = 1\nkind = \"security\"\nchecks = [{ id = \"header.csp\" }, { id = \"authz.object-level\" }]\n\
             out-of-scope = [\"/metrics\"]\n[rules]\n\"header.csp\" = \"warn\"\n\
             [accounts]\na = \"1\"\nb = \"2\"\nlogin = { path = \"/login\", body = '{\"id\":\"{{account}}\"}', token = \"/token\" }\n\
             create = { path = \"/x\", body = \"{}\", id = \"/id\" }\nobject = \"/x/{{object}}\"\n",
        );
        let suite = suite.unwrap_or_else(|| panic!("{errors}"));
        let SuiteBody::Security(s) = suite.body else {
            panic!("not security")
        };
        assert_eq!(s.rule("header.csp"), RuleAction::Warn);
        assert_eq!(s.rule("authz.object-level"), RuleAction::Fail);
        assert_eq!(s.out_of_scope, vec!["/metrics".to_string()]);
        assert_eq!(s.accounts.map(|a| a.b), Some("2".into()));
    }

    #[test]
    fn a_user_agent_is_one_line_of_visible_text() {
        let (suite, errors) = parse_text(
            "version = 1\nkind = \"security\"\nchecks = [{ id = \"header.csp\" }]\nuser-agent = \"qa-scan/1.0 (nhom kiem thu)\"\n",
        );
        let suite = suite.unwrap_or_else(|| panic!("{errors}"));
        let SuiteBody::Security(s) = suite.body else {
            panic!("not security")
        };
        assert_eq!(s.user_agent.as_deref(), Some("qa-scan/1.0 (nhom kiem thu)"));
        let (suite, errors) = parse_text(
            "version = 1\nkind = \"security\"\nchecks = [{ id = \"header.csp\" }]\nuser-agent = \"x\\r\\nX-Injected: 1\"\n",
        );
        assert!(suite.is_none());
        assert!(errors.contains("one line of visible ASCII"), "{errors}");
    }

    #[test]
    fn account_checks_without_accounts_and_unknown_rules_point_at_their_text() {
        let (suite, errors) = parse_text(
            "version = 1\nkind = \"security\"\nchecks = [{ id = \"authz.object-level\" }]\n[rules]\n\"header.csp\" = \"warn\"\n",
        );
        assert!(suite.is_none());
        assert!(errors.contains("bao-mat.toml:3:18"), "{errors}");
        assert!(
            errors.contains("check `authz.object-level` needs test accounts"),
            "{errors}"
        );
        assert!(
            errors.contains("rule for `header.csp`, which this suite does not run"),
            "{errors}"
        );
    }

    #[test]
    fn a_post_probe_cannot_claim_production_safety() {
        let (suite, errors) = parse_text(
            "version = 1\nkind = \"security\"\n[[probes]]\nname = \"p\"\nseverity = \"low\"\nmethod = \"POST\"\npath = \"/x\"\n\
             matchers = [{ kind = \"body-contains\", text = \"y\" }]\nproduction-safe = true\n",
        );
        assert!(suite.is_none());
        assert!(errors.contains("bao-mat.toml:9:19"), "{errors}");
        assert!(
            errors.contains("cannot be production-safe: it sends POST"),
            "{errors}"
        );
    }

    #[test]
    fn setup_steps_define_variables_for_later_requests_only() {
        let (suite, errors) = parse_text(
            "version = 1\nkind = \"security\"\n[[probes]]\nname = \"p\"\nseverity = \"low\"\npath = \"/x/{{ma}}\"\n\
             matchers = [{ kind = \"body-contains\", text = \"y\" }]\n[[probes.setup]]\nmethod = \"POST\"\npath = \"/x\"\n\
             extract = [{ kind = \"json-pointer\", pointer = \"/id\", into = \"ma\" }]\n",
        );
        let suite = suite.unwrap_or_else(|| panic!("{errors}"));
        let SuiteBody::Security(s) = suite.body else {
            panic!("not security")
        };
        assert_eq!(s.probes[0].setup.len(), 1);
        assert!(
            !s.probes[0].production_safe,
            "a POST in setup is not production-safe"
        );
        assert_eq!(s.probes[0].requests(), 2);

        let (suite, errors) = parse_text(
            "version = 1\nkind = \"security\"\n[[probes]]\nname = \"p\"\nseverity = \"low\"\npath = \"/x/{{khong_co}}\"\n\
             matchers = [{ kind = \"body-contains\", text = \"y\" }]\n",
        );
        assert!(suite.is_none());
        assert!(
            errors.contains("unknown variable `khong_co`") && errors.contains("bao-mat.toml:6:12"),
            "{errors}"
        );
    }
}
