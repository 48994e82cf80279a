//! The sample portal's HTTP routes and its misbehaviour layer.

use super::data::{self, Procedure};
use super::{Control, Flaw};
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Dossiers kept in memory; the oldest are forgotten beyond this so a long soak
/// cannot grow the sample system without bound.
const MAX_DOSSIERS: usize = 200_000;
/// Distinct citizen names kept for `/__mau/ten-da-nhan`, which lets tests check that
/// names arrived byte-exact; bounded like the dossiers.
const MAX_NAMES_KEPT: usize = 10_000;

struct Dossier {
    owner: String,
    ho_ten: String,
    ma_thu_tuc: String,
}

struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
}

impl Metrics {
    fn new() -> Option<Metrics> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "sample_http_requests_total",
                "HTTP requests served by the sample portal, by route and status code.",
            ),
            &["route", "status"],
        )
        .ok()?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "sample_http_request_duration_seconds",
                "Time to answer a request, by route.",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["route"],
        )
        .ok()?;
        registry.register(Box::new(requests.clone())).ok()?;
        registry.register(Box::new(duration.clone())).ok()?;
        Some(Metrics {
            registry,
            requests,
            duration,
        })
    }
}

pub(super) struct AppState {
    control: Control,
    procedures: Vec<Procedure>,
    citizens: HashMap<String, String>,
    salt: u64,
    tokens: Mutex<HashMap<String, String>>,
    dossiers: Mutex<(HashMap<String, Dossier>, VecDeque<String>)>,
    next_dossier: AtomicU64,
    received_names: Mutex<BTreeSet<String>>,
    api_requests: AtomicU64,
    metrics: Option<Metrics>,
}

type Shared = Arc<AppState>;

pub(super) fn router(control: Control) -> Router {
    let state = Arc::new(AppState {
        control,
        procedures: data::procedures(),
        citizens: data::citizens()
            .into_iter()
            .map(|c| (c.so_cccd, c.ho_ten))
            .collect(),
        salt: rand::random(),
        tokens: Mutex::new(HashMap::new()),
        dossiers: Mutex::new((HashMap::new(), VecDeque::new())),
        next_dossier: AtomicU64::new(1),
        received_names: Mutex::new(BTreeSet::new()),
        api_requests: AtomicU64::new(0),
        metrics: Metrics::new(),
    });
    Router::new()
        .route("/", get(home))
        .route("/health", get(|| async { Json(json!({ "status": "ok" })) }))
        .route("/metrics", get(metrics))
        .route("/api/phien-ban", get(version))
        .route("/api/thu-tuc", get(search))
        .route("/api/thu-tuc/{ma}", get(procedure))
        .route("/api/dang-nhap", post(login))
        .route("/api/ho-so", post(submit))
        .route("/api/ho-so/{ma}", get(dossier))
        .route("/__mau/ten-da-nhan", get(received_names))
        .route("/.git/config", get(git_config))
        .route("/.env", get(dot_env))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), misbehave))
        .with_state(state)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Latency, errors, API key and security headers, applied around every route.
async fn misbehave(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let behaviour = state.control.behaviour();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let is_api = route.starts_with("/api/");
    let mut response = if is_api
        && behaviour.api_key.as_deref().is_some_and(|key| {
            request
                .headers()
                .get("x-api-key")
                .and_then(|v| v.to_str().ok())
                != Some(key)
        }) {
        (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "thiếu hoặc sai khoá API" })),
        )
            .into_response()
    } else if is_api && route != "/api/phien-ban" {
        if !behaviour.latency.is_zero() {
            tokio::time::sleep(behaviour.latency).await;
        }
        let n = state.api_requests.fetch_add(1, Ordering::Relaxed);
        // Spread failures evenly: request n fails when the running count of expected
        // failures steps up, so a rate of 0.05 fails exactly 1 request in 20.
        let fails = ((n + 1) as f64 * behaviour.error_rate).floor()
            > (n as f64 * behaviour.error_rate).floor();
        if fails {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({ "error": "lỗi hệ thống" })),
            )
                .into_response()
        } else {
            next.run(request).await
        }
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    if !behaviour.flaws.contains(&Flaw::MissingSecurityHeaders) {
        headers.insert(
            "x-content-type-options",
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(
            "content-security-policy",
            HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'"),
        );
        headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    }
    if behaviour.flaws.contains(&Flaw::ServerVersion) {
        headers.insert("server", HeaderValue::from_static("nginx/1.18.0"));
        headers.insert("x-powered-by", HeaderValue::from_static("Express 4.17.1"));
    }
    if let Some(m) = &state.metrics {
        m.requests
            .with_label_values(&[route.as_str(), response.status().as_str()])
            .inc();
        m.duration
            .with_label_values(&[route.as_str()])
            .observe(started.elapsed().as_secs_f64());
    }
    response
}

async fn home() -> Html<&'static str> {
    Html(
        "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"><title>Cổng Dịch vụ công (mẫu)</title></head>\
         <body><h1>Cổng Dịch vụ công quốc gia — hệ thống mẫu</h1><p>Tra cứu thủ tục, nộp hồ sơ trực tuyến, theo dõi trạng thái.</p></body></html>",
    )
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": "không tìm thấy" })),
    )
        .into_response()
}

async fn metrics(State(state): State<Shared>) -> Response {
    let Some(m) = &state.metrics else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "metrics unavailable").into_response();
    };
    let mut buffer = Vec::new();
    if TextEncoder::new()
        .encode(&m.registry.gather(), &mut buffer)
        .is_err()
    {
        return (StatusCode::INTERNAL_SERVER_ERROR, "metrics unavailable").into_response();
    }
    ([("content-type", "text/plain; version=0.0.4")], buffer).into_response()
}

async fn version(State(state): State<Shared>) -> Json<serde_json::Value> {
    Json(json!({ "system": "dichvucong", "version": state.control.behaviour().version }))
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

async fn search(
    State(state): State<Shared>,
    Query(query): Query<SearchQuery>,
) -> Json<serde_json::Value> {
    let needle = query.q.to_lowercase();
    let found: Vec<&Procedure> = state
        .procedures
        .iter()
        .filter(|p| p.ten_thu_tuc.to_lowercase().contains(&needle))
        .collect();
    Json(json!({ "tong_so": found.len(), "ket_qua": found }))
}

async fn procedure(State(state): State<Shared>, Path(ma): Path<String>) -> Response {
    match state.procedures.iter().find(|p| p.ma_thu_tuc == ma) {
        Some(p) => Json(p).into_response(),
        None => not_found().await,
    }
}

#[derive(Deserialize)]
struct LoginBody {
    so_cccd: String,
}

async fn login(State(state): State<Shared>, Json(body): Json<LoginBody>) -> Response {
    if !state.citizens.contains_key(&body.so_cccd) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "công dân không tồn tại" })),
        )
            .into_response();
    }
    let mut h = Sha256::new();
    h.update(state.salt.to_be_bytes());
    h.update(body.so_cccd.as_bytes());
    let token = hex::encode(&h.finalize()[..16]);
    lock(&state.tokens).insert(token.clone(), body.so_cccd);
    Json(json!({ "token": token })).into_response()
}

fn citizen_of(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let token = headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    lock(&state.tokens).get(token).cloned()
}

#[derive(Deserialize)]
struct SubmitBody {
    ma_thu_tuc: String,
    ho_ten: String,
}

async fn submit(
    State(state): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<SubmitBody>,
) -> Response {
    let Some(owner) = citizen_of(&state, &headers) else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "cần đăng nhập" })),
        )
            .into_response();
    };
    if !state
        .procedures
        .iter()
        .any(|p| p.ma_thu_tuc == body.ma_thu_tuc)
    {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "mã thủ tục không hợp lệ" })),
        )
            .into_response();
    }
    {
        let mut names = lock(&state.received_names);
        if names.len() < MAX_NAMES_KEPT {
            names.insert(body.ho_ten.clone());
        }
    }
    let ma = format!(
        "HS-{:08}",
        state.next_dossier.fetch_add(1, Ordering::Relaxed)
    );
    {
        let mut store = lock(&state.dossiers);
        let (map, order) = &mut *store;
        map.insert(
            ma.clone(),
            Dossier {
                owner,
                ho_ten: body.ho_ten.clone(),
                ma_thu_tuc: body.ma_thu_tuc.clone(),
            },
        );
        order.push_back(ma.clone());
        while order.len() > MAX_DOSSIERS {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
    }
    (
        StatusCode::CREATED,
        Json(json!({ "ma_ho_so": ma, "trang_thai": "da-tiep-nhan", "ho_ten": body.ho_ten })),
    )
        .into_response()
}

async fn dossier(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(ma): Path<String>,
) -> Response {
    let Some(citizen) = citizen_of(&state, &headers) else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "cần đăng nhập" })),
        )
            .into_response();
    };
    let idor = state.control.behaviour().flaws.contains(&Flaw::Idor);
    let store = lock(&state.dossiers);
    match store.0.get(&ma) {
        Some(d) if d.owner == citizen || idor => Json(json!({
            "ma_ho_so": ma, "trang_thai": "dang-xu-ly", "ho_ten": d.ho_ten, "ma_thu_tuc": d.ma_thu_tuc, "so_cccd": d.owner
        }))
        .into_response(),
        // Someone else's dossier answers exactly like a missing one: no existence oracle.
        _ => (StatusCode::NOT_FOUND, Json(json!({ "error": "không tìm thấy" }))).into_response(),
    }
}

async fn git_config(State(state): State<Shared>) -> Response {
    if state.control.behaviour().flaws.contains(&Flaw::ExposedGit) {
        "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n[remote \"origin\"]\n\turl = git@git.example.gov.vn:dvc/portal.git\n".into_response()
    } else {
        not_found().await
    }
}

async fn dot_env(State(state): State<Shared>) -> Response {
    if state.control.behaviour().flaws.contains(&Flaw::ExposedEnv) {
        "DATABASE_URL=postgres://dvc:matkhau@db/dvc\nJWT_SECRET=khong-duoc-lo\n".into_response()
    } else {
        not_found().await
    }
}

/// The distinct names received in dossiers, exactly as they arrived (test introspection).
async fn received_names(State(state): State<Shared>) -> Json<Vec<String>> {
    Json(lock(&state.received_names).iter().cloned().collect())
}
