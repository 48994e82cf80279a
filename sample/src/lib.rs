//! The sample government system: a small public-service portal (search administrative
//! procedures, log in as a test citizen, submit a dossier, track it, health, version
//! and server-side metrics) on axum. Deterministic, and able to misbehave on request
//! (added latency, an exact error rate, named security flaws) so every gate and check
//! can be shown failing for a real reason.

pub mod cli;
mod data;
mod flaws;
mod metrics;
mod pages;
pub mod route_list;
mod routes;
mod token;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// A named security flaw the sample system can be told to have; each shows one or more
/// built-in checks failing for a real reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Flaw {
    /// No X-Content-Type-Options, CSP or frame protection on pages.
    MissingSecurityHeaders,
    /// A CSP that allows `*`, `'unsafe-inline'` and `'unsafe-eval'` scripts.
    WeakCsp,
    /// The home page's cookie lacks HttpOnly and SameSite.
    InsecureCookie,
    /// `Server: nginx/1.18.0` and `X-Powered-By: Express 4.17.1`.
    ServerVersion,
    /// Malformed JSON is answered with a stack trace and the request headers.
    VerboseErrors,
    /// CORS echoes any `Origin` with credentials allowed.
    CorsReflect,
    /// `Access-Control-Allow-Origin: *`.
    CorsWildcard,
    /// Serves `/.git/config`.
    ExposedGit,
    /// Serves `/.env` with secrets in it.
    ExposedEnv,
    /// Serves a database dump at `/backup.sql`.
    ExposedBackup,
    /// Serves its OpenAPI document at `/openapi.json`.
    ExposedApiDocs,
    /// Lists `/uploads/`.
    DirectoryListing,
    /// Answers TRACE by echoing the request.
    TraceEnabled,
    /// Dossiers can be read with no token at all.
    MissingAuth,
    /// Token signatures are not checked.
    UncheckedTokenSignature,
    /// Unsigned `alg: none` tokens are accepted.
    JwtAlgNone,
    /// Expired tokens are accepted.
    ExpiredTokenAccepted,
    /// Any logged-in citizen can read any dossier.
    Idor,
    /// A citizen's token is accepted on the officer endpoint.
    OfficerEndpointOpen,
    /// Dossiers carry the owner's password hash and internal notes.
    ExcessiveData,
    /// Personal answers are sent with `Cache-Control: public`.
    CacheableResponses,
    /// Failed logins are never limited.
    NoRateLimit,
    /// Missing pages answer with Django's DEBUG 404 page, listing every URL pattern.
    DjangoDebug,
    /// `/console` serves the Werkzeug interactive debugger.
    WerkzeugDebugger,
    /// `/server-status` serves Apache's status page.
    ExposedServerStatus,
    /// `/actuator` and `/actuator/env` answer without authentication.
    ExposedActuator,
    /// `/manager/html` serves an open Tomcat manager.
    AdminConsole,
    /// The home page is nginx's default page.
    DefaultPage,
    /// `/.git/` is listed.
    GitListing,
    /// `.svn/wc.db`, `.hg/requires` and `.DS_Store` are served.
    VcsLeftovers,
    /// A backup of a page's template sits next to it (`/gioi-thieu.html.bak`).
    EditorLeftovers,
    /// CORS echoes any `Origin` with credentials on `/api/` paths only.
    CorsApi,
    /// `/chuyen-tiep?url=` redirects to any site.
    OpenRedirect,
}

impl Flaw {
    /// Every flaw with its name.
    pub const ALL: [(Flaw, &'static str); 33] = [
        (Flaw::MissingSecurityHeaders, "missing-security-headers"),
        (Flaw::WeakCsp, "weak-csp"),
        (Flaw::InsecureCookie, "insecure-cookie"),
        (Flaw::ServerVersion, "server-version"),
        (Flaw::VerboseErrors, "verbose-errors"),
        (Flaw::CorsReflect, "cors-reflect"),
        (Flaw::CorsWildcard, "cors-wildcard"),
        (Flaw::ExposedGit, "exposed-git"),
        (Flaw::ExposedEnv, "exposed-env"),
        (Flaw::ExposedBackup, "exposed-backup"),
        (Flaw::ExposedApiDocs, "exposed-api-docs"),
        (Flaw::DirectoryListing, "directory-listing"),
        (Flaw::TraceEnabled, "trace-enabled"),
        (Flaw::MissingAuth, "missing-auth"),
        (Flaw::UncheckedTokenSignature, "unchecked-token-signature"),
        (Flaw::JwtAlgNone, "jwt-alg-none"),
        (Flaw::ExpiredTokenAccepted, "expired-token-accepted"),
        (Flaw::Idor, "idor"),
        (Flaw::OfficerEndpointOpen, "officer-endpoint-open"),
        (Flaw::ExcessiveData, "excessive-data"),
        (Flaw::CacheableResponses, "cacheable-responses"),
        (Flaw::NoRateLimit, "no-rate-limit"),
        (Flaw::DjangoDebug, "django-debug"),
        (Flaw::WerkzeugDebugger, "werkzeug-debugger"),
        (Flaw::ExposedServerStatus, "exposed-server-status"),
        (Flaw::ExposedActuator, "exposed-actuator"),
        (Flaw::AdminConsole, "admin-console"),
        (Flaw::DefaultPage, "default-page"),
        (Flaw::GitListing, "git-listing"),
        (Flaw::VcsLeftovers, "vcs-leftovers"),
        (Flaw::EditorLeftovers, "editor-leftovers"),
        (Flaw::CorsApi, "cors-api"),
        (Flaw::OpenRedirect, "open-redirect"),
    ];

    /// The flaw's name on the command line.
    pub fn name(self) -> &'static str {
        Flaw::ALL
            .iter()
            .find(|(f, _)| *f == self)
            .map_or("", |(_, n)| n)
    }
}

impl FromStr for Flaw {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Flaw::ALL
            .iter()
            .find(|(_, n)| *n == s)
            .map(|(f, _)| *f)
            .ok_or_else(|| {
                format!(
                    "unknown flaw `{s}` (expected one of {})",
                    Flaw::ALL.map(|(_, n)| format!("`{n}`")).join(", ")
                )
            })
    }
}

/// How the sample system behaves.
#[derive(Debug, Clone)]
pub struct Behaviour {
    /// The release it reports at `/api/phien-ban`.
    pub version: String,
    /// Added to every API response.
    pub latency: Duration,
    /// Fraction of API requests answered with 500, spread evenly (exactly 1 in 20 for 0.05).
    pub error_rate: f64,
    /// Security flaws.
    pub flaws: BTreeSet<Flaw>,
    /// When set, every `/api/` request must carry `X-Api-Key` with this value.
    pub api_key: Option<String>,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            version: "1.0.0".into(),
            latency: Duration::ZERO,
            error_rate: 0.0,
            flaws: BTreeSet::new(),
            api_key: None,
        }
    }
}

/// A handle to change a running instance, as a deployment would.
#[derive(Clone)]
pub struct Control {
    behaviour: Arc<RwLock<Behaviour>>,
}

impl Control {
    /// Deploys a release: new version, latency and error rate.
    pub fn deploy(&self, version: &str, latency: Duration, error_rate: f64) {
        let mut b = match self.behaviour.write() {
            Ok(b) => b,
            Err(poisoned) => poisoned.into_inner(),
        };
        b.version = version.to_string();
        b.latency = latency;
        b.error_rate = error_rate;
    }

    /// The current behaviour.
    pub fn behaviour(&self) -> Behaviour {
        match self.behaviour.read() {
            Ok(b) => b.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// A running instance.
pub struct RunningSample {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Changes its behaviour.
    pub control: Control,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningSample {
    /// `http://addr`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving and waits for the server to end.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }

    /// Serves until the task ends (for the `sample-system` command).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// Starts the sample system on `addr` (use port 0 for an ephemeral port).
pub async fn start(addr: SocketAddr, behaviour: Behaviour) -> std::io::Result<RunningSample> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let control = Control {
        behaviour: Arc::new(RwLock::new(behaviour)),
    };
    let app = routes::router(control.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Ok(RunningSample {
        addr,
        control,
        shutdown: Some(tx),
        task,
    })
}
