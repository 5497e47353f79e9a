//! The wire contract of the `/v0` API, shared by the daemon, `llmlbctl` and
//! `llmlb-node`. Nothing else in the crate builds these JSON shapes by hand.

pub mod audit;
pub mod auth;
pub mod import;
pub mod join_tokens;
pub mod nodes;
pub mod status;

use serde::{Deserialize, Serialize};

/// The body of every error answer: a sentence for a person and a stable code
/// for a program.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    pub error: String,
    pub code: String,
}

/// Header that carries a node's runtime token.
pub const NODE_TOKEN_HEADER: &str = "x-node-token";

/// Header that carries a join token on a registration.
pub const JOIN_TOKEN_HEADER: &str = "x-join-token";

/// Deserializes a field that may be absent (`None`), `null` (`Some(None)`) or
/// a value (`Some(Some(v))`), for PATCH bodies where `null` clears a field.
pub(crate) fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}
