use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use crate::api::auth::{ApiKeyCreated, ApiKeyView, CreateApiKeyRequest};
use crate::daemon::error::ApiResult;
use crate::daemon::extract::{Admin, ApiJson, Id};
use crate::daemon::router::AppState;

pub(crate) async fn list(State(state): State<AppState>, _: Admin) -> Json<Vec<ApiKeyView>> {
    Json(state.auth.list_keys())
}

pub(crate) async fn create(
    State(state): State<AppState>,
    Admin(_, actor): Admin,
    ApiJson(req): ApiJson<CreateApiKeyRequest>,
) -> ApiResult<(StatusCode, Json<ApiKeyCreated>)> {
    let created = state
        .blocking(move |s| s.auth.create_key(&req, &actor))
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

pub(crate) async fn remove(
    State(state): State<AppState>,
    Admin(_, actor): Admin,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    state
        .blocking(move |s| s.auth.delete_key(&id, &actor))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn rotate(
    State(state): State<AppState>,
    Admin(_, actor): Admin,
    Id(id): Id,
) -> ApiResult<Json<ApiKeyCreated>> {
    state
        .blocking(move |s| s.auth.rotate_key(&id, &actor))
        .await
        .map(Json)
}
