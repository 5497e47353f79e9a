use axum::extract::State;
use axum::Json;

use crate::api::import::{ImportBatch, ImportReport, OnConflict};
use crate::daemon::error::{ApiError, ApiResult};
use crate::daemon::extract::{Admin, ImportBody};
use crate::daemon::import;
use crate::daemon::router::AppState;

fn parse(body: &[u8]) -> Result<ImportBatch<'_>, ApiError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let parsed = match first {
        Some(b'[') => serde_json::from_slice(body).map(|nodes| ImportBatch {
            nodes,
            dry_run: false,
            on_conflict: OnConflict::Skip,
            first_index: 0,
        }),
        _ => serde_json::from_slice(body),
    };
    parsed.map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => ApiError::bad_request(
                "invalid_body",
                format!(
                    "expected a JSON array of node records, or an object with a \"nodes\" \
                     array: {e}"
                ),
            ),
            _ => ApiError::bad_request(
                "invalid_json",
                format!("the request body is not valid JSON: {e}"),
            ),
        }
    })
}

/// `POST /v0/import/nodes`: the legacy file's array as is, or
/// `{"nodes": [...], "dry_run": bool, "on_conflict": "skip"|"overwrite"}`.
pub(crate) async fn import(
    State(state): State<AppState>,
    Admin(_, actor): Admin,
    ImportBody(body): ImportBody,
) -> ApiResult<Json<ImportReport>> {
    state
        .blocking(move |s| {
            let body = parse(&body)?;
            let dry_run = body.dry_run;
            let report = import::import(
                &s.registry,
                &body.nodes,
                body.first_index,
                body.on_conflict,
                dry_run,
                &actor,
            )?;
            tracing::info!(
                total = report.total,
                imported = report.imported,
                updated = report.updated,
                skipped = report.skipped,
                invalid = report.invalid.len(),
                dry_run,
                "legacy node import"
            );
            Ok(report)
        })
        .await
        .map(Json)
}
