//! Importing legacy node records: one importer behind the start-up import of
//! `<data-dir>/nodes.json` and `POST /v0/import/nodes`.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use serde_json::value::RawValue;

use super::audit::Actor;
use super::error::ApiResult;
use super::registry::Registry;
use crate::api::import::{ImportReport, InvalidRecord, OnConflict};
use crate::legacy;

/// Name of the legacy file looked for in the data dir at start-up.
pub(crate) const LEGACY_FILE: &str = "nodes.json";

/// Imports records in one transaction. Idempotent by node id: with
/// [`OnConflict::Skip`] a second run changes nothing.
pub(crate) fn import(
    registry: &Registry,
    records: &[&RawValue],
    first_index: usize,
    on_conflict: OnConflict,
    dry_run: bool,
    actor: &Actor,
) -> ApiResult<ImportReport> {
    let now = registry.clock().now_utc();
    let mut report = ImportReport {
        dry_run,
        total: records.len(),
        ..ImportReport::default()
    };
    let mut valid = Vec::with_capacity(records.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, raw) in records.iter().enumerate() {
        let index = first_index + i;
        match legacy::convert(raw, now) {
            Ok(rec) => {
                if let Some(first) = seen.insert(rec.id.clone(), index) {
                    report.invalid.push(InvalidRecord {
                        index,
                        id: Some(rec.id),
                        reason: format!("duplicate id: record {first} has the same id"),
                    });
                } else {
                    valid.push(rec);
                }
            }
            Err(reason) => report.invalid.push(InvalidRecord {
                index,
                id: legacy::record_id(raw),
                reason,
            }),
        }
    }
    let (mut imported, mut updated, mut skipped) = (0, 0, 0);
    registry.import_records(
        valid,
        |_, exists| match (exists, on_conflict) {
            (false, _) => {
                imported += 1;
                true
            }
            (true, OnConflict::Overwrite) => {
                updated += 1;
                true
            }
            (true, OnConflict::Skip) => {
                skipped += 1;
                false
            }
        },
        dry_run,
        actor,
    )?;
    report.imported = imported;
    report.updated = updated;
    report.skipped = skipped;
    Ok(report)
}

/// Imports `<data-dir>/nodes.json` if it is there, then renames it to
/// `nodes.json.migrated`. Refuses (an error, so the daemon does not start)
/// when the file cannot be read as a whole or holds an invalid record;
/// nothing is written then.
pub(crate) fn import_legacy_file(registry: &Registry, data_dir: &Path) -> anyhow::Result<()> {
    let path = data_dir.join(LEGACY_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(e).with_context(|| {
                format!(
                    "cannot read the legacy node file {}; fix its permissions or move it away",
                    path.display()
                )
            })
        }
    };
    // Editors on some systems save a byte-order mark; JSON has no use for it.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let records = legacy::split_records(text).map_err(|e| {
        anyhow::anyhow!(
            "{}:{}:{}: the legacy node file is not valid JSON: {}; nothing was imported. \
             Fix the file (or move it out of the data dir) and start again",
            path.display(),
            e.line,
            e.column,
            e.message
        )
    })?;
    // Check every record first, duplicates included, with a dry run of the
    // same importer: an invalid record must stop the start before anything
    // is written, not after the valid ones were committed.
    let fail = |e: super::error::ApiError| {
        anyhow::anyhow!("importing {} failed: {}", path.display(), e.message)
    };
    let check = import(
        registry,
        &records,
        0,
        OnConflict::Skip,
        true,
        &Actor::daemon(),
    )
    .map_err(fail)?;
    if let Some(bad) = check.invalid.first() {
        let (line, column) = legacy::position_of(text, records[bad.index]);
        anyhow::bail!(
            "{}:{line}:{column}: invalid node record: {}; nothing was imported. Fix the \
             record, or import the file with `llmlbctl migrate-json`, which reports invalid \
             records and imports the rest",
            path.display(),
            bad.reason
        );
    }
    let report = import(
        registry,
        &records,
        0,
        OnConflict::Skip,
        false,
        &Actor::daemon(),
    )
    .map_err(fail)?;
    debug_assert!(
        report.invalid.is_empty(),
        "the dry run found no invalid record"
    );
    let target = legacy::migrated_name(&path);
    std::fs::rename(&path, &target).with_context(|| {
        format!(
            "imported {} but could not rename it to {}; rename it by hand so it is not \
             imported again",
            path.display(),
            target.display()
        )
    })?;
    tracing::info!(
        file = %path.display(),
        renamed_to = %target.display(),
        imported = report.imported,
        skipped = report.skipped,
        "imported legacy nodes"
    );
    Ok(())
}
