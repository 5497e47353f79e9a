//! The audit trail as the API shows it: `GET /v0/audit`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One recorded event. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// `api_key`, `user`, `join_token`, `node`, `daemon` or `anonymous`.
    pub actor_kind: String,
    /// The API key id, username, join token id or node id.
    pub actor_id: Option<String>,
    /// The API key's name or the username.
    pub actor_name: Option<String>,
    /// The caller's address.
    pub source: Option<String>,
    /// What happened, e.g. `node.approve`.
    pub action: String,
    /// What it happened to: a node, key or join token id, or a username.
    pub target: Option<String>,
    /// `ok`, `denied` or `failed`.
    pub outcome: String,
    pub detail: String,
}

/// Most entries one `GET /v0/audit` returns.
pub const MAX_AUDIT_LIMIT: usize = 1000;
