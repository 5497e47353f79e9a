use axum::extract::State;
use axum::Json;

use crate::api::nodes::{RevokeTokenResponse, RotateTokenRequest, RotateTokenResponse};
use crate::daemon::error::ApiResult;
use crate::daemon::extract::{Admin, Id, OptionalJson};
use crate::daemon::router::AppState;
use crate::daemon::validate;
/// Longest grace period a rotation may give the old token (`--token-grace`
/// is held to it too).
pub(crate) use crate::daemon::validate::MAX_GRACE;

pub(crate) async fn rotate(
    State(state): State<AppState>,
    Admin(_, actor): Admin,
    Id(id): Id,
    OptionalJson(req): OptionalJson<RotateTokenRequest>,
) -> ApiResult<Json<RotateTokenResponse>> {
    let grace = validate::rotation(&req)?;
    state
        .blocking(move |s| Ok(s.registry.rotate(&id, grace, &actor)?))
        .await
        .map(Json)
}

pub(crate) async fn revoke(
    State(state): State<AppState>,
    Admin(_, actor): Admin,
    Id(id): Id,
) -> ApiResult<Json<RevokeTokenResponse>> {
    state
        .blocking(move |s| Ok(s.registry.revoke(&id, &actor)?))
        .await
        .map(Json)
}
