//! The node lifecycle rules of the README, against the real daemon.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

async fn approve(d: &Api, id: &str) -> Reply {
    d.admin_post(&format!("/v0/nodes/{id}/approve"), json!({}))
        .await
}

#[tokio::test]
async fn register_approve_heartbeat_online() {
    let d = InProcess::start(&["--no-reachability-check"]).await;
    let n = d.register("gpu-a", "127.0.0.1", 8080).await;
    assert_eq!(d.status_of(&n.id).await, "pending");

    let r = d.heartbeat(&n.token, heartbeat_body(&n.id)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "pending");
    assert_eq!(r.body["heartbeat_interval_secs"], 10);
    assert!(r.body.get("runtime_token").is_none());

    let r = approve(&d, &n.id).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "online");
    assert!(r.body["approved_at"].is_string());

    let node = d.node(&n.id).await;
    assert_eq!(node["cpu_usage"], 12.5);
    assert_eq!(node["loaded_models"], json!(["llama-3-8b"]));
    assert!(node["token_age_secs"].is_u64());

    // Approving twice is a conflict.
    let r = approve(&d, &n.id).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["code"], "not_pending");
}

#[tokio::test]
async fn heartbeats_of_a_pending_node_update_metrics_but_never_admission() {
    let d = InProcess::start(&["--no-reachability-check"]).await;
    let n = d.register("gpu-p", "127.0.0.1", 8080).await;
    for cpu in [10.0, 20.0, 30.0] {
        let mut body = heartbeat_body(&n.id);
        body["cpu_usage"] = json!(cpu);
        let r = d.heartbeat(&n.token, body).await;
        assert_eq!(r.body["status"], "pending");
    }
    let node = d.node(&n.id).await;
    assert_eq!(node["status"], "pending");
    assert_eq!(node["approved"], false);
    assert_eq!(node["cpu_usage"], 30.0);
    assert!(node["last_seen"].is_string());
}

#[tokio::test]
async fn status_follows_model_readiness() {
    let d = InProcess::start(&["--no-reachability-check"]).await;
    let n = d.register("gpu-r", "127.0.0.1", 8080).await;
    approve(&d, &n.id).await;
    let cases = [
        (
            json!({"ready_models": [0, 2], "loaded_models": ["a"]}),
            "registering",
        ),
        (
            json!({"ready_models": [2, 2], "loaded_models": []}),
            "online",
        ),
        (json!({"loaded_models": []}), "registering"),
        (json!({"loaded_models": ["a"]}), "online"),
        (json!({"loaded_embedding_models": ["e"]}), "online"),
    ];
    for (extra, want) in cases {
        let mut body = json!({"node_id": n.id, "cpu_usage": 1.0, "memory_usage": 1.0});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = d.heartbeat(&n.token, body.clone()).await;
        assert_eq!(r.body["status"], want, "heartbeat {body}");
        assert_eq!(d.status_of(&n.id).await, want);
    }
}

#[tokio::test]
async fn a_proven_reregistration_keeps_the_id_goes_back_to_pending_and_revokes_the_old_token() {
    let d = InProcess::start(&["--no-reachability-check"]).await;
    let first = d.register("gpu-b", "127.0.0.1", 8080).await;
    approve(&d, &first.id).await;
    assert_eq!(
        d.status_of(&first.id).await,
        "registering",
        "live, no models yet"
    );
    d.heartbeat(&first.token, heartbeat_body(&first.id)).await;
    assert_eq!(d.status_of(&first.id).await, "online");

    let r = d
        .register_proving(
            &registration("gpu-b", "127.0.0.2", 8080),
            Some(&first.token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "updated");
    assert_eq!(r.body["node_status"], "pending");
    assert_eq!(r.body["node_id"], first.id.as_str());
    let new_token = r.body["runtime_token"].as_str().unwrap();
    assert_ne!(new_token, first.token);

    let old = d.heartbeat(&first.token, heartbeat_body(&first.id)).await;
    assert_eq!(old.status, 401);
    assert_eq!(old.body["code"], "invalid_node_token");
    let new = d.heartbeat(new_token, heartbeat_body(&first.id)).await;
    assert_eq!(new.status, 200);
    assert_eq!(new.body["status"], "pending");
    let node = d.node(&first.id).await;
    assert_eq!(node["ip_address"], "127.0.0.2");
    assert!(node["approved_at"].is_null());
    assert_eq!(node["same_machine_name_as"], json!([]));

    // A different runtime port on the same machine is another node.
    let other = d.register("gpu-b", "127.0.0.1", 9090).await;
    assert_ne!(other.id, first.id);
}

#[tokio::test]
async fn going_offline_and_back_never_skips_approval() {
    let clock = ManualClock::new();
    let d = InProcess::start_on(
        clock.clone(),
        &["--no-reachability-check", "--node-timeout", "30"],
    )
    .await;
    let approved = d.register("gpu-on", "127.0.0.1", 8080).await;
    let pending = d.register("gpu-pend", "127.0.0.1", 8081).await;
    approve(&d, &approved.id).await;
    d.heartbeat(&approved.token, heartbeat_body(&approved.id))
        .await;
    assert_eq!(d.status_of(&approved.id).await, "online");

    clock.advance(Duration::from_secs(29));
    d.sweep_now().await;
    assert_eq!(
        d.status_of(&approved.id).await,
        "online",
        "a second before the offline timeout"
    );
    clock.advance(Duration::from_secs(2));
    d.sweep_now().await;
    assert_eq!(
        d.status_of(&approved.id).await,
        "offline",
        "an approved node without heartbeats goes offline"
    );
    assert_eq!(d.status_of(&pending.id).await, "pending");
    let r = d
        .get("/v0/nodes?status=offline", Some(&d.admin_token()))
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    assert!(d.node(&approved.id).await["online_since"].is_null());

    let r = d
        .heartbeat(&pending.token, heartbeat_body(&pending.id))
        .await;
    assert_eq!(r.body["status"], "pending", "coming back does not approve");
    let r = d
        .heartbeat(&approved.token, heartbeat_body(&approved.id))
        .await;
    assert_eq!(
        r.body["status"], "online",
        "an approved node comes back online"
    );
    assert!(d.node(&approved.id).await["online_since"].is_string());
}

#[tokio::test]
async fn restart_keeps_admission_and_tokens() {
    let mut d = InProcess::start(&["--no-reachability-check"]).await;
    let a = d.register("gpu-keep-a", "127.0.0.1", 8080).await;
    let p = d.register("gpu-keep-p", "::1", 8080).await;
    approve(&d, &a.id).await;
    let mut body = heartbeat_body(&a.id);
    body["cpu_usage"] = json!(77.0);
    d.heartbeat(&a.token, body).await;

    d.restart().await;
    // Before any heartbeat the approved node is offline, the other pending.
    assert_eq!(d.status_of(&a.id).await, "offline");
    assert_eq!(d.status_of(&p.id).await, "pending");
    let node = d.node(&a.id).await;
    assert_eq!(
        node["cpu_usage"], 77.0,
        "write-behind was flushed at shutdown"
    );
    assert_eq!(node["ip_address"], "127.0.0.1");
    assert_eq!(d.node(&p.id).await["ip_address"], "::1");

    let r = d.heartbeat(&a.token, heartbeat_body(&a.id)).await;
    assert_eq!(r.status, 200, "tokens survive a restart: {}", r.body);
    assert_eq!(r.body["status"], "online");
    let r = d.heartbeat(&p.token, heartbeat_body(&p.id)).await;
    assert_eq!(r.body["status"], "pending");
}

#[tokio::test]
async fn a_node_token_speaks_only_for_its_node() {
    let d = InProcess::start(&["--no-reachability-check"]).await;
    let a = d.register("gpu-1", "127.0.0.1", 8080).await;
    let b = d.register("gpu-2", "127.0.0.1", 8080).await;
    let r = d.heartbeat(&a.token, heartbeat_body(&b.id)).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.body["code"], "node_mismatch");
    // The alias runtime_id is checked the same way.
    let r = d
        .heartbeat(&a.token, json!({"runtime_id": b.id, "cpu_usage": 1.0}))
        .await;
    assert_eq!(r.status, 403);
    let r = d
        .heartbeat(&a.token, json!({"runtime_id": a.id, "cpu_usage": 1.0}))
        .await;
    assert_eq!(r.status, 200);
    // b's metrics were not touched by a's attempts.
    assert!(d.node(&b.id).await["cpu_usage"].is_null());
}

#[tokio::test]
async fn rotation_hands_over_the_new_token_and_kills_the_old_on_first_use() {
    let d = InProcess::start(&["--no-reachability-check"]).await;
    let n = d.register("gpu-rot", "127.0.0.1", 8080).await;
    approve(&d, &n.id).await;
    let r = d
        .admin_post(&format!("/v0/nodes/{}/token/rotate", n.id), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["grace_secs"], 600);

    // The old token still works and the reply carries the new one, twice.
    let mut new_token = String::new();
    for _ in 0..2 {
        let r = d.heartbeat(&n.token, heartbeat_body(&n.id)).await;
        assert_eq!(r.status, 200);
        let t = r.body["runtime_token"]
            .as_str()
            .expect("new token in reply");
        assert!(t.starts_with("llmlb_rt_"));
        assert_ne!(t, n.token);
        new_token = t.to_string();
    }
    assert_eq!(d.node(&n.id).await["token_rotation_pending"], true);

    let r = d.heartbeat(&new_token, heartbeat_body(&n.id)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.get("runtime_token").is_none(), "rotation is over");
    assert_eq!(r.body["status"], "online");
    let r = d.heartbeat(&n.token, heartbeat_body(&n.id)).await;
    assert_eq!(
        r.status, 401,
        "the old token died on first use of the new one"
    );
    assert_eq!(d.node(&n.id).await["token_rotation_pending"], false);
}

#[tokio::test]
async fn the_old_token_dies_when_the_grace_period_ends() {
    let clock = ManualClock::new();
    let d = InProcess::start_on(clock.clone(), &["--no-reachability-check"]).await;
    let n = d.register("gpu-grace", "127.0.0.1", 8080).await;
    let r = d
        .admin_post(
            &format!("/v0/nodes/{}/token/rotate", n.id),
            json!({"grace_secs": 60}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    clock.advance(Duration::from_secs(59));
    d.sweep_now().await;
    assert_eq!(
        d.node(&n.id).await["token_rotation_pending"],
        true,
        "a second before the grace period ends"
    );
    clock.advance(Duration::from_secs(2));
    d.sweep_now().await;
    let r = d.heartbeat(&n.token, heartbeat_body(&n.id)).await;
    assert_eq!(r.status, 401);
    // The successor never reached the node, so it died with the old token.
    assert!(d.node(&n.id).await["token_age_secs"].is_null());
    // The node missed the window: its dead token proves nothing, so it
    // registers again as a new pending node, marked as sharing the name.
    let again = d.register("gpu-grace", "127.0.0.1", 8080).await;
    assert_ne!(again.id, n.id);
    assert_eq!(d.status_of(&again.id).await, "pending");
    assert_eq!(
        d.node(&again.id).await["same_machine_name_as"],
        json!([n.id])
    );
}

#[tokio::test]
async fn a_delivered_successor_outlives_the_grace_period() {
    let clock = ManualClock::new();
    let d = InProcess::start_on(clock.clone(), &["--no-reachability-check"]).await;
    let n = d.register("gpu-grace2", "127.0.0.1", 8080).await;
    let path = format!("/v0/nodes/{}/token/rotate", n.id);
    let r = d.admin_post(&path, json!({"grace_secs": 0})).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["code"], "invalid_grace");
    d.admin_post(&path, json!({"grace_secs": 60})).await;
    let r = d.heartbeat(&n.token, heartbeat_body(&n.id)).await;
    let next = r.body["runtime_token"].as_str().unwrap().to_string();
    clock.advance(Duration::from_secs(59));
    d.sweep_now().await;
    let r = d.heartbeat(&n.token, heartbeat_body(&n.id)).await;
    assert_eq!(
        r.status, 200,
        "the old token works a second before the grace period ends"
    );
    assert_eq!(r.body["runtime_token"], next.as_str());
    clock.advance(Duration::from_secs(2));
    d.sweep_now().await;
    assert_eq!(
        d.heartbeat(&n.token, heartbeat_body(&n.id)).await.status,
        401
    );
    let r = d.heartbeat(&next, heartbeat_body(&n.id)).await;
    assert_eq!(
        r.status, 200,
        "the node that got its successor keeps working"
    );
    assert!(r.body.get("runtime_token").is_none());
}

#[tokio::test]
async fn a_rotation_survives_a_restart() {
    let mut d = InProcess::start(&["--no-reachability-check"]).await;
    let n = d.register("gpu-rr", "127.0.0.1", 8080).await;
    d.admin_post(&format!("/v0/nodes/{}/token/rotate", n.id), json!({}))
        .await;
    d.restart().await;
    let r = d.heartbeat(&n.token, heartbeat_body(&n.id)).await;
    assert_eq!(r.status, 200, "the old token works within the grace period");
    let t = r.body["runtime_token"].as_str().expect("a successor token");
    let r = d.heartbeat(t, heartbeat_body(&n.id)).await;
    assert_eq!(r.status, 200);
    let r = d.heartbeat(&n.token, heartbeat_body(&n.id)).await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn tokens_older_than_the_max_age_are_rotated_automatically() {
    let clock = ManualClock::new();
    let d = InProcess::start_on(
        clock.clone(),
        &["--no-reachability-check", "--runtime-token-max-age", "1h"],
    )
    .await;
    let n = d.register("gpu-auto", "127.0.0.1", 8080).await;
    clock.advance(Duration::from_secs(3600 - 60));
    d.sweep_now().await;
    let r = d.heartbeat(&n.token, heartbeat_body(&n.id)).await;
    assert!(
        r.body.get("runtime_token").is_none(),
        "rotated a minute before the max age: {}",
        r.body
    );
    clock.advance(Duration::from_secs(120));
    d.sweep_now().await;
    let r = d.heartbeat(&n.token, heartbeat_body(&n.id)).await;
    assert!(
        r.body["runtime_token"].is_string(),
        "a heartbeat reply carries a rotated token: {}",
        r.body
    );
}

#[tokio::test]
async fn revocation_stops_the_token_at_once_and_the_node_must_register_again() {
    let d = InProcess::start(&["--no-reachability-check"]).await;
    let n = d.register("gpu-rev", "127.0.0.1", 8080).await;
    approve(&d, &n.id).await;
    let r = d
        .admin_post(&format!("/v0/nodes/{}/token/revoke", n.id), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["revoked"], 1);
    let r = d.heartbeat(&n.token, heartbeat_body(&n.id)).await;
    assert_eq!(r.status, 401);
    let node = d.node(&n.id).await;
    assert!(node["token_age_secs"].is_null());
    assert_eq!(
        node["status"], "offline",
        "a node without a token is offline at once"
    );
    // Rotating a node without a token is a conflict.
    let r = d
        .admin_post(&format!("/v0/nodes/{}/token/rotate", n.id), json!({}))
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["code"], "no_token");

    // A revoked token proves nothing: the machine comes back as a new
    // pending node, and the old entry stays as it was (approved, offline)
    // until an administrator removes it.
    let again = d.register("gpu-rev", "127.0.0.1", 8080).await;
    assert_ne!(again.id, n.id);
    assert_eq!(d.status_of(&again.id).await, "pending");
    assert_eq!(d.status_of(&n.id).await, "offline");
    assert_eq!(
        d.node(&again.id).await["same_machine_name_as"],
        json!([n.id])
    );
    assert_eq!(
        d.node(&n.id).await["same_machine_name_as"],
        json!([again.id])
    );
}

#[tokio::test]
async fn deleting_a_node_revokes_its_token() {
    let d = InProcess::start(&["--no-reachability-check"]).await;
    let n = d.register("gpu-del", "127.0.0.1", 8080).await;
    let r = d
        .send(
            reqwest::Method::DELETE,
            &format!("/v0/nodes/{}", n.id),
            Some(&d.admin_token()),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        d.heartbeat(&n.token, heartbeat_body(&n.id)).await.status,
        401
    );
    let r = d.admin_get(&format!("/v0/nodes/{}", n.id)).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["code"], "node_not_found");
}

#[tokio::test]
async fn a_leaving_node_is_offline_at_once() {
    let d = InProcess::start(&["--no-reachability-check"]).await;
    let n = d.register("gpu-leave", "127.0.0.1", 8080).await;
    approve(&d, &n.id).await;
    d.heartbeat(&n.token, heartbeat_body(&n.id)).await;
    assert_eq!(d.status_of(&n.id).await, "online");
    let mut body = heartbeat_body(&n.id);
    body["leaving"] = json!(true);
    let r = d.heartbeat(&n.token, body).await;
    assert_eq!(r.body["status"], "offline");
    assert_eq!(d.status_of(&n.id).await, "offline");
}

#[tokio::test]
async fn drained_nodes_stay_registered() {
    let d = InProcess::start(&["--no-reachability-check"]).await;
    let n = d.register("gpu-drain", "127.0.0.1", 8080).await;
    let r = d
        .admin_post(&format!("/v0/nodes/{}/drain", n.id), json!({}))
        .await;
    assert_eq!(r.body["drained"], true);
    let r = d
        .admin_post(&format!("/v0/nodes/{}/undrain", n.id), json!({}))
        .await;
    assert_eq!(r.body["drained"], false);
}
