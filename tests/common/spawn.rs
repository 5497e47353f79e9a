//! Starting the `llmlbd` binary and reading its listening line: the one way
//! the tests (`TestDaemon`, `tests/agent.rs`) and the benches
//! (`benches/ctl.rs`, `benches/registry.rs`, through `#[path]`) do it.
//! It needs nothing but std, so a bench can include it alone.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the daemon's listening line says.
#[derive(Debug, Clone)]
pub struct Listening {
    /// `http`, or `https` when the daemon serves TLS.
    pub scheme: &'static str,
    pub addr: SocketAddr,
    /// When the line was read.
    pub at: Instant,
    /// The `startup_ms=` the daemon logs about itself.
    pub startup_ms: Option<u64>,
}

/// The lines of a daemon's stderr, all of them or the last `keep`.
#[derive(Clone)]
pub struct Log {
    lines: Arc<Mutex<VecDeque<String>>>,
    keep: usize,
}

impl Log {
    fn new(keep: usize) -> Log {
        Log {
            lines: Arc::default(),
            keep,
        }
    }

    fn push(&self, line: String) {
        let mut l = self.lines.lock().unwrap();
        if l.len() == self.keep {
            l.pop_front();
        }
        l.push_back(line);
    }

    /// The lines kept so far, joined by newlines.
    pub fn text(&self) -> String {
        let l = self.lines.lock().unwrap();
        l.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    /// Puts `earlier` (a log of the same daemon before a restart) first.
    pub fn prepend(&self, earlier: &Log) {
        let old: Vec<String> = earlier.lines.lock().unwrap().drain(..).collect();
        let mut l = self.lines.lock().unwrap();
        for line in old.into_iter().rev() {
            l.push_front(line);
        }
    }
}

/// A started `llmlbd` whose listening line was read.
pub struct Spawned {
    pub child: Child,
    pub listening: Listening,
    pub log: Log,
}

/// Runs `cmd` (an `llmlbd` command line; its stderr is piped here and
/// drained for the daemon's whole life, so it never blocks on a full pipe)
/// and waits up to `timeout` for the listening line. Keeps the last `keep`
/// lines of the log (`usize::MAX`: all). If the daemon exits or stays
/// silent, it is killed and the log comes back as the error.
pub fn spawn_llmlbd(cmd: &mut Command, timeout: Duration, keep: usize) -> Result<Spawned, String> {
    cmd.stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot spawn llmlbd: {e}"))?;
    let stderr = child.stderr.take().expect("stderr is piped");
    let log = Log::new(keep);
    let sink = log.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(l) = listening_line(&line) {
                let _ = tx.send(l);
            }
            sink.push(line);
        }
    });
    match rx.recv_timeout(timeout) {
        Ok(listening) => Ok(Spawned {
            child,
            listening,
            log,
        }),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            // The reader thread takes the last lines of the pipe.
            std::thread::sleep(Duration::from_millis(100));
            Err(log.text())
        }
    }
}

/// Reads `listening on http://ADDR ... startup_ms=N` (or `https://`).
fn listening_line(line: &str) -> Option<Listening> {
    for scheme in ["http", "https"] {
        let marker = format!("listening on {scheme}://");
        if let Some(i) = line.find(&marker) {
            let rest = &line[i + marker.len()..];
            let addr = rest.split_whitespace().next()?.parse().ok()?;
            let startup_ms = rest
                .split_whitespace()
                .find_map(|w| w.strip_prefix("startup_ms="))
                .and_then(|v| v.parse().ok());
            return Some(Listening {
                scheme,
                addr,
                at: Instant::now(),
                startup_ms,
            });
        }
    }
    None
}
