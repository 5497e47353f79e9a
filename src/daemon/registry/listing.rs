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
use crate::store::nodes::NodeRecord;

/// The fields of [`NodeView`], in two groups, defined once here:
///
/// - `record`: what comes straight from the stored record (the JSON name,
///   the type as borrowed, and where it is in the record `r`). They form
///   [`StaticFields`], serialized into the listing fragment each node
///   caches, and are copied into a [`NodeView`] by `to_owned`.
/// - `timed`: what depends on the time of asking or changes with every
///   heartbeat ([`TimedFields`]), computed per request by
///   [`LiveNode::timed`] and written by hand into every listing (`jsonw`,
///   for speed) and into every view.
///
/// A field of `NodeView` missing from both lists does not compile; the
/// `listing_matches_the_node_view` test holds the hand-written part of the
/// listing to the view.
macro_rules! node_view_fields {
    ($r:ident;
     record { $($name:ident: $ty:ty = $get:expr),+ $(,)? }
     timed { $($tname:ident: $tty:ty),+ $(,)? }) => {
        #[derive(Serialize)]
        struct StaticFields<'a> {
            $($name: $ty),+
        }

        impl<'a> StaticFields<'a> {
            fn of($r: &'a NodeRecord) -> StaticFields<'a> {
                StaticFields { $($name: $get),+ }
            }
        }

        struct TimedFields {
            $($tname: $tty),+
        }

        fn node_view(s: StaticFields<'_>, t: TimedFields) -> NodeView {
            NodeView {
                $($name: s.$name.to_owned(),)+
                $($tname: t.$tname),+
            }
        }
    };
}

node_view_fields! { r;
    record {
        id: &'a str = &r.id,
        machine_name: &'a str = &r.machine_name,
        custom_name: &'a Option<String> = &r.custom_name,
        ip_address: &'a str = &r.ip_address,
        runtime_version: &'a str = &r.runtime_version,
        runtime_port: u16 = r.runtime_port,
        node_api_port: u16 = r.node_api_port,
        approved: bool = r.approved,
        drained: bool = r.drained,
        registered_at: &'a DateTime<Utc> = &r.registered_at,
        approved_at: &'a Option<DateTime<Utc>> = &r.approved_at,
        gpu_available: bool = r.gpu.available,
        gpu_devices: &'a [GpuDevice] = &r.gpu.devices,
        gpu_count: Option<u32> = r.gpu.count,
        gpu_model: &'a Option<String> = &r.gpu.model,
        gpu_model_name: &'a Option<String> = &r.gpu.model_name,
        gpu_compute_capability: &'a Option<String> = &r.gpu.compute_capability,
        gpu_capability_score: Option<u32> = r.gpu.capability_score,
        loaded_models: &'a [String] = &r.models.llm,
        loaded_embedding_models: &'a [String] = &r.models.embedding,
        loaded_asr_models: &'a [String] = &r.models.asr,
        loaded_tts_models: &'a [String] = &r.models.tts,
        supported_runtimes: &'a [String] = &r.supported_runtimes,
        tags: &'a [String] = &r.tags,
        notes: &'a Option<String> = &r.notes,
    }
    timed {
        status: NodeStatus,
        online_since: Option<DateTime<Utc>>,
        token_age_secs: Option<u64>,
        token_rotation_pending: bool,
        last_seen: Option<DateTime<Utc>>,
        initializing: bool,
        ready_models: Option<[u32; 2]>,
        cpu_usage: Option<f32>,
        memory_usage: Option<f32>,
        gpu_usage: Option<f32>,
        gpu_memory_usage: Option<f32>,
        active_requests: Option<u32>,
        average_response_time_ms: Option<f32>,
        metrics_updated_at: Option<DateTime<Utc>>,
        same_machine_name_as: Vec<String>,
    }
}

impl LiveNode {
    /// The fields that depend on the time of asking, or change with every
    /// heartbeat.
    fn timed(&self, twins: Twins<'_>, at: At) -> TimedFields {
        let r = &self.rec;
        let m = &r.metrics;
        let live = self.is_live(at.now, at.timeout);
        TimedFields {
            status: derive_status(r, live),
            // The sweeper clears it within a second; don't show it meanwhile.
            online_since: r.online_since.filter(|_| live),
            token_age_secs: self.token_age_secs(at.wall),
            token_rotation_pending: self.rotation.is_some(),
            last_seen: r.last_seen,
            initializing: r.initializing,
            ready_models: r.ready_models,
            cpu_usage: m.cpu_usage,
            memory_usage: m.memory_usage,
            gpu_usage: m.gpu_usage,
            gpu_memory_usage: m.gpu_memory_usage,
            active_requests: m.active_requests,
            average_response_time_ms: m.average_response_time_ms,
            metrics_updated_at: m.updated_at,
            same_machine_name_as: twins.map(str::to_string).collect(),
        }
    }

    /// The node as `GET /v0/nodes/{id}` shows it.
    pub(super) fn view(&self, twins: Twins<'_>, at: At) -> NodeView {
        node_view(StaticFields::of(&self.rec), self.timed(twins, at))
    }

    /// Appends this node's listing JSON to `out`: the timed fields written
    /// now, the rest from the cache (built here when missing).
    fn write_json(&self, out: &mut Vec<u8>, twins: Twins<'_>, at: At) {
        let fragment = self.fragment();
        let t = self.timed(twins, at);
        out.push(b'{');
        jsonw::key(out, "status");
        out.push(b'"');
        out.extend_from_slice(t.status.as_str().as_bytes());
        out.extend_from_slice(b"\",");
        jsonw::key(out, "online_since");
        jsonw::opt(out, t.online_since.as_ref(), jsonw::time);
        out.push(b',');
        jsonw::key(out, "token_age_secs");
        jsonw::opt(out, t.token_age_secs, |out, s| jsonw::int(out, s as i64));
        out.push(b',');
        jsonw::key(out, "token_rotation_pending");
        jsonw::bool(out, t.token_rotation_pending);
        out.push(b',');
        jsonw::key(out, "last_seen");
        jsonw::opt(out, t.last_seen.as_ref(), jsonw::time);
        out.push(b',');
        jsonw::key(out, "initializing");
        jsonw::bool(out, t.initializing);
        out.push(b',');
        jsonw::key(out, "ready_models");
        jsonw::opt(out, t.ready_models, |out, [ready, total]| {
            out.push(b'[');
            jsonw::uint(out, ready);
            out.push(b',');
            jsonw::uint(out, total);
            out.push(b']');
        });
        for (name, v) in [
            ("cpu_usage", t.cpu_usage),
            ("memory_usage", t.memory_usage),
            ("gpu_usage", t.gpu_usage),
            ("gpu_memory_usage", t.gpu_memory_usage),
        ] {
            out.push(b',');
            jsonw::key(out, name);
            jsonw::opt(out, v, jsonw::float);
        }
        out.push(b',');
        jsonw::key(out, "active_requests");
        jsonw::opt(out, t.active_requests, jsonw::uint);
        out.push(b',');
        jsonw::key(out, "average_response_time_ms");
        jsonw::opt(out, t.average_response_time_ms, jsonw::float);
        out.push(b',');
        jsonw::key(out, "metrics_updated_at");
        jsonw::opt(out, t.metrics_updated_at.as_ref(), jsonw::time);
        out.push(b',');
        jsonw::key(out, "same_machine_name_as");
        out.push(b'[');
        for (i, id) in t.same_machine_name_as.iter().enumerate() {
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
        serde_json::to_vec(&StaticFields::of(&self.rec)).expect("node fields always serialize")
    }
}

impl Registry {
    /// Every node (or those with `filter`'s status) as the JSON array of
    /// `GET /v0/nodes`, in registration order, handed to `emit` in pieces of
    /// a few hundred nodes: the fleet lock is never held for long, and the
    /// whole answer never sits in memory at once. Stops early when `emit`
    /// returns false (the client went away).
    pub(crate) fn list_json(
        &self,
        filter: Option<NodeStatus>,
        mut emit: impl FnMut(Vec<u8>) -> bool,
    ) {
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

    pub(crate) fn get(&self, id: &str) -> Result<NodeView, RegistryError> {
        let fleet = self.fleet.read();
        let live = fleet.get(id)?;
        Ok(live.view(fleet.twins(&live.rec), self.at()))
    }

    pub(crate) fn counts(&self) -> NodeCounts {
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
    pub(crate) fn warm_listing(&self) -> usize {
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
