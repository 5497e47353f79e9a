use clap::Parser;
use llmlb::node::{self, NodeArgs};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let args = NodeArgs::parse();
    if args.detect {
        return std::process::ExitCode::from(node::detect(&args) as u8);
    }
    llmlb::common::logging::init(args.log_format);
    match node::run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
