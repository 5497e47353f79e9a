use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;

use crate::api::nodes::{
    NodeStatus, NodeView, PatchNodeRequest, RegisterNodeRequest, RegisterNodeResponse,
    RegistrationOutcome,
};
use crate::daemon::error::{ApiError, ApiResult};
use crate::daemon::extract::{
    rate_limited, Admin, ApiJson, ApiQuery, ClientIp, Id, JoinToken, NodeToken, Viewer,
};
use crate::daemon::probe;
use crate::daemon::registry::{RegisterContext, RegistryError};
use crate::daemon::router::AppState;
use crate::daemon::validate;

/// `POST /v0/nodes`: open to anyone who can reach the daemon; every
/// registration lands in `pending`.
pub(crate) async fn register(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    proof: Option<NodeToken>,
    JoinToken(join): JoinToken,
    ApiJson(req): ApiJson<RegisterNodeRequest>,
) -> ApiResult<(StatusCode, Json<RegisterNodeResponse>)> {
    rate_limited(&state.register_limit, source, "registration")?;
    let reg = validate::registration(req, &state.field_limits)?;
    // Before the probe, so that without a valid join token the daemon does
    // no work on the caller's behalf (checked again, and counted, when the
    // node is saved).
    match join {
        Some(hash) => {
            state.join_tokens.grant_now(&hash)?;
        }
        None if state.join_required
            && !proof
                .as_ref()
                .is_some_and(|NodeToken(h)| state.registry.holds_token(h)) =>
        {
            return Err(RegistryError::JoinTokenRequired.into())
        }
        None => {}
    }
    if state.reachability_check {
        probe::check(&state, reg.ip_address, reg.node_api_port).await?;
    }
    let (machine, ip) = (reg.machine_name.clone(), reg.ip_address);
    let proof = proof.map(|NodeToken(hash)| hash);
    let done = state
        .blocking(move |s| {
            Ok(s.registry.register(
                reg,
                RegisterContext {
                    proof,
                    join: join.map(|hash| (&s.join_tokens, hash)),
                    join_required: s.join_required,
                    max_pending: s.max_pending,
                    source: Some(source),
                },
            )?)
        })
        .await?;
    let resp = done.response;
    if proof.is_some() && !done.proven {
        tracing::info!(
            machine_name = %machine,
            "a registration sent an X-Node-Token that is not the valid token of a node with this \
             machine name and runtime port; it becomes a node of its own"
        );
    }
    if done.auto_approved {
        tracing::info!(
            node_id = %resp.node_id,
            machine_name = %machine,
            ip_address = %ip,
            join_token = ?done.join_token,
            "node registered and approved by its join token"
        );
    } else if done.same_machine_name_as.is_empty() {
        tracing::info!(
            node_id = %resp.node_id,
            machine_name = %machine,
            ip_address = %ip,
            outcome = ?resp.status,
            "node registered and waits for approval (llmlbctl nodes approve {})",
            resp.node_id
        );
    } else {
        tracing::warn!(
            node_id = %resp.node_id,
            machine_name = %machine,
            ip_address = %ip,
            same_machine_name_as = ?done.same_machine_name_as,
            "a machine registered with the name and runtime port of a known node without proving \
             to be it; it waits for approval as a node of its own, and the known node is \
             unchanged. Approve it only if you know the machine was reinstalled (then remove the \
             old entry)"
        );
    }
    let code = match resp.status {
        RegistrationOutcome::Registered => StatusCode::CREATED,
        RegistrationOutcome::Updated => StatusCode::OK,
    };
    Ok((code, Json(resp)))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    status: Option<String>,
}

pub(crate) async fn list(
    State(state): State<AppState>,
    _: Viewer,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<impl IntoResponse> {
    let filter = match q.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(NodeStatus::parse(s).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_status",
                format!("status {s:?} is not one of pending, registering, online, offline"),
            )
        })?),
    };
    // Built on a blocking thread, off the event loop, and streamed as it is
    // built: a large fleet is megabytes of JSON.
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    let shared = state.0.clone();
    tokio::task::spawn_blocking(move || {
        shared
            .registry
            .list_json(filter, |piece| tx.blocking_send(piece).is_ok());
    });
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        Body::new(Pieces(rx)),
    ))
}

pub(crate) async fn show(
    State(state): State<AppState>,
    _: Viewer,
    Id(id): Id,
) -> ApiResult<Json<NodeView>> {
    Ok(Json(state.registry.get(&id)?))
}

pub(crate) async fn approve(
    State(state): State<AppState>,
    Admin(_, actor): Admin,
    Id(id): Id,
) -> ApiResult<Json<NodeView>> {
    state
        .blocking(move |s| Ok(s.registry.approve(&id, &actor)?))
        .await
        .map(Json)
}

pub(crate) async fn remove(
    State(state): State<AppState>,
    Admin(_, actor): Admin,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    state
        .blocking(move |s| Ok(s.registry.delete(&id, &actor)?))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn update(
    State(state): State<AppState>,
    Admin(_, actor): Admin,
    Id(id): Id,
    ApiJson(p): ApiJson<PatchNodeRequest>,
) -> ApiResult<Json<NodeView>> {
    let p = validate::patch(p, &state.field_limits)?;
    state
        .blocking(move |s| Ok(s.registry.patch(&id, &p, &actor)?))
        .await
        .map(Json)
}

pub(crate) async fn drain(
    State(state): State<AppState>,
    Admin(_, actor): Admin,
    Id(id): Id,
) -> ApiResult<Json<NodeView>> {
    state
        .blocking(move |s| Ok(s.registry.set_drained(&id, true, &actor)?))
        .await
        .map(Json)
}

pub(crate) async fn undrain(
    State(state): State<AppState>,
    Admin(_, actor): Admin,
    Id(id): Id,
) -> ApiResult<Json<NodeView>> {
    state
        .blocking(move |s| Ok(s.registry.set_drained(&id, false, &actor)?))
        .await
        .map(Json)
}

/// A body made of the pieces a blocking producer sends.
struct Pieces(tokio::sync::mpsc::Receiver<Vec<u8>>);

impl http_body::Body for Pieces {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|piece| piece.map(|p| Ok(http_body::Frame::data(bytes::Bytes::from(p)))))
    }
}
