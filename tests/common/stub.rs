//! The one stub OpenAI-compatible runtime of the tests and benches: serves
//! `GET /v1/models` and `POST /v1/chat/completions`, `/v1/completions`,
//! `/v1/embeddings`, says its name in every answer, streams SSE (with gaps),
//! counts hits and streams cancelled by their reader, remembers the last
//! `Authorization` it saw, and can be killed. It needs only axum, tokio,
//! futures-util and serde_json, so a bench can include it alone.
//!
//! A request body may steer the answer: `"model": "broken"` is a 400 in the
//! runtime's own error shape; `delay_ms` waits before answering; with
//! `"stream": true`, `chunks` (default 3) events come `gap_ms` (default 300)
//! apart, then `data: [DONE]`.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

/// The model a stub serves unless told otherwise.
pub const STUB_MODEL: &str = "llama-3-8b";

#[derive(Clone)]
struct Shared {
    name: String,
    models: Vec<String>,
    hits: Arc<AtomicUsize>,
    cancelled: Arc<AtomicUsize>,
    last_auth: Arc<Mutex<Option<String>>>,
    delay: Duration,
}

/// A running stub; it stops when killed or when the test's runtime ends
/// (dropping it does not stop it).
pub struct Stub {
    pub name: String,
    pub models: Vec<String>,
    pub addr: SocketAddr,
    shared: Shared,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// How to start a stub.
pub struct StubBuilder {
    name: String,
    models: Vec<String>,
    bind: String,
    delay: Duration,
}

impl StubBuilder {
    /// The models listed and served (default: `llama-3-8b`).
    pub fn models(mut self, models: &[&str]) -> Self {
        self.models = models.iter().map(|m| m.to_string()).collect();
        self
    }

    /// Where to listen (default `127.0.0.1:0`; `[::1]:0` for IPv6).
    pub fn bind(mut self, bind: &str) -> Self {
        self.bind = bind.to_string();
        self
    }

    /// How long every inference answer waits before it starts.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    pub async fn start(self) -> Stub {
        let shared = Shared {
            name: self.name.clone(),
            models: self.models.clone(),
            hits: Arc::default(),
            cancelled: Arc::default(),
            last_auth: Arc::default(),
            delay: self.delay,
        };
        let app = Router::new()
            .route("/v1/models", get(models))
            .route("/v1/chat/completions", post(infer))
            .route("/v1/completions", post(infer))
            .route("/v1/embeddings", post(infer))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(&self.bind)
            .await
            .expect("bind the stub runtime");
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    // Dropping the `Stub` leaves it running; `kill` stops it.
                    if rx.await.is_err() {
                        std::future::pending::<()>().await;
                    }
                })
                .await;
        });
        Stub {
            name: self.name,
            models: self.models,
            addr,
            shared,
            stop: Some(tx),
        }
    }
}

impl Stub {
    /// A stub called `name`; `.start().await` starts it.
    pub fn named(name: &str) -> StubBuilder {
        StubBuilder {
            name: name.to_string(),
            models: vec![STUB_MODEL.to_string()],
            bind: "127.0.0.1:0".to_string(),
            delay: Duration::ZERO,
        }
    }

    /// A stub called `stub` serving `llama-3-8b` on `127.0.0.1:0`.
    pub async fn start() -> Stub {
        Stub::named("stub").start().await
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Inference requests answered (or refused as `broken`) so far.
    pub fn hits(&self) -> usize {
        self.shared.hits.load(Ordering::SeqCst)
    }

    /// Streams whose reader went away before `[DONE]`.
    pub fn cancelled(&self) -> usize {
        self.shared.cancelled.load(Ordering::SeqCst)
    }

    /// The `Authorization` header of the last inference request, if any.
    pub fn last_auth(&self) -> Option<String> {
        self.shared.last_auth.lock().unwrap().clone()
    }

    /// Stops listening; open connections finish what they were doing.
    pub fn kill(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

async fn models(State(s): State<Shared>) -> Json<Value> {
    let data: Vec<Value> = s
        .models
        .iter()
        .map(|m| json!({"id": m, "object": "model"}))
        .collect();
    Json(json!({"object": "list", "data": data}))
}

/// Counts a stream as cancelled unless it was marked finished.
struct CancelOnDrop(Arc<AtomicUsize>, bool);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if !self.1 {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

async fn infer(State(s): State<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    s.hits.fetch_add(1, Ordering::SeqCst);
    *s.last_auth.lock().unwrap() = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let model = body["model"].as_str().unwrap_or_default().to_string();
    if model == "broken" {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            Json(json!({"error": {"message": "the runtime refused this", "type": "invalid_request_error"}})),
        )
            .into_response();
    }
    let delay = body["delay_ms"]
        .as_u64()
        .map_or(s.delay, Duration::from_millis);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if body["stream"] == true {
        let chunks = body["chunks"].as_u64().unwrap_or(3);
        let gap = Duration::from_millis(body["gap_ms"].as_u64().unwrap_or(300));
        let name = s.name.clone();
        let guard = CancelOnDrop(s.cancelled.clone(), false);
        let stream = futures_util::stream::unfold((0u64, guard), move |(i, mut guard)| {
            let name = name.clone();
            async move {
                if i > chunks {
                    return None;
                }
                if i > 0 {
                    tokio::time::sleep(gap).await;
                }
                let data = if i == chunks {
                    guard.1 = true;
                    "data: [DONE]\n\n".to_string()
                } else {
                    format!("data: {{\"node\":\"{name}\",\"chunk\":{i}}}\n\n")
                };
                Some((Ok::<_, std::io::Error>(data), (i + 1, guard)))
            }
        });
        return (
            [("content-type", "text/event-stream")],
            axum::body::Body::from_stream(stream),
        )
            .into_response();
    }
    Json(json!({
        "object": "chat.completion",
        "node": s.name,
        "model": model,
        "choices": [{"message": {"role": "assistant", "content": "hi"}}],
        "data": [{"object": "embedding", "embedding": [0.0, 1.0]}],
    }))
    .into_response()
}
