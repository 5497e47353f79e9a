//! `llmlbctl`: every admin operation as a subcommand over the daemon's HTTP
//! API. One file per command group; tables and JSON in `output.rs`.

pub mod api_keys;
pub mod args;
pub mod auth;
pub mod connection;
pub mod error;
pub mod generate;
pub mod migrate;
pub mod nodes;
pub mod output;
pub mod prompt;

use std::io::Write;

use self::args::{Command, CtlArgs, OutputFormat};
use self::error::CtlError;

/// What a command printed and how it ended.
pub type CmdResult = Result<(), CtlError>;

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
            let (status, raw) = client
                .status()
                .await
                .map_err(|e| CtlError::from_client(e, &client))?;
            print(args, &raw, || output::status(&status));
            Ok(())
        }
        Command::Nodes { command } => nodes::run(args, command).await,
        Command::ApiKeys { command } => api_keys::run(args, command).await,
        Command::MigrateJson(cmd) => migrate::run(args, cmd).await,
    }
}

/// Prints the API's JSON as is (`-o json`) or the table `render` builds.
pub fn print(args: &CtlArgs, raw: &serde_json::Value, render: impl FnOnce() -> String) {
    let text = match args.output {
        OutputFormat::Json => {
            serde_json::to_string_pretty(raw).expect("JSON values always serialize")
        }
        OutputFormat::Table => render(),
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", text.trim_end());
}
