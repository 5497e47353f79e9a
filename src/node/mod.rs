//! `llmlb-node`: the agent on each GPU machine.

pub(crate) mod agent;
pub(crate) mod args;
pub(crate) mod gpu;
pub(crate) mod metrics;
pub(crate) mod state;

use serde_json::json;

pub use self::args::NodeArgs;
use self::gpu::Gpus;
use self::state::StateFile;

/// `--detect`: what NVML and `--gpu` give, as JSON on stdout. Exit code 0
/// when there is at least one GPU, 1 when there is none.
pub fn detect(args: &NodeArgs) -> i32 {
    let gpus = Gpus::init();
    let detected = gpus.detect();
    let grouped = gpu::group(&detected, &args.gpus);
    let report = json!({
        "nvml": {
            "available": gpus.nvml_available(),
            "driver_version": gpus.driver_version(),
            "error": gpus.nvml_error,
        },
        "devices": detected,
        "declared": args.gpus,
        "gpu_devices": grouped,
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&report).expect("serializes")
    );
    i32::from(grouped.is_empty())
}

/// The agent: runs until SIGINT/SIGTERM (exit 0) or a fatal error.
pub async fn run(args: NodeArgs) -> anyhow::Result<()> {
    let gpus = Gpus::init();
    let detected = gpus.detect();
    if detected.is_empty() && args.gpus.is_empty() {
        anyhow::bail!(
            "no GPU found: NVML is not available here ({}) and no --gpu was given. Install the \
             NVIDIA driver, or declare the GPUs with --gpu MODEL:COUNT[:MEMORY], e.g. --gpu \
             \"RTX 4090:2:24GiB\"",
            gpus.nvml_error.as_deref().unwrap_or("it found no devices")
        );
    }
    match &gpus.nvml_error {
        None => {
            tracing::info!(devices = detected.len(), driver = ?gpus.driver_version(), "NVML loaded")
        }
        Some(e) => tracing::info!("NVML not available ({e}); using the GPUs given with --gpu"),
    }
    let dir = args.resolved_state_dir().ok_or_else(|| {
        anyhow::anyhow!("cannot find a state dir: set HOME or XDG_STATE_HOME, or pass --state-dir")
    })?;
    // It holds the node's token.
    crate::common::fsutil::make_private_dir(&dir, "state dir", "--state-dir")?;
    let stop = crate::common::notify::shutdown_signal()?;
    crate::common::notify::spawn_watchdog();
    let agent = agent::Agent::new(args, gpus, StateFile::new(&dir))?;
    agent.run(stop).await?;
    Ok(())
}
