//! The runtime token lifecycle: rotation (by an admin, or by age in the
//! sweep), delivery of the successor in a heartbeat reply, promotion when
//! the node first uses it, the end of the grace period, revocation, and
//! what survives a restart.
//!
//! Each change is committed under the store lock before memory changes, so
//! a token is never handed out, or taken away, without the database
//! knowing.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::fleet::{Fleet, LiveNode, Rotation, TokenInfo};
use super::{Registry, RegistryError};
use crate::api::nodes::{RevokeTokenResponse, RotateTokenResponse};
use crate::daemon::audit::Actor;
use crate::daemon::clock::Clock;
use crate::secret::{Secret, TokenHash, RUNTIME_TOKEN_PREFIX};
use crate::store::audit as audit_store;
use crate::store::nodes as node_store;
use crate::store::tokens::{self as token_store, TokenKind, TokenRow};
use crate::store::{Store, StoreError};

/// The fleet as the database holds it. A rotation that was under way when
/// the daemon stopped keeps its deadline; its successor is kept when it had
/// gone out (the node may hold it), and replaced by a fresh one otherwise
/// (only its hash was stored, so it could never be handed out).
pub(super) fn restore(store: &mut Store, clock: &dyn Clock) -> Result<Fleet, StoreError> {
    let records = node_store::load_all(store.conn())?;
    let tokens = token_store::load_all(store.conn())?;
    // Registration order: nodes that share a machine name and runtime
    // port are kept oldest first.
    let order: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
    let mut nodes: HashMap<String, LiveNode> = records
        .into_iter()
        .map(|r| (r.id.clone(), LiveNode::new(r)))
        .collect();
    let now = clock.now_instant();
    let wall = clock.now_utc();
    let mut reminted = Vec::new();
    let expiries: HashMap<String, _> = tokens
        .iter()
        .filter(|t| t.kind == TokenKind::Current)
        .map(|t| (t.node_id.clone(), t.expires_at))
        .collect();
    for t in tokens {
        let Some(live) = nodes.get_mut(&t.node_id) else {
            continue;
        };
        if t.kind == TokenKind::Current {
            live.token = Some(TokenInfo {
                hash: t.hash,
                created_at: t.created_at,
            });
            continue;
        }
        let expires_at = expiries.get(&t.node_id).copied().flatten().unwrap_or(wall);
        let deadline = now + (expires_at - wall).to_std().unwrap_or_default();
        let (next, next_hash) = if t.delivered {
            // The node may hold it: keep accepting it.
            (None, t.hash)
        } else {
            // Nobody ever saw it: a fresh one takes its place.
            let next = Secret::generate(RUNTIME_TOKEN_PREFIX);
            let hash = next.hash();
            reminted.push(TokenRow {
                node_id: t.node_id.clone(),
                kind: TokenKind::Next,
                hash,
                created_at: wall,
                expires_at: None,
                delivered: false,
            });
            (Some(next), hash)
        };
        live.rotation = Some(Rotation {
            next,
            next_hash,
            started_at: t.created_at,
            deadline,
            delivered: t.delivered,
        });
    }
    store.transaction(|tx| {
        for row in &reminted {
            token_store::insert(tx, row)?;
        }
        Ok::<_, StoreError>(())
    })?;
    let mut fleet = Fleet::default();
    for id in order {
        if let Some(live) = nodes.remove(&id) {
            fleet.insert(live);
        }
    }
    Ok(fleet)
}

impl Registry {
    /// Completes a rotation because the node used its successor token: the
    /// old token dies at once. Does nothing if that already happened.
    pub(crate) fn promote(&self, token: &TokenHash) -> Result<(), RegistryError> {
        let mut store = self.db.lock();
        let node_id = match self.fleet.read().tokens.get(token) {
            Some((id, TokenKind::Next)) => id.clone(),
            Some(_) => return Ok(()),
            None => return Err(RegistryError::InvalidNodeToken),
        };
        store.transaction(|tx| token_store::promote_next(tx, &node_id))?;
        complete_rotation(&mut self.fleet.write(), &node_id);
        tracing::info!(node_id, "node picked up its rotated runtime token");
        Ok(())
    }

    /// Commits that the successor token of the node that `token` (its
    /// current one) belongs to goes out in a reply, before that reply is
    /// sent: from then on a restart keeps accepting it.
    pub(crate) fn mark_delivered(&self, token: &TokenHash) -> Result<(), RegistryError> {
        let mut store = self.db.lock();
        let (node_id, next_hash) = {
            let fleet = self.fleet.read();
            let Some((n, _)) = fleet.by_token(token) else {
                return Err(RegistryError::InvalidNodeToken);
            };
            match &n.rotation {
                Some(r) if !r.delivered => (n.rec.id.clone(), r.next_hash),
                _ => return Ok(()),
            }
        };
        let wall = self.clock.now_utc();
        let found =
            store.transaction(|tx| token_store::mark_delivered(tx, &node_id, &next_hash, wall))?;
        if found {
            let mut fleet = self.fleet.write();
            if let Some(r) = fleet
                .nodes
                .get_mut(&node_id)
                .and_then(|n| n.rotation.as_mut())
                .filter(|r| r.next_hash == next_hash)
            {
                r.delivered = true;
            }
        }
        Ok(())
    }

    /// Starts a rotation: a successor token is handed to the node in its next
    /// heartbeat reply; the current one works until the node uses the
    /// successor or `grace` runs out.
    pub(crate) fn rotate(
        &self,
        id: &str,
        grace: Option<Duration>,
        actor: &Actor,
    ) -> Result<RotateTokenResponse, RegistryError> {
        let grace = grace.unwrap_or(self.cfg.default_grace);
        let mut store = self.db.lock();
        self.rotate_locked(&mut store, id, grace, actor, "token.rotate")
    }

    fn rotate_locked(
        &self,
        store: &mut Store,
        id: &str,
        grace: Duration,
        actor: &Actor,
        action: &'static str,
    ) -> Result<RotateTokenResponse, RegistryError> {
        if self.fleet.read().get(id)?.token.is_none() {
            return Err(RegistryError::NoToken(id.to_string()));
        }
        let wall = self.clock.now_utc();
        let expires_at =
            wall + chrono::Duration::from_std(grace).map_err(|_| RegistryError::GraceTooLong)?;
        let next = Secret::generate(RUNTIME_TOKEN_PREFIX);
        let row = TokenRow {
            node_id: id.to_string(),
            kind: TokenKind::Next,
            hash: next.hash(),
            created_at: wall,
            expires_at: None,
            delivered: false,
        };
        let audit = actor.ok(action, id, format!("grace {} s", grace.as_secs()));
        store.transaction(|tx| {
            token_store::set_current_expiry(tx, id, expires_at)?;
            token_store::insert(tx, &row)?;
            audit_store::insert(tx, &audit)
        })?;
        let mut fleet = self.fleet.write();
        let previous = fleet.checked_mut(id).rotation.replace(Rotation {
            next_hash: row.hash,
            next: Some(next),
            started_at: wall,
            deadline: self.clock.now_instant() + grace,
            delivered: false,
        });
        if let Some(p) = previous {
            fleet.tokens.remove(&p.next_hash);
        }
        fleet
            .tokens
            .insert(row.hash, (id.to_string(), TokenKind::Next));
        tracing::info!(
            node_id = id,
            grace_secs = grace.as_secs(),
            "runtime token rotation started"
        );
        Ok(RotateTokenResponse {
            node_id: id.to_string(),
            rotation_started_at: wall,
            old_token_expires_at: expires_at,
            grace_secs: grace.as_secs(),
        })
    }

    /// Rotates, with the default grace, the tokens of `ids` that reached
    /// `--runtime-token-max-age`. A node removed (or left without a token)
    /// since the scan is skipped.
    pub(super) fn rotate_too_old(&self, ids: &[String]) -> Result<(), RegistryError> {
        let mut store = self.db.lock();
        let daemon = Actor::daemon();
        for id in ids {
            match self.rotate_locked(
                &mut store,
                id,
                self.cfg.default_grace,
                &daemon,
                "token.auto_rotate",
            ) {
                Ok(_) | Err(RegistryError::NodeNotFound(_) | RegistryError::NoToken(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Revokes every token of a node at once; it must register again.
    pub(crate) fn revoke(
        &self,
        id: &str,
        actor: &Actor,
    ) -> Result<RevokeTokenResponse, RegistryError> {
        let mut store = self.db.lock();
        if !self.contains(id) {
            return Err(RegistryError::NodeNotFound(id.to_string()));
        }
        let audit = actor.ok("token.revoke", id, "");
        let revoked = store.transaction(|tx| {
            let n = token_store::delete_for_node(tx, id)?;
            audit_store::insert(tx, &audit)?;
            Ok::<_, StoreError>(n)
        })?;
        let mut fleet = self.fleet.write();
        fleet.forget_tokens(id);
        // Without a token it cannot send heartbeats: offline from now.
        if let Some(live) = fleet.nodes.get_mut(id) {
            live.last_heartbeat = None;
            live.rec.online_since = None;
            live.dirty = true;
        }
        drop(fleet);
        self.touch_routing();
        tracing::info!(node_id = id, "runtime token revoked");
        Ok(RevokeTokenResponse {
            node_id: id.to_string(),
            revoked,
        })
    }

    /// Rotations whose grace period is over: the old token dies. A successor
    /// that reached the node becomes its token; one that never did dies too,
    /// and the node must register again. Decided under the store lock, so a
    /// node picking up its successor meanwhile is seen.
    pub(super) fn end_expired_rotations(&self, now: Instant) -> Result<(), RegistryError> {
        let mut store = self.db.lock();
        let expired: Vec<(String, bool)> = self
            .fleet
            .read()
            .nodes
            .values()
            .filter_map(|n| {
                let r = n.rotation.as_ref().filter(|r| r.is_over(now))?;
                Some((n.rec.id.clone(), r.delivered))
            })
            .collect();
        store.transaction(|tx| {
            for (id, delivered) in &expired {
                if *delivered {
                    token_store::promote_next(tx, id)?;
                } else {
                    token_store::delete_for_node(tx, id)?;
                }
            }
            Ok::<_, StoreError>(())
        })?;
        let mut fleet = self.fleet.write();
        for (id, delivered) in &expired {
            if *delivered {
                complete_rotation(&mut fleet, id);
            } else {
                fleet.forget_tokens(id);
            }
            tracing::info!(
                node_id = %id,
                successor_delivered = delivered,
                "grace period ended: the old runtime token is dead"
            );
        }
        Ok(())
    }
}

/// In memory: the successor token becomes the current one, the old one is
/// forgotten.
fn complete_rotation(fleet: &mut Fleet, node_id: &str) {
    let Some(live) = fleet.nodes.get_mut(node_id) else {
        return;
    };
    let Some(rot) = live.rotation.take() else {
        return;
    };
    let old = live.token.replace(TokenInfo {
        hash: rot.next_hash,
        created_at: rot.started_at,
    });
    if let Some(old) = old {
        fleet.tokens.remove(&old.hash);
    }
    fleet
        .tokens
        .insert(rot.next_hash, (node_id.to_string(), TokenKind::Current));
}
