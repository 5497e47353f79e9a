//! The daemon in this process: the flags parsed as `llmlbd` parses them
//! (`DaemonArgs::try_parse_from`), `llmlb::daemon::prepare` on a temporary
//! data dir with a real SQLite file, and `llmlb::daemon::spawn` on a
//! `127.0.0.1:0` listener. A restart is a shutdown (which flushes the
//! write-behind, as SIGTERM does) and a new prepare + spawn on the same dir.
//!
//! [`InProcess::start_on`] runs it on a clock of the test's
//! ([`ManualClock`]): the test moves the clock with `advance` and makes the
//! daemon act on the new time with [`InProcess::sweep_now`] (offline
//! timeouts, grace periods) or [`InProcess::prune_audit_now`] (audit
//! retention) instead of sleeping; expiries are judged on the clock at each
//! request. A restart keeps the clock.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use llmlb::daemon::clock::{self, SharedClock};
use llmlb::daemon::config::DaemonArgs;
use llmlb::daemon::RunningDaemon;

pub use llmlb::daemon::clock::ManualClock;

use super::Api;

/// A daemon served from this process on the test's runtime.
pub struct InProcess {
    api: Api,
    running: Option<RunningDaemon>,
    extra_args: Vec<String>,
    clock: SharedClock,
}

impl std::ops::Deref for InProcess {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.api
    }
}

impl InProcess {
    /// Starts a daemon with a fresh data dir and the given extra flags.
    pub async fn start(extra: &[&str]) -> InProcess {
        Self::start_on(clock::system(), extra).await
    }

    /// Starts a daemon with a fresh data dir and the given extra flags on
    /// `clock` (a [`ManualClock`] the test moves).
    pub async fn start_on(clock: SharedClock, extra: &[&str]) -> InProcess {
        let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        Self::start_in(dir, "127.0.0.1:0", extra, clock)
            .await
            .unwrap_or_else(|e| panic!("the daemon does not start: {e:#}"))
    }

    /// Starts a daemon on `dir` listening on `listen`, on `clock`; the error
    /// `prepare` or the flags gave if it cannot.
    pub async fn start_in(
        dir: Arc<tempfile::TempDir>,
        listen: &str,
        extra: &[&str],
        clock: SharedClock,
    ) -> anyhow::Result<InProcess> {
        let dir_arg = dir.path().to_str().expect("a UTF-8 temp dir").to_string();
        let argv = ["llmlbd", "--listen", listen, "--data-dir", dir_arg.as_str()]
            .into_iter()
            .chain(extra.iter().copied());
        let args = DaemonArgs::try_parse_from(argv)?;
        let scheme = if args.tls.is_some() || args.tls_cert.is_some() {
            "https"
        } else {
            "http"
        };
        // Argon2 and SQLite: blocking work, off the test's runtime threads.
        let state = tokio::task::spawn_blocking({
            let (args, clock) = (args.clone(), clock.clone());
            move || llmlb::daemon::prepare_with_clock(&args, clock)
        })
        .await??;
        let listener = tokio::net::TcpListener::bind(args.listen).await?;
        let running = llmlb::daemon::spawn(listener, state)?;
        Ok(InProcess {
            api: Api::new(running.addr, dir, scheme, extra),
            running: Some(running),
            extra_args: extra.iter().map(|s| s.to_string()).collect(),
            clock,
        })
    }

    fn running(&self) -> &RunningDaemon {
        self.running.as_ref().expect("the daemon is running")
    }

    /// One liveness and rotation sweep now, on the daemon's clock.
    pub async fn sweep_now(&self) {
        self.running()
            .sweep_now()
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
    }

    /// Prunes the audit rows past the retention now, on the daemon's clock.
    pub async fn prune_audit_now(&self) {
        self.running().prune_audit_now().await;
    }

    /// The daemon's state, for a test that must look inside.
    pub fn state(&self) -> &llmlb::daemon::router::AppState {
        &self.running().state
    }

    /// Stops accepting, lets open requests finish and flushes the
    /// write-behind, as a SIGTERM does; the data dir is free afterwards.
    pub async fn shutdown(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
    }

    /// Shuts down and starts again on the same data dir and flags.
    pub async fn restart(&mut self) {
        self.restart_on("127.0.0.1:0").await;
    }

    /// Shuts down and starts again on the same data dir, flags and port.
    pub async fn restart_same_port(&mut self) {
        let addr = self.addr.to_string();
        self.restart_on(&addr).await;
    }

    async fn restart_on(&mut self, listen: &str) {
        self.shutdown().await;
        let extra: Vec<&str> = self.extra_args.iter().map(String::as_str).collect();
        // The last handles on the old state (and its data-dir lock) go with
        // the tasks that finish their requests; wait for them.
        let deadline = Instant::now() + Duration::from_secs(20);
        let next = loop {
            match Self::start_in(self.dir.clone(), listen, &extra, self.clock.clone()).await {
                Ok(next) => break next,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("the daemon does not start again: {e:#}"),
            }
        };
        *self = next;
    }
}
