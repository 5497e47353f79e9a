//! The OpenAI-compatible proxy against the real daemon and stub runtimes.
//! Every test runs twice, once through each entry of the daemon
//! (`--proxy-entry lane`, the default, and `--proxy-entry hyper`): both must
//! behave the same, since both end in the one dispatch path.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use common::*;
use serde_json::{json, Value};

/// Runs each named test body (an `async fn(entry: &str)`) once per entry.
macro_rules! through_both_entries {
    ($($name:ident),* $(,)?) => {
        mod lane_entry {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name("lane").await
                }
            )*
        }
        mod hyper_entry {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name("hyper").await
                }
            )*
        }
    };
}

through_both_entries!(
    requests_go_to_a_node_that_has_the_model,
    concurrent_requests_spread_over_nodes_with_the_same_model,
    pending_drained_and_offline_nodes_get_nothing,
    streams_pass_through_chunk_by_chunk,
    cancelled_streams_free_their_in_flight_slots,
    a_dying_node_fails_over_with_no_client_error,
    api_keys_can_be_required,
    without_the_flag_the_clients_authorization_reaches_the_runtime,
    connection_close_is_answered_then_closed,
    one_connection_serves_every_kind_of_request_in_turn,
    a_body_that_stalls_gets_the_same_deadline_and_answer,
);

/// A daemon whose connections start at `entry`.
fn daemon(entry: &str, extra: &[&str]) -> TestDaemon {
    let mut args = vec!["--proxy-entry", entry];
    args.extend_from_slice(extra);
    TestDaemon::start(&args)
}

/// A stub runtime that says who it is in every answer.
#[derive(Clone)]
struct Stub {
    name: String,
    models: Vec<String>,
    hits: Arc<AtomicUsize>,
    /// Streams whose reader went away before the end.
    cancelled: Arc<AtomicUsize>,
    last_auth: Arc<Mutex<Option<String>>>,
    /// Lets a held stream (`"hold": true`) go on after its first chunk.
    release: Arc<tokio::sync::Notify>,
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
        let hold = body["hold"] == true;
        let release = s.release.clone();
        let guard = CancelOnDrop(s.cancelled.clone(), false);
        let stream = futures_util::stream::unfold((0u64, guard), move |(i, mut guard)| {
            let name = name.clone();
            let release = release.clone();
            async move {
                if i > chunks {
                    return None;
                }
                if i == 1 && hold {
                    // Until the client has seen the first chunk (a proxy
                    // that buffers never lets it, so the stream goes on
                    // after a while and the test fails on what it got).
                    tokio::select! {
                        () = release.notified() => {}
                        () = tokio::time::sleep(Duration::from_secs(10)) => {}
                    }
                } else if i > 0 {
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
        release: Arc::default(),
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

async fn requests_go_to_a_node_that_has_the_model(entry: &str) {
    let d = daemon(entry, &[]);
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

async fn concurrent_requests_spread_over_nodes_with_the_same_model(entry: &str) {
    let d = daemon(entry, &[]);
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

async fn pending_drained_and_offline_nodes_get_nothing(entry: &str) {
    let d = daemon(entry, &[]);
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

async fn streams_pass_through_chunk_by_chunk(entry: &str) {
    let d = daemon(entry, &[]);
    let s = start_stub("streamer", &["m"]).await;
    add_node(&d, &s, true).await;
    let mut resp = d
        .http
        .post(d.url("/v1/chat/completions"))
        .json(&json!({"model": "m", "stream": true, "chunks": 3, "gap_ms": 10, "hold": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    // The node sends the rest only once the client has the first chunk: a
    // proxy that buffered would deliver it together with the rest.
    let first = String::from_utf8_lossy(&resp.chunk().await.unwrap().unwrap()).to_string();
    assert!(first.contains("\"chunk\":0"), "{first}");
    assert!(
        !first.contains("\"chunk\":1") && !first.contains("[DONE]"),
        "the first chunk came with the rest: {first}"
    );
    s.stub.release.notify_one();
    let mut rest = Vec::new();
    while let Some(c) = resp.chunk().await.unwrap() {
        rest.extend_from_slice(&c);
    }
    let rest = String::from_utf8_lossy(&rest);
    assert!(
        rest.contains("\"chunk\":1")
            && rest.contains("\"chunk\":2")
            && rest.ends_with("data: [DONE]\n\n"),
        "{rest}"
    );
}

async fn cancelled_streams_free_their_in_flight_slots(entry: &str) {
    let d = daemon(entry, &[]);
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

async fn a_dying_node_fails_over_with_no_client_error(entry: &str) {
    let d = daemon(entry, &[]);
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

async fn api_keys_can_be_required(entry: &str) {
    let d = daemon(entry, &["--require-api-key"]);
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

async fn without_the_flag_the_clients_authorization_reaches_the_runtime(entry: &str) {
    let d = daemon(entry, &[]);
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

/// Reads one answer with a `Content-Length` body off `c`: (head, body).
async fn read_answer(c: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> (String, String) {
    use tokio::io::AsyncReadExt;
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let status: u16 = head[9..12].parse().unwrap();
            if (100..200).contains(&status) {
                buf.drain(..end + 4);
                continue;
            }
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().unwrap())
                })
                .expect("a Content-Length");
            if buf.len() >= end + 4 + len {
                let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).to_string();
                buf.drain(..end + 4 + len);
                return (head, body);
            }
        }
        let mut chunk = [0u8; 8192];
        let n = c.read(&mut chunk).await.unwrap();
        assert!(
            n > 0,
            "the connection closed mid-answer: {:?}",
            String::from_utf8_lossy(buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn chat_wire(model: &str, extra_headers: &str) -> String {
    let body = format!(r#"{{"model":"{model}","messages":[]}}"#);
    format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: lb\r\ncontent-type: application/json\r\n{extra_headers}content-length: {}\r\n\r\n{body}",
        body.len()
    )
}

async fn connection_close_is_answered_then_closed(entry: &str) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let d = daemon(entry, &[]);
    let s = start_stub("closer", &["m"]).await;
    add_node(&d, &s, true).await;
    let mut c = tokio::net::TcpStream::connect(d.addr).await.unwrap();
    c.write_all(chat_wire("m", "Connection: close\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = Vec::new();
    let (head, body) = read_answer(&mut c, &mut buf).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(body.contains("\"node\":\"closer\""), "{body}");
    assert!(
        head.to_ascii_lowercase().contains("connection: close"),
        "{head}"
    );
    // Then the daemon closes: the next read ends the stream.
    assert_eq!(c.read(&mut [0u8; 64]).await.unwrap_or(0), 0);
    assert_eq!(s.hits(), 1);
}

async fn one_connection_serves_every_kind_of_request_in_turn(entry: &str) {
    use tokio::io::AsyncWriteExt;
    let d = daemon(entry, &[]);
    let s = start_stub("mixed", &["m"]).await;
    add_node(&d, &s, true).await;
    let mut c = tokio::net::TcpStream::connect(d.addr).await.unwrap();
    let mut buf = Vec::new();
    let chunked_body = r#"{"model":"m","messages":[]}"#;
    let requests = [
        "GET /v1/models HTTP/1.1\r\nHost: lb\r\n\r\n".to_string(),
        format!(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: lb\r\ncontent-type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{chunked_body}\r\n0\r\n\r\n",
            chunked_body.len()
        ),
        chat_wire("m", "Expect: 100-continue\r\n"),
        "GET /v0/status HTTP/1.1\r\nHost: lb\r\n\r\n".to_string(),
        chat_wire("nobody-has-it", ""),
        "GET /metrics HTTP/1.1\r\nHost: lb\r\n\r\n".to_string(),
    ];
    for request in &requests {
        c.write_all(request.as_bytes()).await.unwrap();
        let (head, body) = read_answer(&mut c, &mut buf).await;
        let first_line = request.lines().next().unwrap();
        if request.contains("nobody-has-it") {
            assert!(head.starts_with("HTTP/1.1 503"), "{first_line}: {head}");
            assert!(body.contains("no_node_for_model"), "{body}");
        } else {
            assert!(
                head.starts_with("HTTP/1.1 200"),
                "{first_line}: {head}\n{body}"
            );
        }
        // And a plain chat after each on the same connection.
        c.write_all(chat_wire("m", "").as_bytes()).await.unwrap();
        let (head, body) = read_answer(&mut c, &mut buf).await;
        assert!(
            head.starts_with("HTTP/1.1 200"),
            "after {first_line}: {head}"
        );
        assert!(body.contains("\"node\":\"mixed\""), "{body}");
    }
    assert_eq!(s.hits(), 2 + requests.len());
}

async fn a_body_that_stalls_gets_the_same_deadline_and_answer(entry: &str) {
    use tokio::io::AsyncWriteExt;
    let d = daemon(entry, &["--body-timeout", "1s"]);
    let s = start_stub("patient", &["m"]).await;
    add_node(&d, &s, true).await;
    for path in ["/v1/chat/completions", "/v0/nodes"] {
        let mut c = tokio::net::TcpStream::connect(d.addr).await.unwrap();
        // Half the announced body, then nothing.
        c.write_all(
            format!(
                "POST {path} HTTP/1.1\r\nHost: lb\r\ncontent-type: application/json\r\ncontent-length: 40\r\n\r\n{{\"model\":\"m\","
            )
            .as_bytes(),
        )
        .await
        .unwrap();
        let mut buf = Vec::new();
        let (head, body) = read_answer(&mut c, &mut buf).await;
        assert!(head.starts_with("HTTP/1.1 408"), "{path}: {head}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["code"], "body_timeout", "{path}");
    }
    assert_eq!(s.hits(), 0);
}
