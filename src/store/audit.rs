//! The `audit_log` table.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};

use super::{read_req_ts, ts, Result};
use crate::api::audit::AuditEntry;

/// A row to write; `id` is given by the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuditRow {
    pub at: DateTime<Utc>,
    pub actor_kind: &'static str,
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    pub source: Option<String>,
    pub action: &'static str,
    pub target: Option<String>,
    pub outcome: &'static str,
    pub detail: String,
}

pub(crate) fn insert(conn: &Connection, r: &AuditRow) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit_log (at, actor_kind, actor_id, actor_name, source, action, target, \
         outcome, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        ts(r.at),
        r.actor_kind,
        r.actor_id,
        r.actor_name,
        r.source,
        r.action,
        r.target,
        r.outcome,
        r.detail,
    ])?;
    Ok(())
}

/// What to read: newest first.
#[derive(Debug, Clone, Default)]
pub(crate) struct AuditQuery {
    pub since: Option<DateTime<Utc>>,
    /// An action (`node.approve`) or a group (`node` for every `node.*`).
    pub action: Option<String>,
    pub target: Option<String>,
    pub limit: usize,
}

pub(crate) fn query(conn: &Connection, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
    let group = q.action.as_ref().map(|a| format!("{a}.%"));
    let mut stmt = conn.prepare_cached(
        "SELECT id, at, actor_kind, actor_id, actor_name, source, action, target, outcome, \
         detail FROM audit_log \
         WHERE (?1 IS NULL OR at >= ?1) \
           AND (?2 IS NULL OR action = ?2 OR action LIKE ?3) \
           AND (?4 IS NULL OR target = ?4) \
         ORDER BY id DESC LIMIT ?5",
    )?;
    let mut rows = stmt.query(params![
        q.since.map(ts),
        q.action,
        group,
        q.target,
        q.limit as i64
    ])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        out.push(AuditEntry {
            at: read_req_ts("audit_log", "at", &id.to_string(), r.get(1)?),
            actor_kind: r.get(2)?,
            actor_id: r.get(3)?,
            actor_name: r.get(4)?,
            source: r.get(5)?,
            action: r.get(6)?,
            target: r.get(7)?,
            outcome: r.get(8)?,
            detail: r.get(9)?,
            id,
        });
    }
    Ok(out)
}

/// Removes rows older than `before`; returns how many.
pub(crate) fn prune(conn: &Connection, before: DateTime<Utc>) -> Result<usize> {
    Ok(conn
        .prepare_cached("DELETE FROM audit_log WHERE at < ?1")?
        .execute([ts(before)])?)
}
