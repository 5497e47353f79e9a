//! The node lifecycle rules of DESIGN, against the real daemon.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

#[tokio::test]
async fn register_approve_heartbeat_online() {
    let d = TestDaemon::start(&["--no-reachability-check"]);
    let n = d.register("gpu-a", "127.0.0.1", 8080).await;
    assert_eq!(d.status_of(&n.id).await, "pending");

    let r = d.heartbeat(&n.token, heartbeat_body(&n.id)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "pending");
    assert_eq!(r.body["heartbeat_interval_secs"], 10);
    assert!(r.body.get("runtime_token").is_none());

    let r = d.admin_post(&format!("/v0/nodes/{}/approve", n.id), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "online");
    assert!(r.body["approved_at"].is_string());

    let node = d.node(&n.id).await;
    assert_eq!(node["cpu_usage"], 12.5);
    assert_eq!(node["loaded_models"], json!(["llama-3-8b"]));
}
