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

/// Characters that change how text shows rather than what it says: C0 and
/// C1 controls (ESC and the one-byte CSI U+009B among them), DEL, and the
/// bidirectional embedding, override and isolate characters (U+202A–U+202E,
/// U+2066–U+2069) that can make one name look like another. The daemon
/// refuses them in names; `llmlbctl` escapes them in whatever it prints.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
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
