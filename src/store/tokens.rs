//! The `runtime_tokens` table: a node's current token and, during a rotation,
//! its successor. Only hashes are stored.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};

use super::{opt_ts, read_req_ts, read_ts, ts, Result, StoreError, UNREADABLE_TS};
use crate::secret::TokenHash;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    Current,
    Next,
}

impl TokenKind {
    fn as_str(self) -> &'static str {
        match self {
            TokenKind::Current => "current",
            TokenKind::Next => "next",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct TokenRow {
    pub node_id: String,
    pub kind: TokenKind,
    pub hash: TokenHash,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// A successor that went out in a heartbeat reply (the node may hold
    /// it). Always false for current tokens.
    pub delivered: bool,
}

pub(crate) fn insert(conn: &Connection, row: &TokenRow) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO runtime_tokens (node_id, kind, token_hash, created_at, expires_at, \
         delivered_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT(node_id, kind) DO UPDATE SET token_hash = excluded.token_hash, \
         created_at = excluded.created_at, expires_at = excluded.expires_at, \
         delivered_at = excluded.delivered_at",
    )?
    .execute(params![
        row.node_id,
        row.kind.as_str(),
        &row.hash.0[..],
        ts(row.created_at),
        opt_ts(row.expires_at),
        row.delivered.then(|| ts(row.created_at)),
    ])?;
    Ok(())
}

/// Removes every token of a node; returns how many there were.
pub(crate) fn delete_for_node(conn: &Connection, node_id: &str) -> Result<usize> {
    Ok(conn
        .prepare_cached("DELETE FROM runtime_tokens WHERE node_id = ?1")?
        .execute([node_id])?)
}

/// Sets when the current token stops working (start of a rotation).
pub(crate) fn set_current_expiry(
    conn: &Connection,
    node_id: &str,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE runtime_tokens SET expires_at = ?2 WHERE node_id = ?1 AND kind = 'current'",
    )?
    .execute(params![node_id, ts(expires_at)])?;
    Ok(())
}

/// Records that the successor token `hash` of a node went out in a reply.
/// Returns whether that successor is still the node's.
pub(crate) fn mark_delivered(
    conn: &Connection,
    node_id: &str,
    hash: &TokenHash,
    at: DateTime<Utc>,
) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "UPDATE runtime_tokens SET delivered_at = ?3 \
             WHERE node_id = ?1 AND kind = 'next' AND token_hash = ?2",
        )?
        .execute(params![node_id, &hash.0[..], ts(at)])?
        == 1)
}

/// Ends a rotation: the old token is deleted and the successor becomes the
/// current token.
pub(crate) fn promote_next(conn: &Connection, node_id: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM runtime_tokens WHERE node_id = ?1 AND kind = 'current'")?
        .execute([node_id])?;
    conn.prepare_cached(
        "UPDATE runtime_tokens SET kind = 'current', expires_at = NULL, delivered_at = NULL \
         WHERE node_id = ?1 AND kind = 'next'",
    )?
    .execute([node_id])?;
    Ok(())
}

pub(crate) fn load_all(conn: &Connection) -> Result<Vec<TokenRow>> {
    let mut stmt = conn.prepare(
        "SELECT node_id, kind, token_hash, created_at, expires_at, delivered_at IS NOT NULL \
             FROM runtime_tokens",
    )?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let kind: String = r.get(1)?;
        let hash: Vec<u8> = r.get(2)?;
        let corrupt = |column, value: String| StoreError::Corrupt {
            table: "runtime_tokens",
            column,
            value,
        };
        let node_id: String = r.get(0)?;
        let row = format!("{node_id}/{kind}");
        out.push(TokenRow {
            kind: match kind.as_str() {
                "current" => TokenKind::Current,
                "next" => TokenKind::Next,
                _ => return Err(corrupt("kind", kind)),
            },
            hash: TokenHash::from_slice(&hash)
                .ok_or_else(|| corrupt("token_hash", format!("{} bytes", hash.len())))?,
            // Unreadable: as old as can be (due for rotation), and expired
            // (a rotation under way ends at the next sweep).
            created_at: read_req_ts("runtime_tokens", "created_at", &row, r.get(3)?),
            expires_at: read_ts(
                "runtime_tokens",
                "expires_at",
                &row,
                r.get(4)?,
                Some(UNREADABLE_TS),
            ),
            delivered: r.get(5)?,
            node_id,
        });
    }
    Ok(out)
}
