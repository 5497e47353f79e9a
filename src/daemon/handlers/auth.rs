use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;

use crate::api::auth::{LoginRequest, LoginResponse};
use crate::daemon::error::{ApiError, ApiResult};
use crate::daemon::extract::{bearer, rate_limited, ApiJson, ClientIp};
use crate::daemon::router::AppState;

pub(crate) async fn login(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    rate_limited(&state.login_limit, source, "login")?;
    if req.username.is_empty() || req.password.is_empty() {
        return Err(ApiError::bad_request(
            "invalid_body",
            "username and password are required",
        ));
    }
    if req.username.len() > 256 || req.password.len() > 1024 {
        return Err(ApiError::bad_request(
            "invalid_body",
            "username or password is too long",
        ));
    }
    state.login_guard.check(&req.username, source)?;
    let slot = state.login_guard.slot().await?;
    // A lockout may have begun while this attempt waited for its slot.
    state.login_guard.check(&req.username, source)?;
    state
        .blocking(move |s| {
            s.auth
                .login(&s.login_guard, slot, source, &req.username, &req.password)
        })
        .await
        .map(Json)
}

pub(crate) async fn logout(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let token = bearer(&headers)?.to_string();
    state
        .blocking(move |s| s.auth.logout(&token, source))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
