//! The typed HTTP client of the `/v0` API, used by `llmlbctl` and
//! `llmlb-node`. Every call returns the API's JSON as well as, where useful,
//! the typed value, so `llmlbctl -o json` can print the answer as is.

use std::fmt;
use std::time::Duration;

use reqwest::Method;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;

use bytes::Bytes;

use crate::api::audit::AuditEntry;
use crate::api::auth::{
    ApiKeyCreated, ApiKeyView, CreateApiKeyRequest, LoginRequest, LoginResponse,
};
use crate::api::import::{ImportBatch, ImportReport, OnConflict};
use crate::api::join_tokens::{CreateJoinTokenRequest, JoinTokenCreated, JoinTokenView};
use crate::api::nodes::{
    HeartbeatRequest, HeartbeatResponse, NodeView, PatchNodeRequest, RegisterNodeRequest,
    RegisterNodeResponse, RevokeTokenResponse, RotateTokenRequest, RotateTokenResponse,
};
use crate::api::status::StatusResponse;
use crate::api::{ErrorBody, JOIN_TOKEN_HEADER, NODE_TOKEN_HEADER};
pub use crate::secret::Secret;
pub use crate::tls::{Fingerprint, Trust};

/// What can go wrong talking to the daemon.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No connection: nothing listens there, DNS, TLS, a timeout.
    #[error("cannot reach the daemon at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// The daemon answered with an error.
    #[error("{} ({}, HTTP {status})", body.error, body.code)]
    Api { status: u16, body: ErrorBody },
    /// The TLS handshake failed: the daemon's certificate is not trusted
    /// (or does not match the pin), or the two sides share no protocol.
    /// Nothing was sent. Retrying does not help until someone fixes it.
    #[error("cannot talk to the daemon at {url} over TLS: {reason}")]
    Tls { url: String, reason: String },
    /// The answer was not what the API promises.
    #[error("unexpected answer from {url}: {reason}")]
    Protocol { url: String, reason: String },
}

impl ClientError {
    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The stable code of an API error.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { body, .. } => Some(&body.code),
            _ => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, ClientError>;

/// A connection to one daemon.
#[derive(Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    token: Option<Secret>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Client {
    /// A client for the daemon at `base_url` (e.g. `http://127.0.0.1:32768`);
    /// an `https://` daemon is verified against the system's roots.
    pub fn new(base_url: &str, token: Option<Secret>, timeout: Duration) -> Client {
        let http = http_client(base_url, timeout, &Trust::SystemRoots).unwrap_or_else(|e| {
            // Only a system store with no usable certificate gets here; an
            // https:// handshake then fails saying the issuer is unknown,
            // which is the truth.
            tracing::warn!("{e}; trusting no root certificates");
            reqwest::Client::builder()
                .timeout(timeout)
                .tls_built_in_root_certs(false)
                .build()
                .expect("a client without root certificates always builds")
        });
        Client {
            base: base_url.trim_end_matches('/').to_string(),
            http,
            token,
        }
    }

    /// A client that trusts an `https://` daemon as `trust` says. Fails
    /// when the CA file cannot be used, or when a CA file or pin is given
    /// for a plain `http://` URL (where it would protect nothing).
    pub fn with_trust(
        base_url: &str,
        token: Option<Secret>,
        timeout: Duration,
        trust: &Trust,
    ) -> std::result::Result<Client, String> {
        Ok(Client {
            base: base_url.trim_end_matches('/').to_string(),
            http: http_client(base_url, timeout, trust)?,
            token,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends a request and returns the body of a success (empty for 204).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&dyn erased::Body>,
        node_token: Option<&Secret>,
    ) -> Result<Bytes> {
        let secrets: Vec<(&'static str, &Secret)> = node_token
            .map(|t| (NODE_TOKEN_HEADER, t))
            .into_iter()
            .collect();
        self.call_with(method, path, body, &secrets).await
    }

    /// [`Client::call`] with secret headers (`X-Node-Token`, `X-Join-Token`).
    async fn call_with(
        &self,
        method: Method,
        path: &str,
        body: Option<&dyn erased::Body>,
        secrets: &[(&'static str, &Secret)],
    ) -> Result<Bytes> {
        let url = self.url(path);
        let mut req = self.http.request(method, &url);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t.expose());
        }
        for (name, value) in secrets {
            req = req.header(*name, value.expose());
        }
        if let Some(b) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(b.to_json());
        }
        let resp = req.send().await.map_err(|e| match tls_failure(&e) {
            Some(reason) => ClientError::Tls {
                url: url.clone(),
                reason,
            },
            None => ClientError::Unreachable {
                url: url.clone(),
                reason: describe(&e),
            },
        })?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| ClientError::Unreachable {
            url: url.clone(),
            reason: describe(&e),
        })?;
        if status.is_success() {
            return Ok(bytes);
        }
        let body = serde_json::from_slice::<ErrorBody>(&bytes).unwrap_or_else(|_| ErrorBody {
            error: format!(
                "the daemon answered HTTP {status}: {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).trim()
            ),
            code: "http_error".into(),
        });
        Err(ClientError::Api {
            status: status.as_u16(),
            body,
        })
    }

    async fn typed<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&dyn erased::Body>,
    ) -> Result<Reply<T>> {
        let raw = self.call(method, path, body, None).await?;
        Ok(Reply {
            raw,
            url: self.url(path),
            _t: PhantomData,
        })
    }

    pub async fn status(&self) -> Result<Reply<StatusResponse>> {
        self.typed(Method::GET, "/v0/status", None).await
    }

    pub async fn list_nodes(&self, status: Option<&str>) -> Result<Reply<Vec<NodeView>>> {
        let path = match status {
            Some(s) => format!("/v0/nodes?status={s}"),
            None => "/v0/nodes".to_string(),
        };
        self.typed(Method::GET, &path, None).await
    }

    pub async fn get_node(&self, id: &str) -> Result<Reply<NodeView>> {
        self.typed(Method::GET, &node_path(id, ""), None).await
    }

    pub async fn approve(&self, id: &str) -> Result<Reply<NodeView>> {
        self.typed(Method::POST, &node_path(id, "/approve"), None)
            .await
    }

    pub async fn delete_node(&self, id: &str) -> Result<()> {
        self.call(Method::DELETE, &node_path(id, ""), None, None)
            .await
            .map(drop)
    }

    pub async fn patch_node(&self, id: &str, p: &PatchNodeRequest) -> Result<Reply<NodeView>> {
        self.typed(Method::PATCH, &node_path(id, ""), Some(p)).await
    }

    pub async fn set_drained(&self, id: &str, drained: bool) -> Result<Reply<NodeView>> {
        let action = if drained { "/drain" } else { "/undrain" };
        self.typed(Method::POST, &node_path(id, action), None).await
    }

    pub async fn rotate_token(
        &self,
        id: &str,
        grace: Option<Duration>,
    ) -> Result<Reply<RotateTokenResponse>> {
        let body = RotateTokenRequest {
            grace_secs: grace.map(|g| g.as_secs()),
        };
        self.typed(Method::POST, &node_path(id, "/token/rotate"), Some(&body))
            .await
    }

    pub async fn revoke_token(&self, id: &str) -> Result<Reply<RevokeTokenResponse>> {
        self.typed(Method::POST, &node_path(id, "/token/revoke"), None)
            .await
    }

    /// Sends one batch of legacy records (each a JSON text) for import.
    pub async fn import(
        &self,
        records: &[&serde_json::value::RawValue],
        first_index: usize,
        dry_run: bool,
        on_conflict: OnConflict,
    ) -> Result<Reply<ImportReport>> {
        let body = ImportBatch {
            nodes: records.to_vec(),
            dry_run,
            on_conflict,
            first_index,
        };
        self.typed(Method::POST, "/v0/import/nodes", Some(&body))
            .await
    }

    pub async fn login(&self, username: &str, password: &str) -> Result<LoginResponse> {
        let body = LoginRequest {
            username: username.into(),
            password: password.into(),
        };
        self.typed(Method::POST, "/v0/auth/login", Some(&body))
            .await?
            .decode()
    }

    pub async fn logout(&self) -> Result<()> {
        self.call(Method::POST, "/v0/auth/logout", None, None)
            .await
            .map(drop)
    }

    pub async fn list_api_keys(&self) -> Result<Reply<Vec<ApiKeyView>>> {
        self.typed(Method::GET, "/v0/api-keys", None).await
    }

    pub async fn create_api_key(&self, req: &CreateApiKeyRequest) -> Result<Reply<ApiKeyCreated>> {
        self.typed(Method::POST, "/v0/api-keys", Some(req)).await
    }

    pub async fn delete_api_key(&self, id: &str) -> Result<()> {
        self.call(Method::DELETE, &key_path(id, ""), None, None)
            .await
            .map(drop)
    }

    pub async fn rotate_api_key(&self, id: &str) -> Result<Reply<ApiKeyCreated>> {
        self.typed(Method::POST, &key_path(id, "/rotate"), None)
            .await
    }

    /// `GET /v0/audit` with a query string built by the caller (values
    /// percent-encoded here).
    pub async fn audit(&self, query: &[(&str, String)]) -> Result<Reply<Vec<AuditEntry>>> {
        let qs: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        let path = if qs.is_empty() {
            "/v0/audit".to_string()
        } else {
            format!("/v0/audit?{}", qs.join("&"))
        };
        self.typed(Method::GET, &path, None).await
    }

    pub async fn list_join_tokens(&self) -> Result<Reply<Vec<JoinTokenView>>> {
        self.typed(Method::GET, "/v0/join-tokens", None).await
    }

    pub async fn create_join_token(
        &self,
        req: &CreateJoinTokenRequest,
    ) -> Result<Reply<JoinTokenCreated>> {
        self.typed(Method::POST, "/v0/join-tokens", Some(req)).await
    }

    pub async fn delete_join_token(&self, id: &str) -> Result<()> {
        let path = format!("/v0/join-tokens/{}", encode(id));
        self.call(Method::DELETE, &path, None, None).await.map(drop)
    }

    /// Registers a machine. `proof` is the token the machine holds from an
    /// earlier registration, if any: only with it does a known node keep its
    /// id (without it the daemon makes a new pending node).
    pub async fn register(
        &self,
        req: &RegisterNodeRequest,
        proof: Option<&Secret>,
        join_token: Option<&Secret>,
    ) -> Result<RegisterNodeResponse> {
        let secrets: Vec<(&'static str, &Secret)> = proof
            .map(|t| (NODE_TOKEN_HEADER, t))
            .into_iter()
            .chain(join_token.map(|t| (JOIN_TOKEN_HEADER, t)))
            .collect();
        let raw = self
            .call_with(Method::POST, "/v0/nodes", Some(req), &secrets)
            .await?;
        decode(&self.url("/v0/nodes"), &raw)
    }

    /// Sends a heartbeat with a node's runtime token.
    pub async fn heartbeat(
        &self,
        token: &Secret,
        req: &HeartbeatRequest,
    ) -> Result<HeartbeatResponse> {
        let raw = self
            .call(Method::POST, "/v0/health", Some(req), Some(token))
            .await?;
        decode(&self.url("/v0/health"), &raw)
    }
}

/// A success answer: the body as the daemon sent it, decoded on demand (a
/// caller printing JSON never pays for decoding).
pub struct Reply<T> {
    pub raw: Bytes,
    url: String,
    _t: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Reply<T> {
    pub fn decode(&self) -> Result<T> {
        decode(&self.url, &self.raw)
    }
}

fn decode<T: DeserializeOwned>(url: &str, raw: &[u8]) -> Result<T> {
    serde_json::from_slice(raw).map_err(|e| ClientError::Protocol {
        url: url.to_string(),
        reason: format!("the answer does not have the expected shape ({e})"),
    })
}

fn http_client(
    base_url: &str,
    timeout: Duration,
    trust: &Trust,
) -> std::result::Result<reqwest::Client, String> {
    let https = base_url
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"));
    if !matches!(trust, Trust::SystemRoots) && !https {
        return Err(format!(
            "{} is not an https:// URL, so a CA certificate or a pinned fingerprint cannot \
             protect it; use the daemon's https:// URL",
            base_url.trim_end_matches('/')
        ));
    }
    let builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        // Reading the system's store would cost every llmlbctl run; plain
        // HTTP has no use for it.
        .tls_built_in_root_certs(https);
    trust
        .configure(builder)?
        .build()
        .map_err(|e| format!("cannot set up the HTTP client: {e}"))
}

/// Ids are percent-encoded into paths, so odd legacy ids cannot escape them.
fn node_path(id: &str, rest: &str) -> String {
    format!("/v0/nodes/{}{rest}", encode(id))
}

fn key_path(id: &str, rest: &str) -> String {
    format!("/v0/api-keys/{}{rest}", encode(id))
}

fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The TLS error under a transport error, if that is what it is: a
/// certificate that is not trusted or not the pinned one, or a handshake
/// the two sides cannot complete.
fn tls_failure(e: &reqwest::Error) -> Option<String> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        // The connector wraps the TLS error in I/O errors, and an I/O
        // error's `source` skips what it wraps: look inside by hand.
        let mut inner: &(dyn std::error::Error + 'static) = err;
        while let Some(io) = inner.downcast_ref::<std::io::Error>() {
            match io.get_ref() {
                Some(wrapped) => inner = wrapped,
                None => break,
            }
        }
        if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
            return Some(match tls {
                // A verifier's own sentence (the pin mismatch) as it is.
                rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other)) => {
                    other.0.to_string()
                }
                rustls::Error::InvalidCertificate(why) => {
                    use rustls::CertificateError as C;
                    let why = match why {
                        C::UnknownIssuer => "no trusted CA issued it".to_string(),
                        C::Expired | C::ExpiredContext { .. } => "it has expired".to_string(),
                        C::NotValidForName | C::NotValidForNameContext { .. } => {
                            "it is not valid for this host name or address".to_string()
                        }
                        other => format!("{other:?}"),
                    };
                    format!("the daemon's certificate is not trusted: {why}")
                }
                other => other.to_string(),
            });
        }
        next = err.source();
    }
    None
}

/// A short reason for a transport error, without the URL (the caller has
/// it): the innermost cause, which says what really happened.
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "no answer in time".into();
    }
    let mut innermost: &dyn std::error::Error = e;
    while let Some(s) = innermost.source() {
        innermost = s;
    }
    if let Some(io) = innermost.downcast_ref::<std::io::Error>() {
        if io.kind() == std::io::ErrorKind::ConnectionRefused {
            return "connection refused".into();
        }
    }
    let mut text = innermost.to_string();
    if let Some(u) = e.url() {
        text = text.replace(&format!(" for url ({u})"), "");
    }
    text
}

/// Request bodies as trait objects, so `call` is not generic.
pub mod erased {
    pub trait Body: Sync {
        fn to_json(&self) -> Vec<u8>;
    }

    impl<T: serde::Serialize + Sync> Body for T {
        fn to_json(&self) -> Vec<u8> {
            serde_json::to_vec(self).expect("wire types always serialize")
        }
    }
}
