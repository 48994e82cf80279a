//! Takes a catalogue entry and a [`Context`] (the scanner, the site discovery found
//! and, when the suite has them, its test accounts), gives the check's findings. One
//! file per family of checks; each judges on content (a header value, a reflected
//! unguessable value, a file's signature, a framework's own page, an account's own
//! view), never on a status code alone.

mod auth;
mod content;
mod cors;
mod debug;
mod exposure;
mod headers;
mod leftovers;
mod methods;
mod redirect;
mod status;
mod transport;

use super::catalogue::{CheckId, CheckInfo};
use super::discovery::{self, Site};
use super::outcome::Finding;
use super::scanner::{Exchange, FetchError, Scanner};
use crate::config::security_suite::AccountsSpec;
use std::sync::Arc;

pub(crate) use auth::{auth_header, Session, SESSION_REQUESTS};
pub(crate) use transport::certificate_problem;

/// What checks share during one run.
pub(crate) struct Context<'a> {
    /// Sends the requests.
    pub scanner: Scanner,
    /// The suite's test accounts.
    pub accounts: Option<&'a AccountsSpec>,
    /// The logged-in accounts and their object, made once on first use.
    session: Option<Result<Session, String>>,
    /// What discovery found, made once on first use.
    site: Option<Result<Arc<Site>, FetchError>>,
}

impl<'a> Context<'a> {
    /// A context with no session and no discovery yet.
    pub fn new(scanner: Scanner, accounts: Option<&'a AccountsSpec>) -> Context<'a> {
        Context {
            scanner,
            accounts,
            session: None,
            site: None,
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

    /// The site, discovered on first use.
    pub async fn site(&mut self) -> Result<Arc<Site>, FetchError> {
        if self.site.is_none() {
            let found = discovery::discover(&mut self.scanner).await.map(Arc::new);
            self.site = Some(found);
        }
        match &self.site {
            Some(found) => found.clone(),
            None => Err(FetchError::Transport("discovery did not run".into())),
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

/// The answer to a page that cannot exist, asked once per run: what a catch-all route
/// answers everywhere, and where error pages show themselves.
pub(crate) async fn missing_page(scanner: &mut Scanner) -> Result<Exchange, FetchError> {
    scanner
        .shared(
            "missing-page",
            &format!("/stagegate-no-such-page-{}", unguessable()),
            &[],
        )
        .await
}

/// Runs one built-in check.
pub(crate) async fn run(
    context: &mut Context<'_>,
    info: &CheckInfo,
) -> Result<Vec<Finding>, FetchError> {
    use CheckId::*;
    match info.id {
        HeaderCsp
        | HeaderClickjacking
        | HeaderXContentTypeOptions
        | HeaderHsts
        | HeaderCookieFlags
        | HeaderReferrerPolicy
        | DisclosureServerVersion => {
            let site = context.site().await?;
            headers::run(&context.scanner, &site, info)
        }
        ContentMixed | DefaultInstallPage => {
            let site = context.site().await?;
            content::run(&context.scanner, &site, info)
        }
        CorsOriginReflection | CorsWildcard | CorsNullOrigin => {
            let site = context.site().await?;
            cors::run(&mut context.scanner, &site, info).await
        }
        TransportPlainHttp | TlsCertificate => transport::run(&mut context.scanner, info).await,
        ExposureGit | ExposureEnv | ExposureBackup | ExposureApiDocs => {
            exposure::run(&mut context.scanner, None, info).await
        }
        ExposureDirectoryListing => {
            let site = context.site().await?;
            exposure::run(&mut context.scanner, Some(&site), info).await
        }
        ExposureSvn | ExposureHg | ExposureDsStore => {
            leftovers::run(&mut context.scanner, None, info).await
        }
        ExposureEditorBackup => {
            let site = context.site().await?;
            leftovers::run(&mut context.scanner, Some(&site), info).await
        }
        DebugDjango | DebugWerkzeug | DebugLaravel | DebugSymfony | DebugSpring | DebugAspnet
        | DebugRails | DebugExpress | DebugPhpErrors | DebugPhpinfo => {
            let site = context.site().await?;
            debug::run(&mut context.scanner, &site, info).await
        }
        StatusApache
        | StatusNginx
        | StatusPrometheusMetrics
        | StatusPprof
        | StatusActuator
        | StatusObservabilityApi
        | AdminConsole => status::run(&mut context.scanner, info).await,
        RedirectOpen => {
            let site = context.site().await?;
            redirect::run(&mut context.scanner, &site, info).await
        }
        MethodTrace | DisclosureVerboseErrors => {
            let login = context.accounts.map(|a| a.login.path.clone());
            methods::run(&mut context.scanner, info, login.as_deref()).await
        }
        AuthMissing
        | AuthTamperedToken
        | AuthAlgNone
        | AuthExpiredToken
        | AuthzObjectLevel
        | AuthzFunctionLevel
        | ExposureExcessiveData
        | CacheSensitive
        | RatelimitMissing => auth::run(context, info).await,
    }
}
