//! Finding the daemon and a credential, and resolving id prefixes.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::args::CtlArgs;
use super::error::CtlError;
use super::escape::escape;
use crate::client::Client;
use crate::common::paths::{self, ADMIN_TOKEN_FILE};
use crate::secret::Secret;

/// Where the token came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenSource {
    Flag,
    File(PathBuf),
    Saved(PathBuf),
}

/// The session `llmlbctl login` saves.
#[derive(Serialize, Deserialize)]
pub(crate) struct SavedSession {
    pub url: String,
    pub username: String,
    pub token: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// `$XDG_CONFIG_HOME/llmlb/session.json`, else `~/.config/llmlb/session.json`.
pub(crate) fn session_file() -> Option<PathBuf> {
    paths::ctl_config_dir().map(|d| d.join("session.json"))
}

fn read_token_file(path: &Path) -> Result<Option<Secret>, std::io::Error> {
    match std::fs::read_to_string(path) {
        Ok(s) if !s.trim().is_empty() => Ok(Some(Secret::new(s.trim().to_string()))),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The admin.token files looked at, in order.
pub(crate) fn admin_token_candidates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(d) = paths::non_empty("LLMLB_DATA_DIR") {
        out.push(PathBuf::from(d).join(ADMIN_TOKEN_FILE));
    }
    if let Some(d) = paths::daemon_data_dir() {
        out.push(d.join(ADMIN_TOKEN_FILE));
    }
    // The systemd unit keeps its state here (StateDirectory=llmlb).
    out.push(PathBuf::from("/var/lib/llmlb").join(ADMIN_TOKEN_FILE));
    out.dedup();
    out
}

/// The credential to use, in the documented order.
pub(crate) fn discover_token(args: &CtlArgs) -> Result<Option<(Secret, TokenSource)>, CtlError> {
    if let Some(t) = args
        .token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        return Ok(Some((Secret::new(t.to_string()), TokenSource::Flag)));
    }
    if let Some(path) = &args.token_file {
        return match read_token_file(path) {
            Ok(Some(t)) => Ok(Some((t, TokenSource::File(path.clone())))),
            Ok(None) => Err(CtlError::new(format!(
                "the token file {} is missing or empty",
                path.display()
            ))),
            Err(e) => Err(CtlError::new(format!(
                "cannot read the token file {}: {e}",
                path.display()
            ))),
        };
    }
    for path in admin_token_candidates() {
        // An unreadable file (another user's) is passed over.
        if let Ok(Some(t)) = read_token_file(&path) {
            return Ok(Some((t, TokenSource::File(path))));
        }
    }
    if let Some(path) = session_file() {
        if let Ok(text) = std::fs::read_to_string(&path) {
            if let Ok(s) = serde_json::from_str::<SavedSession>(&text) {
                if same_url(&s.url, &args.url) {
                    return Ok(Some((Secret::new(s.token), TokenSource::Saved(path))));
                }
            }
        }
    }
    Ok(None)
}

fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// A client for the daemon. With `need_token`, no credential is an error
/// that says how to pass one.
pub(crate) fn connect(args: &CtlArgs, need_token: bool) -> Result<Client, CtlError> {
    let token = discover_token(args)?;
    if need_token && token.is_none() {
        return Err(
            CtlError::new("no credential found for this command").with_hint(format!(
                "pass an admin token with --token, LLMLB_TOKEN or --token-file, or run `llmlbctl \
             login`; looked for {}",
                admin_token_candidates()
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        );
    }
    client_for(args, &args.url, token.map(|(t, _)| t))
}

/// A client for the daemon at `url`, trusting it as --ca-cert or
/// --fingerprint say (the system's roots without them).
pub(crate) fn client_for(
    args: &CtlArgs,
    url: &str,
    token: Option<Secret>,
) -> Result<Client, CtlError> {
    let trust = crate::tls::Trust::from_flags(
        args.ca_cert.as_deref(),
        args.fingerprint.as_ref(),
        "--fingerprint",
    );
    Client::with_trust(url, token, args.timeout, &trust).map_err(CtlError::new)
}

/// Resolves an id or a unique prefix of at least 4 characters among `ids`
/// (with a label for each, shown when the prefix is ambiguous).
pub(crate) fn resolve<'a>(
    what: &str,
    given: &str,
    candidates: impl IntoIterator<Item = (&'a str, String)>,
) -> Result<String, CtlError> {
    let given = given.trim();
    let mut matches = Vec::new();
    for (id, label) in candidates {
        if id == given {
            return Ok(id.to_string());
        }
        if id.starts_with(given) {
            matches.push((id, label));
        }
    }
    if given.chars().count() < 4 {
        return Err(CtlError::new(format!(
            "{given:?} is too short to pick a {what}: give the whole id or at least 4 characters"
        )));
    }
    match matches.len() {
        0 => Err(CtlError::new(format!("no {what} id starts with {given:?}"))
            .with_hint(format!("list them with `llmlbctl {what}s list`"))),
        1 => Ok(matches[0].0.to_string()),
        _ => {
            let list = matches
                .iter()
                .map(|(id, label)| format!("  {}  {label}", escape(id)))
                .collect::<Vec<_>>()
                .join("\n");
            Err(CtlError::new(format!(
                "{given:?} matches {} {what}s:\n{list}",
                matches.len()
            ))
            .with_hint("give more characters of the id"))
        }
    }
}
