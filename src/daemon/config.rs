//! Command line and environment of `llmlbd`. Order: default < `LLMLB_*`
//! environment variable < flag.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::common::duration::parse_duration;
use crate::common::logging::LogFormat;

/// The llmlb daemon: node registry, admission, heartbeats and the HTTP API.
#[derive(Debug, Clone, Parser)]
#[command(name = "llmlbd", version, about, long_about = None)]
pub struct DaemonArgs {
    /// Address and port to serve the HTTP API on.
    #[arg(long, env = "LLMLB_LISTEN", default_value = "0.0.0.0:32768")]
    pub listen: SocketAddr,

    /// Directory for the database and the admin credentials [default:
    /// $STATE_DIRECTORY under systemd, else $XDG_DATA_HOME/llmlb or
    /// ~/.local/share/llmlb].
    #[arg(long, env = "LLMLB_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// Seconds between heartbeats, announced to nodes in every reply.
    #[arg(long, env = "LLMLB_HEARTBEAT_INTERVAL", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub heartbeat_interval: u64,

    /// Seconds without a heartbeat after which a node is offline.
    #[arg(long, env = "LLMLB_NODE_TIMEOUT", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub node_timeout: u64,

    /// Do not probe a registering node's /v1/models before accepting it.
    #[arg(long, env = "LLMLB_NO_REACHABILITY_CHECK")]
    pub no_reachability_check: bool,

    /// How long the registration probe waits for the node (e.g. 2s).
    #[arg(long, env = "LLMLB_PROBE_TIMEOUT", default_value = "2s", value_parser = parse_duration)]
    pub probe_timeout: Duration,

    /// Rotate runtime tokens older than this by itself (e.g. 30d); off when
    /// not set.
    #[arg(long, env = "LLMLB_RUNTIME_TOKEN_MAX_AGE", value_parser = parse_duration)]
    pub runtime_token_max_age: Option<Duration>,

    /// How long an old runtime token keeps working after a rotation starts,
    /// unless the rotate call says otherwise (1s to 30d).
    #[arg(long, env = "LLMLB_TOKEN_GRACE", default_value = "10m", value_parser = parse_grace)]
    pub token_grace: Duration,

    /// How long a client may take to send the headers of a request before the
    /// connection is closed (protects against idle or slow clients).
    #[arg(long, env = "LLMLB_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_timeout: Duration,

    /// How long a client may take to send a whole request body, on every
    /// route (a slow or stalled upload is answered 408 and dropped).
    #[arg(long, env = "LLMLB_BODY_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub body_timeout: Duration,

    /// Require an API key of role inference (or admin) on the /v1 endpoints.
    #[arg(long, env = "LLMLB_REQUIRE_API_KEY")]
    pub require_api_key: bool,

    /// Which code reads requests first: the fast lane (the default) or
    /// hyper alone. Not a documented flag: `--proxy-entry` exists so that
    /// tests can run every proxy test through both entries, and is only
    /// known to [`DaemonArgs::parse_command_line`], so it stays out of
    /// `--help`, completions and man pages.
    #[arg(skip)]
    pub proxy_entry: super::proxy::ProxyEntry,

    /// How long to wait for a node to start answering a proxied request.
    #[arg(long, env = "LLMLB_UPSTREAM_TIMEOUT", default_value = "300s", value_parser = parse_duration)]
    pub upstream_timeout: Duration,

    /// How long to wait for a connection to a node before trying another.
    #[arg(long, env = "LLMLB_UPSTREAM_CONNECT_TIMEOUT", default_value = "2s", value_parser = parse_duration)]
    pub upstream_connect_timeout: Duration,

    /// Threads serving HTTP, each with its own event loop [default: one per
    /// CPU core].
    #[arg(long, env = "LLMLB_HTTP_WORKERS",
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub http_workers: Option<u16>,

    /// Requests per second that one source address (an IPv6 /64) may make on
    /// the routes anyone can call: registration and login. 0 turns the limit
    /// off.
    #[arg(long, env = "LLMLB_RATE_LIMIT", default_value_t = 10.0,
          value_parser = parse_rate)]
    pub rate_limit: f64,

    /// How many such requests one source may make at once before the rate
    /// applies.
    #[arg(long, env = "LLMLB_RATE_BURST", default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub rate_burst: u32,

    /// Most nodes that may wait in pending; further registrations are refused
    /// (429 too_many_pending) until an administrator approves or removes some.
    #[arg(long, env = "LLMLB_MAX_PENDING", default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub max_pending: u32,

    /// How long logins are refused after 5 failed attempts for one username
    /// or from one address (the right password included; API keys still
    /// work). Each further failure doubles it, up to 15 minutes.
    #[arg(long, env = "LLMLB_LOGIN_LOCKOUT", default_value = "5s",
          value_parser = parse_lockout)]
    pub login_lockout: Duration,

    /// Most GPU device entries one registration may list.
    #[arg(long, env = "LLMLB_MAX_GPU_DEVICES", default_value_t = 64,
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub max_gpu_devices: u32,

    /// Most entries in each list of loaded models a heartbeat may send.
    #[arg(long, env = "LLMLB_MAX_MODELS", default_value_t = 512,
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub max_models: u32,

    /// Most tags (and supported runtimes) of a node.
    #[arg(long, env = "LLMLB_MAX_TAGS", default_value_t = 64,
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub max_tags: u32,

    /// Most characters in a machine name, version, tag, GPU or model name.
    #[arg(long, env = "LLMLB_MAX_NAME_LENGTH", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub max_name_length: u32,

    /// Most bytes of an administrator's notes on a node.
    #[arg(long, env = "LLMLB_MAX_NOTES_BYTES", default_value_t = 4096,
          value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    pub max_notes_bytes: u32,

    /// Who may register: anyone who can reach the daemon (`open`), or only
    /// machines that send a join token in X-Join-Token (`join-token`;
    /// create them with llmlbctl join-tokens create). Either way new nodes
    /// wait in pending unless their join token auto-approves them.
    #[arg(long, env = "LLMLB_REGISTRATION", value_enum, default_value_t = RegistrationMode::Open)]
    pub registration: RegistrationMode,

    /// How long the audit trail keeps its rows (e.g. 90d); older ones are
    /// pruned in the background.
    #[arg(long, env = "LLMLB_AUDIT_RETENTION", default_value = "90d", value_parser = parse_duration)]
    pub audit_retention: Duration,
    /// Serve HTTPS (every route, /v1 included) with this PEM certificate
    /// chain, the server's own certificate first. Needs --tls-key. Re-read
    /// on SIGHUP.
    #[arg(
        long,
        env = "LLMLB_TLS_CERT",
        requires = "tls_key",
        conflicts_with = "tls"
    )]
    pub tls_cert: Option<PathBuf>,

    /// The PEM private key of --tls-cert (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "LLMLB_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// `self-signed`: serve HTTPS with a certificate made on first start
    /// and kept in the data dir (tls.crt, tls.key); its fingerprint and the
    /// agent command line that pins it are logged at start-up.
    #[arg(long, env = "LLMLB_TLS", value_enum)]
    pub tls: Option<TlsMode>,

    /// An extra name (DNS name or IP address) for the self-signed
    /// certificate, besides the host name, localhost and the listen address.
    /// Repeatable; used only when the certificate is first made.
    #[arg(
        long = "tls-san",
        env = "LLMLB_TLS_SAN",
        value_delimiter = ',',
        value_name = "NAME",
        requires = "tls"
    )]
    pub tls_san: Vec<String>,

    /// Log format on stderr.
    #[arg(long, env = "LLMLB_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

impl DaemonArgs {
    /// Parses the command line: the flags above, and the hidden
    /// `--proxy-entry lane|hyper`.
    pub fn parse_command_line() -> DaemonArgs {
        use clap::{CommandFactory, FromArgMatches};
        let matches = Self::command()
            .arg(
                clap::Arg::new("proxy_entry")
                    .long("proxy-entry")
                    .hide(true)
                    .value_parser(
                        clap::builder::EnumValueParser::<super::proxy::ProxyEntry>::new(),
                    ),
            )
            .get_matches();
        let mut args = Self::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        if let Some(entry) = matches.get_one::<super::proxy::ProxyEntry>("proxy_entry") {
            args.proxy_entry = *entry;
        }
        args
    }
}

/// How `--tls` gets its certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TlsMode {
    /// Make a self-signed certificate in the data dir on first start.
    SelfSigned,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RegistrationMode {
    /// Anyone who can reach the daemon may register (and waits in pending).
    Open,
    /// Only registrations with a valid join token.
    JoinToken,
}

/// A rate in requests per second: a non-negative number.
fn parse_rate(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=1_000_000.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "{s:?} is not a rate: give requests per second from 0 (off) to 1000000"
        )),
    }
}

/// A rotation's grace period: from 1 s to 30 days, as the rotate call
/// allows. Its end is stored, and must be a time the database can read back.
fn parse_grace(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d >= Duration::from_secs(1) && d <= super::handlers::tokens::MAX_GRACE {
        Ok(d)
    } else {
        Err(format!("{s:?} is out of range: give 1s to 30d"))
    }
}

/// The first login lockout: from 1 s to the 15-minute cap.
fn parse_lockout(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d >= Duration::from_secs(1) && d <= super::login::MAX_LOCKOUT {
        Ok(d)
    } else {
        Err(format!("{s:?} is out of range: give 1s to 15m"))
    }
}

impl DaemonArgs {
    /// The field limits the flags set.
    pub(crate) fn field_limits(&self) -> crate::daemon::validate::FieldLimits {
        let n = |v: u32| v as usize;
        crate::daemon::validate::FieldLimits {
            gpu_devices: n(self.max_gpu_devices),
            models: n(self.max_models),
            tags: n(self.max_tags),
            name_chars: n(self.max_name_length),
            notes_bytes: n(self.max_notes_bytes),
        }
    }

    /// The data dir: the flag, else the defaults in the README.
    pub(crate) fn resolved_data_dir(&self) -> anyhow::Result<PathBuf> {
        if let Some(d) = &self.data_dir {
            return Ok(d.clone());
        }
        crate::common::paths::daemon_data_dir().ok_or_else(|| {
            anyhow::anyhow!(
                "cannot find a data directory: none of STATE_DIRECTORY, XDG_DATA_HOME or HOME \
                 is set; pass --data-dir"
            )
        })
    }
}
