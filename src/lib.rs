//! llmlb: a load balancer for OpenAI-compatible LLM inference on fleets of
//! GPU machines.
//!
//! - [`api`]: the wire contract of the HTTP API, shared by every binary.
//! - [`daemon`]: `llmlbd`, the registry daemon (axum + SQLite).
//! - [`ctl`]: `llmlbctl`, the admin CLI, over [`client`].
//! - [`node`]: `llmlb-node`, the GPU agent, over [`client`].
//! - [`common`]: what the binaries share: paths, logging, signals, files.
//!
//! Everything else is `pub(crate)`: the public surface is what the binaries,
//! tests and benches use.

#![warn(unreachable_pub)]

pub mod api;
pub mod client;
pub mod common;
pub mod ctl;
pub mod daemon;
pub(crate) mod legacy;
pub mod node;
pub mod secret;
pub(crate) mod store;
pub mod tls;
