//! What survives a restart, what never reaches the disk or the logs, and
//! concurrent registrations and heartbeats without lost updates.

mod common;

use std::sync::Arc;

use common::*;
use serde_json::json;

/// Every file of the data dir, as bytes.
fn data_files(d: &Api) -> Vec<(String, Vec<u8>)> {
    std::fs::read_dir(d.data_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect()
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn no_secret_in_the_database_files_or_the_logs() {
    let mut d = TestDaemon::start(&["--no-reachability-check"]);
    let n = d.register("gpu-secret", "127.0.0.1", 8080).await;
    d.admin_post(&format!("/v0/nodes/{}/token/rotate", n.id), json!({}))
        .await;
    let rotated = d.heartbeat(&n.token, heartbeat_body(&n.id)).await.body["runtime_token"]
        .as_str()
        .unwrap()
        .to_string();
    d.heartbeat(&rotated, heartbeat_body(&n.id)).await;
    let key = d.api_key("k", "viewer").await;
    let password = d.admin_password();
    let session = d.login("admin", &password).await.body["token"]
        .as_str()
        .unwrap()
        .to_string();
    // Failed attempts with secrets in them must not be echoed to the log.
    d.heartbeat("llmlb_rt_attempted_secret", heartbeat_body(&n.id))
        .await;
    d.post(
        "/v0/auth/login",
        None,
        json!({"username": "admin", "password": "guessed-password"}),
    )
    .await;
    let admin = d.admin_token();
    d.stop();

    let secrets = [
        n.token.as_str(),
        rotated.as_str(),
        key.as_str(),
        session.as_str(),
        password.as_str(),
        "llmlb_rt_attempted_secret",
        "guessed-password",
    ];
    for (file, bytes) in data_files(&d) {
        if file.ends_with("admin.token") || file.ends_with("admin.password") {
            continue;
        }
        for s in secrets.iter().chain([&admin.as_str()]) {
            assert!(!contains(&bytes, s), "{file} holds a secret in plain text");
        }
    }
    let logs = d.logs();
    assert!(logs.contains("node registered"), "the log is captured");
    for s in secrets.iter().chain([&admin.as_str()]) {
        assert!(!logs.contains(s), "the log holds a secret: {s}");
    }
}

#[tokio::test]
async fn secret_files_are_private_and_never_overwritten() {
    use std::os::unix::fs::PermissionsExt;
    let mut d = InProcess::start(&[]).await;
    let token = d.admin_token();
    let password = d.admin_password();
    for f in ["admin.token", "admin.password", "llmlb.db"] {
        let mode = std::fs::metadata(d.data_dir().join(f))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{f} is readable by others: {mode:o}");
    }
    d.restart().await;
    assert_eq!(d.admin_token(), token);
    assert_eq!(d.admin_password(), password);
    assert_eq!(d.admin_get("/v0/nodes").await.status, 200);
}

#[tokio::test]
async fn credentials_and_sessions_persist_across_a_restart() {
    let mut d = InProcess::start(&[]).await;
    let key = d.api_key("keep", "viewer").await;
    let session = d.admin_session().await;
    d.restart().await;
    assert_eq!(d.get("/v0/nodes", Some(&key)).await.status, 200);
    assert_eq!(d.get("/v0/nodes", Some(&session)).await.status, 200);
    let keys = d.admin_get("/v0/api-keys").await.body;
    let kept = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "keep")
        .unwrap();
    assert!(
        kept["last_used_at"].is_string(),
        "last use was written behind"
    );
}

#[tokio::test]
async fn concurrent_registrations_and_heartbeats_lose_no_update() {
    // 100 registrations at once from one address: past the default rate
    // limit, which tests/security.rs covers.
    let d_ref = Arc::new(InProcess::start(&["--no-reachability-check", "--rate-limit", "0"]).await);
    let mut tasks = Vec::new();
    for i in 0..100u16 {
        let d = d_ref.clone();
        tasks.push(tokio::spawn(async move {
            let n = d
                .register(&format!("many-{i}"), "127.0.0.1", 8000 + i)
                .await;
            for round in 0..5u32 {
                let mut body = heartbeat_body(&n.id);
                body["active_requests"] = json!(round * 1000 + u32::from(i));
                let r = d.heartbeat(&n.token, body).await;
                assert_eq!(r.status, 200, "{}", r.body);
            }
            n
        }));
    }
    let mut nodes = Vec::new();
    for t in tasks {
        nodes.push(t.await.unwrap());
    }
    // Approve half of them concurrently.
    let mut approvals = Vec::new();
    for n in nodes.iter().step_by(2) {
        let d = d_ref.clone();
        let id = n.id.clone();
        approvals.push(tokio::spawn(async move {
            d.admin_post(&format!("/v0/nodes/{id}/approve"), json!({}))
                .await
                .status
        }));
    }
    for a in approvals {
        assert_eq!(a.await.unwrap(), 200);
    }
    let mut d = Arc::into_inner(d_ref).expect("all tasks done");
    d.restart().await;
    let list = d.admin_get("/v0/nodes").await.body;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 100);
    for (i, n) in nodes.iter().enumerate() {
        let v = list.iter().find(|v| v["id"] == n.id.as_str()).unwrap();
        assert_eq!(
            v["active_requests"],
            4000 + i,
            "the last heartbeat of {} was kept",
            v["machine_name"]
        );
        let want = if i % 2 == 0 { "offline" } else { "pending" };
        assert_eq!(v["status"], want);
    }
}
