//! Request extractors: JSON bodies with our error shape, bearer
//! authentication by role, and the node token header.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use super::auth::Principal;
use super::error::ApiError;
use super::router::AppState;
use crate::api::auth::Role;
use crate::api::NODE_TOKEN_HEADER;
use crate::secret::TokenHash;

/// How long a client may take to send a request body.
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A JSON body. Malformed JSON → 400 `invalid_json`, wrong shape → 400
/// `invalid_body`, too large → 413 `body_too_large`.
pub struct ApiJson<T>(pub T);

/// Like [`ApiJson`], but an empty body reads as `T::default()`.
pub struct OptionalJson<T>(pub T);

async fn body_bytes(req: Request, state: &AppState) -> Result<Bytes, ApiError> {
    match tokio::time::timeout(BODY_TIMEOUT, Bytes::from_request(req, state)).await {
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            "the request body did not arrive in time",
        )),
        Ok(Err(rejection)) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "the request body is larger than this route accepts (1 MiB; 64 MiB for imports)",
            ))
        }
        Ok(Err(rejection)) => Err(ApiError::bad_request(
            "invalid_body",
            format!("the request body could not be read: {}", rejection.body_text()),
        )),
        Ok(Ok(bytes)) => Ok(bytes),
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
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

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes = body_bytes(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

impl<T: DeserializeOwned + Default> FromRequest<AppState> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes = body_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        parse_json(&bytes).map(OptionalJson)
    }
}

/// The raw bearer token of a request.
pub fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
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
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized(
                "missing_token",
                "the Authorization header must read: Bearer <API key or session token>",
            )
        })?;
    Ok(token)
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

/// An admin caller.
pub struct Admin(#[allow(dead_code)] pub Principal);

/// A caller that may read the fleet (viewer or admin).
pub struct Viewer(#[allow(dead_code)] pub Principal);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        require(parts, state, &[Role::Admin]).map(Admin)
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        require(parts, state, &[Role::Admin, Role::Viewer]).map(Viewer)
    }
}

/// The hash of the `X-Node-Token` header.
pub struct NodeToken(pub TokenHash);

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

/// A body as bytes, with the same limit and timeout errors as [`ApiJson`].
pub struct RawBody(pub Bytes);

impl FromRequest<AppState> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        body_bytes(req, state).await.map(RawBody)
    }
}
