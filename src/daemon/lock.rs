//! One daemon per data dir: an exclusive `flock` on `<data-dir>/llmlbd.lock`,
//! held for as long as the daemon's state lives.
//!
//! Two daemons on one data dir would each keep their own registry in memory
//! over one database and overwrite each other's decisions. The kernel drops a
//! `flock` when its holder exits, however it exits, so a lock file left by a
//! daemon killed with `kill -9` never blocks the next start. The file itself
//! is left in place: removing it on exit would let a starting daemon lock an
//! inode that a third one no longer sees.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

pub(crate) const LOCK_FILE: &str = "llmlbd.lock";

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LockError {
    #[error(
        "another llmlbd ({holder}) is using the data dir {}: it holds the lock file {}. Stop \
         that daemon first, or start this one with another --data-dir",
        dir.display(),
        file.display()
    )]
    Held {
        dir: PathBuf,
        file: PathBuf,
        holder: String,
    },
    #[error("cannot lock the data dir with {}: {source}", file.display())]
    Io {
        file: PathBuf,
        source: std::io::Error,
    },
}

/// The held lock; dropping it (closing the file) releases it.
#[derive(Debug)]
pub(crate) struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Takes the lock on `dir` without waiting, and writes our pid into it.
    pub(crate) fn acquire(dir: &Path) -> Result<DataDirLock, LockError> {
        let path = dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            file: path.clone(),
            source,
        };
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(io)?;
        // SAFETY: flock only reads the descriptor, which `file` keeps open.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::WouldBlock {
                return Err(io(e));
            }
            return Err(LockError::Held {
                dir: dir.to_path_buf(),
                holder: holder(&mut file),
                file: path,
            });
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        Ok(DataDirLock { _file: file })
    }
}

/// "pid 1234" from the holder's lock file, or why there is none to name.
fn holder(file: &mut File) -> String {
    let mut text = String::new();
    // The holder writes its pid right after locking; a start in that instant
    // finds the file still empty.
    match file.read_to_string(&mut text) {
        Ok(_) => match text.trim().parse::<u32>() {
            Ok(pid) => format!("pid {pid}"),
            Err(_) => "whose pid the lock file does not name yet".into(),
        },
        Err(_) => "whose pid cannot be read".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_one_dir_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDirLock::acquire(dir.path()).unwrap();
        let pid = std::process::id();
        assert_eq!(
            std::fs::read_to_string(dir.path().join(LOCK_FILE)).unwrap(),
            format!("{pid}\n")
        );
        let err = DataDirLock::acquire(dir.path()).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, LockError::Held { .. }), "{text}");
        assert!(text.contains(&format!("(pid {pid})")), "{text}");
        assert!(
            text.contains(&dir.path().join(LOCK_FILE).display().to_string()),
            "{text}"
        );
        drop(first);
        let _again = DataDirLock::acquire(dir.path()).expect("free once dropped");
        assert_eq!(
            std::fs::read_to_string(dir.path().join(LOCK_FILE)).unwrap(),
            format!("{pid}\n")
        );
    }
}
