//! `llmlbctl`: every admin operation as a subcommand over the daemon's HTTP
//! API. One file per command group; tables and JSON in `output.rs`.

pub(crate) mod api_keys;
pub mod args;
pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod connection;
pub(crate) mod error;
pub(crate) mod escape;
pub mod generate;
pub(crate) mod join_tokens;
pub(crate) mod migrate;
pub(crate) mod nodes;
pub(crate) mod output;
pub(crate) mod prompt;

use std::io::Write;

use self::args::{Command, CtlArgs, OutputFormat};
use self::error::CtlError;
use crate::client::{Client, Reply};

/// What a command printed and how it ended.
pub(crate) type CmdResult = Result<(), CtlError>;

/// Runs one invocation; returns the process exit code (0 success, 1 failure).
pub async fn run(args: CtlArgs) -> i32 {
    match dispatch(&args).await {
        Ok(()) => 0,
        Err(e) => {
            let _ = std::io::stdout().flush();
            eprintln!("{}", e.render(output::stderr_color()));
            1
        }
    }
}

async fn dispatch(args: &CtlArgs) -> CmdResult {
    match &args.command {
        Command::Completions { shell } => {
            generate::print_completions(*shell);
            Ok(())
        }
        Command::Login(cmd) => auth::login(args, cmd).await,
        Command::Logout => auth::logout(args).await,
        Command::Status => {
            let client = connection::connect(args, false)?;
            let reply = client
                .status()
                .await
                .map_err(|e| CtlError::from_client(e, &client))?;
            show(args, &client, &reply, |s| output::status(&s))
        }
        Command::Nodes { command } => nodes::run(args, command).await,
        Command::ApiKeys { command } => api_keys::run(args, command).await,
        Command::JoinTokens { command } => join_tokens::run(args, command).await,
        Command::Audit(cmd) => audit::run(args, cmd).await,
        Command::MigrateJson(cmd) => migrate::run(args, cmd).await,
    }
}

/// Prints a reply: the daemon's JSON as is (`-o json`), or the table
/// `render` builds from the decoded value.
pub(crate) fn show<T: serde::de::DeserializeOwned>(
    args: &CtlArgs,
    client: &Client,
    reply: &Reply<T>,
    render: impl FnOnce(T) -> String,
) -> CmdResult {
    let mut out = std::io::stdout().lock();
    match args.output {
        OutputFormat::Json => {
            out.write_all(&reply.raw)?;
            out.write_all(b"\n")?;
        }
        OutputFormat::Table => {
            let value = reply
                .decode()
                .map_err(|e| CtlError::from_client(e, client))?;
            writeln!(out, "{}", render(value).trim_end())?;
        }
    }
    Ok(())
}

/// Prints an answer of llmlbctl's own (where the daemon answers nothing).
pub(crate) fn print_value(
    args: &CtlArgs,
    value: &serde_json::Value,
    render: impl FnOnce() -> String,
) {
    let text = match args.output {
        OutputFormat::Json => value.to_string(),
        OutputFormat::Table => render(),
    };
    println!("{}", text.trim_end());
}
