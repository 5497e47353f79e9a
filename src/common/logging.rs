//! Logging to stderr for `llmlbd` and `llmlb-node`, as text or JSON lines,
//! where a line that cannot be written is dropped and counted, never an
//! error.
//!
//! tracing-subscriber reports a failed write with `eprintln!`, which panics
//! when stderr is itself what fails (a full disk behind a redirect, a closed
//! pipe): the panic takes the request being logged down with it. A log line
//! is never worth a request, so the writer here swallows the failure and the
//! next line that does get through says how many were lost.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tracing_subscriber::fmt::MakeWriter;

/// How log lines look on stderr (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Installs the global subscriber; `RUST_LOG` overrides the level (info).
pub fn init(format: LogFormat) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let writer = Lossy::new(io::stderr, format == LogFormat::Json);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(io::stderr().is_terminal())
        .with_writer(writer);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// A [`MakeWriter`] over `open` (e.g. `io::stderr`) whose writers never fail.
pub(crate) struct Lossy<F> {
    open: F,
    json: bool,
    lost: AtomicU64,
    /// A failed write left part of a line behind: the next note starts on a
    /// line of its own.
    torn: AtomicBool,
}

impl<F> Lossy<F> {
    /// `json`: the note about lost lines is a JSON line, like the others.
    pub(crate) fn new(open: F, json: bool) -> Lossy<F> {
        Lossy {
            open,
            json,
            lost: AtomicU64::new(0),
            torn: AtomicBool::new(false),
        }
    }

    /// Lines lost since the last one that was written.
    #[cfg(test)]
    pub(crate) fn lost(&self) -> u64 {
        self.lost.load(Ordering::Relaxed)
    }

    fn note(&self, lost: u64) -> String {
        let message = format!(
            "{lost} log line{} could not be written and {} lost",
            if lost == 1 { "" } else { "s" },
            if lost == 1 { "was" } else { "were" }
        );
        let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ");
        let line = if self.json {
            serde_json::json!({
                "timestamp": now.to_string(),
                "level": "WARN",
                "fields": {"message": message, "lost_lines": lost},
                "target": module_path!(),
            })
            .to_string()
        } else {
            format!("{now}  WARN {}: {message}", module_path!())
        };
        let start = if self.torn.swap(false, Ordering::Relaxed) {
            "\n"
        } else {
            ""
        };
        format!("{start}{line}\n")
    }
}

impl<'a, F, W> MakeWriter<'a> for Lossy<F>
where
    F: Fn() -> W + 'static,
    W: Write + 'a,
{
    type Writer = LossyLine<'a, F, W>;

    fn make_writer(&'a self) -> Self::Writer {
        LossyLine {
            inner: (self.open)(),
            of: self,
        }
    }
}

/// One event's writer: takes the whole line in one `write` and always
/// reports it written.
pub(crate) struct LossyLine<'a, F, W> {
    inner: W,
    of: &'a Lossy<F>,
}

impl<F, W: Write> LossyLine<'_, F, W> {
    /// Writes all of `buf`; on failure, notes whether part of it went out.
    fn put(&mut self, buf: &[u8]) -> bool {
        let mut done = 0;
        while done < buf.len() {
            match self.inner.write(&buf[done..]) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        if done < buf.len() && done > 0 {
            self.of.torn.store(true, Ordering::Relaxed);
        }
        done == buf.len()
    }
}

impl<F, W: Write> Write for LossyLine<'_, F, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let lost = self.of.lost.swap(0, Ordering::Relaxed);
        if lost > 0 {
            let note = self.of.note(lost);
            if !self.put(note.as_bytes()) {
                self.of.lost.fetch_add(lost + 1, Ordering::Relaxed);
                return Ok(buf.len());
            }
        }
        if !self.put(buf) {
            self.of.lost.fetch_add(1, Ordering::Relaxed);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let _ = self.inner.flush();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A sink that fails while `full` is set, writing at most `room` bytes
    /// of the call that fills it.
    #[derive(Clone, Default)]
    struct Disk {
        written: Arc<Mutex<Vec<u8>>>,
        full: Arc<AtomicBool>,
        room: Arc<Mutex<Option<usize>>>,
    }

    impl Write for Disk {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if let Some(room) = self.room.lock().unwrap().take() {
                self.written.lock().unwrap().extend(&buf[..room]);
                self.full.store(true, Ordering::SeqCst);
                return Ok(room);
            }
            if self.full.load(Ordering::SeqCst) {
                return Err(io::Error::from_raw_os_error(libc::ENOSPC));
            }
            self.written.lock().unwrap().extend(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn text(d: &Disk) -> String {
        String::from_utf8(d.written.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn failed_lines_are_counted_and_reported_by_the_next_one() {
        let disk = Disk::default();
        let d = disk.clone();
        let log = Lossy::new(move || d.clone(), false);
        log.make_writer().write_all(b"one\n").unwrap();
        disk.full.store(true, Ordering::SeqCst);
        for _ in 0..3 {
            log.make_writer()
                .write_all(b"lost\n")
                .expect("a failed log write is not an error");
        }
        assert_eq!(log.lost(), 3);
        disk.full.store(false, Ordering::SeqCst);
        log.make_writer().write_all(b"two\n").unwrap();
        assert_eq!(log.lost(), 0);
        let out = text(&disk);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert_eq!(lines[0], "one");
        assert!(
            lines[1].ends_with(
                "WARN llmlb::common::logging: 3 log lines could not be written and were lost"
            ),
            "{out}"
        );
        assert_eq!(lines[2], "two");
    }

    #[test]
    fn a_torn_line_is_ended_before_the_note_and_json_notes_are_json() {
        let disk = Disk::default();
        let d = disk.clone();
        let log = Lossy::new(move || d.clone(), true);
        *disk.room.lock().unwrap() = Some(4);
        log.make_writer().write_all(b"{\"half\": 1}\n").unwrap();
        assert_eq!(log.lost(), 1);
        disk.full.store(false, Ordering::SeqCst);
        log.make_writer().write_all(b"{\"next\": 2}\n").unwrap();
        let out = text(&disk);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "{\"ha", "{out}");
        let note: serde_json::Value = serde_json::from_str(lines[1]).expect("a JSON line");
        assert_eq!(note["level"], "WARN");
        assert_eq!(note["fields"]["lost_lines"], 1);
        assert_eq!(lines[2], "{\"next\": 2}");
    }
}
