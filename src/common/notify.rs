//! systemd readiness and watchdog notifications (sd_notify). Without
//! `NOTIFY_SOCKET` (not under systemd, or `Type=` other than notify) every
//! call does nothing.

use std::time::Duration;

use sd_notify::NotifyState;

/// `READY=1`: the service is up.
pub(crate) fn ready() {
    send(&[NotifyState::Ready]);
}

/// `STOPPING=1`: the service is shutting down.
pub(crate) fn stopping() {
    send(&[NotifyState::Stopping]);
}

fn send(states: &[NotifyState<'_>]) {
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return;
    }
    if let Err(e) = sd_notify::notify(false, states) {
        tracing::warn!(error = %e, "cannot notify systemd");
    }
}

/// When the unit sets `WatchdogSec=`, sends `WATCHDOG=1` at half the
/// interval for as long as the runtime lives.
pub(crate) fn spawn_watchdog() {
    let mut usec = 0;
    if !sd_notify::watchdog_enabled(false, &mut usec) || usec == 0 {
        return;
    }
    let every = Duration::from_micros(usec / 2).max(Duration::from_millis(100));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            send(&[NotifyState::Watchdog]);
        }
    });
}

/// A future that resolves on SIGINT or SIGTERM. The handlers are installed
/// now, before the caller reports readiness, so a signal sent right after
/// `READY=1` is never lost to the default action.
pub(crate) fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}
