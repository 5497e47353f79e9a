//! Where each binary keeps its files when no flag says otherwise: the
//! daemon's data dir, the agent's state dir and llmlbctl's config dir.
//!
//! Each follows the same order: `$STATE_DIRECTORY` for the two systemd
//! services (the first entry if several), then the XDG base directory for
//! the kind of file, then its fallback under `$HOME`. An empty variable
//! counts as unset.

use std::ffi::OsString;
use std::path::PathBuf;

/// The daemon's admin credential in its data dir, which llmlbctl reads.
pub(crate) const ADMIN_TOKEN_FILE: &str = "admin.token";

/// The variable `key`, unless it is unset or empty.
pub(crate) fn non_empty(key: &str) -> Option<OsString> {
    std::env::var_os(key).filter(|v| !v.is_empty())
}

/// `$STATE_DIRECTORY`, else `$XDG_DATA_HOME/llmlb`, else
/// `~/.local/share/llmlb`.
pub(crate) fn daemon_data_dir() -> Option<PathBuf> {
    systemd_state_dir().or_else(|| xdg_dir("XDG_DATA_HOME", ".local/share", "llmlb"))
}

/// `$STATE_DIRECTORY`, else `$XDG_STATE_HOME/llmlb-node`, else
/// `~/.local/state/llmlb-node`.
pub(crate) fn agent_state_dir() -> Option<PathBuf> {
    systemd_state_dir().or_else(|| xdg_dir("XDG_STATE_HOME", ".local/state", "llmlb-node"))
}

/// `$XDG_CONFIG_HOME/llmlb`, else `~/.config/llmlb` (llmlbctl is no
/// service, so `$STATE_DIRECTORY` is not its own).
pub(crate) fn ctl_config_dir() -> Option<PathBuf> {
    xdg_dir("XDG_CONFIG_HOME", ".config", "llmlb")
}

/// The first entry of `$STATE_DIRECTORY` (systemd's `StateDirectory=`).
fn systemd_state_dir() -> Option<PathBuf> {
    let dirs = non_empty("STATE_DIRECTORY")?;
    let dirs = dirs.to_string_lossy().into_owned();
    dirs.split(':').next().map(PathBuf::from)
}

/// `$<xdg_var>/<app>`, else `$HOME/<home_default>/<app>`.
fn xdg_dir(xdg_var: &str, home_default: &str, app: &str) -> Option<PathBuf> {
    let base = non_empty(xdg_var)
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|h| PathBuf::from(h).join(home_default)))?;
    Some(base.join(app))
}
