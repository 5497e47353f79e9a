//! The OpenAI-compatible endpoint: the routing table of nodes by model,
//! node selection, `/v1/models`, `/metrics`, and hyper's entry into the one
//! dispatch path ([`super::dispatch`]) for the requests the fast lane does
//! not frame itself.
//!
//! Answers stream through as they arrive. The in-flight count of a node is
//! a guard owned by the answer, so every path (finished, cancelled by the
//! client, failed upstream) gives it back.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::uri::Authority;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::{Buf, BytesMut};
use http_body::Frame;
use parking_lot::{Mutex, RwLock};
use serde::Deserialize;

use super::dispatch::{self, Answered, Done, Outcome, ProxyRequest};
use super::error::ApiError;
use super::extract::{read_body, HeadRead};
use super::registry::{Registry, RouteEntry};
use super::router::AppState;
use super::upstream::{self, BodyScan, Framing, NoWatch, RawConn};
use crate::api::auth::Role;

/// Largest request body on `/v1` (prompts with images are large).
pub(crate) const PROXY_BODY_LIMIT: usize = 32 * 1024 * 1024;
/// How long a node whose connection failed is left out of rotation.
const COOLDOWN: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub(crate) struct ProxyConfig {
    /// Wait for an upstream's answer headers at most this long.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub require_api_key: bool,
    /// Which entry takes a connection first (a hidden flag for tests).
    pub entry: ProxyEntry,
}

/// Which entry reads a connection's requests: the fast lane, which hands
/// what it does not frame to hyper, or hyper alone. Both end in the same
/// dispatch; the switch lets tests run everything both ways.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ProxyEntry {
    #[default]
    Lane,
    Hyper,
}

/// One node as a target, kept across table rebuilds so its counters last.
pub(crate) struct Upstream {
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
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    pub(super) fn start_request(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
    }

    pub(super) fn end_request(&self) {
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
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

#[derive(Default)]
pub(super) struct Table {
    generation: u64,
    pub(super) by_model: HashMap<String, Vec<Arc<Upstream>>>,
    /// Every model served, sorted, for `/v1/models`.
    models: Vec<String>,
}

pub(crate) struct Proxy {
    cfg: ProxyConfig,
    table: RwLock<Arc<Table>>,
    upstreams: Mutex<HashMap<String, Arc<Upstream>>>,
    rebuild: Mutex<()>,
    rr: AtomicUsize,
    epoch: Instant,
}

impl Proxy {
    pub(crate) fn new(cfg: ProxyConfig) -> Proxy {
        Proxy {
            cfg,
            table: RwLock::new(Arc::new(Table::default())),
            upstreams: Mutex::new(HashMap::new()),
            rebuild: Mutex::new(()),
            rr: AtomicUsize::new(0),
            epoch: Instant::now(),
        }
    }

    pub(crate) fn config(&self) -> &ProxyConfig {
        &self.cfg
    }

    /// Requests in flight by node, for `/metrics`.
    pub(crate) fn in_flight(&self) -> Vec<(String, usize)> {
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
pub(crate) fn routes() -> Router<AppState> {
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

/// hyper's entry into the dispatch: a `/v1` POST the lane did not frame
/// (a chunked upload, `Expect`, or every request under `--proxy-entry
/// hyper`). The body is read whole, under the same deadline and limit as in
/// the lane, then sent the same way.
async fn forward(State(state): State<AppState>, req: Request) -> Response {
    let started = req
        .extensions()
        .get::<HeadRead>()
        .map_or_else(Instant::now, |h| h.0);
    if let Err(e) = check_key(&state, req.headers()) {
        return e.into_response();
    }
    let (parts, body) = req.into_parts();
    let target = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let body = match read_body(&parts, body, PROXY_BODY_LIMIT).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let model = match dispatch::model_of(&body) {
        Ok(m) => m,
        Err(e) => return e.into_response(),
    };
    let require_key = state.proxy.cfg.require_api_key;
    let mut headers = Vec::with_capacity(512);
    for (name, value) in &parts.headers {
        if upstream::is_hop_by_hop(name.as_str()) || (require_key && name == header::AUTHORIZATION)
        {
            continue;
        }
        headers.extend_from_slice(name.as_str().as_bytes());
        headers.extend_from_slice(b": ");
        headers.extend_from_slice(value.as_bytes());
        headers.extend_from_slice(b"\r\n");
    }
    let req = ProxyRequest {
        model,
        target,
        headers,
        body,
        started,
    };
    // hyper drops this future when the client goes away, which closes the
    // node's connection and frees the in-flight slot.
    match dispatch::dispatch(&state, &req, &mut NoWatch).await {
        Outcome::Answered(answered) => answer_response(answered),
        Outcome::Refused(e) => e.into_response(),
        Outcome::ClientGone => StatusCode::BAD_GATEWAY.into_response(),
    }
}

/// The node's answer as hyper sends it: the head the lane would send, as a
/// header map (hyper frames the body itself), and the body read from the
/// node's connection as it arrives.
fn answer_response(answered: Answered) -> Response {
    let Answered { conn, answer, done } = answered;
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut head = httparse::Response::new(&mut headers);
    let _ = head.parse(&answer.head);
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut map = HeaderMap::with_capacity(head.headers.len());
    for h in head.headers.iter() {
        if upstream::is_connection_header(h.name) {
            continue;
        }
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(h.name.as_bytes()),
            HeaderValue::from_bytes(h.value),
        ) {
            map.append(name, value);
        }
    }
    let body = AnswerBody {
        conn: Some(conn),
        scan: BodyScan::new(answer.framing),
        reusable: answer.reusable,
        done: Some(done),
    };
    let mut response = Response::new(Body::new(body));
    *response.status_mut() = status;
    *response.headers_mut() = map;
    response
}

/// A node's answer body, read from its raw connection (chunked framing
/// decoded, since hyper frames again). At its end the connection goes back
/// to the pool; dropped before, it is closed.
struct AnswerBody {
    conn: Option<RawConn>,
    scan: BodyScan,
    reusable: bool,
    done: Option<Done>,
}

impl AnswerBody {
    /// The answer ended where its framing says.
    fn finish(&mut self) {
        if let (Some(conn), Some(done)) = (self.conn.take(), self.done.as_ref()) {
            if self.reusable {
                conn.release(&done.upstream().authority);
            }
        }
        self.done.take();
    }

    fn fail(&mut self, why: &str) -> std::io::Error {
        if let Some(done) = &self.done {
            tracing::warn!(node_id = %done.node_id(), "{why}");
        }
        self.conn.take();
        self.done.take();
        std::io::Error::other(why.to_string())
    }
}

impl http_body::Body for AnswerBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = &mut *self;
        loop {
            let Some(conn) = this.conn.as_mut() else {
                return Poll::Ready(None);
            };
            if !conn.buf.is_empty() || this.scan.framing() == Framing::Empty {
                let mut data = BytesMut::new();
                let step = this
                    .scan
                    .scan(&conn.buf, |r| data.extend_from_slice(&conn.buf[r]));
                let (take, end) = match step {
                    Ok(step) => step,
                    Err(e) => {
                        let e = this.fail(&format!("the node's answer body is malformed: {e}"));
                        return Poll::Ready(Some(Err(e)));
                    }
                };
                conn.buf.advance(take);
                if end {
                    this.finish();
                }
                if !data.is_empty() {
                    return Poll::Ready(Some(Ok(Frame::data(data.freeze()))));
                }
                if end {
                    return Poll::Ready(None);
                }
            }
            let Some(conn) = this.conn.as_mut() else {
                return Poll::Ready(None);
            };
            if let Err(e) = std::task::ready!(conn.stream.poll_read_ready(cx)) {
                return Poll::Ready(Some(Err(this.fail(&e.to_string()))));
            }
            conn.buf.reserve(8 * 1024);
            match conn.stream.try_read_buf(&mut conn.buf) {
                Ok(0) if this.scan.framing() == Framing::UntilClose => {
                    this.conn.take();
                    this.done.take();
                    return Poll::Ready(None);
                }
                Ok(0) => {
                    let e = this.fail("the node closed the connection mid-answer");
                    return Poll::Ready(Some(Err(e)));
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Some(Err(this.fail(&e.to_string())))),
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.conn.is_none()
    }
}
