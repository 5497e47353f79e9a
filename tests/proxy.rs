//! The OpenAI-compatible proxy against the real daemon and stub runtimes.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use common::*;
use serde_json::{json, Value};

/// A stub runtime that says who it is in every answer.
#[derive(Clone)]
struct Stub {
    name: String,
    models: Vec<String>,
    hits: Arc<AtomicUsize>,
    /// Streams whose reader went away before the end.
    cancelled: Arc<AtomicUsize>,
    last_auth: Arc<Mutex<Option<String>>>,
}

struct RunningStub {
    stub: Stub,
    addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl RunningStub {
    fn hits(&self) -> usize {
        self.stub.hits.load(Ordering::SeqCst)
    }

    fn kill(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

struct CancelOnDrop(Arc<AtomicUsize>, bool);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if !self.1 {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

async fn completions(
    State(s): State<Stub>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    s.hits.fetch_add(1, Ordering::SeqCst);
    *s.last_auth.lock().unwrap() = headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_string());
    let model = body["model"].as_str().unwrap_or_default().to_string();
    if model == "broken" {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            Json(json!({"error": {"message": "the runtime refused this", "type": "invalid_request_error"}})),
        )
            .into_response();
    }
    if let Some(ms) = body["delay_ms"].as_u64() {
        tokio::time::sleep(Duration::from_millis(ms)).await;
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
    Json(
        json!({"object": "chat.completion", "node": s.name, "model": model,
                "choices": [{"message": {"role": "assistant", "content": "hi"}}]}),
    )
    .into_response()
}

async fn start_stub(name: &str, models: &[&str]) -> RunningStub {
    let stub = Stub {
        name: name.into(),
        models: models.iter().map(|m| m.to_string()).collect(),
        hits: Arc::default(),
        cancelled: Arc::default(),
        last_auth: Arc::default(),
    };
    let app = Router::new()
        .route(
            "/v1/models",
            get(|State(s): State<Stub>| async move {
                let data: Vec<Value> = s.models.iter().map(|m| json!({"id": m})).collect();
                Json(json!({"object": "list", "data": data}))
            }),
        )
        .route("/v1/chat/completions", post(completions))
        .route("/v1/completions", post(completions))
        .route("/v1/embeddings", post(completions))
        .with_state(stub.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
    });
    RunningStub {
        stub,
        addr,
        stop: Some(tx),
    }
}

/// Registers a stub as a node; `approve` + a heartbeat make it online.
async fn add_node(d: &TestDaemon, stub: &RunningStub, approve: bool) -> Registered {
    let mut body = registration(&stub.stub.name, "127.0.0.1", stub.addr.port());
    body["node_api_port"] = json!(stub.addr.port());
    let r = d.post("/v0/nodes", None, body).await;
    assert!(r.status == 201 || r.status == 200, "{}", r.body);
    let n = Registered {
        id: r.body["node_id"].as_str().unwrap().to_string(),
        token: r.body["runtime_token"].as_str().unwrap().to_string(),
    };
    if approve {
        d.admin_post(&format!("/v0/nodes/{}/approve", n.id), json!({}))
            .await;
    }
    let k = stub.stub.models.len() as u32;
    let r = d
        .heartbeat(
            &n.token,
            json!({"node_id": n.id, "cpu_usage": 1.0, "memory_usage": 1.0,
                   "loaded_models": stub.stub.models, "ready_models": [k, k]}),
        )
        .await;
    assert_eq!(r.status, 200);
    n
}

async fn chat(d: &TestDaemon, model: &str, extra: Value) -> Reply {
    let mut body = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    d.post("/v1/chat/completions", None, body).await
}

async fn metrics(d: &TestDaemon) -> String {
    d.http
        .get(d.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn in_flight_total(metrics: &str) -> usize {
    metrics
        .lines()
        .filter(|l| l.starts_with("llmlb_requests_in_flight{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<usize>().unwrap())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_go_to_a_node_that_has_the_model() {
    let d = TestDaemon::start(&[]);
    let a = start_stub("node-a", &["llama-a"]).await;
    let b = start_stub("node-b", &["llama-b", "bge-m3"]).await;
    add_node(&d, &a, true).await;
    add_node(&d, &b, true).await;

    for _ in 0..3 {
        let r = chat(&d, "llama-a", json!({})).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["node"], "node-a");
        let r = chat(&d, "llama-b", json!({})).await;
        assert_eq!(r.body["node"], "node-b");
    }
    let r = d
        .post(
            "/v1/embeddings",
            None,
            json!({"model": "bge-m3", "input": "x"}),
        )
        .await;
    assert_eq!(r.body["node"], "node-b");
    let r = d
        .post(
            "/v1/completions",
            None,
            json!({"model": "llama-a", "prompt": "x"}),
        )
        .await;
    assert_eq!(r.body["node"], "node-a");

    let r = chat(&d, "gpt-99", json!({})).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.body["code"], "no_node_for_model");
    assert_eq!(r.body["error"], "no online node serves model gpt-99");

    let r = d.get("/v1/models", None).await;
    let ids: Vec<&str> = r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["bge-m3", "llama-a", "llama-b"]);
    assert_eq!(r.body["object"], "list");

    let r = d
        .post("/v1/chat/completions", None, json!({"messages": []}))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["code"], "model_required");
    // Upstream errors pass through as they are.
    let c = start_stub("node-c", &["broken"]).await;
    add_node(&d, &c, true).await;
    let r = chat(&d, "broken", json!({})).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["message"], "the runtime refused this");

    let m = metrics(&d).await;
    assert!(m.contains("llmlb_requests_total{model=\"llama-a\","), "{m}");
    assert!(
        m.contains("llmlb_requests_total{model=\"gpt-99\",node=\"\",status=\"503\"} 1"),
        "{m}"
    );
    assert!(m.contains("llmlb_nodes{status=\"online\"} 3"), "{m}");
    assert!(m.contains("llmlb_heartbeats_total 3"), "{m}");
    assert!(
        m.contains("llmlb_request_duration_seconds_count{model=\"llama-a\"} 4"),
        "{m}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_spread_over_nodes_with_the_same_model() {
    let d = TestDaemon::start(&[]);
    let a = start_stub("node-a", &["shared"]).await;
    let b = start_stub("node-b", &["shared"]).await;
    add_node(&d, &a, true).await;
    add_node(&d, &b, true).await;
    let d = Arc::new(d);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let d = d.clone();
            tokio::spawn(async move { chat(&d, "shared", json!({"delay_ms": 300})).await.status })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    assert_eq!(a.hits() + b.hits(), 20);
    assert!(
        a.hits() >= 8 && b.hits() >= 8,
        "fewest in flight wins: {} / {}",
        a.hits(),
        b.hits()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_drained_and_offline_nodes_get_nothing() {
    let d = TestDaemon::start(&[]);
    let ok = start_stub("eligible", &["m"]).await;
    let pending = start_stub("pending", &["m"]).await;
    let drained = start_stub("drained", &["m"]).await;
    let offline = start_stub("offline", &["m"]).await;
    add_node(&d, &ok, true).await;
    add_node(&d, &pending, false).await;
    let dn = add_node(&d, &drained, true).await;
    d.admin_post(&format!("/v0/nodes/{}/drain", dn.id), json!({}))
        .await;
    let on = add_node(&d, &offline, true).await;
    d.heartbeat(&on.token, json!({"node_id": on.id, "leaving": true}))
        .await;
    for _ in 0..12 {
        assert_eq!(chat(&d, "m", json!({})).await.body["node"], "eligible");
    }
    assert_eq!(pending.hits() + drained.hits() + offline.hits(), 0);
    // Undrained, it gets requests again.
    d.admin_post(&format!("/v0/nodes/{}/undrain", dn.id), json!({}))
        .await;
    let d = Arc::new(d);
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let d = d.clone();
            tokio::spawn(async move { chat(&d, "m", json!({"delay_ms": 200})).await.status })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    assert!(drained.hits() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_pass_through_chunk_by_chunk() {
    let d = TestDaemon::start(&[]);
    let s = start_stub("streamer", &["m"]).await;
    add_node(&d, &s, true).await;
    let started = Instant::now();
    let mut resp = d
        .http
        .post(d.url("/v1/chat/completions"))
        .json(&json!({"model": "m", "stream": true, "chunks": 3, "gap_ms": 400}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let first = resp.chunk().await.unwrap().unwrap();
    let first_at = started.elapsed();
    assert!(String::from_utf8_lossy(&first).contains("\"chunk\":0"));
    let mut rest = Vec::new();
    while let Some(c) = resp.chunk().await.unwrap() {
        rest.extend_from_slice(&c);
    }
    // The node waits 400 ms before each later chunk: had anything buffered
    // the answer, the first chunk would have come with the last. (A lower
    // bound only: a busy machine makes it later, never earlier.)
    let spread = started.elapsed() - first_at;
    assert!(
        spread >= Duration::from_millis(700),
        "the first chunk came {spread:?} before the end, not as it was sent"
    );
    let rest = String::from_utf8_lossy(&rest);
    assert!(
        rest.contains("\"chunk\":2") && rest.ends_with("data: [DONE]\n\n"),
        "{rest}"
    );
    assert!(started.elapsed() >= Duration::from_millis(1100));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_streams_free_their_in_flight_slots() {
    let d = TestDaemon::start(&[]);
    let s = start_stub("streamer", &["m"]).await;
    add_node(&d, &s, true).await;
    for _ in 0..5 {
        let mut resp = d
            .http
            .post(d.url("/v1/chat/completions"))
            .json(&json!({"model": "m", "stream": true, "chunks": 20, "gap_ms": 200}))
            .send()
            .await
            .unwrap();
        resp.chunk().await.unwrap().unwrap();
        assert_eq!(in_flight_total(&metrics(&d).await), 1);
        drop(resp); // the client goes away mid-stream
    }
    assert!(
        eventually(Duration::from_secs(5), || async {
            in_flight_total(&metrics(&d).await) == 0
        })
        .await,
        "in-flight back to zero: {}",
        metrics(&d).await
    );
    assert!(
        eventually(Duration::from_secs(5), || async {
            s.stub.cancelled.load(Ordering::SeqCst) == 5
        })
        .await,
        "the upstream requests were cancelled too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dying_node_fails_over_with_no_client_error() {
    let d = TestDaemon::start(&[]);
    let mut a = start_stub("dies", &["m"]).await;
    let b = start_stub("lives", &["m"]).await;
    add_node(&d, &a, true).await;
    add_node(&d, &b, true).await;
    let d = Arc::new(d);
    let mut statuses = Vec::new();
    for round in 0..30 {
        if round == 10 {
            a.kill();
        }
        let batch: Vec<_> = (0..2)
            .map(|_| {
                let d = d.clone();
                tokio::spawn(async move { chat(&d, "m", json!({})).await })
            })
            .collect();
        for t in batch {
            let r = t.await.unwrap();
            assert_eq!(r.status, 200, "round {round}: {}", r.body);
            statuses.push(r.body["node"].as_str().unwrap().to_string());
        }
    }
    assert!(
        statuses[..20].iter().any(|n| n == "dies"),
        "both served before"
    );
    assert!(
        statuses[24..].iter().all(|n| n == "lives"),
        "only the live one after"
    );
    assert_eq!(in_flight_total(&metrics(&d).await), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_can_be_required() {
    let d = TestDaemon::start(&["--require-api-key"]);
    let s = start_stub("secure", &["m"]).await;
    add_node(&d, &s, true).await;
    let inference = d.api_key("app", "inference").await;
    let viewer = d.api_key("v", "viewer").await;
    let body = json!({"model": "m", "messages": []});
    let r = d.post("/v1/chat/completions", None, body.clone()).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["code"], "missing_token");
    let r = d
        .post("/v1/chat/completions", Some("llmlb_ak_nope"), body.clone())
        .await;
    assert_eq!(r.status, 401);
    let r = d
        .post("/v1/chat/completions", Some(&viewer), body.clone())
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(d.get("/v1/models", None).await.status, 401);
    assert_eq!(s.hits(), 0);

    let r = d
        .post("/v1/chat/completions", Some(&inference), body.clone())
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(d.get("/v1/models", Some(&inference)).await.status, 200);
    assert_eq!(
        *s.stub.last_auth.lock().unwrap(),
        None,
        "the key is not passed on"
    );
    // An inference key may not use the admin API.
    assert_eq!(d.get("/v0/nodes", Some(&inference)).await.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_flag_the_clients_authorization_reaches_the_runtime() {
    let d = TestDaemon::start(&[]);
    let s = start_stub("open", &["m"]).await;
    add_node(&d, &s, true).await;
    let r = d
        .post(
            "/v1/chat/completions",
            Some("sk-runtime-key"),
            json!({"model": "m"}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        s.stub.last_auth.lock().unwrap().as_deref(),
        Some("Bearer sk-runtime-key")
    );
}
