//! Background work: the write-behind of heartbeat data, the sweep
//! (liveness, the end of grace periods, rotation by age) and the WAL
//! checkpoint. The daemon's upkeep loop (`daemon/mod.rs`) calls these on
//! timers; tests call them directly, on a manual clock.

use super::{Registry, RegistryError, LOCK_CHUNK};
use crate::store::nodes::{self as node_store, HeartbeatUpdate};
use crate::store::{Store, StoreError};

impl Registry {
    /// Writes heartbeat data of dirty nodes in one transaction. Returns how
    /// many nodes were written.
    pub(crate) fn flush(&self) -> Result<usize, StoreError> {
        // Copied out in small chunks, so heartbeats never wait long for the
        // lock while thousands of nodes are written behind.
        let dirty: Vec<String> = {
            let fleet = self.fleet.read();
            fleet
                .nodes
                .values()
                .filter(|n| n.dirty)
                .map(|n| n.rec.id.clone())
                .collect()
        };
        let mut updates: Vec<HeartbeatUpdate> = Vec::with_capacity(dirty.len());
        for chunk in dirty.chunks(LOCK_CHUNK) {
            let mut fleet = self.fleet.write();
            for id in chunk {
                let Some(n) = fleet.nodes.get_mut(id) else {
                    continue;
                };
                n.dirty = false;
                let models_dirty = std::mem::take(&mut n.models_dirty);
                updates.push(HeartbeatUpdate {
                    id: n.rec.id.clone(),
                    last_seen: n.rec.last_seen,
                    online_since: n.rec.online_since,
                    initializing: n.rec.initializing,
                    ready_models: n.rec.ready_models,
                    metrics: n.rec.metrics.clone(),
                    models: models_dirty.then(|| n.rec.models.clone()),
                });
            }
        }
        if updates.is_empty() {
            return Ok(0);
        }
        let result = self.db.transaction(|tx| {
            for u in &updates {
                node_store::apply_heartbeat(tx, u)?;
            }
            Ok::<_, StoreError>(())
        });
        if let Err(e) = result {
            // Keep the data for the next attempt.
            let mut fleet = self.fleet.write();
            for u in &updates {
                if let Some(n) = fleet.nodes.get_mut(&u.id) {
                    n.dirty = true;
                    n.models_dirty |= u.models.is_some();
                }
            }
            return Err(e);
        }
        Ok(updates.len())
    }

    /// Checkpoints the WAL into the database file on a connection of its
    /// own, so commits (registrations, approvals) are not held up.
    pub(crate) fn checkpoint(&self) -> Result<(), StoreError> {
        match self.checkpointer.lock().as_ref() {
            Some(c) => Store::checkpoint(c),
            None => Ok(()),
        }
    }

    /// Periodic upkeep, judged by the registry's clock: nodes that went
    /// offline, rotations whose grace ran out, and automatic rotation of
    /// tokens older than `--runtime-token-max-age`.
    pub(crate) fn sweep(&self) -> Result<(), RegistryError> {
        let at = self.at();
        let mut expired = false;
        let mut went_offline = false;
        let mut too_old = Vec::new();
        {
            let mut fleet = self.fleet.write();
            for live in fleet.nodes.values_mut() {
                if live.rec.online_since.is_some() && !live.is_live(at.now, at.timeout) {
                    live.rec.online_since = None;
                    live.dirty = true;
                    went_offline = true;
                    tracing::warn!(
                        node_id = %live.rec.id,
                        machine_name = %live.rec.machine_name,
                        "node went offline: no heartbeat within {}s",
                        at.timeout.as_secs()
                    );
                }
                if live.rotation.as_ref().is_some_and(|r| r.is_over(at.now)) {
                    expired = true;
                } else if let (Some(max), Some(t)) = (self.cfg.token_max_age, &live.token) {
                    if (at.wall - t.created_at)
                        .to_std()
                        .is_ok_and(|age| age >= max)
                    {
                        too_old.push(live.rec.id.clone());
                    }
                }
            }
        }
        if went_offline {
            self.touch_routing();
        }
        if expired {
            self.end_expired_rotations(at.now)?;
        }
        if !too_old.is_empty() {
            self.rotate_too_old(&too_old)?;
        }
        Ok(())
    }
}
