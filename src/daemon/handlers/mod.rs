//! One file per resource; each handler checks input, calls the registry or
//! the credential store, and shapes the answer.

pub(crate) mod api_keys;
pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod health;
pub(crate) mod import;
pub(crate) mod join_tokens;
pub(crate) mod nodes;
pub(crate) mod status;
pub(crate) mod tokens;
