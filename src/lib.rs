//! llmlb: a load balancer for OpenAI-compatible LLM inference on fleets of
//! GPU machines.
//!
//! - [`api`]: the wire contract of the HTTP API, shared by every binary.
//! - [`daemon`]: `llmlbd`, the registry daemon (axum + SQLite).
//! - [`ctl`]: `llmlbctl`, the admin CLI, over [`client`].
//! - [`node`]: `llmlb-node`, the GPU agent, over [`client`].
//! - [`store`]: the SQLite schema and queries.
//! - [`legacy`]: reading the `nodes.json` files of older deployments.

pub mod api;
pub mod client;
pub mod common;
pub mod ctl;
pub mod daemon;
pub mod legacy;
pub mod node;
pub mod secret;
pub mod store;
pub mod tls;
