//! The fleet in memory: one [`LiveNode`] per node, the index of runtime
//! tokens, and the index of identities (machine name and runtime port) that
//! tells twins apart. Lookups only; what changes it lives beside it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use parking_lot::Mutex;

use super::error::RegistryError;
use crate::api::nodes::NodeStatus;
use crate::secret::{Secret, TokenHash};
use crate::store::nodes::NodeRecord;
use crate::store::tokens::TokenKind;

/// A runtime token a node holds.
#[derive(Debug, Clone)]
pub(super) struct TokenInfo {
    pub(super) hash: TokenHash,
    pub(super) created_at: DateTime<Utc>,
}

/// A rotation under way: the successor token, kept in plain text only in
/// memory (the database has its hash) until the node has picked it up.
#[derive(Debug, Clone)]
pub(super) struct Rotation {
    /// What heartbeat replies hand out. `None` after a restart when the
    /// successor had already gone out: only its hash survived, and the node
    /// holds it (so it is still accepted), but it cannot be sent again.
    pub(super) next: Option<Secret>,
    pub(super) next_hash: TokenHash,
    pub(super) started_at: DateTime<Utc>,
    pub(super) deadline: Instant,
    /// A heartbeat reply carried the successor, so the node may hold it.
    /// Committed before that reply is sent.
    pub(super) delivered: bool,
}

impl Rotation {
    /// The grace period is over: the old token no longer works.
    pub(super) fn is_over(&self, now: Instant) -> bool {
        now >= self.deadline
    }
}

#[derive(Debug)]
pub(super) struct LiveNode {
    pub(super) rec: NodeRecord,
    pub(super) last_heartbeat: Option<Instant>,
    pub(super) dirty: bool,
    pub(super) models_dirty: bool,
    pub(super) token: Option<TokenInfo>,
    pub(super) rotation: Option<Rotation>,
    /// The node's JSON for listings, without the fields that depend on the
    /// time of asking; rebuilt after `rec` changes (see [`LiveNode::touch`]).
    pub(super) json: Mutex<Option<Arc<[u8]>>>,
}

impl LiveNode {
    pub(super) fn new(rec: NodeRecord) -> LiveNode {
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
    pub(super) fn touch(&mut self) {
        *self.json.get_mut() = None;
    }

    pub(super) fn is_live(&self, now: Instant, timeout: Duration) -> bool {
        self.last_heartbeat
            .is_some_and(|t| now.saturating_duration_since(t) < timeout)
    }

    pub(super) fn status(&self, now: Instant, timeout: Duration) -> NodeStatus {
        derive_status(&self.rec, self.is_live(now, timeout))
    }

    /// Seconds since the node got its current token.
    pub(super) fn token_age_secs(&self, wall: DateTime<Utc>) -> Option<u64> {
        self.token
            .as_ref()
            .map(|t| (wall - t.created_at).num_seconds().max(0) as u64)
    }
}

/// The moment a view or listing is made: both clocks read once, and the
/// offline timeout they are judged by.
#[derive(Debug, Clone, Copy)]
pub(super) struct At {
    pub(super) now: Instant,
    pub(super) wall: DateTime<Utc>,
    pub(super) timeout: Duration,
}

/// The status rule (README, "How nodes come and go"): pending until approved; then offline when not
/// live, online when its models are ready, else registering.
pub(crate) fn derive_status(rec: &NodeRecord, live: bool) -> NodeStatus {
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

#[derive(Default)]
pub(super) struct Fleet {
    pub(super) nodes: HashMap<String, LiveNode>,
    /// Token hash → (node id, which token).
    pub(super) tokens: HashMap<TokenHash, (String, TokenKind)>,
    /// machine_name → (runtime_port, node id) of every node with that name,
    /// in registration order: the nodes that share an identity.
    identity: HashMap<String, Vec<(u16, String)>>,
}

/// Most ids a node lists in `same_machine_name_as`: a thousand strangers
/// registering one name must not make every listing quadratic.
pub(crate) const MAX_TWINS_SHOWN: usize = 16;

/// The ids of the other nodes with a node's machine name and runtime port,
/// oldest first, at most [`MAX_TWINS_SHOWN`].
pub(super) struct Twins<'a> {
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
    pub(super) fn twins<'a>(&'a self, rec: &'a NodeRecord) -> Twins<'a> {
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
    pub(super) fn same_identity<'a>(
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

    /// The node a runtime token belongs to, and which of its tokens it is.
    pub(super) fn by_token(&self, hash: &TokenHash) -> Option<(&LiveNode, TokenKind)> {
        let (id, kind) = self.tokens.get(hash)?;
        Some((self.nodes.get(id)?, *kind))
    }

    pub(super) fn link_identity(&mut self, machine_name: &str, runtime_port: u16, id: &str) {
        let list = self.identity.entry(machine_name.to_string()).or_default();
        if !list.iter().any(|(p, i)| *p == runtime_port && i == id) {
            list.push((runtime_port, id.to_string()));
        }
    }

    pub(super) fn unlink_identity(&mut self, machine_name: &str, runtime_port: u16, id: &str) {
        if let Some(list) = self.identity.get_mut(machine_name) {
            list.retain(|(p, i)| !(*p == runtime_port && i == id));
            if list.is_empty() {
                self.identity.remove(machine_name);
            }
        }
    }

    pub(super) fn insert(&mut self, live: LiveNode) {
        let id = live.rec.id.clone();
        self.link_identity(&live.rec.machine_name, live.rec.runtime_port, &id);
        if let Some(t) = &live.token {
            self.tokens.insert(t.hash, (id.clone(), TokenKind::Current));
        }
        if let Some(r) = &live.rotation {
            self.tokens
                .insert(r.next_hash, (id.clone(), TokenKind::Next));
        }
        self.nodes.insert(id, live);
    }

    pub(super) fn forget_tokens(&mut self, id: &str) {
        if let Some(n) = self.nodes.get_mut(id) {
            if let Some(t) = n.token.take() {
                self.tokens.remove(&t.hash);
            }
            if let Some(r) = n.rotation.take() {
                self.tokens.remove(&r.next_hash);
            }
        }
    }

    pub(super) fn remove(&mut self, id: &str) -> Option<LiveNode> {
        self.forget_tokens(id);
        let live = self.nodes.remove(id)?;
        self.unlink_identity(&live.rec.machine_name, live.rec.runtime_port, id);
        Some(live)
    }

    /// A node that the caller, holding the store lock, found moments ago:
    /// nodes are removed only under that lock.
    pub(super) fn checked_mut(&mut self, id: &str) -> &mut LiveNode {
        self.nodes
            .get_mut(id)
            .expect("nodes are removed only under the store lock")
    }

    pub(super) fn get(&self, id: &str) -> Result<&LiveNode, RegistryError> {
        self.nodes
            .get(id)
            .ok_or_else(|| RegistryError::NodeNotFound(id.to_string()))
    }
}
