use axum::extract::State;
use axum::Json;

use crate::api::nodes::{HeartbeatRequest, HeartbeatResponse};
use crate::daemon::error::{ApiError, ApiResult};
use crate::daemon::extract::{ApiJson, NodeToken};
use crate::daemon::registry::HeartbeatError;
use crate::daemon::router::AppState;
use crate::daemon::validate;

/// `POST /v0/health`: a heartbeat. The hot path: memory only, unless the node
/// uses a rotated token for the first time.
pub(crate) async fn heartbeat(
    State(state): State<AppState>,
    NodeToken(token): NodeToken,
    ApiJson(req): ApiJson<HeartbeatRequest>,
) -> ApiResult<Json<HeartbeatResponse>> {
    let req = validate::heartbeat(req, &state.field_limits)?;
    state.metrics.heartbeat();
    // Memory only, unless a token change must be committed first; then once
    // more. A rotation started meanwhile may ask again, so a few rounds.
    for _ in 0..4 {
        match state.registry.heartbeat(&token, &req) {
            Ok(r) => return Ok(Json(r)),
            Err(HeartbeatError::Refused(e)) => return Err(e.into()),
            Err(HeartbeatError::PromoteFirst) => {
                state
                    .blocking(move |s| Ok(s.registry.promote(&token)?))
                    .await?;
            }
            Err(HeartbeatError::DeliverFirst) => {
                state
                    .blocking(move |s| Ok(s.registry.mark_delivered(&token)?))
                    .await?;
            }
        }
    }
    Err(ApiError::internal(
        &"a heartbeat kept asking for a token change to be committed",
    ))
}
