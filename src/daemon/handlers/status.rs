use axum::extract::State;
use axum::Json;

use crate::api::status::StatusResponse;
use crate::daemon::router::AppState;

/// `GET /v0/status`: public; version, uptime and node counts only.
pub(crate) async fn status(State(state): State<AppState>) -> Json<StatusResponse> {
    let cfg = state.registry.config();
    Json(StatusResponse {
        version: env!("CARGO_PKG_VERSION").to_string(),
        uptime_secs: state.started.elapsed().as_secs(),
        started_at: state.started_at,
        heartbeat_interval_secs: cfg.heartbeat_interval.as_secs(),
        node_timeout_secs: cfg.node_timeout.as_secs(),
        nodes: state.registry.counts(),
        tls_fingerprint: state.tls.as_ref().map(|t| t.fingerprint()),
    })
}
