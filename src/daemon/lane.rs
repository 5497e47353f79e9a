//! The proxy's fast lane: the common inference request served straight
//! from the socket, with no HTTP framework in between.
//!
//! Every connection starts here. The lane reads a request head and, when it
//! is a plain `POST` to one of the three inference routes (HTTP/1.1, a
//! `Content-Length` body, a JSON body naming a model that some node serves,
//! the API key in order when one is required), forwards it to a node over a
//! pooled raw connection and copies the answer back byte for byte, framing
//! included, so nothing is decoded or re-encoded on the way. Anything else
//! (other routes, chunked uploads, `Expect`, errors of the client's making)
//! goes to the full stack — hyper and the axum router — together with the
//! bytes read so far, and that connection stays there. So every error the
//! API can answer keeps coming from one place, and the lane only ever
//! handles requests it can pass through unchanged.
//!
//! Node selection, in-flight counting, retries, cooldown and metrics are the
//! proxy's own (see [`super::proxy`]); the lane only replaces the transport.

use std::cell::RefCell;
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::http::uri::Authority;
use axum::Router;
use bytes::{Buf, Bytes, BytesMut};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tower::ServiceExt;

use super::error::ApiError;
use super::extract::body_timeout;
use super::proxy::{self, Done, InFlight, ModelField, Upstream, PROXY_BODY_LIMIT};
use super::router::AppState;
use crate::api::auth::Role;
use crate::api::ErrorBody;

/// Largest request or response head the lane reads; a larger one goes to
/// hyper (which refuses it) or fails the upstream.
const MAX_HEAD: usize = 64 * 1024;
/// Most headers in a head the lane handles.
const MAX_HEADERS: usize = 64;
/// Idle raw connections kept per node and thread.
const MAX_IDLE: usize = 512;
/// An idle raw connection unused this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// How often each worker checks its idle raw connections.
pub const SWEEP_EVERY: Duration = Duration::from_secs(5);
/// Client bytes buffered while an answer is on its way (a pipelined next
/// request); past this the client is no longer watched until the answer
/// ends.
const MAX_AHEAD: usize = 64 * 1024;

/// What every connection of one HTTP worker needs.
pub struct Ctx {
    pub state: AppState,
    pub app: Router,
    pub http: http1::Builder,
    pub header_timeout: Duration,
}

/// What the lane needs of a client connection: a byte stream (plain TCP,
/// or TLS over it) and the address it comes from. The lane watches a
/// client only by reading from it, never by peeking at the socket, since
/// under TLS the socket's bytes are records, not the request.
pub trait ClientIo: AsyncRead + AsyncWrite + Unpin + Send + 'static {
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
pub async fn serve<S: ClientIo>(mut client: S, ctx: Arc<Ctx>, mut shutdown: watch::Receiver<bool>) {
    let mut buf = BytesMut::with_capacity(8 * 1024);
    loop {
        match read_head(&mut client, &mut buf, &ctx, &mut shutdown).await {
            Head::Closed => return,
            Head::Complete(len) => match classify(&buf[..len], &ctx.state) {
                Some(req) => {
                    match proxy_one(&mut client, &mut buf, len, req, &ctx, &shutdown).await {
                        Next::KeepGoing if !*shutdown.borrow() => continue,
                        Next::KeepGoing | Next::Close => return,
                        Next::FullStack => break,
                    }
                }
                None => match framing_error(&buf[..len]) {
                    Some(error) => return refuse(client, error).await,
                    None => break,
                },
            },
            Head::Refuse(error) => return refuse(client, error).await,
            Head::FullStack => break,
        }
    }
    full_stack(client, buf.freeze(), &ctx, shutdown).await;
}

/// Hands the connection to hyper and the router, replaying what was read.
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
    let service = TowerToHyperService::new(ctx.app.clone().map_request(
        move |mut req: axum::http::Request<hyper::body::Incoming>| {
            if let Some(peer) = peer {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
            }
            req
        },
    ));
    let conn = ctx.http.serve_connection(io, service);
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

enum Head {
    /// A complete head of this many bytes is at the start of the buffer.
    Complete(usize),
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

/// A head that parses but frames its body in a way no server may guess
/// at: a `Content-Length` that is not a plain number, two that differ, or
/// one beside `Transfer-Encoding`.
fn framing_error(head: &[u8]) -> Option<ApiError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    req.parse(head).ok()?;
    let mut length = None;
    let mut chunked = false;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let Some(n) = parse_length(h.value) else {
                return Some(bad_request_head(
                    "the Content-Length header is not a number",
                ));
            };
            if length.is_some_and(|l| l != n) {
                return Some(bad_request_head("two Content-Length headers differ"));
            }
            length = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = true;
        }
    }
    (chunked && length.is_some()).then(|| {
        bad_request_head("a request may not carry both Content-Length and Transfer-Encoding")
    })
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
                Ok(httparse::Status::Complete(len)) => return Head::Complete(len),
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

/// A request the lane will forward.
struct LaneRequest {
    /// Length of its body (from `Content-Length`).
    body_len: usize,
    path: &'static str,
    /// The client's headers as they go to the node, one `name: value\r\n`
    /// each: connection-level ones, the host and the length dropped (the
    /// lane writes its own), and the client's API key when it was meant
    /// for llmlbd.
    forwarded: Vec<u8>,
}

/// Whether the head at the start of `head` is one the lane passes through.
fn classify(head: &[u8], state: &AppState) -> Option<LaneRequest> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    req.parse(head).ok()?;
    if req.method != Some("POST") || req.version != Some(1) {
        return None;
    }
    let path = match req.path {
        Some("/v1/chat/completions") => "/v1/chat/completions",
        Some("/v1/completions") => "/v1/completions",
        Some("/v1/embeddings") => "/v1/embeddings",
        _ => return None,
    };
    let require_key = state.proxy.config().require_api_key;
    let mut body_len = None;
    let mut authorization = None;
    let mut forwarded = Vec::with_capacity(head.len());
    for h in req.headers.iter() {
        let name = h.name;
        let dropped = proxy::is_hop_by_hop(name)
            || (require_key && name.eq_ignore_ascii_case("authorization"));
        if !dropped {
            forwarded.extend_from_slice(name.as_bytes());
            forwarded.extend_from_slice(b": ");
            forwarded.extend_from_slice(h.value);
            forwarded.extend_from_slice(b"\r\n");
        }
        if name.eq_ignore_ascii_case("content-length") {
            if body_len.is_some() {
                return None;
            }
            body_len = Some(usize::try_from(parse_length(h.value)?).ok()?);
        } else if name.eq_ignore_ascii_case("transfer-encoding")
            || name.eq_ignore_ascii_case("expect")
            || name.eq_ignore_ascii_case("upgrade")
        {
            return None;
        } else if name.eq_ignore_ascii_case("connection") {
            if !h.value.eq_ignore_ascii_case(b"keep-alive") {
                return None;
            }
        } else if name.eq_ignore_ascii_case("authorization") {
            authorization = Some(h.value);
        }
    }
    let body_len = body_len.filter(|n| *n <= PROXY_BODY_LIMIT)?;
    if require_key {
        let token = std::str::from_utf8(authorization?)
            .ok()
            .and_then(super::extract::bearer_token)?;
        let principal = state.auth.authenticate(token).ok()?;
        if !matches!(principal.role, Role::Inference | Role::Admin) {
            return None;
        }
    }
    Some(LaneRequest {
        body_len,
        path,
        forwarded,
    })
}

/// What the connection does after a request.
enum Next {
    KeepGoing,
    Close,
    /// The request is not for the lane after all; nothing was answered.
    FullStack,
}

/// Reads the body, picks a node, forwards, copies the answer back. On
/// return the request (head and body) is gone from `buf` unless the answer
/// is [`Next::FullStack`].
async fn proxy_one<S: ClientIo>(
    client: &mut S,
    buf: &mut BytesMut,
    head_len: usize,
    req: LaneRequest,
    ctx: &Ctx,
    shutdown: &watch::Receiver<bool>,
) -> Next {
    let state = &ctx.state;
    let started = Instant::now();
    let total = head_len + req.body_len;
    if buf.len() < total {
        // The same overall deadline as a body read by the full stack: a
        // client that stalls or trickles is answered and dropped.
        let deadline = tokio::time::Instant::now() + body_timeout();
        buf.reserve(total - buf.len());
        while buf.len() < total {
            match tokio::time::timeout_at(deadline, client.read_buf(buf)).await {
                Ok(Ok(n)) if n > 0 => {}
                Ok(_) => return Next::Close,
                Err(_) => {
                    let error = ApiError::new(
                        axum::http::StatusCode::REQUEST_TIMEOUT,
                        "body_timeout",
                        "the request body did not arrive in time",
                    );
                    answer_error(client, error, true).await;
                    return Next::Close;
                }
            }
        }
    }
    let body = &buf[head_len..total];
    let model = match serde_json::from_slice::<ModelField<'_>>(body) {
        Ok(ModelField { model: Some(m) }) if !m.is_empty() => m.into_owned(),
        _ => return Next::FullStack,
    };
    let proxy = &state.proxy;
    let table = proxy.table(&state.registry);
    let Some(candidates) = table.by_model.get(&model) else {
        return Next::FullStack;
    };
    let message = buf.split_to(total).freeze();
    let body = message.slice(head_len..);

    let tries = proxy::MAX_TRIES.min(candidates.len());
    let mut tried = Vec::with_capacity(tries);
    let mut last_error = String::new();
    while tried.len() < tries {
        let Some(i) = proxy.pick(candidates, &tried) else {
            break;
        };
        tried.push(i);
        let up = candidates[i].clone();
        let guard = InFlight::new(up.clone());
        let mut request = Vec::with_capacity(req.forwarded.len() + 128);
        request.extend_from_slice(b"POST ");
        request.extend_from_slice(req.path.as_bytes());
        request.extend_from_slice(b" HTTP/1.1\r\nhost: ");
        request.extend_from_slice(up.authority.as_str().as_bytes());
        request.extend_from_slice(b"\r\n");
        request.extend_from_slice(&req.forwarded);
        request.extend_from_slice(b"content-length: ");
        request.extend_from_slice(body.len().to_string().as_bytes());
        request.extend_from_slice(b"\r\n\r\n");
        let sent = exchange(client, buf, &up, &request, &body, proxy.config()).await;
        match sent {
            Exchange::Answered(conn, answer) => {
                up.record_latency(started.elapsed());
                let done = Done::new(guard, state.clone(), model, answer.status, started);
                let closing = *shutdown.borrow();
                return relay(client, buf, conn, &up.authority, answer, done, closing).await;
            }
            Exchange::Failed(e) => {
                drop(guard);
                last_error = proxy::failed(proxy, &up, &model, &e);
            }
            Exchange::TimedOut => {
                drop(guard);
                let error = proxy::timed_out(state, &model, &up, started);
                let closing = *shutdown.borrow();
                return answer_error(client, error, closing).await;
            }
            Exchange::BadAnswer(e) => {
                drop(guard);
                let error = proxy::bad_answer(state, &model, &up, started, &e);
                let closing = *shutdown.borrow();
                return answer_error(client, error, closing).await;
            }
            Exchange::ClientGone => return Next::Close,
        }
    }
    let error = proxy::unreachable_model(state, &model, started, &last_error);
    let closing = *shutdown.borrow();
    answer_error(client, error, closing).await
}

/// Answers with the API's error shape. `closing`: the daemon is stopping,
/// so the connection ends after this answer and says so.
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

// ----- the node side --------------------------------------------------

/// A raw keep-alive connection to a node, with its read buffer.
struct RawConn {
    stream: TcpStream,
    buf: BytesMut,
    /// When it went back to the pool.
    idle_since: Instant,
}

thread_local! {
    static IDLE: RefCell<HashMap<Authority, Vec<RawConn>>> = RefCell::new(HashMap::new());
}

impl RawConn {
    /// An idle connection to `authority` that has not been closed meanwhile.
    fn checkout(authority: &Authority) -> Option<RawConn> {
        IDLE.with(|pool| {
            let mut pool = pool.borrow_mut();
            let list = pool.get_mut(authority)?;
            while let Some(c) = list.pop() {
                if c.is_usable() {
                    return Some(c);
                }
            }
            None
        })
    }

    /// An idle connection is usable when the node has neither closed it nor
    /// sent anything on it: a peek finds nothing to read and would block.
    /// Asked of the socket itself, since the reactor may not have seen a
    /// close that arrived a moment ago.
    fn is_usable(&self) -> bool {
        let mut probe = [std::mem::MaybeUninit::<u8>::uninit(); 1];
        matches!(
            socket2::SockRef::from(&self.stream).peek(&mut probe),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
        )
    }

    async fn connect(authority: &Authority, timeout: Duration) -> Result<RawConn, String> {
        let addr: std::net::SocketAddr = authority
            .as_str()
            .parse()
            .map_err(|_| format!("{authority} is not an address"))?;
        let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| "cannot connect: timed out".to_string())?
            .map_err(|e| format!("cannot connect: {e}"))?;
        let _ = stream.set_nodelay(true);
        Ok(RawConn {
            stream,
            buf: BytesMut::with_capacity(8 * 1024),
            idle_since: Instant::now(),
        })
    }

    fn release(mut self, authority: &Authority) {
        self.idle_since = Instant::now();
        IDLE.with(|pool| {
            let mut pool = pool.borrow_mut();
            let list = pool.entry(authority.clone()).or_default();
            if list.len() < MAX_IDLE {
                list.push(self);
            }
        });
    }
}

/// Closes this thread's idle raw connections that the node closed (or wrote
/// on) meanwhile, or that sat unused past [`IDLE_TIMEOUT`], so none linger
/// half-closed; nodes that left lose theirs this way too. Each HTTP worker
/// runs this every [`SWEEP_EVERY`].
pub fn sweep_idle() {
    IDLE.with(|pool| {
        pool.borrow_mut().retain(|_, list| {
            list.retain(|c| c.idle_since.elapsed() < IDLE_TIMEOUT && c.is_usable());
            !list.is_empty()
        });
    });
}

/// How the node's answer is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Empty,
    Length(u64),
    Chunked,
    /// No length: the body ends when the node closes the connection.
    UntilClose,
}

/// A node's answer head, already rewritten for the client.
struct Answer {
    status: u16,
    /// The head to send to the client.
    head: Vec<u8>,
    framing: Framing,
    /// Whether the node keeps the connection open afterwards.
    reusable: bool,
}

enum Exchange {
    Answered(RawConn, Answer),
    /// No answer byte arrived: the request may go to another node.
    Failed(String),
    /// The node answered something that is not a usable HTTP/1 answer
    /// head. It may have done the work, so the request goes nowhere else.
    BadAnswer(String),
    TimedOut,
    ClientGone,
}

/// Sends the request to `up` and reads the answer head, watching the client
/// meanwhile. When a pooled connection fails before the whole request was
/// written (the node closed it in between, so it cannot have seen the
/// request), a new connection takes over once.
async fn exchange<S: ClientIo>(
    client: &mut S,
    ahead: &mut BytesMut,
    up: &Upstream,
    request: &[u8],
    body: &Bytes,
    cfg: &proxy::ProxyConfig,
) -> Exchange {
    let attempt = async {
        let mut pooled = RawConn::checkout(&up.authority);
        loop {
            let reused = pooled.is_some();
            let mut conn = match pooled.take() {
                Some(c) => c,
                None => match RawConn::connect(&up.authority, cfg.connect_timeout).await {
                    Ok(c) => c,
                    Err(e) => return Exchange::Failed(e),
                },
            };
            let mut message = Buf::chain(request, &body[..]);
            match send_and_read_head(&mut conn, &mut message, client, ahead).await {
                HeadRead::Head(answer) => return Exchange::Answered(conn, answer),
                HeadRead::ClientGone => return Exchange::ClientGone,
                HeadRead::Unsent(_) if reused => continue,
                HeadRead::Unsent(e) | HeadRead::NoAnswer(e) => return Exchange::Failed(e),
                HeadRead::BadAnswer(e) => return Exchange::BadAnswer(e),
            }
        }
    };
    tokio::time::timeout(cfg.timeout, attempt)
        .await
        .unwrap_or(Exchange::TimedOut)
}

enum HeadRead {
    Head(Answer),
    /// Writing the request failed.
    Unsent(String),
    /// The request went out; the connection ended before any answer byte.
    NoAnswer(String),
    /// Answer bytes arrived, but no usable head.
    BadAnswer(String),
    ClientGone,
}

async fn send_and_read_head<S: ClientIo>(
    conn: &mut RawConn,
    message: &mut impl Buf,
    client: &mut S,
    ahead: &mut BytesMut,
) -> HeadRead {
    if let Err(e) = conn.stream.write_all_buf(message).await {
        return HeadRead::Unsent(e.to_string());
    }
    let mut answered = false;
    loop {
        let Some(read) = read_node(conn, client, ahead).await else {
            return HeadRead::ClientGone;
        };
        match read {
            Ok(0) if !answered => {
                return HeadRead::NoAnswer(
                    "the node closed the connection without answering".into(),
                )
            }
            Ok(0) => {
                return HeadRead::BadAnswer("the node closed the connection mid-answer".into())
            }
            Err(e) if !answered => return HeadRead::NoAnswer(e.to_string()),
            Err(e) => return HeadRead::BadAnswer(e.to_string()),
            Ok(_) => answered = true,
        }
        match parse_answer(&mut conn.buf) {
            Ok(Some(answer)) => return HeadRead::Head(answer),
            Ok(None) if conn.buf.len() < MAX_HEAD => {}
            Ok(None) => return HeadRead::BadAnswer("the answer head is too large".into()),
            Err(e) => return HeadRead::BadAnswer(e),
        }
    }
}

/// Reads what the node sends next into its buffer, watching the client
/// meanwhile; `None` when the client went away first.
async fn read_node<S: ClientIo>(
    conn: &mut RawConn,
    client: &mut S,
    ahead: &mut BytesMut,
) -> Option<std::io::Result<usize>> {
    loop {
        tokio::select! {
            r = conn.stream.read_buf(&mut conn.buf) => return Some(r),
            gone = watch_client(client, ahead), if ahead.len() < MAX_AHEAD => {
                if gone {
                    return None;
                }
            }
        }
    }
}

/// Waits until the client sends something or goes away; keeps what it sent
/// (a pipelined next request) in `ahead`. True when it went away.
///
/// A read, not a peek: it works the same over TLS, and it may be dropped
/// at any await (when the node's bytes come first) without losing data,
/// since a read future that has not completed has moved nothing into
/// `ahead` (TLS keeps undelivered plaintext in the session).
async fn watch_client<S: ClientIo>(client: &mut S, ahead: &mut BytesMut) -> bool {
    ahead.reserve(4096);
    !matches!(client.read_buf(ahead).await, Ok(n) if n > 0)
}

/// Parses a complete answer head off the front of `buf` (informational
/// answers are skipped), rewriting it for the client.
fn parse_answer(buf: &mut BytesMut) -> Result<Option<Answer>, String> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut resp = httparse::Response::new(&mut headers);
        let len = match resp.parse(buf) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(e) => return Err(format!("the node's answer is not HTTP/1: {e}")),
        };
        let status = resp.code.unwrap_or(502);
        if (100..200).contains(&status) && status != 101 {
            buf.advance(len);
            continue;
        }
        // First how the body is delimited, then the head for the client:
        // with a chunked body any Content-Length is dropped, so the client
        // can only read the framing one way.
        let mut chunked = false;
        let mut length = None;
        let mut close = resp.version != Some(1);
        for h in resp.headers.iter() {
            if h.name.eq_ignore_ascii_case("transfer-encoding") {
                if !is_chunked(h.value) {
                    return Err(
                        "the node's answer uses a transfer coding llmlbd cannot relay".into(),
                    );
                }
                chunked = true;
            } else if h.name.eq_ignore_ascii_case("content-length") {
                let n =
                    parse_length(h.value).ok_or("the node's answer has a bad Content-Length")?;
                if length.is_some_and(|l| l != n) {
                    return Err("the node's answer has two different Content-Lengths".into());
                }
                length = Some(n);
            } else if h.name.eq_ignore_ascii_case("connection") && contains_token(h.value, b"close")
            {
                close = true;
            }
        }
        let framing = if chunked {
            Some(Framing::Chunked)
        } else {
            length.map(Framing::Length)
        };
        let mut head = Vec::with_capacity(len + 32);
        head.extend_from_slice(b"HTTP/1.1 ");
        head.extend_from_slice(status.to_string().as_bytes());
        head.push(b' ');
        head.extend_from_slice(resp.reason.unwrap_or("").as_bytes());
        head.extend_from_slice(b"\r\n");
        for h in resp.headers.iter() {
            if proxy::is_connection_header(h.name)
                || (chunked && h.name.eq_ignore_ascii_case("content-length"))
            {
                continue;
            }
            head.extend_from_slice(h.name.as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(h.value);
            head.extend_from_slice(b"\r\n");
        }
        let framing = if status == 204 || status == 304 {
            Framing::Empty
        } else {
            framing.unwrap_or(Framing::UntilClose)
        };
        if framing == Framing::UntilClose {
            head.extend_from_slice(b"connection: close\r\n");
            close = true;
        }
        head.extend_from_slice(b"\r\n");
        buf.advance(len);
        return Ok(Some(Answer {
            status,
            head,
            framing,
            reusable: !close,
        }));
    }
}

/// A Content-Length value: decimal digits only (no sign), as HTTP says.
fn parse_length(value: &[u8]) -> Option<u64> {
    let digits = value.trim_ascii();
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

fn is_chunked(value: &[u8]) -> bool {
    value
        .rsplit(|b| *b == b',')
        .next()
        .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"))
}

fn contains_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|b| *b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}

/// Copies the answer body to the client as it arrives. Ends the request:
/// the connection goes back to the pool when the answer was read to its end
/// and the node keeps it open; otherwise it is closed (which cancels the
/// request on the node when the client left early).
async fn relay<S: ClientIo>(
    client: &mut S,
    ahead: &mut BytesMut,
    mut conn: RawConn,
    authority: &Authority,
    answer: Answer,
    done: Done,
    closing: bool,
) -> Next {
    let mut out = answer.head;
    if closing && answer.framing != Framing::UntilClose {
        // The daemon is stopping: this is the connection's last answer.
        out.truncate(out.len() - 2);
        out.extend_from_slice(b"connection: close\r\n\r\n");
    }
    let mut body = Body::new(answer.framing);
    loop {
        // Take what the buffer holds of the body.
        let (take, end) = match body.scan(&conn.buf) {
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
        let Some(read) = read_node(&mut conn, client, ahead).await else {
            return Next::Close;
        };
        match read {
            Ok(0) if answer.framing == Framing::UntilClose => {
                drop(done);
                return Next::Close;
            }
            Ok(0) | Err(_) => {
                tracing::warn!(node_id = %done.node_id(), "the node closed the connection mid-answer");
                return Next::Close;
            }
            Ok(_) => {}
        }
    }
    drop(done);
    // Anything after the end would be a second answer nobody asked for.
    if answer.reusable && conn.buf.is_empty() {
        conn.release(authority);
    }
    if closing {
        return Next::Close;
    }
    Next::KeepGoing
}

/// Where a body ends, found without decoding it.
struct Body {
    framing: Framing,
    remaining: u64,
    chunk: ChunkScan,
}

impl Body {
    fn new(framing: Framing) -> Body {
        let remaining = match framing {
            Framing::Length(n) => n,
            _ => 0,
        };
        Body {
            framing,
            remaining,
            chunk: ChunkScan::default(),
        }
    }

    /// How many bytes of `bytes` belong to the body, and whether the body
    /// ends there.
    fn scan(&mut self, bytes: &[u8]) -> Result<(usize, bool), &'static str> {
        match self.framing {
            Framing::Empty => Ok((0, true)),
            Framing::UntilClose => Ok((bytes.len(), false)),
            Framing::Length(_) => {
                let take = (bytes.len() as u64).min(self.remaining);
                self.remaining -= take;
                Ok((take as usize, self.remaining == 0))
            }
            Framing::Chunked => match self.chunk.scan(bytes)? {
                Some(n) => Ok((n, true)),
                None => Ok((bytes.len(), false)),
            },
        }
    }
}

/// A scanner for chunked transfer coding: follows chunk sizes, data,
/// extensions and trailers to find where the body ends.
#[derive(Debug, Default)]
struct ChunkScan {
    state: ChunkState,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    /// Reading the hex size of a chunk (`digits` so far).
    #[default]
    SizeStart,
    Size {
        value: u64,
        digits: u8,
    },
    /// After the size: extensions up to the line end.
    Extension {
        value: u64,
    },
    SizeLf {
        value: u64,
    },
    Data {
        left: u64,
    },
    DataCr,
    DataLf,
    /// After the last chunk: a trailer line or the final empty line.
    TrailerStart,
    Trailer,
    FinalLf,
    Done,
}

impl ChunkScan {
    /// Consumes `bytes`; `Some(n)` when the body ends after `n` of them.
    fn scan(&mut self, bytes: &[u8]) -> Result<Option<usize>, &'static str> {
        use ChunkState::*;
        let mut i = 0;
        while i < bytes.len() {
            if let Data { left } = self.state {
                let take = (left).min((bytes.len() - i) as u64);
                i += take as usize;
                self.state = if take == left {
                    DataCr
                } else {
                    Data { left: left - take }
                };
                continue;
            }
            let b = bytes[i];
            i += 1;
            self.state = match (self.state, b) {
                (SizeStart, _) => match hex(b) {
                    Some(d) => Size {
                        value: d,
                        digits: 1,
                    },
                    None => return Err("a chunk size is missing"),
                },
                (Size { value, digits }, _) => match hex(b) {
                    Some(_) if digits >= 15 => return Err("a chunk size is too large"),
                    Some(d) => Size {
                        value: value * 16 + d,
                        digits: digits + 1,
                    },
                    None => match b {
                        b'\r' => SizeLf { value },
                        b'\n' => after_size(value),
                        b';' | b' ' | b'\t' => Extension { value },
                        _ => return Err("a chunk size is not hexadecimal"),
                    },
                },
                (Extension { value }, b'\n') => after_size(value),
                (Extension { value }, _) => Extension { value },
                (SizeLf { value }, b'\n') => after_size(value),
                (DataCr, b'\r') => DataLf,
                (DataCr, b'\n') | (DataLf, b'\n') => SizeStart,
                (TrailerStart, b'\r') => FinalLf,
                (TrailerStart, b'\n') | (FinalLf, b'\n') => Done,
                (TrailerStart, _) | (Trailer, _) if b != b'\n' => Trailer,
                (Trailer, b'\n') => TrailerStart,
                _ => return Err("the chunked framing is broken"),
            };
            if self.state == Done {
                return Ok(Some(i));
            }
        }
        Ok(None)
    }
}

fn after_size(value: u64) -> ChunkState {
    if value == 0 {
        ChunkState::TrailerStart
    } else {
        ChunkState::Data { left: value }
    }
}

fn hex(b: u8) -> Option<u64> {
    (b as char).to_digit(16).map(u64::from)
}

// ----- replay for the full stack --------------------------------------

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

    fn scan_all(pieces: &[&[u8]]) -> Result<Option<usize>, &'static str> {
        let mut s = ChunkScan::default();
        let mut offset = 0;
        for p in pieces {
            if let Some(n) = s.scan(p)? {
                return Ok(Some(offset + n));
            }
            offset += p.len();
        }
        Ok(None)
    }

    #[test]
    fn chunked_bodies_end_where_they_end() {
        let body: &[u8] = b"5\r\nhello\r\n1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\nNEXT";
        let end = body.len() - 4;
        assert_eq!(scan_all(&[body]), Ok(Some(end)));
        // The same, one byte at a time.
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(scan_all(&bytes), Ok(Some(end)));
        // With trailers, and with bare line feeds.
        let trailers: &[u8] = b"3\r\nabc\r\n0\r\nx-t: 1\r\n\r\n";
        assert_eq!(scan_all(&[trailers]), Ok(Some(trailers.len())));
        let bare: &[u8] = b"3\nabc\n0\n\n";
        assert_eq!(scan_all(&[bare]), Ok(Some(bare.len())));
        // Incomplete.
        assert_eq!(scan_all(&[b"5\r\nhel"]), Ok(None));
        assert_eq!(scan_all(&[b"0\r\n"]), Ok(None));
    }

    #[test]
    fn lengths_are_plain_digits() {
        assert_eq!(parse_length(b"42"), Some(42));
        assert_eq!(parse_length(b" 7 "), Some(7));
        for bad in [
            &b"+5"[..],
            b"-1",
            b"",
            b"1 2",
            b"0x10",
            b"99999999999999999999",
        ] {
            assert_eq!(parse_length(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

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

    #[test]
    fn broken_chunked_framing_is_refused() {
        assert!(scan_all(&[b"zz\r\n"]).is_err());
        assert!(scan_all(&[b"3\r\nabcX"]).is_err());
        assert!(scan_all(&[b"ffffffffffffffffff\r\n"]).is_err());
        assert!(scan_all(&[b"\r\n"]).is_err());
    }

    #[test]
    fn answer_heads_are_rewritten_for_the_client() {
        let mut buf = BytesMut::from(
            &b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\n{}"[..],
        );
        let a = parse_answer(&mut buf).unwrap().unwrap();
        assert_eq!(a.status, 200);
        assert_eq!(a.framing, Framing::Length(2));
        assert!(a.reusable);
        assert_eq!(
            String::from_utf8(a.head).unwrap(),
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n"
        );
        assert_eq!(&buf[..], b"{}");

        let mut buf = BytesMut::from(
            &b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"[..],
        );
        let a = parse_answer(&mut buf).unwrap().unwrap();
        assert_eq!(a.framing, Framing::Chunked);
        assert!(!a.reusable);
        assert!(String::from_utf8(a.head)
            .unwrap()
            .contains("transfer-encoding: chunked\r\n"));

        let mut buf = BytesMut::from(&b"HTTP/1.0 200 OK\r\n\r\nbody"[..]);
        let a = parse_answer(&mut buf).unwrap().unwrap();
        assert_eq!(a.framing, Framing::UntilClose);
        assert!(!a.reusable);
        assert!(String::from_utf8(a.head)
            .unwrap()
            .ends_with("connection: close\r\n\r\n"));

        // A chunked body with a length too: the length is dropped.
        let mut buf = BytesMut::from(
            &b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
        );
        let a = parse_answer(&mut buf).unwrap().unwrap();
        assert_eq!(a.framing, Framing::Chunked);
        assert!(!String::from_utf8(a.head)
            .unwrap()
            .to_ascii_lowercase()
            .contains("content-length"));
        // Lengths that disagree, and codings other than chunked, are refused.
        let mut buf = BytesMut::from(
            &b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"[..],
        );
        assert!(parse_answer(&mut buf).is_err());
        let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"[..]);
        assert!(parse_answer(&mut buf).is_err());

        let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\nContent-Le"[..]);
        assert!(parse_answer(&mut buf).unwrap().is_none());
        let mut buf = BytesMut::from(&b"SSH-2.0-OpenSSH\r\n\r\n"[..]);
        assert!(parse_answer(&mut buf).is_err());
    }
}
