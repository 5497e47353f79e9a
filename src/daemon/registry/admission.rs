//! Registration and approval: who a registration is (a known node proving
//! itself, an unclaimed imported record, or a new node), whether it may
//! come in (join token, room under `--max-pending`), and an administrator
//! admitting a pending node.
//!
//! [`Registry::register`] runs its steps under the store lock: [`admit`]
//! decides from memory, [`new_record`] builds what is saved, [`audit_rows`]
//! says what happened, [`commit`] writes it all in one transaction, and
//! only then [`Registry::apply_registration`] changes memory.
//!
//! [`admit`]: Registry::admit

use std::net::IpAddr;
use std::time::Instant;

use chrono::{DateTime, Utc};

use super::fleet::{Fleet, LiveNode, TokenInfo, MAX_TWINS_SHOWN};
use super::{Registry, RegistryError, ValidRegistration};
use crate::api::nodes::{NodeView, RegisterNodeResponse, RegistrationOutcome};
use crate::daemon::audit::Actor;
use crate::daemon::join_tokens::{Grant, JoinTokens};
use crate::secret::{Secret, TokenHash, RUNTIME_TOKEN_PREFIX};
use crate::store::audit::{self as audit_store, AuditRow};
use crate::store::join_tokens as join_store;
use crate::store::nodes::{self as node_store, GpuSummary, NodeRecord};
use crate::store::tokens::{self as token_store, TokenKind, TokenRow};
use crate::store::Store;

/// What decides how a registration is admitted, besides its body.
#[derive(Clone, Copy)]
pub(crate) struct RegisterContext<'a> {
    /// The hash of its `X-Node-Token`.
    pub proof: Option<TokenHash>,
    /// The join tokens and the hash of its `X-Join-Token`.
    pub join: Option<(&'a JoinTokens, TokenHash)>,
    /// `--registration join-token`: a registration that neither proves
    /// itself nor carries a join token is refused.
    pub join_required: bool,
    pub max_pending: usize,
    /// Where the registration came from, for the audit trail.
    pub source: Option<IpAddr>,
}

/// What a registration did.
#[derive(Debug)]
pub(crate) struct Registered {
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

/// The decision on a registration, made from memory under the store lock.
struct Admission {
    /// The known node it becomes (proven, or an imported record it claims);
    /// taken out to build the record to save.
    existing: Option<NodeRecord>,
    /// Whether it becomes a known node (`Updated`) or a new one.
    outcome: RegistrationOutcome,
    proven: bool,
    /// Other nodes with its machine name and runtime port.
    twins: Vec<String>,
    grant: Option<Grant>,
}

impl Admission {
    fn auto_approve(&self) -> bool {
        self.grant.as_ref().is_some_and(|g| g.auto_approve)
    }
}

impl Registry {
    /// Registers a machine. It changes a known node (same machine name and
    /// runtime port) only when it proves to be that node with `proof`, the
    /// hash of its `X-Node-Token` (its current token, or the old one within a
    /// rotation's grace), or when the known node is an imported record that no
    /// machine has claimed yet. Every other registration becomes a node of its
    /// own, leaving the known ones untouched, so nobody takes over a node by
    /// sending its name. Either way the node lands in `pending` with a new
    /// token, and any old token of it is revoked.
    pub(crate) fn register(
        &self,
        reg: ValidRegistration,
        ctx: RegisterContext<'_>,
    ) -> Result<Registered, RegistryError> {
        let mut store = self.db.lock();
        let wall = self.clock.now_utc();
        let now = self.clock.now_instant();
        let mut admission = self.admit(&reg, &ctx, now, wall)?;
        let auto_approved = admission.auto_approve();
        let rec = new_record(admission.existing.take(), reg, &admission, wall);
        let token = Secret::generate(RUNTIME_TOKEN_PREFIX);
        let row = TokenRow {
            node_id: rec.id.clone(),
            kind: TokenKind::Current,
            hash: token.hash(),
            created_at: wall,
            expires_at: None,
            delivered: false,
        };
        let audit = audit_rows(&admission, &rec, ctx.source);
        commit(
            &mut store,
            &rec,
            &row,
            &audit,
            admission.grant.as_ref(),
            wall,
        )?;
        if let (Some(g), Some((tokens, _))) = (&admission.grant, ctx.join) {
            tokens.used(&g.token_id, wall);
        }
        let (node_id, node_status, node_api_port) = self.apply_registration(rec, &row);
        drop(store);
        self.touch_routing();
        Ok(Registered {
            response: RegisterNodeResponse {
                node_id,
                status: admission.outcome,
                node_status,
                node_api_port,
                runtime_token: token.expose().to_string(),
                heartbeat_interval_secs: self.heartbeat_interval_secs(),
            },
            proven: admission.proven,
            same_machine_name_as: admission.twins,
            join_token: admission.grant.map(|g| g.token_id),
            auto_approved,
        })
    }

    /// Who the registration is, and whether it may come in: its proof, the
    /// join token, and the room left for pending nodes.
    fn admit(
        &self,
        reg: &ValidRegistration,
        ctx: &RegisterContext<'_>,
        now: Instant,
        wall: DateTime<Utc>,
    ) -> Result<Admission, RegistryError> {
        let fleet = self.fleet.read();
        let proven = ctx
            .proof
            .and_then(|hash| proven_node(&fleet, &hash, reg, now));
        let claimed = proven.or_else(|| unclaimed_import(&fleet, reg));
        let twins: Vec<String> = fleet
            .same_identity(&reg.machine_name, reg.runtime_port)
            .filter(|n| claimed.is_none_or(|c| c.rec.id != n.rec.id))
            .take(MAX_TWINS_SHOWN)
            .map(|n| n.rec.id.clone())
            .collect();
        // A join token is checked (and its use counted in `commit`) under the
        // store lock, so its uses hold under any concurrency. A node that
        // proved itself needs none.
        let grant = match ctx.join {
            Some((tokens, hash)) => Some(tokens.grant(&hash, wall)?),
            None => None,
        };
        if ctx.join_required && proven.is_none() && grant.is_none() {
            return Err(RegistryError::JoinTokenRequired);
        }
        let auto_approve = grant.as_ref().is_some_and(|g| g.auto_approve);
        if proven.is_none() && !auto_approve {
            // Only a registration that proves itself may add to the pending
            // nodes once there are many of them.
            let adds = claimed.is_none_or(|c| c.rec.approved);
            check_pending_room(&fleet, adds, ctx.max_pending)?;
        }
        Ok(Admission {
            outcome: match claimed {
                Some(_) => RegistrationOutcome::Updated,
                None => RegistrationOutcome::Registered,
            },
            existing: claimed.map(|n| n.rec.clone()),
            proven: proven.is_some(),
            twins,
            grant,
        })
    }

    /// After the commit: the node in memory gets its record and new token,
    /// and counts as just seen. Returns its id, status and API port.
    fn apply_registration(
        &self,
        mut rec: NodeRecord,
        row: &TokenRow,
    ) -> (String, crate::api::nodes::NodeStatus, u16) {
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
        let now = self.clock.now_instant();
        // A registration is a sign of life.
        live.last_heartbeat = Some(now);
        live.token = Some(TokenInfo {
            hash: row.hash,
            created_at: row.created_at,
        });
        let answer = (
            live.rec.id.clone(),
            live.status(now, self.cfg.node_timeout),
            live.rec.node_api_port,
        );
        fleet.insert(live);
        answer
    }

    pub(crate) fn approve(&self, id: &str, actor: &Actor) -> Result<NodeView, RegistryError> {
        let wall = self.clock.now_utc();
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
                    Err(RegistryError::NotPending(id.to_string()))
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
}

/// The known node that `hash` (its `X-Node-Token`) proves the registration
/// to be: same machine name and runtime port, and a token still valid.
fn proven_node<'a>(
    fleet: &'a Fleet,
    hash: &TokenHash,
    reg: &ValidRegistration,
    now: Instant,
) -> Option<&'a LiveNode> {
    let (n, kind) = fleet.by_token(hash)?;
    let dead = kind == TokenKind::Current && n.rotation.as_ref().is_some_and(|r| r.is_over(now));
    let same = n.rec.machine_name == reg.machine_name && n.rec.runtime_port == reg.runtime_port;
    (same && !dead).then_some(n)
}

/// The newest imported record of this machine name and runtime port that no
/// machine has claimed yet (it has no token).
fn unclaimed_import<'a>(fleet: &'a Fleet, reg: &ValidRegistration) -> Option<&'a LiveNode> {
    fleet
        .same_identity(&reg.machine_name, reg.runtime_port)
        .filter(|n| n.rec.imported_at.is_some() && n.token.is_none())
        .last()
}

/// Refuses a registration that would add a pending node when
/// `--max-pending` of them already wait.
fn check_pending_room(fleet: &Fleet, adds: bool, max_pending: usize) -> Result<(), RegistryError> {
    let pending = fleet.nodes.values().filter(|n| !n.rec.approved).count();
    if adds && pending >= max_pending {
        return Err(RegistryError::TooManyPending { pending });
    }
    Ok(())
}

/// The record to save: the known one (or a fresh one) with what the machine
/// reported now, back in `pending` unless its join token approves it.
fn new_record(
    existing: Option<NodeRecord>,
    reg: ValidRegistration,
    admission: &Admission,
    wall: DateTime<Utc>,
) -> NodeRecord {
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
    let granted_tags = admission.grant.iter().flat_map(|g| g.tags.iter().cloned());
    for t in reg.tags.into_iter().chain(granted_tags) {
        if !rec.tags.contains(&t) {
            rec.tags.push(t);
        }
    }
    if admission.auto_approve() {
        rec.approved = true;
        rec.approved_at = Some(wall);
    }
    rec
}

/// The audit rows of a registration: who registered, how it was matched,
/// the join token's use and an approval by it.
fn audit_rows(admission: &Admission, rec: &NodeRecord, source: Option<IpAddr>) -> Vec<AuditRow> {
    let registrant = match (&admission.grant, source) {
        (Some(g), _) => Actor::join_token(&g.token_id, source),
        (None, Some(ip)) => Actor::anonymous(ip),
        (None, None) => Actor::daemon(),
    };
    let how = match (
        admission.proven,
        admission.outcome,
        admission.twins.is_empty(),
    ) {
        (true, _, _) => "proved with its runtime token".to_string(),
        (false, RegistrationOutcome::Updated, _) => "claimed an imported record".to_string(),
        (false, _, true) => format!("new node {}", rec.machine_name),
        (false, _, false) => format!(
            "new node {}; same machine name as {}",
            rec.machine_name,
            admission.twins.join(", ")
        ),
    };
    let mut audit = Vec::with_capacity(3);
    audit.push(registrant.ok("node.register", &rec.id, how));
    if let Some(g) = &admission.grant {
        audit.push(registrant.ok("join_token.use", &g.token_id, format!("node {}", rec.id)));
        if g.auto_approve {
            audit.push(registrant.ok("node.auto_approve", &rec.id, "by its join token"));
        }
    }
    audit
}

/// One transaction: the join token's use, the node, its only token, the
/// audit rows.
fn commit(
    store: &mut Store,
    rec: &NodeRecord,
    row: &TokenRow,
    audit: &[AuditRow],
    grant: Option<&Grant>,
    wall: DateTime<Utc>,
) -> Result<(), RegistryError> {
    store.transaction(|tx| {
        if let Some(g) = grant {
            if !join_store::use_once(tx, &g.token_id, wall)? {
                return Err(RegistryError::JoinTokenUsedUp);
            }
        }
        node_store::save(tx, rec)?;
        token_store::delete_for_node(tx, &rec.id)?;
        token_store::insert(tx, row)?;
        for a in audit {
            audit_store::insert(tx, a)?;
        }
        Ok(())
    })
}
