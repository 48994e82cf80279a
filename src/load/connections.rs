//! Takes the load's connection bound, gives what every virtual user sends through: one
//! fenced HTTP client shared by all users, a cookie jar of each user's own, and the
//! permits that bound requests in flight.
//!
//! Why one client: a reqwest client per user costs about 155 KB and keeps that user's
//! connection open while the user thinks, so 25,000 users needed 25,000 descriptors and
//! several GB. One client has one pool: a thinking user holds nothing, and the pool keeps
//! at most [`ConnectionBound`] idle connections for whoever sends next.
//!
//! Why cookies still belong to each user: a shared client has one cookie store, and the
//! suites' sessions (log in, then act as that citizen) need a jar per user. The client's
//! store looks up the jar of the user whose request is being sent, through a task-local
//! that [`send_as`] sets around the request. reqwest consults its store below its
//! redirect layer, inside the request future, so a `Set-Cookie` on a redirect (the usual
//! log-in answer) lands in the right jar as it did with a client per user.

use crate::http_model::origin;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::HeaderValue;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, SemaphorePermit};

/// How long a connection may wait unused in the shared pool. Any user may take it, so a
/// pool that keeps its connections serves a crowd of thinking users with few of them;
/// 30 s outlives a think time of a few seconds and stays under the keep-alive timeouts
/// most servers use by default (nginx 75 s), so the server rarely closes one under us.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

tokio::task_local! {
    /// The jar of the virtual user whose request the current task is sending.
    static USER_JAR: Arc<Jar>;
}

/// One virtual user's cookies, kept in its goose session data.
#[derive(Clone, Default)]
pub(super) struct UserCookies(Arc<Jar>);

/// The shared client's cookie store: each call goes to the jar of the user being served;
/// outside [`send_as`] there is no user, and nothing is stored or sent.
struct PerUserCookies;

impl CookieStore for PerUserCookies {
    fn set_cookies(&self, headers: &mut dyn Iterator<Item = &HeaderValue>, url: &url::Url) {
        let _ = USER_JAR.try_with(|jar| jar.set_cookies(headers, url));
    }

    fn cookies(&self, url: &url::Url) -> Option<HeaderValue> {
        USER_JAR.try_with(|jar| jar.cookies(url)).ok().flatten()
    }
}

/// Sends `request` (a future that uses the shared client) with `cookies` as the jar.
pub(super) async fn send_as<F: Future>(cookies: Option<UserCookies>, request: F) -> F::Output {
    match cookies {
        Some(UserCookies(jar)) => USER_JAR.scope(jar, request).await,
        None => request.await,
    }
}

/// The shared client and the bound on its requests in flight.
pub(super) struct SharedPool {
    /// The fenced client every user sends through.
    pub(super) client: reqwest::Client,
    /// Requests in flight at once, across all users.
    pub(super) bound: ConnectionBound,
}

impl SharedPool {
    /// A pool of at most `bound` requests in flight and as many idle connections.
    pub(super) fn new(bound: usize) -> Result<SharedPool, reqwest::Error> {
        Ok(SharedPool {
            client: shared_client(bound)?,
            bound: ConnectionBound::new(bound),
        })
    }
}

/// The client every user shares: behind the origin fence (same-origin redirects only,
/// at most [`origin::MAX_REDIRECTS`]), a connect timeout so an unanswered SYN cannot hold
/// a user, per-user cookies, and at most `max_idle` idle connections kept.
fn shared_client(max_idle: usize) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(origin::redirect_policy())
        .connect_timeout(origin::CONNECT_TIMEOUT)
        .timeout(super::REQUEST_TIMEOUT)
        .user_agent(concat!("stagegate/", env!("CARGO_PKG_VERSION")))
        .cookie_provider(Arc::new(PerUserCookies))
        .pool_max_idle_per_host(max_idle)
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .build()
}

/// At most this many requests in flight at once, so at most this many connections are
/// busy; with the idle pool held to the same number, a crowd of thinking users needs
/// descriptors for the bound, not for each user.
pub(super) struct ConnectionBound {
    permits: Semaphore,
}

impl ConnectionBound {
    /// A bound of `size` requests in flight (at least one).
    pub(super) fn new(size: usize) -> ConnectionBound {
        ConnectionBound {
            permits: Semaphore::new(size.clamp(1, Semaphore::MAX_PERMITS)),
        }
    }

    /// Waits for room to send; the request may go while the permit is held. `None` once
    /// the bound is [closed](ConnectionBound::close): the load is over and the request is
    /// not sent.
    pub(super) async fn acquire(&self) -> Option<SemaphorePermit<'_>> {
        self.permits.acquire().await.ok()
    }

    /// Ends the wait of every user queued for a connection, and of any that comes later.
    /// For the end of the load: goose tells its users to stop between requests, which a
    /// user queued here never reaches until it has sent; when the target or the engine
    /// falls behind, thousands are queued, and sending them all (each after the last)
    /// would run the load on far past its end — past the stop guards, with the run's
    /// measurements thrown away (issue 16: 50,000 users on a debug build, exit 5).
    pub(super) fn close(&self) {
        self.permits.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_user_keeps_its_own_cookies_through_one_client() {
        let url = url::Url::parse("http://127.0.0.1/").expect("url");
        let a = UserCookies::default();
        let b = UserCookies::default();
        let store = PerUserCookies;
        let set = HeaderValue::from_static("session=alice; Path=/");
        send_as(Some(a.clone()), async {
            store.set_cookies(&mut std::iter::once(&set), &url);
        })
        .await;
        let seen_by_a = send_as(Some(a), async { store.cookies(&url) }).await;
        let seen_by_b = send_as(Some(b), async { store.cookies(&url) }).await;
        assert_eq!(
            seen_by_a.as_ref().and_then(|v| v.to_str().ok()),
            Some("session=alice")
        );
        assert!(seen_by_b.is_none(), "another user's jar stays empty");
        assert!(store.cookies(&url).is_none(), "no user, no cookies");
    }

    #[tokio::test]
    async fn the_bound_holds_requests_in_flight() {
        let bound = ConnectionBound::new(2);
        let first = bound.acquire().await;
        let second = bound.acquire().await;
        assert!(first.is_some() && second.is_some());
        let third = tokio::time::timeout(Duration::from_millis(50), bound.acquire()).await;
        assert!(
            third.is_err(),
            "a third request waits while two are in flight"
        );
        drop(first);
        let third = tokio::time::timeout(Duration::from_millis(500), bound.acquire()).await;
        assert!(matches!(third, Ok(Some(_))));
    }

    #[tokio::test]
    async fn closing_the_bound_ends_every_wait_for_a_connection() {
        let bound = std::sync::Arc::new(ConnectionBound::new(1));
        let held = bound.acquire().await;
        assert!(held.is_some());
        let waiting = {
            let bound = bound.clone();
            tokio::spawn(async move { bound.acquire().await.is_some() })
        };
        tokio::task::yield_now().await;
        bound.close();
        // Never wall-clock bound: the waiter must end with no permit, not time out.
        assert!(
            !waiting.await.expect("the waiter ends"),
            "no permit after close"
        );
        assert!(bound.acquire().await.is_none(), "nor for a later sender");
        drop(held);
    }
}
