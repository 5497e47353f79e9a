//! Nothing an administrator does may keep the daemon from starting: API key
//! lifetimes are bounded at the edge, and stored timestamps that cannot be
//! read are logged and taken as the Unix epoch (expired, oldest) instead of
//! failing the start.

mod common;

use chrono::{DateTime, SecondsFormat, Utc};
use common::*;
use serde_json::{json, Value};

fn epoch(v: &Value) -> bool {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .is_some_and(|t| t == DateTime::UNIX_EPOCH)
}

#[tokio::test]
async fn api_key_lifetimes_outside_one_second_to_ten_years_are_refused_naming_the_field() {
    let mut d = InProcess::start(&[]).await;
    for bad in [
        json!(300_000_000_000u64),
        json!(315_360_001),
        json!(0),
        json!(-5),
        json!(1.5),
    ] {
        let r = d
            .admin_post(
                "/v0/api-keys",
                json!({"name": "k", "role": "viewer", "expires_in_secs": bad}),
            )
            .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        let message = r.body["error"].as_str().unwrap();
        assert!(
            message.contains("expires_in_secs") && message.contains("315360000"),
            "{bad}: {message}"
        );
    }
    let r = d
        .admin_post(
            "/v0/api-keys",
            json!({"name": "k", "role": "viewer", "expires_in_secs": 300_000_000_000u64}),
        )
        .await;
    assert_eq!(r.body["code"], "invalid_expiry");
    // The longest lifetime is accepted, and the daemon starts again with it.
    let r = d
        .admin_post(
            "/v0/api-keys",
            json!({"name": "decade", "role": "viewer", "expires_in_secs": 315_360_000}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let key = r.body["key"].as_str().unwrap().to_string();
    d.restart().await;
    assert_eq!(d.get("/v0/nodes", Some(&key)).await.status, 200);
}

#[test]
fn llmlbctl_refuses_an_out_of_range_lifetime_before_calling_the_daemon() {
    // Nothing listens on port 1: a request would fail as unreachable (1).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_llmlbctl"))
        .args(["--url", "http://127.0.0.1:1", "--token", "llmlb_ak_unused"])
        .args(["api-keys", "create", "--name", "x", "--role", "viewer"])
        .args(["--expires-in", "3651d"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "a usage error: {stderr}");
    assert!(
        stderr.contains("--expires-in") && stderr.contains("3650d"),
        "{stderr}"
    );
}

#[test]
fn llmlbd_refuses_a_grace_period_it_could_not_store() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_llmlbd"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--listen", "127.0.0.1:0", "--token-grace", "1000000w"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "a usage error: {stderr}");
    assert!(
        stderr.contains("--token-grace") && stderr.contains("30d"),
        "{stderr}"
    );
}

#[tokio::test]
async fn unreadable_stored_timestamps_are_logged_and_read_as_the_epoch() {
    let mut d = TestDaemon::start(&["--no-reachability-check"]);
    let create = |name: &'static str| {
        let d = &d;
        async move {
            let r = d
                .admin_post(
                    "/v0/api-keys",
                    json!({"name": name, "role": "viewer", "expires_in_secs": 3600}),
                )
                .await;
            assert_eq!(r.status, 201, "{}", r.body);
            (
                r.body["id"].as_str().unwrap().to_string(),
                r.body["key"].as_str().unwrap().to_string(),
            )
        }
    };
    let (doomed_id, doomed) = create("doomed").await;
    let (_, kept) = create("kept").await;
    let session = d.admin_session().await;
    let node = d.register("gpu-odd-times", "127.0.0.1", 8080).await;
    let r = d
        .admin_post(&format!("/v0/nodes/{}/approve", node.id), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    d.stop();

    // What an older llmlbd stored for "expires_in_secs": 300000000000.
    let far = (Utc::now() + chrono::Duration::seconds(300_000_000_000))
        .to_rfc3339_opts(SecondsFormat::Nanos, true);
    assert!(far.starts_with('+'), "{far} is past the year 9999");
    let session_id: String;
    {
        let db = rusqlite::Connection::open(d.db_path()).unwrap();
        let set = |sql: &str, args: &[&dyn rusqlite::ToSql]| {
            assert_eq!(db.execute(sql, args).unwrap(), 1, "{sql}");
        };
        set(
            "UPDATE api_keys SET expires_at = ?1 WHERE id = ?2",
            &[&far, &doomed_id],
        );
        set("UPDATE sessions SET expires_at = 'not a time'", &[]);
        session_id = db
            .query_row("SELECT id FROM sessions", [], |r| r.get(0))
            .unwrap();
        set(
            "UPDATE nodes SET registered_at = ?1, last_seen = 'garbage' WHERE id = ?2",
            &[&far, &node.id],
        );
        set(
            "UPDATE runtime_tokens SET created_at = 'garbage' WHERE node_id = ?1",
            &[&node.id],
        );
    }
    d.restart();

    let logs = d.logs();
    for (table, column, row) in [
        ("api_keys", "expires_at", doomed_id.as_str()),
        ("sessions", "expires_at", session_id.as_str()),
        ("nodes", "registered_at", node.id.as_str()),
        ("nodes", "last_seen", node.id.as_str()),
        ("runtime_tokens", "created_at", node.id.as_str()),
    ] {
        assert!(
            logs.lines().any(|l| l.contains("stored timestamp")
                && l.contains(&format!("table=\"{table}\""))
                && l.contains(&format!("column=\"{column}\""))
                && l.contains(row)),
            "{table}.{column} of {row:?} is not logged:\n{logs}"
        );
    }

    // The key with the unreadable expiry reads as expired; the other works.
    let r = d.get("/v0/nodes", Some(&doomed)).await;
    assert_eq!((r.status, &r.body["code"]), (401, &json!("token_expired")));
    assert_eq!(d.get("/v0/nodes", Some(&kept)).await.status, 200);
    let keys = d.admin_get("/v0/api-keys").await.body;
    let listed = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == doomed_id.as_str())
        .unwrap();
    assert!(epoch(&listed["expires_at"]), "{listed}");
    // So does the session.
    assert_eq!(d.get("/v0/nodes", Some(&session)).await.status, 401);
    // The node keeps its admission and its token.
    let v = d.node(&node.id).await;
    assert!(epoch(&v["registered_at"]), "{v}");
    assert!(v["last_seen"].is_null(), "{v}");
    let r = d.heartbeat(&node.token, heartbeat_body(&node.id)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(d.status_of(&node.id).await, "online");
}
