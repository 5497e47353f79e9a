//! TLS pieces shared by the daemon and its clients: certificate
//! fingerprints, and how `llmlb-node` and `llmlbctl` decide to trust the
//! daemon (the system's roots, a CA file, or one pinned certificate).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

/// The one crypto provider of the crate: ring, which reqwest's rustls
/// support builds on too, so there is one provider and no C library build
/// (aws-lc) or OpenSSL. rustls marks it deprecated only because it lacks
/// post-quantum key exchange.
#[allow(deprecated)]
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// `sha256:` and the lower-case hex of the SHA-256 of a certificate's DER,
/// the form the daemon logs and `--lb-fingerprint` takes.
pub fn fingerprint(der: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(der)))
}

/// A pinned certificate fingerprint, as given on the command line.
#[derive(Clone, PartialEq, Eq)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// Parses `sha256:HEX` (64 hex digits; `:` between bytes and upper case
    /// are accepted, as other tools print them).
    pub fn parse(s: &str) -> Result<Fingerprint, String> {
        let hint = "give it as sha256: followed by 64 hex digits, as llmlbd logs it at start-up \
                    and `llmlbctl status` shows it";
        let Some(rest) = s.trim().strip_prefix("sha256:") else {
            return Err(format!("{s:?} is not a certificate fingerprint: {hint}"));
        };
        let digits: String = rest.chars().filter(|c| *c != ':').collect();
        let mut out = [0u8; 32];
        hex::decode_to_slice(&digits, &mut out)
            .map_err(|_| format!("{s:?} is not a SHA-256 fingerprint: {hint}"))?;
        Ok(Fingerprint(out))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", hex::encode(self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// How a client trusts the daemon it talks to over `https://`.
#[derive(Debug, Clone, Default)]
pub enum Trust {
    /// The system's root certificates.
    #[default]
    SystemRoots,
    /// The certificates (CAs) in this PEM file, and no others.
    CaFile(PathBuf),
    /// Exactly the leaf certificate with this fingerprint, whatever its
    /// issuer and names. `flag` names the option that set it, for errors.
    Pinned {
        fingerprint: Fingerprint,
        flag: &'static str,
    },
}

impl Trust {
    /// The trust the flags ask for: a pin wins over a CA file (clap makes
    /// them exclusive anyway).
    pub fn from_flags(
        ca_cert: Option<&Path>,
        pin: Option<&Fingerprint>,
        pin_flag: &'static str,
    ) -> Trust {
        match (pin, ca_cert) {
            (Some(f), _) => Trust::Pinned {
                fingerprint: f.clone(),
                flag: pin_flag,
            },
            (None, Some(p)) => Trust::CaFile(p.to_path_buf()),
            (None, None) => Trust::SystemRoots,
        }
    }

    /// Applies this trust to a reqwest client being built.
    pub fn configure(
        &self,
        builder: reqwest::ClientBuilder,
    ) -> Result<reqwest::ClientBuilder, String> {
        match self {
            Trust::SystemRoots => Ok(builder),
            Trust::CaFile(path) => {
                let pem = std::fs::read(path).map_err(|e| {
                    format!(
                        "cannot read the CA certificate file {}: {e}; pass a readable PEM file \
                         with --ca-cert",
                        path.display()
                    )
                })?;
                let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                    format!("{} is not a PEM certificate file: {e}", path.display())
                })?;
                if certs.is_empty() {
                    return Err(format!(
                        "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----); pass the \
                         CA that signed the daemon's certificate with --ca-cert",
                        path.display()
                    ));
                }
                Ok(certs
                    .into_iter()
                    .fold(builder.tls_built_in_root_certs(false), |b, c| {
                        b.add_root_certificate(c)
                    }))
            }
            Trust::Pinned { fingerprint, flag } => {
                let provider = provider();
                let verifier = PinnedVerifier {
                    expected: fingerprint.clone(),
                    flag,
                    provider: provider.clone(),
                };
                let mut config = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| format!("cannot set up TLS: {e}"))?
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(verifier))
                    .with_no_client_auth();
                config.alpn_protocols = vec![b"http/1.1".to_vec()];
                Ok(builder.use_preconfigured_tls(config))
            }
        }
    }
}

/// A pinned fingerprint that the daemon's certificate does not have.
#[derive(Debug)]
struct PinMismatch(String);

impl fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PinMismatch {}

/// Accepts exactly one leaf certificate, named by its fingerprint; the
/// handshake's signature is still checked against that certificate's key,
/// so only the holder of the matching private key gets through.
#[derive(Debug)]
struct PinnedVerifier {
    expected: Fingerprint,
    flag: &'static str,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let got = Sha256::digest(end_entity.as_ref());
        if got.as_slice() == self.expected.0 {
            return Ok(ServerCertVerified::assertion());
        }
        let mismatch = PinMismatch(format!(
            "the daemon's certificate does not match the pinned one: expected {} ({}), got \
             sha256:{}; nothing was sent. If the daemon's certificate was replaced on purpose, \
             pin the new fingerprint (llmlbd logs it at start-up, `llmlbctl status` shows it)",
            self.expected,
            self.flag,
            hex::encode(got)
        ));
        Err(rustls::Error::InvalidCertificate(
            rustls::CertificateError::Other(rustls::OtherError(Arc::new(mismatch))),
        ))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_parse_in_the_forms_tools_print() {
        let hex64 = "ab".repeat(32);
        let f = Fingerprint::parse(&format!("sha256:{hex64}")).unwrap();
        assert_eq!(f.to_string(), format!("sha256:{hex64}"));
        let colons = vec!["AB"; 32].join(":");
        assert_eq!(Fingerprint::parse(&format!("sha256:{colons}")).unwrap(), f);
        for bad in [hex64.as_str(), "sha256:abc", "sha1:00", ""] {
            let e = Fingerprint::parse(bad).unwrap_err();
            assert!(e.contains("64 hex digits"), "{e}");
        }
        assert_eq!(
            fingerprint(b"x"),
            "sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
        );
    }
}
