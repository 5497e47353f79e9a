//! The route table and the state every handler shares.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::DefaultBodyLimit;
use axum::http::{Method, StatusCode, Uri};
use axum::routing::{delete, get, patch, post};
use axum::Router;
use chrono::{DateTime, Utc};

use super::auth::Auth;
use super::error::{ApiError, ApiResult};
use super::handlers;
use super::registry::Registry;

/// Largest request body on most routes.
pub(crate) const BODY_LIMIT: usize = 1024 * 1024;
/// Largest body of `POST /v0/import/nodes`.
pub(crate) const IMPORT_BODY_LIMIT: usize = 64 * 1024 * 1024;

pub struct Shared {
    /// The database, behind the one store lock the registry, credentials,
    /// join tokens and audit trail share.
    pub(crate) db: crate::store::Db,
    /// The time every part of the daemon reads.
    pub(crate) clock: super::clock::SharedClock,
    pub(crate) registry: Registry,
    pub(crate) auth: Auth,
    pub(crate) probe: reqwest::Client,
    pub(crate) reachability_check: bool,
    pub(crate) header_timeout: std::time::Duration,
    pub(crate) http_workers: usize,
    pub(crate) proxy: super::proxy::Proxy,
    pub(crate) metrics: super::metrics::Metrics,
    /// Per source address, on `POST /v0/nodes`.
    pub(crate) register_limit: super::limits::RateLimiter,
    /// Per source address, on `POST /v0/auth/login`.
    pub(crate) login_limit: super::limits::RateLimiter,
    /// Lockouts and password-hashing slots of `POST /v0/auth/login`.
    pub(crate) login_guard: super::login::LoginGuard,
    /// Most nodes waiting in `pending` before registrations are refused.
    pub(crate) max_pending: usize,
    /// How long audit rows are kept (`--audit-retention`).
    pub(crate) audit_retention: std::time::Duration,
    /// Join tokens that let machines register.
    pub(crate) join_tokens: super::join_tokens::JoinTokens,
    /// `--registration join-token`: registering needs a join token.
    pub(crate) join_required: bool,
    /// What one registration, heartbeat or node change may carry.
    pub(crate) field_limits: super::validate::FieldLimits,
    /// The certificate served over HTTPS; `None` serves plain HTTP.
    pub(crate) tls: Option<Arc<super::tls::TlsServer>>,
    /// Where the daemon listens, once it does (the probe refuses it).
    pub(crate) listen_addr: std::sync::OnceLock<std::net::SocketAddr>,
    pub(crate) started_at: DateTime<Utc>,
    pub(crate) started: Instant,
    /// Held while the daemon runs: one daemon per data dir.
    pub(crate) _data_dir_lock: super::lock::DataDirLock,
}

/// Cheap to clone: handlers get a copy of the `Arc`.
#[derive(Clone)]
pub struct AppState(pub(crate) Arc<Shared>);

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// Runs `f` on a blocking thread: for database writes and password hashing,
    /// which must not stall the async workers.
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Shared) -> ApiResult<T> + Send + 'static,
    ) -> ApiResult<T> {
        let state = self.0.clone();
        tokio::task::spawn_blocking(move || f(&state)).await?
    }
}

macro_rules! routes {
    ($($method:ident $path:literal => $route:expr),* $(,)?) => {
        /// Every (method, path) the daemon serves; the OpenAPI document must
        /// list exactly these (checked by a test).
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        fn add_routes(router: Router<AppState>) -> Router<AppState> {
            router$(.route($path, $route))*
        }
    };
}

routes! {
    POST "/v0/nodes" => post(handlers::nodes::register),
    GET "/v0/nodes" => get(handlers::nodes::list),
    GET "/v0/nodes/{id}" => get(handlers::nodes::show),
    PATCH "/v0/nodes/{id}" => patch(handlers::nodes::update),
    DELETE "/v0/nodes/{id}" => delete(handlers::nodes::remove),
    POST "/v0/nodes/{id}/approve" => post(handlers::nodes::approve),
    POST "/v0/nodes/{id}/drain" => post(handlers::nodes::drain),
    POST "/v0/nodes/{id}/undrain" => post(handlers::nodes::undrain),
    POST "/v0/nodes/{id}/token/rotate" => post(handlers::tokens::rotate),
    POST "/v0/nodes/{id}/token/revoke" => post(handlers::tokens::revoke),
    POST "/v0/health" => post(handlers::health::heartbeat),
    POST "/v0/import/nodes" => post(handlers::import::import)
        .layer(DefaultBodyLimit::max(IMPORT_BODY_LIMIT)),
    POST "/v0/auth/login" => post(handlers::auth::login),
    POST "/v0/auth/logout" => post(handlers::auth::logout),
    GET "/v0/api-keys" => get(handlers::api_keys::list),
    POST "/v0/api-keys" => post(handlers::api_keys::create),
    DELETE "/v0/api-keys/{id}" => delete(handlers::api_keys::remove),
    POST "/v0/api-keys/{id}/rotate" => post(handlers::api_keys::rotate),
    GET "/v0/audit" => get(handlers::audit::list),
    GET "/v0/join-tokens" => get(handlers::join_tokens::list),
    POST "/v0/join-tokens" => post(handlers::join_tokens::create),
    DELETE "/v0/join-tokens/{id}" => delete(handlers::join_tokens::remove),
    GET "/v0/status" => get(handlers::status::status),
}

/// The whole application, without a socket.
pub(crate) fn router(state: AppState) -> Router {
    add_routes(Router::new())
        .merge(super::dashboard::routes())
        .merge(super::proxy::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "route_not_found",
        format!("there is no route {}; the API lives under /v0", uri.path()),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} does not accept {method}", uri.path()),
    )
}
