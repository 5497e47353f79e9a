use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A group of identical GPUs on one machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GpuDevice {
    pub model: String,
    pub count: u32,
    /// Memory of one device, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u64>,
}

/// The status the API shows, derived from admission and liveness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeStatus {
    /// Not approved by an administrator yet, whatever its liveness.
    Pending,
    /// Approved and live, but its models are not ready.
    Registering,
    /// Approved, live and ready: receives traffic.
    Online,
    /// Approved, but no heartbeat within the offline timeout.
    Offline,
}

impl NodeStatus {
    pub const ALL: [NodeStatus; 4] = [
        NodeStatus::Pending,
        NodeStatus::Registering,
        NodeStatus::Online,
        NodeStatus::Offline,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NodeStatus::Pending => "pending",
            NodeStatus::Registering => "registering",
            NodeStatus::Online => "online",
            NodeStatus::Offline => "offline",
        }
    }

    pub fn parse(s: &str) -> Option<NodeStatus> {
        NodeStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl fmt::Display for NodeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `POST /v0/nodes`: a machine registers itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegisterNodeRequest {
    pub machine_name: String,
    /// IPv4 or IPv6 address the daemon reaches the node at.
    pub ip_address: String,
    #[serde(default)]
    pub runtime_version: String,
    pub runtime_port: u16,
    #[serde(default)]
    pub gpu_available: bool,
    #[serde(default)]
    pub gpu_devices: Vec<GpuDevice>,
    /// Defaults to `runtime_port + 1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_api_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_model_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_compute_capability: Option<String>,
    #[serde(default)]
    pub supported_runtimes: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// Whether a registration created a node or matched a known one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegistrationOutcome {
    Registered,
    Updated,
}

/// Reply to a registration: the runtime token is shown this once.
#[derive(Clone, Serialize, Deserialize)]
pub struct RegisterNodeResponse {
    pub node_id: String,
    pub status: RegistrationOutcome,
    pub node_status: NodeStatus,
    pub node_api_port: u16,
    pub runtime_token: String,
    pub heartbeat_interval_secs: u64,
}

impl fmt::Debug for RegisterNodeResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegisterNodeResponse")
            .field("node_id", &self.node_id)
            .field("status", &self.status)
            .field("node_status", &self.node_status)
            .field("node_api_port", &self.node_api_port)
            .field("runtime_token", &"<redacted>")
            .finish()
    }
}

/// `POST /v0/health`: a heartbeat, authenticated by `X-Node-Token`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HeartbeatRequest {
    #[serde(alias = "runtime_id")]
    pub node_id: String,
    #[serde(default)]
    pub cpu_usage: f32,
    #[serde(default)]
    pub memory_usage: f32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_usage: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_memory_usage: Option<f32>,
    #[serde(default)]
    pub active_requests: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_response_time_ms: Option<f32>,
    #[serde(default)]
    pub loaded_models: Vec<String>,
    #[serde(default)]
    pub loaded_embedding_models: Vec<String>,
    #[serde(default)]
    pub initializing: bool,
    /// `[ready, total]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_models: Option<[u32; 2]>,
    /// The agent is shutting down: show the node `offline` at once.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub leaving: bool,
}

/// Reply to a heartbeat. `runtime_token` is present only while a rotation is
/// under way: the node must save it and use it from then on.
#[derive(Clone, Serialize, Deserialize)]
pub struct HeartbeatResponse {
    pub node_id: String,
    pub status: NodeStatus,
    pub heartbeat_interval_secs: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_token: Option<String>,
}

impl fmt::Debug for HeartbeatResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeartbeatResponse")
            .field("node_id", &self.node_id)
            .field("status", &self.status)
            .field("heartbeat_interval_secs", &self.heartbeat_interval_secs)
            .field(
                "runtime_token",
                &self.runtime_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// `PATCH /v0/nodes/{id}`: absent fields stay, `null` clears. Unknown
/// fields are refused, so a misspelt field is not silently ignored.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchNodeRequest {
    #[serde(
        default,
        deserialize_with = "super::double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub custom_name: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "super::double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub notes: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "super::double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub tags: Option<Option<Vec<String>>>,
}

/// `POST /v0/nodes/{id}/token/rotate`; the body is optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RotateTokenRequest {
    /// How long the old token keeps working, in seconds (default 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_secs: Option<u64>,
}

/// Reply to a rotation. The new token is never shown here: the node gets it
/// in its next heartbeat reply.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RotateTokenResponse {
    pub node_id: String,
    pub rotation_started_at: DateTime<Utc>,
    pub old_token_expires_at: DateTime<Utc>,
    pub grace_secs: u64,
}

/// Reply to a revocation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RevokeTokenResponse {
    pub node_id: String,
    pub revoked: usize,
}

/// A node as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeView {
    pub id: String,
    pub machine_name: String,
    pub custom_name: Option<String>,
    pub ip_address: String,
    pub runtime_version: String,
    pub runtime_port: u16,
    pub node_api_port: u16,
    pub status: NodeStatus,
    pub approved: bool,
    pub drained: bool,
    pub registered_at: DateTime<Utc>,
    pub approved_at: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
    pub online_since: Option<DateTime<Utc>>,
    pub gpu_available: bool,
    pub gpu_devices: Vec<GpuDevice>,
    pub gpu_count: Option<u32>,
    pub gpu_model: Option<String>,
    pub gpu_model_name: Option<String>,
    pub gpu_compute_capability: Option<String>,
    pub gpu_capability_score: Option<u32>,
    pub loaded_models: Vec<String>,
    pub loaded_embedding_models: Vec<String>,
    pub loaded_asr_models: Vec<String>,
    pub loaded_tts_models: Vec<String>,
    pub supported_runtimes: Vec<String>,
    pub initializing: bool,
    pub ready_models: Option<[u32; 2]>,
    pub cpu_usage: Option<f32>,
    pub memory_usage: Option<f32>,
    pub gpu_usage: Option<f32>,
    pub gpu_memory_usage: Option<f32>,
    pub active_requests: Option<u32>,
    pub average_response_time_ms: Option<f32>,
    pub metrics_updated_at: Option<DateTime<Utc>>,
    pub tags: Vec<String>,
    pub notes: Option<String>,
    /// Age of the node's current runtime token in seconds; `None` when it has
    /// no token (imported, revoked).
    pub token_age_secs: Option<u64>,
    /// A token rotation is under way.
    pub token_rotation_pending: bool,
    /// Ids of the other nodes with the same `machine_name` and
    /// `runtime_port`: a registration that could not prove it was a known
    /// node became a node of its own. Tell them apart before approving.
    #[serde(default)]
    pub same_machine_name_as: Vec<String>,
}
