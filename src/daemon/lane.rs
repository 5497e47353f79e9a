//! The proxy's fast lane: every connection's requests are read here, with
//! no HTTP framework in between for the common inference request.
//!
//! The lane reads each request head itself. A `POST` to one of the three
//! inference routes that it can frame (HTTP/1.1, a `Content-Length` body,
//! the API key in order when one is required) has its body read here and
//! goes to the one dispatch path ([`super::dispatch`]); the node's answer is
//! copied back byte for byte, framing included, so nothing is decoded or
//! re-encoded on the way. `Connection: close` is honoured after the answer.
//! Any other request the lane can frame (the admin API, `/v1/models`,
//! `/metrics`, a `/v1` request with a missing key) is handed to hyper and the
//! router on its own, and the connection comes back to the lane for the
//! next request. What the lane cannot frame (chunked uploads, `Expect`,
//! upgrades, HTTP/1.0, very many headers) goes to hyper for the rest of the
//! connection, where `/v1` requests still reach the same dispatch.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use bytes::{Buf, Bytes, BytesMut};
use http_body::Frame;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tower::ServiceExt;

use super::dispatch::{self, Answered, Outcome, ProxyRequest};
use super::error::ApiError;
use super::extract::{body_deadline, body_timed_out, HeadRead};
use super::proxy::{ProxyEntry, PROXY_BODY_LIMIT};
use super::router::AppState;
use super::upstream::{self, BodyScan, ClientWatch, Framing};
use crate::api::auth::Role;
use crate::api::ErrorBody;

/// Largest request head the lane reads; a larger one is refused.
const MAX_HEAD: usize = 64 * 1024;
/// Most headers in a head the lane handles.
const MAX_HEADERS: usize = 64;
/// Client bytes buffered while an answer is on its way (a pipelined next
/// request); past this the client is no longer watched until the answer
/// ends.
const MAX_AHEAD: usize = 64 * 1024;

/// What every connection of one HTTP worker needs.
pub(super) struct Ctx {
    pub state: AppState,
    pub app: Router,
    pub http: http1::Builder,
    pub header_timeout: Duration,
}

/// What the lane needs of a client connection: a byte stream (plain TCP,
/// or TLS over it) and the address it comes from. The lane watches a
/// client only by reading from it, never by peeking at the socket, since
/// under TLS the socket's bytes are records, not the request.
pub(super) trait ClientIo: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    fn peer_addr(&self) -> Option<std::net::SocketAddr>;
}

impl ClientIo for TcpStream {
    fn peer_addr(&self) -> Option<std::net::SocketAddr> {
        TcpStream::peer_addr(self).ok()
    }
}

impl ClientIo for tokio_rustls::server::TlsStream<TcpStream> {
    fn peer_addr(&self) -> Option<std::net::SocketAddr> {
        self.get_ref().0.peer_addr().ok()
    }
}

/// Serves one client connection until it closes, or until `shutdown` says
/// so while the connection is idle.
pub(super) async fn serve<S: ClientIo>(
    mut client: S,
    ctx: Arc<Ctx>,
    mut shutdown: watch::Receiver<bool>,
) {
    if ctx.state.proxy.config().entry == ProxyEntry::Hyper {
        return full_stack(client, Bytes::new(), &ctx, shutdown).await;
    }
    let mut buf = BytesMut::with_capacity(8 * 1024);
    loop {
        let (len, head_read) = match read_head(&mut client, &mut buf, &ctx, &mut shutdown).await {
            Head::Complete(len, at) => (len, at),
            Head::Closed => return,
            Head::Refuse(error) => return refuse(client, error).await,
            Head::FullStack => break,
        };
        match classify(&buf[..len], &ctx.state) {
            Class::Proxy(req) => {
                match proxy_one(&mut client, &mut buf, len, head_read, req, &ctx, &shutdown).await {
                    Next::KeepGoing if !*shutdown.borrow() => continue,
                    Next::KeepGoing | Next::Close => return,
                }
            }
            Class::Router { body } => {
                let request = Handover {
                    head_len: len,
                    body,
                    head_read,
                };
                match router_one(client, buf, request, &ctx).await {
                    Some((c, b)) if !*shutdown.borrow() => (client, buf) = (c, b),
                    _ => return,
                }
            }
            Class::Refuse(error) => return refuse(client, error).await,
            Class::FullStack => break,
        }
    }
    full_stack(client, buf.freeze(), &ctx, shutdown).await;
}

enum Head {
    /// A complete head of this many bytes is at the start of the buffer,
    /// read completely at that instant.
    Complete(usize, Instant),
    /// The client closed, went quiet past the header timeout, or the daemon
    /// is stopping and the connection was idle.
    Closed,
    /// Not for the lane: let hyper read it (and answer any error).
    FullStack,
    /// Not HTTP the daemon accepts: answer this error and close.
    Refuse(ApiError),
}

/// Answers a request that cannot be served and closes the connection.
/// What the client still sends is read and dropped for a moment, so that
/// closing does not reset the connection before the answer is read.
async fn refuse<S: ClientIo>(mut client: S, error: ApiError) {
    answer_error(&mut client, error, true).await;
    let _ = client.shutdown().await;
    let mut sink = [0u8; 8192];
    let drain = async {
        let mut left = 1usize << 20;
        while left > 0 {
            match client.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
}

/// A request head that cannot be read. hyper would answer these with an
/// empty body; the API's answers all carry `{error, code}`.
fn bad_request_head(why: &str) -> ApiError {
    ApiError::bad_request(
        "bad_request",
        format!("the request is not valid HTTP/1.1: {why}"),
    )
}

/// Reads until the buffer holds a complete request head.
async fn read_head<S: ClientIo>(
    client: &mut S,
    buf: &mut BytesMut,
    ctx: &Ctx,
    shutdown: &mut watch::Receiver<bool>,
) -> Head {
    let mut deadline = None;
    // Bytes known not to end the head: a head trickled in small pieces is
    // parsed once, when its end has arrived, not once per piece.
    let mut checked = 0;
    loop {
        if buf.len() > checked && may_end_head(buf, checked) {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            match httparse::Request::new(&mut headers).parse(buf) {
                Ok(httparse::Status::Complete(len)) => return Head::Complete(len, Instant::now()),
                Ok(httparse::Status::Partial) => {}
                // hyper takes more headers than the lane.
                Err(httparse::Error::TooManyHeaders) => return Head::FullStack,
                Err(e) => return Head::Refuse(bad_request_head(&e.to_string())),
            }
        }
        if buf.len() >= MAX_HEAD {
            return Head::Refuse(ApiError::new(
                axum::http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "headers_too_large",
                format!(
                    "the request head is larger than {} KiB; send fewer or smaller headers",
                    MAX_HEAD / 1024
                ),
            ));
        }
        checked = buf.len();
        let deadline =
            *deadline.get_or_insert_with(|| tokio::time::Instant::now() + ctx.header_timeout);
        let idle = buf.is_empty();
        let read = tokio::select! {
            r = client.read_buf(buf) => r,
            () = tokio::time::sleep_until(deadline) => return Head::Closed,
            _ = shutdown.changed(), if idle => return Head::Closed,
        };
        match read {
            Ok(0) | Err(_) => return Head::Closed,
            Ok(_) => {}
        }
    }
}

/// Whether the bytes from `from` on (with the few before, which a line end
/// may span) hold an empty line, which ends a head.
fn may_end_head(buf: &[u8], from: usize) -> bool {
    let tail = &buf[from.saturating_sub(3)..];
    tail.windows(2).any(|w| w == b"\n\n") || tail.windows(3).any(|w| w == b"\n\r\n")
}

/// What the lane does with a request head.
enum Class {
    /// An inference request: dispatched here.
    Proxy(LaneRequest),
    /// Any other request whose end the lane can find (a body of known
    /// length, none, or chunked): served by the router, then the connection
    /// comes back.
    Router { body: Framing },
    /// Framed in a way the lane does not follow (an upgrade, HTTP/1.0,
    /// connection options): hyper for the rest of the connection.
    FullStack,
    /// Framed in a way no server may guess at: answer this and close.
    Refuse(ApiError),
}

/// An inference request the lane dispatches.
struct LaneRequest {
    /// Length of its body (from `Content-Length`).
    body_len: usize,
    path: &'static str,
    /// The client's headers as they go to the node (see
    /// [`ProxyRequest::headers`]).
    forwarded: Vec<u8>,
    /// The client asked to close the connection after this answer.
    close: bool,
    /// The client waits for `100 Continue` before it sends the body.
    expect_continue: bool,
}

/// Sorts a complete request head at the start of `head`.
fn classify(head: &[u8], state: &AppState) -> Class {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    if req.parse(head).is_err() {
        return Class::FullStack;
    }
    let path = match (req.method, req.path) {
        (Some("POST"), Some("/v1/chat/completions")) => Some("/v1/chat/completions"),
        (Some("POST"), Some("/v1/completions")) => Some("/v1/completions"),
        (Some("POST"), Some("/v1/embeddings")) => Some("/v1/embeddings"),
        _ => None,
    };
    let require_key = state.proxy.config().require_api_key;
    let mut length = None;
    let mut chunked = false;
    // Upgrade, or connection options the lane does not handle.
    let mut unframed = req.version != Some(1);
    let mut expect = None;
    let mut close = false;
    let mut authorization = None;
    let mut forwarded = Vec::with_capacity(if path.is_some() { head.len() } else { 0 });
    for h in req.headers.iter() {
        let name = h.name;
        if path.is_some()
            && !(upstream::is_hop_by_hop(name)
                || (require_key && name.eq_ignore_ascii_case("authorization")))
        {
            forwarded.extend_from_slice(name.as_bytes());
            forwarded.extend_from_slice(b": ");
            forwarded.extend_from_slice(h.value);
            forwarded.extend_from_slice(b"\r\n");
        }
        if name.eq_ignore_ascii_case("content-length") {
            let Some(n) = upstream::parse_length(h.value) else {
                return Class::Refuse(bad_request_head(
                    "the Content-Length header is not a number",
                ));
            };
            if length.is_some_and(|l| l != n) {
                return Class::Refuse(bad_request_head("two Content-Length headers differ"));
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = true;
        } else if name.eq_ignore_ascii_case("expect") {
            expect = Some(h.value);
        } else if name.eq_ignore_ascii_case("upgrade") {
            unframed = true;
        } else if name.eq_ignore_ascii_case("connection") {
            for token in h.value.split(|b| *b == b',').map(<[u8]>::trim_ascii) {
                if token.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if !token.eq_ignore_ascii_case(b"keep-alive") {
                    unframed = true;
                }
            }
        } else if name.eq_ignore_ascii_case("authorization") {
            authorization = Some(h.value);
        }
    }
    if chunked && length.is_some() {
        return Class::Refuse(bad_request_head(
            "a request may not carry both Content-Length and Transfer-Encoding",
        ));
    }
    if unframed {
        return Class::FullStack;
    }
    let body_len = length.unwrap_or(0);
    let body = if chunked {
        Framing::Chunked
    } else {
        Framing::Length(body_len)
    };
    let expect_continue =
        expect.is_some_and(|v| v.trim_ascii().eq_ignore_ascii_case(b"100-continue"));
    let Some(path) = path else {
        return Class::Router { body };
    };
    // A chunked upload, an expectation other than 100-continue, too large a
    // body, or a key missing or not for inference: the router reads or
    // answers these as the API does everywhere.
    let fits = usize::try_from(body_len).is_ok_and(|n| n <= PROXY_BODY_LIMIT);
    if chunked
        || (expect.is_some() && !expect_continue)
        || !fits
        || (require_key && !inference_key(state, authorization))
    {
        return Class::Router { body };
    }
    Class::Proxy(LaneRequest {
        body_len: body_len as usize,
        path,
        forwarded,
        close,
        expect_continue,
    })
}

/// Whether an `Authorization` value carries a key that may call `/v1`.
fn inference_key(state: &AppState, authorization: Option<&[u8]>) -> bool {
    let Some(token) = authorization
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(super::extract::bearer_token)
    else {
        return false;
    };
    state
        .auth
        .authenticate(token)
        .is_ok_and(|p| matches!(p.role, Role::Inference | Role::Admin))
}

/// What the connection does after a request.
enum Next {
    KeepGoing,
    Close,
}

/// Reads the body, dispatches, copies the answer back. On return the
/// request (head and body) is gone from `buf`.
async fn proxy_one<S: ClientIo>(
    client: &mut S,
    buf: &mut BytesMut,
    head_len: usize,
    head_read: Instant,
    req: LaneRequest,
    ctx: &Ctx,
    shutdown: &watch::Receiver<bool>,
) -> Next {
    let total = head_len + req.body_len;
    if buf.len() < total {
        if req.expect_continue
            && client
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .await
                .is_err()
        {
            return Next::Close;
        }
        let deadline = body_deadline(head_read);
        buf.reserve(total - buf.len());
        while buf.len() < total {
            match tokio::time::timeout_at(deadline, client.read_buf(buf)).await {
                Ok(Ok(n)) if n > 0 => {}
                Ok(_) => return Next::Close,
                Err(_) => {
                    answer_error(client, body_timed_out(), true).await;
                    return Next::Close;
                }
            }
        }
    }
    let message = buf.split_to(total).freeze();
    let body = message.slice(head_len..);
    let closing = |shutdown: &watch::Receiver<bool>| req.close || *shutdown.borrow();
    let model = match dispatch::model_of(&body) {
        Ok(m) => m,
        Err(error) => return answer_error(client, error, closing(shutdown)).await,
    };
    let request = ProxyRequest {
        model,
        target: req.path.to_string(),
        headers: req.forwarded,
        body,
        started: head_read,
    };
    let mut watch = LaneWatch { client, ahead: buf };
    match dispatch::dispatch(&ctx.state, &request, &mut watch).await {
        Outcome::Answered(answered) => relay(client, buf, answered, closing(shutdown)).await,
        Outcome::Refused(error) => answer_error(client, error, closing(shutdown)).await,
        Outcome::ClientGone => Next::Close,
    }
}

/// The lane's client, watched while a node works: what it sends meanwhile
/// (a pipelined next request) is kept in `ahead`.
struct LaneWatch<'a, S> {
    client: &'a mut S,
    ahead: &'a mut BytesMut,
}

impl<S: ClientIo> ClientWatch for LaneWatch<'_, S> {
    fn watching(&self) -> bool {
        self.ahead.len() < MAX_AHEAD
    }

    /// A read, not a peek: it works the same over TLS, and it may be
    /// dropped at any await (when the node's bytes come first) without
    /// losing data, since a read future that has not completed has moved
    /// nothing into `ahead` (TLS keeps undelivered plaintext in the
    /// session).
    async fn watch(&mut self) -> bool {
        self.ahead.reserve(4096);
        !matches!(self.client.read_buf(self.ahead).await, Ok(n) if n > 0)
    }
}

/// Answers with the API's error shape. `closing`: the connection ends
/// after this answer and says so.
async fn answer_error<S: ClientIo>(client: &mut S, error: ApiError, closing: bool) -> Next {
    let status = error.status;
    let body = serde_json::to_vec(&ErrorBody {
        error: error.message,
        code: error.code.to_string(),
    })
    .expect("an error body serializes");
    let mut out = Vec::with_capacity(body.len() + 128);
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\ncontent-type: application/json\r\ncontent-length: ");
    out.extend_from_slice(body.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    if let Some(secs) = error.retry_after {
        out.extend_from_slice(format!("retry-after: {secs}\r\n").as_bytes());
    }
    if closing {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&body);
    match client.write_all(&out).await {
        Ok(()) if !closing => Next::KeepGoing,
        _ => Next::Close,
    }
}

/// Copies the answer to the client as it arrives. Ends the request: the
/// connection goes back to the pool when the answer was read to its end and
/// the node keeps it open; otherwise it is closed (which cancels the
/// request on the node when the client left early). `closing`: this is the
/// connection's last answer.
async fn relay<S: ClientIo>(
    client: &mut S,
    ahead: &mut BytesMut,
    answered: Answered,
    closing: bool,
) -> Next {
    let Answered {
        mut conn,
        answer,
        done,
    } = answered;
    let mut out = answer.head;
    if closing && answer.framing != Framing::UntilClose {
        out.truncate(out.len() - 2);
        out.extend_from_slice(b"connection: close\r\n\r\n");
    }
    let mut body = BodyScan::new(answer.framing);
    loop {
        // Take what the buffer holds of the body.
        let (take, end) = match body.scan(&conn.buf, |_| {}) {
            Ok(step) => step,
            Err(e) => {
                tracing::warn!(node_id = %done.node_id(), error = %e, "the node's answer body is malformed; closing");
                let _ = client.write_all(&out).await;
                return Next::Close;
            }
        };
        out.extend_from_slice(&conn.buf[..take]);
        conn.buf.advance(take);
        if !out.is_empty() {
            if client.write_all(&out).await.is_err() {
                return Next::Close;
            }
            out.clear();
        }
        if end {
            break;
        }
        let mut watch = LaneWatch {
            client: &mut *client,
            ahead: &mut *ahead,
        };
        let Some(read) = upstream::read_node(&mut conn, &mut watch).await else {
            return Next::Close;
        };
        match read {
            Ok(0) if answer.framing == Framing::UntilClose => return Next::Close,
            Ok(0) | Err(_) => {
                tracing::warn!(node_id = %done.node_id(), "the node closed the connection mid-answer");
                return Next::Close;
            }
            Ok(_) => {}
        }
    }
    if answer.reusable {
        conn.release(&done.upstream().authority);
    }
    drop(done);
    if closing {
        return Next::Close;
    }
    Next::KeepGoing
}

// ----- the router, for one request or the rest of the connection ------

/// What the router needs of the request a [`Handoff`] delivers.
struct Handover {
    head_len: usize,
    /// How the request body is framed.
    body: Framing,
    head_read: Instant,
}

/// Serves one request with hyper and the router. The connection comes back
/// with what the client sent after that request, unless hyper closed it
/// (the client asked to, or left part of its body unread, or went away).
async fn router_one<S: ClientIo>(
    client: S,
    mut buf: BytesMut,
    request: Handover,
    ctx: &Ctx,
) -> Option<(S, BytesMut)> {
    // What was read of the request goes to hyper, the rest stays.
    let mut body = BodyScan::new(request.body);
    let head = buf.split_to(request.head_len);
    let (take, body_read) = body.scan(&buf, |_| {}).unwrap_or((buf.len(), false));
    let mut delivered = head;
    delivered.unsplit(buf.split_to(take));
    let answered = Arc::new(AtomicBool::new(false));
    let peer = client.peer_addr();
    let io = Handoff {
        client,
        request: delivered.freeze(),
        body,
        body_read,
        ahead: buf,
        answered: answered.clone(),
        unflushed: false,
        handed_back: false,
    };
    let service = router_service(ctx, peer, Some(request.head_read), Some(answered));
    let parts = ctx
        .http
        .serve_connection(TokioIo::new(io), service)
        .without_shutdown()
        .await;
    let parts = match parts {
        Ok(parts) => parts,
        Err(e) => {
            tracing::debug!(error = %e, "connection ended with an error");
            return None;
        }
    };
    let mut io = parts.io.into_inner();
    if !io.handed_back {
        // hyper ended the connection itself.
        let _ = io.client.shutdown().await;
        return None;
    }
    let mut rest = BytesMut::from(&parts.read_buf[..]);
    rest.extend_from_slice(&io.ahead);
    Some((io.client, rest))
}

/// Hands the connection to hyper and the router for good, replaying what
/// was read.
async fn full_stack<S: ClientIo>(
    client: S,
    read: Bytes,
    ctx: &Ctx,
    mut shutdown: watch::Receiver<bool>,
) {
    let peer = client.peer_addr();
    let io = TokioIo::new(Replay {
        read,
        inner: client,
    });
    let conn = ctx
        .http
        .serve_connection(io, router_service(ctx, peer, None, None));
    tokio::pin!(conn);
    let result = if *shutdown.borrow() {
        conn.as_mut().graceful_shutdown();
        conn.await
    } else {
        tokio::select! {
            r = conn.as_mut() => r,
            _ = shutdown.changed() => {
                conn.as_mut().graceful_shutdown();
                conn.await
            }
        }
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

/// The router as hyper calls it: every request gets the client's address
/// and the instant its head was read (`head_read`, or when hyper hands it
/// over); with `answered`, that flag is set once hyper is done with the
/// answer's body.
fn router_service(
    ctx: &Ctx,
    peer: Option<std::net::SocketAddr>,
    head_read: Option<Instant>,
    answered: Option<Arc<AtomicBool>>,
) -> TowerToHyperService<
    impl tower::Service<
            axum::http::Request<hyper::body::Incoming>,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
            Future: Send + 'static,
        > + Clone
        + Send
        + 'static,
> {
    TowerToHyperService::new(
        ctx.app
            .clone()
            .map_request(move |mut req: axum::http::Request<hyper::body::Incoming>| {
                let ext = req.extensions_mut();
                if let Some(peer) = peer {
                    ext.insert(axum::extract::ConnectInfo(peer));
                }
                ext.insert(HeadRead(head_read.unwrap_or_else(Instant::now)));
                req
            })
            .map_response(move |resp: axum::response::Response| match &answered {
                Some(flag) => resp.map(|body| {
                    axum::body::Body::new(Watched {
                        inner: body,
                        answered: flag.clone(),
                    })
                }),
                None => resp,
            }),
    )
}

/// An answer body that says when hyper is done with it (sent or dropped).
struct Watched {
    inner: axum::body::Body,
    answered: Arc<AtomicBool>,
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.answered.store(true, Ordering::Release);
    }
}

impl http_body::Body for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A client connection lent to hyper for one request: hyper reads that
/// request (what the lane read of it, then the rest of its body from the
/// client) and nothing more. Once the answer is written and flushed and
/// hyper asks for the next request, it reads an end of stream, so hyper
/// lets go of the connection and the lane takes it back.
struct Handoff<S> {
    client: S,
    /// What the lane read of the request, not yet given to hyper.
    request: Bytes,
    /// Where the request body ends.
    body: BodyScan,
    /// The whole request body is in `request` or was given to hyper.
    body_read: bool,
    /// What the client sent after the request.
    ahead: BytesMut,
    /// Set when hyper is done with the answer body.
    answered: Arc<AtomicBool>,
    /// hyper wrote since it last flushed.
    unflushed: bool,
    /// The end of stream was hyper's cue to let go, not the client's.
    handed_back: bool,
}

impl<S: ClientIo> AsyncRead for Handoff<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if !this.request.is_empty() {
            let n = this.request.len().min(out.remaining());
            out.put_slice(&this.request[..n]);
            this.request.advance(n);
            return Poll::Ready(Ok(()));
        }
        if !this.body_read {
            let mut chunk = [0u8; 16 * 1024];
            let want = chunk.len().min(out.remaining());
            let mut part = ReadBuf::new(&mut chunk[..want]);
            std::task::ready!(Pin::new(&mut this.client).poll_read(cx, &mut part))?;
            let read = part.filled();
            // A body whose framing is broken goes to hyper as it is (hyper
            // answers it), and the connection is not taken back.
            let (take, end) = this.body.scan(read, |_| {}).unwrap_or((read.len(), false));
            this.body_read = end;
            out.put_slice(&read[..take]);
            this.ahead.extend_from_slice(&read[take..]);
            return Poll::Ready(Ok(()));
        }
        if this.answered.load(Ordering::Acquire) && !this.unflushed {
            this.handed_back = true;
            return Poll::Ready(Ok(()));
        }
        // hyper watches for the client leaving while the router works:
        // pass on an end of stream, keep what else the client sends.
        while this.ahead.len() < MAX_AHEAD {
            let mut chunk = [0u8; 4096];
            let mut part = ReadBuf::new(&mut chunk);
            std::task::ready!(Pin::new(&mut this.client).poll_read(cx, &mut part))?;
            if part.filled().is_empty() {
                return Poll::Ready(Ok(()));
            }
            this.ahead.extend_from_slice(part.filled());
        }
        Poll::Pending
    }
}

impl<S: ClientIo> AsyncWrite for Handoff<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        this.unflushed = true;
        Pin::new(&mut this.client).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        this.unflushed = true;
        Pin::new(&mut this.client).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.client.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        std::task::ready!(Pin::new(&mut this.client).poll_flush(cx))?;
        this.unflushed = false;
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().client).poll_shutdown(cx)
    }
}

/// A client connection with the bytes the lane already read put back in
/// front, for hyper to read again.
struct Replay<S> {
    read: Bytes,
    inner: S,
}

impl<S: AsyncRead + Unpin> AsyncRead for Replay<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if !self.read.is_empty() {
            let n = self.read.len().min(out.remaining());
            out.put_slice(&self.read[..n]);
            self.read.advance(n);
            if self.read.is_empty() {
                // Let the lane's buffer go rather than keep it for the
                // connection's life.
                self.read = Bytes::new();
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, out)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Replay<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_of_a_head_is_noticed_across_reads() {
        let head = b"POST / HTTP/1.1\r\nHost: x\r\n\r\n";
        // Whatever the split, the end is seen in the second part.
        for split in 1..head.len() {
            let first = !may_end_head(&head[..split], 0);
            assert!(first || split >= head.len() - 1, "split {split}");
            assert!(may_end_head(head, split), "split {split}");
        }
        assert!(may_end_head(b"GET / HTTP/1.0\n\n", 0));
        assert!(!may_end_head(b"GET / HTTP/1.1\r\nHost: x\r\n", 0));
    }
}
