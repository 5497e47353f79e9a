//! `llmlbctl audit`, mirroring `daemon/handlers/audit.rs`.

use chrono::Utc;

use super::args::{AuditArgs, CtlArgs, OutputFormat};
use super::connection::connect;
use super::error::CtlError;
use super::nodes::resolve_node;
use super::output::{self, stdout_color};
use super::{show, CmdResult};

pub(crate) async fn run(args: &CtlArgs, cmd: &AuditArgs) -> CmdResult {
    let client = connect(args, true)?;
    let now = Utc::now();
    let mut query = vec![("limit", cmd.limit.to_string())];
    if let Some(d) = cmd.since {
        let d = chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
        if let Some(since) = now.checked_sub_signed(d) {
            query.push((
                "since",
                since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ));
        }
    }
    if let Some(node) = &cmd.node {
        query.push(("target", resolve_node(&client, node).await?));
    }
    if let Some(a) = &cmd.action {
        query.push(("action", a.clone()));
    }
    let reply = client
        .audit(&query)
        .await
        .map_err(|e| CtlError::from_client(e, &client))?;
    let color = stdout_color() && args.output == OutputFormat::Table;
    show(args, &client, &reply, |entries| {
        output::audit(&entries, now, color)
    })
}
