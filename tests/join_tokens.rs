//! Join tokens: registration gated by a token an administrator hands out
//! (issue 11). Real daemon, real agent, real llmlbctl.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};

async fn create(d: &Api, body: Value) -> (String, String) {
    let r = d.admin_post("/v0/join-tokens", body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let token = r.body["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("llmlb_jt_"), "{token}");
    (r.body["id"].as_str().unwrap().to_string(), token)
}

async fn register_joining(d: &Api, machine: &str, port: u16, join: Option<&str>) -> Reply {
    let mut req = d
        .http
        .post(d.url("/v0/nodes"))
        .json(&registration(machine, "127.0.0.1", port));
    if let Some(t) = join {
        req = req.header("X-Join-Token", t);
    }
    into_reply(req.send().await.unwrap()).await
}

#[tokio::test]
async fn in_join_token_mode_only_a_valid_token_registers() {
    // The probe is on and would fail (nothing listens on these ports):
    // without a token the daemon must refuse before probing anything.
    let d = TestDaemon::start(&["--registration", "join-token"]);
    let r = register_joining(&d, "gpu-none", 1, None).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.body["code"], "join_token_required");
    let r = register_joining(&d, "gpu-bad", 1, Some("llmlb_jt_nope")).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.body["code"], "join_token_invalid");
    assert!(
        !d.logs().contains("reachability probe failed"),
        "{}",
        d.logs()
    );

    let runtime = stub_runtime("127.0.0.1:0").await;
    let (id, token) = create(&d, json!({"name": "rack 7", "tags": ["rack-7"], "uses": 5})).await;
    let r = register_joining(&d, "gpu-ok", runtime.port(), Some(&token)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["node_status"], "pending");
    let node_id = r.body["node_id"].as_str().unwrap().to_string();
    let node_token = r.body["runtime_token"].as_str().unwrap().to_string();
    let node = d.node(&node_id).await;
    assert_eq!(node["tags"], json!(["rack-7"]));
    assert_eq!(node["approved"], false);

    // A node that proves itself needs no join token to register again.
    let r = d
        .register_proving(
            &registration("gpu-ok", "127.0.0.1", runtime.port()),
            Some(&node_token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let list = d.admin_get("/v0/join-tokens").await.body;
    let t = &list.as_array().unwrap()[0];
    assert_eq!(t["id"], id.as_str());
    assert_eq!(t["uses_left"], 4);
    assert!(t["last_used_at"].is_string());
    assert!(t.get("token").is_none(), "never the secret: {t}");

    // Revoked: refused at once.
    let r = d
        .send(
            reqwest::Method::DELETE,
            &format!("/v0/join-tokens/{id}"),
            Some(&d.admin_token()),
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = register_joining(&d, "gpu-late", runtime.port(), Some(&token)).await;
    assert_eq!(r.body["code"], "join_token_invalid", "{}", r.body);
}

#[tokio::test]
async fn in_open_mode_a_token_adds_tags_and_auto_approve_admits() {
    let d = InProcess::start(&["--no-reachability-check"]).await;
    let r = register_joining(&d, "gpu-open", 8080, None).await;
    assert_eq!(
        r.status, 201,
        "open mode takes registrations without a token"
    );
    assert_eq!(r.body["node_status"], "pending");

    let (_, token) = create(&d, json!({"tags": ["auto"], "auto_approve": true})).await;
    let r = register_joining(&d, "gpu-auto", 8081, Some(&token)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["node_status"], "registering", "approved at once");
    let id = r.body["node_id"].as_str().unwrap().to_string();
    let node_token = r.body["runtime_token"].as_str().unwrap().to_string();
    let node = d.node(&id).await;
    assert_eq!(node["approved"], true);
    assert!(node["approved_at"].is_string());
    assert_eq!(node["tags"], json!(["auto"]));
    let r = d.heartbeat(&node_token, heartbeat_body(&id)).await;
    assert_eq!(r.body["status"], "online", "{}", r.body);

    // A token that is not valid is refused, not ignored.
    let r = register_joining(&d, "gpu-typo", 8082, Some("llmlb_jt_typo")).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.body["code"], "join_token_invalid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_use_token_admits_exactly_one_of_twenty_simultaneous_registrations() {
    let d = std::sync::Arc::new(
        InProcess::start(&["--no-reachability-check", "--registration", "join-token"]).await,
    );
    let (id, token) = create(&d, json!({"uses": 1})).await;
    let mut tasks = Vec::new();
    for i in 0..20u16 {
        let (d, token) = (d.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            register_joining(&d, &format!("race-{i}"), 9000 + i, Some(&token)).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            201 => ok += 1,
            401 => assert_eq!(r.body["code"], "join_token_invalid", "{}", r.body),
            other => panic!("unexpected {other}: {}", r.body),
        }
    }
    assert_eq!(ok, 1, "exactly one registration used the token");
    assert_eq!(
        d.admin_get("/v0/nodes")
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let list = d.admin_get("/v0/join-tokens").await.body;
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["uses_left"], 0);
}

#[tokio::test]
async fn expiry_survives_a_restart_on_the_daemons_clock() {
    let clock = ManualClock::new();
    let mut d = InProcess::start_on(
        clock.clone(),
        &["--no-reachability-check", "--registration", "join-token"],
    )
    .await;
    let (_, short) = create(&d, json!({"ttl_secs": 60})).await;
    d.restart().await;
    clock.advance(Duration::from_secs(59));
    let r = register_joining(&d, "gpu-1", 8000, Some(&short)).await;
    assert_eq!(r.status, 201, "a second before it expires: {}", r.body);
    clock.advance(Duration::from_secs(2));
    let r = register_joining(&d, "gpu-2", 8001, Some(&short)).await;
    assert_eq!(r.status, 401, "expired: {}", r.body);
    assert_eq!(r.body["code"], "join_token_invalid", "expired: {}", r.body);
}

#[tokio::test]
async fn use_counts_survive_a_restart_and_secrets_are_stored_hashed() {
    let mut d = TestDaemon::start(&["--no-reachability-check", "--registration", "join-token"]);
    let (_, short) = create(&d, json!({"ttl_secs": 1})).await;
    let (_, once) = create(&d, json!({"uses": 1})).await;
    assert_eq!(
        register_joining(&d, "gpu-1", 8000, Some(&once))
            .await
            .status,
        201
    );
    d.restart();
    let r = register_joining(&d, "gpu-2", 8001, Some(&once)).await;
    assert_eq!(
        r.body["code"], "join_token_invalid",
        "used up after a restart"
    );

    let db = std::fs::read(d.db_path()).unwrap();
    let wal = std::fs::read(d.data_dir().join("llmlb.db-wal")).unwrap_or_default();
    for secret in [&short, &once] {
        let hex = secret.trim_start_matches("llmlb_jt_").as_bytes();
        assert!(
            !db.windows(hex.len()).any(|w| w == hex) && !wal.windows(hex.len()).any(|w| w == hex),
            "the secret is stored in clear"
        );
    }
    assert!(!d.logs().contains(once.as_str()), "the secret is logged");

    // Out-of-range requests are refused naming the field.
    for (body, code) in [
        (json!({"ttl_secs": 0}), "invalid_ttl"),
        (json!({"ttl_secs": 400 * 86_400}), "invalid_ttl"),
        (
            json!({"ttl_secs": 60, "never_expires": true}),
            "invalid_ttl",
        ),
        (json!({"uses": 0}), "invalid_uses"),
        (json!({"tags": ["bad\u{1b}"]}), "invalid_labels"),
    ] {
        let r = d.admin_post("/v0/join-tokens", body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(r.body["code"], code, "{body}");
    }
    // Only admins manage them.
    let viewer = d.api_key("v", "viewer").await;
    let r = d.get("/v0/join-tokens", Some(&viewer)).await;
    assert_eq!(r.status, 403, "{}", r.body);
}

fn ctl(d: &Api, args: &[&str]) -> (bool, String, String) {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_llmlbctl"))
        .arg("--url")
        .arg(d.url(""))
        .arg("--token")
        .arg(d.admin_token())
        .args(args)
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llmlbctl_hands_out_a_token_and_the_agent_joins_with_it() {
    let d = TestDaemon::start(&["--registration", "join-token"]);
    let (ok, out, err) = ctl(
        &d,
        &[
            "-o",
            "json",
            "join-tokens",
            "create",
            "--name",
            "lab",
            "--ttl",
            "2h",
            "--uses",
            "3",
            "--tag",
            "lab",
            "--auto-approve",
        ],
    );
    assert!(ok, "{err}");
    let created: Value = serde_json::from_str(&out).unwrap();
    let token = created["token"].as_str().unwrap().to_string();
    assert_eq!(created["uses_left"], 3);
    assert_eq!(created["auto_approve"], true);

    let (ok, table, err) = ctl(&d, &["join-tokens", "list"]);
    assert!(ok, "{err}");
    assert!(
        table.contains("lab") && table.contains("yes") && table.contains('3'),
        "{table}"
    );
    assert!(!table.contains(&token), "the list never shows the secret");

    let runtime = stub_runtime("127.0.0.1:0").await;
    let state = tempfile::tempdir().unwrap();
    let file = state.path().join("join-token");
    std::fs::write(&file, format!("{token}\n")).unwrap();
    let mut child = agent_cmd_named(&d.url(""), runtime, state.path(), "joined-box")
        .arg("--join-token-file")
        .arg(&file)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let joined = eventually(Duration::from_secs(15), || async {
        let list = d.admin_get("/v0/nodes").await.body;
        list.as_array().is_some_and(|l| {
            l.iter()
                .any(|n| n["machine_name"] == "joined-box" && n["approved"] == true)
        })
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        joined,
        "the agent registered with the token and was approved"
    );

    // Without a token the agent is refused with the daemon's sentence.
    let state2 = tempfile::tempdir().unwrap();
    let out = agent_cmd_named(&d.url(""), runtime, state2.path(), "stranger")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("join_token_required"), "{err}");

    let id = created["id"].as_str().unwrap();
    let (ok, _, err) = ctl(&d, &["join-tokens", "revoke", &id[..6]]);
    assert!(ok, "{err}");
    let (_, table, _) = ctl(&d, &["join-tokens", "list"]);
    assert!(table.contains("no join tokens"), "{table}");
}
