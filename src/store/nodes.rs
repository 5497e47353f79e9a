//! The `nodes` table and its child tables.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{named_params, params, Connection, Row, ToSql};

use super::{opt_ts, read_req_ts, read_ts, ts, Result};
use crate::api::nodes::GpuDevice;

/// GPU facts a node reported at registration.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct GpuSummary {
    pub available: bool,
    pub devices: Vec<GpuDevice>,
    pub count: Option<u32>,
    pub model: Option<String>,
    pub model_name: Option<String>,
    pub compute_capability: Option<String>,
    pub capability_score: Option<u32>,
}

/// Latest metrics from a heartbeat; all absent until the first one.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct NodeMetrics {
    pub cpu_usage: Option<f32>,
    pub memory_usage: Option<f32>,
    pub gpu_usage: Option<f32>,
    pub gpu_memory_usage: Option<f32>,
    pub active_requests: Option<u32>,
    pub average_response_time_ms: Option<f32>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Models a node reported as loaded, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LoadedModels {
    pub llm: Vec<String>,
    pub embedding: Vec<String>,
    pub asr: Vec<String>,
    pub tts: Vec<String>,
}

impl LoadedModels {
    fn kinds(&self) -> [(&'static str, &Vec<String>); 4] {
        [
            ("llm", &self.llm),
            ("embedding", &self.embedding),
            ("asr", &self.asr),
            ("tts", &self.tts),
        ]
    }

    fn kind_mut(&mut self, kind: &str) -> Option<&mut Vec<String>> {
        match kind {
            "llm" => Some(&mut self.llm),
            "embedding" => Some(&mut self.embedding),
            "asr" => Some(&mut self.asr),
            "tts" => Some(&mut self.tts),
            _ => None,
        }
    }
}

/// Everything the database keeps about a node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NodeRecord {
    pub id: String,
    pub machine_name: String,
    pub custom_name: Option<String>,
    pub ip_address: String,
    pub runtime_version: String,
    pub runtime_port: u16,
    pub node_api_port: u16,
    pub approved: bool,
    pub drained: bool,
    pub registered_at: DateTime<Utc>,
    pub approved_at: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
    pub online_since: Option<DateTime<Utc>>,
    pub notes: Option<String>,
    pub gpu: GpuSummary,
    pub models: LoadedModels,
    pub supported_runtimes: Vec<String>,
    pub tags: Vec<String>,
    pub initializing: bool,
    pub ready_models: Option<[u32; 2]>,
    pub metrics: NodeMetrics,
    pub imported_at: Option<DateTime<Utc>>,
}

/// The columns of `nodes`: for each, the type SQLite gives back and how it is
/// written from a [`NodeRecord`]. Everything that names them is generated
/// from this one list: the column list of the `SELECT`, the upsert with its
/// named parameters, and [`NodeRow`], the row as read by column name.
/// `id` comes first (the upsert's conflict target and the row's key).
macro_rules! node_columns {
    ($n:ident;
     id: $id_ty:ty = $id_write:expr,
     $first:ident: $first_ty:ty = $first_write:expr,
     $($col:ident: $ty:ty = $write:expr),+ $(,)?) => {
        /// A row of `nodes` as SQLite gives it, before timestamps are parsed.
        // `updated_at` is written for people reading the database; the
        // daemon does not read it back.
        #[allow(dead_code)]
        struct NodeRow {
            id: $id_ty,
            $first: $first_ty,
            $($col: $ty),+
        }

        impl NodeRow {
            const COLUMNS: &'static str =
                concat!("id, ", stringify!($first) $(, ", ", stringify!($col))+);

            const UPSERT: &'static str = concat!(
                "INSERT INTO nodes (id, ", stringify!($first) $(, ", ", stringify!($col))+,
                ") VALUES (:id, :", stringify!($first) $(, ", :", stringify!($col))+,
                ") ON CONFLICT(id) DO UPDATE SET ",
                stringify!($first), " = excluded.", stringify!($first)
                $(, ", ", stringify!($col), " = excluded.", stringify!($col))+
            );

            /// Reads rows of `stmt` by column name; the names are looked
            /// up once here, not once per row.
            fn reader(
                stmt: &rusqlite::Statement<'_>,
            ) -> rusqlite::Result<impl Fn(&Row<'_>) -> rusqlite::Result<NodeRow>> {
                struct Index {
                    id: usize,
                    $first: usize,
                    $($col: usize),+
                }
                let at = Index {
                    id: stmt.column_index("id")?,
                    $first: stmt.column_index(stringify!($first))?,
                    $($col: stmt.column_index(stringify!($col))?),+
                };
                Ok(move |r: &Row<'_>| {
                    Ok(NodeRow {
                        id: r.get(at.id)?,
                        $first: r.get(at.$first)?,
                        $($col: r.get(at.$col)?),+
                    })
                })
            }

            /// Inserts or replaces the `nodes` row of `node`.
            fn upsert(conn: &Connection, $n: &NodeRecord) -> rusqlite::Result<usize> {
                conn.prepare_cached(Self::UPSERT)?.execute(&[
                    (":id", &$id_write as &dyn ToSql),
                    (concat!(":", stringify!($first)), &$first_write as &dyn ToSql),
                    $((concat!(":", stringify!($col)), &$write as &dyn ToSql)),+
                ] as &[(&str, &dyn ToSql)])
            }
        }
    };
}

node_columns! { n;
    id: String = n.id,
    machine_name: String = n.machine_name,
    custom_name: Option<String> = n.custom_name,
    ip_address: String = n.ip_address,
    runtime_version: String = n.runtime_version,
    runtime_port: u16 = n.runtime_port,
    node_api_port: u16 = n.node_api_port,
    admission: String = if n.approved { "approved" } else { "pending" },
    drained: bool = n.drained,
    registered_at: String = ts(n.registered_at),
    approved_at: Option<String> = opt_ts(n.approved_at),
    last_seen: Option<String> = opt_ts(n.last_seen),
    online_since: Option<String> = opt_ts(n.online_since),
    notes: Option<String> = n.notes,
    gpu_available: bool = n.gpu.available,
    gpu_count: Option<u32> = n.gpu.count,
    gpu_model: Option<String> = n.gpu.model,
    gpu_model_name: Option<String> = n.gpu.model_name,
    gpu_compute_capability: Option<String> = n.gpu.compute_capability,
    gpu_capability_score: Option<u32> = n.gpu.capability_score,
    initializing: bool = n.initializing,
    ready_models_ready: Option<u32> = n.ready_models.map(|r| r[0]),
    ready_models_total: Option<u32> = n.ready_models.map(|r| r[1]),
    cpu_usage: Option<f32> = n.metrics.cpu_usage,
    memory_usage: Option<f32> = n.metrics.memory_usage,
    gpu_usage: Option<f32> = n.metrics.gpu_usage,
    gpu_memory_usage: Option<f32> = n.metrics.gpu_memory_usage,
    active_requests: Option<u32> = n.metrics.active_requests,
    average_response_time_ms: Option<f32> = n.metrics.average_response_time_ms,
    metrics_updated_at: Option<String> = opt_ts(n.metrics.updated_at),
    imported_at: Option<String> = opt_ts(n.imported_at),
    // For people reading the database; the daemon never reads it back.
    updated_at: String = ts(Utc::now()),
}

/// Inserts or replaces a node with all its child rows.
pub(crate) fn save(conn: &Connection, node: &NodeRecord) -> Result<()> {
    NodeRow::upsert(conn, node)?;
    replace_children(conn, node)
}

fn replace_children(conn: &Connection, node: &NodeRecord) -> Result<()> {
    for table in ["node_gpu_devices", "node_supported_runtimes", "node_tags"] {
        conn.prepare_cached(&format!("DELETE FROM {table} WHERE node_id = ?1"))?
            .execute([&node.id])?;
    }
    let mut ins =
        conn.prepare_cached("INSERT INTO node_gpu_devices VALUES (?1, ?2, ?3, ?4, ?5)")?;
    for (i, d) in node.gpu.devices.iter().enumerate() {
        ins.execute(params![node.id, i, d.model, d.count, d.memory])?;
    }
    let mut ins =
        conn.prepare_cached("INSERT OR IGNORE INTO node_supported_runtimes VALUES (?1, ?2)")?;
    for r in &node.supported_runtimes {
        ins.execute(params![node.id, r])?;
    }
    let mut ins = conn.prepare_cached("INSERT OR IGNORE INTO node_tags VALUES (?1, ?2)")?;
    for t in &node.tags {
        ins.execute(params![node.id, t])?;
    }
    save_models(conn, &node.id, &node.models)
}

/// Replaces the loaded-model rows of a node.
pub(crate) fn save_models(conn: &Connection, node_id: &str, models: &LoadedModels) -> Result<()> {
    conn.prepare_cached("DELETE FROM node_loaded_models WHERE node_id = ?1")?
        .execute([node_id])?;
    let mut ins =
        conn.prepare_cached("INSERT OR IGNORE INTO node_loaded_models VALUES (?1, ?2, ?3)")?;
    for (kind, list) in models.kinds() {
        for m in list {
            ins.execute(params![node_id, kind, m])?;
        }
    }
    Ok(())
}

/// What a heartbeat changes, written behind in batches.
#[derive(Debug, Clone)]
pub(crate) struct HeartbeatUpdate {
    pub id: String,
    pub last_seen: Option<DateTime<Utc>>,
    pub online_since: Option<DateTime<Utc>>,
    pub initializing: bool,
    pub ready_models: Option<[u32; 2]>,
    pub metrics: NodeMetrics,
    /// Present when the model lists changed since the last write.
    pub models: Option<LoadedModels>,
}

/// Writes heartbeat data. A node deleted in the meantime is left deleted:
/// the UPDATE simply matches no row.
pub(crate) fn apply_heartbeat(conn: &Connection, u: &HeartbeatUpdate) -> Result<()> {
    let m = &u.metrics;
    let changed = conn
        .prepare_cached(
            "UPDATE nodes SET last_seen = :last_seen, online_since = :online_since, \
             initializing = :initializing, ready_models_ready = :ready_models_ready, \
             ready_models_total = :ready_models_total, cpu_usage = :cpu_usage, \
             memory_usage = :memory_usage, gpu_usage = :gpu_usage, \
             gpu_memory_usage = :gpu_memory_usage, active_requests = :active_requests, \
             average_response_time_ms = :average_response_time_ms, \
             metrics_updated_at = :metrics_updated_at WHERE id = :id",
        )?
        .execute(named_params! {
            ":id": u.id,
            ":last_seen": opt_ts(u.last_seen),
            ":online_since": opt_ts(u.online_since),
            ":initializing": u.initializing,
            ":ready_models_ready": u.ready_models.map(|r| r[0]),
            ":ready_models_total": u.ready_models.map(|r| r[1]),
            ":cpu_usage": m.cpu_usage,
            ":memory_usage": m.memory_usage,
            ":gpu_usage": m.gpu_usage,
            ":gpu_memory_usage": m.gpu_memory_usage,
            ":active_requests": m.active_requests,
            ":average_response_time_ms": m.average_response_time_ms,
            ":metrics_updated_at": opt_ts(m.updated_at),
        })?;
    if changed > 0 {
        if let Some(models) = &u.models {
            save_models(conn, &u.id, models)?;
        }
    }
    Ok(())
}

/// Deletes a node; its child rows and tokens go with it (foreign keys).
/// Returns whether it existed.
pub(crate) fn delete(conn: &Connection, id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM nodes WHERE id = ?1")?
        .execute([id])?
        > 0)
}

/// Whether a node with this id is stored.
#[cfg(test)]
pub(crate) fn exists(conn: &Connection, id: &str) -> Result<bool> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .prepare_cached("SELECT 1 FROM nodes WHERE id = ?1")?
        .query_row([id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Loads one node with its child rows.
#[cfg(test)]
pub(crate) fn load(conn: &Connection, id: &str) -> Result<Option<NodeRecord>> {
    Ok(load_where(conn, Some(id))?.pop())
}

/// Loads every node with its child rows, in registration order.
pub(crate) fn load_all(conn: &Connection) -> Result<Vec<NodeRecord>> {
    load_where(conn, None)
}

fn load_where(conn: &Connection, id: Option<&str>) -> Result<Vec<NodeRecord>> {
    let filter = if id.is_some() { "WHERE id = ?1" } else { "" };
    let child_filter = if id.is_some() {
        "WHERE node_id = ?1"
    } else {
        ""
    };
    let args: Vec<&str> = id.into_iter().collect();
    let args = rusqlite::params_from_iter(args.iter());

    let mut stmt = conn.prepare(&format!(
        "SELECT {} FROM nodes {filter} ORDER BY registered_at, id",
        NodeRow::COLUMNS
    ))?;
    let read = NodeRow::reader(&stmt)?;
    let raw: Vec<NodeRow> = stmt
        .query_map(args.clone(), read)?
        .collect::<rusqlite::Result<_>>()?;
    let mut nodes = Vec::with_capacity(raw.len());
    let mut index = HashMap::with_capacity(raw.len());
    for r in raw {
        index.insert(r.id.clone(), nodes.len());
        nodes.push(r.into_record()?);
    }

    let mut stmt = conn.prepare(&format!(
        "SELECT node_id, model, count, memory FROM node_gpu_devices {child_filter} \
         ORDER BY node_id, position"
    ))?;
    let mut rows = stmt.query(args.clone())?;
    while let Some(row) = rows.next()? {
        if let Some(&i) = index.get(&row.get::<_, String>(0)?) {
            nodes[i].gpu.devices.push(GpuDevice {
                model: row.get(1)?,
                count: row.get(2)?,
                memory: row.get(3)?,
            });
        }
    }

    let mut stmt = conn.prepare(&format!(
        "SELECT node_id, kind, model FROM node_loaded_models {child_filter} ORDER BY rowid"
    ))?;
    let mut rows = stmt.query(args.clone())?;
    while let Some(row) = rows.next()? {
        if let Some(&i) = index.get(&row.get::<_, String>(0)?) {
            let kind: String = row.get(1)?;
            if let Some(list) = nodes[i].models.kind_mut(&kind) {
                list.push(row.get(2)?);
            }
        }
    }

    for (table, column) in [("node_supported_runtimes", "runtime"), ("node_tags", "tag")] {
        let mut stmt = conn.prepare(&format!(
            "SELECT node_id, {column} FROM {table} {child_filter} ORDER BY rowid"
        ))?;
        let mut rows = stmt.query(args.clone())?;
        while let Some(row) = rows.next()? {
            if let Some(&i) = index.get(&row.get::<_, String>(0)?) {
                let value: String = row.get(1)?;
                let node = &mut nodes[i];
                if table == "node_tags" {
                    node.tags.push(value);
                } else {
                    node.supported_runtimes.push(value);
                }
            }
        }
    }
    Ok(nodes)
}

impl NodeRow {
    fn into_record(self) -> Result<NodeRecord> {
        const T: &str = "nodes";
        let id = self.id.as_str();
        // Unreadable optional times read as absent: admission and liveness
        // do not depend on them (liveness is the daemon's own clock).
        let opt = |column, value| read_ts(T, column, id, value, None);
        let metrics = NodeMetrics {
            cpu_usage: self.cpu_usage,
            memory_usage: self.memory_usage,
            gpu_usage: self.gpu_usage,
            gpu_memory_usage: self.gpu_memory_usage,
            active_requests: self.active_requests,
            average_response_time_ms: self.average_response_time_ms,
            updated_at: opt("metrics_updated_at", self.metrics_updated_at),
        };
        let registered_at = read_req_ts(T, "registered_at", id, self.registered_at);
        let approved_at = opt("approved_at", self.approved_at);
        let last_seen = opt("last_seen", self.last_seen);
        let online_since = opt("online_since", self.online_since);
        let imported_at = opt("imported_at", self.imported_at);
        Ok(NodeRecord {
            id: self.id,
            machine_name: self.machine_name,
            custom_name: self.custom_name,
            ip_address: self.ip_address,
            runtime_version: self.runtime_version,
            runtime_port: self.runtime_port,
            node_api_port: self.node_api_port,
            approved: self.admission == "approved",
            drained: self.drained,
            registered_at,
            approved_at,
            last_seen,
            online_since,
            notes: self.notes,
            gpu: GpuSummary {
                available: self.gpu_available,
                devices: Vec::new(),
                count: self.gpu_count,
                model: self.gpu_model,
                model_name: self.gpu_model_name,
                compute_capability: self.gpu_compute_capability,
                capability_score: self.gpu_capability_score,
            },
            models: LoadedModels::default(),
            supported_runtimes: Vec::new(),
            tags: Vec::new(),
            initializing: self.initializing,
            ready_models: self
                .ready_models_ready
                .zip(self.ready_models_total)
                .map(|(a, b)| [a, b]),
            metrics,
            imported_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::TokenHash;
    use crate::store::tokens::{self, TokenKind, TokenRow};
    use crate::store::Store;

    fn sample(id: &str) -> NodeRecord {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        NodeRecord {
            id: id.into(),
            machine_name: "推論サーバー-01".into(),
            custom_name: Some("Küche".into()),
            ip_address: "2001:db8::42".into(),
            runtime_version: "vllm 0.6".into(),
            runtime_port: 8000,
            node_api_port: 8001,
            approved: true,
            drained: true,
            registered_at: t("2026-01-02T03:04:05.123456789Z"),
            approved_at: Some(t("2026-01-02T04:00:00Z")),
            last_seen: Some(t("2026-01-03T00:00:00.5Z")),
            online_since: None,
            notes: Some("rack 4".into()),
            gpu: GpuSummary {
                available: true,
                devices: vec![
                    GpuDevice {
                        model: "H100".into(),
                        count: 8,
                        memory: Some(85_899_345_920),
                    },
                    GpuDevice {
                        model: "L4".into(),
                        count: 1,
                        memory: None,
                    },
                ],
                count: Some(9),
                model: Some("H100".into()),
                model_name: Some("NVIDIA H100 80GB HBM3".into()),
                compute_capability: Some("9.0".into()),
                capability_score: Some(95),
            },
            models: LoadedModels {
                llm: vec!["llama-3-70b".into(), "qwen-2".into()],
                embedding: vec!["bge-m3".into()],
                asr: vec!["whisper-large".into()],
                tts: vec![],
            },
            supported_runtimes: vec!["llama_cpp".into(), "whisper_cpp".into()],
            tags: vec!["prod".into(), "eu".into()],
            initializing: false,
            ready_models: Some([2, 2]),
            metrics: NodeMetrics {
                cpu_usage: Some(12.5),
                memory_usage: Some(50.0),
                gpu_usage: Some(99.0),
                gpu_memory_usage: None,
                active_requests: Some(3),
                average_response_time_ms: Some(120.5),
                updated_at: Some(t("2026-01-03T00:00:00Z")),
            },
            imported_at: None,
        }
    }

    #[test]
    fn a_node_round_trips_with_all_its_rows() {
        let store = Store::open_in_memory().unwrap();
        let conn = store.conn();
        let a = sample("a");
        save(conn, &a).unwrap();
        assert_eq!(load(conn, "a").unwrap(), Some(a.clone()));

        // Saving again replaces the child rows instead of adding to them.
        let mut b = a.clone();
        b.tags = vec!["only".into()];
        b.gpu.devices.truncate(1);
        b.models.llm.clear();
        b.approved = false;
        save(conn, &b).unwrap();
        assert_eq!(load_all(conn).unwrap(), vec![b.clone()]);

        tokens::insert(
            conn,
            &TokenRow {
                node_id: "a".into(),
                kind: TokenKind::Current,
                hash: TokenHash::of("t"),
                created_at: Utc::now(),
                expires_at: None,
                delivered: false,
            },
        )
        .unwrap();
        assert!(delete(conn, "a").unwrap());
        assert!(!exists(conn, "a").unwrap());
        assert!(
            tokens::load_all(conn).unwrap().is_empty(),
            "tokens go with the node"
        );
        for table in [
            "node_gpu_devices",
            "node_loaded_models",
            "node_tags",
            "node_supported_runtimes",
        ] {
            let n: i64 = conn
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
                .unwrap();
            assert_eq!(n, 0, "{table} rows go with the node");
        }
        assert!(!delete(conn, "a").unwrap());
    }

    #[test]
    fn heartbeat_updates_do_not_resurrect_deleted_nodes() {
        let store = Store::open_in_memory().unwrap();
        let conn = store.conn();
        let u = HeartbeatUpdate {
            id: "gone".into(),
            last_seen: Some(Utc::now()),
            online_since: None,
            initializing: false,
            ready_models: None,
            metrics: NodeMetrics::default(),
            models: Some(LoadedModels {
                llm: vec!["m".into()],
                ..Default::default()
            }),
        };
        apply_heartbeat(conn, &u).unwrap();
        assert!(load_all(conn).unwrap().is_empty());
        let n: i64 = conn
            .query_row("SELECT count(*) FROM node_loaded_models", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn the_generated_columns_are_the_table_s_columns() {
        let store = Store::open_in_memory().unwrap();
        let mut stmt = store
            .conn()
            .prepare("SELECT name FROM pragma_table_info('nodes') ORDER BY cid")
            .unwrap();
        let table: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let generated: Vec<&str> = NodeRow::COLUMNS.split(", ").collect();
        assert_eq!(generated, table);
        assert_eq!(
            NodeRow::UPSERT.matches(" = excluded.").count(),
            table.len() - 1,
            "every column but id is updated on conflict"
        );
    }

    #[test]
    fn the_schema_has_the_tables_of_design() {
        let store = Store::open_in_memory().unwrap();
        assert_eq!(store.schema_version().unwrap(), 4);
        let cols: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM pragma_table_info('nodes')", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert!(cols >= 30, "nodes has {cols} columns");
    }
}
