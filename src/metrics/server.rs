//! Takes an address and a function that renders metrics in the Prometheus text
//! format, gives a running `/metrics` endpoint on axum that counts its scrapes (so a
//! run can wait until its final values were scraped).

use super::MetricsError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Renders the metrics text; may block (it runs on a blocking thread).
pub type Render = Arc<dyn Fn() -> Result<String, MetricsError> + Send + Sync>;

/// The content type of the Prometheus text format 0.0.4.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Clone)]
struct Shared {
    render: Render,
    started: Arc<AtomicU64>,
    completed: Arc<AtomicU64>,
}

/// A running `/metrics` endpoint; stops when dropped or stopped.
pub struct MetricsServer {
    /// The bound address.
    pub addr: SocketAddr,
    started: Arc<AtomicU64>,
    completed: Arc<AtomicU64>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl MetricsServer {
    /// Binds `addr` (port 0 picks a free port) and serves `GET /metrics`.
    pub async fn start(addr: SocketAddr, render: Render) -> Result<MetricsServer, MetricsError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| MetricsError::Listen { addr, source })?;
        let bound = listener
            .local_addr()
            .map_err(|source| MetricsError::Listen { addr, source })?;
        let shared = Shared {
            render,
            started: Arc::new(AtomicU64::new(0)),
            completed: Arc::new(AtomicU64::new(0)),
        };
        let (started, completed) = (shared.started.clone(), shared.completed.clone());
        let app = Router::new()
            .route("/metrics", get(metrics))
            .with_state(shared);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(MetricsServer {
            addr: bound,
            started,
            completed,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// Waits until a scrape that began after this call has been answered, at most
    /// `limit`; returns whether one was.
    pub async fn wait_for_next_scrape(&self, limit: Duration) -> bool {
        let mark = self.started.load(Ordering::SeqCst);
        // Polling every 50 ms: a scrape is noticed well within a 1 s scrape interval,
        // and the loop ends at `limit` whatever happens.
        let polls = (limit.as_millis() / 50).max(1);
        for _ in 0..polls {
            if self.completed.load(Ordering::SeqCst) > mark {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.completed.load(Ordering::SeqCst) > mark
    }

    /// Stops serving and waits for the server task.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            // A scraper's keep-alive connection must not hold the process: give open
            // connections a moment, then leave.
            let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
        }
    }

    /// Serves until the task ends (for `stagegate serve`).
    pub async fn wait(mut self) {
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

async fn metrics(State(shared): State<Shared>) -> Response {
    shared.started.fetch_add(1, Ordering::SeqCst);
    let render = shared.render.clone();
    let rendered = tokio::task::spawn_blocking(move || render()).await;
    let response = match rendered {
        Ok(Ok(text)) => ([("content-type", CONTENT_TYPE)], text).into_response(),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "metrics rendering failed\n",
        )
            .into_response(),
    };
    shared.completed.fetch_add(1, Ordering::SeqCst);
    response
}
