use clap::Parser;

// The proxy allocates small buffers per request; mimalloc does that faster
// than the system allocator.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
