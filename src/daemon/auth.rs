//! Who is calling: API keys and dashboard sessions (bearer tokens), the
//! bootstrap of the first admin credentials, and login.
//!
//! Bearer tokens are looked up by their SHA-256 hash in memory; the stored
//! hash is then compared again in constant time.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use chrono::{DateTime, Utc};
use parking_lot::{Mutex, RwLock};

use super::audit::Actor;
use super::clock::SharedClock;
use super::error::{ApiError, ApiResult};
use super::login::{LoginGuard, PasswordSlot, UNKNOWN_USER};
use crate::api::auth::{
    api_key_lifetime_rule, ApiKeyCreated, ApiKeyView, CreateApiKeyRequest, LoginResponse, Role,
    MAX_API_KEY_LIFETIME_SECS,
};
use crate::common::paths::ADMIN_TOKEN_FILE;
use crate::secret::{self, Secret, TokenHash, API_KEY_PREFIX, SESSION_TOKEN_PREFIX};
use crate::store::audit as audit_store;
use crate::store::credentials::{self as cred, ApiKeyRow, SessionRow, UserRow};
use crate::store::{Db, StoreError};

/// Files the first start writes into the data dir (with
/// [`ADMIN_TOKEN_FILE`], which llmlbctl reads too).
pub(crate) const ADMIN_PASSWORD_FILE: &str = "admin.password";

/// How long a dashboard session lasts.
pub(crate) const SESSION_TTL: chrono::Duration = chrono::Duration::hours(12);

/// An authenticated caller.
#[derive(Debug, Clone)]
pub(crate) struct Principal {
    pub role: Role,
    pub kind: PrincipalKind,
}

#[derive(Debug, Clone)]
pub(crate) enum PrincipalKind {
    ApiKey { id: String },
    Session { id: String, username: String },
}

#[derive(Debug, Clone)]
struct Credential {
    hash: TokenHash,
    principal: Principal,
    expires_at: Option<DateTime<Utc>>,
}

/// Bearer credentials in memory, mirrored from `api_keys` and `sessions`.
pub(crate) struct Auth {
    creds: RwLock<HashMap<TokenHash, Credential>>,
    keys: RwLock<HashMap<String, ApiKeyRow>>,
    /// Key id → last use, written behind by [`Auth::flush`].
    used: Mutex<HashMap<String, DateTime<Utc>>>,
    db: Db,
    clock: SharedClock,
}

impl Auth {
    pub(crate) fn load(db: Db, clock: SharedClock) -> Result<Auth, StoreError> {
        let now = clock.now_utc();
        let handle = db.clone();
        handle.with_conn(|conn| {
            cred::delete_expired_sessions(conn, now)?;
            let users: HashMap<String, (String, Role)> = cred::all_users(conn)?
                .into_iter()
                .map(|(id, name, role)| (id, (name, role)))
                .collect();
            let mut creds = HashMap::new();
            let mut keys = HashMap::new();
            for k in cred::all_api_keys(conn)? {
                creds.insert(k.hash, key_credential(&k));
                keys.insert(k.id.clone(), k);
            }
            for s in cred::all_sessions(conn)? {
                if let Some((username, role)) = users.get(&s.user_id) {
                    creds.insert(s.hash, session_credential(&s, username.clone(), *role));
                }
            }
            Ok(Auth {
                creds: RwLock::new(creds),
                keys: RwLock::new(keys),
                used: Mutex::new(HashMap::new()),
                db,
                clock,
            })
        })
    }

    /// Resolves a bearer token, or says why not.
    pub(crate) fn authenticate(&self, token: &str) -> ApiResult<Principal> {
        let hash = TokenHash::of(token);
        let creds = self.creds.read();
        let cred = creds
            .get(&hash)
            .filter(|c| c.hash.ct_eq(&hash))
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "invalid_token",
                    "the bearer token is not a valid API key or session; check the token, or log in again",
                )
            })?;
        let now = self.clock.now_utc();
        if cred.expires_at.is_some_and(|e| e <= now) {
            return Err(ApiError::unauthorized(
                "token_expired",
                "the bearer token has expired; log in again or create a new API key",
            ));
        }
        if let PrincipalKind::ApiKey { id } = &cred.principal.kind {
            // Per request on /v1 with --require-api-key: no allocation once
            // the key is in the map.
            let mut used = self.used.lock();
            match used.get_mut(id) {
                Some(at) => *at = now,
                None => {
                    used.insert(id.clone(), now);
                }
            }
        }
        Ok(cred.principal.clone())
    }

    /// Who `p` is, for the audit trail.
    pub(crate) fn actor(&self, p: &Principal, source: std::net::IpAddr) -> Actor {
        match &p.kind {
            PrincipalKind::ApiKey { id } => {
                Actor::api_key(id, self.keys.read().get(id).map(|k| k.name.clone()), source)
            }
            PrincipalKind::Session { username, .. } => Actor::user(username, source),
        }
    }

    pub(crate) fn list_keys(&self) -> Vec<ApiKeyView> {
        let used = self.used.lock().clone();
        let mut out: Vec<ApiKeyView> = self
            .keys
            .read()
            .values()
            .map(|k| ApiKeyView {
                id: k.id.clone(),
                name: k.name.clone(),
                role: k.role,
                created_at: k.created_at,
                expires_at: k.expires_at,
                last_used_at: used.get(&k.id).copied().or(k.last_used_at),
            })
            .collect();
        out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        out
    }

    pub(crate) fn create_key(
        &self,
        req: &CreateApiKeyRequest,
        actor: &Actor,
    ) -> ApiResult<ApiKeyCreated> {
        let name = req.name.trim();
        if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
            return Err(ApiError::bad_request(
                "invalid_name",
                "an API key needs a name of 1 to 128 printable characters",
            ));
        }
        let now = self.clock.now_utc();
        // Bounded, so that the expiry is always a time the database can
        // hold and read back (RFC 3339 ends at the year 9999).
        let expires_at = match req.expires_in_secs {
            None => None,
            Some(s) => Some(
                Some(s)
                    .filter(|s| (1..=MAX_API_KEY_LIFETIME_SECS).contains(s))
                    .and_then(|s| i64::try_from(s).ok())
                    .and_then(chrono::Duration::try_seconds)
                    .and_then(|d| now.checked_add_signed(d))
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            "invalid_expiry",
                            format!("{}, not {s}", api_key_lifetime_rule()),
                        )
                    })?,
            ),
        };
        let secret = Secret::generate(API_KEY_PREFIX);
        let row = ApiKeyRow {
            id: short_id(),
            name: name.to_string(),
            role: req.role,
            hash: secret.hash(),
            created_at: now,
            expires_at,
            last_used_at: None,
        };
        let audit = actor.ok(
            "api_key.create",
            &row.id,
            format!("{} ({})", row.name, row.role),
        );
        self.db.transaction(|tx| {
            cred::insert_api_key(tx, &row)?;
            audit_store::insert(tx, &audit)
        })?;
        self.creds.write().insert(row.hash, key_credential(&row));
        self.keys.write().insert(row.id.clone(), row.clone());
        tracing::info!(key_id = %row.id, name = %row.name, role = %row.role, "API key created");
        Ok(created(&row, secret))
    }

    pub(crate) fn rotate_key(&self, id: &str, actor: &Actor) -> ApiResult<ApiKeyCreated> {
        let secret = Secret::generate(API_KEY_PREFIX);
        let now = self.clock.now_utc();
        let mut keys = self.keys.write();
        let row = keys.get_mut(id).ok_or_else(|| key_not_found(id))?;
        if let Some(expired) = row.expires_at.filter(|e| *e <= now) {
            // A new secret would be dead on arrival.
            return Err(ApiError::conflict(
                "key_expired",
                format!(
                    "API key {id} expired at {}; an expired key cannot be rotated: create a new one (llmlbctl api-keys create)",
                    expired.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
            ));
        }
        let audit = actor.ok("api_key.rotate", id, row.name.clone());
        self.db.transaction(|tx| {
            cred::rotate_api_key(tx, id, secret.hash(), now)?;
            audit_store::insert(tx, &audit)
        })?;
        let mut creds = self.creds.write();
        creds.remove(&row.hash);
        row.hash = secret.hash();
        row.created_at = now;
        row.last_used_at = None;
        creds.insert(row.hash, key_credential(row));
        self.used.lock().remove(id);
        tracing::info!(key_id = %id, "API key rotated");
        Ok(created(row, secret))
    }

    pub(crate) fn delete_key(&self, id: &str, actor: &Actor) -> ApiResult<()> {
        let mut keys = self.keys.write();
        let row = keys.get(id).ok_or_else(|| key_not_found(id))?;
        let audit = actor.ok("api_key.revoke", id, row.name.clone());
        self.db.transaction(|tx| {
            cred::delete_api_key(tx, id)?;
            audit_store::insert(tx, &audit)
        })?;
        self.creds.write().remove(&row.hash);
        keys.remove(id);
        self.used.lock().remove(id);
        tracing::info!(key_id = %id, "API key revoked");
        Ok(())
    }

    /// Checks a username and password (slow: argon2, in `slot`) and opens a
    /// session. Failures are counted in `guard`, which the caller asked
    /// beforehand whether the username and `source` may try at all.
    pub(crate) fn login(
        &self,
        guard: &LoginGuard,
        mut slot: PasswordSlot,
        source: IpAddr,
        username: &str,
        password: &str,
    ) -> ApiResult<LoginResponse> {
        let user = self.db.with_conn(|c| cred::user_by_name(c, username))?;
        // Verify against a hash for unknown users too, so the answer takes
        // as long either way.
        let phc = user
            .as_ref()
            .map_or(secret::unmatchable_hash(), |u| u.password_hash.as_str());
        let ok = slot.verify(password, phc) && user.is_some();
        drop(slot);
        let user = match user {
            Some(u) if ok => u,
            other => {
                // The name as typed is logged only when it is a user: people
                // type passwords into the user field.
                let shown = other.as_ref().map_or(UNKNOWN_USER, |u| u.username.as_str());
                guard.failed(username, shown, source);
                let audit = Actor::anonymous(source).did(
                    "login.failure",
                    other.as_ref().map(|u| u.username.as_str()),
                    "denied",
                    if other.is_some() {
                        "wrong password"
                    } else {
                        UNKNOWN_USER
                    },
                );
                if let Err(e) = self.db.with_conn(|c| audit_store::insert(c, &audit)) {
                    tracing::error!(error = %e, "cannot record a failed login in the audit trail");
                }
                return Err(ApiError::unauthorized(
                    "invalid_credentials",
                    "wrong username or password",
                ));
            }
        };
        guard.succeeded(username);
        let token = Secret::generate(SESSION_TOKEN_PREFIX);
        let now = self.clock.now_utc();
        let row = SessionRow {
            id: short_id(),
            user_id: user.id.clone(),
            hash: token.hash(),
            created_at: now,
            expires_at: now + SESSION_TTL,
        };
        let audit = Actor::user(&user.username, source).ok("login.success", &user.username, "");
        self.db.transaction(|tx| {
            cred::insert_session(tx, &row)?;
            audit_store::insert(tx, &audit)
        })?;
        self.creds.write().insert(
            row.hash,
            session_credential(&row, user.username.clone(), user.role),
        );
        tracing::info!(username = %user.username, "logged in");
        Ok(LoginResponse {
            token: token.expose().to_string(),
            username: user.username,
            role: user.role,
            expires_at: row.expires_at,
        })
    }

    /// Ends the session that `token` belongs to.
    pub(crate) fn logout(&self, token: &str, source: IpAddr) -> ApiResult<()> {
        let hash = TokenHash::of(token);
        let (id, username) = match self.creds.read().get(&hash).map(|c| &c.principal.kind) {
            Some(PrincipalKind::Session { id, username }) => (id.clone(), username.clone()),
            Some(PrincipalKind::ApiKey { .. }) => {
                return Err(ApiError::bad_request(
                    "not_a_session",
                    "logout ends a login session; an API key is revoked with DELETE \
                     /v0/api-keys/{id}",
                ))
            }
            None => {
                return Err(ApiError::unauthorized(
                    "invalid_token",
                    "logout needs the session token of a login in the Authorization header",
                ))
            }
        };
        let audit = Actor::user(&username, source).ok("logout", &username, "");
        self.db.transaction(|tx| {
            cred::delete_session(tx, &id)?;
            audit_store::insert(tx, &audit)
        })?;
        self.creds.write().remove(&hash);
        Ok(())
    }

    /// Writes last-use times of API keys and drops expired sessions.
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        // Copied, not taken: until the keys below carry them, listings read
        // the last uses from `used`, and a failed write keeps them there.
        let used: Vec<(String, DateTime<Utc>)> = self
            .used
            .lock()
            .iter()
            .map(|(id, at)| (id.clone(), *at))
            .collect();
        let now = self.clock.now_utc();
        self.db.with_conn(|c| {
            cred::touch_api_keys(c, &used)?;
            cred::delete_expired_sessions(c, now)
        })?;
        {
            let mut keys = self.keys.write();
            let mut pending = self.used.lock();
            for (id, at) in used {
                if let Some(k) = keys.get_mut(&id) {
                    k.last_used_at = Some(at);
                }
                // A newer use since the copy stays for the next flush.
                if pending.get(&id) == Some(&at) {
                    pending.remove(&id);
                }
            }
        }
        self.creds.write().retain(|_, c| {
            !matches!(c.principal.kind, PrincipalKind::Session { .. })
                || c.expires_at.is_none_or(|e| e > now)
        });
        Ok(())
    }
}

fn key_credential(k: &ApiKeyRow) -> Credential {
    Credential {
        hash: k.hash,
        principal: Principal {
            role: k.role,
            kind: PrincipalKind::ApiKey { id: k.id.clone() },
        },
        expires_at: k.expires_at,
    }
}

fn session_credential(s: &SessionRow, username: String, role: Role) -> Credential {
    Credential {
        hash: s.hash,
        principal: Principal {
            role,
            kind: PrincipalKind::Session {
                id: s.id.clone(),
                username,
            },
        },
        expires_at: Some(s.expires_at),
    }
}

fn created(row: &ApiKeyRow, secret: Secret) -> ApiKeyCreated {
    ApiKeyCreated {
        id: row.id.clone(),
        name: row.name.clone(),
        role: row.role,
        key: secret.expose().to_string(),
        created_at: row.created_at,
        expires_at: row.expires_at,
    }
}

fn key_not_found(id: &str) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        "api_key_not_found",
        format!("no API key has id {id:?}; list them with GET /v0/api-keys"),
    )
}

/// Short random ids for keys and sessions (not secret).
fn short_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..16].to_string()
}

/// First start: create the `admin` user and an admin API key, and write
/// their secrets to `admin.password` and `admin.token` (mode 0600). Existing
/// files are never overwritten: if one is already there (say the database was
/// removed but the data dir kept), its secret is adopted instead.
pub(crate) fn bootstrap(db: &Db, clock: &SharedClock, data_dir: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
    if db.with_conn(cred::count_users)? > 0 {
        return Ok(());
    }
    let now = clock.now_utc();
    let password_path = data_dir.join(ADMIN_PASSWORD_FILE);
    let password = match std::env::var("LLMLB_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => {
            tracing::info!("admin password taken from LLMLB_ADMIN_PASSWORD");
            Secret::new(p)
        }
        _ => adopt_or_write(&password_path, || {
            Secret::new(Secret::generate("").expose()[..32].to_string())
        })
        .with_context(|| format!("cannot write {}", password_path.display()))?,
    };
    let token_path = data_dir.join(ADMIN_TOKEN_FILE);
    let token = adopt_or_write(&token_path, || Secret::generate(API_KEY_PREFIX))
        .with_context(|| format!("cannot write {}", token_path.display()))?;
    let user = UserRow {
        id: short_id(),
        username: "admin".into(),
        password_hash: secret::hash_password(password.expose())
            .map_err(|e| anyhow::anyhow!("cannot hash the admin password: {e}"))?,
        role: Role::Admin,
        created_at: now,
    };
    let key = ApiKeyRow {
        id: short_id(),
        name: "admin (created at first start)".into(),
        role: Role::Admin,
        hash: token.hash(),
        created_at: now,
        expires_at: None,
        last_used_at: None,
    };
    db.transaction(|tx| {
        cred::insert_user(tx, &user)?;
        cred::insert_api_key(tx, &key)
    })?;
    tracing::info!(
        token_file = %token_path.display(),
        password_file = %password_path.display(),
        "first start: created user 'admin' and an admin API key; llmlbctl on this machine \
         finds the token file by itself"
    );
    Ok(())
}

/// Reads the secret in `path` if the file exists; otherwise writes a new one
/// with mode 0600, refusing to replace a file that appears meanwhile.
fn adopt_or_write(path: &Path, make: impl FnOnce() -> Secret) -> std::io::Result<Secret> {
    match std::fs::read_to_string(path) {
        Ok(s) if !s.trim().is_empty() => {
            tracing::info!(file = %path.display(), "using the secret already in this file");
            return Ok(Secret::new(s.trim().to_string()));
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let secret = make();
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(secret.expose().as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::daemon::clock::ManualClock;
    use crate::store::Store;

    #[test]
    fn an_api_key_stops_working_when_it_expires() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::new(Store::open(&dir.path().join("llmlb.db")).unwrap());
        let clock = ManualClock::new();
        let auth = Auth::load(db.clone(), clock.clone()).unwrap();
        let created = auth
            .create_key(
                &CreateApiKeyRequest {
                    name: "ci".into(),
                    role: Role::Viewer,
                    expires_in_secs: Some(60),
                },
                &Actor::daemon(),
            )
            .unwrap();
        clock.advance(Duration::from_secs(59));
        assert_eq!(auth.authenticate(&created.key).unwrap().role, Role::Viewer);
        clock.advance(Duration::from_secs(1));
        assert_eq!(
            auth.authenticate(&created.key).unwrap_err().code,
            "token_expired"
        );
        // The same holds after a restart, which reads the key back.
        let again = Auth::load(db, clock).unwrap();
        assert_eq!(
            again.authenticate(&created.key).unwrap_err().code,
            "token_expired"
        );
    }
}
