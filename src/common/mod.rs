//! What the three binaries share below the wire contract: where each keeps
//! its files (`paths`), logs that never fail a request ([`logging`]),
//! sd_notify and signals (`notify`), private files and dirs (`fsutil`), and
//! durations like `10m` (`duration`).

pub(crate) mod duration;
pub(crate) mod fsutil;
pub mod logging;
pub(crate) mod notify;
pub(crate) mod paths;
