//! `llmlbd`: the node registry daemon.

pub(crate) mod audit;
pub(crate) mod auth;
pub mod clock;
pub mod config;
pub(crate) mod dashboard;
mod dispatch;
pub(crate) mod error;
pub(crate) mod extract;
pub(crate) mod handlers;
pub(crate) mod import;
pub(crate) mod join_tokens;
mod jsonw;
mod lane;
pub(crate) mod limits;
pub(crate) mod lock;
pub(crate) mod login;
pub(crate) mod metrics;
pub(crate) mod probe;
pub(crate) mod proxy;
pub(crate) mod registry;
pub mod router;
pub(crate) mod server;
pub mod tls;
pub(crate) mod upstream;
pub(crate) mod validate;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::net::TcpListener;

use self::clock::SharedClock;
use self::config::DaemonArgs;
use self::registry::{Registry, RegistryConfig};
use self::router::{AppState, Shared};
use crate::store::{Db, Store, DB_FILE};

/// How often heartbeat metrics are written behind.
const FLUSH_EVERY: Duration = Duration::from_secs(2);
/// How often audit rows past the retention are removed (also at start).
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// How often liveness and token deadlines are checked.
const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// How often the WAL is checkpointed: often, so each checkpoint copies (and
/// syncs) a little rather than hundreds of megabytes at once.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

/// Opens the data dir and database, bootstraps credentials, imports a legacy
/// `nodes.json`, and returns the state the server runs on, on the real
/// clock.
pub fn prepare(args: &DaemonArgs) -> anyhow::Result<AppState> {
    prepare_with_clock(args, clock::system())
}

/// [`prepare`] on a clock of the caller's: everything the daemon judges by
/// time (offline timeouts, rotation grace and age, API-key, session and
/// join-token expiry, stored timestamps) reads `clock`. An in-process test
/// passes a [`clock::ManualClock`], moves it with `advance`, and makes the
/// daemon act on the new time at once with [`RunningDaemon::sweep_now`]
/// instead of waiting for the upkeep loop (whose timers still run on real
/// time).
pub fn prepare_with_clock(args: &DaemonArgs, clock: SharedClock) -> anyhow::Result<AppState> {
    extract::set_body_timeout(args.body_timeout);
    let data_dir = args.resolved_data_dir()?;
    // It holds the database and the admin credentials.
    crate::common::fsutil::make_private_dir(&data_dir, "data dir", "--data-dir")?;
    // Before anything reads the database or binds the port.
    let data_dir_lock = lock::DataDirLock::acquire(&data_dir)?;
    let db_path = data_dir.join(DB_FILE);
    let store = Store::open(&db_path)
        .with_context(|| format!("cannot open the database {}", db_path.display()))?;
    let db = Db::new(store);
    let registry = Registry::load(
        db.clone(),
        RegistryConfig {
            heartbeat_interval: Duration::from_secs(args.heartbeat_interval),
            node_timeout: Duration::from_secs(args.node_timeout),
            default_grace: args.token_grace,
            token_max_age: args.runtime_token_max_age,
        },
        clock.clone(),
    )
    .with_context(|| format!("cannot load the nodes from {}", db_path.display()))?;
    auth::bootstrap(&db, &clock, &data_dir)?;
    import::import_legacy_file(&registry, &data_dir)?;
    let auth = auth::Auth::load(db.clone(), clock.clone()).context("cannot load credentials")?;
    let join_tokens = join_tokens::JoinTokens::load(db.clone(), clock.clone())
        .context("cannot load the join tokens")?;
    let tls = tls_server(args, &data_dir)?;
    Ok(AppState(Arc::new(Shared {
        db,
        clock: clock.clone(),
        registry,
        auth,
        probe: probe::client(args.probe_timeout),
        reachability_check: !args.no_reachability_check,
        header_timeout: args.header_timeout,
        http_workers: args.http_workers.map(usize::from).unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        }),
        proxy: proxy::Proxy::new(proxy::ProxyConfig {
            timeout: args.upstream_timeout,
            connect_timeout: args.upstream_connect_timeout,
            require_api_key: args.require_api_key,
            entry: args.proxy_entry,
        }),
        metrics: metrics::Metrics::default(),
        register_limit: limits::RateLimiter::new(args.rate_limit, args.rate_burst),
        login_limit: limits::RateLimiter::new(args.rate_limit, args.rate_burst),
        login_guard: login::LoginGuard::new(
            login::LockoutConfig {
                base: args.login_lockout,
                ..login::LockoutConfig::default()
            },
            clock.clone(),
        ),
        max_pending: args.max_pending as usize,
        field_limits: args.field_limits(),
        audit_retention: args.audit_retention,
        join_tokens,
        join_required: args.registration == config::RegistrationMode::JoinToken,
        tls,
        listen_addr: std::sync::OnceLock::new(),
        started_at: clock.now_utc(),
        started: Instant::now(),
        _data_dir_lock: data_dir_lock,
    })))
}

/// The certificate the flags ask for, read (and, for `--tls self-signed`,
/// made) now so that a bad file stops the start with its reason.
fn tls_server(
    args: &DaemonArgs,
    data_dir: &std::path::Path,
) -> anyhow::Result<Option<Arc<tls::TlsServer>>> {
    let (cert, key) = match (&args.tls, &args.tls_cert, &args.tls_key) {
        (Some(config::TlsMode::SelfSigned), _, _) => {
            tls::ensure_self_signed(data_dir, args.listen, &args.tls_san)?
        }
        (None, Some(c), Some(k)) => (c.clone(), k.clone()),
        (None, None, None) => return Ok(None),
        _ => anyhow::bail!("--tls-cert and --tls-key go together; give both"),
    };
    Ok(Some(Arc::new(tls::TlsServer::load(&cert, &key)?)))
}

/// Background upkeep until `stop` fires: liveness sweeps, the write-behind
/// (which also rebuilds dropped listing fragments) and WAL checkpoints.
async fn upkeep(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut sweep = tokio::time::interval(SWEEP_EVERY);
    let mut flush = tokio::time::interval(FLUSH_EVERY);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut prune = tokio::time::interval(PRUNE_EVERY);
    prune.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut checkpoint = tokio::time::interval(CHECKPOINT_EVERY);
    checkpoint.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = sweep.tick() => {
                if let Err(e) = state.blocking(|s| Ok(s.registry.sweep()?)).await {
                    tracing::error!(error = %e, "sweep failed");
                }
            }
            _ = prune.tick() => prune_audit(&state).await,
            _ = flush.tick() => {
                state.register_limit.sweep();
                state.login_limit.sweep();
                state.login_guard.sweep();
                flush_all(&state).await
            }
            _ = checkpoint.tick() => {
                let done = state.blocking(|s| Ok(s.registry.checkpoint()?)).await;
                if let Err(e) = done {
                    tracing::error!(error = %e, "WAL checkpoint failed; will retry");
                }
            }
            _ = stop.changed() => break,
        }
    }
}

/// Removes audit rows older than `--audit-retention`.
async fn prune_audit(state: &AppState) {
    let keep = chrono::Duration::from_std(state.audit_retention).unwrap_or(chrono::Duration::MAX);
    let Some(before) = state.clock.now_utc().checked_sub_signed(keep) else {
        return;
    };
    let done = state
        .blocking(move |s| Ok(s.db.with_conn(|c| crate::store::audit::prune(c, before))?))
        .await;
    match done {
        Ok(0) => {}
        Ok(n) => tracing::info!(rows = n, "pruned old audit rows"),
        Err(e) => tracing::error!(error = %e, "pruning the audit trail failed"),
    }
}

async fn flush_all(state: &AppState) {
    let result = state
        .blocking(|s| {
            s.registry.flush()?;
            s.auth.flush()?;
            s.registry.warm_listing();
            Ok(())
        })
        .await;
    if let Err(e) = result {
        tracing::error!(error = %e, "writing heartbeat data failed; will retry");
    }
}

/// A daemon serving on a bound listener, as tests and benchmarks use it.
pub struct RunningDaemon {
    pub addr: SocketAddr,
    pub state: AppState,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningDaemon {
    /// Runs one sweep of the registry now, on its clock, as the upkeep loop
    /// does every second: nodes without a heartbeat for the offline timeout
    /// go offline, rotations whose grace is over end, tokens past
    /// `--runtime-token-max-age` are rotated. With a daemon made by
    /// [`prepare_with_clock`] on a [`clock::ManualClock`], a test advances
    /// the clock and calls this instead of sleeping.
    pub async fn sweep_now(&self) -> anyhow::Result<()> {
        self.state
            .blocking(|s| Ok(s.registry.sweep()?))
            .await
            .map_err(|e| anyhow::anyhow!("the sweep failed: {e}"))
    }

    /// Removes the audit rows older than `--audit-retention` on the
    /// daemon's clock now, as the upkeep loop does at start and hourly: with
    /// a [`clock::ManualClock`], a test advances past the retention and calls
    /// this instead of waiting for the next hour.
    pub async fn prune_audit_now(&self) {
        prune_audit(&self.state).await;
    }

    /// Stops accepting, waits for open requests, flushes the write-behind.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Starts serving `state` on `listener` in the background.
pub fn spawn(listener: TcpListener, state: AppState) -> anyhow::Result<RunningDaemon> {
    let addr = listener.local_addr()?;
    let _ = state.listen_addr.set(addr);
    let (stop, rx) = tokio::sync::watch::channel(false);
    let app = router::router(state.clone());
    let upkeep_task = tokio::spawn(upkeep(state.clone(), rx.clone()));
    let flush_state = state.clone();
    let state_for_lane = state.clone();
    let header_timeout = state.header_timeout;
    let workers = state.http_workers;
    let task = tokio::spawn(async move {
        let mut rx = rx;
        let result = server::serve(
            listener,
            app,
            state_for_lane,
            header_timeout,
            workers,
            async move {
                let _ = rx.changed().await;
            },
        )
        .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "the HTTP server failed");
        }
        let _ = upkeep_task.await;
        flush_all(&flush_state).await;
    });
    Ok(RunningDaemon {
        addr,
        state,
        stop,
        task,
    })
}

/// The whole daemon: prepare, bind, serve until SIGINT or SIGTERM, flush.
pub async fn run(args: DaemonArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let state = prepare(&args)?;
    let listener = TcpListener::bind(args.listen).await.with_context(|| {
        format!(
            "cannot listen on {}; is another llmlbd running? Pick another address with --listen",
            args.listen
        )
    })?;
    let stop = crate::common::notify::shutdown_signal()?;
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .context("cannot install the SIGHUP handler")?;
    let tls = state.tls.clone();
    let daemon = spawn(listener, state)?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        startup_ms = started.elapsed().as_millis() as u64,
        "listening on {scheme}://{}",
        daemon.addr
    );
    match &tls {
        Some(tls) => {
            let host = match daemon.addr.ip() {
                ip if ip.is_unspecified() => tls::host_name().unwrap_or_else(|| "HOST".to_string()),
                std::net::IpAddr::V6(ip) => format!("[{ip}]"),
                ip => ip.to_string(),
            };
            let fingerprint = tls.fingerprint();
            tracing::info!(
                fingerprint = %fingerprint,
                "TLS certificate fingerprint {fingerprint}; agents pin it with: \
                 llmlb-node --lb-url https://{host}:{} --lb-fingerprint {fingerprint}",
                daemon.addr.port()
            );
        }
        None if tls::warns_clear_text(daemon.addr) => tracing::warn!(
            "listening on {} without TLS: runtime tokens, API keys, passwords and prompts \
             travel in clear text; serve HTTPS with --tls-cert/--tls-key or --tls self-signed, \
             or listen on a loopback address",
            daemon.addr
        ),
        None => {}
    }
    // Without TLS there is nothing to re-read, but SIGHUP still must not
    // end the daemon (its default action).
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            match &tls {
                Some(tls) => tls.reload(),
                None => tracing::info!("SIGHUP: no TLS certificate to re-read"),
            }
        }
    });
    crate::common::notify::ready();
    crate::common::notify::spawn_watchdog();
    stop.await;
    crate::common::notify::stopping();
    tracing::info!("shutting down: finishing open requests and writing heartbeat data");
    daemon.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use clap::Parser;
    use serde_json::{json, Value};

    use super::*;

    /// Sends `req`, expects a success, returns the JSON body.
    async fn call(req: reqwest::RequestBuilder) -> Value {
        let resp = req.send().await.unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
        resp.json().await.unwrap()
    }

    /// The public seam for in-process tests: a daemon on a manual clock,
    /// driven over HTTP, goes offline when the clock says so, and rotates an
    /// old token when a sweep is asked for, not after real seconds.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_daemon_on_a_manual_clock_sweeps_when_told() {
        let dir = tempfile::tempdir().unwrap();
        let args = DaemonArgs::parse_from([
            "llmlbd",
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--no-reachability-check",
            "--node-timeout",
            "30",
            "--runtime-token-max-age",
            "1h",
        ]);
        let clock = clock::ManualClock::new();
        let state = prepare_with_clock(&args, clock.clone()).unwrap();
        let daemon = spawn(TcpListener::bind("127.0.0.1:0").await.unwrap(), state).unwrap();
        let base = format!("http://{}", daemon.addr);
        let admin =
            std::fs::read_to_string(dir.path().join(crate::common::paths::ADMIN_TOKEN_FILE))
                .unwrap();
        let http = reqwest::Client::new();

        let reg = call(http.post(format!("{base}/v0/nodes")).json(&json!({
            "machine_name": "gpu-a",
            "ip_address": "192.0.2.10",
            "runtime_version": "v1",
            "runtime_port": 8080,
            "gpu_available": true,
            "gpu_devices": [{"model": "H100", "count": 1}],
        })))
        .await;
        let id = reg["node_id"].as_str().unwrap();
        let token = reg["runtime_token"].as_str().unwrap();
        call(
            http.post(format!("{base}/v0/nodes/{id}/approve"))
                .bearer_auth(admin.trim()),
        )
        .await;
        let beat = || {
            call(
                http.post(format!("{base}/v0/health"))
                    .header("X-Node-Token", token)
                    .json(&json!({"node_id": id, "loaded_models": ["m"]})),
            )
        };
        beat().await;
        let status = || async {
            let node = call(
                http.get(format!("{base}/v0/nodes/{id}"))
                    .bearer_auth(admin.trim()),
            )
            .await;
            node["status"].as_str().unwrap().to_string()
        };
        assert_eq!(status().await, "online");

        clock.advance(Duration::from_secs(31));
        daemon.sweep_now().await.unwrap();
        assert_eq!(status().await, "offline");
        assert!(beat().await["runtime_token"].is_null());
        assert_eq!(status().await, "online");

        // An hour on, the token is due; the sweep starts its rotation and
        // the next reply hands out the successor.
        clock.advance(Duration::from_secs(3600));
        beat().await;
        daemon.sweep_now().await.unwrap();
        assert!(beat().await["runtime_token"].is_string());
        daemon.shutdown().await;
    }
}
