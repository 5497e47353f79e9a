//! Reading legacy `nodes.json` records, in every historical spelling, into
//! node records. Shared by the daemon's start-up import, its import route
//! and `llmlbctl migrate-json` (which validates locally before sending).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::api::nodes::GpuDevice;
use crate::store::nodes::{GpuSummary, LoadedModels, NodeMetrics, NodeRecord};

/// Where a document failed to parse as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub(crate) struct SyntaxError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Splits a legacy file into its records without interpreting them, so that
/// one bad record does not hide the others. Fails only when the text is not
/// a JSON array.
pub(crate) fn split_records(text: &str) -> Result<Vec<&RawValue>, SyntaxError> {
    serde_json::from_str::<Vec<&RawValue>>(text).map_err(|e| {
        let message = e.to_string();
        // serde_json appends " at line L column C"; keep the sentence only.
        let message = match message.rfind(" at line ") {
            Some(i) => message[..i].to_string(),
            None => message,
        };
        let message = if message.starts_with("invalid type") {
            format!("{message}: a nodes.json file holds a JSON array of node objects")
        } else {
            message
        };
        SyntaxError {
            line: e.line(),
            column: e.column(),
            message,
        }
    })
}

/// Line and column (from 1) where `record` starts inside `text`. `record`
/// must be a slice of `text`, as [`split_records`] returns.
pub(crate) fn position_of(text: &str, record: &RawValue) -> (usize, usize) {
    let offset = (record.get().as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

/// A record as any version wrote it. Unknown fields are ignored.
#[derive(Debug, Deserialize)]
struct LegacyNode {
    id: String,
    machine_name: String,
    ip_address: String,
    #[serde(default, alias = "ollama_version", deserialize_with = "nullable")]
    runtime_version: String,
    #[serde(alias = "ollama_port")]
    runtime_port: u16,
    #[serde(default, alias = "agent_api_port")]
    node_api_port: Option<u16>,
    #[serde(default)]
    custom_name: Option<String>,
    #[serde(default)]
    notes: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    tags: Vec<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    registered_at: Option<String>,
    #[serde(default)]
    approved_at: Option<String>,
    #[serde(default)]
    last_seen: Option<String>,
    #[serde(default)]
    online_since: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    loaded_models: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    loaded_embedding_models: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    loaded_asr_models: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    loaded_tts_models: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    supported_runtimes: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    gpu_devices: Vec<LegacyGpu>,
    #[serde(default)]
    gpu_available: Option<bool>,
    #[serde(default)]
    gpu_count: Option<u32>,
    #[serde(default)]
    gpu_model: Option<String>,
    #[serde(default)]
    gpu_model_name: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    gpu_compute_capability: Option<String>,
    #[serde(default)]
    gpu_capability_score: Option<u32>,
    #[serde(default, deserialize_with = "nullable")]
    initializing: bool,
    #[serde(default)]
    ready_models: Option<(u32, u32)>,
}

#[derive(Debug, Deserialize)]
struct LegacyGpu {
    model: String,
    count: u32,
    #[serde(default)]
    memory: Option<u64>,
}

/// `null` reads as the type's default.
fn nullable<'de, D, T>(de: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(de)?.unwrap_or_default())
}

/// Compute capability was written as `"8.9"` by some versions and `8.9` by
/// others.
fn string_or_number<'de, D>(de: D) -> Result<Option<String>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(match Option::<serde_json::Value>::deserialize(de)? {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(v) => Some(v.to_string()),
    })
}

fn timestamp(field: &str, value: Option<String>) -> Result<Option<DateTime<Utc>>, String> {
    match value {
        None => Ok(None),
        Some(s) => DateTime::parse_from_rfc3339(s.trim())
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|e| format!("{field} {s:?} is not an RFC 3339 timestamp ({e})")),
    }
}

/// The id of a record, if it has a readable one (for reports).
pub(crate) fn record_id(record: &RawValue) -> Option<String> {
    #[derive(Deserialize)]
    struct Id {
        id: serde_json::Value,
    }
    match serde_json::from_str::<Id>(record.get()).ok()?.id {
        serde_json::Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

/// Converts one legacy record, or says what is wrong with it.
pub(crate) fn convert(record: &RawValue, imported_at: DateTime<Utc>) -> Result<NodeRecord, String> {
    let n: LegacyNode = serde_json::from_str(record.get()).map_err(|e| {
        let m = e.to_string();
        match m.rfind(" at line ") {
            Some(i) => m[..i].to_string(),
            None => m,
        }
    })?;
    let id = n.id.trim().to_string();
    if id.is_empty() || id.len() > 128 || id.chars().any(|c| c.is_control() || c == '/') {
        return Err(format!(
            "id {:?} must be 1 to 128 printable characters without '/'",
            n.id
        ));
    }
    let machine_name = n.machine_name.trim().to_string();
    if machine_name.is_empty()
        || machine_name.len() > 255
        || machine_name.chars().any(char::is_control)
    {
        return Err("machine_name must be 1 to 255 characters without control characters".into());
    }
    let ip: IpAddr = n.ip_address.trim().parse().map_err(|_| {
        format!(
            "ip_address {:?} is not an IPv4 or IPv6 address",
            n.ip_address
        )
    })?;
    if n.runtime_port == 0 {
        return Err("runtime_port (or ollama_port) must be between 1 and 65535".into());
    }
    let node_api_port = match n.node_api_port {
        Some(0) => return Err("node_api_port must be between 1 and 65535".into()),
        Some(p) => p,
        None => n.runtime_port.checked_add(1).ok_or(
            "runtime_port is 65535 and node_api_port is missing, so no API port can be derived",
        )?,
    };
    let approved = match n.status.as_deref().map(str::trim) {
        Some("pending") => false,
        // Versions without admission had no pending state: their nodes served.
        None | Some("online" | "offline" | "registering") => true,
        Some(other) => {
            return Err(format!(
                "status {other:?} is not one of online, offline, registering, pending"
            ))
        }
    };
    let mut devices: Vec<GpuDevice> = n
        .gpu_devices
        .into_iter()
        .filter(|d| !d.model.trim().is_empty() && d.count > 0)
        .map(|d| GpuDevice {
            model: d.model.trim().to_string(),
            count: d.count,
            memory: d.memory,
        })
        .collect();
    // The oldest files have only a count and a model name.
    if devices.is_empty() {
        if let (Some(count), Some(model)) = (n.gpu_count, n.gpu_model.as_ref()) {
            if count > 0 && !model.trim().is_empty() {
                devices.push(GpuDevice {
                    model: model.trim().to_string(),
                    count,
                    memory: None,
                });
            }
        }
    }
    let registered_at = timestamp("registered_at", n.registered_at)?.unwrap_or(imported_at);
    Ok(NodeRecord {
        id,
        machine_name,
        custom_name: n.custom_name.filter(|s| !s.trim().is_empty()),
        ip_address: ip.to_string(),
        runtime_version: n.runtime_version,
        runtime_port: n.runtime_port,
        node_api_port,
        approved,
        drained: false,
        registered_at,
        approved_at: if approved {
            timestamp("approved_at", n.approved_at)?
        } else {
            None
        },
        last_seen: timestamp("last_seen", n.last_seen)?,
        // Imported nodes have sent no heartbeat to this daemon: not online.
        online_since: {
            timestamp("online_since", n.online_since)?;
            None
        },
        notes: n.notes,
        gpu: GpuSummary {
            available: n.gpu_available.unwrap_or(!devices.is_empty()),
            count: n
                .gpu_count
                .or_else(|| (!devices.is_empty()).then(|| devices.iter().map(|d| d.count).sum())),
            devices,
            model: n.gpu_model,
            model_name: n.gpu_model_name,
            compute_capability: n.gpu_compute_capability,
            capability_score: n.gpu_capability_score,
        },
        models: LoadedModels {
            llm: n.loaded_models,
            embedding: n.loaded_embedding_models,
            asr: n.loaded_asr_models,
            tts: n.loaded_tts_models,
        },
        supported_runtimes: n.supported_runtimes,
        tags: n.tags,
        initializing: n.initializing,
        ready_models: n.ready_models.map(|(a, b)| [a, b]),
        metrics: NodeMetrics::default(),
        imported_at: Some(imported_at),
    })
}

/// `nodes.json.migrated`, or `nodes.json.migrated.N` if earlier runs left one.
pub(crate) fn migrated_name(path: &Path) -> PathBuf {
    let base = PathBuf::from(format!("{}.migrated", path.display()));
    if !base.exists() {
        return base;
    }
    (1..)
        .map(|n| PathBuf::from(format!("{}.{n}", base.display())))
        .find(|p| !p.exists())
        .expect("some suffix is free")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_columns_from_one() {
        let text = "[\n  {\"a\": 1},\n    {\"b\": 2}\n]";
        let recs = split_records(text).unwrap();
        assert_eq!(position_of(text, recs[0]), (2, 3));
        assert_eq!(position_of(text, recs[1]), (3, 5));
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let e = split_records("[\n {\"id\": \"x\",\n}\n]").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(!e.message.contains(" at line "), "{}", e.message);
        let e = split_records("{\"nodes\": []}").unwrap_err();
        assert!(e.message.contains("JSON array"), "{}", e.message);
    }
}
