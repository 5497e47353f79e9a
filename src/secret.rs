//! Random secrets, their SHA-256 hashes, and constant-time comparison.
//!
//! A secret is shown once, when it is created; the daemon keeps only its hash.
//! `Secret` never prints its value through `Debug` or `Display`, so it cannot
//! leak into logs by accident.

use std::fmt;

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Prefix of API keys.
pub const API_KEY_PREFIX: &str = "llmlb_ak_";
/// Prefix of node runtime tokens.
pub const RUNTIME_TOKEN_PREFIX: &str = "llmlb_rt_";
/// Prefix of dashboard session tokens.
pub const SESSION_TOKEN_PREFIX: &str = "llmlb_st_";

/// A secret value. Only [`Secret::expose`] gives the text.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A new random secret: the prefix, then 256 random bits in hex.
    pub fn generate(prefix: &str) -> Secret {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Secret(format!("{prefix}{}", hex::encode(bytes)))
    }

    /// Wraps a secret received from outside (a header, a file).
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// SHA-256 of a secret: what the database stores and what lookups use.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    pub fn of(secret: &str) -> TokenHash {
        TokenHash(Sha256::digest(secret.as_bytes()).into())
    }

    pub fn from_slice(bytes: &[u8]) -> Option<TokenHash> {
        bytes.try_into().ok().map(TokenHash)
    }

    /// Compares in constant time.
    pub fn ct_eq(&self, other: &TokenHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The first bytes of a hash are safe to show and help correlate rows.
        write!(f, "TokenHash({}…)", hex::encode(&self.0[..4]))
    }
}

/// Hashes a password with argon2id and a random salt, as a PHC string.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Ok(argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Checks a password against a PHC string (argon2 compares in constant time).
pub fn verify_password(password: &str, phc: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(phc)
        .map(|h| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_prefixed_unique_and_redacted() {
        let a = Secret::generate(RUNTIME_TOKEN_PREFIX);
        let b = Secret::generate(RUNTIME_TOKEN_PREFIX);
        assert!(a.expose().starts_with("llmlb_rt_"));
        assert_eq!(a.expose().len(), "llmlb_rt_".len() + 64);
        assert_ne!(a, b);
        assert!(!format!("{a:?}").contains(a.expose()));
    }

    #[test]
    fn hashes_compare_by_value() {
        let s = Secret::generate(API_KEY_PREFIX);
        assert!(s.hash().ct_eq(&TokenHash::of(s.expose())));
        assert!(!s.hash().ct_eq(&TokenHash::of("other")));
    }

    #[test]
    fn passwords_verify() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("wrong", &phc));
        assert!(!verify_password("x", "not a phc string"));
    }
}
