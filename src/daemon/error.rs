//! The one error type of the HTTP API. Every failure becomes
//! `{"error": "<sentence>", "code": "<snake_case>"}` with its status code;
//! internal causes are logged, never sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::registry::RegistryError;
use crate::api::ErrorBody;
use crate::store::StoreError;

// `pub`, not `pub(crate)`, only while the extractors of `extract.rs` are
// `pub` and name it as their `Rejection` (E0446 otherwise); both become
// `pub(crate)` with the proxy rewrite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds for a `Retry-After` header (429 and 503 answers).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 429: the caller sent too much; it may try again after `retry_after`
    /// seconds (sent as `Retry-After`).
    pub(crate) fn too_many(
        code: &'static str,
        message: impl Into<String>,
        retry_after: u64,
    ) -> ApiError {
        ApiError {
            retry_after: Some(retry_after.max(1)),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, code, message)
        }
    }

    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub(crate) fn unauthorized(code: &'static str, message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    pub(crate) fn forbidden(code: &'static str, message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    pub(crate) fn conflict(code: &'static str, message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    pub(crate) fn unprocessable(code: &'static str, message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// A failure of the daemon itself. The cause goes to the log; the client
    /// gets a sentence without internals.
    pub(crate) fn internal(cause: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(error = %cause, "internal error while serving a request");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the daemon failed to complete the request; the cause is in its log",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        ApiError::internal(&e)
    }
}

/// The registry's refusals at the HTTP edge: each variant has one status and
/// one code; the message is the variant's sentence.
impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> ApiError {
        use RegistryError as E;
        let (status, code) = match &e {
            E::NodeNotFound(_) => (StatusCode::NOT_FOUND, "node_not_found"),
            E::InvalidNodeToken => (StatusCode::UNAUTHORIZED, "invalid_node_token"),
            E::TokenExpired => (StatusCode::UNAUTHORIZED, "token_expired"),
            E::JoinTokenRequired => (StatusCode::UNAUTHORIZED, "join_token_required"),
            E::JoinTokenInvalid => (StatusCode::UNAUTHORIZED, "join_token_invalid"),
            E::NodeMismatch => (StatusCode::FORBIDDEN, "node_mismatch"),
            E::NotPending(_) => (StatusCode::CONFLICT, "not_pending"),
            E::NoToken(_) => (StatusCode::CONFLICT, "no_token"),
            E::GraceTooLong => (StatusCode::BAD_REQUEST, "invalid_grace"),
            E::TooManyPending { .. } => {
                return ApiError::too_many("too_many_pending", e.to_string(), 60)
            }
            E::JoinTokenUsedUp | E::Store(_) => return ApiError::internal(&e),
        };
        ApiError::new(status, code, e.to_string())
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> ApiError {
        ApiError::internal(&e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(ErrorBody {
                error: self.message,
                code: self.code.to_string(),
            }),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for ApiError {}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    /// The statuses and codes the HTTP contract fixed before the registry
    /// had its own error type.
    #[test]
    fn registry_errors_keep_their_status_and_code() {
        use RegistryError as E;
        let cases = [
            (E::NodeNotFound("n1".into()), 404, "node_not_found"),
            (E::InvalidNodeToken, 401, "invalid_node_token"),
            (E::TokenExpired, 401, "token_expired"),
            (E::NodeMismatch, 403, "node_mismatch"),
            (E::NotPending("n1".into()), 409, "not_pending"),
            (E::NoToken("n1".into()), 409, "no_token"),
            (E::GraceTooLong, 400, "invalid_grace"),
            (E::TooManyPending { pending: 3 }, 429, "too_many_pending"),
            (E::JoinTokenRequired, 401, "join_token_required"),
            (E::JoinTokenInvalid, 401, "join_token_invalid"),
            (E::JoinTokenUsedUp, 500, "internal_error"),
        ];
        for (e, status, code) in cases {
            let sentence = e.to_string();
            let internal = status == 500;
            let api = ApiError::from(e);
            assert_eq!((api.status.as_u16(), api.code), (status, code));
            // The client reads the sentence, except for the daemon's own
            // failures, whose cause goes to the log only.
            assert_eq!(api.message == sentence, !internal, "{code}");
        }
        let e = ApiError::from(E::NodeNotFound("n1".into()));
        assert_eq!(
            e.message,
            "no node has id \"n1\"; list the nodes with GET /v0/nodes"
        );
        assert_eq!(
            ApiError::from(E::TooManyPending { pending: 3 }).retry_after,
            Some(60)
        );
    }
}
