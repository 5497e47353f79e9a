//! Join tokens: secrets an administrator hands out so that machines may
//! register (`X-Join-Token` on `POST /v0/nodes`).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Longest lifetime of a join token: one year. Join tokens are meant to be
/// short-lived; one that never expires is asked for by leaving `ttl_secs`
/// out and `never_expires` true.
pub const MAX_JOIN_TOKEN_TTL_SECS: u64 = 365 * 86_400;
/// The lifetime when none is given: a day, as kubeadm's tokens.
pub const DEFAULT_JOIN_TOKEN_TTL_SECS: u64 = 86_400;
/// Most uses a token may be given.
pub const MAX_JOIN_TOKEN_USES: u64 = 1_000_000;

/// `POST /v0/join-tokens`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateJoinTokenRequest {
    /// A label for people (optional).
    #[serde(default)]
    pub name: String,
    /// Lifetime in seconds, from 1 to [`MAX_JOIN_TOKEN_TTL_SECS`]; default a
    /// day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_secs: Option<u64>,
    /// The token never expires (then `ttl_secs` must be left out).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub never_expires: bool,
    /// How many registrations it admits; absent: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uses: Option<u64>,
    /// Tags added to every node that registers with it.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Nodes that register with it are approved at once.
    #[serde(default)]
    pub auto_approve: bool,
}

/// A join token as listed: never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinTokenView {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Registrations it still admits; `None`: unlimited.
    pub uses_left: Option<u64>,
    pub tags: Vec<String>,
    pub auto_approve: bool,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Reply to creating a join token: the secret in `token`, shown this once.
#[derive(Clone, Serialize, Deserialize)]
pub struct JoinTokenCreated {
    #[serde(flatten)]
    pub view: JoinTokenView,
    pub token: String,
}

impl fmt::Debug for JoinTokenCreated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinTokenCreated")
            .field("view", &self.view)
            .field("token", &"<redacted>")
            .finish()
    }
}
