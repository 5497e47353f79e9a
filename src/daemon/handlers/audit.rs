use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::api::audit::{AuditEntry, MAX_AUDIT_LIMIT};
use crate::daemon::error::{ApiError, ApiResult};
use crate::daemon::extract::{Admin, ApiQuery};
use crate::daemon::router::AppState;
use crate::store::audit::{self as audit_store, AuditQuery};

#[derive(Debug, Deserialize)]
pub(crate) struct Query {
    since: Option<String>,
    action: Option<String>,
    target: Option<String>,
    limit: Option<usize>,
}

/// `GET /v0/audit`: newest first.
pub(crate) async fn list(
    State(state): State<AppState>,
    _: Admin,
    ApiQuery(q): ApiQuery<Query>,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    let since = match q.since.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    ApiError::bad_request(
                        "invalid_query",
                        format!("since {s:?} is not an RFC 3339 time such as 2026-12-01T00:00:00Z"),
                    )
                })?,
        ),
    };
    let limit = q.limit.unwrap_or(100);
    if !(1..=MAX_AUDIT_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be from 1 to {MAX_AUDIT_LIMIT}"),
        ));
    }
    let query = AuditQuery {
        since,
        action: q.action.filter(|a| !a.is_empty()),
        target: q.target.filter(|t| !t.is_empty()),
        limit,
    };
    state
        .blocking(move |s| Ok(s.db.with_conn(|c| audit_store::query(c, &query))?))
        .await
        .map(Json)
}
