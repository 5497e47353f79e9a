//! `GET /v0/nodes` and `GET /v0/nodes/{id}`, and the status counts.
//!
//! The listing is written by hand ([`jsonw`]) for speed: per node, the
//! fields that depend on the time of asking or change with every heartbeat
//! are written each time, the rest comes from a fragment cached on the node
//! and rebuilt only after the record changes.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::fleet::{derive_status, At, LiveNode, Twins};
use super::{Registry, RegistryError, LOCK_CHUNK};
use crate::api::nodes::{GpuDevice, NodeStatus, NodeView};
use crate::api::status::NodeCounts;
use crate::daemon::jsonw;

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
    /// Appends this node's listing JSON to `out`: the fields that change
    /// with time or with every heartbeat written now, the rest from the
    /// cache (built here when missing).
    fn write_json(&self, out: &mut Vec<u8>, twins: Twins<'_>, at: At) {
        let live = self.is_live(at.now, at.timeout);
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
        jsonw::opt(out, self.token_age_secs(at.wall), jsonw::int);
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
    pub(super) fn fragment(&self) -> Arc<[u8]> {
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
}

impl Registry {
    /// Every node (or those with `filter`'s status) as the JSON array of
    /// `GET /v0/nodes`, in registration order, handed to `emit` in pieces of
    /// a few hundred nodes: the fleet lock is never held for long, and the
    /// whole answer never sits in memory at once. Stops early when `emit`
    /// returns false (the client went away).
    pub fn list_json(&self, filter: Option<NodeStatus>, mut emit: impl FnMut(Vec<u8>) -> bool) {
        let at = self.at();
        let mut order: Vec<(DateTime<Utc>, String)> = {
            let fleet = self.fleet.read();
            fleet
                .nodes
                .values()
                .filter(|n| filter.is_none_or(|f| n.status(at.now, at.timeout) == f))
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
                    n.write_json(&mut out, fleet.twins(&n.rec), at);
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

    pub fn get(&self, id: &str) -> Result<NodeView, RegistryError> {
        let fleet = self.fleet.read();
        let live = fleet.get(id)?;
        Ok(live.view(fleet.twins(&live.rec), self.at()))
    }

    pub fn counts(&self) -> NodeCounts {
        let now = self.clock.now_instant();
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
}
