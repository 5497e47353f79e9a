//! Request extractors: JSON bodies with our error shape, bearer
//! authentication by role, and the node token header.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use super::auth::Principal;
use super::error::ApiError;
use super::router::{AppState, BODY_LIMIT, IMPORT_BODY_LIMIT};
use crate::api::auth::Role;
use crate::api::NODE_TOKEN_HEADER;
use crate::secret::TokenHash;

/// How long a client may take to send a whole request body, whatever its
/// size and whichever way the request arrived: `--body-timeout`, set once
/// at start-up. The one rule: the body must have arrived within this time
/// from the moment the request's head was read ([`body_deadline`]).
static BODY_TIMEOUT_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(30_000);

pub(crate) fn set_body_timeout(timeout: std::time::Duration) {
    let ms = u64::try_from(timeout.as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    BODY_TIMEOUT_MS.store(ms, std::sync::atomic::Ordering::Relaxed);
}

fn body_timeout() -> std::time::Duration {
    std::time::Duration::from_millis(BODY_TIMEOUT_MS.load(std::sync::atomic::Ordering::Relaxed))
}

/// When a request's head was read, as a request extension: set by the
/// connection code (the lane, or as hyper hands over a request), so a
/// body read later has the same deadline as one read in the lane.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeadRead(pub std::time::Instant);

/// By when the body of a request whose head was read at `head_read` must
/// have arrived.
pub(crate) fn body_deadline(head_read: std::time::Instant) -> tokio::time::Instant {
    tokio::time::Instant::from_std(head_read) + body_timeout()
}

/// The answer to a body that did not arrive by its deadline.
pub(crate) fn body_timed_out() -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "body_timeout",
        "the request body did not arrive in time",
    )
}

/// A JSON body. Malformed JSON → 400 `invalid_json`, wrong shape → 400
/// `invalid_body`, too large → 413 `body_too_large`.
pub(crate) struct ApiJson<T>(pub T);

/// Like [`ApiJson`], but an empty body reads as `T::default()`.
pub(crate) struct OptionalJson<T>(pub T);

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!(
            "the request body is larger than this route accepts ({} KiB)",
            limit / 1024
        ),
    )
}

/// Reads a whole body of at most `limit` bytes. A `Content-Length` above the
/// limit is refused before any of the body is read.
async fn body_bytes(req: Request, limit: usize) -> Result<Bytes, ApiError> {
    let (parts, body) = req.into_parts();
    read_body(&parts, body, limit).await
}

/// Reads a body of at most `limit` bytes, refusing early when the headers
/// announce more.
pub(crate) async fn read_body(
    parts: &Parts,
    body: axum::body::Body,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let announced = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit));
    }
    let head_read = parts
        .extensions
        .get::<HeadRead>()
        .map_or_else(std::time::Instant::now, |h| h.0);
    let deadline = body_deadline(head_read);
    match tokio::time::timeout_at(deadline, axum::body::to_bytes(body, limit)).await {
        Err(_) => Err(body_timed_out()),
        Ok(Err(e)) => {
            let is_limit = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
                || e.to_string().contains("length limit");
            if is_limit {
                Err(too_large(limit))
            } else {
                Err(ApiError::bad_request(
                    "invalid_body",
                    format!("the request body could not be read: {e}"),
                ))
            }
        }
        Ok(Ok(bytes)) => Ok(bytes),
    }
}

/// Parses a request body that must be one JSON object. Before serde sees
/// it, the text is checked for what serde would let through unnoticed in
/// fields it skips or in a struct read from an array: bytes that are not
/// UTF-8, `\u` escapes of half a surrogate pair, and a top level that is
/// not an object.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    check_json_text(bytes)?;
    serde_json::from_slice(bytes).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => ApiError::bad_request(
                "invalid_body",
                format!("the request body has the wrong shape: {e}"),
            ),
            _ => ApiError::bad_request(
                "invalid_json",
                format!("the request body is not valid JSON: {e}"),
            ),
        }
    })
}

fn not_json(why: &str) -> ApiError {
    ApiError::bad_request(
        "invalid_json",
        format!("the request body is not valid JSON: {why}"),
    )
}

/// One pass over the raw body; see [`parse_json`].
fn check_json_text(bytes: &[u8]) -> Result<(), ApiError> {
    if std::str::from_utf8(bytes).is_err() {
        return Err(not_json("it is not UTF-8 text"));
    }
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        // Empty or truncated bodies get serde's own sentence.
        None => return Ok(()),
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_body",
                "the request body must be a JSON object ({...})",
            ))
        }
    }
    // Backslashes occur only inside strings in valid JSON, so every `\u`
    // here is an escape (anything else fails serde's parse anyway).
    let hex4 = |at: usize| -> Option<u16> {
        let digits = bytes.get(at..at + 4)?;
        u16::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
    };
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        if bytes.get(i + 1) != Some(&b'u') {
            i += 2;
            continue;
        }
        let Some(unit) = hex4(i + 2) else {
            return Err(not_json("a \\u escape needs four hex digits"));
        };
        i += 6;
        match unit {
            0xD800..=0xDBFF => {
                let low = (bytes.get(i) == Some(&b'\\') && bytes.get(i + 1) == Some(&b'u'))
                    .then(|| hex4(i + 2))
                    .flatten();
                if !low.is_some_and(|u| (0xDC00..=0xDFFF).contains(&u)) {
                    return Err(not_json(
                        "it holds half a UTF-16 surrogate pair (\\ud800-\\udbff alone)",
                    ));
                }
                i += 6;
            }
            0xDC00..=0xDFFF => {
                return Err(not_json(
                    "it holds half a UTF-16 surrogate pair (\\udc00-\\udfff alone)",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &AppState) -> Result<Self, ApiError> {
        let bytes = body_bytes(req, BODY_LIMIT).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

impl<T: DeserializeOwned + Default> FromRequest<AppState> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &AppState) -> Result<Self, ApiError> {
        let bytes = body_bytes(req, BODY_LIMIT).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        parse_json(&bytes).map(OptionalJson)
    }
}

/// The raw bearer token of a request.
pub(crate) fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| {
            ApiError::unauthorized(
                "missing_token",
                "this route needs credentials: send Authorization: Bearer <API key or session token>",
            )
        })?
        .to_str()
        .unwrap_or("");
    let token = bearer_token(value).ok_or_else(|| {
        ApiError::unauthorized(
            "missing_token",
            "the Authorization header must read: Bearer <API key or session token>",
        )
    })?;
    Ok(token)
}

/// The token of an `Authorization: Bearer <token>` value.
pub(crate) fn bearer_token(value: &str) -> Option<&str> {
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

fn require(parts: &Parts, state: &AppState, allowed: &[Role]) -> Result<Principal, ApiError> {
    let p = state.auth.authenticate(bearer(&parts.headers)?)?;
    if allowed.contains(&p.role) {
        Ok(p)
    } else {
        Err(ApiError::forbidden(
            "forbidden",
            format!(
                "a credential with role {} may not do this; it needs role {}",
                p.role,
                allowed
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        ))
    }
}

/// An admin caller, and who it is for the audit trail.
pub(crate) struct Admin(#[allow(dead_code)] pub Principal, pub super::audit::Actor);

/// A caller that may read the fleet (viewer or admin).
pub(crate) struct Viewer(#[allow(dead_code)] pub Principal);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let p = require(parts, state, &[Role::Admin])?;
        let source = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |c| c.0.ip());
        let actor = state.auth.actor(&p, source);
        Ok(Admin(p, actor))
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        require(parts, state, &[Role::Admin, Role::Viewer]).map(Viewer)
    }
}

/// The hash of the `X-Node-Token` header.
pub(crate) struct NodeToken(pub TokenHash);

impl axum::extract::OptionalFromRequestParts<AppState> for NodeToken {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(
            <NodeToken as FromRequestParts<AppState>>::from_request_parts(parts, state)
                .await
                .ok(),
        )
    }
}

impl FromRequestParts<AppState> for NodeToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        parts
            .headers
            .get(NODE_TOKEN_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| NodeToken(TokenHash::of(t)))
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "missing_node_token",
                    "heartbeats need the runtime token from registration in the X-Node-Token header",
                )
            })
    }
}

/// The address the request came from (the TCP peer). Requests that did not
/// come over a socket read as `0.0.0.0`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientIp(pub std::net::IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |c| c.0.ip()),
        ))
    }
}

/// Takes a token from `limiter` for `ip`, or answers 429 `rate_limited`.
pub(crate) fn rate_limited(
    limiter: &super::limits::RateLimiter,
    ip: std::net::IpAddr,
    what: &str,
) -> Result<(), ApiError> {
    limiter.check(ip).map_err(|wait| {
        let secs = super::limits::retry_after_secs(wait);
        ApiError::too_many(
            "rate_limited",
            format!(
                "too many {what} requests from this address; try again in {secs} s (the daemon \
                 limits them per source address with --rate-limit and --rate-burst)"
            ),
            secs,
        )
    })
}

/// The hash of the `X-Join-Token` header, if the request has one.
pub(crate) struct JoinToken(pub Option<TokenHash>);

impl<S: Send + Sync> FromRequestParts<S> for JoinToken {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(JoinToken(
            parts
                .headers
                .get(crate::api::JOIN_TOKEN_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(TokenHash::of),
        ))
    }
}

/// A body of up to [`IMPORT_BODY_LIMIT`] bytes, for imports.
pub(crate) struct ImportBody(pub Bytes);

impl FromRequest<AppState> for ImportBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &AppState) -> Result<Self, ApiError> {
        body_bytes(req, IMPORT_BODY_LIMIT).await.map(ImportBody)
    }
}

/// The `{id}` of a path. Bad percent-encoding → 400 `invalid_id`.
pub(crate) struct Id(pub String);

impl FromRequestParts<AppState> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match axum::extract::Path::<String>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(id)) => Ok(Id(id)),
            Err(e) => Err(ApiError::bad_request(
                "invalid_id",
                format!("the id in the path cannot be read: {}", e.body_text()),
            )),
        }
    }
}

/// A query string. Unreadable → 400 `invalid_query`.
pub(crate) struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned> FromRequestParts<AppState> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(q)) => Ok(ApiQuery(q)),
            Err(e) => Err(ApiError::bad_request(
                "invalid_query",
                format!("the query string cannot be read: {}", e.body_text()),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check_json_text;

    #[test]
    fn bodies_serde_would_let_through_are_refused() {
        let code = |b: &[u8]| check_json_text(b).err().map(|e| e.code);
        assert_eq!(code(br#"{"a": "x", "b": [1, {"c": null}]}"#), None);
        assert_eq!(code(br#"{"a": "\ud83d\ude00 \u00e9 \\u"}"#), None);
        assert_eq!(code(b"  "), None);
        assert_eq!(code(b"[]"), Some("invalid_body"));
        assert_eq!(code(b"[1, 2]"), Some("invalid_body"));
        assert_eq!(code(b"\"x\""), Some("invalid_body"));
        assert_eq!(code(b"{\"x\": \"\xff\"}"), Some("invalid_json"));
        assert_eq!(code(br#"{"x": "\ud800"}"#), Some("invalid_json"));
        assert_eq!(code(br#"{"x": "\ud800\u0041"}"#), Some("invalid_json"));
        assert_eq!(code(br#"{"x": "\udc00"}"#), Some("invalid_json"));
        assert_eq!(code(br#"{"x": "\u12"}"#), Some("invalid_json"));
    }
}
