//! Connections from the proxy to nodes: the one pool, and reading a node's
//! answer without decoding it.
//!
//! Raw HTTP/1 connections, kept alive and reused, one pool per HTTP worker
//! thread so a connection is always driven by the thread that uses it.
//! Whichever way a request arrived (the lane or hyper), it reaches a node
//! through [`exchange`] on a connection of this pool. A connection goes back
//! to the pool only when its answer has been read to the end; one dropped
//! mid-answer (the client went away) is closed, which cancels the request on
//! the node. Before a pooled connection is used, the socket itself is asked
//! whether the node closed it; every [`SWEEP_EVERY`] each worker closes the
//! idle connections that nodes closed or that sat unused past
//! [`IDLE_TIMEOUT`], so none linger in `CLOSE_WAIT`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::http::uri::Authority;
use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest answer head read from a node.
pub(super) const MAX_HEAD: usize = 64 * 1024;
/// Most headers in an answer head.
const MAX_HEADERS: usize = 64;
/// Idle connections kept per node and thread.
const MAX_IDLE: usize = 512;
/// An idle connection unused this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// How often each worker checks its idle connections ([`sweep_idle`]).
pub(crate) const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// A raw keep-alive connection to a node, with its read buffer.
pub(super) struct RawConn {
    pub(super) stream: TcpStream,
    pub(super) buf: BytesMut,
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

    /// The one way the proxy connects to a node.
    async fn connect(authority: &Authority, timeout: Duration) -> Result<RawConn, String> {
        let addr: SocketAddr = authority
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

    /// Returns the connection to this thread's pool; only for one whose
    /// answer was read to its end, with nothing after it.
    pub(super) fn release(mut self, authority: &Authority) {
        if !self.buf.is_empty() {
            // Anything after the end would be a second answer nobody asked for.
            return;
        }
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

/// Closes this thread's idle connections that the node closed (or wrote on)
/// meanwhile, or that sat unused past [`IDLE_TIMEOUT`], so none linger
/// half-closed; nodes that left lose theirs this way too. Each HTTP worker
/// runs this every [`SWEEP_EVERY`].
pub(crate) fn sweep_idle() {
    IDLE.with(|pool| {
        pool.borrow_mut().retain(|_, list| {
            list.retain(|c| c.idle_since.elapsed() < IDLE_TIMEOUT && c.is_usable());
            !list.is_empty()
        });
    });
}

/// How the client side watches its client while a node works: the lane
/// reads what the client sends meanwhile (a pipelined next request, or the
/// end of the connection); hyper watches its connections itself and drops
/// the request when the client leaves.
pub(super) trait ClientWatch: Send {
    /// Whether [`ClientWatch::watch`] may be polled now.
    fn watching(&self) -> bool;
    /// Resolves when the client sent something (false) or went away (true).
    /// Must lose nothing when dropped before it resolves.
    fn watch(&mut self) -> impl Future<Output = bool> + Send;
}

/// For a client side that does not watch (hyper's).
pub(super) struct NoWatch;

impl ClientWatch for NoWatch {
    fn watching(&self) -> bool {
        false
    }

    fn watch(&mut self) -> impl Future<Output = bool> + Send {
        std::future::pending()
    }
}

/// How the node's answer is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    Empty,
    Length(u64),
    Chunked,
    /// No length: the body ends when the node closes the connection.
    UntilClose,
}

/// A node's answer head, already rewritten for the client.
pub(super) struct Answer {
    pub(super) status: u16,
    /// The head to send to the client (HTTP/1.1, connection headers
    /// dropped, `connection: close` added when the body runs until close).
    pub(super) head: Vec<u8>,
    pub(super) framing: Framing,
    /// Whether the node keeps the connection open afterwards.
    pub(super) reusable: bool,
}

/// How sending a request to one node ended.
pub(super) enum Exchange {
    Answered(RawConn, Answer),
    /// No answer byte arrived: the request may go to another node.
    Failed(String),
    /// The node answered something that is not a usable HTTP/1 answer
    /// head. It may have done the work, so the request goes nowhere else.
    BadAnswer(String),
    TimedOut,
    ClientGone,
}

/// Sends `head` + `body` to the node at `authority` over a pooled
/// connection and reads the answer head, within `timeout`, watching the
/// client meanwhile. When a pooled connection fails before the whole
/// request was written (the node closed it in between, so it cannot have
/// seen the request), a new connection takes over once.
pub(super) async fn exchange(
    authority: &Authority,
    head: &[u8],
    body: &Bytes,
    timeout: Duration,
    connect_timeout: Duration,
    watch: &mut impl ClientWatch,
) -> Exchange {
    let attempt = async {
        let mut pooled = RawConn::checkout(authority);
        loop {
            let reused = pooled.is_some();
            let mut conn = match pooled.take() {
                Some(c) => c,
                None => match RawConn::connect(authority, connect_timeout).await {
                    Ok(c) => c,
                    Err(e) => return Exchange::Failed(e),
                },
            };
            let mut message = Buf::chain(head, &body[..]);
            match send_and_read_head(&mut conn, &mut message, watch).await {
                Sent::Head(answer) => return Exchange::Answered(conn, answer),
                Sent::ClientGone => return Exchange::ClientGone,
                Sent::Unsent(_) if reused => continue,
                Sent::Unsent(e) | Sent::NoAnswer(e) => return Exchange::Failed(e),
                Sent::BadAnswer(e) => return Exchange::BadAnswer(e),
            }
        }
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .unwrap_or(Exchange::TimedOut)
}

enum Sent {
    Head(Answer),
    /// Writing the request failed.
    Unsent(String),
    /// The request went out; the connection ended before any answer byte.
    NoAnswer(String),
    /// Answer bytes arrived, but no usable head.
    BadAnswer(String),
    ClientGone,
}

async fn send_and_read_head(
    conn: &mut RawConn,
    message: &mut impl Buf,
    watch: &mut impl ClientWatch,
) -> Sent {
    if let Err(e) = conn.stream.write_all_buf(message).await {
        return Sent::Unsent(e.to_string());
    }
    let mut answered = false;
    loop {
        let Some(read) = read_node(conn, watch).await else {
            return Sent::ClientGone;
        };
        match read {
            Ok(0) if !answered => {
                return Sent::NoAnswer("the node closed the connection without answering".into())
            }
            Ok(0) => return Sent::BadAnswer("the node closed the connection mid-answer".into()),
            Err(e) if !answered => return Sent::NoAnswer(e.to_string()),
            Err(e) => return Sent::BadAnswer(e.to_string()),
            Ok(_) => answered = true,
        }
        match parse_answer(&mut conn.buf) {
            Ok(Some(answer)) => return Sent::Head(answer),
            Ok(None) if conn.buf.len() < MAX_HEAD => {}
            Ok(None) => return Sent::BadAnswer("the answer head is too large".into()),
            Err(e) => return Sent::BadAnswer(e),
        }
    }
}

/// Reads what the node sends next into its buffer, watching the client
/// meanwhile; `None` when the client went away first.
pub(super) async fn read_node(
    conn: &mut RawConn,
    watch: &mut impl ClientWatch,
) -> Option<std::io::Result<usize>> {
    loop {
        tokio::select! {
            r = conn.stream.read_buf(&mut conn.buf) => return Some(r),
            gone = watch.watch(), if watch.watching() => {
                if gone {
                    return None;
                }
            }
        }
    }
}

/// Parses a complete answer head off the front of `buf` (informational
/// answers are skipped), rewriting it for the client.
pub(super) fn parse_answer(buf: &mut BytesMut) -> Result<Option<Answer>, String> {
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
            if is_connection_header(h.name)
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

/// Request headers not passed on to a node (any case): those that belong to
/// one connection, the host and length the proxy sets itself, and an
/// expectation the proxy has met (the whole body goes at once).
pub(super) fn is_hop_by_hop(name: &str) -> bool {
    is_connection_header(name)
        || [
            "proxy-authenticate",
            "proxy-authorization",
            "transfer-encoding",
            "host",
            "content-length",
            "expect",
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

/// A Content-Length value: decimal digits only (no sign), as HTTP says.
pub(super) fn parse_length(value: &[u8]) -> Option<u64> {
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

/// Whether a comma-separated header value holds `token` (any case).
pub(super) fn contains_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|b| *b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}

/// Where an answer body ends, found without decoding it.
pub(super) struct BodyScan {
    framing: Framing,
    remaining: u64,
    chunk: ChunkScan,
}

impl BodyScan {
    pub(super) fn new(framing: Framing) -> BodyScan {
        let remaining = match framing {
            Framing::Length(n) => n,
            _ => 0,
        };
        BodyScan {
            framing,
            remaining,
            chunk: ChunkScan::default(),
        }
    }

    pub(super) fn framing(&self) -> Framing {
        self.framing
    }

    /// How many bytes of `bytes` belong to the body, and whether the body
    /// ends there. `data` is told which of them are the body's content
    /// (all of them, except for chunked framing).
    pub(super) fn scan(
        &mut self,
        bytes: &[u8],
        data: impl FnMut(std::ops::Range<usize>),
    ) -> Result<(usize, bool), &'static str> {
        let mut data = data;
        match self.framing {
            Framing::Empty => Ok((0, true)),
            Framing::UntilClose => {
                data(0..bytes.len());
                Ok((bytes.len(), false))
            }
            Framing::Length(_) => {
                let take = (bytes.len() as u64).min(self.remaining);
                self.remaining -= take;
                data(0..take as usize);
                Ok((take as usize, self.remaining == 0))
            }
            Framing::Chunked => match self.chunk.scan(bytes, data)? {
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
    /// `data` is told where chunk data lies.
    fn scan(
        &mut self,
        bytes: &[u8],
        mut data: impl FnMut(std::ops::Range<usize>),
    ) -> Result<Option<usize>, &'static str> {
        use ChunkState::*;
        let mut i = 0;
        while i < bytes.len() {
            if let Data { left } = self.state {
                let take = (left).min((bytes.len() - i) as u64);
                data(i..i + take as usize);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(pieces: &[&[u8]]) -> Result<Option<usize>, &'static str> {
        let mut s = ChunkScan::default();
        let mut offset = 0;
        for p in pieces {
            if let Some(n) = s.scan(p, |_| {})? {
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
    fn chunk_data_is_found_whatever_the_split() {
        let body: &[u8] = b"5\r\nhello\r\n1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n";
        for size in [1, 2, 7, body.len()] {
            let mut s = BodyScan::new(Framing::Chunked);
            let mut content = Vec::new();
            let mut ended = false;
            for piece in body.chunks(size) {
                let (_, end) = s
                    .scan(piece, |r| content.extend_from_slice(&piece[r]))
                    .unwrap();
                ended |= end;
            }
            assert!(ended);
            assert_eq!(
                content, b"helloabcdefghijklmnopqrstuvwxyz",
                "pieces of {size}"
            );
        }
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
