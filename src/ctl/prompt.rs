//! Asking the person at the terminal.

use std::io::{BufRead, IsTerminal, Write};

use super::error::CtlError;

/// Asks a yes/no question; `yes` answers it in advance. Without a terminal
/// and without `yes`, refuses rather than guess.
pub(crate) fn confirm(question: &str, yes: bool) -> Result<bool, CtlError> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(CtlError::new(format!("{question} needs confirmation"))
            .with_hint("there is no terminal to ask on: pass --yes"));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}
