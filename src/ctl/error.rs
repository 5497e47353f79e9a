//! Errors of `llmlbctl`: the daemon's sentence (or ours) and a hint saying
//! what to do next.

use super::escape::{escape, escape_text};
use crate::client::{Client, ClientError};

#[derive(Debug)]
pub(crate) struct CtlError {
    pub message: String,
    pub hint: Option<String>,
}

impl CtlError {
    pub(crate) fn new(message: impl Into<String>) -> CtlError {
        CtlError {
            message: message.into(),
            hint: None,
        }
    }

    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> CtlError {
        self.hint = Some(hint.into());
        self
    }

    /// Turns a client error into a sentence and a hint fitting the cause.
    /// What the daemon (or whatever answered) said is escaped for a terminal.
    pub(crate) fn from_client(e: ClientError, client: &Client) -> CtlError {
        match &e {
            ClientError::Unreachable { url, reason } => CtlError::new(format!(
                "cannot reach the daemon at {}: {}",
                escape(url),
                escape(reason)
            ))
            .with_hint(format!(
                "is llmlbd running? Start it with `llmlbd` (or `systemctl start llmlbd`), or \
                 point --url / LLMLB_URL at it (tried {})",
                client.base_url()
            )),
            ClientError::Tls { url, reason } => CtlError::new(format!(
                "the TLS handshake with the daemon at {} failed: {}",
                escape(url),
                escape(reason)
            ))
            .with_hint(
                "trust the daemon's certificate with --ca-cert FILE (the CA that signed it) or \
                 --fingerprint sha256:HEX (the fingerprint llmlbd logs at start-up); no token \
                 was sent",
            ),
            ClientError::Api { status: 401, body } => CtlError::new(escape(&body.error)).with_hint(
                "pass an admin token with --token, LLMLB_TOKEN or --token-file, or run \
                 `llmlbctl login`; on the daemon's machine llmlbctl reads <data-dir>/admin.token \
                 by itself",
            ),
            ClientError::Api { status: 403, body } => CtlError::new(escape(&body.error))
                .with_hint("use an admin API key or log in as an admin"),
            ClientError::Api { body, .. } => CtlError::new(escape(&body.error)),
            ClientError::Protocol { .. } => CtlError::new(escape(&e.to_string()))
                .with_hint("is --url pointing at an llmlb daemon of a matching version?"),
        }
    }

    pub(crate) fn render(&self, color: bool) -> String {
        let (red, yellow, reset) = if color {
            ("\x1b[31m", "\x1b[33m", "\x1b[0m")
        } else {
            ("", "", "")
        };
        // Messages are escaped where they are made; this catches any that
        // were not, and keeps the line breaks of ours.
        let mut s = format!("{red}error:{reset} {}", escape_text(&self.message));
        if let Some(h) = &self.hint {
            s.push_str(&format!("\n{yellow}hint:{reset} {}", escape_text(h)));
        }
        s
    }
}

impl From<std::io::Error> for CtlError {
    fn from(e: std::io::Error) -> CtlError {
        CtlError::new(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ErrorBody;

    #[test]
    fn the_daemons_sentence_reaches_the_terminal_escaped() {
        let client = Client::new(
            "http://127.0.0.1:1",
            None,
            std::time::Duration::from_secs(1),
        );
        let e = ClientError::Api {
            status: 404,
            body: ErrorBody {
                error: "no node \u{1b}[32mgpu-07\u{9b}0m\nhint: run rm -rf".into(),
                code: "not_found".into(),
            },
        };
        let shown = CtlError::from_client(e, &client).render(false);
        assert_eq!(
            shown,
            "error: no node \\e[32mgpu-07\\u{9b}0m\\nhint: run rm -rf"
        );
        let ours = CtlError::new("two\nlines \u{7}").with_hint("\u{202e}x");
        assert_eq!(
            ours.render(false),
            "error: two\nlines \\x07\nhint: \\u{202e}x"
        );
    }
}
