//! Takes a check id as written in a suite, a report or the command line, gives a
//! [`CheckId`]: the typed name of one built-in security check. Every id is listed here
//! once, with its text; the security catalogue gives each one its data (a unit test
//! there checks the two lists are the same). Code that branches on a check matches on
//! the enum, never on its text.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// What a check needs from the suite's `[accounts]` table before it can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountNeed {
    /// Only a login (failed logins are sent as an account that cannot exist).
    Login,
    /// An object of account A to read: `create` and `object`.
    Object,
    /// An object, and a login body that yields an already-expired token.
    ObjectAndExpiredLogin,
    /// Officer endpoints to call with a citizen's token.
    Officer,
}

macro_rules! check_ids {
    ($($variant:ident => $text:literal,)*) => {
        /// One built-in security check.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum CheckId {
            $(
                #[doc = concat!("`", $text, "`")]
                $variant,
            )*
        }

        impl CheckId {
            /// Every check id, in catalogue order.
            pub const ALL: &'static [CheckId] = &[$(CheckId::$variant,)*];

            /// The id as written in suites and reports.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(CheckId::$variant => $text,)*
                }
            }
        }
    };
}

check_ids! {
    HeaderCsp => "header.csp",
    HeaderClickjacking => "header.clickjacking",
    HeaderXContentTypeOptions => "header.x-content-type-options",
    HeaderHsts => "header.hsts",
    HeaderCookieFlags => "header.cookie-flags",
    HeaderReferrerPolicy => "header.referrer-policy",
    DisclosureServerVersion => "disclosure.server-version",
    DisclosureVerboseErrors => "disclosure.verbose-errors",
    CorsOriginReflection => "cors.origin-reflection",
    CorsWildcard => "cors.wildcard",
    CorsNullOrigin => "cors.null-origin",
    TransportPlainHttp => "transport.plain-http",
    TlsCertificate => "tls.certificate",
    ContentMixed => "content.mixed",
    ExposureGit => "exposure.git",
    ExposureSvn => "exposure.svn",
    ExposureHg => "exposure.hg",
    ExposureDsStore => "exposure.ds-store",
    ExposureEditorBackup => "exposure.editor-backup",
    ExposureEnv => "exposure.env",
    ExposureBackup => "exposure.backup",
    ExposureApiDocs => "exposure.api-docs",
    ExposureDirectoryListing => "exposure.directory-listing",
    DebugDjango => "debug.django",
    DebugWerkzeug => "debug.werkzeug",
    DebugLaravel => "debug.laravel",
    DebugSymfony => "debug.symfony",
    DebugSpring => "debug.spring",
    DebugAspnet => "debug.aspnet",
    DebugRails => "debug.rails",
    DebugExpress => "debug.express",
    DebugPhpErrors => "debug.php-errors",
    DebugPhpinfo => "debug.phpinfo",
    StatusApache => "status.apache",
    StatusNginx => "status.nginx",
    StatusPrometheusMetrics => "status.prometheus-metrics",
    StatusPprof => "status.pprof",
    StatusActuator => "status.actuator",
    StatusObservabilityApi => "status.observability-api",
    AdminConsole => "admin.console",
    DefaultInstallPage => "default.install-page",
    RedirectOpen => "redirect.open",
    MethodTrace => "method.trace",
    AuthMissing => "auth.missing",
    AuthTamperedToken => "auth.tampered-token",
    AuthAlgNone => "auth.alg-none",
    AuthExpiredToken => "auth.expired-token",
    AuthzObjectLevel => "authz.object-level",
    AuthzFunctionLevel => "authz.function-level",
    ExposureExcessiveData => "exposure.excessive-data",
    CacheSensitive => "cache.sensitive",
    RatelimitMissing => "ratelimit.missing",
}

impl CheckId {
    /// What the check needs from `[accounts]`; `None` for checks that need no account.
    pub fn account_need(self) -> Option<AccountNeed> {
        match self {
            CheckId::RatelimitMissing => Some(AccountNeed::Login),
            CheckId::AuthzFunctionLevel => Some(AccountNeed::Officer),
            CheckId::AuthExpiredToken => Some(AccountNeed::ObjectAndExpiredLogin),
            CheckId::AuthMissing
            | CheckId::AuthTamperedToken
            | CheckId::AuthAlgNone
            | CheckId::AuthzObjectLevel
            | CheckId::ExposureExcessiveData
            | CheckId::CacheSensitive => Some(AccountNeed::Object),
            _ => None,
        }
    }
}

/// A text that names no built-in check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown security check `{0}`")]
pub struct UnknownCheckId(pub String);

impl FromStr for CheckId {
    type Err = UnknownCheckId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CheckId::ALL
            .iter()
            .copied()
            .find(|id| id.as_str() == s)
            .ok_or_else(|| UnknownCheckId(s.to_string()))
    }
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CheckId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CheckId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_reads_back_and_unknown_ones_are_refused() {
        for id in CheckId::ALL {
            assert_eq!(id.as_str().parse::<CheckId>(), Ok(*id));
            assert!(id.as_str().contains('.'), "{id}");
        }
        assert_eq!(
            "header.nope".parse::<CheckId>(),
            Err(UnknownCheckId("header.nope".into()))
        );
        let json = serde_json::to_string(&CheckId::ExposureGit).unwrap_or_default();
        assert_eq!(json, "\"exposure.git\"");
    }
}
