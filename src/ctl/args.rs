//! The clap definitions of `llmlbctl`. Doc comments become `--help`, the
//! completions and the man pages.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::api::auth::{Role, MAX_API_KEY_LIFETIME_SECS};
use crate::api::import::OnConflict;
use crate::common::duration::parse_duration;

/// Administer an llmlb daemon: nodes, tokens, API keys and legacy imports.
///
/// Credentials are found in this order: --token (or LLMLB_TOKEN), --token-file,
/// $LLMLB_DATA_DIR/admin.token, admin.token in the daemon's default data dir,
/// then the session saved by `llmlbctl login`. On the daemon's own machine no
/// setup is needed.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "llmlbctl",
    version,
    after_help = "Exit status: 0 success, 1 failure (the daemon refused, was unreachable, \
                  or a record was invalid), 2 usage error."
)]
pub struct CtlArgs {
    /// URL of the daemon.
    #[arg(
        long,
        global = true,
        env = "LLMLB_URL",
        default_value = "http://127.0.0.1:32768"
    )]
    pub(crate) url: String,

    /// Bearer token: an API key or a session token.
    #[arg(long, global = true, env = "LLMLB_TOKEN", hide_env_values = true)]
    pub(crate) token: Option<String>,

    /// Read the bearer token from this file.
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) token_file: Option<PathBuf>,

    /// Trust an https:// daemon whose certificate this PEM file's CA (or
    /// CAs) signed, instead of the system's root certificates.
    #[arg(
        long,
        global = true,
        env = "LLMLB_CA_CERT",
        value_name = "FILE",
        conflicts_with = "fingerprint"
    )]
    pub(crate) ca_cert: Option<PathBuf>,

    /// Trust exactly the https:// daemon certificate with this fingerprint
    /// (sha256:HEX, as llmlbd logs it and `llmlbctl status` shows it),
    /// whoever issued it; a self-signed daemon certificate is trusted this
    /// way.
    #[arg(long, global = true, env = "LLMLB_FINGERPRINT", value_name = "sha256:HEX",
          value_parser = crate::tls::Fingerprint::parse)]
    pub(crate) fingerprint: Option<crate::tls::Fingerprint>,

    /// Output format: a table for people, or the API's JSON as is.
    #[arg(short, long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub(crate) output: OutputFormat,

    /// How long to wait for the daemon (e.g. 30s).
    #[arg(long, global = true, default_value = "30s", value_parser = parse_duration)]
    pub(crate) timeout: Duration,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    Table,
    Json,
}

#[derive(Debug, Clone, Subcommand)]
pub(crate) enum Command {
    /// Show the daemon's version, uptime and node counts.
    Status,
    /// List, inspect, approve and manage nodes.
    Nodes {
        #[command(subcommand)]
        command: NodesCommand,
    },
    /// Create, list, rotate and revoke API keys.
    #[command(name = "api-keys")]
    ApiKeys {
        #[command(subcommand)]
        command: ApiKeysCommand,
    },
    /// Show the audit trail: who approved, removed, rotated, logged in…
    Audit(AuditArgs),
    /// Create, list and revoke join tokens, which let machines register.
    #[command(name = "join-tokens")]
    JoinTokens {
        #[command(subcommand)]
        command: JoinTokensCommand,
    },
    /// Log in with a username and password and save the session for later
    /// commands (mode 0600 under the user's config dir).
    Login(LoginArgs),
    /// End the saved session and forget it.
    Logout,
    /// Import a legacy nodes.json into the daemon (JSON → SQLite).
    #[command(name = "migrate-json")]
    MigrateJson(MigrateArgs),
    /// Print a shell completion script to stdout.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub(crate) enum NodesCommand {
    /// List nodes, pending ones first.
    List {
        /// Only nodes with this status.
        #[arg(long, value_parser = ["pending", "registering", "online", "offline"])]
        status: Option<String>,
        /// More columns: full ids, versions, metrics, times, tags.
        #[arg(long)]
        wide: bool,
    },
    /// Show one node in detail.
    Show {
        /// Node id or a unique prefix of at least 4 characters.
        id: String,
    },
    /// Approve pending nodes so they receive traffic.
    Approve {
        /// Node ids or unique prefixes.
        #[arg(
            required_unless_present = "all_pending",
            conflicts_with = "all_pending"
        )]
        ids: Vec<String>,
        /// Approve every pending node.
        #[arg(long)]
        all_pending: bool,
        /// Do not ask for confirmation.
        #[arg(short, long)]
        yes: bool,
    },
    /// Remove nodes and revoke their tokens (this is how a pending node is rejected).
    Remove {
        /// Node ids or unique prefixes.
        #[arg(required = true)]
        ids: Vec<String>,
        /// Do not ask for confirmation.
        #[arg(short, long)]
        yes: bool,
    },
    /// Set a node's custom name, notes or tags.
    Edit {
        /// Node id or a unique prefix.
        id: String,
        /// Custom name shown beside the machine name ("" clears it).
        #[arg(long)]
        name: Option<String>,
        /// Free-form notes ("" clears them).
        #[arg(long)]
        notes: Option<String>,
        /// Tags; repeat for several. Replaces the node's tags.
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        /// Remove all tags.
        #[arg(long, conflicts_with = "tags")]
        clear_tags: bool,
    },
    /// Start a token rotation: the node gets a new token in its next heartbeat reply.
    #[command(name = "rotate-token")]
    RotateToken {
        /// Node id or a unique prefix.
        id: String,
        /// How long the old token keeps working (e.g. 10m) [default: the daemon's].
        #[arg(long, value_parser = parse_duration)]
        grace: Option<Duration>,
    },
    /// Revoke a node's token at once; the node must register again.
    #[command(name = "revoke-token")]
    RevokeToken {
        /// Node id or a unique prefix.
        id: String,
    },
    /// Send a node no new requests; it stays registered.
    Drain {
        /// Node id or a unique prefix.
        id: String,
    },
    /// Let a drained node receive requests again.
    Undrain {
        /// Node id or a unique prefix.
        id: String,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub(crate) enum ApiKeysCommand {
    /// Create a key; its secret is printed this once.
    Create {
        /// A name saying who or what uses the key.
        #[arg(long)]
        name: String,
        /// What the key may do.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Lifetime (e.g. 30d), from 1s to 3650d (10 years); the key never
        /// expires without it.
        #[arg(long, value_parser = parse_key_lifetime)]
        expires_in: Option<Duration>,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key at once.
    Revoke {
        /// Key id or a unique prefix of at least 4 characters.
        id: String,
    },
    /// Replace a key's secret; the old one stops working. The new secret is printed this once.
    Rotate {
        /// Key id or a unique prefix of at least 4 characters.
        id: String,
    },
}

#[derive(Debug, Clone, clap::Args)]
pub(crate) struct AuditArgs {
    /// Only events of the last this long (e.g. 1h, 7d).
    #[arg(long, value_parser = parse_duration)]
    pub(crate) since: Option<Duration>,
    /// Only events about this node (id or unique prefix).
    #[arg(long)]
    pub(crate) node: Option<String>,
    /// Only this action (node.approve) or group of actions (node).
    #[arg(long)]
    pub(crate) action: Option<String>,
    /// Most events shown, newest first.
    #[arg(long, default_value_t = 100,
          value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub(crate) limit: u16,
}

#[derive(Debug, Clone, Subcommand)]
pub(crate) enum JoinTokensCommand {
    /// Create a join token; it is printed this once. Give it to the agents:
    /// llmlb-node --join-token-file FILE.
    Create {
        /// A label for people.
        #[arg(long, default_value = "")]
        name: String,
        /// How long it is valid (e.g. 24h, 7d), from 1s to 365d.
        #[arg(long, default_value = "24h", value_parser = parse_join_ttl,
              conflicts_with = "never_expires")]
        ttl: Duration,
        /// The token never expires (revoke it when done).
        #[arg(long)]
        never_expires: bool,
        /// How many registrations it admits [default: unlimited].
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        uses: Option<u64>,
        /// A tag for every node that registers with it; repeat for several.
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        /// Approve the nodes that register with it at once.
        #[arg(long)]
        auto_approve: bool,
    },
    /// List join tokens (never the secrets).
    List,
    /// Revoke a join token at once.
    Revoke {
        /// Token id or a unique prefix of at least 4 characters.
        id: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RoleArg {
    /// Everything.
    Admin,
    /// Read-only.
    Viewer,
    /// Only the OpenAI-compatible /v1 endpoints.
    Inference,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Admin => Role::Admin,
            RoleArg::Viewer => Role::Viewer,
            RoleArg::Inference => Role::Inference,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub(crate) struct LoginArgs {
    /// The user to log in as.
    #[arg(long, default_value = "admin")]
    pub(crate) username: String,
    /// Read the password from stdin instead of the terminal (for scripts).
    #[arg(long)]
    pub(crate) password_stdin: bool,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct MigrateArgs {
    /// The legacy nodes.json file.
    pub(crate) file: PathBuf,
    /// Validate and report what would happen, without writing anything.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// What to do with a record whose id the daemon already has.
    #[arg(long, value_enum, default_value_t = ConflictArg::Skip)]
    pub(crate) on_conflict: ConflictArg,
    /// Keep the file where it is instead of renaming it to FILE.migrated.
    #[arg(long)]
    pub(crate) keep: bool,
    /// Records per request.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub(crate) batch_size: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ConflictArg {
    /// Leave the existing node as it is.
    Skip,
    /// Replace the existing node's fields with the record's.
    Overwrite,
}

impl From<ConflictArg> for OnConflict {
    fn from(c: ConflictArg) -> OnConflict {
        match c {
            ConflictArg::Skip => OnConflict::Skip,
            ConflictArg::Overwrite => OnConflict::Overwrite,
        }
    }
}

/// A duration from 1 s to ten years, the lifetimes the daemon accepts for an
/// API key: refused here, before any request is sent.
fn parse_join_ttl(text: &str) -> Result<Duration, String> {
    let d = parse_duration(text)?;
    if (1..=crate::api::join_tokens::MAX_JOIN_TOKEN_TTL_SECS).contains(&d.as_secs()) {
        Ok(d)
    } else {
        Err(format!(
            "{text:?} is out of range: a join token lives from 1s to 365d; use \
             --never-expires for one that does not expire"
        ))
    }
}

fn parse_key_lifetime(text: &str) -> Result<Duration, String> {
    let d = parse_duration(text)?;
    if (1..=MAX_API_KEY_LIFETIME_SECS).contains(&d.as_secs()) {
        Ok(d)
    } else {
        Err(format!(
            "{text:?} is out of range: an API key lives from 1s to 3650d (10 years); leave \
             --expires-in out for a key that does not expire"
        ))
    }
}
