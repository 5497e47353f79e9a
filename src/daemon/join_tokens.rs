//! Join tokens in memory, mirrored from the `join_tokens` table.
//!
//! A registration that carries one is checked and its use counted under
//! the store lock, in the transaction that saves the node (see
//! [`super::registry::Registry::register`]), so a token with one use left
//! admits exactly one of any number of simultaneous registrations. Every
//! change here also runs under that lock ([`Db`]), after the database has
//! it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use parking_lot::RwLock;

use super::audit::Actor;
use super::clock::SharedClock;
use super::error::{ApiError, ApiResult};
use super::registry::RegistryError;
use super::validate::ValidJoinToken;
use crate::api::join_tokens::{JoinTokenCreated, JoinTokenView};
use crate::secret::{Secret, TokenHash, JOIN_TOKEN_PREFIX};
use crate::store::audit as audit_store;
use crate::store::join_tokens::{self as store, JoinTokenRow};
use crate::store::{Db, StoreError};

/// What a valid join token gives the node that registers with it.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub token_id: String,
    pub tags: Vec<String>,
    pub auto_approve: bool,
}

#[derive(Default)]
struct Inner {
    by_id: HashMap<String, JoinTokenRow>,
    by_hash: HashMap<TokenHash, String>,
}

pub(crate) struct JoinTokens {
    inner: RwLock<Inner>,
    db: Db,
    clock: SharedClock,
}

fn view(t: &JoinTokenRow) -> JoinTokenView {
    JoinTokenView {
        id: t.id.clone(),
        name: t.name.clone(),
        created_at: t.created_at,
        expires_at: t.expires_at,
        uses_left: t.uses_left,
        tags: t.tags.clone(),
        auto_approve: t.auto_approve,
        last_used_at: t.last_used_at,
    }
}

pub(crate) fn not_found(id: &str) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        "join_token_not_found",
        format!("no join token has id {id:?}; list them with GET /v0/join-tokens"),
    )
}

impl JoinTokens {
    pub(crate) fn load(db: Db, clock: SharedClock) -> Result<JoinTokens, StoreError> {
        let rows = db.with_conn(store::load_all)?;
        let mut inner = Inner::default();
        for t in rows {
            inner.by_hash.insert(t.hash, t.id.clone());
            inner.by_id.insert(t.id.clone(), t);
        }
        Ok(JoinTokens {
            inner: RwLock::new(inner),
            db,
            clock,
        })
    }

    pub(crate) fn list(&self) -> Vec<JoinTokenView> {
        let inner = self.inner.read();
        let mut out: Vec<JoinTokenView> = inner.by_id.values().map(view).collect();
        out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        out
    }

    pub(crate) fn create(
        &self,
        req: &ValidJoinToken,
        actor: &Actor,
    ) -> ApiResult<JoinTokenCreated> {
        let now = self.clock.now_utc();
        let secret = Secret::generate(JOIN_TOKEN_PREFIX);
        let row = JoinTokenRow {
            id: uuid::Uuid::new_v4().simple().to_string()[..16].to_string(),
            name: req.name.clone(),
            hash: secret.hash(),
            created_at: now,
            expires_at: req
                .ttl_secs
                .map(|s| now + chrono::Duration::seconds(s as i64)),
            uses_left: req.uses,
            tags: req.tags.clone(),
            auto_approve: req.auto_approve,
            last_used_at: None,
        };
        let audit = actor.ok(
            "join_token.create",
            &row.id,
            format!(
                "{}{}, {}{}",
                if row.name.is_empty() { "" } else { "name " },
                row.name,
                row.uses_left
                    .map_or("unlimited uses".into(), |u| format!("{u} use(s)")),
                if row.auto_approve {
                    ", auto-approve"
                } else {
                    ""
                }
            ),
        );
        self.db.transaction(|tx| {
            store::insert(tx, &row)?;
            audit_store::insert(tx, &audit)
        })?;
        let mut inner = self.inner.write();
        inner.by_hash.insert(row.hash, row.id.clone());
        inner.by_id.insert(row.id.clone(), row.clone());
        tracing::info!(
            join_token_id = %row.id,
            uses = ?row.uses_left,
            auto_approve = row.auto_approve,
            "join token created"
        );
        Ok(JoinTokenCreated {
            view: view(&row),
            token: secret.expose().to_string(),
        })
    }

    pub(crate) fn revoke(&self, id: &str, actor: &Actor) -> ApiResult<()> {
        let audit = actor.ok("join_token.revoke", id, "");
        let mut held = self.db.lock();
        held.transaction(|tx| -> ApiResult<()> {
            if !store::delete(tx, id)? {
                return Err(not_found(id));
            }
            audit_store::insert(tx, &audit)?;
            Ok(())
        })?;
        let mut inner = self.inner.write();
        if let Some(t) = inner.by_id.remove(id) {
            inner.by_hash.remove(&t.hash);
        }
        drop(inner);
        drop(held);
        tracing::info!(join_token_id = %id, "join token revoked");
        Ok(())
    }

    /// What a registration carrying the token with this hash may do at
    /// `now`. Call under the store lock (the registration does); a check
    /// without it is only a pre-check.
    pub(crate) fn grant(
        &self,
        hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Grant, RegistryError> {
        let inner = self.inner.read();
        let t = inner
            .by_hash
            .get(hash)
            .and_then(|id| inner.by_id.get(id))
            .filter(|t| t.hash.ct_eq(hash))
            .ok_or(RegistryError::JoinTokenInvalid)?;
        if t.expires_at.is_some_and(|e| e <= now) || t.uses_left == Some(0) {
            return Err(RegistryError::JoinTokenInvalid);
        }
        Ok(Grant {
            token_id: t.id.clone(),
            tags: t.tags.clone(),
            auto_approve: t.auto_approve,
        })
    }

    /// [`JoinTokens::grant`] at the time of the daemon's clock, as the
    /// pre-check before a registration's probe.
    pub(crate) fn grant_now(&self, hash: &TokenHash) -> Result<Grant, RegistryError> {
        self.grant(hash, self.clock.now_utc())
    }

    /// Counts a use in memory, after it was committed.
    pub(crate) fn used(&self, id: &str, at: DateTime<Utc>) {
        if let Some(t) = self.inner.write().by_id.get_mut(id) {
            t.uses_left = t.uses_left.map(|u| u.saturating_sub(1));
            t.last_used_at = Some(at);
        }
    }
}
