//! A small, fast stand-in for an OpenAI-compatible inference server, for
//! benchmarks: `cargo run --release --example stub_runtime -- 127.0.0.1:18080`.
//!
//! `GET /v1/models` lists `bench-model`; `POST /v1/chat/completions` answers
//! a fixed completion at once, or, when the body asks for `"stream": true`,
//! sends one SSE chunk at once and the rest 20 ms apart.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

const MODELS: &str = r#"{"object":"list","data":[{"id":"bench-model","object":"model"}]}"#;
const COMPLETION: &str = r#"{"id":"chatcmpl-bench","object":"chat.completion","created":0,"model":"bench-model","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the stub."},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":5,"total_tokens":10}}"#;

type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;

async fn handle(req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_string();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let json = |s: &'static str| {
        Response::builder()
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(s.as_bytes())).boxed())
            .expect("a valid response")
    };
    Ok(match path.as_str() {
        "/v1/models" => json(MODELS),
        "/v1/chat/completions" | "/v1/completions" => {
            let stream = body.windows(14).any(|w| w == b"\"stream\":true")
                || body.windows(15).any(|w| w == b"\"stream\": true");
            if !stream {
                json(COMPLETION)
            } else {
                let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, Infallible>>(8);
                tokio::spawn(async move {
                    for i in 0..5 {
                        if i > 0 {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        let chunk = format!(
                            "data: {{\"object\":\"chat.completion.chunk\",\"choices\":[{{\"delta\":{{\"content\":\"t{i}\"}}}}]}}\n\n"
                        );
                        if tx.send(Ok(Frame::data(Bytes::from(chunk)))).await.is_err() {
                            return;
                        }
                    }
                    let _ = tx
                        .send(Ok(Frame::data(Bytes::from_static(b"data: [DONE]\n\n"))))
                        .await;
                });
                let stream = futures_util::stream::unfold(rx, |mut rx| async move {
                    rx.recv().await.map(|f| (f, rx))
                });
                Response::builder()
                    .header("content-type", "text/event-stream")
                    .body(StreamBody::new(stream).boxed())
                    .expect("a valid response")
            }
        }
        _ => Response::builder()
            .status(404)
            .body(Full::new(Bytes::from_static(b"{}")).boxed())
            .expect("a valid response"),
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18080".into());
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    eprintln!("stub runtime on http://{addr}");
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(handle))
                .await;
        });
    }
}
