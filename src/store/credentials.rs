//! `users`, `api_keys` and `sessions`. Secrets are stored as SHA-256 hashes,
//! passwords as argon2 PHC strings.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::{opt_ts, read_req_ts, read_ts, ts, Result, StoreError, UNREADABLE_TS};
use crate::api::auth::Role;
use crate::secret::TokenHash;

#[derive(Debug, Clone)]
pub(crate) struct UserRow {
    pub id: String,
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub(crate) struct ApiKeyRow {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub hash: TokenHash,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub(crate) struct SessionRow {
    pub id: String,
    pub user_id: String,
    pub hash: TokenHash,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

fn role(table: &'static str, s: String) -> Result<Role> {
    Role::parse(&s).ok_or(StoreError::Corrupt {
        table,
        column: "role",
        value: s,
    })
}

fn hash(table: &'static str, bytes: Vec<u8>) -> Result<TokenHash> {
    TokenHash::from_slice(&bytes).ok_or(StoreError::Corrupt {
        table,
        column: "hash",
        value: format!("{} bytes", bytes.len()),
    })
}

pub(crate) fn count_users(conn: &Connection) -> Result<u64> {
    Ok(conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?)
}

pub(crate) fn insert_user(conn: &Connection, u: &UserRow) -> Result<()> {
    conn.execute(
        "INSERT INTO users (id, username, password_hash, role, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            u.id,
            u.username,
            u.password_hash,
            u.role.as_str(),
            ts(u.created_at)
        ],
    )?;
    Ok(())
}

pub(crate) fn user_by_name(conn: &Connection, username: &str) -> Result<Option<UserRow>> {
    let raw = conn
        .prepare_cached(
            "SELECT id, username, password_hash, role, created_at FROM users WHERE username = ?1",
        )?
        .query_row([username], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })
        .optional()?;
    raw.map(|(id, username, password_hash, r, created)| {
        Ok(UserRow {
            username,
            password_hash,
            role: role("users", r)?,
            created_at: read_req_ts("users", "created_at", &id, created),
            id,
        })
    })
    .transpose()
}

pub(crate) fn all_users(conn: &Connection) -> Result<Vec<(String, String, Role)>> {
    let mut stmt = conn.prepare("SELECT id, username, role FROM users")?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(id, name, r)| Ok((id, name, role("users", r)?)))
        .collect()
}

pub(crate) fn insert_api_key(conn: &Connection, k: &ApiKeyRow) -> Result<()> {
    conn.execute(
        "INSERT INTO api_keys (id, name, role, key_hash, created_at, expires_at, last_used_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            k.id,
            k.name,
            k.role.as_str(),
            &k.hash.0[..],
            ts(k.created_at),
            opt_ts(k.expires_at),
            opt_ts(k.last_used_at),
        ],
    )?;
    Ok(())
}

/// Replaces the secret of a key (rotation); returns whether it existed.
pub(crate) fn rotate_api_key(
    conn: &Connection,
    id: &str,
    hash: TokenHash,
    created_at: DateTime<Utc>,
) -> Result<bool> {
    Ok(conn.execute(
        "UPDATE api_keys SET key_hash = ?2, created_at = ?3, last_used_at = NULL WHERE id = ?1",
        params![id, &hash.0[..], ts(created_at)],
    )? > 0)
}

pub(crate) fn delete_api_key(conn: &Connection, id: &str) -> Result<bool> {
    Ok(conn.execute("DELETE FROM api_keys WHERE id = ?1", [id])? > 0)
}

pub(crate) fn touch_api_keys(conn: &Connection, used: &[(String, DateTime<Utc>)]) -> Result<()> {
    let mut stmt = conn.prepare_cached("UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1")?;
    for (id, at) in used {
        stmt.execute(params![id, ts(*at)])?;
    }
    Ok(())
}

pub(crate) fn all_api_keys(conn: &Connection) -> Result<Vec<ApiKeyRow>> {
    let mut stmt = conn.prepare(
        "SELECT id, name, role, key_hash, created_at, expires_at, last_used_at FROM api_keys \
         ORDER BY created_at, id",
    )?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        const T: &str = "api_keys";
        let id: String = r.get(0)?;
        out.push(ApiKeyRow {
            name: r.get(1)?,
            role: role(T, r.get(2)?)?,
            hash: hash(T, r.get(3)?)?,
            created_at: read_req_ts(T, "created_at", &id, r.get(4)?),
            // An expiry that cannot be read has passed: the key is refused.
            expires_at: read_ts(T, "expires_at", &id, r.get(5)?, Some(UNREADABLE_TS)),
            last_used_at: read_ts(T, "last_used_at", &id, r.get(6)?, None),
            id,
        });
    }
    Ok(out)
}

pub(crate) fn insert_session(conn: &Connection, s: &SessionRow) -> Result<()> {
    conn.execute(
        "INSERT INTO sessions (id, user_id, token_hash, created_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            s.id,
            s.user_id,
            &s.hash.0[..],
            ts(s.created_at),
            ts(s.expires_at)
        ],
    )?;
    Ok(())
}

pub(crate) fn delete_session(conn: &Connection, id: &str) -> Result<bool> {
    Ok(conn.execute("DELETE FROM sessions WHERE id = ?1", [id])? > 0)
}

pub(crate) fn delete_expired_sessions(conn: &Connection, now: DateTime<Utc>) -> Result<usize> {
    Ok(conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", [ts(now)])?)
}

pub(crate) fn all_sessions(conn: &Connection) -> Result<Vec<SessionRow>> {
    let mut stmt =
        conn.prepare("SELECT id, user_id, token_hash, created_at, expires_at FROM sessions")?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        const T: &str = "sessions";
        let id: String = r.get(0)?;
        out.push(SessionRow {
            user_id: r.get(1)?,
            hash: hash(T, r.get(2)?)?,
            created_at: read_req_ts(T, "created_at", &id, r.get(3)?),
            expires_at: read_req_ts(T, "expires_at", &id, r.get(4)?),
            id,
        });
    }
    Ok(out)
}
