use serde::{Deserialize, Serialize};

/// `GET /v0/status`: public, carries no secrets.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusResponse {
    pub version: String,
    pub uptime_secs: u64,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub heartbeat_interval_secs: u64,
    pub node_timeout_secs: u64,
    pub nodes: NodeCounts,
    /// `sha256:` + hex of the served certificate's DER, the value agents
    /// pin with `--lb-fingerprint`; `null` when the daemon serves plain
    /// HTTP. Older daemons leave it out.
    #[serde(default)]
    pub tls_fingerprint: Option<String>,
}

/// Node counts by derived status.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct NodeCounts {
    pub total: usize,
    pub pending: usize,
    pub registering: usize,
    pub online: usize,
    pub offline: usize,
}
