//! A heartbeat: metrics and liveness, in memory under the fleet lock. It
//! asks its caller to commit a token change first when one is due (see
//! [`HeartbeatError`]); the metrics reach the database through the
//! write-behind (`upkeep.rs`).

use super::{Registry, RegistryError};
use crate::api::nodes::HeartbeatResponse;
use crate::daemon::validate::ValidHeartbeat;
use crate::secret::TokenHash;
use crate::store::tokens::TokenKind;

/// Why a heartbeat was not applied.
#[derive(Debug)]
pub(crate) enum HeartbeatError {
    /// Refused: the token or the body is not acceptable.
    Refused(RegistryError),
    /// The heartbeat used a successor token: the rotation must be completed
    /// ([`Registry::promote`], a database write) before it is applied.
    PromoteFirst,
    /// The reply would carry a successor token for the first time: that
    /// must be committed first ([`Registry::mark_delivered`]).
    DeliverFirst,
}

impl From<RegistryError> for HeartbeatError {
    fn from(e: RegistryError) -> Self {
        HeartbeatError::Refused(e)
    }
}

impl Registry {
    /// Applies a heartbeat authenticated by `token`. Memory only, except when
    /// a token change must be committed first: then the caller runs what
    /// the error names and calls again.
    pub(crate) fn heartbeat(
        &self,
        token: &TokenHash,
        req: &ValidHeartbeat,
    ) -> Result<HeartbeatResponse, HeartbeatError> {
        let now = self.clock.now_instant();
        let wall = self.clock.now_utc();
        let timeout = self.cfg.node_timeout;
        let mut fleet = self.fleet.write();
        let (node_id, kind) = match fleet.tokens.get(token) {
            Some((id, kind)) => (id.as_str(), *kind),
            None => return Err(RegistryError::InvalidNodeToken.into()),
        };
        // A node token authenticates exactly one node.
        if node_id != req.node_id {
            return Err(RegistryError::NodeMismatch.into());
        }
        let live = fleet
            .nodes
            .get_mut(&req.node_id)
            .ok_or(RegistryError::InvalidNodeToken)?;
        match kind {
            TokenKind::Next => return Err(HeartbeatError::PromoteFirst),
            TokenKind::Current => {
                if live.rotation.as_ref().is_some_and(|r| r.is_over(now)) {
                    return Err(RegistryError::TokenExpired.into());
                }
            }
        }
        if live
            .rotation
            .as_ref()
            .is_some_and(|r| r.next.is_some() && !r.delivered)
        {
            return Err(HeartbeatError::DeliverFirst);
        }
        let was_live = live.is_live(now, timeout);
        let status_before = live.status(now, timeout);
        let mut routing_changed = false;
        let rec = &mut live.rec;
        rec.metrics.cpu_usage = Some(req.cpu_usage);
        rec.metrics.memory_usage = Some(req.memory_usage);
        rec.metrics.gpu_usage = req.gpu_usage;
        rec.metrics.gpu_memory_usage = req.gpu_memory_usage;
        rec.metrics.active_requests = Some(req.active_requests);
        rec.metrics.average_response_time_ms = req.average_response_time_ms;
        rec.metrics.updated_at = Some(wall);
        if rec.models.llm != req.loaded_models
            || rec.models.embedding != req.loaded_embedding_models
        {
            rec.models.llm.clone_from(&req.loaded_models);
            rec.models
                .embedding
                .clone_from(&req.loaded_embedding_models);
            live.models_dirty = true;
            routing_changed = true;
        }
        rec.initializing = req.initializing;
        rec.ready_models = req.ready_models;
        rec.last_seen = Some(wall);
        if req.leaving {
            live.last_heartbeat = None;
            rec.online_since = None;
        } else {
            live.last_heartbeat = Some(now);
            if !was_live || rec.online_since.is_none() {
                rec.online_since = Some(wall);
            }
        }
        live.dirty = true;
        if routing_changed {
            // The model lists are part of the cached listing fragment;
            // everything else a heartbeat changes is written per listing.
            live.touch();
        }
        let status = live.status(now, timeout);
        if routing_changed || status != status_before {
            self.touch_routing();
        }
        let runtime_token = live
            .rotation
            .as_ref()
            .and_then(|r| r.next.as_ref())
            .map(|next| next.expose().to_string());
        Ok(HeartbeatResponse {
            node_id: live.rec.id.clone(),
            status,
            heartbeat_interval_secs: self.heartbeat_interval_secs(),
            runtime_token,
        })
    }
}
