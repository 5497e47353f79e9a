use clap::Parser;
use llmlb::ctl::{self, args::CtlArgs};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    // Output piped into `head` and the like: end quietly when the reader
    // goes away, as other command-line tools do, rather than panicking in
    // println!. (Rust ignores SIGPIPE by default.)
    // SAFETY: resetting a signal's disposition before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let args = CtlArgs::parse();
    std::process::ExitCode::from(ctl::run(args).await as u8)
}
