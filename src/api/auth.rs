use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a credential may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including admission and credentials.
    Admin,
    /// Read-only access to the fleet.
    Viewer,
    /// May only call the OpenAI-compatible `/v1` endpoints.
    Inference,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Viewer => "viewer",
            Role::Inference => "inference",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "viewer" => Some(Role::Viewer),
            "inference" => Some(Role::Inference),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `POST /v0/auth/login`.
#[derive(Clone, Serialize, Deserialize)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Reply to a successful login: the session token, shown this once.
#[derive(Clone, Serialize, Deserialize)]
pub struct LoginResponse {
    pub token: String,
    pub username: String,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
}

impl fmt::Debug for LoginResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginResponse")
            .field("token", &"<redacted>")
            .field("username", &self.username)
            .field("role", &self.role)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Longest lifetime of an API key: ten years (3650 days), in seconds.
pub const MAX_API_KEY_LIFETIME_SECS: u64 = 3650 * 86_400;

/// What an API key's lifetime may be, as the daemon and `llmlbctl` say it.
pub fn api_key_lifetime_rule() -> String {
    format!(
        "expires_in_secs must be a whole number of seconds from 1 to \
         {MAX_API_KEY_LIFETIME_SECS} (10 years); leave it out for a key that does not expire"
    )
}

/// `POST /v0/api-keys`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateApiKeyRequest {
    pub name: String,
    pub role: Role,
    /// Lifetime in seconds, from 1 to [`MAX_API_KEY_LIFETIME_SECS`]; absent
    /// means the key does not expire.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lifetime"
    )]
    pub expires_in_secs: Option<u64>,
}

/// Any JSON number, so that a negative, fractional or huge lifetime is
/// refused with a sentence naming the field rather than serde's "expected
/// u64". Whole numbers that fit are checked against the range by the daemon.
fn lifetime<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match Option::<serde_json::Number>::deserialize(d)? {
        None => Ok(None),
        Some(n) => n.as_u64().map(Some).ok_or_else(|| {
            serde::de::Error::custom(format!("{} (got {n})", api_key_lifetime_rule()))
        }),
    }
}

/// An API key as listed: never the secret.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Reply to creating or rotating a key: the secret in `key`, shown this once.
#[derive(Clone, Serialize, Deserialize)]
pub struct ApiKeyCreated {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub key: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl fmt::Debug for ApiKeyCreated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyCreated")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("role", &self.role)
            .field("key", &"<redacted>")
            .finish()
    }
}
