//! Attacks by anyone who can reach the daemon, and faults that must not
//! cost an approved node its admission (issue 10). Each test starts the
//! real daemon and makes the attack or the fault.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use axum::Router;
use common::*;
use serde_json::{json, Value};

async fn chat(d: &Api) -> Reply {
    d.post(
        "/v1/chat/completions",
        None,
        json!({"model": "llama-3-8b", "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await
}

fn ctl(d: &Api, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_llmlbctl"))
        .arg("--url")
        .arg(d.url(""))
        .arg("--token")
        .arg(d.admin_token())
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("llmlbctl runs")
}

// ----- 1. registration takeover ---------------------------------------

#[tokio::test]
async fn registering_the_name_of_an_approved_node_takes_nothing_over() {
    let d = TestDaemon::start(&[]);
    let real = Stub::named("real").start().await.addr;
    let evil = Stub::named("attacker").start().await.addr;
    let body = registration("gpu-prod-1", "127.0.0.1", real.port());
    let r = d.register_proving(&body, None).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["node_id"].as_str().unwrap().to_string();
    let token = r.body["runtime_token"].as_str().unwrap().to_string();
    d.approve(&id).await;
    assert_eq!(d.heartbeat(&token, heartbeat_body(&id)).await.status, 200);
    assert_eq!(chat(&d).await.body["node"], "real");

    // The attacker knows the name and runtime port, and has a server of its
    // own (another address; here another port on loopback).
    let mut attack = registration("gpu-prod-1", "127.0.0.2", real.port());
    attack["node_api_port"] = json!(evil.port());
    attack["ip_address"] = json!("127.0.0.1");
    let r = d.register_proving(&attack, None).await;
    assert_eq!(r.status, 201, "a new node, not an update: {}", r.body);
    assert_eq!(r.body["status"], "registered");
    let impostor = r.body["node_id"].as_str().unwrap().to_string();
    assert_ne!(impostor, id);
    let impostor_token = r.body["runtime_token"].as_str().unwrap().to_string();

    // A token of another node proves nothing about this one.
    let other = d
        .register_proving(&registration("gpu-other", "127.0.0.1", evil.port()), None)
        .await;
    let other_token = other.body["runtime_token"].as_str().unwrap().to_string();
    let r = d.register_proving(&attack, Some(&other_token)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_ne!(r.body["node_id"], id.as_str());
    let second_impostor = r.body["node_id"].as_str().unwrap().to_string();

    // The real node is untouched: admission, token, address, traffic.
    let node = d.node(&id).await;
    assert_eq!(node["approved"], true);
    assert_eq!(node["status"], "online");
    assert_eq!(node["node_api_port"], real.port());
    assert_eq!(d.heartbeat(&token, heartbeat_body(&id)).await.status, 200);
    for _ in 0..5 {
        assert_eq!(chat(&d).await.body["node"], "real");
    }
    let mut twins: Vec<Value> = node["same_machine_name_as"].as_array().unwrap().clone();
    twins.sort_by_key(|v| v.as_str().unwrap().to_string());
    let mut want = vec![json!(impostor), json!(second_impostor)];
    want.sort_by_key(|v| v.as_str().unwrap().to_string());
    assert_eq!(twins, want, "both entries are marked");
    let imp = d.node(&impostor).await;
    assert_eq!(imp["status"], "pending");
    assert!(imp["same_machine_name_as"]
        .as_array()
        .unwrap()
        .contains(&json!(id)));
    // The impostor's heartbeats never admit it.
    assert_eq!(
        d.heartbeat(&impostor_token, heartbeat_body(&impostor))
            .await
            .body["status"],
        "pending"
    );

    // llmlbctl marks both entries, in the list and in show.
    let out = ctl(&d, &["nodes", "list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&format!("same machine name as {}", &id[..8])),
        "{text}"
    );
    assert!(
        text.contains(&format!("same machine name as {}", &impostor[..8]))
            || text.contains(&impostor[..8]),
        "{text}"
    );
    let out = ctl(&d, &["nodes", "show", &impostor]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("same machine as") && text.contains(&id),
        "{text}"
    );

    // Approving a duplicate is allowed and says which entry shares the name.
    let out = ctl(&d, &["nodes", "approve", &impostor]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains(&id) && err.contains("nodes remove"), "{err}");
}

#[tokio::test]
async fn a_node_that_proves_itself_keeps_its_id_and_goes_back_to_pending() {
    let d = InProcess::start(&["--no-reachability-check"]).await;
    let body = registration("gpu-proof", "127.0.0.1", 8080);
    let r = d.register_proving(&body, None).await;
    let id = r.body["node_id"].as_str().unwrap().to_string();
    let token = r.body["runtime_token"].as_str().unwrap().to_string();
    d.approve(&id).await;

    // The old token within a rotation's grace proves it too.
    let rot = d
        .admin_post(&format!("/v0/nodes/{id}/token/rotate"), json!({}))
        .await;
    assert_eq!(rot.status, 200, "{}", rot.body);
    let r = d.register_proving(&body, Some(&token)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["node_id"], id.as_str());
    assert_eq!(r.body["node_status"], "pending");
    let new_token = r.body["runtime_token"].as_str().unwrap();
    assert_eq!(d.heartbeat(&token, heartbeat_body(&id)).await.status, 401);
    assert_eq!(
        d.heartbeat(new_token, heartbeat_body(&id)).await.status,
        200
    );
    assert_eq!(d.node(&id).await["token_rotation_pending"], false);
    let list = d.admin_get("/v0/nodes").await.body;
    assert_eq!(list.as_array().unwrap().len(), 1, "no duplicate: {list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_proves_itself_when_it_registers_again() {
    // An agent whose saved token still works registers again when its
    // state says so; here: an agent that lost its daemon's answer and
    // restarts must not create a duplicate. Simplest real path: the agent
    // sends its saved token on registration, seen by the daemon as proof.
    let d = TestDaemon::start(&["--no-reachability-check"]);
    let runtime = stub_runtime("127.0.0.1:0").await;
    let state = tempfile::tempdir().unwrap();
    // A previous life of this machine: registered, token saved.
    let body = {
        let mut b = registration("agent-proof", "127.0.0.1", runtime.port());
        b["runtime_version"] = json!("unknown");
        b
    };
    let r = d.register_proving(&body, None).await;
    let id = r.body["node_id"].as_str().unwrap().to_string();
    let token = r.body["runtime_token"].as_str().unwrap().to_string();
    d.approve(&id).await;
    // The state file points at a node id the daemon does not know, with
    // the valid token: the heartbeat is refused (403/401), and the agent
    // registers again with its token as proof.
    std::fs::write(
        state.path().join("node.json"),
        serde_json::to_vec(&json!({
            "lb_url": d.url(""),
            "node_id": "not-a-known-node",
            "runtime_token": token,
        }))
        .unwrap(),
    )
    .unwrap();
    let mut child = agent_cmd_named(&d.url(""), runtime, state.path(), "agent-proof")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let path = state.path().join("node.json");
    let got = eventually(Duration::from_secs(15), || async {
        std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .is_some_and(|s| s["node_id"] == id.as_str())
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();
    assert!(got, "the agent got its own id back");
    let list = d.admin_get("/v0/nodes").await.body;
    assert_eq!(list.as_array().unwrap().len(), 1, "no duplicate: {list}");
    assert_eq!(d.status_of(&id).await, "pending");
}

// ----- 2. one address for the probe and the traffic -------------------

#[tokio::test]
async fn traffic_goes_to_the_port_the_probe_checked() {
    let d = TestDaemon::start(&[]);
    let api = Stub::named("node-api").start().await.addr;
    // runtime_port points where nothing listens; node_api_port at the
    // OpenAI-compatible server that the probe checks.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let runtime_port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut body = registration("gpu-ports", "127.0.0.1", runtime_port);
    body["node_api_port"] = json!(api.port());
    let r = d.register_proving(&body, None).await;
    assert_eq!(r.status, 201, "the probe checked node_api_port: {}", r.body);
    let id = r.body["node_id"].as_str().unwrap().to_string();
    let token = r.body["runtime_token"].as_str().unwrap().to_string();
    d.approve(&id).await;
    d.heartbeat(&token, heartbeat_body(&id)).await;
    for _ in 0..3 {
        let r = chat(&d).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["node"], "node-api");
    }
}

// ----- 3. token rotation survives any restart --------------------------

async fn rotation_survives(kill: bool) {
    let mut d = TestDaemon::start(&["--no-reachability-check"]);
    let n = d.register("gpu-rot", "127.0.0.1", 8080).await;
    d.approve(&n.id).await;
    let r = d
        .admin_post(&format!("/v0/nodes/{}/token/rotate", n.id), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = d.heartbeat(&n.token, heartbeat_body(&n.id)).await;
    let next = r.body["runtime_token"].as_str().unwrap().to_string();
    if kill {
        d.kill();
    }
    d.restart();
    // The old token is still within its grace, the new one works, and the
    // node is still approved.
    let r = d.heartbeat(&n.token, heartbeat_body(&n.id)).await;
    assert_eq!(
        r.status, 200,
        "old token in grace after restart: {}",
        r.body
    );
    assert!(r.body.get("runtime_token").is_none(), "{}", r.body);
    let r = d.heartbeat(&next, heartbeat_body(&n.id)).await;
    assert_eq!(r.status, 200, "delivered token after restart: {}", r.body);
    assert_eq!(r.body["status"], "online");
    // First use of the new one ends the rotation; that too survives.
    assert_eq!(
        d.heartbeat(&n.token, heartbeat_body(&n.id)).await.status,
        401
    );
    d.restart();
    assert_eq!(d.heartbeat(&next, heartbeat_body(&n.id)).await.status, 200);
    assert_eq!(d.node(&n.id).await["approved"], true);
}

#[tokio::test]
async fn a_delivered_token_survives_kill_9() {
    rotation_survives(true).await;
}

#[tokio::test]
async fn a_delivered_token_survives_a_clean_restart() {
    rotation_survives(false).await;
}

#[tokio::test]
async fn an_undelivered_successor_is_replaced_after_a_restart() {
    let mut d = TestDaemon::start(&["--no-reachability-check"]);
    let n = d.register("gpu-rot2", "127.0.0.1", 8080).await;
    d.approve(&n.id).await;
    d.admin_post(&format!("/v0/nodes/{}/token/rotate", n.id), json!({}))
        .await;
    d.kill();
    d.restart();
    // Nobody saw the first successor; a fresh one goes out now and works.
    let r = d.heartbeat(&n.token, heartbeat_body(&n.id)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let next = r.body["runtime_token"]
        .as_str()
        .expect("a successor")
        .to_string();
    d.kill();
    d.restart();
    let r = d.heartbeat(&next, heartbeat_body(&n.id)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "online");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_rotations_and_kill_9_every_delivered_token_keeps_working() {
    let mut d = TestDaemon::start(&["--no-reachability-check", "--rate-limit", "0"]);
    let mut nodes = Vec::new();
    for i in 0..8u16 {
        let n = d
            .register(&format!("gpu-chaos-{i}"), "127.0.0.1", 8000 + i)
            .await;
        d.approve(&n.id).await;
        nodes.push((n.id, n.token));
    }
    for round in 0..4 {
        // Rotate every node and deliver the successor to half of them.
        for (i, (id, token)) in nodes.iter_mut().enumerate() {
            let r = d
                .admin_post(&format!("/v0/nodes/{id}/token/rotate"), json!({}))
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
            if (i + round) % 2 == 0 {
                let r = d.heartbeat(token, heartbeat_body(id)).await;
                assert_eq!(r.status, 200, "{}", r.body);
                *token = r.body["runtime_token"].as_str().unwrap().to_string();
            }
        }
        d.kill();
        d.restart();
        for (id, token) in &nodes {
            let r = d.heartbeat(token, heartbeat_body(id)).await;
            assert_eq!(r.status, 200, "round {round}: {id}: {}", r.body);
            assert_eq!(r.body["status"], "online", "round {round}: {id}");
        }
    }
}

// ----- 5. limits on what anyone may send -------------------------------

#[tokio::test]
async fn registrations_are_rate_limited_per_address_but_heartbeats_and_admins_are_not() {
    let d = InProcess::start(&[
        "--no-reachability-check",
        "--rate-limit",
        "1",
        "--rate-burst",
        "5",
    ])
    .await;
    let mut tokens = Vec::new();
    let mut limited = None;
    for i in 0..20u16 {
        let r = d
            .post(
                "/v0/nodes",
                None,
                registration(&format!("flood-{i}"), "127.0.0.1", 9000 + i),
            )
            .await;
        if r.status == 429 {
            limited = Some((i, r));
            break;
        }
        assert_eq!(r.status, 201, "{}", r.body);
        tokens.push((
            r.body["node_id"].as_str().unwrap().to_string(),
            r.body["runtime_token"].as_str().unwrap().to_string(),
        ));
    }
    let (at, r) = limited.expect("the flood is limited");
    assert!((5..=7).contains(&at), "limited after the burst, at {at}");
    assert_eq!(r.body["code"], "rate_limited");
    // Retry-After is sent: check it on a raw answer.
    let raw = d
        .http
        .post(d.url("/v0/nodes"))
        .json(&registration("flood-x", "127.0.0.1", 9999))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 429);
    let after: u64 = raw.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=5).contains(&after), "{after}");
    // Authenticated nodes and admins are never limited.
    for _ in 0..30 {
        for (id, token) in &tokens {
            assert_eq!(d.heartbeat(token, heartbeat_body(id)).await.status, 200);
        }
        assert_eq!(d.admin_get("/v0/nodes").await.status, 200);
    }
    // Logins share no bucket with registrations but have their own.
    let mut login_limited = false;
    for _ in 0..20 {
        let r = d.login("nobody", "x").await;
        if r.status == 429 && r.body["code"] == "rate_limited" {
            login_limited = true;
            break;
        }
    }
    assert!(login_limited, "logins are limited per address too");
}

#[tokio::test]
async fn pending_nodes_are_capped() {
    let d = InProcess::start(&["--no-reachability-check", "--max-pending", "3"]).await;
    let mut ids = Vec::new();
    for i in 0..3u16 {
        ids.push(
            d.register(&format!("pend-{i}"), "127.0.0.1", 8000 + i)
                .await,
        );
    }
    let r = d
        .post("/v0/nodes", None, registration("pend-3", "127.0.0.1", 8003))
        .await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.body["code"], "too_many_pending");
    let msg = r.body["error"].as_str().unwrap();
    assert!(msg.contains("approve or remove"), "{msg}");
    // A node that proves itself may still register again.
    let r = d
        .register_proving(
            &registration("pend-0", "127.0.0.1", 8000),
            Some(&ids[0].token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Approving one makes room.
    d.approve(&ids[1].id).await;
    let r = d
        .post("/v0/nodes", None, registration("pend-3", "127.0.0.1", 8003))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
}

#[tokio::test]
async fn oversized_and_unprintable_fields_are_refused_naming_the_field() {
    let d = InProcess::start(&["--no-reachability-check"]).await;
    let with = |k: &str, v: Value| {
        let mut b = registration("gpu-limits", "127.0.0.1", 8080);
        b[k] = v;
        b
    };
    let gpus: Vec<Value> = (0..65)
        .map(|i| json!({"model": format!("GPU {i}"), "count": 1}))
        .collect();
    let cases = [
        (with("gpu_devices", json!(gpus)), "gpu_devices"),
        (with("machine_name", json!("m".repeat(257))), "machine_name"),
        (
            with("machine_name", json!("green\u{1b}[32m")),
            "machine_name",
        ),
        (
            with("machine_name", json!("evil\u{202e}txt")),
            "machine_name",
        ),
        (
            with(
                "tags",
                json!((0..65).map(|i| format!("t{i}")).collect::<Vec<_>>()),
            ),
            "tags",
        ),
        (with("tags", json!(["ok", "bad\u{7}"])), "tags[1]"),
        (
            with("runtime_version", json!("v".repeat(300))),
            "runtime_version",
        ),
        (
            with(
                "gpu_devices",
                json!([{"model": "H100\u{1b}]0;x", "count": 1}]),
            ),
            "gpu_devices[0].model",
        ),
    ];
    for (body, field) in cases {
        let r = d.post("/v0/nodes", None, body).await;
        assert_eq!(r.status, 400, "{field}: {}", r.body);
        let msg = r.body["error"].as_str().unwrap();
        assert!(msg.contains(field), "{field}: {msg}");
    }
    assert_eq!(d.admin_get("/v0/nodes").await.body, json!([]));

    let n = d.register("gpu-limits", "127.0.0.1", 8080).await;
    let models: Vec<String> = (0..513).map(|i| format!("m{i}")).collect();
    let mut hb = heartbeat_body(&n.id);
    hb["loaded_models"] = json!(models);
    let r = d.heartbeat(&n.token, hb).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body["error"].as_str().unwrap().contains("loaded_models"));
    let mut hb = heartbeat_body(&n.id);
    hb["loaded_models"] = json!(["llama\u{1b}[2J"]);
    let r = d.heartbeat(&n.token, hb).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body["error"]
        .as_str()
        .unwrap()
        .contains("loaded_models[0]"));

    let path = format!("/v0/nodes/{}", n.id);
    let tok = d.admin_token();
    for (patch, field) in [
        (json!({"notes": "n".repeat(4097)}), "notes"),
        (json!({"notes": "ok\u{1b}[31m"}), "notes"),
        (json!({"custom_name": "a\nb"}), "custom_name"),
    ] {
        let r = d
            .send(reqwest::Method::PATCH, &path, Some(&tok), Some(patch))
            .await;
        assert_eq!(r.status, 400, "{field}: {}", r.body);
        assert!(r.body["error"].as_str().unwrap().contains(field));
    }
    // Line breaks in notes are fine.
    let r = d
        .send(
            reqwest::Method::PATCH,
            &path,
            Some(&tok),
            Some(json!({"notes": "rack 4\nslot 2"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

// ----- 8. the probe is not an oracle -----------------------------------

#[tokio::test]
async fn every_probe_failure_reads_the_same() {
    let d = TestDaemon::start(&["--probe-timeout", "1s"]);
    // Closed: nothing listens.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    // Silent: accepts and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    // Another HTTP server: answers 404.
    let other = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other_port = other.local_addr().unwrap().port();
    tokio::spawn(async move {
        let _ = axum::serve(other, Router::new()).await;
    });
    let mut messages = Vec::new();
    for port in [closed_port, silent_port, other_port] {
        let r = d
            .post(
                "/v0/nodes",
                None,
                registration("probe-me", "127.0.0.1", port),
            )
            .await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert_eq!(r.body["code"], "node_unreachable");
        let msg = r.body["error"]
            .as_str()
            .unwrap()
            .replace(&port.to_string(), "PORT");
        messages.push(msg);
    }
    assert_eq!(messages[0], messages[1], "closed and silent read the same");
    assert_eq!(messages[0], messages[2], "closed and 404 read the same");
    for word in ["connection", "in time", "404"] {
        assert!(!messages[0].contains(word), "{}", messages[0]);
    }
    assert!(
        messages[0].contains("check node_api_port"),
        "{}",
        messages[0]
    );
    // The causes are in the daemon's log (read from its stderr by another
    // thread, so the last line may land just after the reply).
    let logged = |l: &str| {
        ["connection failed", "no answer in time", "404"]
            .iter()
            .all(|w| l.contains(w))
    };
    eventually(Duration::from_secs(15), || async { logged(&d.logs()) }).await;
    let logs = d.logs();
    assert!(logs.contains("connection failed"), "{logs}");
    assert!(logs.contains("no answer in time"), "{logs}");
    assert!(logs.contains("404"), "{logs}");
    drop(silent);

    // The daemon's own address is no node.
    let r = d
        .post(
            "/v0/nodes",
            None,
            registration("loop", "127.0.0.1", d.addr.port()),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body["error"].as_str().unwrap().contains("own address"));
}

// ----- 9. bodies and HTTP errors ---------------------------------------

#[tokio::test]
async fn bodies_that_are_not_one_json_object_are_refused() {
    let d = TestDaemon::start(&["--no-reachability-check"]);
    let n = d.register("gpu-json", "127.0.0.1", 8080).await;
    let tok = d.admin_token();
    for path in [
        format!("/v0/nodes/{}", n.id),
        format!("/v0/nodes/{}/token/rotate", n.id),
    ] {
        let method = if path.ends_with("rotate") {
            reqwest::Method::POST
        } else {
            reqwest::Method::PATCH
        };
        for (body, code) in [
            (b"[]".to_vec(), "invalid_body"),
            (b"[600]".to_vec(), "invalid_body"),
            (b"{\"notes\": \"\xff\xfe\"}".to_vec(), "invalid_json"),
            (b"{\"x\": \"\xc3\"}".to_vec(), "invalid_json"),
            (br#"{"x": "\ud800"}"#.to_vec(), "invalid_json"),
            (
                br#"{"grace_secs": 5, "y": "\udfff"}"#.to_vec(),
                "invalid_json",
            ),
        ] {
            let r = d
                .http
                .request(method.clone(), d.url(&path))
                .bearer_auth(&tok)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
                .unwrap();
            let r = into_reply(r).await;
            assert_eq!(
                r.status,
                400,
                "{path} {:?}: {}",
                String::from_utf8_lossy(&body),
                r.body
            );
            assert_eq!(r.body["code"], code, "{path}: {}", r.body);
        }
    }
    // Nothing happened: no rotation started, nothing patched.
    let node = d.node(&n.id).await;
    assert_eq!(node["token_rotation_pending"], false);
    assert!(node["notes"].is_null());
}

/// Sends raw bytes and reads the whole answer (the daemon closes).
fn raw_exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn error_body(answer: &str) -> Value {
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("no JSON body ({e}): {answer:?}"))
}

#[tokio::test]
async fn http_level_errors_carry_the_error_body() {
    let d = TestDaemon::start(&[]);
    let big = format!(
        "GET /v0/status HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n",
        "a".repeat(70 * 1024)
    );
    let a = raw_exchange(d.addr, big.as_bytes());
    assert!(a.starts_with("HTTP/1.1 431"), "{a:.200}");
    assert_eq!(error_body(&a)["code"], "headers_too_large");

    for request in [
        &b"POST /v0/nodes HTTP/1.1\r\nhost: x\r\ncontent-length: 12x\r\n\r\n{}"[..],
        b"POST /v0/nodes HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}",
        b"POST /v0/nodes HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n{}",
        b"GET /v0/status HTTP/1.1\r\nhost: x\r\nbad name: 1\r\n\r\n",
        b"GET /v0/status HTTP/1.1\r\nhost: x\r\nx-ok\r\n\r\n",
    ] {
        let a = raw_exchange(d.addr, request);
        assert!(a.starts_with("HTTP/1.1 400"), "{:?} -> {a:.300}", String::from_utf8_lossy(request));
        let body = error_body(&a);
        assert_eq!(body["code"], "bad_request");
        assert!(body["error"].as_str().unwrap().len() > 10);
    }
    // The daemon still serves.
    assert_eq!(d.get("/v0/status", None).await.status, 200);
}

#[tokio::test]
async fn a_trickled_inference_body_is_cut_off_at_the_body_deadline() {
    let d = TestDaemon::start(&["--no-reachability-check", "--body-timeout", "2s"]);
    let mut s = TcpStream::connect(d.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        32 << 20
    );
    s.write_all(head.as_bytes()).unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    // Trickle a byte every 200 ms until the daemon answers or closes.
    s.set_nonblocking(true).unwrap();
    loop {
        let _ = s.write_all(b" ");
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => break,
        }
        if String::from_utf8_lossy(&answer).contains("}") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the trickle was not cut off"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let a = String::from_utf8_lossy(&answer);
    assert!(a.starts_with("HTTP/1.1 408"), "{a:.300}");
    assert_eq!(error_body(&a)["code"], "body_timeout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_falls_back_to_its_previous_token_while_it_is_in_grace() {
    let mut d = TestDaemon::start(&["--no-reachability-check", "--heartbeat-interval", "1"]);
    let runtime = stub_runtime("127.0.0.1:0").await;
    let state = tempfile::tempdir().unwrap();
    let mut child = agent_cmd_named(&d.url(""), runtime, state.path(), "agent-fallback")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let path = state.path().join("node.json");
    let saved = || {
        std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
    };
    assert!(
        eventually(Duration::from_secs(10), || async { saved().is_some() }).await,
        "the agent registered"
    );
    let first = saved().unwrap();
    let id = first["node_id"].as_str().unwrap().to_string();
    let old_token = first["runtime_token"].as_str().unwrap().to_string();
    d.approve(&id).await;
    let r = d
        .admin_post(
            &format!("/v0/nodes/{id}/token/rotate"),
            json!({"grace_secs": 600}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        eventually(Duration::from_secs(10), || async {
            saved().is_some_and(|s| s["previous_token"] == old_token.as_str())
        })
        .await,
        "the agent saved the new token and kept the old one"
    );
    // The daemon loses the rotation (its database restored from before
    // the node picked the new token up): only the old token, in grace, is
    // left. The agent must go back to it, not register again.
    d.kill();
    {
        let db = rusqlite::Connection::open(d.db_path()).unwrap();
        db.execute(
            "UPDATE runtime_tokens SET kind = 'current', token_hash = ?2, expires_at = NULL \
             WHERE node_id = ?1 AND kind = 'current'",
            rusqlite::params![id, sha256(&old_token)],
        )
        .unwrap();
        db.execute(
            "DELETE FROM runtime_tokens WHERE node_id = ?1 AND kind = 'next'",
            [&id],
        )
        .unwrap();
        db.execute(
            "UPDATE runtime_tokens SET expires_at = ?2 WHERE node_id = ?1",
            rusqlite::params![
                id,
                (chrono::Utc::now() + chrono::Duration::minutes(10)).to_rfc3339()
            ],
        )
        .unwrap();
    }
    d.restart_same_port();
    let back = eventually(Duration::from_secs(15), || async {
        saved().is_some_and(|s| s["runtime_token"] == old_token.as_str())
    })
    .await;
    let online = eventually(Duration::from_secs(10), || async {
        d.status_of(&id).await == "online" || d.status_of(&id).await == "registering"
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        back,
        "the agent went back to its previous token: {:?}",
        saved()
    );
    assert!(online, "and the node is still approved and live");
    let list = d.admin_get("/v0/nodes").await.body;
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "no new registration: {list}"
    );
}

fn sha256(s: &str) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(s.as_bytes()).to_vec()
}

#[tokio::test]
async fn many_registrations_of_one_name_keep_the_listing_linear() {
    let d = InProcess::start(&["--no-reachability-check", "--rate-limit", "0"]).await;
    let victim = d.register("gpu-victim", "127.0.0.1", 8080).await;
    for _ in 0..24 {
        d.register("gpu-victim", "127.0.0.1", 8080).await;
    }
    let list = d.admin_get("/v0/nodes").await.body;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 25);
    for n in list {
        let twins = n["same_machine_name_as"].as_array().unwrap();
        assert_eq!(twins.len(), 16, "{n}");
    }
    // The oldest entries come first.
    let newest = &list[24];
    assert_eq!(newest["same_machine_name_as"][0], victim.id.as_str());
}

#[tokio::test]
async fn field_limits_follow_their_flags() {
    let d = InProcess::start(&[
        "--no-reachability-check",
        "--max-gpu-devices",
        "1",
        "--max-name-length",
        "12",
        "--max-tags",
        "1",
        "--max-models",
        "1",
    ])
    .await;
    let mut body = registration("twelve-chars", "127.0.0.1", 8080);
    body["runtime_version"] = json!("b4000");
    body["gpu_devices"] = json!([{"model": "RTX 4090", "count": 2}]);
    let r = d.post("/v0/nodes", None, body.clone()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let n = (
        r.body["node_id"].as_str().unwrap().to_string(),
        r.body["runtime_token"].as_str().unwrap().to_string(),
    );
    for (field, value) in [
        ("machine_name", json!("thirteen-char")),
        (
            "gpu_devices",
            json!([{"model": "A", "count": 1}, {"model": "B", "count": 1}]),
        ),
        ("tags", json!(["a", "b"])),
    ] {
        let before = body[field].clone();
        body[field] = value;
        let r = d.post("/v0/nodes", None, body.clone()).await;
        assert_eq!(r.status, 400, "{field}: {}", r.body);
        assert!(
            r.body["error"].as_str().unwrap().contains(field),
            "{}",
            r.body
        );
        body[field] = before;
    }
    let mut hb = heartbeat_body(&n.0);
    hb["loaded_models"] = json!(["a", "b"]);
    let r = d.heartbeat(&n.1, hb).await;
    assert_eq!(r.status, 400, "{}", r.body);
}
