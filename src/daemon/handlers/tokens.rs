use std::time::Duration;

use axum::extract::State;
use axum::Json;

use crate::api::nodes::{RevokeTokenResponse, RotateTokenRequest, RotateTokenResponse};
use crate::daemon::error::{ApiError, ApiResult};
use crate::daemon::extract::{Admin, Id, OptionalJson};
use crate::daemon::router::AppState;

/// Longest grace period a rotation may give the old token.
pub const MAX_GRACE: Duration = Duration::from_secs(30 * 86_400);

pub async fn rotate(
    State(state): State<AppState>,
    Admin(_, actor): Admin,
    Id(id): Id,
    OptionalJson(req): OptionalJson<RotateTokenRequest>,
) -> ApiResult<Json<RotateTokenResponse>> {
    let grace = req.grace_secs.map(Duration::from_secs);
    if grace.is_some_and(|g| g.is_zero() || g > MAX_GRACE) {
        return Err(ApiError::bad_request(
            "invalid_grace",
            "grace_secs must be from 1 to 2592000 (30 days); to cut a node off at once, \
             revoke its token instead",
        ));
    }
    state
        .blocking(move |s| Ok(s.registry.rotate(&id, grace, &actor)?))
        .await
        .map(Json)
}

pub async fn revoke(
    State(state): State<AppState>,
    Admin(_, actor): Admin,
    Id(id): Id,
) -> ApiResult<Json<RevokeTokenResponse>> {
    state
        .blocking(move |s| Ok(s.registry.revoke(&id, &actor)?))
        .await
        .map(Json)
}
