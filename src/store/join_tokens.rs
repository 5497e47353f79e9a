//! The `join_tokens` table. Only hashes of the secrets are stored.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};

use super::{opt_ts, read_req_ts, read_ts, ts, Result, StoreError, UNREADABLE_TS};
use crate::secret::TokenHash;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JoinTokenRow {
    pub id: String,
    pub name: String,
    pub hash: TokenHash,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub uses_left: Option<u64>,
    pub tags: Vec<String>,
    pub auto_approve: bool,
    pub last_used_at: Option<DateTime<Utc>>,
}

pub(crate) fn insert(conn: &Connection, t: &JoinTokenRow) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO join_tokens (id, name, token_hash, created_at, expires_at, uses_left, tags, \
         auto_approve, last_used_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        t.id,
        t.name,
        &t.hash.0[..],
        ts(t.created_at),
        opt_ts(t.expires_at),
        t.uses_left.map(|u| u as i64),
        serde_json::to_string(&t.tags).expect("strings serialize"),
        t.auto_approve,
        opt_ts(t.last_used_at),
    ])?;
    Ok(())
}

/// Removes a token; returns whether it was there.
pub(crate) fn delete(conn: &Connection, id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM join_tokens WHERE id = ?1")?
        .execute([id])?
        == 1)
}

/// Counts one use: the token must still have one left. Returns whether it
/// did (callers hold the store lock, so this cannot race another use).
pub(crate) fn use_once(conn: &Connection, id: &str, at: DateTime<Utc>) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "UPDATE join_tokens SET uses_left = CASE WHEN uses_left IS NULL THEN NULL \
             ELSE uses_left - 1 END, last_used_at = ?2 \
             WHERE id = ?1 AND (uses_left IS NULL OR uses_left > 0)",
        )?
        .execute(params![id, ts(at)])?
        == 1)
}

pub(crate) fn load_all(conn: &Connection) -> Result<Vec<JoinTokenRow>> {
    let mut stmt = conn.prepare(
        "SELECT id, name, token_hash, created_at, expires_at, uses_left, tags, auto_approve, \
         last_used_at FROM join_tokens ORDER BY created_at, id",
    )?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let hash: Vec<u8> = r.get(2)?;
        let tags: String = r.get(6)?;
        let uses: Option<i64> = r.get(5)?;
        out.push(JoinTokenRow {
            name: r.get(1)?,
            hash: TokenHash::from_slice(&hash).ok_or_else(|| StoreError::Corrupt {
                table: "join_tokens",
                column: "token_hash",
                value: format!("{} bytes", hash.len()),
            })?,
            created_at: read_req_ts("join_tokens", "created_at", &id, r.get(3)?),
            // Unreadable: expired, the safe reading for a credential.
            expires_at: read_ts(
                "join_tokens",
                "expires_at",
                &id,
                r.get(4)?,
                Some(UNREADABLE_TS),
            ),
            uses_left: uses.map(|u| u.max(0) as u64),
            tags: serde_json::from_str(&tags).unwrap_or_default(),
            auto_approve: r.get(7)?,
            last_used_at: read_ts("join_tokens", "last_used_at", &id, r.get(8)?, None),
            id,
        });
    }
    Ok(out)
}
