use axum::extract::State;
use axum::Json;

use crate::api::nodes::{HeartbeatRequest, HeartbeatResponse};
use crate::daemon::error::{ApiError, ApiResult};
use crate::daemon::extract::{ApiJson, NodeToken};
use crate::daemon::registry::HeartbeatError;
use crate::daemon::router::AppState;

/// `POST /v0/health`: a heartbeat. The hot path: memory only, unless the node
/// uses a rotated token for the first time.
pub async fn heartbeat(
    State(state): State<AppState>,
    NodeToken(token): NodeToken,
    ApiJson(req): ApiJson<HeartbeatRequest>,
) -> ApiResult<Json<HeartbeatResponse>> {
    validate(&req)?;
    state.metrics.heartbeat();
    // Memory only, unless a token change must be committed first; then once
    // more. A rotation started meanwhile may ask again, so a few rounds.
    for _ in 0..4 {
        match state.registry.heartbeat(&token, &req) {
            Ok(r) => return Ok(Json(r)),
            Err(HeartbeatError::Api(e)) => return Err(e),
            Err(HeartbeatError::PromoteFirst) => {
                state.blocking(move |s| s.registry.promote(&token)).await?;
            }
            Err(HeartbeatError::DeliverFirst) => {
                state
                    .blocking(move |s| s.registry.mark_delivered(&token))
                    .await?;
            }
        }
    }
    Err(ApiError::internal(
        &"a heartbeat kept asking for a token change to be committed",
    ))
}

fn validate(req: &HeartbeatRequest) -> ApiResult<()> {
    if req.node_id.trim().is_empty() {
        return Err(ApiError::bad_request(
            "invalid_body",
            "node_id is required: the id the node got at registration",
        ));
    }
    let percents = [
        ("cpu_usage", Some(req.cpu_usage)),
        ("memory_usage", Some(req.memory_usage)),
        ("gpu_usage", req.gpu_usage),
        ("gpu_memory_usage", req.gpu_memory_usage),
    ];
    for (field, value) in percents {
        if let Some(v) = value {
            if !(0.0..=100.0).contains(&v) {
                return Err(ApiError::bad_request(
                    "invalid_metric",
                    format!("{field} must be a percentage from 0 to 100, not {v}"),
                ));
            }
        }
    }
    if req.average_response_time_ms.is_some_and(|v| v < 0.0) {
        return Err(ApiError::bad_request(
            "invalid_metric",
            "average_response_time_ms cannot be negative",
        ));
    }
    for (field, list) in [
        ("loaded_models", &req.loaded_models),
        ("loaded_embedding_models", &req.loaded_embedding_models),
    ] {
        if list.len() > 1024 || list.iter().any(|m| m.is_empty() || m.len() > 512) {
            return Err(ApiError::bad_request(
                "invalid_models",
                format!("{field} must hold at most 1024 model names of 1 to 512 bytes"),
            ));
        }
    }
    if let Some([ready, total]) = req.ready_models {
        if ready > total {
            return Err(ApiError::bad_request(
                "invalid_metric",
                format!("ready_models [{ready}, {total}] has more ready models than in total"),
            ));
        }
    }
    Ok(())
}
