//! HTTPS for the daemon: the certificate it serves, re-read on SIGHUP, and
//! the self-signed one it makes for itself with `--tls self-signed`.
//!
//! The server configuration is built once; its certificate resolver hands
//! every new handshake whatever certificate is current, so a reload changes
//! what new connections get without touching open ones.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

/// Names of the self-signed certificate and key in the data dir.
pub const SELF_SIGNED_CERT: &str = "tls.crt";
pub(crate) const SELF_SIGNED_KEY: &str = "tls.key";

/// A certificate and key that were read and match.
struct Loaded {
    key: Arc<CertifiedKey>,
    fingerprint: String,
}

#[derive(Debug)]
struct Current(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for Current {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.read().clone())
    }
}

/// The daemon's TLS side: the files it reads, what it serves now.
pub(crate) struct TlsServer {
    cert_path: PathBuf,
    key_path: PathBuf,
    current: Arc<Current>,
    fingerprint: RwLock<String>,
    acceptor: TlsAcceptor,
}

impl TlsServer {
    /// Reads the certificate chain and key (PEM) and sets up the server
    /// side: TLS 1.2 and 1.3, ALPN `http/1.1`.
    pub(crate) fn load(cert_path: &Path, key_path: &Path) -> anyhow::Result<TlsServer> {
        let loaded = read(cert_path, key_path).map_err(anyhow::Error::msg)?;
        let current = Arc::new(Current(RwLock::new(loaded.key)));
        let mut config = rustls::ServerConfig::builder_with_provider(crate::tls::provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(current.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsServer {
            cert_path: cert_path.to_path_buf(),
            key_path: key_path.to_path_buf(),
            current,
            fingerprint: RwLock::new(loaded.fingerprint),
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    /// The fingerprint of the certificate served now.
    pub(crate) fn fingerprint(&self) -> String {
        self.fingerprint.read().clone()
    }

    pub(crate) fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }

    /// Reads the files again; on success new connections get the new
    /// certificate, on failure the old one stays and the reason is logged.
    pub(crate) fn reload(&self) {
        match read(&self.cert_path, &self.key_path) {
            Ok(loaded) => {
                let old = std::mem::replace(&mut *self.fingerprint.write(), loaded.fingerprint);
                *self.current.0.write() = loaded.key;
                let new = self.fingerprint();
                if old == new {
                    tracing::info!(fingerprint = %new, "SIGHUP: TLS certificate re-read; unchanged");
                } else {
                    tracing::info!(
                        fingerprint = %new,
                        previous = %old,
                        "SIGHUP: new TLS certificate loaded; new connections get it"
                    );
                }
            }
            Err(e) => tracing::error!(
                fingerprint = %self.fingerprint(),
                "SIGHUP: {e}; still serving the previous certificate"
            ),
        }
    }
}

/// Reads and checks a certificate chain and its key.
fn read(cert_path: &Path, key_path: &Path) -> Result<Loaded, String> {
    let cert_pem = std::fs::read(cert_path).map_err(|e| {
        format!(
            "cannot read the TLS certificate {}: {e}; check --tls-cert",
            cert_path.display()
        )
    })?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            format!(
                "the TLS certificate {} is not valid PEM: {e}",
                cert_path.display()
            )
        })?;
    if chain.is_empty() {
        return Err(format!(
            "{} holds no certificate (-----BEGIN CERTIFICATE-----); pass a PEM certificate \
             chain, the server's own certificate first, with --tls-cert",
            cert_path.display()
        ));
    }
    let key_pem = std::fs::read(key_path).map_err(|e| {
        format!(
            "cannot read the TLS key {}: {e}; check --tls-key",
            key_path.display()
        )
    })?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        format!(
            "{} holds no usable private key ({e}); pass a PEM key (PKCS#8, PKCS#1 or SEC1) \
             with --tls-key",
            key_path.display()
        )
    })?;
    let fingerprint = crate::tls::fingerprint(chain[0].as_ref());
    let key = CertifiedKey::from_der(chain, key, &crate::tls::provider()).map_err(|e| {
        format!(
            "the TLS key {} does not fit the certificate {}: {e}",
            key_path.display(),
            cert_path.display()
        )
    })?;
    Ok(Loaded {
        key: Arc::new(key),
        fingerprint,
    })
}

/// With `--tls self-signed`: the certificate and key in the data dir,
/// made on first start (mode 0600) and reused afterwards. Returns their
/// paths.
pub(crate) fn ensure_self_signed(
    data_dir: &Path,
    listen: SocketAddr,
    extra_names: &[String],
) -> anyhow::Result<(PathBuf, PathBuf)> {
    let cert = data_dir.join(SELF_SIGNED_CERT);
    let key = data_dir.join(SELF_SIGNED_KEY);
    match (cert.exists(), key.exists()) {
        (true, true) => return Ok((cert, key)),
        (false, false) => {}
        (has_cert, _) => {
            let (there, missing) = if has_cert {
                (&cert, &key)
            } else {
                (&key, &cert)
            };
            anyhow::bail!(
                "{} exists but {} does not; remove {} to have a new self-signed certificate \
                 made, or put the missing file back",
                there.display(),
                missing.display(),
                there.display()
            );
        }
    }
    let names = subject_names(listen, extra_names);
    let made = rcgen::generate_simple_self_signed(names.clone())
        .map_err(|e| anyhow::anyhow!("cannot make a self-signed certificate for {names:?}: {e}"))?;
    // The key first: a certificate without its key would block the next start.
    crate::common::fsutil::write_private(&key, made.key_pair.serialize_pem().as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", key.display()))?;
    crate::common::fsutil::write_private(&cert, made.cert.pem().as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", cert.display()))?;
    tracing::info!(
        cert = %cert.display(),
        names = ?names,
        "made a self-signed TLS certificate"
    );
    Ok((cert, key))
}

/// The names a self-signed certificate is made for: the host name,
/// `localhost`, the listen address (when it is one address) and the
/// operator's extra names.
fn subject_names(listen: SocketAddr, extra: &[String]) -> Vec<String> {
    let mut names = Vec::new();
    if let Some(h) = host_name() {
        names.push(h);
    }
    names.push("localhost".into());
    if !listen.ip().is_unspecified() {
        names.push(listen.ip().to_string());
    }
    names.extend(extra.iter().map(|s| s.trim().to_string()));
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| !n.is_empty() && seen.insert(n.to_ascii_lowercase()));
    names
}

/// This machine's host name, if it has a usable one.
pub(crate) fn host_name() -> Option<String> {
    sysinfo::System::host_name().filter(|h| !h.trim().is_empty())
}

/// A non-loopback address carries tokens in clear text without TLS.
pub(crate) fn warns_clear_text(listen: SocketAddr) -> bool {
    !listen.ip().is_loopback()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_names_hold_localhost_the_address_and_extras() {
        let names = subject_names(
            "10.1.2.3:32768".parse().unwrap(),
            &["lb.example.org".into(), "LOCALHOST".into(), " ".into()],
        );
        assert!(names.contains(&"localhost".to_string()));
        assert!(names.contains(&"10.1.2.3".to_string()));
        assert!(names.contains(&"lb.example.org".to_string()));
        assert_eq!(
            names
                .iter()
                .filter(|n| n.eq_ignore_ascii_case("localhost"))
                .count(),
            1
        );
        let any = subject_names("0.0.0.0:1".parse().unwrap(), &[]);
        assert!(!any.contains(&"0.0.0.0".to_string()));
    }
}
