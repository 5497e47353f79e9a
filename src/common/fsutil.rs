//! Small file helpers shared by the binaries.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

/// Writes a file with mode 0600, atomically (temp file + rename).
pub(crate) fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        // Directories made on the way are private too (the file's name may
        // say what it holds); existing ones keep their mode.
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Why [`private_dir`] failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PrivateDirError {
    #[error("cannot create {}: {source}", path.display())]
    Create {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{} has mode {mode:04o} and cannot be made 0700: {source}", path.display())]
    Tighten {
        path: std::path::PathBuf,
        mode: u32,
        source: std::io::Error,
    },
}

/// Makes `dir` a directory only its owner can enter: creates it (and its
/// parents) with mode 0700, or sets an existing one to 0700. Returns the
/// permission bits it had when it had to be changed, so the caller can say so.
///
/// A directory made before (by hand, an older version, or a umask of 022)
/// would otherwise stay 0755 and let every local user read what is in it.
pub(crate) fn private_dir(dir: &std::path::Path) -> Result<Option<u32>, PrivateDirError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| PrivateDirError::Create {
            path: dir.to_path_buf(),
            source,
        })?;
    let mode = std::fs::metadata(dir)
        .map_err(|source| PrivateDirError::Create {
            path: dir.to_path_buf(),
            source,
        })?
        .permissions()
        .mode()
        & 0o7777;
    if mode == 0o700 {
        return Ok(None);
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(|source| {
        PrivateDirError::Tighten {
            path: dir.to_path_buf(),
            mode,
            source,
        }
    })?;
    Ok(Some(mode))
}

/// [`private_dir`] for a binary's own directory (`what`, chosen with
/// `flag`): logs a change of mode, and on failure says what to do.
pub(crate) fn make_private_dir(
    dir: &std::path::Path,
    what: &str,
    flag: &str,
) -> anyhow::Result<()> {
    match private_dir(dir) {
        Ok(None) => Ok(()),
        Ok(Some(old)) => {
            tracing::info!(
                dir = %dir.display(),
                "the {what} had mode {old:04o}; set it to 0700 so that only its owner can read it"
            );
            Ok(())
        }
        Err(PrivateDirError::Create { source, .. }) => Err(anyhow::anyhow!(
            "cannot create the {what} {}: {source}; pass another with {flag}",
            dir.display()
        )),
        Err(PrivateDirError::Tighten { mode, source, .. }) => Err(anyhow::anyhow!(
            "the {what} {} has mode {mode:04o} and cannot be made 0700 ({source}); its owner can \
             fix that with `chmod 700 {}`, or pass another with {flag}",
            dir.display(),
            dir.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode_of(p: &std::path::Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn private_files_get_private_new_parents() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("config/llmlb/session.json");
        write_private(&file, b"{}").unwrap();
        assert_eq!(mode_of(&file), 0o600);
        assert_eq!(mode_of(&tmp.path().join("config/llmlb")), 0o700);
        assert_eq!(mode_of(&tmp.path().join("config")), 0o700);
    }

    #[test]
    fn private_dir_creates_0700_and_tightens_an_open_one() {
        let tmp = tempfile::tempdir().unwrap();
        let fresh = tmp.path().join("a/b");
        assert_eq!(private_dir(&fresh).unwrap(), None);
        assert_eq!(mode_of(&fresh), 0o700);

        let open = tmp.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(private_dir(&open).unwrap(), Some(0o755));
        assert_eq!(mode_of(&open), 0o700);
        assert_eq!(private_dir(&open).unwrap(), None, "nothing to do twice");
    }

    #[test]
    fn private_dir_reports_a_dir_it_cannot_change() {
        // chmod on a /proc entry is refused, even to root.
        let err = private_dir(std::path::Path::new("/proc/self")).unwrap_err();
        assert!(
            matches!(err, PrivateDirError::Tighten { mode: 0o555, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("has mode 0555"), "{err}");
    }
}
