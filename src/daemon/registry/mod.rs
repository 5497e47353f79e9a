//! The node registry: the fleet in memory, kept in step with SQLite.
//!
//! Reads (listing, heartbeats) are served from memory. Every change of
//! admission, registration or tokens is committed to the database before the
//! caller gets its answer: such changes hold the store lock ([`Db::lock`])
//! for the whole check → commit → apply sequence, so they never interleave.
//! Heartbeats only touch metrics and liveness in memory and mark the node
//! dirty; [`Registry::flush`] writes those behind, in batches.
//!
//! Liveness is measured on the daemon's monotonic clock
//! ([`Clock::now_instant`](super::clock::Clock::now_instant)), never on
//! timestamps sent by nodes.
//!
//! The parts:
//! - `fleet.rs`: the nodes in memory, their token and identity indexes,
//!   the derived status;
//! - `listing.rs`: `GET /v0/nodes` and `/{id}`, the cached listing JSON;
//! - `admission.rs`: registration (in named steps) and approval;
//! - `heartbeat.rs`: a heartbeat, memory only;
//! - `tokens.rs`: runtime tokens: rotation, delivery, promotion, grace,
//!   revocation, and their restoration at start;
//! - `admin.rs`: an administrator's other changes (edit, drain, remove);
//! - `import.rs`: legacy records;
//! - `upkeep.rs`: write-behind, sweep, checkpoint;
//! - `error.rs`: [`RegistryError`], what it refuses.

mod admin;
mod admission;
mod error;
mod fleet;
mod heartbeat;
mod import;
mod listing;
mod tokens;
mod upkeep;

#[cfg(test)]
mod tests;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};

pub(crate) use self::admission::RegisterContext;
pub(crate) use self::error::RegistryError;
use self::fleet::{At, Fleet};
pub(crate) use self::heartbeat::HeartbeatError;
use super::clock::SharedClock;
pub(crate) use super::validate::ValidRegistration;
use crate::api::nodes::NodeStatus;
use crate::store::{Db, StoreError};

/// How many nodes one hold of the fleet lock covers in bulk work (listing,
/// write-behind), so heartbeats never wait long.
const LOCK_CHUNK: usize = 256;

/// Timing settings of the registry.
#[derive(Debug, Clone)]
pub(crate) struct RegistryConfig {
    pub heartbeat_interval: Duration,
    pub node_timeout: Duration,
    pub default_grace: Duration,
    pub token_max_age: Option<Duration>,
}

pub(crate) struct Registry {
    db: Db,
    fleet: RwLock<Fleet>,
    cfg: RegistryConfig,
    clock: SharedClock,
    /// Bumped whenever the set of nodes that may receive traffic, or their
    /// models, may have changed; the proxy rebuilds its table when it moves.
    routing_gen: AtomicU64,
    /// The WAL checkpointer, used without the store lock.
    checkpointer: Mutex<Option<rusqlite::Connection>>,
}

/// A node that may receive proxied requests: approved, online, not drained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouteEntry {
    pub node_id: String,
    /// `http://ip:node_api_port` (IPv6 in brackets): the node's
    /// OpenAI-compatible endpoint, the one the registration probe checked.
    pub base_url: String,
    pub models: Vec<String>,
}

impl Registry {
    /// Loads the fleet from the database (see `tokens::restore` for what
    /// happens to rotations that were under way).
    pub(crate) fn load(
        db: Db,
        cfg: RegistryConfig,
        clock: SharedClock,
    ) -> Result<Registry, StoreError> {
        let fleet = tokens::restore(&mut db.lock(), clock.as_ref())?;
        let checkpointer = db.lock().take_checkpointer();
        Ok(Registry {
            checkpointer: Mutex::new(checkpointer),
            db,
            fleet: RwLock::new(fleet),
            cfg,
            clock,
            routing_gen: AtomicU64::new(1),
        })
    }

    pub(crate) fn config(&self) -> &RegistryConfig {
        &self.cfg
    }

    /// The clock the registry judges liveness, grace and ages by.
    pub(crate) fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Both clocks, read now.
    fn at(&self) -> At {
        At {
            now: self.clock.now_instant(),
            wall: self.clock.now_utc(),
            timeout: self.cfg.node_timeout,
        }
    }

    /// Changes whenever [`Registry::routable`] may answer differently.
    pub(crate) fn routing_generation(&self) -> u64 {
        self.routing_gen.load(Ordering::Acquire)
    }

    fn touch_routing(&self) {
        self.routing_gen.fetch_add(1, Ordering::AcqRel);
    }

    /// The nodes that may receive traffic now, with their models.
    pub(crate) fn routable(&self) -> Vec<RouteEntry> {
        let now = self.clock.now_instant();
        let fleet = self.fleet.read();
        fleet
            .nodes
            .values()
            .filter(|n| {
                !n.rec.drained && n.status(now, self.cfg.node_timeout) == NodeStatus::Online
            })
            .filter_map(|n| {
                let ip: IpAddr = n.rec.ip_address.parse().ok()?;
                let models = n
                    .rec
                    .models
                    .llm
                    .iter()
                    .chain(&n.rec.models.embedding)
                    .cloned()
                    .collect();
                Some(RouteEntry {
                    node_id: n.rec.id.clone(),
                    base_url: format!("http://{}", SocketAddr::new(ip, n.rec.node_api_port)),
                    models,
                })
            })
            .collect()
    }

    pub(crate) fn heartbeat_interval_secs(&self) -> u64 {
        self.cfg.heartbeat_interval.as_secs()
    }

    /// Whether `hash` is a runtime token some node holds (a quick check
    /// before work is done for a registration; `register` decides).
    pub(crate) fn holds_token(&self, hash: &crate::secret::TokenHash) -> bool {
        self.fleet.read().tokens.contains_key(hash)
    }

    /// Whether a node with this id is known.
    pub(crate) fn contains(&self, id: &str) -> bool {
        self.fleet.read().nodes.contains_key(id)
    }
}
