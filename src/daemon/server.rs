//! The HTTP/1 accept loops. axum's own `serve` has no header read timeout,
//! so connections are driven by our own loops: a client that opens a
//! connection and sends nothing (or trickles headers) is dropped.
//!
//! One thread per core, each with its own single-threaded runtime, as nginx
//! runs one event loop per worker: a request, its proxied upstream call and
//! the answer stay on one thread, with no hand-over between threads. Every
//! connection starts in the proxy's fast lane ([`lane`]), which dispatches
//! inference requests itself and hands everything else to hyper and the
//! router (`--proxy-entry hyper`, a hidden flag for tests, skips the lane). Blocking work (SQLite, argon2) still goes to the blocking pool.
//! With TLS, the handshake comes first, on the worker, bounded by the
//! header timeout; the lane then reads the decrypted stream.

use std::future::Future;
use std::time::Duration;

use std::sync::Arc;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::TokioTimer;
use tokio::net::TcpListener;

use super::lane;
use super::router::AppState;
use super::upstream;

/// How long shutdown waits for requests in flight.
pub(crate) const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` with `workers` threads until `shutdown`
/// resolves, then stops accepting and waits (bounded) for open requests.
///
/// This task accepts; each connection goes to the worker threads in turn,
/// so they share the load evenly (a shared listener lets one thread grab
/// most connections).
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    state: AppState,
    header_timeout: Duration,
    workers: usize,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true);
    let ctx = Arc::new(lane::Ctx {
        state,
        app,
        http,
        header_timeout,
    });
    let mut senders = Vec::with_capacity(workers);
    let mut threads = Vec::with_capacity(workers);
    for i in 0..workers.max(1) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<std::net::TcpStream>();
        let ctx = ctx.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        threads.push(
            std::thread::Builder::new()
                .name(format!("llmlbd-http-{i}"))
                .spawn(move || runtime.block_on(worker(rx, ctx)))?,
        );
        senders.push(tx);
    }
    tokio::pin!(shutdown);
    let mut next = 0;
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: back off, go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let Ok(stream) = stream.into_std() else {
            continue;
        };
        let _ = senders[next].send(stream);
        next = (next + 1) % senders.len();
    }
    drop(listener);
    // Closing the channels tells the workers to finish.
    drop(senders);
    let _ = tokio::task::spawn_blocking(move || {
        for t in threads {
            let _ = t.join();
        }
    })
    .await;
    Ok(())
}

/// One worker: serves the connections it is handed on the current thread's
/// runtime until the channel closes, then lets open requests finish
/// (bounded) while idle connections close.
async fn worker(
    mut incoming: tokio::sync::mpsc::UnboundedReceiver<std::net::TcpStream>,
    ctx: Arc<lane::Ctx>,
) {
    let (stop, stopping) = tokio::sync::watch::channel(false);
    // The pool of node connections is per thread, so each worker tidies
    // its own; the task ends with the worker's runtime.
    tokio::spawn(async {
        let mut every = tokio::time::interval(upstream::SWEEP_EVERY);
        loop {
            every.tick().await;
            upstream::sweep_idle();
        }
    });
    while let Some(stream) = incoming.recv().await {
        let stream = match tokio::net::TcpStream::from_std(stream) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot serve a connection");
                continue;
            }
        };
        match &ctx.state.tls {
            None => {
                tokio::spawn(lane::serve(stream, ctx.clone(), stopping.clone()));
            }
            Some(tls) => {
                tokio::spawn(handshake(
                    tls.acceptor().clone(),
                    stream,
                    ctx.clone(),
                    stopping.clone(),
                ));
            }
        }
    }
    drop(stopping);
    let _ = stop.send(true);
    // Every connection holds a receiver until it ends.
    if tokio::time::timeout(DRAIN_TIMEOUT, stop.closed())
        .await
        .is_err()
    {
        tracing::warn!("some requests were still open after {DRAIN_TIMEOUT:?}; closing them");
    }
}

/// Completes a TLS handshake, then serves the connection like any other.
/// The handshake gets the header timeout: a client that connects and sends
/// nothing (or stalls mid-handshake) does not hold the connection.
async fn handshake(
    acceptor: tokio_rustls::TlsAcceptor,
    stream: tokio::net::TcpStream,
    ctx: Arc<lane::Ctx>,
    stopping: tokio::sync::watch::Receiver<bool>,
) {
    match tokio::time::timeout(ctx.header_timeout, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => lane::serve(tls, ctx, stopping).await,
        Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
        Err(_) => tracing::debug!("TLS handshake did not finish within the header timeout"),
    }
}
