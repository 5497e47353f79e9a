use clap::Parser;

use llmlb::daemon::{self, config::DaemonArgs};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = DaemonArgs::parse();
    daemon::init_logging(args.log_format);
    match daemon::run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
