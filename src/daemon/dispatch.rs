//! The one dispatch path of every proxied request, whichever way it
//! arrived (the fast lane or hyper): choose a node, count the request in
//! flight there, send it over a pooled connection, retry under the one
//! failure rule, record the outcome.
//!
//! The failure rule: when no answer byte arrived, the request may go to
//! another node (at most [`MAX_TRIES`], the failed node cools down);
//! once any answer byte arrived, the node may have run the request, so a
//! broken answer is a 502 `upstream_bad_answer` and the request goes
//! nowhere else.
//!
//! Each step is its own function so it can be replaced: [`choose`] (which
//! node, from the request's model and body), [`send`] (over the one pool of
//! [`super::upstream`]), and the `record_*` functions (metrics, latency,
//! cooldown, the error answered).

use std::sync::Arc;
use std::time::Instant;

use axum::http::StatusCode;
use bytes::Bytes;

use super::error::ApiError;
use super::proxy::{ModelField, Upstream};
use super::router::AppState;
use super::upstream::{self, Answer, ClientWatch, Exchange, RawConn};

/// How many nodes one request may try when connections fail.
pub(super) const MAX_TRIES: usize = 3;

/// A proxied request as every entry hands it over.
pub(super) struct ProxyRequest {
    pub(super) model: String,
    /// Path and query as they go to the node.
    pub(super) target: String,
    /// The client's headers as they go to the node, one `name: value\r\n`
    /// each: connection-level ones, the host and the length dropped, and the
    /// client's API key when it was meant for llmlbd.
    pub(super) headers: Vec<u8>,
    pub(super) body: Bytes,
    /// When the request's head was read; durations are measured from here.
    pub(super) started: Instant,
}

/// The `model` of a request body, or the API's answer to a body without
/// one.
pub(super) fn model_of(body: &[u8]) -> Result<String, ApiError> {
    match serde_json::from_slice::<ModelField<'_>>(body) {
        Ok(ModelField { model: Some(m) }) if !m.is_empty() => Ok(m.into_owned()),
        Ok(_) => Err(ApiError::bad_request(
            "model_required",
            "the request body must name a model in its \"model\" field",
        )),
        Err(e) => Err(ApiError::bad_request(
            "invalid_json",
            format!("the request body is not valid JSON: {e}"),
        )),
    }
}

/// What became of a request.
pub(super) enum Outcome {
    /// A node answered; the caller relays the body from `conn` and drops
    /// `done` when the answer ends, however it ends.
    Answered(Answered),
    /// No node answered usably: answer this.
    Refused(ApiError),
    /// The client went away while the node worked.
    ClientGone,
}

pub(super) struct Answered {
    pub(super) conn: RawConn,
    pub(super) answer: Answer,
    pub(super) done: Done,
}

/// Sends `req` to a node that serves its model and returns the answer head.
pub(super) async fn dispatch(
    state: &AppState,
    req: &ProxyRequest,
    watch: &mut impl ClientWatch,
) -> Outcome {
    let proxy = &state.proxy;
    let table = proxy.table(&state.registry);
    let Some(candidates) = table.by_model.get(&req.model) else {
        return Outcome::Refused(record_no_node(state, req));
    };
    let tries = MAX_TRIES.min(candidates.len());
    let mut tried = Vec::with_capacity(tries);
    let mut last_error = String::new();
    while tried.len() < tries {
        let Some(i) = choose(state, candidates, &tried, req) else {
            break;
        };
        tried.push(i);
        let up = &candidates[i];
        let guard = InFlight::new(up.clone());
        match send(state, up, req, watch).await {
            Exchange::Answered(conn, answer) => {
                return Outcome::Answered(record_answer(state, guard, req, conn, answer));
            }
            Exchange::Failed(e) => last_error = record_failed(state, up, req, &e),
            Exchange::TimedOut => return Outcome::Refused(record_timed_out(state, up, req)),
            Exchange::BadAnswer(e) => {
                return Outcome::Refused(record_bad_answer(state, up, req, &e));
            }
            Exchange::ClientGone => return Outcome::ClientGone,
        }
    }
    Outcome::Refused(record_unreachable(state, req, &last_error))
}

/// Chooses the node for the next try among `candidates` (all serve the
/// request's model), leaving out those `tried` already.
fn choose(
    state: &AppState,
    candidates: &[Arc<Upstream>],
    tried: &[usize],
    _req: &ProxyRequest,
) -> Option<usize> {
    state.proxy.pick(candidates, tried)
}

/// Sends the request to `up` over a pooled connection and reads the answer
/// head.
async fn send(
    state: &AppState,
    up: &Upstream,
    req: &ProxyRequest,
    watch: &mut impl ClientWatch,
) -> Exchange {
    let mut head = Vec::with_capacity(req.headers.len() + req.target.len() + 96);
    head.extend_from_slice(b"POST ");
    head.extend_from_slice(req.target.as_bytes());
    head.extend_from_slice(b" HTTP/1.1\r\nhost: ");
    head.extend_from_slice(up.authority.as_str().as_bytes());
    head.extend_from_slice(b"\r\n");
    head.extend_from_slice(&req.headers);
    head.extend_from_slice(b"content-length: ");
    head.extend_from_slice(req.body.len().to_string().as_bytes());
    head.extend_from_slice(b"\r\n\r\n");
    let cfg = state.proxy.config();
    upstream::exchange(
        &up.authority,
        &head,
        &req.body,
        cfg.timeout,
        cfg.connect_timeout,
        watch,
    )
    .await
}

// ----- recording outcomes ---------------------------------------------

/// The node answered: its latency counts; the request is recorded when the
/// answer ends.
fn record_answer(
    state: &AppState,
    guard: InFlight,
    req: &ProxyRequest,
    conn: RawConn,
    answer: Answer,
) -> Answered {
    guard.0.record_latency(req.started.elapsed());
    let done = Done {
        guard,
        state: state.clone(),
        model: req.model.clone(),
        status: answer.status,
        started: req.started,
    };
    Answered { conn, answer, done }
}

fn record_no_node(state: &AppState, req: &ProxyRequest) -> ApiError {
    state
        .metrics
        .request(&req.model, "", 503, req.started.elapsed());
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "no_node_for_model",
        format!("no online node serves model {}", req.model),
    )
}

/// A node could not be reached or hung up before answering: it cools down,
/// and the request may try another node. Returns the cause for the final
/// error.
fn record_failed(state: &AppState, up: &Upstream, req: &ProxyRequest, e: &str) -> String {
    state.proxy.cool_down(up);
    tracing::warn!(node_id = %up.node_id, model = %req.model, error = %e, "upstream failed; trying another node");
    format!("{}: {e}", up.node_id)
}

/// Every node tried failed as in [`record_failed`].
fn record_unreachable(state: &AppState, req: &ProxyRequest, last_error: &str) -> ApiError {
    state
        .metrics
        .request(&req.model, "", 502, req.started.elapsed());
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "upstream_unreachable",
        format!(
            "no node serving model {} could be reached ({last_error})",
            req.model
        ),
    )
}

/// The node answered with something that is not a usable HTTP answer.
fn record_bad_answer(state: &AppState, up: &Upstream, req: &ProxyRequest, e: &str) -> ApiError {
    tracing::warn!(node_id = %up.node_id, model = %req.model, error = %e, "the node's answer is unusable");
    state
        .metrics
        .request(&req.model, &up.node_id, 502, req.started.elapsed());
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "upstream_bad_answer",
        format!("node {} sent an unusable answer: {e}", up.node_id),
    )
}

/// No answer head within `--upstream-timeout`.
fn record_timed_out(state: &AppState, up: &Upstream, req: &ProxyRequest) -> ApiError {
    state
        .metrics
        .request(&req.model, &up.node_id, 504, req.started.elapsed());
    ApiError::new(
        StatusCode::GATEWAY_TIMEOUT,
        "upstream_timeout",
        format!(
            "node {} did not answer within {}s",
            up.node_id,
            state.proxy.config().timeout.as_secs()
        ),
    )
}

/// Counts a request in flight on a node until dropped.
pub(super) struct InFlight(Arc<Upstream>);

impl InFlight {
    fn new(up: Arc<Upstream>) -> InFlight {
        up.start_request();
        InFlight(up)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.end_request();
    }
}

/// Records the request when its answer ends, however it ends (read to the
/// end, cut off, or the client went away), and gives its in-flight slot
/// back.
pub(super) struct Done {
    guard: InFlight,
    state: AppState,
    model: String,
    status: u16,
    started: Instant,
}

impl Done {
    pub(super) fn node_id(&self) -> &str {
        &self.guard.0.node_id
    }

    /// Where the node's connection goes back to.
    pub(super) fn upstream(&self) -> &Upstream {
        &self.guard.0
    }
}

impl Drop for Done {
    fn drop(&mut self) {
        self.state.metrics.request(
            &self.model,
            &self.guard.0.node_id,
            self.status,
            self.started.elapsed(),
        );
    }
}
