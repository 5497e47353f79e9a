//! The OpenAI-compatible endpoint: `/v1/models` and the POST routes, each
//! request sent to an approved, online, undrained node that has the model,
//! the one with the fewest requests in flight through this daemon.
//!
//! Answers stream through as they arrive. The in-flight count of a node is a
//! guard owned by the answer's body, so every path (finished, cancelled by
//! the client, failed upstream) gives it back.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::uri::{Authority, PathAndQuery, Scheme};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http_body::Frame;
use http_body_util::Full;
use parking_lot::{Mutex, RwLock};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::read_body;
use super::registry::{Registry, RouteEntry};
use super::router::AppState;
use super::upstream::{Conn, SendError};
use crate::api::auth::Role;

/// Largest request body on `/v1` (prompts with images are large).
pub const PROXY_BODY_LIMIT: usize = 32 * 1024 * 1024;
/// How many nodes one request may try when connections fail.
pub(super) const MAX_TRIES: usize = 3;
/// How long a node whose connection failed is left out of rotation.
const COOLDOWN: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Wait for an upstream's answer headers at most this long.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub require_api_key: bool,
}

/// One node as a target, kept across table rebuilds so its counters last.
pub struct Upstream {
    pub node_id: String,
    base: String,
    pub(super) authority: Authority,
    in_flight: AtomicUsize,
    /// Smoothed time to answer headers, in microseconds.
    latency_us: AtomicU64,
    /// Milliseconds since `epoch` until which the node is left out.
    cooldown_until_ms: AtomicU64,
}

impl Upstream {
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    pub(super) fn record_latency(&self, took: Duration) {
        let sample = took.as_micros().min(u128::from(u64::MAX)) as u64;
        let old = self.latency_us.load(Ordering::Relaxed);
        let new = if old == 0 {
            sample
        } else {
            (old * 7 + sample) / 8
        };
        self.latency_us.store(new, Ordering::Relaxed);
    }
}

/// Counts a request in flight on a node until dropped.
pub(super) struct InFlight(Arc<Upstream>);

impl InFlight {
    pub(super) fn new(up: Arc<Upstream>) -> InFlight {
        up.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(up)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

#[derive(Default)]
pub(super) struct Table {
    generation: u64,
    pub(super) by_model: HashMap<String, Vec<Arc<Upstream>>>,
    /// Every model served, sorted, for `/v1/models`.
    models: Vec<String>,
}

pub struct Proxy {
    cfg: ProxyConfig,
    table: RwLock<Arc<Table>>,
    upstreams: Mutex<HashMap<String, Arc<Upstream>>>,
    rebuild: Mutex<()>,
    rr: AtomicUsize,
    epoch: Instant,
}

impl Proxy {
    pub fn new(cfg: ProxyConfig) -> Proxy {
        Proxy {
            cfg,
            table: RwLock::new(Arc::new(Table::default())),
            upstreams: Mutex::new(HashMap::new()),
            rebuild: Mutex::new(()),
            rr: AtomicUsize::new(0),
            epoch: Instant::now(),
        }
    }

    pub fn config(&self) -> &ProxyConfig {
        &self.cfg
    }

    /// Requests in flight by node, for `/metrics`.
    pub fn in_flight(&self) -> Vec<(String, usize)> {
        let mut v: Vec<(String, usize)> = self
            .upstreams
            .lock()
            .values()
            .map(|u| (u.node_id.clone(), u.in_flight()))
            .collect();
        v.sort();
        v
    }

    /// The routing table, rebuilt when the registry says eligibility changed.
    pub(super) fn table(&self, registry: &Registry) -> Arc<Table> {
        let generation = registry.routing_generation();
        {
            let t = self.table.read();
            if t.generation == generation {
                return t.clone();
            }
        }
        let _one_at_a_time = self.rebuild.lock();
        {
            let t = self.table.read();
            if t.generation == generation {
                return t.clone();
            }
        }
        let table = Arc::new(self.build(generation, registry.routable()));
        *self.table.write() = table.clone();
        table
    }

    fn build(&self, generation: u64, entries: Vec<RouteEntry>) -> Table {
        let mut upstreams = self.upstreams.lock();
        let mut by_model: HashMap<String, Vec<Arc<Upstream>>> = HashMap::new();
        let mut keep = HashMap::with_capacity(entries.len());
        for e in entries {
            let Some(authority) = e
                .base_url
                .strip_prefix("http://")
                .and_then(|a| a.parse::<Authority>().ok())
            else {
                tracing::warn!(node_id = %e.node_id, url = %e.base_url, "cannot route to this address");
                continue;
            };
            let up = match upstreams.get(&e.node_id) {
                Some(u) if u.base == e.base_url => u.clone(),
                _ => Arc::new(Upstream {
                    node_id: e.node_id.clone(),
                    base: e.base_url.clone(),
                    authority,
                    in_flight: AtomicUsize::new(0),
                    latency_us: AtomicU64::new(0),
                    cooldown_until_ms: AtomicU64::new(0),
                }),
            };
            for m in &e.models {
                by_model.entry(m.clone()).or_default().push(up.clone());
            }
            keep.insert(e.node_id, up);
        }
        // Nodes that left keep their entry while requests are still in
        // flight, so /metrics shows them draining to zero.
        for (id, up) in upstreams.drain() {
            if up.in_flight() > 0 {
                keep.entry(id).or_insert(up);
            }
        }
        *upstreams = keep;
        let mut models: Vec<String> = by_model.keys().cloned().collect();
        models.sort();
        Table {
            generation,
            by_model,
            models,
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Leaves a node whose connection failed out of rotation for a while.
    pub(super) fn cool_down(&self, up: &Upstream) {
        up.cooldown_until_ms.store(
            self.now_ms() + COOLDOWN.as_millis() as u64,
            Ordering::Relaxed,
        );
    }

    /// The eligible node with the fewest requests in flight; ties go to the
    /// lower recent latency, then round-robin. Nodes in cooldown come last.
    pub(super) fn pick(&self, candidates: &[Arc<Upstream>], tried: &[usize]) -> Option<usize> {
        let n = candidates.len();
        let start = self.rr.fetch_add(1, Ordering::Relaxed);
        let now = self.now_ms();
        let mut best: Option<(usize, (bool, usize, u64))> = None;
        for k in 0..n {
            let i = (start + k) % n;
            if tried.contains(&i) {
                continue;
            }
            let u = &candidates[i];
            // Latency in 100 µs steps, so noise does not break ties.
            let key = (
                u.cooldown_until_ms.load(Ordering::Relaxed) > now,
                u.in_flight(),
                u.latency_us.load(Ordering::Relaxed) / 100,
            );
            if best.as_ref().is_none_or(|(_, b)| key < *b) {
                best = Some((i, key));
            }
        }
        best.map(|(i, _)| i)
    }
}

/// The one field of a request body the proxy reads.
#[derive(Deserialize)]
pub(super) struct ModelField<'a> {
    #[serde(borrow)]
    pub(super) model: Option<std::borrow::Cow<'a, str>>,
}

/// The proxy's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/models", get(list_models))
        .route("/v1/chat/completions", post(forward))
        .route("/v1/completions", post(forward))
        .route("/v1/embeddings", post(forward))
        .route("/metrics", get(metrics))
}

fn check_key(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    if !state.proxy.cfg.require_api_key {
        return Ok(());
    }
    let p = state.auth.authenticate(super::extract::bearer(headers)?)?;
    match p.role {
        Role::Inference | Role::Admin => Ok(()),
        Role::Viewer => Err(ApiError::forbidden(
            "forbidden",
            "a viewer key cannot send inference requests; create one with role inference",
        )),
    }
}

async fn list_models(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(e) = check_key(&state, &headers) {
        return e.into_response();
    }
    let table = state.proxy.table(&state.registry);
    let data: Vec<serde_json::Value> = table
        .models
        .iter()
        .map(|m| {
            serde_json::json!({
                "id": m,
                "object": "model",
                "created": 0,
                "owned_by": "llmlb",
                "nodes": table.by_model.get(m).map_or(0, Vec::len),
            })
        })
        .collect();
    Json(serde_json::json!({"object": "list", "data": data})).into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    let text = state
        .metrics
        .render(&state.registry.counts(), &state.proxy.in_flight());
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}

/// Request headers not passed on to a node (any case): those that belong to
/// one connection, and the host and length the proxy sets itself.
pub(super) fn is_hop_by_hop(name: &str) -> bool {
    is_connection_header(name)
        || [
            "proxy-authenticate",
            "proxy-authorization",
            "transfer-encoding",
            "host",
            "content-length",
        ]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
}

/// Headers of one connection, never passed on in either direction (any
/// case).
pub(super) fn is_connection_header(name: &str) -> bool {
    [
        "connection",
        "keep-alive",
        "proxy-connection",
        "upgrade",
        "te",
        "trailer",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h))
}

async fn forward(State(state): State<AppState>, req: Request) -> Response {
    let started = Instant::now();
    if let Err(e) = check_key(&state, req.headers()) {
        return e.into_response();
    }
    let (parts, body) = req.into_parts();
    let path_and_query = parts
        .uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    let bytes = match read_body(&parts.headers, body, PROXY_BODY_LIMIT).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let model = match serde_json::from_slice::<ModelField<'_>>(&bytes) {
        Ok(ModelField { model: Some(m) }) if !m.is_empty() => m.into_owned(),
        Ok(_) => {
            return ApiError::bad_request(
                "model_required",
                "the request body must name a model in its \"model\" field",
            )
            .into_response()
        }
        Err(e) => {
            return ApiError::bad_request(
                "invalid_json",
                format!("the request body is not valid JSON: {e}"),
            )
            .into_response()
        }
    };
    let proxy = &state.proxy;
    let table = proxy.table(&state.registry);
    let Some(candidates) = table.by_model.get(&model) else {
        state.metrics.request(&model, "", 503, started.elapsed());
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_node_for_model",
            format!("no online node serves model {model}"),
        )
        .into_response();
    };

    let mut headers = HeaderMap::with_capacity(parts.headers.len());
    for (name, value) in &parts.headers {
        if is_hop_by_hop(name.as_str())
            || (proxy.cfg.require_api_key && name == header::AUTHORIZATION)
        {
            continue;
        }
        headers.append(name.clone(), value.clone());
    }

    let mut tried = Vec::with_capacity(MAX_TRIES);
    let mut last_error = String::new();
    while tried.len() < MAX_TRIES.min(candidates.len()) {
        let Some(i) = proxy.pick(candidates, &tried) else {
            break;
        };
        tried.push(i);
        let up = candidates[i].clone();
        let guard = InFlight::new(up.clone());
        let mut uri = axum::http::uri::Parts::default();
        uri.scheme = Some(Scheme::HTTP);
        uri.authority = Some(up.authority.clone());
        uri.path_and_query = Some(path_and_query.clone());
        let mut out = hyper::Request::new(Full::new(bytes.clone()));
        *out.method_mut() = Method::POST;
        *out.uri_mut() = Uri::from_parts(uri).expect("scheme, authority and path make a URI");
        *out.headers_mut() = headers.clone();
        let connect_timeout = proxy.cfg.connect_timeout;
        let sent = tokio::time::timeout(proxy.cfg.timeout, async {
            let mut conn = Conn::checkout(&up.authority, connect_timeout).await?;
            let resp = conn.send(out, connect_timeout).await?;
            Ok::<_, SendError>((conn, resp))
        })
        .await;
        match sent {
            Ok(Ok((conn, resp))) => {
                up.record_latency(started.elapsed());
                let status = resp.status();
                let (mut rparts, incoming) = resp.into_parts();
                rparts.headers.remove(header::TRANSFER_ENCODING);
                let names: Vec<HeaderName> = rparts
                    .headers
                    .keys()
                    .filter(|n| is_connection_header(n.as_str()))
                    .cloned()
                    .collect();
                for name in names {
                    rparts.headers.remove(name);
                }
                let body = Tracked {
                    inner: incoming,
                    conn: Some(conn),
                    done: Some(Done::new(
                        guard,
                        state.clone(),
                        model,
                        status.as_u16(),
                        started,
                    )),
                };
                return Response::from_parts(rparts, Body::new(body));
            }
            Ok(Err(SendError::Http(e))) if e.is_parse() || e.is_parse_status() => {
                // The node answered, but not in HTTP: it may have run the
                // request, so it goes nowhere else.
                drop(guard);
                return bad_answer(&state, &model, &up, started, &e).into_response();
            }
            Ok(Err(e)) => {
                // No usable answer byte arrived: try another node.
                drop(guard);
                last_error = failed(proxy, &up, &model, &e);
            }
            Err(_) => {
                drop(guard);
                return timed_out(&state, &model, &up, started).into_response();
            }
        }
    }
    unreachable_model(&state, &model, started, &last_error).into_response()
}

// How a proxied request fails, the same on the full stack and the lane:
// each records what the metrics need and gives the answer.

/// A node could not be reached or hung up before answering: it cools down,
/// and the request may try another node. Returns the cause for the final
/// error.
pub(super) fn failed(
    proxy: &Proxy,
    up: &Upstream,
    model: &str,
    e: &dyn std::fmt::Display,
) -> String {
    proxy.cool_down(up);
    tracing::warn!(node_id = %up.node_id, model, error = %e, "upstream failed; trying another node");
    format!("{}: {e}", up.node_id)
}

/// Every node tried failed as in [`failed`].
pub(super) fn unreachable_model(
    state: &AppState,
    model: &str,
    started: Instant,
    last_error: &str,
) -> ApiError {
    state.metrics.request(model, "", 502, started.elapsed());
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "upstream_unreachable",
        format!("no node serving model {model} could be reached ({last_error})"),
    )
}

/// The node answered with something that is not a usable HTTP answer.
pub(super) fn bad_answer(
    state: &AppState,
    model: &str,
    up: &Upstream,
    started: Instant,
    e: &dyn std::fmt::Display,
) -> ApiError {
    tracing::warn!(node_id = %up.node_id, model, error = %e, "the node's answer is unusable");
    state
        .metrics
        .request(model, &up.node_id, 502, started.elapsed());
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "upstream_bad_answer",
        format!("node {} sent an unusable answer: {e}", up.node_id),
    )
}

/// No answer head within `--upstream-timeout`.
pub(super) fn timed_out(
    state: &AppState,
    model: &str,
    up: &Upstream,
    started: Instant,
) -> ApiError {
    state
        .metrics
        .request(model, &up.node_id, 504, started.elapsed());
    ApiError::new(
        StatusCode::GATEWAY_TIMEOUT,
        "upstream_timeout",
        format!(
            "node {} did not answer within {}s",
            up.node_id,
            state.proxy.cfg.timeout.as_secs()
        ),
    )
}

/// Records the request when its answer ends, however it ends.
pub(super) struct Done {
    guard: InFlight,
    state: AppState,
    model: String,
    status: u16,
    started: Instant,
}

impl Done {
    pub(super) fn new(
        guard: InFlight,
        state: AppState,
        model: String,
        status: u16,
        started: Instant,
    ) -> Done {
        Done {
            guard,
            state,
            model,
            status,
            started,
        }
    }

    pub(super) fn node_id(&self) -> &str {
        &self.guard.0.node_id
    }
}

impl Drop for Done {
    fn drop(&mut self) {
        self.state.metrics.request(
            &self.model,
            &self.guard.0.node_id,
            self.status,
            self.started.elapsed(),
        );
    }
}

/// The upstream's body, passed through frame by frame. At its end the
/// connection goes back to the pool; dropped before, it is closed.
struct Tracked {
    inner: hyper::body::Incoming,
    conn: Option<Conn>,
    done: Option<Done>,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let poll = Pin::new(&mut self.inner).poll_frame(cx);
        let finished = match &poll {
            Poll::Ready(None) => true,
            // The server may stop polling once the body says it has ended.
            Poll::Ready(Some(Ok(_))) => self.inner.is_end_stream(),
            _ => false,
        };
        if finished {
            if let Some(c) = self.conn.take() {
                c.release();
            }
            self.done.take();
        }
        if let Poll::Ready(Some(Err(_))) = &poll {
            self.conn.take();
            self.done.take();
        }
        poll
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
