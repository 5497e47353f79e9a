//! One file per resource; each handler checks input, calls the registry or
//! the credential store, and shapes the answer.

pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod health;
pub mod import;
pub mod join_tokens;
pub mod nodes;
pub mod status;
pub mod tokens;
