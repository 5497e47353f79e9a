//! The audit trail: who did what, written in the transaction of the change
//! itself (so a change and its record are committed together or not at
//! all), read with `GET /v0/audit`, pruned after `--audit-retention`.

use std::net::IpAddr;

use chrono::Utc;

use crate::store::audit::AuditRow;

/// Who acts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Actor {
    pub kind: &'static str,
    pub id: Option<String>,
    pub name: Option<String>,
    pub source: Option<IpAddr>,
}

impl Actor {
    /// The daemon itself: start-up import, automatic rotation.
    pub(crate) fn daemon() -> Actor {
        Actor {
            kind: "daemon",
            id: None,
            name: None,
            source: None,
        }
    }

    /// A caller without credentials (registration, login).
    pub(crate) fn anonymous(source: IpAddr) -> Actor {
        Actor {
            kind: "anonymous",
            id: None,
            name: None,
            source: Some(source),
        }
    }

    pub(crate) fn api_key(id: &str, name: Option<String>, source: IpAddr) -> Actor {
        Actor {
            kind: "api_key",
            id: Some(id.to_string()),
            name,
            source: Some(source),
        }
    }

    pub(crate) fn user(username: &str, source: IpAddr) -> Actor {
        Actor {
            kind: "user",
            id: Some(username.to_string()),
            name: Some(username.to_string()),
            source: Some(source),
        }
    }

    pub(crate) fn join_token(id: &str, source: Option<IpAddr>) -> Actor {
        Actor {
            kind: "join_token",
            id: Some(id.to_string()),
            name: None,
            source,
        }
    }

    /// A row of this actor's doing, at this moment.
    pub(crate) fn did(
        &self,
        action: &'static str,
        target: Option<&str>,
        outcome: &'static str,
        detail: impl Into<String>,
    ) -> AuditRow {
        AuditRow {
            at: Utc::now(),
            actor_kind: self.kind,
            actor_id: self.id.clone(),
            actor_name: self.name.clone(),
            source: self.source.map(|s| s.to_string()),
            action,
            target: target.map(str::to_string),
            outcome,
            detail: detail.into(),
        }
    }

    /// [`Actor::did`] with outcome `ok`.
    pub(crate) fn ok(
        &self,
        action: &'static str,
        target: &str,
        detail: impl Into<String>,
    ) -> AuditRow {
        self.did(action, Some(target), "ok", detail)
    }
}
