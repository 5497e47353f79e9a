use llmlb::daemon::{self, config::DaemonArgs};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // glibc gives every thread that allocates its own arena; a few HTTP
    // workers and the blocking pool then keep tens of megabytes each.
    // Two arenas are plenty for this daemon.
    // SAFETY: mallopt only changes allocator settings; called before any
    // other thread of ours exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
    let args = DaemonArgs::parse_command_line();
    llmlb::common::logging::init(args.log_format);
    match daemon::run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
