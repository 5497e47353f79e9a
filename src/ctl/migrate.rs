//! `llmlbctl migrate-json FILE`: parse locally, send in batches to
//! `POST /v0/import/nodes`, show progress and a summary.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use super::args::{CtlArgs, MigrateArgs, OutputFormat};
use super::connection::connect;
use super::error::CtlError;
use super::output;
use super::CmdResult;
use crate::api::import::ImportReport;
use crate::legacy;

pub(crate) async fn run(args: &CtlArgs, cmd: &MigrateArgs) -> CmdResult {
    let path = &cmd.file;
    let text = std::fs::read_to_string(path)
        .map_err(|e| CtlError::new(format!("cannot read {}: {e}", path.display())))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let records = legacy::split_records(text).map_err(|e| {
        CtlError::new(format!(
            "{}:{}:{}: not a valid nodes.json: {}",
            path.display(),
            e.line,
            e.column,
            e.message
        ))
        .with_hint("fix the file; nothing was sent to the daemon")
    })?;
    let client = connect(args, true)?;
    let show_progress = args.output == OutputFormat::Table
        && std::io::stderr().is_terminal()
        && records.len() > cmd.batch_size as usize;
    let bar = if show_progress {
        let bar = ProgressBar::new(records.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} records {msg}")
                .expect("a valid template"),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut total = ImportReport {
        dry_run: cmd.dry_run,
        total: records.len(),
        ..ImportReport::default()
    };
    for (n, batch) in records.chunks(cmd.batch_size as usize).enumerate() {
        let first = n * cmd.batch_size as usize;
        let r = client
            .import(batch, first, cmd.dry_run, cmd.on_conflict.into())
            .await
            .and_then(|r| r.decode())
            .map_err(|e| {
                bar.abandon();
                let done = if cmd.dry_run || first == 0 {
                    String::new()
                } else {
                    format!(" (records before {first} were imported; a second run skips them)")
                };
                let mut err = CtlError::from_client(e, &client);
                err.message.push_str(&done);
                err
            })?;
        total.imported += r.imported;
        total.updated += r.updated;
        total.skipped += r.skipped;
        total.invalid.extend(r.invalid);
        bar.inc(batch.len() as u64);
    }
    bar.finish_and_clear();

    let renamed = if cmd.dry_run || cmd.keep || !total.invalid.is_empty() {
        None
    } else {
        let target = legacy::migrated_name(path);
        std::fs::rename(path, &target).map_err(|e| {
            CtlError::new(format!(
                "imported, but cannot rename {} to {}: {e}",
                path.display(),
                target.display()
            ))
        })?;
        Some(target)
    };
    match args.output {
        OutputFormat::Json => {
            let mut v = serde_json::to_value(&total).expect("serializes");
            v["renamed_to"] = serde_json::json!(renamed);
            println!("{}", serde_json::to_string_pretty(&v).expect("serializes"));
        }
        OutputFormat::Table => {
            let position = |i: usize| {
                records
                    .get(i)
                    .map(|r| {
                        let (l, c) = legacy::position_of(text, r);
                        format!("{l}:{c}")
                    })
                    .unwrap_or_else(|| "-".into())
            };
            print!(
                "{}",
                output::import_summary(&total, position, output::stdout_color())
            );
            if let Some(t) = &renamed {
                println!("\nrenamed {} to {}", path.display(), t.display());
            }
        }
    }
    if !total.invalid.is_empty() {
        let what = if cmd.dry_run { "would be" } else { "were" };
        return Err(CtlError::new(format!(
            "{} record(s) are invalid and {what} not imported; {} was kept",
            total.invalid.len(),
            path.display()
        ))
        .with_hint(
            "fix the records listed above and run again; records already imported are skipped",
        ));
    }
    Ok(())
}
