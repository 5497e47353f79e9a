//! The audit trail (issue 11): every admission event and state-changing
//! admin action leaves a row, written with the change itself.

mod common;

use std::time::Duration;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn audit(d: &Api, query: &str) -> Vec<Value> {
    let r = d.admin_get(&format!("/v0/audit{query}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body.as_array().unwrap().clone()
}

fn find<'a>(rows: &'a [Value], action: &str, target: Option<&str>) -> &'a Value {
    rows.iter()
        .find(|r| r["action"] == action && target.is_none_or(|t| r["target"] == t))
        .unwrap_or_else(|| panic!("no {action} row for {target:?} in {rows:#?}"))
}

#[tokio::test]
async fn every_admin_action_and_admission_event_is_recorded_without_secrets() {
    let clock = ManualClock::new();
    let d = InProcess::start_on(
        clock.clone(),
        &["--no-reachability-check", "--runtime-token-max-age", "1h"],
    )
    .await;
    let admin = d.admin_token();
    let mut secrets = vec![admin.clone(), d.admin_password()];

    let n = d.register("gpu-audit", "127.0.0.1", 8080).await;
    secrets.push(n.token.clone());
    let post = |path: String| {
        let d = &d;
        async move { d.admin_post(&path, json!({})).await }
    };
    assert_eq!(
        post(format!("/v0/nodes/{}/approve", n.id)).await.status,
        200
    );
    let r = d
        .send(
            Method::PATCH,
            &format!("/v0/nodes/{}", n.id),
            Some(&admin),
            Some(json!({"notes": "rack 1"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(post(format!("/v0/nodes/{}/drain", n.id)).await.status, 200);
    assert_eq!(
        post(format!("/v0/nodes/{}/undrain", n.id)).await.status,
        200
    );
    assert_eq!(
        post(format!("/v0/nodes/{}/token/rotate", n.id))
            .await
            .status,
        200
    );
    assert_eq!(
        post(format!("/v0/nodes/{}/token/revoke", n.id))
            .await
            .status,
        200
    );

    // API keys.
    let r = d
        .admin_post("/v0/api-keys", json!({"name": "ci", "role": "viewer"}))
        .await;
    let key_id = r.body["id"].as_str().unwrap().to_string();
    secrets.push(r.body["key"].as_str().unwrap().to_string());
    let r = post(format!("/v0/api-keys/{key_id}/rotate")).await;
    secrets.push(r.body["key"].as_str().unwrap().to_string());
    let r = d
        .send(
            Method::DELETE,
            &format!("/v0/api-keys/{key_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, 204);

    // Join tokens: create, use (auto-approve), revoke.
    let r = d
        .admin_post("/v0/join-tokens", json!({"auto_approve": true, "uses": 2}))
        .await;
    let jt_id = r.body["id"].as_str().unwrap().to_string();
    let jt = r.body["token"].as_str().unwrap().to_string();
    secrets.push(jt.clone());
    let r = d
        .http
        .post(d.url("/v0/nodes"))
        .header("X-Join-Token", &jt)
        .json(&registration("gpu-joined", "127.0.0.1", 8081))
        .send()
        .await
        .unwrap();
    let joined = into_reply(r).await;
    assert_eq!(joined.status, 201, "{}", joined.body);
    let joined_id = joined.body["node_id"].as_str().unwrap().to_string();
    secrets.push(joined.body["runtime_token"].as_str().unwrap().to_string());
    let r = d
        .send(
            Method::DELETE,
            &format!("/v0/join-tokens/{jt_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, 204);

    // Import, login (success, failure, unknown user), logout, remove.
    let r = d
        .admin_post(
            "/v0/import/nodes",
            json!([{"id": "imp-1", "machine_name": "old", "ip_address": "10.0.0.1",
                    "runtime_port": 8080, "status": "pending"}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let session = d.admin_session().await;
    secrets.push(session.clone());
    assert_eq!(d.login("admin", "not-the-password").await.status, 401);
    assert_eq!(d.login("hunter2-typed-as-name", "x").await.status, 401);
    let r = d
        .send(Method::POST, "/v0/auth/logout", Some(&session), None)
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = d
        .send(
            Method::DELETE,
            &format!("/v0/nodes/{}", n.id),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, 204);

    // The joined node's token ages past --runtime-token-max-age: the daemon
    // rotates it by itself.
    clock.advance(Duration::from_secs(3601));
    d.sweep_now().await;
    let found = audit(&d, "?action=token.auto_rotate")
        .await
        .iter()
        .any(|r| r["target"] == joined_id.as_str());
    assert!(found, "no automatic rotation recorded");
    let rows = audit(&d, "?limit=1000").await;

    let by_admin = |action: &str, target: &str| {
        let r = find(&rows, action, Some(target));
        assert_eq!(r["actor_kind"], "api_key", "{r}");
        assert_eq!(r["actor_name"], "admin (created at first start)", "{r}");
        assert_eq!(r["source"], "127.0.0.1", "{r}");
        assert_eq!(r["outcome"], "ok", "{r}");
    };
    for action in [
        "node.approve",
        "node.edit",
        "node.drain",
        "node.undrain",
        "token.rotate",
        "token.revoke",
        "node.remove",
    ] {
        by_admin(action, &n.id);
    }
    for action in ["api_key.create", "api_key.rotate", "api_key.revoke"] {
        by_admin(action, &key_id);
    }
    by_admin("join_token.create", &jt_id);
    by_admin("join_token.revoke", &jt_id);
    let reg = find(&rows, "node.register", Some(&n.id));
    assert_eq!(reg["actor_kind"], "anonymous");
    assert_eq!(reg["source"], "127.0.0.1");
    let used = find(&rows, "join_token.use", Some(&jt_id));
    assert_eq!(used["actor_kind"], "join_token");
    let auto = find(&rows, "node.auto_approve", Some(&joined_id));
    assert_eq!(
        auto["actor_id"],
        jt_id.as_str(),
        "approved by that token: {auto}"
    );
    let import = find(&rows, "import.nodes", None);
    assert_eq!(import["detail"], "1 imported, 0 updated");
    let ok = find(&rows, "login.success", Some("admin"));
    assert_eq!(ok["actor_kind"], "user");
    find(&rows, "logout", Some("admin"));
    let failures: Vec<&Value> = rows
        .iter()
        .filter(|r| r["action"] == "login.failure")
        .collect();
    assert_eq!(failures.len(), 2, "{failures:#?}");
    assert!(failures.iter().all(|r| r["outcome"] == "denied"));
    let auto_rot = find(&rows, "token.auto_rotate", Some(&joined_id));
    assert_eq!(auto_rot["actor_kind"], "daemon");

    // Never a secret, nor a username that does not exist.
    let text = serde_json::to_string(&rows).unwrap();
    for s in &secrets {
        assert!(!text.contains(s.as_str()), "a secret is in the audit trail");
    }
    assert!(
        !text.contains("hunter2"),
        "an unknown username was recorded"
    );

    // Filters.
    let node_rows = audit(&d, &format!("?target={}", n.id)).await;
    assert!(node_rows.len() >= 8 && node_rows.iter().all(|r| r["target"] == n.id.as_str()));
    let group = audit(&d, "?action=api_key").await;
    assert_eq!(group.len(), 3, "{group:#?}");
    assert!(audit(&d, "?since=2999-01-01T00:00:00Z").await.is_empty());
    assert_eq!(audit(&d, "?limit=2").await.len(), 2);
    let ids: Vec<i64> = rows.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");
    let r = d.admin_get("/v0/audit?limit=0").await;
    assert_eq!(r.status, 400);
    let viewer = d.api_key("v", "viewer").await;
    assert_eq!(d.get("/v0/audit", Some(&viewer)).await.status, 403);
}

#[tokio::test]
async fn an_approval_and_its_audit_row_survive_kill_9_together() {
    let mut d = TestDaemon::start(&["--no-reachability-check"]);
    let n = d.register("gpu-crash", "127.0.0.1", 8080).await;
    let r = d
        .admin_post(&format!("/v0/nodes/{}/approve", n.id), json!({}))
        .await;
    assert_eq!(r.status, 200);
    d.kill();
    d.restart();
    assert_eq!(d.node(&n.id).await["approved"], true);
    let rows = audit(&d, &format!("?target={}&action=node.approve", n.id)).await;
    assert_eq!(rows.len(), 1, "{rows:#?}");
}

/// Runs `llmlbctl` with `args` against `d` as the admin, off the runtime
/// that serves the in-process daemon; fails unless it succeeds.
async fn llmlbctl(d: &Api, args: &[&str]) -> Vec<u8> {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_llmlbctl"));
    cmd.args(["--url", &d.url(""), "--token", &d.admin_token()])
        .args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[tokio::test]
async fn old_rows_are_pruned_and_llmlbctl_shows_the_trail() {
    let clock = ManualClock::new();
    let mut d = InProcess::start_on(
        clock.clone(),
        &["--no-reachability-check", "--audit-retention", "1h"],
    )
    .await;
    let n = d.register("gpu-ctl", "127.0.0.1", 8080).await;
    d.admin_post(&format!("/v0/nodes/{}/approve", n.id), json!({}))
        .await;
    let out = llmlbctl(&d, &["audit", "--node", &n.id[..8], "--since", "1h"]).await;
    let table = String::from_utf8_lossy(&out);
    assert!(
        table.contains("node.approve") && table.contains("node.register"),
        "{table}"
    );
    assert!(table.contains("admin (created at first start)"), "{table}");
    let out = llmlbctl(&d, &["-o", "json", "audit", "--action", "node.approve"]).await;
    let rows: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");

    // Within the retention, pruning keeps them.
    let before = audit(&d, "").await;
    clock.advance(Duration::from_secs(3600 - 60));
    d.prune_audit_now().await;
    assert_eq!(audit(&d, "").await, before, "pruned before the retention");

    // Past the retention, a restart (the pruner runs at start, then hourly)
    // removes them.
    clock.advance(Duration::from_secs(120));
    d.restart().await;
    let gone = eventually(Duration::from_secs(5), || async {
        audit(&d, "").await.is_empty()
    })
    .await;
    assert!(gone, "{:#?}", audit(&d, "").await);
}
