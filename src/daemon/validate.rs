//! What the daemon accepts from anyone who can reach it: registrations and
//! heartbeats, and what admins write onto nodes. Every limit is refused with
//! 400 and a sentence naming the field, before anything is stored.
//!
//! The limits are far above what a real machine sends, and low enough that
//! a stranger cannot make the database, the listing or the dashboard large:
//! without them one registration could carry ten thousand GPUs.

use std::net::IpAddr;

use std::ops::Deref;

use std::time::Duration;

use super::error::{ApiError, ApiResult};
use crate::api::join_tokens::{
    CreateJoinTokenRequest, DEFAULT_JOIN_TOKEN_TTL_SECS, MAX_JOIN_TOKEN_TTL_SECS,
    MAX_JOIN_TOKEN_USES,
};
use crate::api::nodes::{
    GpuDevice, HeartbeatRequest, PatchNodeRequest, RegisterNodeRequest, RotateTokenRequest,
};
use crate::store::nodes::GpuSummary;

/// A registration that passed validation: trimmed, with its defaults
/// filled in and its GPUs normalised. Made only by [`registration`]; the
/// reachability probe is the handler's job.
#[derive(Debug, Clone)]
pub(crate) struct ValidRegistration {
    pub machine_name: String,
    pub ip_address: IpAddr,
    pub runtime_version: String,
    pub runtime_port: u16,
    pub node_api_port: u16,
    pub gpu: GpuSummary,
    pub supported_runtimes: Vec<String>,
    pub tags: Vec<String>,
}

/// A request body that passed its check here, readable as the request; only
/// this module makes one, so a function that takes it takes checked input.
macro_rules! validated {
    ($(#[$doc:meta])* $name:ident($request:ty)) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub(crate) struct $name($request);

        impl Deref for $name {
            type Target = $request;

            fn deref(&self) -> &$request {
                &self.0
            }
        }
    };
}

validated!(
    /// A heartbeat body that passed [`heartbeat`]; the registry takes only
    /// these.
    ValidHeartbeat(HeartbeatRequest)
);
validated!(
    /// An admin's change of a node that passed [`patch`].
    ValidPatch(PatchNodeRequest)
);

/// How much one registration, heartbeat or admin change may carry. The
/// defaults are far above what a real machine sends; each is a flag of
/// `llmlbd` (see [`crate::daemon::config::DaemonArgs`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FieldLimits {
    /// GPU device entries in a registration.
    pub gpu_devices: usize,
    /// Entries in each list of loaded models.
    pub models: usize,
    /// Tags (and supported runtimes) of a node.
    pub tags: usize,
    /// Characters in a name, version, tag or model string.
    pub name_chars: usize,
    /// Bytes of an admin's notes on a node.
    pub notes_bytes: usize,
}

impl Default for FieldLimits {
    fn default() -> Self {
        FieldLimits {
            gpu_devices: 64,
            models: 512,
            tags: 64,
            name_chars: 256,
            notes_bytes: 4096,
        }
    }
}

pub(crate) use crate::api::is_unsafe_char;

fn invalid(code: &'static str, field: &str, what: String) -> ApiError {
    ApiError::bad_request(code, format!("{field} {what}"))
}

/// A name-like string: at most `max` characters, no control characters;
/// `required` ones must not be blank.
fn text(code: &'static str, field: &str, value: &str, max: usize, required: bool) -> ApiResult<()> {
    if required && value.trim().is_empty() {
        return Err(invalid(code, field, "must not be empty".into()));
    }
    if value.chars().count() > max {
        return Err(invalid(
            code,
            field,
            format!("is longer than {max} characters"),
        ));
    }
    if value.chars().any(is_unsafe_char) {
        return Err(invalid(
            code,
            field,
            "contains a control character (such as ESC or a line break); send plain text".into(),
        ));
    }
    Ok(())
}

/// A list of name-like strings: at most `max_entries`, each non-blank.
fn list(
    code: &'static str,
    field: &str,
    values: &[String],
    max_entries: usize,
    max_chars: usize,
) -> ApiResult<()> {
    if values.len() > max_entries {
        return Err(invalid(
            code,
            field,
            format!(
                "has {} entries; at most {max_entries} are accepted",
                values.len()
            ),
        ));
    }
    for (i, v) in values.iter().enumerate() {
        text(code, &format!("{field}[{i}]"), v, max_chars, true)?;
    }
    Ok(())
}

/// Tags and similar labels: at most `limits.tags`, each a non-blank name.
pub(crate) fn labels(field: &str, values: &[String], limits: &FieldLimits) -> ApiResult<()> {
    list(
        "invalid_labels",
        field,
        values,
        limits.tags,
        limits.name_chars,
    )
}

fn optional(field: &str, value: &Option<String>, limits: &FieldLimits) -> ApiResult<()> {
    match value {
        Some(v) => text("invalid_field", field, v, limits.name_chars, false),
        None => Ok(()),
    }
}

/// Normalises GPU devices: keeps those with a model name and a count.
pub(crate) fn gpu_devices(devices: &[GpuDevice]) -> Vec<GpuDevice> {
    devices
        .iter()
        .filter(|d| !d.model.trim().is_empty() && d.count >= 1)
        .map(|d| GpuDevice {
            model: d.model.trim().to_string(),
            count: d.count,
            memory: d.memory,
        })
        .collect()
}

/// Checks a registration body; the probe is the caller's job.
pub(crate) fn registration(
    req: RegisterNodeRequest,
    limits: &FieldLimits,
) -> ApiResult<ValidRegistration> {
    let machine_name = req.machine_name.trim().to_string();
    text(
        "invalid_machine_name",
        "machine_name",
        &machine_name,
        limits.name_chars,
        true,
    )?;
    text(
        "invalid_field",
        "runtime_version",
        &req.runtime_version,
        limits.name_chars,
        false,
    )?;
    let ip_address: IpAddr = req.ip_address.trim().parse().map_err(|_| {
        ApiError::bad_request(
            "invalid_ip_address",
            format!(
                "ip_address {:?} is not an IPv4 or IPv6 address",
                req.ip_address.chars().take(64).collect::<String>()
            ),
        )
    })?;
    if ip_address.is_unspecified() || ip_address.is_multicast() {
        return Err(ApiError::bad_request(
            "invalid_ip_address",
            format!(
                "ip_address {ip_address} cannot be used to reach a node; send the node's own \
                 address"
            ),
        ));
    }
    if req.runtime_port == 0 {
        return Err(ApiError::bad_request(
            "invalid_port",
            "runtime_port must be between 1 and 65535",
        ));
    }
    let node_api_port = match req.node_api_port {
        Some(0) => {
            return Err(ApiError::bad_request(
                "invalid_port",
                "node_api_port must be between 1 and 65535",
            ))
        }
        Some(p) => p,
        None => req.runtime_port.checked_add(1).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_port",
                "runtime_port is 65535, so node_api_port cannot default to runtime_port + 1; \
                 send node_api_port",
            )
        })?,
    };
    if req.gpu_devices.len() > limits.gpu_devices {
        return Err(invalid(
            "invalid_field",
            "gpu_devices",
            format!(
                "has {} entries; at most {} are accepted (group identical GPUs into one \
                 entry with a count)",
                req.gpu_devices.len(),
                limits.gpu_devices
            ),
        ));
    }
    for (i, d) in req.gpu_devices.iter().enumerate() {
        text(
            "invalid_field",
            &format!("gpu_devices[{i}].model"),
            &d.model,
            limits.name_chars,
            false,
        )?;
    }
    optional("gpu_model", &req.gpu_model, limits)?;
    optional("gpu_model_name", &req.gpu_model_name, limits)?;
    optional(
        "gpu_compute_capability",
        &req.gpu_compute_capability,
        limits,
    )?;
    let devices = gpu_devices(&req.gpu_devices);
    if !req.gpu_available || devices.is_empty() {
        return Err(ApiError::bad_request(
            "gpu_required",
            "a node must have a GPU: send gpu_available: true and at least one gpu_devices entry \
             with a model name and a count of 1 or more",
        ));
    }
    labels("tags", &req.tags, limits)?;
    labels("supported_runtimes", &req.supported_runtimes, limits)?;
    Ok(ValidRegistration {
        machine_name,
        ip_address,
        runtime_version: req.runtime_version.trim().to_string(),
        runtime_port: req.runtime_port,
        node_api_port,
        gpu: GpuSummary {
            available: true,
            count: req
                .gpu_count
                .or_else(|| Some(devices.iter().map(|d| d.count).sum())),
            model: req
                .gpu_model
                .or_else(|| devices.first().map(|d| d.model.clone())),
            devices,
            model_name: req.gpu_model_name,
            compute_capability: req.gpu_compute_capability,
            capability_score: None,
        },
        supported_runtimes: req.supported_runtimes,
        tags: req.tags,
    })
}

/// Checks a heartbeat body.
pub(crate) fn heartbeat(req: HeartbeatRequest, limits: &FieldLimits) -> ApiResult<ValidHeartbeat> {
    if req.node_id.trim().is_empty() {
        return Err(ApiError::bad_request(
            "invalid_body",
            "node_id is required: the id the node got at registration",
        ));
    }
    text(
        "invalid_body",
        "node_id",
        &req.node_id,
        limits.name_chars,
        true,
    )?;
    let percents = [
        ("cpu_usage", Some(req.cpu_usage)),
        ("memory_usage", Some(req.memory_usage)),
        ("gpu_usage", req.gpu_usage),
        ("gpu_memory_usage", req.gpu_memory_usage),
    ];
    for (field, value) in percents {
        if let Some(v) = value {
            if !(0.0..=100.0).contains(&v) {
                return Err(ApiError::bad_request(
                    "invalid_metric",
                    format!("{field} must be a percentage from 0 to 100, not {v}"),
                ));
            }
        }
    }
    if req
        .average_response_time_ms
        .is_some_and(|v| !v.is_finite() || v < 0.0)
    {
        return Err(ApiError::bad_request(
            "invalid_metric",
            "average_response_time_ms must be a number of 0 or more",
        ));
    }
    list(
        "invalid_models",
        "loaded_models",
        &req.loaded_models,
        limits.models,
        limits.name_chars,
    )?;
    list(
        "invalid_models",
        "loaded_embedding_models",
        &req.loaded_embedding_models,
        limits.models,
        limits.name_chars,
    )?;
    if let Some([ready, total]) = req.ready_models {
        if ready > total {
            return Err(ApiError::bad_request(
                "invalid_metric",
                format!("ready_models [{ready}, {total}] has more ready models than in total"),
            ));
        }
    }
    Ok(ValidHeartbeat(req))
}

/// Checks an admin's change of a node.
pub(crate) fn patch(p: PatchNodeRequest, limits: &FieldLimits) -> ApiResult<ValidPatch> {
    if let Some(Some(name)) = &p.custom_name {
        text(
            "invalid_field",
            "custom_name",
            name,
            limits.name_chars,
            false,
        )?;
    }
    if let Some(Some(notes)) = &p.notes {
        if notes.len() > limits.notes_bytes {
            return Err(invalid(
                "invalid_field",
                "notes",
                format!("is longer than {} bytes", limits.notes_bytes),
            ));
        }
        // Free text: line breaks and tabs are fine, nothing else that
        // steers a terminal.
        if notes
            .chars()
            .any(|c| is_unsafe_char(c) && !matches!(c, '\n' | '\t'))
        {
            return Err(invalid(
                "invalid_field",
                "notes",
                "contains a control character other than line breaks and tabs".into(),
            ));
        }
    }
    if let Some(Some(tags)) = &p.tags {
        labels("tags", tags, limits)?;
    }
    Ok(ValidPatch(p))
}

/// A join token to create, checked: a trimmed name, its lifetime in
/// seconds (`None`: it never expires) and its uses (`None`: unlimited).
#[derive(Debug, Clone)]
pub(crate) struct ValidJoinToken {
    pub name: String,
    pub ttl_secs: Option<u64>,
    pub uses: Option<u64>,
    pub tags: Vec<String>,
    pub auto_approve: bool,
}

/// Checks `POST /v0/join-tokens`.
pub(crate) fn join_token(
    req: CreateJoinTokenRequest,
    limits: &FieldLimits,
) -> ApiResult<ValidJoinToken> {
    let name = req.name.trim();
    if name.chars().count() > 128 || name.chars().any(is_unsafe_char) {
        return Err(ApiError::bad_request(
            "invalid_name",
            "name must be at most 128 printable characters",
        ));
    }
    labels("tags", &req.tags, limits)?;
    let ttl_secs = match (req.ttl_secs, req.never_expires) {
        (Some(_), true) => {
            return Err(ApiError::bad_request(
                "invalid_ttl",
                "send either ttl_secs or never_expires, not both",
            ))
        }
        (None, true) => None,
        (None, false) => Some(DEFAULT_JOIN_TOKEN_TTL_SECS),
        (Some(s), false) if (1..=MAX_JOIN_TOKEN_TTL_SECS).contains(&s) => Some(s),
        (Some(_), false) => {
            return Err(ApiError::bad_request(
                "invalid_ttl",
                format!(
                    "ttl_secs must be from 1 to {MAX_JOIN_TOKEN_TTL_SECS} (a year); for a token \
                     that never expires send never_expires: true"
                ),
            ))
        }
    };
    if req
        .uses
        .is_some_and(|u| !(1..=MAX_JOIN_TOKEN_USES).contains(&u))
    {
        return Err(ApiError::bad_request(
            "invalid_uses",
            format!("uses must be from 1 to {MAX_JOIN_TOKEN_USES}; leave it out for no limit"),
        ));
    }
    Ok(ValidJoinToken {
        name: name.to_string(),
        ttl_secs,
        uses: req.uses,
        tags: req.tags,
        auto_approve: req.auto_approve,
    })
}

/// Longest grace period a rotation may give the old token.
pub(crate) const MAX_GRACE: Duration = Duration::from_secs(30 * 86_400);

/// Checks `POST /v0/nodes/{id}/token/rotate`: the grace period it asks for
/// (`None`: the daemon's default).
pub(crate) fn rotation(req: &RotateTokenRequest) -> ApiResult<Option<Duration>> {
    let grace = req.grace_secs.map(Duration::from_secs);
    if grace.is_some_and(|g| g.is_zero() || g > MAX_GRACE) {
        return Err(ApiError::bad_request(
            "invalid_grace",
            "grace_secs must be from 1 to 2592000 (30 days); to cut a node off at once, revoke \
             its token instead",
        ));
    }
    Ok(grace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_characters() {
        for c in ['\u{1b}', '\u{7f}', '\u{9b}', '\n', '\u{202e}', '\u{2066}'] {
            assert!(is_unsafe_char(c), "{c:?}");
        }
        for c in ['a', 'ü', ' ', '-', '\u{200d}'] {
            assert!(!is_unsafe_char(c), "{c:?}");
        }
    }

    #[test]
    fn names_are_counted_in_characters() {
        let ok = "ü".repeat(FieldLimits::default().name_chars);
        assert!(text("c", "f", &ok, FieldLimits::default().name_chars, true).is_ok());
        let long = "ü".repeat(FieldLimits::default().name_chars + 1);
        let e = text("c", "f", &long, FieldLimits::default().name_chars, true).unwrap_err();
        assert!(e.message.starts_with("f "), "{}", e.message);
    }
}
