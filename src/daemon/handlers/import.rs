use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::api::import::{ImportReport, OnConflict};
use crate::daemon::error::{ApiError, ApiResult};
use crate::daemon::extract::{Admin, RawBody};
use crate::daemon::import;
use crate::daemon::router::AppState;

#[derive(Deserialize)]
#[serde(untagged)]
enum Body<'a> {
    #[serde(borrow)]
    Records(Vec<&'a RawValue>),
    WithOptions {
        #[serde(borrow)]
        nodes: Vec<&'a RawValue>,
        #[serde(default)]
        dry_run: bool,
        #[serde(default)]
        on_conflict: OnConflict,
        #[serde(default)]
        first_index: usize,
    },
}

/// `POST /v0/import/nodes`: the legacy file's array as is, or
/// `{"nodes": [...], "dry_run": bool, "on_conflict": "skip"|"overwrite"}`.
pub async fn import(
    State(state): State<AppState>,
    _: Admin,
    RawBody(body): RawBody,
) -> ApiResult<Json<ImportReport>> {
    state
        .blocking(move |s| {
            let parsed: Body<'_> = match serde_json::from_slice(&body) {
                Ok(b) => b,
                Err(e) => {
                    // Tell malformed JSON from a document of the wrong shape.
                    return Err(match serde_json::from_slice::<serde::de::IgnoredAny>(&body) {
                        Err(e) => ApiError::bad_request(
                            "invalid_json",
                            format!("the request body is not valid JSON: {e}"),
                        ),
                        Ok(_) => ApiError::bad_request(
                            "invalid_body",
                            format!(
                                "expected a JSON array of node records, or an object with a \
                                 \"nodes\" array ({e})"
                            ),
                        ),
                    });
                }
            };
            let (records, dry_run, on_conflict, first_index) = match parsed {
                Body::Records(r) => (r, false, OnConflict::Skip, 0),
                Body::WithOptions {
                    nodes,
                    dry_run,
                    on_conflict,
                    first_index,
                } => (nodes, dry_run, on_conflict, first_index),
            };
            let report = import::import(&s.registry, &records, first_index, on_conflict, dry_run)?;
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
