//! The sample portal's HTTP routes and its misbehaviour layer.

use super::data::{self, Procedure};
use super::metrics::Metrics;
use super::token::{self, Claims, Leniency};
use super::{flaws, pages, Control, Flaw};
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use prometheus::{Encoder, TextEncoder};
use serde::Deserialize;
use serde_json::json;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Dossiers kept in memory; the oldest are forgotten beyond this so a long soak
/// cannot grow the sample system without bound.
const MAX_DOSSIERS: usize = 200_000;
/// Failed logins allowed per window before the portal answers 429: a brute-force brake
/// that valid test citizens never hit (only failures count).
const MAX_FAILED_LOGINS: usize = 10;
/// The window of that brake.
const FAILED_LOGIN_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);
/// How long a token lives unless the login asks otherwise (`thoi_han_giay`).
const TOKEN_LIFETIME_S: i64 = 3600;
/// Methods counted by name in `sample_http_requests_by_method_total`; others are
/// `OTHER`, so a scanner cannot grow the label set.
const COUNTED_METHODS: [&str; 8] = [
    "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE", "TRACE",
];
/// Largest request body read whole to spot malformed JSON (verbose-errors flaw).
const MAX_INSPECTED_BODY: usize = 1 << 20;
/// Distinct citizen names kept for `/__mau/ten-da-nhan`, which lets tests check that
/// names arrived byte-exact; bounded like the dossiers.
const MAX_NAMES_KEPT: usize = 10_000;

struct Dossier {
    owner: String,
    ho_ten: String,
    ma_thu_tuc: String,
}

pub(super) struct AppState {
    control: Control,
    procedures: Vec<Procedure>,
    citizens: HashMap<String, String>,
    key: [u8; 32],
    failed_logins: Mutex<VecDeque<Instant>>,
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
        key: rand::random(),
        failed_logins: Mutex::new(VecDeque::new()),
        dossiers: Mutex::new((HashMap::new(), VecDeque::new())),
        next_dossier: AtomicU64::new(1),
        received_names: Mutex::new(BTreeSet::new()),
        api_requests: AtomicU64::new(0),
        metrics: Metrics::new(),
    });
    Router::new()
        .route("/", get(home))
        .route(
            "/gioi-thieu.html",
            get(|| async {
                pages::content(
                    "Giới thiệu",
                    "Cổng Dịch vụ công mẫu giúp công dân nộp và theo dõi hồ sơ trực tuyến.",
                )
            }),
        )
        .route(
            "/lien-he.html",
            get(|| async {
                pages::content("Liên hệ", "Tổng đài hỗ trợ: 1900 0000 (mẫu).")
            }),
        )
        .route("/tra-cuu", get(|| async { pages::search_page() }))
        .route(
            "/tai-lieu/huong-dan.pdf",
            get(|| async { pages::document() }),
        )
        .route("/chuyen-tiep", get(continue_to))
        .route("/robots.txt", get(|| async { pages::robots() }))
        .route("/sitemap.xml", get(sitemap))
        .route("/health", get(|| async { Json(json!({ "status": "ok" })) }))
        .route("/metrics", get(metrics))
        .route("/api/phien-ban", get(version))
        .route("/api/thu-tuc", get(search))
        .route("/api/thu-tuc/{ma}", get(procedure))
        .route("/api/dang-nhap", post(login))
        .route("/api/ho-so", post(submit))
        .route("/api/ho-so/{ma}", get(dossier))
        .route("/api/can-bo/ho-so", get(officer_dossiers))
        .route("/__mau/ten-da-nhan", get(received_names))
        .route("/.git/config", get(git_config))
        .route("/.env", get(dot_env))
        .fallback(unrouted)
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
    let method = request.method().clone();
    let client = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let origin = request.headers().get("origin").cloned();
    let (request, early) = flawed_answer(&behaviour.flaws, request).await;
    let mut response = if let Some(early) = early {
        early
    } else if is_api
        && behaviour.api_key.as_deref().is_some_and(|key| {
            request
                .headers()
                .get("x-api-key")
                .and_then(|v| v.to_str().ok())
                != Some(key)
        })
    {
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
    flaws::decorate(&behaviour.flaws, &route, origin.as_ref(), headers);
    if behaviour.flaws.contains(&Flaw::ServerVersion) {
        headers.insert("server", HeaderValue::from_static("nginx/1.18.0"));
        headers.insert("x-powered-by", HeaderValue::from_static("Express 4.17.1"));
    }
    if let Some(m) = &state.metrics {
        m.requests
            .with_label_values(&[route.as_str(), response.status().as_str()])
            .inc();
        let method_label = COUNTED_METHODS
            .iter()
            .find(|m| **m == method.as_str())
            .copied()
            .unwrap_or("OTHER");
        m.by_method.with_label_values(&[method_label]).inc();
        m.count_client(client);
        m.duration
            .with_label_values(&[route.as_str()])
            .observe(started.elapsed().as_secs_f64());
    }
    response
}

/// Answers what a planted flaw answers before routing (TRACE echo, exposed files, stack
/// traces on malformed JSON); gives the request back otherwise.
async fn flawed_answer(
    flaw_set: &std::collections::BTreeSet<Flaw>,
    request: Request,
) -> (Request, Option<Response>) {
    let path = request.uri().path().to_string();
    if let Some(answer) = flaws::answer(flaw_set, request.method(), &path, request.headers()) {
        return (request, Some(answer));
    }
    let is_json = request
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(flaw_set.contains(&Flaw::VerboseErrors)
        && request.method() == axum::http::Method::POST
        && is_json)
    {
        return (request, None);
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_INSPECTED_BODY)
        .await
        .unwrap_or_default();
    if serde_json::from_slice::<serde_json::Value>(&bytes).is_err() {
        let answer = flaws::stack_trace(&parts.headers);
        return (
            Request::from_parts(parts, axum::body::Body::empty()),
            Some(answer),
        );
    }
    (
        Request::from_parts(parts, axum::body::Body::from(bytes)),
        None,
    )
}

async fn home(State(state): State<Shared>) -> Response {
    pages::home(&state.control.behaviour().flaws)
}

#[derive(Deserialize)]
struct ContinueQuery {
    url: Option<String>,
}

async fn continue_to(State(state): State<Shared>, Query(query): Query<ContinueQuery>) -> Response {
    pages::continue_to(&state.control.behaviour().flaws, query.url.as_deref())
}

async fn sitemap(headers: HeaderMap) -> Response {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    pages::sitemap(&format!("http://{host}"))
}

/// The answer to a path no route serves: a short JSON error, or, with the
/// django-debug flaw, Django's DEBUG page listing every URL pattern.
async fn unrouted(State(state): State<Shared>, uri: axum::http::Uri) -> Response {
    if state.control.behaviour().flaws.contains(&Flaw::DjangoDebug) {
        return pages::django_not_found(uri.path());
    }
    not_found().await
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
    /// Token lifetime in seconds; a negative value gives an already-expired token (a
    /// test-environment hook for the expired-token check).
    thoi_han_giay: Option<i64>,
}

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

async fn login(State(state): State<Shared>, Json(body): Json<LoginBody>) -> Response {
    if !state.citizens.contains_key(&body.so_cccd) {
        let limited = !state.control.behaviour().flaws.contains(&Flaw::NoRateLimit);
        let mut failures = lock(&state.failed_logins);
        while failures
            .front()
            .is_some_and(|t| t.elapsed() > FAILED_LOGIN_WINDOW)
        {
            failures.pop_front();
        }
        if limited && failures.len() >= MAX_FAILED_LOGINS {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "60")],
                Json(json!({ "error": "thử đăng nhập quá nhiều lần" })),
            )
                .into_response();
        }
        failures.push_back(Instant::now());
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "công dân không tồn tại" })),
        )
            .into_response();
    }
    let claims = Claims {
        sub: body.so_cccd,
        role: "cong-dan".into(),
        exp: now_s() + body.thoi_han_giay.unwrap_or(TOKEN_LIFETIME_S),
    };
    Json(json!({ "token": token::issue(&state.key, &claims) })).into_response()
}

fn claims_of(state: &AppState, headers: &HeaderMap) -> Option<Claims> {
    let token = headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    let flaws = state.control.behaviour().flaws;
    let leniency = Leniency {
        skip_signature: flaws.contains(&Flaw::UncheckedTokenSignature),
        accept_alg_none: flaws.contains(&Flaw::JwtAlgNone),
        skip_expiry: flaws.contains(&Flaw::ExpiredTokenAccepted),
    };
    token::verify(&state.key, token, now_s(), leniency)
}

fn citizen_of(state: &AppState, headers: &HeaderMap) -> Option<String> {
    claims_of(state, headers).map(|c| c.sub)
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
    let flaws = state.control.behaviour().flaws;
    let citizen = citizen_of(&state, &headers);
    if citizen.is_none() && !flaws.contains(&Flaw::MissingAuth) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "cần đăng nhập" })),
        )
            .into_response();
    }
    let idor = flaws.contains(&Flaw::Idor);
    let store = lock(&state.dossiers);
    match store.0.get(&ma) {
        // With the missing-auth flaw, a request with no token reads any dossier.
        Some(d) if citizen.as_ref().is_none_or(|c| *c == d.owner) || idor => {
            let mut body = json!({
                "ma_ho_so": ma, "trang_thai": "dang-xu-ly", "ho_ten": d.ho_ten, "ma_thu_tuc": d.ma_thu_tuc, "so_cccd": d.owner
            });
            if flaws.contains(&Flaw::ExcessiveData) {
                body["mat_khau_hash"] =
                    json!("$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW");
                body["ghi_chu_noi_bo"] = json!("hồ sơ ưu tiên xử lý");
            }
            Json(body).into_response()
        }
        // Someone else's dossier answers exactly like a missing one: no existence oracle.
        _ => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "không tìm thấy" })),
        )
            .into_response(),
    }
}

async fn officer_dossiers(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let Some(claims) = claims_of(&state, &headers) else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "cần đăng nhập" })),
        )
            .into_response();
    };
    if claims.role != "can-bo"
        && !state
            .control
            .behaviour()
            .flaws
            .contains(&Flaw::OfficerEndpointOpen)
    {
        return (
            StatusCode::FORBIDDEN,
            Json(json!({ "error": "chỉ dành cho cán bộ" })),
        )
            .into_response();
    }
    let store = lock(&state.dossiers);
    // The newest 50: enough to show the data, bounded whatever the store holds.
    let list: Vec<serde_json::Value> = store
        .1
        .iter()
        .rev()
        .take(50)
        .filter_map(|ma| {
            store
                .0
                .get(ma)
                .map(|d| json!({ "ma_ho_so": ma, "ho_ten": d.ho_ten, "ma_thu_tuc": d.ma_thu_tuc }))
        })
        .collect();
    Json(json!({ "tong_so": store.0.len(), "ho_so": list })).into_response()
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
