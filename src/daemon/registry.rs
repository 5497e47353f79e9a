//! The node registry: the fleet in memory, kept in step with SQLite.
//!
//! Reads (listing, heartbeats) are served from memory. Every change of
//! admission, registration or tokens is committed to the database before the
//! caller gets its answer: such changes hold the store lock for the whole
//! check → commit → apply sequence, so they never interleave. Heartbeats only
//! touch metrics and liveness in memory and mark the node dirty; [`Registry::flush`]
//! writes those behind, in batches.
//!
//! Liveness is measured on the daemon's monotonic clock ([`Instant`]), never on
//! timestamps sent by nodes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use parking_lot::{Mutex, RwLock};
use serde::Serialize;

use super::audit::Actor;
use super::error::{ApiError, ApiResult};
use super::jsonw;
use crate::api::nodes::{
    GpuDevice, HeartbeatRequest, HeartbeatResponse, NodeStatus, NodeView, PatchNodeRequest,
    RegisterNodeResponse, RegistrationOutcome, RevokeTokenResponse, RotateTokenResponse,
};
use crate::api::status::NodeCounts;
use crate::secret::{Secret, TokenHash, RUNTIME_TOKEN_PREFIX};
use crate::store::audit::{self as audit_store, AuditRow};
use crate::store::join_tokens as join_store;
use crate::store::nodes::{self as node_store, GpuSummary, HeartbeatUpdate, NodeRecord};
use crate::store::tokens::{self as token_store, TokenKind, TokenRow};
use crate::store::{Store, StoreError};

/// How many nodes one hold of the fleet lock covers in bulk work (listing,
/// write-behind), so heartbeats never wait long.
const LOCK_CHUNK: usize = 256;

/// Timing settings of the registry.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    pub heartbeat_interval: Duration,
    pub node_timeout: Duration,
    pub default_grace: Duration,
    pub token_max_age: Option<Duration>,
}

/// A runtime token a node holds.
#[derive(Debug, Clone)]
struct TokenInfo {
    hash: TokenHash,
    created_at: DateTime<Utc>,
}

/// A rotation under way: the successor token, kept in plain text only in
/// memory (the database has its hash) until the node has picked it up.
#[derive(Debug, Clone)]
struct Rotation {
    /// What heartbeat replies hand out. `None` after a restart when the
    /// successor had already gone out: only its hash survived, and the node
    /// holds it (so it is still accepted), but it cannot be sent again.
    next: Option<Secret>,
    next_hash: TokenHash,
    started_at: DateTime<Utc>,
    deadline: Instant,
    /// A heartbeat reply carried the successor, so the node may hold it.
    /// Committed before that reply is sent.
    delivered: bool,
}

#[derive(Debug)]
struct LiveNode {
    rec: NodeRecord,
    last_heartbeat: Option<Instant>,
    dirty: bool,
    models_dirty: bool,
    token: Option<TokenInfo>,
    rotation: Option<Rotation>,
    /// The node's JSON for listings, without the fields that depend on the
    /// time of asking; rebuilt after `rec` changes (see [`LiveNode::touch`]).
    json: Mutex<Option<Arc<[u8]>>>,
}

/// The fields of [`NodeView`] that depend only on the stored record, as they
/// are serialized into the cached listing fragment. Kept in step with
/// `NodeView` by the `listing_matches_the_node_view` test.
#[derive(Serialize)]
struct StaticFields<'a> {
    id: &'a str,
    machine_name: &'a str,
    custom_name: &'a Option<String>,
    ip_address: &'a str,
    runtime_version: &'a str,
    runtime_port: u16,
    node_api_port: u16,
    approved: bool,
    drained: bool,
    registered_at: &'a DateTime<Utc>,
    approved_at: &'a Option<DateTime<Utc>>,
    gpu_available: bool,
    gpu_devices: &'a [GpuDevice],
    gpu_count: Option<u32>,
    gpu_model: &'a Option<String>,
    gpu_model_name: &'a Option<String>,
    gpu_compute_capability: &'a Option<String>,
    gpu_capability_score: Option<u32>,
    loaded_models: &'a [String],
    loaded_embedding_models: &'a [String],
    loaded_asr_models: &'a [String],
    loaded_tts_models: &'a [String],
    supported_runtimes: &'a [String],
    tags: &'a [String],
    notes: &'a Option<String>,
}

impl LiveNode {
    fn new(rec: NodeRecord) -> LiveNode {
        LiveNode {
            rec,
            last_heartbeat: None,
            dirty: false,
            models_dirty: false,
            token: None,
            rotation: None,
            json: Mutex::new(None),
        }
    }

    /// Drops the cached listing JSON: call after changing `rec`.
    fn touch(&mut self) {
        *self.json.get_mut() = None;
    }

    /// Appends this node's listing JSON to `out`: the fields that change
    /// with time or with every heartbeat written now, the rest from the
    /// cache (built here when missing).
    fn write_json(
        &self,
        out: &mut Vec<u8>,
        twins: Twins<'_>,
        now: Instant,
        timeout: Duration,
        wall: DateTime<Utc>,
    ) {
        let live = self.is_live(now, timeout);
        let fragment = self.fragment();
        let r = &self.rec;
        let m = &r.metrics;
        out.push(b'{');
        jsonw::key(out, "status");
        out.push(b'"');
        out.extend_from_slice(derive_status(r, live).as_str().as_bytes());
        out.extend_from_slice(b"\",");
        jsonw::key(out, "online_since");
        jsonw::opt(out, r.online_since.as_ref().filter(|_| live), jsonw::time);
        out.push(b',');
        jsonw::key(out, "token_age_secs");
        jsonw::opt(out, self.token.as_ref(), |out, t| {
            jsonw::int(out, (wall - t.created_at).num_seconds().max(0))
        });
        out.push(b',');
        jsonw::key(out, "token_rotation_pending");
        jsonw::bool(out, self.rotation.is_some());
        out.push(b',');
        jsonw::key(out, "last_seen");
        jsonw::opt(out, r.last_seen.as_ref(), jsonw::time);
        out.push(b',');
        jsonw::key(out, "initializing");
        jsonw::bool(out, r.initializing);
        out.push(b',');
        jsonw::key(out, "ready_models");
        jsonw::opt(out, r.ready_models, |out, [ready, total]| {
            out.push(b'[');
            jsonw::uint(out, ready);
            out.push(b',');
            jsonw::uint(out, total);
            out.push(b']');
        });
        for (name, v) in [
            ("cpu_usage", m.cpu_usage),
            ("memory_usage", m.memory_usage),
            ("gpu_usage", m.gpu_usage),
            ("gpu_memory_usage", m.gpu_memory_usage),
        ] {
            out.push(b',');
            jsonw::key(out, name);
            jsonw::opt(out, v, jsonw::float);
        }
        out.push(b',');
        jsonw::key(out, "active_requests");
        jsonw::opt(out, m.active_requests, jsonw::uint);
        out.push(b',');
        jsonw::key(out, "average_response_time_ms");
        jsonw::opt(out, m.average_response_time_ms, jsonw::float);
        out.push(b',');
        jsonw::key(out, "metrics_updated_at");
        jsonw::opt(out, m.updated_at.as_ref(), jsonw::time);
        out.push(b',');
        jsonw::key(out, "same_machine_name_as");
        out.push(b'[');
        for (i, id) in twins.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            serde_json::to_writer(&mut *out, id).expect("writing to memory cannot fail");
        }
        out.extend_from_slice(b"],");
        // The fragment is an object; its brace is dropped to merge it in.
        out.extend_from_slice(&fragment[1..]);
    }

    /// The cached part of the listing JSON, built when missing.
    fn fragment(&self) -> Arc<[u8]> {
        let mut cached = self.json.lock();
        match &*cached {
            Some(f) => f.clone(),
            None => {
                let f: Arc<[u8]> = self.static_json().into();
                *cached = Some(f.clone());
                f
            }
        }
    }

    fn has_fragment(&self) -> bool {
        self.json.lock().is_some()
    }

    fn static_json(&self) -> Vec<u8> {
        let r = &self.rec;
        serde_json::to_vec(&StaticFields {
            id: &r.id,
            machine_name: &r.machine_name,
            custom_name: &r.custom_name,
            ip_address: &r.ip_address,
            runtime_version: &r.runtime_version,
            runtime_port: r.runtime_port,
            node_api_port: r.node_api_port,
            approved: r.approved,
            drained: r.drained,
            registered_at: &r.registered_at,
            approved_at: &r.approved_at,
            gpu_available: r.gpu.available,
            gpu_devices: &r.gpu.devices,
            gpu_count: r.gpu.count,
            gpu_model: &r.gpu.model,
            gpu_model_name: &r.gpu.model_name,
            gpu_compute_capability: &r.gpu.compute_capability,
            gpu_capability_score: r.gpu.capability_score,
            loaded_models: &r.models.llm,
            loaded_embedding_models: &r.models.embedding,
            loaded_asr_models: &r.models.asr,
            loaded_tts_models: &r.models.tts,
            supported_runtimes: &r.supported_runtimes,
            tags: &r.tags,
            notes: &r.notes,
        })
        .expect("node fields always serialize")
    }

    fn is_live(&self, now: Instant, timeout: Duration) -> bool {
        self.last_heartbeat
            .is_some_and(|t| now.saturating_duration_since(t) < timeout)
    }

    fn status(&self, now: Instant, timeout: Duration) -> NodeStatus {
        derive_status(&self.rec, self.is_live(now, timeout))
    }

    fn view(
        &self,
        twins: Twins<'_>,
        now: Instant,
        timeout: Duration,
        wall: DateTime<Utc>,
    ) -> NodeView {
        let r = &self.rec;
        let m = &r.metrics;
        let live = self.is_live(now, timeout);
        NodeView {
            id: r.id.clone(),
            machine_name: r.machine_name.clone(),
            custom_name: r.custom_name.clone(),
            ip_address: r.ip_address.clone(),
            runtime_version: r.runtime_version.clone(),
            runtime_port: r.runtime_port,
            node_api_port: r.node_api_port,
            status: derive_status(r, live),
            approved: r.approved,
            drained: r.drained,
            registered_at: r.registered_at,
            approved_at: r.approved_at,
            last_seen: r.last_seen,
            // The sweeper clears it within a second; don't show it meanwhile.
            online_since: r.online_since.filter(|_| live),
            gpu_available: r.gpu.available,
            gpu_devices: r.gpu.devices.clone(),
            gpu_count: r.gpu.count,
            gpu_model: r.gpu.model.clone(),
            gpu_model_name: r.gpu.model_name.clone(),
            gpu_compute_capability: r.gpu.compute_capability.clone(),
            gpu_capability_score: r.gpu.capability_score,
            loaded_models: r.models.llm.clone(),
            loaded_embedding_models: r.models.embedding.clone(),
            loaded_asr_models: r.models.asr.clone(),
            loaded_tts_models: r.models.tts.clone(),
            supported_runtimes: r.supported_runtimes.clone(),
            initializing: r.initializing,
            ready_models: r.ready_models,
            cpu_usage: m.cpu_usage,
            memory_usage: m.memory_usage,
            gpu_usage: m.gpu_usage,
            gpu_memory_usage: m.gpu_memory_usage,
            active_requests: m.active_requests,
            average_response_time_ms: m.average_response_time_ms,
            metrics_updated_at: m.updated_at,
            tags: r.tags.clone(),
            notes: r.notes.clone(),
            token_age_secs: self
                .token
                .as_ref()
                .map(|t| (wall - t.created_at).num_seconds().max(0) as u64),
            token_rotation_pending: self.rotation.is_some(),
            same_machine_name_as: twins.map(str::to_string).collect(),
        }
    }
}

/// The status rule of DESIGN: pending until approved; then offline when not
/// live, online when its models are ready, else registering.
pub fn derive_status(rec: &NodeRecord, live: bool) -> NodeStatus {
    if !rec.approved {
        NodeStatus::Pending
    } else if !live {
        NodeStatus::Offline
    } else if models_ready(rec) {
        NodeStatus::Online
    } else {
        NodeStatus::Registering
    }
}

fn models_ready(rec: &NodeRecord) -> bool {
    match rec.ready_models {
        Some([ready, total]) => ready >= total,
        None => !rec.models.llm.is_empty() || !rec.models.embedding.is_empty(),
    }
}

#[derive(Debug, Clone, Copy)]
struct TokenRef {
    kind: TokenKind,
}

#[derive(Default)]
struct Fleet {
    nodes: HashMap<String, LiveNode>,
    /// Token hash → (node id, which token).
    tokens: HashMap<TokenHash, (String, TokenRef)>,
    /// machine_name → (runtime_port, node id) of every node with that name,
    /// in registration order: the nodes that share an identity.
    identity: HashMap<String, Vec<(u16, String)>>,
}

/// Most ids a node lists in `same_machine_name_as`: a thousand strangers
/// registering one name must not make every listing quadratic.
pub const MAX_TWINS_SHOWN: usize = 16;

/// The ids of the other nodes with a node's machine name and runtime port,
/// oldest first, at most [`MAX_TWINS_SHOWN`].
struct Twins<'a> {
    list: std::slice::Iter<'a, (u16, String)>,
    port: u16,
    id: &'a str,
    left: usize,
}

impl<'a> Iterator for Twins<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.left == 0 {
            return None;
        }
        let (port, id) = (self.port, self.id);
        let found = self
            .list
            .by_ref()
            .find(|(p, other)| *p == port && other != id)
            .map(|(_, other)| other.as_str());
        self.left -= usize::from(found.is_some());
        found
    }
}

impl Fleet {
    /// The other nodes that share `rec`'s machine name and runtime port.
    fn twins<'a>(&'a self, rec: &'a NodeRecord) -> Twins<'a> {
        let list = self
            .identity
            .get(rec.machine_name.as_str())
            .map_or(&[][..], Vec::as_slice);
        Twins {
            list: list.iter(),
            port: rec.runtime_port,
            id: &rec.id,
            left: MAX_TWINS_SHOWN,
        }
    }

    /// The nodes with this machine name and runtime port, oldest first.
    fn same_identity<'a>(
        &'a self,
        machine_name: &str,
        runtime_port: u16,
    ) -> impl Iterator<Item = &'a LiveNode> + 'a {
        self.identity
            .get(machine_name)
            .into_iter()
            .flatten()
            .filter(move |(p, _)| *p == runtime_port)
            .filter_map(|(_, id)| self.nodes.get(id))
    }

    fn link_identity(&mut self, machine_name: &str, runtime_port: u16, id: &str) {
        let list = self.identity.entry(machine_name.to_string()).or_default();
        if !list.iter().any(|(p, i)| *p == runtime_port && i == id) {
            list.push((runtime_port, id.to_string()));
        }
    }

    fn unlink_identity(&mut self, machine_name: &str, runtime_port: u16, id: &str) {
        if let Some(list) = self.identity.get_mut(machine_name) {
            list.retain(|(p, i)| !(*p == runtime_port && i == id));
            if list.is_empty() {
                self.identity.remove(machine_name);
            }
        }
    }

    fn insert(&mut self, live: LiveNode) {
        let id = live.rec.id.clone();
        self.link_identity(&live.rec.machine_name, live.rec.runtime_port, &id);
        if let Some(t) = &live.token {
            self.tokens.insert(
                t.hash,
                (
                    id.clone(),
                    TokenRef {
                        kind: TokenKind::Current,
                    },
                ),
            );
        }
        if let Some(r) = &live.rotation {
            self.tokens.insert(
                r.next_hash,
                (
                    id.clone(),
                    TokenRef {
                        kind: TokenKind::Next,
                    },
                ),
            );
        }
        self.nodes.insert(id, live);
    }

    fn forget_tokens(&mut self, id: &str) {
        if let Some(n) = self.nodes.get_mut(id) {
            if let Some(t) = n.token.take() {
                self.tokens.remove(&t.hash);
            }
            if let Some(r) = n.rotation.take() {
                self.tokens.remove(&r.next_hash);
            }
        }
    }

    fn remove(&mut self, id: &str) -> Option<LiveNode> {
        self.forget_tokens(id);
        let live = self.nodes.remove(id)?;
        self.unlink_identity(&live.rec.machine_name, live.rec.runtime_port, id);
        Some(live)
    }

    fn get(&self, id: &str) -> ApiResult<&LiveNode> {
        self.nodes
            .get(id)
            .ok_or_else(|| ApiError::node_not_found(id))
    }
}

/// A registration that passed validation (and the reachability probe).
#[derive(Debug, Clone)]
pub struct ValidRegistration {
    pub machine_name: String,
    pub ip_address: IpAddr,
    pub runtime_version: String,
    pub runtime_port: u16,
    pub node_api_port: u16,
    pub gpu: GpuSummary,
    pub supported_runtimes: Vec<String>,
    pub tags: Vec<String>,
}

/// What decides how a registration is admitted, besides its body.
#[derive(Clone, Copy)]
pub struct RegisterContext<'a> {
    /// The hash of its `X-Node-Token`.
    pub proof: Option<TokenHash>,
    /// The join tokens and the hash of its `X-Join-Token`.
    pub join: Option<(&'a super::join_tokens::JoinTokens, TokenHash)>,
    /// `--registration join-token`: a registration that neither proves
    /// itself nor carries a join token is refused.
    pub join_required: bool,
    pub max_pending: usize,
    /// Where the registration came from, for the audit trail.
    pub source: Option<IpAddr>,
}

/// What a registration did.
#[derive(Debug)]
pub struct Registered {
    pub response: RegisterNodeResponse,
    /// The registration proved with its token that it was this node.
    pub proven: bool,
    /// Other nodes with the same machine name and runtime port.
    pub same_machine_name_as: Vec<String>,
    /// The join token it used, if any.
    pub join_token: Option<String>,
    /// Its join token admitted it at once.
    pub auto_approved: bool,
}

/// The heartbeat used a successor token: the rotation must be completed
/// (a database write) before the heartbeat is applied.
#[derive(Debug)]
pub enum HeartbeatError {
    Api(ApiError),
    PromoteFirst,
    /// The reply would carry a successor token for the first time: that
    /// must be committed first ([`Registry::mark_delivered`]).
    DeliverFirst,
}

impl From<ApiError> for HeartbeatError {
    fn from(e: ApiError) -> Self {
        HeartbeatError::Api(e)
    }
}

pub struct Registry {
    store: Mutex<Store>,
    fleet: RwLock<Fleet>,
    cfg: RegistryConfig,
    /// Bumped whenever the set of nodes that may receive traffic, or their
    /// models, may have changed; the proxy rebuilds its table when it moves.
    routing_gen: AtomicU64,
    /// The WAL checkpointer, used without the store lock.
    checkpointer: Mutex<Option<rusqlite::Connection>>,
}

/// A node that may receive proxied requests: approved, online, not drained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteEntry {
    pub node_id: String,
    /// `http://ip:node_api_port` (IPv6 in brackets): the node's
    /// OpenAI-compatible endpoint, the one the registration probe checked.
    pub base_url: String,
    pub models: Vec<String>,
}

impl Registry {
    /// Loads the fleet from the database. A rotation that was under way when
    /// the daemon stopped gets a fresh successor token (only its hash was
    /// stored, so the old successor can no longer be handed out).
    pub fn load(mut store: Store, cfg: RegistryConfig) -> Result<Registry, StoreError> {
        let records = node_store::load_all(store.conn())?;
        let tokens = token_store::load_all(store.conn())?;
        let mut fleet = Fleet::default();
        // Registration order: nodes that share a machine name and runtime
        // port are kept oldest first.
        let order: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
        let mut nodes: HashMap<String, LiveNode> = records
            .into_iter()
            .map(|r| (r.id.clone(), LiveNode::new(r)))
            .collect();
        let now = Instant::now();
        let wall = Utc::now();
        let mut reminted = Vec::new();
        let mut expiries = HashMap::new();
        for t in &tokens {
            if t.kind == TokenKind::Current {
                expiries.insert(t.node_id.clone(), t.expires_at);
            }
        }
        for t in tokens {
            let Some(live) = nodes.get_mut(&t.node_id) else {
                continue;
            };
            match t.kind {
                TokenKind::Current => {
                    live.token = Some(TokenInfo {
                        hash: t.hash,
                        created_at: t.created_at,
                    })
                }
                TokenKind::Next => {
                    let expires_at = expiries.get(&t.node_id).copied().flatten().unwrap_or(wall);
                    let left = (expires_at - wall).to_std().unwrap_or_default();
                    let rotation = if t.delivered {
                        // The node may hold it: keep accepting it.
                        Rotation {
                            next: None,
                            next_hash: t.hash,
                            started_at: t.created_at,
                            deadline: now + left,
                            delivered: true,
                        }
                    } else {
                        // Nobody ever saw it: a fresh one takes its place.
                        let next = Secret::generate(RUNTIME_TOKEN_PREFIX);
                        reminted.push(TokenRow {
                            node_id: t.node_id.clone(),
                            kind: TokenKind::Next,
                            hash: next.hash(),
                            created_at: wall,
                            expires_at: None,
                            delivered: false,
                        });
                        Rotation {
                            next_hash: next.hash(),
                            next: Some(next),
                            started_at: t.created_at,
                            deadline: now + left,
                            delivered: false,
                        }
                    };
                    live.rotation = Some(rotation);
                }
            }
        }
        store.transaction(|tx| {
            for row in &reminted {
                token_store::insert(tx, row)?;
            }
            Ok::<_, StoreError>(())
        })?;
        for id in order {
            if let Some(live) = nodes.remove(&id) {
                fleet.insert(live);
            }
        }
        let checkpointer = store.take_checkpointer();
        Ok(Registry {
            checkpointer: Mutex::new(checkpointer),
            store: Mutex::new(store),
            fleet: RwLock::new(fleet),
            cfg,
            routing_gen: AtomicU64::new(1),
        })
    }

    pub fn config(&self) -> &RegistryConfig {
        &self.cfg
    }

    /// Changes whenever [`Registry::routable`] may answer differently.
    pub fn routing_generation(&self) -> u64 {
        self.routing_gen.load(Ordering::Acquire)
    }

    fn touch_routing(&self) {
        self.routing_gen.fetch_add(1, Ordering::AcqRel);
    }

    /// The nodes that may receive traffic now, with their models.
    pub fn routable(&self) -> Vec<RouteEntry> {
        let now = Instant::now();
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
                    base_url: format!(
                        "http://{}",
                        std::net::SocketAddr::new(ip, n.rec.node_api_port)
                    ),
                    models,
                })
            })
            .collect()
    }

    pub fn heartbeat_interval_secs(&self) -> u64 {
        self.cfg.heartbeat_interval.as_secs()
    }

    /// Runs `f` with the database, holding the store lock. Used by the other
    /// parts of the daemon that write (credentials, import).
    pub fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        f(&mut self.store.lock())
    }

    // ----- reads -------------------------------------------------------

    /// Every node (or those with `filter`'s status) as the JSON array of
    /// `GET /v0/nodes`, in registration order, handed to `emit` in pieces of
    /// a few hundred nodes: the fleet lock is never held for long, and the
    /// whole answer never sits in memory at once. Stops early when `emit`
    /// returns false (the client went away).
    pub fn list_json(&self, filter: Option<NodeStatus>, mut emit: impl FnMut(Vec<u8>) -> bool) {
        let now = Instant::now();
        let wall = Utc::now();
        let timeout = self.cfg.node_timeout;
        let mut order: Vec<(DateTime<Utc>, String)> = {
            let fleet = self.fleet.read();
            fleet
                .nodes
                .values()
                .filter(|n| filter.is_none_or(|f| n.status(now, timeout) == f))
                .map(|n| (n.rec.registered_at, n.rec.id.clone()))
                .collect()
        };
        order.sort_unstable();
        let mut first = true;
        let mut out = Vec::with_capacity(LOCK_CHUNK * 1200 + 2);
        out.push(b'[');
        for chunk in order.chunks(LOCK_CHUNK) {
            {
                let fleet = self.fleet.read();
                for n in chunk.iter().filter_map(|(_, id)| fleet.nodes.get(id)) {
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    n.write_json(&mut out, fleet.twins(&n.rec), now, timeout, wall);
                }
            }
            let piece = std::mem::replace(&mut out, Vec::with_capacity(LOCK_CHUNK * 1200));
            if !emit(piece) {
                return;
            }
        }
        out.push(b']');
        emit(out);
    }

    pub fn get(&self, id: &str) -> ApiResult<NodeView> {
        let fleet = self.fleet.read();
        let live = fleet.get(id)?;
        Ok(live.view(
            fleet.twins(&live.rec),
            Instant::now(),
            self.cfg.node_timeout,
            Utc::now(),
        ))
    }

    pub fn counts(&self) -> NodeCounts {
        let now = Instant::now();
        let fleet = self.fleet.read();
        let mut c = NodeCounts {
            total: fleet.nodes.len(),
            ..NodeCounts::default()
        };
        for n in fleet.nodes.values() {
            match n.status(now, self.cfg.node_timeout) {
                NodeStatus::Pending => c.pending += 1,
                NodeStatus::Registering => c.registering += 1,
                NodeStatus::Online => c.online += 1,
                NodeStatus::Offline => c.offline += 1,
            }
        }
        c
    }

    /// Whether `hash` is a runtime token some node holds (a quick check
    /// before work is done for a registration; `register` decides).
    pub fn holds_token(&self, hash: &TokenHash) -> bool {
        self.fleet.read().tokens.contains_key(hash)
    }

    /// Whether a node with this id is known.
    pub fn contains(&self, id: &str) -> bool {
        self.fleet.read().nodes.contains_key(id)
    }

    // ----- registration -----------------------------------------------

    /// Registers a machine. It changes a known node (same machine name and
    /// runtime port) only when it proves to be that node with `proof`, the
    /// hash of its `X-Node-Token` (its current token, or the old one within a
    /// rotation's grace), or when the known node is an imported record that no
    /// machine has claimed yet. Every other registration becomes a node of its
    /// own, leaving the known ones untouched, so nobody takes over a node by
    /// sending its name. Either way the node lands in `pending` with a new
    /// token, and any old token of it is revoked.
    pub fn register(
        &self,
        reg: ValidRegistration,
        ctx: RegisterContext<'_>,
    ) -> ApiResult<Registered> {
        let RegisterContext {
            proof,
            join,
            join_required,
            max_pending,
            source,
        } = ctx;
        let mut store = self.store.lock();
        let wall = Utc::now();
        let now = Instant::now();
        let (existing, proven, twins, grant) = {
            let fleet = self.fleet.read();
            let proven = proof.and_then(|hash| {
                let (id, tref) = fleet.tokens.get(&hash)?;
                let n = fleet.nodes.get(id)?;
                let dead = tref.kind == TokenKind::Current
                    && n.rotation.as_ref().is_some_and(|r| now >= r.deadline);
                let same = n.rec.machine_name == reg.machine_name
                    && n.rec.runtime_port == reg.runtime_port;
                (same && !dead).then_some(n)
            });
            let claimed = proven.or_else(|| {
                fleet
                    .same_identity(&reg.machine_name, reg.runtime_port)
                    .filter(|n| n.rec.imported_at.is_some() && n.token.is_none())
                    .last()
            });
            let twins: Vec<String> = fleet
                .same_identity(&reg.machine_name, reg.runtime_port)
                .filter(|n| claimed.is_none_or(|c| c.rec.id != n.rec.id))
                .take(MAX_TWINS_SHOWN)
                .map(|n| n.rec.id.clone())
                .collect();
            // A join token is checked (and its use counted below) under the
            // store lock, so its uses hold under any concurrency. A node
            // that proved itself needs none.
            let grant = match join {
                Some((tokens, hash)) => Some(tokens.grant(&hash, wall)?),
                None => None,
            };
            if join_required && proven.is_none() && grant.is_none() {
                return Err(super::join_tokens::required());
            }
            let auto_approve = grant.as_ref().is_some_and(|g| g.auto_approve);
            if proven.is_none() && !auto_approve {
                // Only a registration that proves itself may add to the
                // pending nodes once there are many of them.
                let pending = fleet.nodes.values().filter(|n| !n.rec.approved).count();
                let adds = claimed.is_none_or(|c| c.rec.approved);
                if adds && pending >= max_pending {
                    return Err(ApiError::too_many(
                        "too_many_pending",
                        format!(
                            "{pending} nodes already wait for approval, the most this daemon \
                             accepts (--max-pending); an administrator must approve or remove \
                             pending nodes (llmlbctl nodes list --status pending) before more \
                             can register"
                        ),
                        60,
                    ));
                }
            }
            (
                claimed.map(|n| n.rec.clone()),
                proven.is_some(),
                twins,
                grant,
            )
        };
        let outcome = if existing.is_some() {
            RegistrationOutcome::Updated
        } else {
            RegistrationOutcome::Registered
        };
        let mut rec = existing.unwrap_or_else(|| NodeRecord {
            id: uuid::Uuid::new_v4().to_string(),
            machine_name: reg.machine_name.clone(),
            custom_name: None,
            ip_address: String::new(),
            runtime_version: String::new(),
            runtime_port: reg.runtime_port,
            node_api_port: reg.node_api_port,
            approved: false,
            drained: false,
            registered_at: wall,
            approved_at: None,
            last_seen: None,
            online_since: None,
            notes: None,
            gpu: GpuSummary::default(),
            models: Default::default(),
            supported_runtimes: Vec::new(),
            tags: Vec::new(),
            initializing: false,
            ready_models: None,
            metrics: Default::default(),
            imported_at: None,
        });
        rec.ip_address = reg.ip_address.to_string();
        rec.runtime_version = reg.runtime_version;
        rec.node_api_port = reg.node_api_port;
        rec.approved = false;
        rec.approved_at = None;
        rec.last_seen = Some(wall);
        rec.gpu = reg.gpu;
        rec.supported_runtimes = reg.supported_runtimes;
        // Claimed by a machine: from now on only its token proves it.
        rec.imported_at = None;
        let granted_tags = grant.as_ref().map(|g| g.tags.clone()).unwrap_or_default();
        for t in reg.tags.into_iter().chain(granted_tags) {
            if !rec.tags.contains(&t) {
                rec.tags.push(t);
            }
        }
        let auto_approved = grant.as_ref().is_some_and(|g| g.auto_approve);
        if auto_approved {
            rec.approved = true;
            rec.approved_at = Some(wall);
        }

        let token = Secret::generate(RUNTIME_TOKEN_PREFIX);
        let row = TokenRow {
            node_id: rec.id.clone(),
            kind: TokenKind::Current,
            hash: token.hash(),
            created_at: wall,
            expires_at: None,
            delivered: false,
        };
        let mut audit = Vec::with_capacity(3);
        let registrant = match (&grant, source) {
            (Some(g), _) => Actor::join_token(&g.token_id, source),
            (None, Some(ip)) => Actor::anonymous(ip),
            (None, None) => Actor::daemon(),
        };
        let how = match (proven, outcome, twins.is_empty()) {
            (true, _, _) => "proved with its runtime token".to_string(),
            (false, RegistrationOutcome::Updated, _) => "claimed an imported record".to_string(),
            (false, _, true) => format!("new node {}", rec.machine_name),
            (false, _, false) => format!(
                "new node {}; same machine name as {}",
                rec.machine_name,
                twins.join(", ")
            ),
        };
        audit.push(registrant.ok("node.register", &rec.id, how));
        if let Some(g) = &grant {
            audit.push(registrant.ok("join_token.use", &g.token_id, format!("node {}", rec.id)));
            if g.auto_approve {
                audit.push(registrant.ok("node.auto_approve", &rec.id, "by its join token"));
            }
        }
        store.transaction(|tx| -> ApiResult<()> {
            if let Some(g) = &grant {
                if !join_store::use_once(tx, &g.token_id, wall)? {
                    return Err(ApiError::internal(&"a checked join token had no use left"));
                }
            }
            node_store::save(tx, &rec)?;
            token_store::delete_for_node(tx, &rec.id)?;
            token_store::insert(tx, &row)?;
            for a in &audit {
                audit_store::insert(tx, a)?;
            }
            Ok(())
        })?;
        if let (Some(g), Some((tokens, _))) = (&grant, join) {
            tokens.used(&g.token_id, wall);
        }

        let mut fleet = self.fleet.write();
        fleet.forget_tokens(&rec.id);
        let mut live = match fleet.remove(&rec.id) {
            Some(mut old) => {
                // Keep the metrics a heartbeat may have written meanwhile.
                rec.metrics = old.rec.metrics.clone();
                old.rec = rec;
                old.touch();
                old
            }
            None => LiveNode::new(rec),
        };
        // A registration is a sign of life.
        live.last_heartbeat = Some(Instant::now());
        live.token = Some(TokenInfo {
            hash: row.hash,
            created_at: wall,
        });
        let id = live.rec.id.clone();
        let node_api_port = live.rec.node_api_port;
        let node_status = live.status(now, self.cfg.node_timeout);
        fleet.insert(live);
        drop(fleet);
        drop(store);
        self.touch_routing();

        Ok(Registered {
            response: RegisterNodeResponse {
                node_id: id,
                status: outcome,
                node_status,
                node_api_port,
                runtime_token: token.expose().to_string(),
                heartbeat_interval_secs: self.heartbeat_interval_secs(),
            },
            proven,
            same_machine_name_as: twins,
            join_token: grant.map(|g| g.token_id),
            auto_approved,
        })
    }

    // ----- heartbeats --------------------------------------------------

    /// Applies a heartbeat authenticated by `token`. Memory only, except when
    /// the node uses its successor token for the first time: then the caller
    /// must run [`Registry::promote`] (a database write) and call again.
    pub fn heartbeat(
        &self,
        token: &TokenHash,
        req: &HeartbeatRequest,
    ) -> Result<HeartbeatResponse, HeartbeatError> {
        let now = Instant::now();
        let wall = Utc::now();
        let timeout = self.cfg.node_timeout;
        let mut fleet = self.fleet.write();
        let (node_id, tref) = match fleet.tokens.get(token) {
            Some((id, r)) => (id.as_str(), *r),
            None => return Err(bad_token().into()),
        };
        if node_id != req.node_id {
            return Err(ApiError::forbidden(
                "node_mismatch",
                "this runtime token belongs to another node; a node may only report for itself",
            )
            .into());
        }
        let live = fleet.nodes.get_mut(&req.node_id).ok_or_else(bad_token)?;
        match tref.kind {
            TokenKind::Next => return Err(HeartbeatError::PromoteFirst),
            TokenKind::Current => {
                if live.rotation.as_ref().is_some_and(|r| now >= r.deadline) {
                    return Err(expired_token().into());
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
        let status_before = derive_status(&live.rec, was_live);
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

    /// Completes a rotation because the node used its successor token: the
    /// old token dies at once. Does nothing if that already happened.
    pub fn promote(&self, token: &TokenHash) -> ApiResult<()> {
        let mut store = self.store.lock();
        let node_id = match self.fleet.read().tokens.get(token) {
            Some((id, r)) if r.kind == TokenKind::Next => id.clone(),
            Some(_) => return Ok(()),
            None => return Err(bad_token()),
        };
        store.transaction(|tx| token_store::promote_next(tx, &node_id))?;
        let mut fleet = self.fleet.write();
        complete_rotation(&mut fleet, &node_id);
        tracing::info!(node_id, "node picked up its rotated runtime token");
        Ok(())
    }

    /// Commits that the successor token of the node that `token` (its
    /// current one) belongs to goes out in a reply, before that reply is
    /// sent: from then on a restart keeps accepting it.
    pub fn mark_delivered(&self, token: &TokenHash) -> ApiResult<()> {
        let mut store = self.store.lock();
        let (node_id, next_hash) = {
            let fleet = self.fleet.read();
            let Some((id, _)) = fleet.tokens.get(token) else {
                return Err(bad_token());
            };
            match fleet.nodes.get(id).and_then(|n| n.rotation.as_ref()) {
                Some(r) if !r.delivered => (id.clone(), r.next_hash),
                _ => return Ok(()),
            }
        };
        let wall = Utc::now();
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

    // ----- administration ---------------------------------------------

    /// Runs an admin change of one node: checks and modifies a copy, commits
    /// it, then applies the same change in memory.
    fn mutate_node(
        &self,
        id: &str,
        check: impl FnOnce(&LiveNode) -> ApiResult<()>,
        change: impl Fn(&mut NodeRecord),
        audit: AuditRow,
    ) -> ApiResult<NodeView> {
        let mut store = self.store.lock();
        let mut rec = {
            let fleet = self.fleet.read();
            let live = fleet.get(id)?;
            check(live)?;
            live.rec.clone()
        };
        change(&mut rec);
        store.transaction(|tx| {
            node_store::save(tx, &rec)?;
            audit_store::insert(tx, &audit)
        })?;
        let mut fleet = self.fleet.write();
        let live = fleet
            .nodes
            .get_mut(id)
            .expect("nodes are removed only under the store lock");
        change(&mut live.rec);
        live.touch();
        let live = &fleet.nodes[id];
        let view = live.view(
            fleet.twins(&live.rec),
            Instant::now(),
            self.cfg.node_timeout,
            Utc::now(),
        );
        drop(fleet);
        self.touch_routing();
        Ok(view)
    }

    pub fn approve(&self, id: &str, actor: &Actor) -> ApiResult<NodeView> {
        let wall = Utc::now();
        let twins: Vec<String> = {
            let fleet = self.fleet.read();
            let live = fleet.get(id)?;
            fleet.twins(&live.rec).map(str::to_string).collect()
        };
        let detail = if twins.is_empty() {
            String::new()
        } else {
            format!("same machine name as {}", twins.join(", "))
        };
        let view = self.mutate_node(
            id,
            |live| {
                if live.rec.approved {
                    Err(ApiError::conflict(
                        "not_pending",
                        format!(
                            "node {id} is already approved; only a pending node can be approved"
                        ),
                    ))
                } else {
                    Ok(())
                }
            },
            |rec| {
                rec.approved = true;
                rec.approved_at = Some(wall);
            },
            actor.ok("node.approve", id, detail),
        )?;
        tracing::info!(node_id = id, machine_name = %view.machine_name, "node approved");
        Ok(view)
    }

    pub fn patch(&self, id: &str, p: &PatchNodeRequest, actor: &Actor) -> ApiResult<NodeView> {
        let fields: Vec<&str> = [
            ("custom_name", p.custom_name.is_some()),
            ("notes", p.notes.is_some()),
            ("tags", p.tags.is_some()),
        ]
        .into_iter()
        .filter_map(|(f, set)| set.then_some(f))
        .collect();
        self.mutate_node(
            id,
            |_| Ok(()),
            |rec| {
                if let Some(v) = &p.custom_name {
                    rec.custom_name.clone_from(v);
                }
                if let Some(v) = &p.notes {
                    rec.notes.clone_from(v);
                }
                if let Some(v) = &p.tags {
                    rec.tags = v.clone().unwrap_or_default();
                }
            },
            actor.ok("node.edit", id, format!("set {}", fields.join(", "))),
        )
    }

    pub fn set_drained(&self, id: &str, drained: bool, actor: &Actor) -> ApiResult<NodeView> {
        let action = if drained {
            "node.drain"
        } else {
            "node.undrain"
        };
        self.mutate_node(
            id,
            |_| Ok(()),
            |rec| rec.drained = drained,
            actor.ok(action, id, ""),
        )
    }

    /// Removes a node and revokes its tokens.
    pub fn delete(&self, id: &str, actor: &Actor) -> ApiResult<()> {
        let mut store = self.store.lock();
        let name = {
            let fleet = self.fleet.read();
            fleet.get(id)?.rec.machine_name.clone()
        };
        let audit = actor.ok("node.remove", id, format!("machine name {name}"));
        store.transaction(|tx| {
            node_store::delete(tx, id)?;
            audit_store::insert(tx, &audit)
        })?;
        self.fleet.write().remove(id);
        self.touch_routing();
        tracing::info!(node_id = id, "node removed");
        Ok(())
    }

    /// Starts a rotation: a successor token is handed to the node in its next
    /// heartbeat reply; the current one works until the node uses the
    /// successor or `grace` runs out.
    pub fn rotate(
        &self,
        id: &str,
        grace: Option<Duration>,
        actor: &Actor,
    ) -> ApiResult<RotateTokenResponse> {
        let grace = grace.unwrap_or(self.cfg.default_grace);
        let mut store = self.store.lock();
        self.rotate_locked(&mut store, id, grace, actor, "token.rotate")
    }

    fn rotate_locked(
        &self,
        store: &mut Store,
        id: &str,
        grace: Duration,
        actor: &Actor,
        action: &'static str,
    ) -> ApiResult<RotateTokenResponse> {
        {
            let fleet = self.fleet.read();
            if fleet.get(id)?.token.is_none() {
                return Err(ApiError::conflict(
                    "no_token",
                    format!(
                        "node {id} has no runtime token to rotate; it gets one when it registers"
                    ),
                ));
            }
        }
        let wall = Utc::now();
        let expires_at = wall
            + chrono::Duration::from_std(grace).map_err(|_| {
                ApiError::bad_request("invalid_grace", "the grace period is too long")
            })?;
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
        let live = fleet
            .nodes
            .get_mut(id)
            .expect("checked under the store lock");
        let previous = live.rotation.replace(Rotation {
            next_hash: row.hash,
            next: Some(next),
            started_at: wall,
            deadline: Instant::now() + grace,
            delivered: false,
        });
        if let Some(p) = previous {
            fleet.tokens.remove(&p.next_hash);
        }
        fleet.tokens.insert(
            row.hash,
            (
                id.to_string(),
                TokenRef {
                    kind: TokenKind::Next,
                },
            ),
        );
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

    /// Revokes every token of a node at once; it must register again.
    pub fn revoke(&self, id: &str, actor: &Actor) -> ApiResult<RevokeTokenResponse> {
        let mut store = self.store.lock();
        if !self.contains(id) {
            return Err(ApiError::node_not_found(id));
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

    // ----- import ------------------------------------------------------

    /// Writes imported records in one transaction, then adds them to memory.
    /// `decide` is called under the store lock with whether each id exists
    /// and returns whether to write the record.
    pub fn import_records(
        &self,
        records: Vec<NodeRecord>,
        mut decide: impl FnMut(&NodeRecord, bool) -> bool,
        dry_run: bool,
        actor: &Actor,
    ) -> ApiResult<()> {
        let mut store = self.store.lock();
        let mut updated = 0;
        let chosen: Vec<NodeRecord> = {
            let fleet = self.fleet.read();
            records
                .into_iter()
                .filter(|r| {
                    let exists = fleet.nodes.contains_key(&r.id);
                    let take = decide(r, exists);
                    updated += usize::from(take && exists);
                    take
                })
                .collect()
        };
        if dry_run || chosen.is_empty() {
            return Ok(());
        }
        let audit = actor.did(
            "import.nodes",
            None,
            "ok",
            format!("{} imported, {updated} updated", chosen.len() - updated),
        );
        store.transaction(|tx| {
            for rec in &chosen {
                node_store::save(tx, rec)?;
            }
            audit_store::insert(tx, &audit)
        })?;
        let mut fleet = self.fleet.write();
        for rec in chosen {
            match fleet.nodes.get_mut(&rec.id) {
                Some(live) => {
                    let (old_name, old_port) =
                        (live.rec.machine_name.clone(), live.rec.runtime_port);
                    let (name, port, id) =
                        (rec.machine_name.clone(), rec.runtime_port, rec.id.clone());
                    live.rec = rec;
                    live.touch();
                    fleet.unlink_identity(&old_name, old_port, &id);
                    fleet.link_identity(&name, port, &id);
                }
                None => fleet.insert(LiveNode::new(rec)),
            }
        }
        drop(fleet);
        self.touch_routing();
        Ok(())
    }

    // ----- background work --------------------------------------------

    /// Writes heartbeat data of dirty nodes in one transaction. Returns how
    /// many nodes were written.
    pub fn flush(&self) -> Result<usize, StoreError> {
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
        let result = self.store.lock().transaction(|tx| {
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

    /// Builds the cached listing fragments that changes have dropped, so that
    /// the next `GET /v0/nodes` does not pay for them. Background work, done
    /// under the read lock in chunks. Returns how many were built.
    pub fn warm_listing(&self) -> usize {
        let stale: Vec<String> = {
            let fleet = self.fleet.read();
            fleet
                .nodes
                .values()
                .filter(|n| !n.has_fragment())
                .map(|n| n.rec.id.clone())
                .collect()
        };
        for chunk in stale.chunks(LOCK_CHUNK) {
            let fleet = self.fleet.read();
            for n in chunk.iter().filter_map(|id| fleet.nodes.get(id)) {
                n.fragment();
            }
        }
        stale.len()
    }

    /// Checkpoints the WAL into the database file on a connection of its
    /// own, so commits (registrations, approvals) are not held up.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        match self.checkpointer.lock().as_ref() {
            Some(c) => Store::checkpoint(c),
            None => Ok(()),
        }
    }

    /// Periodic upkeep: nodes that went offline, rotations whose grace ran
    /// out, and automatic rotation of tokens older than the configured age.
    pub fn sweep(&self) -> ApiResult<()> {
        let now = Instant::now();
        let wall = Utc::now();
        let timeout = self.cfg.node_timeout;
        let mut expired = false;
        let mut went_offline = false;
        let mut too_old = Vec::new();
        {
            let mut fleet = self.fleet.write();
            for live in fleet.nodes.values_mut() {
                if live.rec.online_since.is_some() && !live.is_live(now, timeout) {
                    live.rec.online_since = None;
                    live.dirty = true;
                    went_offline = true;
                    tracing::warn!(
                        node_id = %live.rec.id,
                        machine_name = %live.rec.machine_name,
                        "node went offline: no heartbeat within {}s",
                        timeout.as_secs()
                    );
                }
                if live.rotation.as_ref().is_some_and(|r| now >= r.deadline) {
                    expired = true;
                } else if let (Some(max), Some(t)) = (self.cfg.token_max_age, &live.token) {
                    if (wall - t.created_at).to_std().is_ok_and(|age| age >= max) {
                        too_old.push(live.rec.id.clone());
                    }
                }
            }
        }
        if went_offline {
            self.touch_routing();
        }
        if expired {
            self.end_expired_rotations(now)?;
        }
        if !too_old.is_empty() {
            let mut store = self.store.lock();
            for id in &too_old {
                // The node may have been removed since the scan.
                let daemon = Actor::daemon();
                match self.rotate_locked(
                    &mut store,
                    id,
                    self.cfg.default_grace,
                    &daemon,
                    "token.auto_rotate",
                ) {
                    Ok(_)
                    | Err(ApiError {
                        code: "node_not_found" | "no_token",
                        ..
                    }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }
}

impl Registry {
    /// Rotations whose grace period is over: the old token dies. A successor
    /// that reached the node becomes its token; one that never did dies too,
    /// and the node must register again. Decided under the store lock, so a
    /// node picking up its successor meanwhile is seen.
    fn end_expired_rotations(&self, now: Instant) -> ApiResult<()> {
        let mut store = self.store.lock();
        let expired: Vec<(String, bool)> = self
            .fleet
            .read()
            .nodes
            .values()
            .filter_map(|n| {
                let r = n.rotation.as_ref().filter(|r| now >= r.deadline)?;
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
    fleet.tokens.insert(
        rot.next_hash,
        (
            node_id.to_string(),
            TokenRef {
                kind: TokenKind::Current,
            },
        ),
    );
}

fn bad_token() -> ApiError {
    ApiError::unauthorized(
        "invalid_node_token",
        "the X-Node-Token header does not hold a valid runtime token; register the node again \
         with POST /v0/nodes",
    )
}

fn expired_token() -> ApiError {
    ApiError::unauthorized(
        "token_expired",
        "this runtime token was rotated and its grace period is over; register the node again \
         with POST /v0/nodes",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::nodes::GpuDevice;

    fn registry() -> Registry {
        Registry::load(
            Store::open_in_memory().unwrap(),
            RegistryConfig {
                heartbeat_interval: Duration::from_secs(10),
                node_timeout: Duration::from_secs(30),
                default_grace: Duration::from_secs(600),
                token_max_age: None,
            },
        )
        .unwrap()
    }

    fn register(r: &Registry, name: &str) -> RegisterNodeResponse {
        r.register(
            ValidRegistration {
                machine_name: name.into(),
                ip_address: "2001:db8::1".parse().unwrap(),
                runtime_version: "v1".into(),
                runtime_port: 8080,
                node_api_port: 8081,
                gpu: GpuSummary {
                    available: true,
                    devices: vec![GpuDevice {
                        model: "H100".into(),
                        count: 8,
                        memory: Some(80),
                    }],
                    ..Default::default()
                },
                supported_runtimes: vec!["llama_cpp".into()],
                tags: vec!["a\"b".into()],
            },
            RegisterContext {
                proof: None,
                join: None,
                join_required: false,
                max_pending: 1000,
                source: None,
            },
        )
        .unwrap()
        .response
    }

    fn listed(r: &Registry) -> serde_json::Value {
        let mut bytes = Vec::new();
        r.list_json(None, |p| {
            bytes.extend(p);
            true
        });
        serde_json::from_slice(&bytes).expect("the listing is JSON")
    }

    #[test]
    fn listing_matches_the_node_view() {
        let r = registry();
        let a = register(&r, "gpu-a");
        let b = register(&r, "gpu-b");
        let check = |r: &Registry| {
            let list = listed(r);
            let list = list.as_array().unwrap();
            assert_eq!(list.len(), 2);
            for item in list {
                let id = item["id"].as_str().unwrap();
                // Through text, as a client sees it (an f32 turned into a
                // Value directly would widen to f64 digits).
                let view = serde_json::to_string(&r.get(id).unwrap()).unwrap();
                let view: serde_json::Value = serde_json::from_str(&view).unwrap();
                assert_eq!(item, &view, "listing and view differ for {id}");
            }
        };
        check(&r);
        // After each kind of change the cached part is rebuilt.
        let token = Secret::new(a.runtime_token.clone()).hash();
        let hb = HeartbeatRequest {
            node_id: a.node_id.clone(),
            cpu_usage: 12.5,
            loaded_models: vec!["m".into()],
            ready_models: Some([1, 1]),
            ..Default::default()
        };
        r.heartbeat(&token, &hb).unwrap();
        check(&r);
        // A heartbeat that changes only metrics keeps the cached part; one
        // that changes the model list drops it, and warming rebuilds it.
        assert_eq!(r.warm_listing(), 0);
        r.heartbeat(
            &token,
            &HeartbeatRequest {
                cpu_usage: 0.1,
                ..hb.clone()
            },
        )
        .unwrap();
        assert_eq!(r.warm_listing(), 0);
        check(&r);
        r.heartbeat(
            &token,
            &HeartbeatRequest {
                loaded_models: vec![],
                ..hb.clone()
            },
        )
        .unwrap();
        assert_eq!(r.warm_listing(), 1);
        assert_eq!(r.warm_listing(), 0);
        check(&r);
        r.approve(&a.node_id, &Actor::daemon()).unwrap();
        check(&r);
        r.patch(
            &b.node_id,
            &PatchNodeRequest {
                custom_name: Some(Some("Küche \"3\"".into())),
                notes: Some(Some("line\nbreak".into())),
                tags: None,
            },
            &Actor::daemon(),
        )
        .unwrap();
        check(&r);
        r.rotate(&a.node_id, None, &Actor::daemon()).unwrap();
        check(&r);
        r.revoke(&b.node_id, &Actor::daemon()).unwrap();
        check(&r);
        assert_eq!(listed(&r)[0]["status"], "online");
    }
}
