use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::api::import::{ImportReport, OnConflict};
use crate::daemon::error::{ApiError, ApiResult};
use crate::daemon::extract::{Admin, ImportBody};
use crate::daemon::import;
use crate::daemon::router::AppState;

/// The object form of the body. (serde's untagged enums cannot hold borrowed
/// `RawValue`s, so the two forms are told apart by their first character.)
#[derive(Deserialize)]
struct WithOptions<'a> {
    #[serde(borrow)]
    nodes: Vec<&'a RawValue>,
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    on_conflict: OnConflict,
    #[serde(default)]
    first_index: usize,
}

fn parse(body: &[u8]) -> Result<WithOptions<'_>, ApiError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let parsed = match first {
        Some(b'[') => serde_json::from_slice(body).map(|nodes| WithOptions {
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
pub async fn import(
    State(state): State<AppState>,
    _: Admin,
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
