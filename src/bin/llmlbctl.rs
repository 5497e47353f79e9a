use clap::Parser;
use llmlb::ctl::{self, args::CtlArgs};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let args = CtlArgs::parse();
    std::process::ExitCode::from(ctl::run(args).await as u8)
}
