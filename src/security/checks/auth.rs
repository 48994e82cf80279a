//! Authentication and authorization checks with two test accounts. A session logs both
//! in, lets account A create an object and read it (its own view: the reference every
//! judgement compares with), and reads it once with no token. A check finds a problem
//! only when another caller gets A's own view back (same status class, A's object id,
//! same JSON fields), never on a status code alone. Tokens live in memory only and are
//! scrubbed from all evidence.

use super::super::catalogue::{CheckId, CheckInfo, RATE_LIMIT_ATTEMPTS};
use super::super::outcome::Finding;
use super::super::scanner::{Exchange, FetchError, Scanner};
use super::Context;
use crate::config::matcher::ObservedResponse;
use crate::config::security_suite::{Account, AccountsSpec};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::collections::BTreeSet;

/// Requests a session sends: two logins, one create, the owner's read, the anonymous read.
pub(crate) const SESSION_REQUESTS: u32 = 5;

/// Field names that never belong in an API answer to a citizen.
const SENSITIVE_FIELDS: &[&str] = &[
    "password",
    "passwd",
    "mat_khau",
    "secret",
    "private_key",
    "api_key",
    "apikey",
    "salt",
    "noi_bo",
    "internal",
];

/// The logged-in test accounts and account A's object.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// Account A's token.
    pub token_a: String,
    /// Account B's token.
    pub token_b: String,
    /// A's object: its id, path, A's own view of it, and the answer with no token.
    pub object: Option<OwnedObject>,
}

/// An object account A created.
#[derive(Debug, Clone)]
pub(crate) struct OwnedObject {
    /// Its id.
    pub id: String,
    /// The path that reads it.
    pub path: String,
    /// What A sees.
    pub owner_view: Exchange,
    /// What a caller with no token sees.
    pub anonymous_view: Exchange,
}

impl Session {
    /// Logs both accounts in and creates A's object.
    pub async fn open(
        scanner: &mut Scanner,
        accounts: &AccountsSpec,
    ) -> Result<Session, FetchError> {
        let token_a = login(scanner, accounts, &accounts.a, &accounts.login.body).await?;
        let token_b = login(scanner, accounts, &accounts.b, &accounts.login.body).await?;
        let object = match (&accounts.create, &accounts.object) {
            (Some(create), Some(object)) => {
                let mut headers = vec![json_type(), auth_header(accounts, &token_a)];
                let made = scanner
                    .fetch("POST", &create.path, &headers, Some(&create.body))
                    .await?;
                let id = made.response.json().and_then(|v| {
                    v.pointer(&create.id)
                        .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                });
                let Some(id) = id.filter(|_| (200..300).contains(&made.response.status)) else {
                    return Err(FetchError::Transport(format!(
                        "account a could not create an object at `{}` (HTTP {}, no `{}`)",
                        create.path, made.response.status, create.id
                    )));
                };
                let path = object.replace("{{object}}", &id);
                headers.truncate(0);
                headers.push(auth_header(accounts, &token_a));
                let owner_view = scanner.fetch("GET", &path, &headers, None).await?;
                if !(200..300).contains(&owner_view.response.status)
                    || !owner_view.response.body.contains(&id)
                {
                    return Err(FetchError::Transport(format!("account a cannot read its own object at `{path}` (HTTP {}): nothing to compare with", owner_view.response.status)));
                }
                let anonymous_view = scanner.fetch("GET", &path, &[], None).await?;
                Some(OwnedObject {
                    id,
                    path,
                    owner_view,
                    anonymous_view,
                })
            }
            _ => None,
        };
        Ok(Session {
            token_a,
            token_b,
            object,
        })
    }

    /// The token of an account.
    pub fn token(&self, account: Account) -> &str {
        match account {
            Account::A => &self.token_a,
            Account::B => &self.token_b,
        }
    }
}

fn json_type() -> (String, String) {
    ("Content-Type".into(), "application/json".into())
}

/// The header that carries a token.
pub(crate) fn auth_header(accounts: &AccountsSpec, token: &str) -> (String, String) {
    let value = if accounts.scheme.is_empty() {
        token.to_string()
    } else {
        format!("{} {token}", accounts.scheme)
    };
    (accounts.header.clone(), value)
}

async fn login(
    scanner: &mut Scanner,
    accounts: &AccountsSpec,
    name: &str,
    body: &str,
) -> Result<String, FetchError> {
    let body = body.replace("{{account}}", name);
    let exchange = scanner
        .fetch("POST", &accounts.login.path, &[json_type()], Some(&body))
        .await?;
    let token = exchange.response.json().and_then(|v| {
        v.pointer(&accounts.login.token)
            .and_then(|t| t.as_str().map(str::to_string))
    });
    match token.filter(|t| !t.is_empty() && (200..300).contains(&exchange.response.status)) {
        Some(token) => {
            scanner.add_secret(&token);
            Ok(token)
        }
        None => Err(FetchError::Transport(format!(
            "login of account `{name}` at `{}` answered HTTP {} without a token at `{}`",
            accounts.login.path, exchange.response.status, accounts.login.token
        ))),
    }
}

/// Whether `candidate` is the owner's view of the object: a success, naming the object,
/// with the same JSON fields (or the same body when it is not JSON).
pub(crate) fn same_view(candidate: &ObservedResponse, owner: &ObservedResponse, id: &str) -> bool {
    if !(200..300).contains(&candidate.status) || !candidate.body.contains(id) {
        return false;
    }
    match (candidate.json(), owner.json()) {
        (Some(c), Some(o)) => field_names(&c) == field_names(&o),
        _ => candidate.body == owner.body,
    }
}

fn field_names(value: &serde_json::Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    collect_fields(value, "", &mut names);
    names
}

fn collect_fields(value: &serde_json::Value, prefix: &str, names: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let path = format!("{prefix}/{k}");
                names.insert(path.clone());
                collect_fields(v, &path, names);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                collect_fields(item, &format!("{prefix}/[]"), names);
            }
        }
        _ => {}
    }
}

/// The token's parts when it is a JWT (`header.payload.signature`, JSON header).
fn jwt_parts(token: &str) -> Option<(serde_json::Value, serde_json::Value, &str)> {
    let mut parts = token.split('.');
    let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).ok()?).ok()?;
    let payload = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).ok()?).ok()?;
    Some((header, payload, s))
}

/// The token with its claims changed and the old signature kept (a JWT), or with its
/// first character changed (an opaque token).
pub(crate) fn tamper(token: &str) -> String {
    if let Some((header, mut payload, signature)) = jwt_parts(token) {
        if let Some(map) = payload.as_object_mut() {
            map.insert("stagegate_tampered".into(), super::unguessable().into());
        }
        return format!("{}.{}.{signature}", encode(&header), encode(&payload));
    }
    let mut chars: Vec<char> = token.chars().collect();
    if let Some(first) = chars.first_mut() {
        *first = if *first == 'A' { 'B' } else { 'A' };
    }
    chars.into_iter().collect()
}

/// The same claims, unsigned with `alg: none`, when the token is a JWT.
pub(crate) fn alg_none(token: &str) -> Option<String> {
    let (_, payload, _) = jwt_parts(token)?;
    Some(format!(
        "{}.{}.",
        encode(&serde_json::json!({ "alg": "none", "typ": "JWT" })),
        encode(&payload)
    ))
}

fn encode(value: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

pub(super) async fn run(
    context: &mut Context<'_>,
    info: &CheckInfo,
) -> Result<Vec<Finding>, FetchError> {
    let Some(accounts) = context.accounts else {
        return Err(FetchError::Refused("the suite has no `[accounts]`".into()));
    };
    if info.id == CheckId::RatelimitMissing {
        return rate_limit(&mut context.scanner, accounts, info).await;
    }
    let session = context.session().await?;
    let scanner = &mut context.scanner;
    if info.id == CheckId::AuthzFunctionLevel {
        let mut findings = Vec::new();
        let limit = info.max_requests as usize;
        for endpoint in accounts.officer.iter().take(limit) {
            let exchange = scanner
                .fetch(
                    "GET",
                    &endpoint.path,
                    &[auth_header(accounts, &session.token_a)],
                    None,
                )
                .await?;
            let has_data = exchange
                .response
                .json()
                .is_some_and(|v| v.pointer(&endpoint.marker).is_some());
            if (200..300).contains(&exchange.response.status) && has_data {
                let note = format!(
                    "(account a, a citizen, got the officer data `{}`)",
                    endpoint.marker
                );
                findings.push(Finding::of(
                    info,
                    &exchange.url,
                    scanner.evidence(&exchange, &note),
                ));
            }
        }
        return Ok(findings);
    }
    let Some(object) = &session.object else {
        return Err(FetchError::Refused(format!(
            "check `{}` needs `create` and `object` in `[accounts]`",
            info.id
        )));
    };
    let owner = &object.owner_view.response;
    let finding = |scanner: &Scanner, exchange: &Exchange, note: &str| {
        vec![Finding::of(
            info,
            &exchange.url,
            scanner.evidence(exchange, note),
        )]
    };
    let open_to_anyone = same_view(&object.anonymous_view.response, owner, &object.id);
    Ok(match info.id {
        CheckId::AuthMissing if open_to_anyone => finding(
            scanner,
            &object.anonymous_view,
            "(a request with no token got account a's own view)",
        ),
        CheckId::AuthMissing => Vec::new(),
        // An endpoint open to anyone accepts every token: `auth.missing` reports it once.
        CheckId::AuthTamperedToken | CheckId::AuthAlgNone | CheckId::AuthExpiredToken
            if open_to_anyone =>
        {
            Vec::new()
        }
        CheckId::AuthTamperedToken | CheckId::AuthAlgNone | CheckId::AuthExpiredToken => {
            let forged = match info.id {
                CheckId::AuthTamperedToken => Some(tamper(&session.token_a)),
                CheckId::AuthAlgNone => alg_none(&session.token_a),
                _ => {
                    let body = accounts.expired_login_body.as_deref().unwrap_or_default();
                    Some(
                        login(scanner, accounts, &accounts.a, body)
                            .await
                            .map_err(|e| {
                                FetchError::Transport(format!(
                                    "cannot obtain an expired token: {e}"
                                ))
                            })?,
                    )
                }
            };
            // An opaque (non-JWT) token cannot be re-signed with `alg: none`: nothing to try.
            let Some(forged) = forged else {
                return Ok(Vec::new());
            };
            scanner.add_secret(&forged);
            let exchange = scanner
                .fetch("GET", &object.path, &[auth_header(accounts, &forged)], None)
                .await?;
            if same_view(&exchange.response, owner, &object.id) {
                let what = match info.id {
                    CheckId::AuthTamperedToken => {
                        "a token with changed claims and the old signature"
                    }
                    CheckId::AuthAlgNone => "an unsigned `alg: none` token",
                    _ => "an expired token",
                };
                finding(
                    scanner,
                    &exchange,
                    &format!("({what} got account a's own view)"),
                )
            } else {
                Vec::new()
            }
        }
        CheckId::AuthzObjectLevel => {
            let exchange = scanner
                .fetch(
                    "GET",
                    &object.path,
                    &[auth_header(accounts, &session.token_b)],
                    None,
                )
                .await?;
            if same_view(&exchange.response, owner, &object.id) {
                finding(scanner, &exchange, "(account b got account a's object)")
            } else {
                Vec::new()
            }
        }
        CheckId::ExposureExcessiveData => {
            let fields: Vec<String> = owner
                .json()
                .map(|v| field_names(&v))
                .unwrap_or_default()
                .into_iter()
                .filter(|f| sensitive(f))
                .collect();
            if fields.is_empty() {
                Vec::new()
            } else {
                finding(
                    scanner,
                    &object.owner_view,
                    &format!("(sensitive fields {})", fields.join(", ")),
                )
            }
        }
        CheckId::CacheSensitive => {
            let cache = owner
                .header("cache-control")
                .unwrap_or_default()
                .to_ascii_lowercase();
            if cache.contains("no-store") {
                Vec::new()
            } else {
                let shown = if cache.is_empty() {
                    "no Cache-Control".to_string()
                } else {
                    format!("Cache-Control: {cache}")
                };
                finding(
                    scanner,
                    &object.owner_view,
                    &format!("(account a's own data with {shown})"),
                )
            }
        }
        other => {
            return Err(FetchError::Refused(format!(
                "check `{other}` has no implementation in this build"
            )))
        }
    })
}

fn sensitive(field_path: &str) -> bool {
    let name = field_path
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    SENSITIVE_FIELDS.iter().any(|s| name.contains(s))
}

/// Failed logins as an account that cannot exist, until the target refuses (429,
/// `Retry-After`) or announces a limit (`RateLimit-*` headers), at most
/// [`RATE_LIMIT_ATTEMPTS`].
async fn rate_limit(
    scanner: &mut Scanner,
    accounts: &AccountsSpec,
    info: &CheckInfo,
) -> Result<Vec<Finding>, FetchError> {
    let ghost = format!("stagegate-{}", super::unguessable());
    let body = accounts.login.body.replace("{{account}}", &ghost);
    let mut last = None;
    for _ in 0..RATE_LIMIT_ATTEMPTS {
        let exchange = scanner
            .fetch("POST", &accounts.login.path, &[json_type()], Some(&body))
            .await?;
        let r = &exchange.response;
        let limited = r.status == 429
            || r.header("retry-after").is_some()
            || r.headers.iter().any(|(name, _)| {
                name.to_ascii_lowercase().starts_with("ratelimit")
                    || name.to_ascii_lowercase().starts_with("x-ratelimit")
            });
        if limited {
            return Ok(Vec::new());
        }
        last = Some(exchange);
    }
    Ok(match last {
        Some(exchange) => {
            let note =
                format!("({RATE_LIMIT_ATTEMPTS} failed logins in a row, none refused or limited)");
            vec![Finding::of(
                info,
                &exchange.url,
                scanner.evidence(&exchange, &note),
            )]
        }
        None => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> ObservedResponse {
        ObservedResponse {
            status,
            headers: vec![],
            body: body.into(),
            truncated: false,
        }
    }

    #[test]
    fn same_view_needs_success_the_id_and_the_same_fields() {
        let owner = response(200, r#"{"ma_ho_so":"HS-1","ho_ten":"A"}"#);
        assert!(same_view(
            &response(200, r#"{"ma_ho_so":"HS-1","ho_ten":"B"}"#),
            &owner,
            "HS-1"
        ));
        assert!(!same_view(
            &response(404, r#"{"error":"HS-1 không tìm thấy"}"#),
            &owner,
            "HS-1"
        ));
        assert!(!same_view(
            &response(200, r#"{"error":"HS-1"}"#),
            &owner,
            "HS-1"
        ));
        assert!(!same_view(
            &response(200, r#"{"ma_ho_so":"HS-2","ho_ten":"B"}"#),
            &owner,
            "HS-1"
        ));
    }

    #[test]
    fn tampering_keeps_the_signature_and_alg_none_drops_it() {
        let token = format!(
            "{}.{}.c2ln",
            encode(&serde_json::json!({"alg":"HS256"})),
            encode(&serde_json::json!({"sub":"1"}))
        );
        let tampered = tamper(&token);
        assert_ne!(tampered, token);
        assert!(tampered.ends_with(".c2ln"));
        let (_, payload, _) = jwt_parts(&tampered).unwrap_or_else(|| panic!("still a JWT"));
        assert_eq!(payload["sub"], "1");
        let none = alg_none(&token).unwrap_or_default();
        assert!(none.ends_with('.'));
        assert_eq!(
            jwt_parts(&none).map(|(h, _, _)| h["alg"].clone()),
            Some(serde_json::json!("none"))
        );
        assert_eq!(tamper("abc"), "Abc");
        assert!(alg_none("opaque").is_none());
    }

    #[test]
    fn sensitive_fields_are_found_by_name() {
        assert!(sensitive("/mat_khau_hash"));
        assert!(sensitive("/nguoi_dung/password"));
        assert!(!sensitive("/so_cccd"));
    }
}
