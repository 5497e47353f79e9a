//! Errors of `llmlbctl`: the daemon's sentence (or ours) and a hint saying
//! what to do next.

use crate::client::{Client, ClientError};

#[derive(Debug)]
pub struct CtlError {
    pub message: String,
    pub hint: Option<String>,
}

impl CtlError {
    pub fn new(message: impl Into<String>) -> CtlError {
        CtlError {
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> CtlError {
        self.hint = Some(hint.into());
        self
    }

    /// Turns a client error into a sentence and a hint fitting the cause.
    pub fn from_client(e: ClientError, client: &Client) -> CtlError {
        match &e {
            ClientError::Unreachable { url, reason } => CtlError::new(format!(
                "cannot reach the daemon at {url}: {reason}"
            ))
            .with_hint(format!(
                "is llmlbd running? Start it with `llmlbd` (or `systemctl start llmlbd`), or \
                 point --url / LLMLB_URL at it (tried {})",
                client.base_url()
            )),
            ClientError::Api { status: 401, body } => CtlError::new(body.error.clone()).with_hint(
                "pass an admin token with --token, LLMLB_TOKEN or --token-file, or run \
                 `llmlbctl login`; on the daemon's machine llmlbctl reads <data-dir>/admin.token \
                 by itself",
            ),
            ClientError::Api { status: 403, body } => CtlError::new(body.error.clone())
                .with_hint("use an admin API key or log in as an admin"),
            ClientError::Api { body, .. } => CtlError::new(body.error.clone()),
            ClientError::Protocol { .. } => CtlError::new(e.to_string())
                .with_hint("is --url pointing at an llmlb daemon of a matching version?"),
        }
    }

    pub fn render(&self, color: bool) -> String {
        let (red, yellow, reset) = if color {
            ("\x1b[31m", "\x1b[33m", "\x1b[0m")
        } else {
            ("", "", "")
        };
        let mut s = format!("{red}error:{reset} {}", self.message);
        if let Some(h) = &self.hint {
            s.push_str(&format!("\n{yellow}hint:{reset} {h}"));
        }
        s
    }
}

impl From<std::io::Error> for CtlError {
    fn from(e: std::io::Error) -> CtlError {
        CtlError::new(e.to_string())
    }
}
