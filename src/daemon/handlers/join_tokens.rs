use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use crate::api::join_tokens::{CreateJoinTokenRequest, JoinTokenCreated, JoinTokenView};
use crate::daemon::error::ApiResult;
use crate::daemon::extract::{Admin, ApiJson, Id};
use crate::daemon::router::AppState;
use crate::daemon::validate;

pub(crate) async fn list(State(state): State<AppState>, _: Admin) -> Json<Vec<JoinTokenView>> {
    Json(state.join_tokens.list())
}

pub(crate) async fn create(
    State(state): State<AppState>,
    Admin(_, actor): Admin,
    ApiJson(req): ApiJson<CreateJoinTokenRequest>,
) -> ApiResult<(StatusCode, Json<JoinTokenCreated>)> {
    let req = validate::join_token(req, &state.field_limits)?;
    let created = state
        .blocking(move |s| s.join_tokens.create(&req, &actor))
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

pub(crate) async fn remove(
    State(state): State<AppState>,
    Admin(_, actor): Admin,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    state
        .blocking(move |s| s.join_tokens.revoke(&id, &actor))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
