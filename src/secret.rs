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
pub(crate) const API_KEY_PREFIX: &str = "llmlb_ak_";
/// Prefix of node runtime tokens.
pub(crate) const RUNTIME_TOKEN_PREFIX: &str = "llmlb_rt_";
/// Prefix of join tokens, which let machines register.
pub(crate) const JOIN_TOKEN_PREFIX: &str = "llmlb_jt_";
/// Prefix of dashboard session tokens.
pub(crate) const SESSION_TOKEN_PREFIX: &str = "llmlb_st_";

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
pub(crate) fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Ok(argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Largest argon2 working memory a stored hash may ask for (256 MiB): a
/// hash that wants more is refused rather than allocated.
const MAX_HASH_BLOCKS: usize = 256 * 1024;

/// Checks a password against a PHC string, comparing in constant time,
/// with argon2's working memory (about 19 MiB at the default parameters) in
/// `memory`, which is grown to the size the hash asks for and kept. The daemon reuses a few such buffers instead of
/// allocating one per attempt: the allocator does not reliably give freed
/// blocks of that size back, so a flood of logins would otherwise leave the
/// process holding gigabytes.
pub(crate) fn verify_password_in(
    password: &str,
    phc: &str,
    memory: &mut Vec<argon2::Block>,
) -> bool {
    use argon2::password_hash::PasswordHash;
    use argon2::{Algorithm, Argon2, Params, Version};
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(expected), Some(salt)) = (hash.hash, hash.salt) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) =
        (Algorithm::try_from(hash.algorithm), Params::try_from(&hash))
    else {
        return false;
    };
    let Ok(version) = hash
        .version
        .map_or(Ok(Version::default()), Version::try_from)
    else {
        return false;
    };
    let blocks = params.block_count();
    if blocks > MAX_HASH_BLOCKS {
        return false;
    }
    if memory.len() < blocks {
        memory.resize(blocks, argon2::Block::default());
    }
    let mut out = [0u8; 64];
    let out = &mut out[..expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, out, &mut memory[..])
        .is_ok()
        && bool::from(out.ct_eq(expected.as_bytes()))
}

/// A well-formed PHC string with the default parameters that no password
/// matches: checking a login of an unknown user against it costs as much as
/// checking a real one.
pub(crate) fn unmatchable_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let p = argon2::Params::DEFAULT;
        // Salt "llmlb-dummy-salt"; the hash is 32 zero bytes, which argon2
        // produces for no known input.
        format!(
            "$argon2id$v=19$m={},t={},p={}$bGxtbGItZHVtbXktc2FsdA${}",
            p.m_cost(),
            p.t_cost(),
            p.p_cost(),
            "A".repeat(43)
        )
    })
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
        let verify = |password: &str, phc: &str| verify_password_in(password, phc, &mut Vec::new());
        assert!(verify("correct horse", &phc));
        assert!(!verify("wrong", &phc));
        assert!(!verify("x", "not a phc string"));
    }

    #[test]
    fn a_reused_buffer_gives_the_same_answers() {
        let phc = hash_password("correct horse").unwrap();
        let mut memory = Vec::new();
        assert!(verify_password_in("correct horse", &phc, &mut memory));
        let size = memory.len();
        assert_eq!(size, argon2::Params::DEFAULT.block_count());
        assert!(!verify_password_in("wrong", &phc, &mut memory));
        assert!(verify_password_in("correct horse", &phc, &mut memory));
        assert_eq!(memory.len(), size, "the buffer is reused, not grown");
    }

    #[test]
    fn the_unmatchable_hash_is_checked_at_full_cost_and_never_matches() {
        use argon2::password_hash::PasswordHash;
        let phc = unmatchable_hash();
        let parsed = PasswordHash::new(phc).unwrap();
        assert_eq!(
            argon2::Params::try_from(&parsed).unwrap().block_count(),
            argon2::Params::DEFAULT.block_count()
        );
        let mut memory = Vec::new();
        assert!(!verify_password_in(
            "llmlb-dummy-password",
            phc,
            &mut memory
        ));
        assert!(!memory.is_empty(), "the hash was computed, not refused");
    }
}
