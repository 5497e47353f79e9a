//! The clap definitions of `llmlb-node`.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Parser;

use super::gpu::{parse_gpu_spec, DeclaredGpu};

/// The llmlb GPU agent: finds this machine's GPUs, registers with the daemon,
/// and keeps it informed with heartbeats.
#[derive(Debug, Clone, Parser)]
#[command(name = "llmlb-node", version)]
pub struct NodeArgs {
    /// URL of the llmlb daemon.
    #[arg(long, env = "LLMLB_URL", default_value = "http://127.0.0.1:32768")]
    pub(crate) lb_url: String,

    /// Trust an https:// daemon whose certificate this PEM file's CA (or
    /// CAs) signed, instead of the system's root certificates.
    #[arg(
        long,
        env = "LLMLB_CA_CERT",
        value_name = "FILE",
        conflicts_with = "lb_fingerprint"
    )]
    pub(crate) ca_cert: Option<PathBuf>,

    /// Trust exactly the https:// daemon certificate with this fingerprint
    /// (sha256:HEX, as llmlbd logs it with the command line to use),
    /// whoever issued it. A certificate that does not match stops the agent
    /// before anything is sent.
    #[arg(long, env = "LLMLB_FINGERPRINT", value_name = "sha256:HEX",
          value_parser = crate::tls::Fingerprint::parse)]
    pub(crate) lb_fingerprint: Option<crate::tls::Fingerprint>,

    /// URL of the local OpenAI-compatible inference server (llama.cpp server,
    /// vLLM, Ollama) the daemon sends requests to.
    #[arg(
        long,
        env = "LLMLB_RUNTIME_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub(crate) runtime_url: String,

    /// Address the daemon reaches this machine at [default: the local address
    /// that routes to the daemon].
    #[arg(long, env = "LLMLB_ADVERTISE_IP")]
    pub(crate) advertise_ip: Option<IpAddr>,

    /// Port the daemon probes for /v1/models [default: the runtime's port].
    #[arg(long, env = "LLMLB_NODE_API_PORT")]
    pub(crate) node_api_port: Option<u16>,

    /// Name of this machine [default: the host name].
    #[arg(long, env = "LLMLB_MACHINE_NAME")]
    pub(crate) machine_name: Option<String>,

    /// Version of the inference server, as shown to administrators.
    #[arg(long, env = "LLMLB_RUNTIME_VERSION", default_value = "")]
    pub(crate) runtime_version: String,

    /// Where the node id and its token are kept [default: $STATE_DIRECTORY
    /// under systemd, else $XDG_STATE_HOME/llmlb-node or
    /// ~/.local/state/llmlb-node].
    #[arg(long, env = "LLMLB_STATE_DIR")]
    pub(crate) state_dir: Option<PathBuf>,

    /// Declare GPUs NVML cannot see, as MODEL:COUNT[:MEMORY] (memory per
    /// device, e.g. 80GiB, 24GB or bytes). Repeat for several models.
    #[arg(long = "gpu", value_name = "MODEL:COUNT[:MEMORY]", env = "LLMLB_GPU",
          value_delimiter = ',', value_parser = parse_gpu_spec)]
    pub(crate) gpus: Vec<DeclaredGpu>,

    /// Tags sent at registration; repeat for several.
    #[arg(long = "tag", value_name = "TAG")]
    pub(crate) tags: Vec<String>,

    /// A join token from an administrator (llmlbctl join-tokens create),
    /// sent when registering; needed when the daemon runs with
    /// --registration join-token. Prefer --join-token-file: a flag's value is
    /// visible to other users in the process list.
    #[arg(
        long,
        env = "LLMLB_JOIN_TOKEN",
        hide_env_values = true,
        conflicts_with = "join_token_file"
    )]
    pub(crate) join_token: Option<String>,

    /// Read the join token from this file (its first line).
    #[arg(long, env = "LLMLB_JOIN_TOKEN_FILE", value_name = "FILE")]
    pub(crate) join_token_file: Option<PathBuf>,

    /// Print the GPUs found (NVML and --gpu) as JSON and exit.
    #[arg(long)]
    pub detect: bool,

    /// Log format on stderr.
    #[arg(long, env = "LLMLB_LOG_FORMAT", value_enum,
          default_value_t = crate::common::logging::LogFormat::Text)]
    pub log_format: crate::common::logging::LogFormat,
}

impl NodeArgs {
    /// The join token from --join-token or --join-token-file, if any.
    pub(crate) fn join_token(&self) -> Result<Option<crate::secret::Secret>, String> {
        if let Some(t) = self.join_token.as_deref().map(str::trim) {
            return Ok((!t.is_empty()).then(|| crate::secret::Secret::new(t.to_string())));
        }
        let Some(path) = &self.join_token_file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "cannot read the join token file {}: {e}; check the path and its permissions",
                path.display()
            )
        })?;
        let token = text.lines().next().unwrap_or("").trim();
        if token.is_empty() {
            return Err(format!(
                "the join token file {} is empty; put the token from llmlbctl join-tokens create \
                 in it",
                path.display()
            ));
        }
        Ok(Some(crate::secret::Secret::new(token.to_string())))
    }

    /// How the agent trusts an https:// daemon.
    pub(crate) fn trust(&self) -> crate::tls::Trust {
        crate::tls::Trust::from_flags(
            self.ca_cert.as_deref(),
            self.lb_fingerprint.as_ref(),
            "--lb-fingerprint",
        )
    }

    /// `--state-dir`, else the agent's default state dir.
    pub(crate) fn resolved_state_dir(&self) -> Option<PathBuf> {
        self.state_dir
            .clone()
            .or_else(crate::common::paths::agent_state_dir)
    }
}
