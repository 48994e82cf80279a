//! Takes the `[[notify]]` tables of a rollout, gives [`NotifyTarget`]s: where to tell
//! people that a gate passed or failed, an approval waits, a stage was promoted or a run
//! aborted. Two kinds: `webhook` (a versioned JSON body, optionally signed with
//! HMAC-SHA256 from a secret in the environment) and `slack` (a Slack-compatible
//! `{"text": …}` body, which Mattermost and Rocket.Chat accept too).

use super::diagnostic::{Diagnostics, SourceFile};
use serde::{Deserialize, Serialize};
use std::fmt;
use toml::Spanned;

/// Something a notification can be about.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum NotifyEvent {
    /// A stage's gate passed.
    GatePassed,
    /// A stage's gate failed.
    GateFailed,
    /// A passed stage waits for approval.
    ApprovalWaiting,
    /// A stage was promoted (its approvals are complete).
    Promoted,
    /// A run was aborted or interrupted.
    Aborted,
}

impl NotifyEvent {
    /// Every event, in the order of a stage's life.
    pub const ALL: [NotifyEvent; 5] = [
        NotifyEvent::GatePassed,
        NotifyEvent::GateFailed,
        NotifyEvent::ApprovalWaiting,
        NotifyEvent::Promoted,
        NotifyEvent::Aborted,
    ];

    /// Its name in files and payloads.
    pub fn name(self) -> &'static str {
        match self {
            NotifyEvent::GatePassed => "gate-passed",
            NotifyEvent::GateFailed => "gate-failed",
            NotifyEvent::ApprovalWaiting => "approval-waiting",
            NotifyEvent::Promoted => "promoted",
            NotifyEvent::Aborted => "aborted",
        }
    }
}

impl fmt::Display for NotifyEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The body a target receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NotifyKind {
    /// The versioned JSON payload (`stagegate.notification/1`).
    Webhook,
    /// `{"text": "…"}` for Slack incoming webhooks and compatible chats.
    Slack,
}

/// One validated notification target.
#[derive(Debug, Clone, Serialize)]
pub struct NotifyTarget {
    /// Which body to send.
    pub kind: NotifyKind,
    /// The address, given in the file (`url`) or read at send time from the environment
    /// variable named here (`url-env`), since a Slack webhook address is itself a secret.
    pub url: NotifyUrl,
    /// The events it wants; all of them when the file does not say.
    pub on: Vec<NotifyEvent>,
    /// Name of the environment variable holding the HMAC-SHA256 key (webhooks only);
    /// the signature goes in `X-Stagegate-Signature: sha256=<hex>`.
    pub secret_env: Option<String>,
}

/// Where a target's address comes from.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NotifyUrl {
    /// Written in the file.
    Literal(String),
    /// Read from this environment variable when sending.
    Env(String),
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawNotify {
    #[schemars(with = "NotifyKind")]
    kind: Spanned<NotifyKind>,
    #[schemars(with = "Option<String>")]
    url: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    url_env: Option<Spanned<String>>,
    on: Option<Vec<NotifyEvent>>,
    #[schemars(with = "Option<String>")]
    secret_env: Option<Spanned<String>>,
}

/// Validates the `[[notify]]` tables; every mistake becomes a diagnostic.
pub(super) fn parse_notify(
    file: &SourceFile,
    raw: Vec<RawNotify>,
    diagnostics: &mut Diagnostics,
) -> Vec<NotifyTarget> {
    let mut targets = Vec::new();
    for raw in raw {
        let kind = *raw.kind.get_ref();
        let url = match (raw.url, raw.url_env) {
            (Some(url), None) => {
                let ok = url::Url::parse(url.get_ref())
                    .is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
                if !ok {
                    diagnostics.push(file.diagnostic(
                        url.span(),
                        format!("`{}` is not an http(s) address", url.get_ref()),
                        Some("`url = \"https://hooks.example.gov.vn/stagegate\"`".into()),
                    ));
                    continue;
                }
                NotifyUrl::Literal(url.into_inner())
            }
            (None, Some(var)) => NotifyUrl::Env(var.into_inner()),
            (Some(url), Some(_)) => {
                diagnostics.push(file.diagnostic(
                    url.span(),
                    "give `url` or `url-env`, not both",
                    None,
                ));
                continue;
            }
            (None, None) => {
                diagnostics.push(file.diagnostic(
                    raw.kind.span(),
                    "a `[[notify]]` target needs `url` or `url-env`",
                    Some("`url-env = \"SLACK_WEBHOOK_URL\"` (the address is a secret)".into()),
                ));
                continue;
            }
        };
        if let (NotifyKind::Slack, Some(secret)) = (kind, &raw.secret_env) {
            diagnostics.push(file.diagnostic(
                secret.span(),
                "`secret-env` signs `webhook` targets only; Slack checks its own address",
                None,
            ));
            continue;
        }
        targets.push(NotifyTarget {
            kind,
            url,
            on: raw.on.unwrap_or_else(|| NotifyEvent::ALL.to_vec()),
            secret_env: raw.secret_env.map(Spanned::into_inner),
        });
    }
    targets
}
