//! The registry on a SQLite file in a temp dir and on a manual clock: time
//! moves by `advance`, never by sleeping.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::api::join_tokens::CreateJoinTokenRequest;
use crate::api::nodes::{
    GpuDevice, HeartbeatRequest, HeartbeatResponse, PatchNodeRequest, RegisterNodeResponse,
};
use crate::daemon::audit::Actor;
use crate::daemon::clock::{Clock, ManualClock};
use crate::daemon::join_tokens::JoinTokens;
use crate::daemon::validate::{self, FieldLimits};
use crate::secret::{Secret, TokenHash};
use crate::store::nodes::GpuSummary;
use crate::store::{Db, Store};

const TIMEOUT: Duration = Duration::from_secs(30);

struct Fixture {
    _dir: tempfile::TempDir,
    db: Db,
    clock: Arc<ManualClock>,
    r: Registry,
}

fn fixture(token_max_age: Option<Duration>) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::new(Store::open(&dir.path().join("llmlb.db")).unwrap());
    let clock = ManualClock::new();
    let r = Registry::load(
        db.clone(),
        RegistryConfig {
            heartbeat_interval: Duration::from_secs(10),
            node_timeout: TIMEOUT,
            default_grace: Duration::from_secs(600),
            token_max_age,
        },
        clock.clone(),
    )
    .unwrap();
    Fixture {
        _dir: dir,
        db,
        clock,
        r,
    }
}

fn registration(name: &str) -> ValidRegistration {
    ValidRegistration {
        machine_name: name.into(),
        ip_address: "2001:db8::1".parse().unwrap(),
        runtime_version: "v1".into(),
        runtime_port: 8080,
        node_api_port: 8081,
        gpu: GpuSummary {
            available: true,
            devices: vec![GpuDevice {
                model: "H100".into(),
                count: 8,
                memory: Some(80),
            }],
            ..Default::default()
        },
        supported_runtimes: vec!["llama_cpp".into()],
        tags: vec!["a\"b".into()],
    }
}

fn open_context<'a>() -> RegisterContext<'a> {
    RegisterContext {
        proof: None,
        join: None,
        join_required: false,
        max_pending: 1000,
        source: None,
    }
}

fn register(r: &Registry, name: &str) -> RegisterNodeResponse {
    r.register(registration(name), open_context())
        .unwrap()
        .response
}

fn hash(token: &str) -> TokenHash {
    Secret::new(token.to_string()).hash()
}

fn ready(node_id: &str) -> validate::ValidHeartbeat {
    validate::heartbeat(
        HeartbeatRequest {
            node_id: node_id.into(),
            cpu_usage: 12.5,
            loaded_models: vec!["m".into()],
            ready_models: Some([1, 1]),
            ..Default::default()
        },
        &FieldLimits::default(),
    )
    .unwrap()
}

/// A heartbeat as the handler runs it: the token changes it asks for are
/// committed, then it is sent again.
fn beat(
    r: &Registry,
    token: &str,
    req: &validate::ValidHeartbeat,
) -> Result<HeartbeatResponse, RegistryError> {
    let token = hash(token);
    for _ in 0..4 {
        match r.heartbeat(&token, req) {
            Ok(resp) => return Ok(resp),
            Err(HeartbeatError::Refused(e)) => return Err(e),
            Err(HeartbeatError::PromoteFirst) => r.promote(&token)?,
            Err(HeartbeatError::DeliverFirst) => r.mark_delivered(&token)?,
        }
    }
    panic!("the heartbeat kept asking for token changes");
}

/// Starts a rotation of `a`'s token with `secs` of grace.
fn rotate(f: &Fixture, a: &RegisterNodeResponse, secs: u64) {
    f.r.rotate(
        &a.node_id,
        Some(Duration::from_secs(secs)),
        &Actor::daemon(),
    )
    .unwrap();
}

/// A node registered, approved and online.
fn online(f: &Fixture, name: &str) -> RegisterNodeResponse {
    let a = register(&f.r, name);
    f.r.approve(&a.node_id, &Actor::daemon()).unwrap();
    let resp = beat(&f.r, &a.runtime_token, &ready(&a.node_id)).unwrap();
    assert_eq!(resp.status, NodeStatus::Online);
    a
}

fn listed(r: &Registry) -> serde_json::Value {
    let mut bytes = Vec::new();
    r.list_json(None, |p| {
        bytes.extend(p);
        true
    });
    serde_json::from_slice(&bytes).expect("the listing is JSON")
}

#[test]
fn listing_matches_the_node_view() {
    let f = fixture(None);
    let r = &f.r;
    let a = register(r, "gpu-a");
    // Listed in registration order.
    f.clock.advance(Duration::from_millis(1));
    let b = register(r, "gpu-b");
    let check = |r: &Registry| {
        let list = listed(r);
        let list = list.as_array().unwrap();
        assert_eq!(list.len(), 2);
        for item in list {
            let id = item["id"].as_str().unwrap();
            // Through text, as a client sees it (an f32 turned into a
            // Value directly would widen to f64 digits).
            let view = serde_json::to_string(&r.get(id).unwrap()).unwrap();
            let view: serde_json::Value = serde_json::from_str(&view).unwrap();
            assert_eq!(item, &view, "listing and view differ for {id}");
        }
    };
    check(r);
    // After each kind of change the cached part is rebuilt.
    let hb = ready(&a.node_id);
    beat(r, &a.runtime_token, &hb).unwrap();
    check(r);
    // A heartbeat that changes only metrics keeps the cached part; one
    // that changes the model list drops it, and warming rebuilds it.
    assert_eq!(r.warm_listing(), 0);
    let with = |change: fn(&mut HeartbeatRequest)| {
        let mut req = (*hb).clone();
        change(&mut req);
        validate::heartbeat(req, &FieldLimits::default()).unwrap()
    };
    beat(r, &a.runtime_token, &with(|h| h.cpu_usage = 0.1)).unwrap();
    assert_eq!(r.warm_listing(), 0);
    check(r);
    beat(r, &a.runtime_token, &with(|h| h.loaded_models.clear())).unwrap();
    assert_eq!(r.warm_listing(), 1);
    assert_eq!(r.warm_listing(), 0);
    check(r);
    r.approve(&a.node_id, &Actor::daemon()).unwrap();
    check(r);
    let patch = PatchNodeRequest {
        custom_name: Some(Some("Küche \"3\"".into())),
        notes: Some(Some("line\nbreak".into())),
        tags: None,
    };
    let patch = validate::patch(patch, &FieldLimits::default()).unwrap();
    r.patch(&b.node_id, &patch, &Actor::daemon()).unwrap();
    check(r);
    r.rotate(&a.node_id, None, &Actor::daemon()).unwrap();
    check(r);
    r.revoke(&b.node_id, &Actor::daemon()).unwrap();
    check(r);
    assert_eq!(listed(r)[0]["status"], "online");
}

#[test]
fn a_node_goes_offline_after_the_timeout_and_comes_back_with_a_heartbeat() {
    let f = fixture(None);
    let a = online(&f, "gpu-a");
    assert_eq!(f.r.routable().len(), 1);

    f.clock.advance(TIMEOUT - Duration::from_secs(1));
    f.r.sweep().unwrap();
    assert_eq!(f.r.get(&a.node_id).unwrap().status, NodeStatus::Online);

    f.clock.advance(Duration::from_secs(1));
    let generation = f.r.routing_generation();
    f.r.sweep().unwrap();
    let view = f.r.get(&a.node_id).unwrap();
    assert_eq!(view.status, NodeStatus::Offline);
    assert_eq!(view.online_since, None);
    assert!(f.r.routable().is_empty(), "an offline node gets no traffic");
    assert_ne!(f.r.routing_generation(), generation);
    assert_eq!(f.r.counts().offline, 1);

    let resp = beat(&f.r, &a.runtime_token, &ready(&a.node_id)).unwrap();
    assert_eq!(resp.status, NodeStatus::Online);
    let view = f.r.get(&a.node_id).unwrap();
    assert!(view.approved, "going offline never costs the approval");
    assert_eq!(view.online_since, Some(f.clock.now_utc()));
    assert_eq!(f.r.routable().len(), 1);
}

#[test]
fn a_rotated_token_works_within_its_grace_and_not_after() {
    let f = fixture(None);
    let a = online(&f, "gpu-a");
    let grace = Duration::from_secs(60);
    rotate(&f, &a, grace.as_secs());
    let hb = ready(&a.node_id);
    let next = beat(&f.r, &a.runtime_token, &hb)
        .unwrap()
        .runtime_token
        .expect("the reply hands out the successor");

    f.clock.advance(grace - Duration::from_secs(1));
    f.r.sweep().unwrap();
    beat(&f.r, &a.runtime_token, &hb).expect("the old token works within the grace");

    f.clock.advance(Duration::from_secs(1));
    assert!(matches!(
        beat(&f.r, &a.runtime_token, &hb),
        Err(RegistryError::TokenExpired)
    ));
    // The sweep ends the rotation: the successor the node was handed is
    // its token now, the old one is unknown.
    f.r.sweep().unwrap();
    assert!(matches!(
        beat(&f.r, &a.runtime_token, &hb),
        Err(RegistryError::InvalidNodeToken)
    ));
    let resp = beat(&f.r, &next, &hb).unwrap();
    assert_eq!(resp.runtime_token, None);
    assert!(!f.r.get(&a.node_id).unwrap().token_rotation_pending);
}

#[test]
fn a_successor_never_handed_out_dies_with_the_grace() {
    let f = fixture(None);
    let a = online(&f, "gpu-a");
    rotate(&f, &a, 60);
    f.clock.advance(Duration::from_secs(60));
    f.r.sweep().unwrap();
    assert!(matches!(
        beat(&f.r, &a.runtime_token, &ready(&a.node_id)),
        Err(RegistryError::InvalidNodeToken)
    ));
    assert_eq!(f.r.get(&a.node_id).unwrap().token_age_secs, None);
}

#[test]
fn tokens_are_rotated_when_they_reach_the_max_age() {
    let max = Duration::from_secs(3600);
    let f = fixture(Some(max));
    let a = online(&f, "gpu-a");
    f.clock.advance(max - Duration::from_secs(1));
    f.r.sweep().unwrap();
    let view = f.r.get(&a.node_id).unwrap();
    assert!(!view.token_rotation_pending);
    assert_eq!(view.token_age_secs, Some(max.as_secs() - 1));

    f.clock.advance(Duration::from_secs(1));
    f.r.sweep().unwrap();
    assert!(f.r.get(&a.node_id).unwrap().token_rotation_pending);
    let rotations: i64 = f.db.with_conn(|c| {
        c.query_row(
            "SELECT count(*) FROM audit_log WHERE action = 'token.auto_rotate'",
            [],
            |row| row.get(0),
        )
        .unwrap()
    });
    assert_eq!(rotations, 1);
    // The node picks the successor up and uses it: a young token again.
    let hb = ready(&a.node_id);
    let next = beat(&f.r, &a.runtime_token, &hb)
        .unwrap()
        .runtime_token
        .unwrap();
    beat(&f.r, &next, &hb).unwrap();
    f.r.sweep().unwrap();
    let view = f.r.get(&a.node_id).unwrap();
    assert!(!view.token_rotation_pending);
    assert_eq!(view.token_age_secs, Some(0));
}

#[test]
fn a_join_token_admits_until_it_expires() {
    let f = fixture(None);
    let tokens = JoinTokens::load(f.db.clone(), f.clock.clone()).unwrap();
    let req = CreateJoinTokenRequest {
        name: "rack 4".into(),
        ttl_secs: Some(60),
        never_expires: false,
        uses: None,
        tags: vec!["rack4".into()],
        auto_approve: true,
    };
    let req = validate::join_token(req, &FieldLimits::default()).unwrap();
    let created = tokens.create(&req, &Actor::daemon()).unwrap();
    let join = hash(&created.token);
    let with_join = || RegisterContext {
        join: Some((&tokens, join)),
        join_required: true,
        ..open_context()
    };

    f.clock.advance(Duration::from_secs(59));
    let done = f.r.register(registration("gpu-a"), with_join()).unwrap();
    assert!(done.auto_approved);
    let view = f.r.get(&done.response.node_id).unwrap();
    assert!(view.tags.contains(&"rack4".to_string()));

    f.clock.advance(Duration::from_secs(1));
    assert!(matches!(
        tokens.grant_now(&join),
        Err(RegistryError::JoinTokenInvalid)
    ));
    assert!(matches!(
        f.r.register(registration("gpu-b"), with_join()),
        Err(RegistryError::JoinTokenInvalid)
    ));
    assert!(matches!(
        f.r.register(
            registration("gpu-c"),
            RegisterContext {
                join_required: true,
                ..open_context()
            }
        ),
        Err(RegistryError::JoinTokenRequired)
    ));
    assert_eq!(f.r.counts().total, 1);
}

#[test]
fn a_restart_keeps_a_delivered_successor_and_its_deadline() {
    let f = fixture(None);
    let a = online(&f, "gpu-a");
    rotate(&f, &a, 60);
    let hb = ready(&a.node_id);
    let next = beat(&f.r, &a.runtime_token, &hb)
        .unwrap()
        .runtime_token
        .unwrap();
    f.r.flush().unwrap();
    let again = Registry::load(f.db.clone(), f.r.config().clone(), f.clock.clone()).unwrap();
    beat(&again, &a.runtime_token, &hb).expect("within the grace after a restart");
    f.clock.advance(Duration::from_secs(60));
    again.sweep().unwrap();
    assert!(beat(&again, &a.runtime_token, &hb).is_err());
    beat(&again, &next, &hb).expect("the delivered successor survives the restart");
}
