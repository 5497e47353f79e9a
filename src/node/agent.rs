//! The agent loop: register (with backoff), heartbeat at the interval the
//! daemon announces, follow token rotation, register again on 401, and tell
//! the daemon when leaving.

use std::net::{IpAddr, UdpSocket};
use std::time::Duration;

use rand::Rng;

use super::gpu::{self, Gpus};
use super::metrics::Metrics;
use super::state::{NodeState, StateFile};
use super::NodeArgs;
use crate::api::nodes::{RegisterNodeRequest, RegisterNodeResponse};
use crate::client::{Client, ClientError};
use crate::secret::Secret;

/// Longest wait between attempts while the daemon is unreachable.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(30);
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// Why the agent stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AgentError {
    #[error("the daemon refused the registration: {0}")]
    Refused(String),
    #[error("{0}")]
    Setup(String),
}

/// Exponential backoff with full jitter, capped.
pub(crate) struct Backoff {
    next: Duration,
}

impl Backoff {
    pub(crate) fn new() -> Backoff {
        Backoff {
            next: FIRST_BACKOFF,
        }
    }

    pub(crate) fn reset(&mut self) {
        self.next = FIRST_BACKOFF;
    }

    /// The next wait: random in [next/2, next], then next doubles up to the cap.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let ceiling = self.next;
        self.next = (self.next * 2).min(MAX_BACKOFF);
        let half = ceiling / 2;
        half + rand::thread_rng().gen_range(Duration::ZERO..=half)
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

pub(crate) struct Agent {
    args: NodeArgs,
    client: Client,
    gpus: Gpus,
    metrics: Metrics,
    state_file: StateFile,
    state: Option<NodeState>,
    /// The last token this node held, sent with its next registration.
    proof: Option<Secret>,
    interval: Duration,
    told_pending: bool,
}

impl Agent {
    /// Fails when the daemon's URL and the trust flags do not fit together
    /// or the CA file cannot be used.
    pub(crate) fn new(
        args: NodeArgs,
        gpus: Gpus,
        state_file: StateFile,
    ) -> Result<Agent, AgentError> {
        let client = Client::with_trust(&args.lb_url, None, Duration::from_secs(10), &args.trust())
            .map_err(AgentError::Setup)?;
        let metrics = Metrics::new(&args.runtime_url);
        let state = state_file
            .load()
            .filter(|s| s.lb_url.trim_end_matches('/') == args.lb_url.trim_end_matches('/'));
        Ok(Agent {
            args,
            client,
            gpus,
            metrics,
            state_file,
            proof: state.as_ref().map(NodeState::token),
            state,
            interval: Duration::from_secs(10),
            told_pending: false,
        })
    }

    /// Runs until `stop` resolves (then says goodbye) or the daemon refuses
    /// the registration.
    pub(crate) async fn run(
        mut self,
        stop: impl std::future::Future<Output = ()>,
    ) -> Result<(), AgentError> {
        tokio::pin!(stop);
        if let Some(s) = &self.state {
            tracing::info!(node_id = %s.node_id, "resuming with the saved node id and token");
        }
        let mut backoff = Backoff::new();
        // Ready once the loop runs: waiting for an absent daemon is part of
        // the service working, not a failed start.
        crate::common::notify::ready();
        loop {
            let wait = match self.step().await {
                Ok(()) => {
                    backoff.reset();
                    self.interval
                }
                Err(Step::Retry(why)) => {
                    let d = backoff.next_delay();
                    tracing::warn!("{why}; retrying in {:.1}s", d.as_secs_f32());
                    d
                }
                Err(Step::Fatal(e)) => return Err(e),
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = &mut stop => break,
            }
        }
        crate::common::notify::stopping();
        self.leave().await;
        Ok(())
    }

    /// One round: register if needed, else one heartbeat.
    async fn step(&mut self) -> Result<(), Step> {
        let Some(state) = self.state.clone() else {
            return self.register().await;
        };
        let body = self.metrics.heartbeat(&state.node_id, &self.gpus).await;
        match self.client.heartbeat(&state.token(), &body).await {
            Ok(reply) => {
                self.interval = Duration::from_secs(reply.heartbeat_interval_secs.clamp(1, 3600));
                if let Some(new_token) = reply.runtime_token {
                    // Saved before it is used: a crash now still leaves a
                    // token the daemon accepts (the old one, within its grace
                    // period, or this one).
                    let next = NodeState {
                        runtime_token: new_token,
                        previous_token: Some(state.runtime_token.clone()),
                        ..state.clone()
                    };
                    self.state_file.save(&next).map_err(|e| {
                        Step::Retry(format!(
                            "cannot save the rotated token in {}: {e}",
                            self.state_file.path().display()
                        ))
                    })?;
                    self.state = Some(next);
                    tracing::info!("the daemon rotated this node's token; the new one is saved");
                }
                match reply.status {
                    crate::api::nodes::NodeStatus::Pending => self.tell_pending(&state.node_id),
                    other => {
                        if self.told_pending {
                            tracing::info!(status = %other, "approved by an administrator");
                        }
                        self.told_pending = false;
                    }
                }
                Ok(())
            }
            Err(
                e @ ClientError::Api {
                    status: 401 | 403, ..
                },
            ) => {
                if self.fall_back(&state, &body).await? {
                    return Ok(());
                }
                tracing::warn!(
                    "the daemon no longer accepts this node's token ({}); registering again",
                    e.code().unwrap_or("refused")
                );
                self.state = None;
                // Kept until a registration replaces it: sent with the
                // registration, it proves this is the known node if the
                // daemon still takes it.
                self.proof = Some(state.token());
                self.register().await
            }
            Err(e @ ClientError::Tls { .. }) => Err(Step::Fatal(AgentError::Setup(e.to_string()))),
            Err(e) => Err(Step::Retry(format!("heartbeat failed: {e}"))),
        }
    }

    /// The daemon refused the token in use. If a rotation replaced an older
    /// one that may still be within its grace period, go back to that one.
    /// Returns whether the node carries on with it.
    async fn fall_back(
        &mut self,
        state: &NodeState,
        body: &crate::api::nodes::HeartbeatRequest,
    ) -> Result<bool, Step> {
        let Some(previous) = state.previous_token.clone() else {
            return Ok(false);
        };
        let old = Secret::new(previous.clone());
        match self.client.heartbeat(&old, body).await {
            Ok(_) => {
                let back = NodeState {
                    runtime_token: previous,
                    previous_token: None,
                    ..state.clone()
                };
                self.state_file.save(&back).map_err(|e| {
                    Step::Retry(format!(
                        "cannot save the node's state in {}: {e}",
                        self.state_file.path().display()
                    ))
                })?;
                self.state = Some(back);
                tracing::warn!(
                    "the daemon refused the rotated token but still accepts the previous one; \
                     using that (the daemon hands out a new one while the rotation lasts)"
                );
                Ok(true)
            }
            Err(ClientError::Api { .. }) => Ok(false),
            Err(e) => Err(Step::Retry(format!("heartbeat failed: {e}"))),
        }
    }

    fn tell_pending(&mut self, node_id: &str) {
        if !self.told_pending {
            tracing::info!(
                node_id,
                "waiting for approval; an administrator runs: llmlbctl nodes approve {node_id}"
            );
            self.told_pending = true;
        }
    }

    async fn register(&mut self) -> Result<(), Step> {
        let req = self.registration()?;
        let join = self
            .args
            .join_token()
            .map_err(|e| Step::Fatal(AgentError::Setup(e)))?;
        match self
            .client
            .register(&req, self.proof.as_ref(), join.as_ref())
            .await
        {
            Ok(RegisterNodeResponse {
                node_id,
                runtime_token,
                heartbeat_interval_secs,
                ..
            }) => {
                let state = NodeState {
                    lb_url: self.args.lb_url.clone(),
                    node_id: node_id.clone(),
                    runtime_token,
                    previous_token: None,
                };
                self.state_file.save(&state).map_err(|e| {
                    Step::Fatal(AgentError::Setup(format!(
                        "cannot save the node's state in {}: {e}; fix the permissions or pass \
                         another --state-dir",
                        self.state_file.path().display()
                    )))
                })?;
                self.state = Some(state);
                self.proof = None;
                self.interval = Duration::from_secs(heartbeat_interval_secs.clamp(1, 3600));
                tracing::info!(node_id, machine_name = %req.machine_name, "registered");
                self.told_pending = false;
                self.tell_pending(&node_id);
                Ok(())
            }
            Err(e @ ClientError::Api { status: 429, .. }) => {
                // Rate limit or too many pending nodes: the daemon will take
                // the registration later.
                Err(Step::Retry(format!("registration deferred: {e}")))
            }
            Err(ClientError::Api { status, body }) if (400..500).contains(&status) => {
                Err(Step::Fatal(AgentError::Refused(format!(
                    "{} ({})",
                    body.error, body.code
                ))))
            }
            Err(e @ ClientError::Tls { .. }) => Err(Step::Fatal(AgentError::Setup(e.to_string()))),
            Err(e) => Err(Step::Retry(format!("registration failed: {e}"))),
        }
    }

    fn registration(&self) -> Result<RegisterNodeRequest, Step> {
        let runtime = reqwest::Url::parse(&self.args.runtime_url).map_err(|e| {
            Step::Fatal(AgentError::Setup(format!(
                "--runtime-url {:?} is not a URL: {e}",
                self.args.runtime_url
            )))
        })?;
        let runtime_port = runtime.port_or_known_default().unwrap_or(80);
        let ip = match self.args.advertise_ip {
            Some(ip) => ip,
            None => route_to(&self.args.lb_url).ok_or_else(|| {
                Step::Retry(format!(
                    "cannot tell which local address routes to {}; pass --advertise-ip",
                    self.args.lb_url
                ))
            })?,
        };
        let detected = self.gpus.detect();
        let devices = gpu::group(&detected, &self.args.gpus);
        Ok(RegisterNodeRequest {
            machine_name: machine_name(&self.args),
            ip_address: ip.to_string(),
            runtime_version: if self.args.runtime_version.is_empty() {
                "unknown".into()
            } else {
                self.args.runtime_version.clone()
            },
            runtime_port,
            gpu_available: !devices.is_empty(),
            node_api_port: Some(self.args.node_api_port.unwrap_or(runtime_port)),
            gpu_count: Some(devices.iter().map(|d| d.count).sum()),
            gpu_model: devices.first().map(|d| d.model.clone()),
            gpu_model_name: detected.first().map(|d| d.model.clone()),
            gpu_compute_capability: detected.first().and_then(|d| d.compute_capability.clone()),
            gpu_devices: devices,
            supported_runtimes: Vec::new(),
            tags: self.args.tags.clone(),
        })
    }

    /// Tells the daemon this node is going away, so it shows offline at once.
    async fn leave(&mut self) {
        let Some(state) = self.state.clone() else {
            return;
        };
        let body = crate::api::nodes::HeartbeatRequest {
            node_id: state.node_id.clone(),
            leaving: true,
            ..Default::default()
        };
        let quick = match Client::with_trust(
            &self.args.lb_url,
            None,
            Duration::from_secs(2),
            &self.args.trust(),
        ) {
            Ok(c) => c,
            Err(e) => return tracing::warn!("could not tell the daemon this node is leaving: {e}"),
        };
        match quick.heartbeat(&state.token(), &body).await {
            Ok(_) => tracing::info!("told the daemon this node is leaving"),
            Err(e) => tracing::warn!("could not tell the daemon this node is leaving: {e}"),
        }
    }
}

enum Step {
    Retry(String),
    Fatal(AgentError),
}

pub(crate) fn machine_name(args: &NodeArgs) -> String {
    args.machine_name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .or_else(sysinfo::System::host_name)
        .unwrap_or_else(|| "unknown-host".into())
}

/// The local address the OS would use to reach the daemon (no packet is
/// sent: connecting a UDP socket only picks a route).
pub(crate) fn route_to(lb_url: &str) -> Option<IpAddr> {
    let url = reqwest::Url::parse(lb_url).ok()?;
    let host = url
        .host_str()?
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = url.port_or_known_default().unwrap_or(80);
    let target = std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
        .ok()?
        .next()?;
    let bind = if target.is_ipv6() {
        "[::]:0"
    } else {
        "0.0.0.0:0"
    };
    let sock = UdpSocket::bind(bind).ok()?;
    sock.connect(target).ok()?;
    Some(sock.local_addr().ok()?.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let mut b = Backoff::new();
        let mut last_ceiling = Duration::ZERO;
        for _ in 0..20 {
            let d = b.next_delay();
            assert!(d <= MAX_BACKOFF, "{d:?}");
            last_ceiling = last_ceiling.max(d);
        }
        assert!(last_ceiling >= MAX_BACKOFF / 2);
        b.reset();
        assert!(b.next_delay() <= FIRST_BACKOFF);
    }

    #[test]
    fn the_route_to_loopback_is_loopback() {
        assert_eq!(
            route_to("http://127.0.0.1:32768"),
            Some("127.0.0.1".parse().unwrap())
        );
    }
}
