//! Connections from the proxy to nodes: HTTP/1, kept alive and reused, one
//! pool per HTTP worker thread so a connection is always driven by the
//! thread that uses it.
//!
//! A connection goes back to the pool only when its answer has been read to
//! the end; one dropped mid-answer (the client went away) is closed, which
//! cancels the request on the node.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::uri::Authority;
use http_body_util::Full;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;

type Sender = SendRequest<Full<Bytes>>;

/// Idle connections kept per node and thread.
const MAX_IDLE: usize = 512;

thread_local! {
    static IDLE: RefCell<HashMap<Authority, Vec<Sender>>> = RefCell::new(HashMap::new());
}

/// Why a request could not be sent. Either way no answer byte arrived, so
/// the request may be tried on another node.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("{0}")]
    Http(#[from] hyper::Error),
}

/// A connection to one node, checked out of this thread's pool.
pub struct Conn {
    authority: Authority,
    sender: Sender,
    reused: bool,
}

impl Conn {
    /// An idle connection to `authority`, or a new one.
    pub async fn checkout(
        authority: &Authority,
        connect_timeout: Duration,
    ) -> Result<Conn, SendError> {
        let idle = IDLE.with(|pool| {
            let mut pool = pool.borrow_mut();
            let list = pool.get_mut(authority)?;
            while let Some(s) = list.pop() {
                if s.is_ready() {
                    return Some(s);
                }
            }
            None
        });
        match idle {
            Some(sender) => Ok(Conn {
                authority: authority.clone(),
                sender,
                reused: true,
            }),
            None => Self::connect(authority, connect_timeout).await,
        }
    }

    async fn connect(authority: &Authority, connect_timeout: Duration) -> Result<Conn, SendError> {
        let addr: SocketAddr = authority
            .as_str()
            .parse()
            .map_err(|_| SendError::Connect(format!("{authority} is not an address")))?;
        let stream = tokio::time::timeout(connect_timeout, tokio::net::TcpStream::connect(addr))
            .await
            .map_err(|_| SendError::Connect("timed out".into()))?
            .map_err(|e| SendError::Connect(e.to_string()))?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Conn {
            authority: authority.clone(),
            sender,
            reused: false,
        })
    }

    /// Sends `req`. A pooled connection the node has closed meanwhile is
    /// replaced by a fresh one once, without counting as a failure.
    pub async fn send(
        &mut self,
        req: hyper::Request<Full<Bytes>>,
        connect_timeout: Duration,
    ) -> Result<hyper::Response<hyper::body::Incoming>, SendError> {
        match self.sender.try_send_request(req).await {
            Ok(resp) => Ok(resp),
            Err(mut e) => match (self.reused, e.take_message()) {
                (true, Some(req)) => {
                    *self = Self::connect(&self.authority, connect_timeout).await?;
                    Ok(self.sender.send_request(req).await?)
                }
                _ => Err(SendError::Http(e.into_error())),
            },
        }
    }

    /// Returns the connection to this thread's pool (its answer was read to
    /// the end).
    pub fn release(self) {
        if self.sender.is_closed() {
            return;
        }
        IDLE.with(|pool| {
            let mut pool = pool.borrow_mut();
            let list = pool.entry(self.authority).or_default();
            if list.len() < MAX_IDLE {
                list.push(self.sender);
            }
        });
    }
}
