//! `llmlbctl login` and `logout`: a dashboard-style session saved for later
//! commands.

use std::io::{BufRead, IsTerminal};

use super::args::{CtlArgs, LoginArgs};
use super::connection::{client_for, session_file, SavedSession};
use super::error::CtlError;
use super::escape::escape;
use super::{print_value, CmdResult};
use crate::common::fsutil::write_private;
use crate::secret::Secret;

pub(crate) async fn login(args: &CtlArgs, cmd: &LoginArgs) -> CmdResult {
    let password = if cmd.password_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        rpassword::prompt_password(format!("password for {}: ", cmd.username))?
    };
    if password.is_empty() {
        return Err(CtlError::new("no password given"));
    }
    let client = client_for(args, &args.url, None)?;
    let session = client
        .login(&cmd.username, &password)
        .await
        .map_err(|e| match e.status() {
            Some(401) => CtlError::new("wrong username or password"),
            _ => CtlError::from_client(e, &client),
        })?;
    let path = session_file().ok_or_else(|| {
        CtlError::new("cannot find a config dir to save the session: set HOME or XDG_CONFIG_HOME")
    })?;
    let saved = SavedSession {
        url: args.url.clone(),
        username: session.username.clone(),
        token: session.token.clone(),
        expires_at: session.expires_at,
    };
    write_private(
        &path,
        &serde_json::to_vec_pretty(&saved).expect("serializes"),
    )
    .map_err(|e| {
        CtlError::new(format!(
            "cannot save the session in {}: {e}",
            path.display()
        ))
    })?;
    let raw = serde_json::json!({
        "username": session.username,
        "role": session.role,
        "expires_at": session.expires_at,
        "saved_to": path,
    });
    print_value(args, &raw, || {
        format!(
            "logged in to {} as {}; the session lasts until {} and is saved in {}",
            args.url,
            escape(&session.username),
            session.expires_at.format("%Y-%m-%d %H:%M UTC"),
            path.display()
        )
    });
    Ok(())
}

pub(crate) async fn logout(args: &CtlArgs) -> CmdResult {
    let path = session_file().ok_or_else(|| CtlError::new("no saved session"))?;
    let saved: SavedSession = match std::fs::read_to_string(&path) {
        Ok(t) => serde_json::from_str(&t).map_err(|_| {
            CtlError::new(format!(
                "{} is not a saved session; remove it",
                path.display()
            ))
        })?,
        Err(_) => return Err(CtlError::new("not logged in: there is no saved session")),
    };
    let client = client_for(args, &saved.url, Some(Secret::new(saved.token)))?;
    // An expired or already ended session is fine: forget it all the same.
    match client.logout().await {
        Ok(()) => {}
        Err(e) if e.status() == Some(401) => {}
        Err(e) => return Err(CtlError::from_client(e, &client)),
    }
    std::fs::remove_file(&path)?;
    print_value(args, &serde_json::json!({"logged_out": true}), || {
        format!("logged out of {}", saved.url)
    });
    Ok(())
}
