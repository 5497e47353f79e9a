//! The proxy's fast lane at the byte level: a real daemon, clients and
//! nodes that write HTTP by hand, so that pipelining, hand-over to the full
//! stack, unusual framing from nodes and dead pooled connections are all
//! exercised exactly.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What a hand-written node answers to a POST body.
type Answer = Arc<dyn Fn(&str) -> Reply + Send + Sync>;

struct Reply {
    bytes: Vec<u8>,
    /// Close the connection after the answer.
    close: bool,
    /// Wait this long before answering.
    delay: Duration,
}

fn reply(bytes: &[u8], close: bool) -> Reply {
    Reply {
        bytes: bytes.to_vec(),
        close,
        delay: Duration::ZERO,
    }
}

/// A node that writes its answers by hand, and keeps every request it got.
struct RawNode {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
}

impl RawNode {
    async fn start(answer: Answer) -> RawNode {
        Self::start_with_idle_timeout(answer, Duration::from_secs(3600)).await
    }

    /// A node that closes connections idle for `idle`, as runtimes do.
    async fn start_with_idle_timeout(answer: Answer, idle: Duration) -> RawNode {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests: Arc<Mutex<Vec<String>>> = Arc::default();
        let seen = requests.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(serve_raw(stream, answer.clone(), seen.clone(), idle));
            }
        });
        RawNode { addr, requests }
    }

    /// The chat requests it received (not the probes).
    fn chats(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.starts_with("POST"))
            .cloned()
            .collect()
    }
}

async fn serve_raw(
    mut stream: TcpStream,
    answer: Answer,
    seen: Arc<Mutex<Vec<String>>>,
    idle: Duration,
) {
    let mut buf = Vec::new();
    loop {
        let Ok(Some(request)) =
            tokio::time::timeout(idle, read_request(&mut stream, &mut buf)).await
        else {
            return;
        };
        seen.lock().unwrap().push(request.clone());
        let r = if request.starts_with("GET /v1/models") {
            let body = r#"{"object":"list","data":[{"id":"m"}]}"#;
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            reply(format!("{head}{body}").as_bytes(), false)
        } else {
            let body = request.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
            answer(&body)
        };
        tokio::time::sleep(r.delay).await;
        if stream.write_all(&r.bytes).await.is_err() {
            return;
        }
        if r.close {
            let _ = stream.shutdown().await;
            return;
        }
    }
}

/// Reads one request (head and Content-Length body) as text.
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<String> {
    loop {
        if let Some(end) = find(buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let len = header(&head, "content-length")
                .map(|v| v.parse::<usize>().unwrap())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                read_more(stream, buf).await?;
            }
            let request = String::from_utf8_lossy(&buf[..end + 4 + len]).to_string();
            buf.drain(..end + 4 + len);
            return Some(request);
        }
        read_more(stream, buf).await?;
    }
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<()> {
    let mut chunk = [0u8; 8192];
    match stream.read(&mut chunk).await {
        Ok(0) | Err(_) => None,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            Some(())
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The value of a header in a head (first match, any case).
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn count_headers(head: &str, name: &str) -> usize {
    head.lines()
        .skip(1)
        .filter(|l| {
            l.split_once(':')
                .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        })
        .count()
}

/// One answer as a client reads it.
#[derive(Debug)]
struct Response {
    status: u16,
    head: String,
    body: String,
}

/// Reads one answer off a client connection: Content-Length, chunked (decoded)
/// or up to the close.
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Response {
    let read = async {
        loop {
            if let Some(end) = find(buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_string();
                let status: u16 = head[9..12].parse().unwrap();
                buf.drain(..end + 4);
                if (100..200).contains(&status) {
                    continue;
                }
                let body = if status == 204 || status == 304 {
                    Vec::new()
                } else if let Some(len) = header(&head, "content-length") {
                    let len: usize = len.parse().unwrap();
                    while buf.len() < len {
                        read_more(stream, buf).await.expect("the body");
                    }
                    buf.drain(..len).collect::<Vec<u8>>()
                } else if header(&head, "transfer-encoding") == Some("chunked") {
                    let mut body = Vec::new();
                    loop {
                        let line = loop {
                            if let Some(i) = find(buf, b"\r\n") {
                                break i;
                            }
                            read_more(stream, buf).await.expect("a chunk size");
                        };
                        let text = String::from_utf8_lossy(&buf[..line]).to_string();
                        let digits = text.split(';').next().unwrap().trim();
                        let size = usize::from_str_radix(digits, 16).unwrap();
                        buf.drain(..line + 2);
                        if size == 0 {
                            // Trailer lines up to an empty one.
                            loop {
                                match find(buf, b"\r\n") {
                                    Some(0) => {
                                        buf.drain(..2);
                                        break;
                                    }
                                    Some(i) => drop(buf.drain(..i + 2)),
                                    None => read_more(stream, buf).await.expect("trailers"),
                                }
                            }
                            break body;
                        }
                        while buf.len() < size + 2 {
                            read_more(stream, buf).await.expect("chunk data");
                        }
                        body.extend(buf.drain(..size));
                        buf.drain(..2);
                    }
                } else {
                    while read_more(stream, buf).await.is_some() {}
                    std::mem::take(buf)
                };
                return Response {
                    status,
                    head,
                    body: String::from_utf8(body).unwrap(),
                };
            }
            read_more(stream, buf).await.expect("an answer");
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("an answer within 10 s")
}

fn post(path: &str, body: &str, extra: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: lb\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Registers, approves and heartbeats a node serving model `m`.
async fn add(d: &TestDaemon, name: &str, addr: SocketAddr) {
    let mut body = registration(name, "127.0.0.1", addr.port());
    body["node_api_port"] = json!(addr.port());
    let r = d.post("/v0/nodes", None, body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["node_id"].as_str().unwrap().to_string();
    let token = r.body["runtime_token"].as_str().unwrap().to_string();
    d.admin_post(&format!("/v0/nodes/{id}/approve"), json!({}))
        .await;
    let r = d
        .heartbeat(
            &token,
            json!({"node_id": id, "cpu_usage": 1.0, "memory_usage": 1.0,
                   "loaded_models": ["m"], "ready_models": [1, 1]}),
        )
        .await;
    assert_eq!(r.status, 200);
}

/// A node that echoes the request body back as JSON.
fn echo() -> Answer {
    Arc::new(|body: &str| {
        let out = json!({"echo": body}).to_string();
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            out.len()
        );
        reply(format!("{head}{out}").as_bytes(), false)
    })
}

fn echoed(r: &Response) -> Value {
    let v: Value = serde_json::from_str(&r.body).expect("JSON");
    serde_json::from_str(v["echo"].as_str().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_are_answered_in_order() {
    let d = TestDaemon::start(&[]);
    let node = RawNode::start(echo()).await;
    add(&d, "echo", node.addr).await;
    let mut c = TcpStream::connect(d.addr).await.unwrap();
    let mut wire = String::new();
    for i in 0..3 {
        wire.push_str(&post(
            "/v1/chat/completions",
            &format!(r#"{{"model":"m","n":{i}}}"#),
            "",
        ));
    }
    c.write_all(wire.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    for i in 0..3 {
        let r = read_response(&mut c, &mut buf).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(echoed(&r)["n"], i);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_connection_can_mix_inference_and_the_admin_api() {
    let d = TestDaemon::start(&[]);
    let node = RawNode::start(echo()).await;
    add(&d, "echo", node.addr).await;
    let mut c = TcpStream::connect(d.addr).await.unwrap();
    let mut buf = Vec::new();
    let chat = post("/v1/chat/completions", r#"{"model":"m"}"#, "");
    c.write_all(chat.as_bytes()).await.unwrap();
    assert_eq!(read_response(&mut c, &mut buf).await.status, 200);
    // The router serves this one; the connection comes back to the lane.
    c.write_all(b"GET /v0/status HTTP/1.1\r\nHost: lb\r\n\r\n")
        .await
        .unwrap();
    let r = read_response(&mut c, &mut buf).await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("\"version\""), "{}", r.body);
    c.write_all(chat.as_bytes()).await.unwrap();
    let r = read_response(&mut c, &mut buf).await;
    assert_eq!(r.status, 200);
    assert_eq!(echoed(&r)["model"], "m");
    assert_eq!(node.chats().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lane_takes_the_connection_back_after_each_request_it_hands_over() {
    let d = TestDaemon::start(&[]);
    // hyper writes header names in lower case; the lane passes the node's
    // head as it is, so the mixed case shows who relayed the answer.
    let node = RawNode::start(Arc::new(|_: &str| {
        reply(
            b"HTTP/1.1 200 OK\r\nX-Relayed-As: Sent\r\nContent-Length: 2\r\n\r\n{}",
            false,
        )
    }))
    .await;
    add(&d, "cased", node.addr).await;
    let mut c = TcpStream::connect(d.addr).await.unwrap();
    let mut buf = Vec::new();
    let body = r#"{"model":"m"}"#;
    let handed_over = [
        "GET /v1/models HTTP/1.1\r\nHost: lb\r\n\r\n".to_string(),
        format!(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: lb\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
            body.len()
        ),
        "GET /v0/status HTTP/1.1\r\nHost: lb\r\n\r\n".to_string(),
        post("/v1/chat/completions", "{not json", ""),
        // Admin bodies pipelined with the next request.
        format!(
            "{}{}",
            post("/v0/auth/login", r#"{"username":"x","password":"y"}"#, ""),
            post("/v1/chat/completions", body, "")
        ),
    ];
    for request in &handed_over {
        c.write_all(request.as_bytes()).await.unwrap();
        let r = read_response(&mut c, &mut buf).await;
        assert!(r.status < 500, "{request}: {r:?}");
        if request.ends_with(body) {
            // The pipelined chat, answered in order.
            let r = read_response(&mut c, &mut buf).await;
            assert!(r.head.contains("X-Relayed-As: Sent"), "{r:?}");
        }
        c.write_all(post("/v1/chat/completions", body, "").as_bytes())
            .await
            .unwrap();
        let r = read_response(&mut c, &mut buf).await;
        assert_eq!(r.status, 200, "after {request}: {r:?}");
        assert!(
            r.head.contains("X-Relayed-As: Sent"),
            "the lane relayed it after {request}: {}",
            r.head
        );
    }
    // Expect: 100-continue stays in the lane: it says Continue itself.
    let wire = post("/v1/chat/completions", body, "Expect: 100-continue\r\n");
    let (head, rest) = wire.split_at(wire.find("\r\n\r\n").unwrap() + 4);
    c.write_all(head.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    while find(&got, b"\r\n\r\n").is_none() {
        read_more(&mut c, &mut got).await.expect("100 Continue");
    }
    assert!(got.starts_with(b"HTTP/1.1 100 Continue\r\n\r\n"), "{got:?}");
    c.write_all(rest.as_bytes()).await.unwrap();
    let r = read_response(&mut c, &mut buf).await;
    assert!(r.head.contains("X-Relayed-As: Sent"), "{r:?}");
    let chats = node.chats();
    assert_eq!(chats.len(), handed_over.len() + 3);
    // The expectation was met here; the node gets the body at once.
    let last = chats.last().unwrap().to_ascii_lowercase();
    assert!(!last.contains("expect:"), "{last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_the_lane_does_not_take_still_work() {
    let d = TestDaemon::start(&[]);
    let node = RawNode::start(echo()).await;
    add(&d, "echo", node.addr).await;
    let mut buf = Vec::new();

    // A chunked upload.
    let mut c = TcpStream::connect(d.addr).await.unwrap();
    let body = r#"{"model":"m","up":"chunked"}"#;
    let wire = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: lb\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    );
    c.write_all(wire.as_bytes()).await.unwrap();
    let r = read_response(&mut c, &mut buf).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(echoed(&r)["up"], "chunked");

    // Expect: 100-continue.
    let mut c = TcpStream::connect(d.addr).await.unwrap();
    let wire = post(
        "/v1/chat/completions",
        r#"{"model":"m","up":"expect"}"#,
        "Expect: 100-continue\r\n",
    );
    c.write_all(wire.as_bytes()).await.unwrap();
    let r = read_response(&mut c, &mut buf).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(echoed(&r)["up"], "expect");

    // Errors of the client's making get the API's answers.
    let mut c = TcpStream::connect(d.addr).await.unwrap();
    for (body, status, code) in [
        ("{not json", 400, "invalid_json"),
        (r#"{"messages":[]}"#, 400, "model_required"),
        (r#"{"model":"nobody-has-it"}"#, 503, "no_node_for_model"),
    ] {
        c.write_all(post("/v1/chat/completions", body, "").as_bytes())
            .await
            .unwrap();
        let r = read_response(&mut c, &mut buf).await;
        assert_eq!(r.status, status, "{body}: {r:?}");
        let v: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["code"], code, "{body}");
    }
    assert_eq!(
        node.chats().len(),
        2,
        "only the two good requests reached the node"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_reach_the_node_once_and_connection_headers_not_at_all() {
    let d = TestDaemon::start(&[]);
    let node = RawNode::start(echo()).await;
    add(&d, "echo", node.addr).await;
    let mut c = TcpStream::connect(d.addr).await.unwrap();
    let wire = post(
        "/v1/embeddings",
        r#"{"model":"m"}"#,
        "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nAuthorization: Bearer sk-node\r\nX-Trace: abc\r\n",
    );
    c.write_all(wire.as_bytes()).await.unwrap();
    let r = read_response(&mut c, &mut Vec::new()).await;
    assert_eq!(r.status, 200, "{r:?}");
    let got = node.chats().pop().unwrap();
    let head = got.split("\r\n\r\n").next().unwrap();
    assert!(head.starts_with("POST /v1/embeddings HTTP/1.1"), "{head}");
    assert_eq!(count_headers(head, "content-length"), 1, "{head}");
    assert_eq!(count_headers(head, "host"), 1, "{head}");
    assert_eq!(header(head, "host"), Some(node.addr.to_string().as_str()));
    assert_eq!(header(head, "authorization"), Some("Bearer sk-node"));
    assert_eq!(header(head, "x-trace"), Some("abc"));
    assert_eq!(count_headers(head, "connection"), 0, "{head}");
    assert_eq!(count_headers(head, "keep-alive"), 0, "{head}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_framing_a_node_chooses_reaches_the_client_intact() {
    let d = TestDaemon::start(&[]);
    let node = RawNode::start(Arc::new(|body: &str| {
        let v: Value = serde_json::from_str(body).unwrap();
        match v["case"].as_str().unwrap() {
            // HTTP/1.0, no length: the body ends when the node closes.
            "close" => reply(
                b"HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end",
                true,
            ),
            // Chunked wins over a (wrong) length, which must not reach the client.
            "both" => reply(
                b"HTTP/1.1 200 OK\r\ncontent-length: 999\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nx-trailer: 1\r\n\r\n",
                false,
            ),
            "empty" => reply(b"HTTP/1.1 204 No Content\r\n\r\n", false),
            "error" => reply(
                b"HTTP/1.1 429 Too Many Requests\r\ncontent-length: 4\r\nretry-after: 1\r\n\r\nslow",
                false,
            ),
            other => panic!("unknown case {other}"),
        }
    }))
    .await;
    add(&d, "framing", node.addr).await;
    let mut buf = Vec::new();
    let mut c = TcpStream::connect(d.addr).await.unwrap();
    for case in ["both", "empty", "error", "both"] {
        let body = format!(r#"{{"model":"m","case":"{case}"}}"#);
        c.write_all(post("/v1/completions", &body, "").as_bytes())
            .await
            .unwrap();
        let r = read_response(&mut c, &mut buf).await;
        match case {
            "both" => {
                assert_eq!(r.status, 200);
                assert_eq!(r.body, "hello world");
                assert_eq!(count_headers(&r.head, "content-length"), 0, "{}", r.head);
            }
            "empty" => assert_eq!((r.status, r.body.as_str()), (204, "")),
            _ => {
                assert_eq!((r.status, r.body.as_str()), (429, "slow"));
                assert_eq!(header(&r.head, "retry-after"), Some("1"));
            }
        }
    }
    // The close-delimited answer ends the client's connection too.
    let body = r#"{"model":"m","case":"close"}"#;
    c.write_all(post("/v1/completions", body, "").as_bytes())
        .await
        .unwrap();
    let r = read_response(&mut c, &mut buf).await;
    assert_eq!((r.status, r.body.as_str()), (200, "until the end"));
    assert_eq!(header(&r.head, "connection"), Some("close"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pooled_connections_the_node_closed_are_replaced_without_duplicates() {
    let d = TestDaemon::start(&[]);
    // Answers keep-alive style (no `connection: close`) and then hangs up,
    // as a node does whose idle timeout is shorter than ours.
    let node = RawNode::start(Arc::new(|_: &str| {
        reply(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}",
            true,
        )
    }))
    .await;
    add(&d, "hangs-up", node.addr).await;
    let mut c = TcpStream::connect(d.addr).await.unwrap();
    let mut buf = Vec::new();
    for i in 0..6 {
        c.write_all(post("/v1/chat/completions", r#"{"model":"m"}"#, "").as_bytes())
            .await
            .unwrap();
        let r = read_response(&mut c, &mut buf).await;
        assert_eq!(r.status, 200, "request {i}: {r:?}");
        if i % 2 == 0 {
            // Give the close time to arrive before the next checkout.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert_eq!(node.chats().len(), 6, "each request reached the node once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_that_do_not_speak_http_or_answer_too_late_get_clear_errors() {
    let d = TestDaemon::start(&["--upstream-timeout", "1s"]);
    let garbage = RawNode::start(Arc::new(|body: &str| {
        if body.contains("slow") {
            return Reply {
                delay: Duration::from_millis(2500),
                ..reply(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}", false)
            };
        }
        reply(b"SSH-2.0-OpenSSH_9.6\r\n\r\n", true)
    }))
    .await;
    add(&d, "garbage", garbage.addr).await;
    let mut c = TcpStream::connect(d.addr).await.unwrap();
    let mut buf = Vec::new();
    c.write_all(post("/v1/chat/completions", r#"{"model":"m"}"#, "").as_bytes())
        .await
        .unwrap();
    let r = read_response(&mut c, &mut buf).await;
    assert_eq!(r.status, 502, "{r:?}");
    let v: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["code"], "upstream_bad_answer");
    assert!(v["error"].as_str().unwrap().contains("not HTTP/1"), "{v}");

    // The same through the full stack (a chunked upload).
    let body = r#"{"model":"m"}"#;
    let wire = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: lb\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    );
    let mut full = TcpStream::connect(d.addr).await.unwrap();
    full.write_all(wire.as_bytes()).await.unwrap();
    let r = read_response(&mut full, &mut Vec::new()).await;
    assert_eq!(r.status, 502, "{r:?}");
    assert!(r.body.contains("upstream_bad_answer"), "{}", r.body);
    assert_eq!(
        garbage.chats().len(),
        2,
        "each request reached the node once"
    );

    c.write_all(post("/v1/chat/completions", r#"{"model":"m","slow":1}"#, "").as_bytes())
        .await
        .unwrap();
    let r = read_response(&mut c, &mut buf).await;
    assert_eq!(r.status, 504, "{r:?}");
    let v: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["code"], "upstream_timeout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_a_node_may_have_run_is_never_sent_again() {
    let d = TestDaemon::start(&[]);
    let answer: Answer = Arc::new(|body: &str| {
        let v: Value = serde_json::from_str(body).unwrap();
        match v["case"].as_str().unwrap() {
            "good" => reply(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}", false),
            // Works a while, then hangs up without a byte.
            "vanish" => Reply {
                delay: Duration::from_millis(200),
                ..reply(b"", true)
            },
            // Starts an answer and dies.
            "partial" => reply(b"HTTP/1.1 200 OK\r\ncontent-", true),
            // A coding the lane cannot relay.
            "gzip" => reply(b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n", true),
            other => panic!("unknown case {other}"),
        }
    });
    let a = RawNode::start(answer.clone()).await;
    let b = RawNode::start(answer).await;
    add(&d, "a", a.addr).await;
    add(&d, "b", b.addr).await;
    let count = |case: &str| {
        let needle = format!("\"case\":\"{case}\"");
        let n = |node: &RawNode| node.chats().iter().filter(|r| r.contains(&needle)).count();
        (n(&a), n(&b))
    };
    let mut c = TcpStream::connect(d.addr).await.unwrap();
    let mut buf = Vec::new();
    let mut send = async |case: &str| {
        let body = format!(r#"{{"model":"m","case":"{case}"}}"#);
        c.write_all(post("/v1/chat/completions", &body, "").as_bytes())
            .await
            .unwrap();
        read_response(&mut c, &mut buf).await
    };
    // Warm both nodes' pooled connections.
    for _ in 0..4 {
        assert_eq!(send("good").await.status, 200);
    }
    // No answer byte: another node may try, but no node gets it twice.
    let r = send("vanish").await;
    assert_eq!(r.status, 502, "{r:?}");
    assert!(r.body.contains("upstream_unreachable"), "{}", r.body);
    assert_eq!(count("vanish"), (1, 1));
    // Answer bytes arrived: the request may have run, so it goes nowhere
    // else and is not repeated.
    for case in ["partial", "gzip"] {
        let r = send(case).await;
        assert_eq!(r.status, 502, "{case}: {r:?}");
        assert!(r.body.contains("upstream_bad_answer"), "{}", r.body);
        let (x, y) = count(case);
        assert_eq!(x + y, 1, "{case} reached the nodes {x} + {y} times");
    }
}

/// Connections of this process in CLOSE_WAIT towards `port`: closed by the
/// peer, not yet by us.
fn close_wait_towards(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    table
        .lines()
        .skip(1)
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 3
                && f[3] == "08"
                && f[2]
                    .rsplit(':')
                    .next()
                    .is_some_and(|p| u16::from_str_radix(p, 16) == Ok(port))
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_node_connections_the_node_closed_do_not_linger() {
    let d = TestDaemon::start(&[]);
    let node = RawNode::start_with_idle_timeout(
        Arc::new(|_: &str| Reply {
            delay: Duration::from_millis(100),
            ..reply(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}", false)
        }),
        Duration::from_millis(300),
    )
    .await;
    add(&d, "short-keepalive", node.addr).await;
    // Ten at once: ten pooled connections, all closed by the node soon after.
    let requests: Vec<_> = (0..10)
        .map(|_| {
            let addr = d.addr;
            tokio::spawn(async move {
                let mut c = TcpStream::connect(addr).await.unwrap();
                c.write_all(post("/v1/chat/completions", r#"{"model":"m"}"#, "").as_bytes())
                    .await
                    .unwrap();
                read_response(&mut c, &mut Vec::new()).await.status
            })
        })
        .collect();
    for r in requests {
        assert_eq!(r.await.unwrap(), 200);
    }
    assert!(
        eventually(Duration::from_secs(2), || async {
            close_wait_towards(node.addr.port()) > 0
        })
        .await,
        "the node closed its idle connections"
    );
    assert!(
        eventually(Duration::from_secs(15), || async {
            close_wait_towards(node.addr.port()) == 0
        })
        .await,
        "llmlbd closed its side of them: {} left",
        close_wait_towards(node.addr.port())
    );
    // And the next request still gets through, on a new connection.
    let mut c = TcpStream::connect(d.addr).await.unwrap();
    c.write_all(post("/v1/chat/completions", r#"{"model":"m"}"#, "").as_bytes())
        .await
        .unwrap();
    assert_eq!(read_response(&mut c, &mut Vec::new()).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_answers_in_flight_and_closes_idle_connections() {
    let mut d = TestDaemon::start(&[]);
    let node = RawNode::start(Arc::new(|_: &str| Reply {
        delay: Duration::from_millis(800),
        ..reply(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\ndone", false)
    }))
    .await;
    add(&d, "slow", node.addr).await;
    // One connection idle after an answer, one with a request in flight.
    let mut idle = TcpStream::connect(d.addr).await.unwrap();
    idle.write_all(b"GET /v0/status HTTP/1.1\r\nHost: lb\r\n\r\n")
        .await
        .unwrap();
    let mut idle_buf = Vec::new();
    assert_eq!(read_response(&mut idle, &mut idle_buf).await.status, 200);
    // And one idle in the lane, after an inference answer.
    let mut idle_lane = TcpStream::connect(d.addr).await.unwrap();
    idle_lane
        .write_all(post("/v1/chat/completions", r#"{"model":"m"}"#, "").as_bytes())
        .await
        .unwrap();
    assert_eq!(
        read_response(&mut idle_lane, &mut Vec::new()).await.status,
        200
    );
    let mut busy = TcpStream::connect(d.addr).await.unwrap();
    busy.write_all(post("/v1/chat/completions", r#"{"model":"m"}"#, "").as_bytes())
        .await
        .unwrap();
    assert!(
        eventually(Duration::from_secs(5), || async { node.chats().len() == 2 }).await,
        "the request reached the node"
    );
    let stopped = std::thread::spawn(move || d.stop());
    let r = read_response(&mut busy, &mut Vec::new()).await;
    assert_eq!((r.status, r.body.as_str()), (200, "done"));
    assert_eq!(header(&r.head, "connection"), Some("close"), "{}", r.head);
    // All three connections end.
    for c in [&mut busy, &mut idle, &mut idle_lane] {
        let mut rest = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(5), c.read(&mut rest))
            .await
            .expect("the daemon closes the connection");
        assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
    }
    assert_eq!(stopped.join().unwrap(), Some(0));
}
