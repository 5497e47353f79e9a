//! Every route's success and every error code of docs/openapi.json, against the real
//! daemon.

mod common;

use std::time::Duration;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn assert_error(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["code"], code, "{}", r.body);
    let sentence = r.body["error"].as_str().expect("error sentence");
    assert!(
        sentence.len() > 10,
        "a sentence a person understands: {sentence}"
    );
    for leak in ["SELECT", "sqlite", "panicked", "rusqlite"] {
        assert!(!sentence.contains(leak), "internal detail in {sentence}");
    }
}

async fn raw_post(d: &Api, path: &str, body: &'static str) -> Reply {
    let r = d
        .http
        .post(d.url(path))
        .header("content-type", "application/json")
        .bearer_auth(d.admin_token())
        .body(body)
        .send()
        .await
        .unwrap();
    into_reply(r).await
}

#[tokio::test]
async fn registration_probes_the_node_over_ipv4_and_ipv6() {
    let d = InProcess::start(&[]).await;
    let v4 = stub_runtime("127.0.0.1:0").await;
    let r = d
        .post(
            "/v0/nodes",
            None,
            registration("probe-4", "127.0.0.1", v4.port()),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["status"], "registered");
    assert_eq!(r.body["node_status"], "pending");
    assert_eq!(r.body["node_api_port"], v4.port());
    assert_eq!(r.body["heartbeat_interval_secs"], 10);
    assert!(r.body["runtime_token"]
        .as_str()
        .unwrap()
        .starts_with("llmlb_rt_"));

    if let Ok(l) = std::net::TcpListener::bind("[::1]:0") {
        drop(l);
        let v6 = stub_runtime("[::1]:0").await;
        let r = d
            .post("/v0/nodes", None, registration("probe-6", "::1", v6.port()))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }

    // Nothing listens on this port: 422 naming the URL tried.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let r = d
        .post(
            "/v0/nodes",
            None,
            registration("probe-x", "127.0.0.1", port),
        )
        .await;
    assert_error(&r, 422, "node_unreachable");
    let url = format!("http://127.0.0.1:{port}/v1/models");
    assert!(
        r.body["error"].as_str().unwrap().contains(&url),
        "{}",
        r.body
    );

    let r = d
        .post("/v0/nodes", None, registration("probe-y", "::1", port))
        .await;
    assert_error(&r, 422, "node_unreachable");
    assert!(r.body["error"]
        .as_str()
        .unwrap()
        .contains(&format!("http://[::1]:{port}/")));
}

#[tokio::test]
async fn node_api_port_defaults_to_runtime_port_plus_one() {
    let d = InProcess::start(&["--no-reachability-check"]).await;
    let mut body = registration("gpu-port", "10.0.0.7", 8080);
    body.as_object_mut().unwrap().remove("node_api_port");
    let r = d.post("/v0/nodes", None, body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["node_api_port"], 8081);
}

#[tokio::test]
async fn registration_rejects_bad_input_with_clear_errors() {
    let d = InProcess::start(&["--no-reachability-check"]).await;
    let base = registration("gpu-bad", "127.0.0.1", 8080);
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let cases = [
        (with("gpu_available", json!(false)), 400, "gpu_required"),
        (with("gpu_devices", json!([])), 400, "gpu_required"),
        (
            with("gpu_devices", json!([{"model": "  ", "count": 1}])),
            400,
            "gpu_required",
        ),
        (
            with("gpu_devices", json!([{"model": "A100", "count": 0}])),
            400,
            "gpu_required",
        ),
        (
            with("ip_address", json!("gpu.local")),
            400,
            "invalid_ip_address",
        ),
        (
            with("ip_address", json!("0.0.0.0")),
            400,
            "invalid_ip_address",
        ),
        (with("machine_name", json!("")), 400, "invalid_machine_name"),
        (with("runtime_port", json!(0)), 400, "invalid_port"),
        (with("runtime_port", json!(70000)), 400, "invalid_body"),
        (with("runtime_port", json!("8080")), 400, "invalid_body"),
        (json!({"machine_name": "x"}), 400, "invalid_body"),
        (json!([1, 2]), 400, "invalid_body"),
    ];
    for (body, status, code) in cases {
        let r = d.post("/v0/nodes", None, body.clone()).await;
        assert_eq!(r.status, status, "{body} → {}", r.body);
        assert_eq!(r.body["code"], code, "{body} → {}", r.body);
    }
    let r = raw_post(&d, "/v0/nodes", "{\"machine_name\": ").await;
    assert_error(&r, 400, "invalid_json");
    let r = raw_post(&d, "/v0/nodes", "").await;
    assert_error(&r, 400, "invalid_json");
    // Nothing was registered by any of these.
    assert_eq!(d.admin_get("/v0/nodes").await.body, json!([]));
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let d = InProcess::start(&["--no-reachability-check"]).await;
    // Headers announce 2 MiB; the daemon answers before reading the body.
    let mut s = tokio::net::TcpStream::connect(d.addr).await.unwrap();
    let head = format!(
        "POST /v0/nodes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{{\"machine_name\": \"",
        2 * 1024 * 1024
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&[b'x'; 64 * 1024]).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .expect("an answer before the body is sent")
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"code\":\"body_too_large\""), "{answer}");

    // The import route takes more than 1 MiB.
    let mut records = Vec::new();
    for i in 0..6000 {
        records.push(json!({
            "id": format!("big-{i}"), "machine_name": format!("m{i}"),
            "ip_address": "10.1.0.1", "runtime_port": 8080, "status": "online",
            "notes": "n".repeat(200),
        }));
    }
    let body = serde_json::to_string(&records).unwrap();
    assert!(body.len() > 1024 * 1024);
    let r = d
        .http
        .post(d.url("/v0/import/nodes"))
        .bearer_auth(d.admin_token())
        .body(body)
        .send()
        .await
        .unwrap();
    let r = into_reply(r).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["imported"], 6000);
}

#[tokio::test]
async fn credentials_are_checked_on_every_admin_route() {
    let d = InProcess::start(&["--no-reachability-check"]).await;
    let n = d.register("gpu-auth", "127.0.0.1", 8080).await;
    let viewer = d
        .admin_post("/v0/api-keys", json!({"name": "dash", "role": "viewer"}))
        .await;
    assert_eq!(viewer.status, 201, "{}", viewer.body);
    let viewer = viewer.body["key"].as_str().unwrap().to_string();
    let inference = d.api_key("app", "inference").await;

    let id = n.id.as_str();
    let admin_routes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::POST, format!("/v0/nodes/{id}/approve"), None),
        (Method::DELETE, format!("/v0/nodes/{id}"), None),
        (
            Method::PATCH,
            format!("/v0/nodes/{id}"),
            Some(json!({"notes": "x"})),
        ),
        (Method::POST, format!("/v0/nodes/{id}/token/rotate"), None),
        (Method::POST, format!("/v0/nodes/{id}/token/revoke"), None),
        (Method::POST, format!("/v0/nodes/{id}/drain"), None),
        (Method::POST, "/v0/import/nodes".into(), Some(json!([]))),
        (Method::GET, "/v0/api-keys".into(), None),
        (
            Method::POST,
            "/v0/api-keys".into(),
            Some(json!({"name": "n", "role": "admin"})),
        ),
    ];
    for (m, path, body) in &admin_routes {
        let r = d.send(m.clone(), path, None, body.clone()).await;
        assert_error(&r, 401, "missing_token");
        let r = d
            .send(m.clone(), path, Some("llmlb_ak_wrong"), body.clone())
            .await;
        assert_error(&r, 401, "invalid_token");
        let r = d.send(m.clone(), path, Some(&viewer), body.clone()).await;
        assert_error(&r, 403, "forbidden");
        let r = d
            .send(m.clone(), path, Some(&inference), body.clone())
            .await;
        assert_error(&r, 403, "forbidden");
    }
    // Viewers read; inference keys do not.
    assert_eq!(d.get("/v0/nodes", Some(&viewer)).await.status, 200);
    assert_eq!(
        d.get(&format!("/v0/nodes/{id}"), Some(&viewer))
            .await
            .status,
        200
    );
    assert_error(
        &d.get("/v0/nodes", Some(&inference)).await,
        403,
        "forbidden",
    );
    assert_error(&d.get("/v0/nodes", None).await, 401, "missing_token");
    // The node itself is still pending: nothing above changed it.
    assert_eq!(d.status_of(id).await, "pending");
    // A node token is not an admin credential.
    assert_error(
        &d.get("/v0/nodes", Some(&n.token)).await,
        401,
        "invalid_token",
    );
}

#[tokio::test]
async fn heartbeat_errors() {
    let d = InProcess::start(&["--no-reachability-check"]).await;
    let n = d.register("gpu-hb", "127.0.0.1", 8080).await;
    let r = d.post("/v0/health", None, heartbeat_body(&n.id)).await;
    assert_error(&r, 401, "missing_node_token");
    let r = d.heartbeat("llmlb_rt_nope", heartbeat_body(&n.id)).await;
    assert_error(&r, 401, "invalid_node_token");
    let mut bad = heartbeat_body(&n.id);
    bad["cpu_usage"] = json!(140.0);
    assert_error(&d.heartbeat(&n.token, bad).await, 400, "invalid_metric");
    let mut bad = heartbeat_body(&n.id);
    bad["ready_models"] = json!([3, 2]);
    assert_error(&d.heartbeat(&n.token, bad).await, 400, "invalid_metric");
    let r = d.heartbeat(&n.token, json!({"cpu_usage": 1.0})).await;
    assert_error(&r, 400, "invalid_body");
}

#[tokio::test]
async fn unknown_ids_and_routes_get_404() {
    let d = InProcess::start(&["--no-reachability-check"]).await;
    for (m, path) in [
        (Method::GET, "/v0/nodes/nope"),
        (Method::POST, "/v0/nodes/nope/approve"),
        (Method::DELETE, "/v0/nodes/nope"),
        (Method::POST, "/v0/nodes/nope/token/rotate"),
        (Method::POST, "/v0/nodes/nope/token/revoke"),
    ] {
        let r = d.send(m, path, Some(&d.admin_token()), None).await;
        assert_error(&r, 404, "node_not_found");
    }
    let r = d
        .send(
            Method::DELETE,
            "/v0/api-keys/nope",
            Some(&d.admin_token()),
            None,
        )
        .await;
    assert_error(&r, 404, "api_key_not_found");
    assert_error(&d.get("/v0/nothing", None).await, 404, "route_not_found");
    let r = d.send(Method::PUT, "/v0/nodes", None, None).await;
    assert_error(&r, 405, "method_not_allowed");
    let r = d
        .get("/v0/nodes?status=bogus", Some(&d.admin_token()))
        .await;
    assert_error(&r, 400, "invalid_status");
}

#[tokio::test]
async fn patch_sets_and_clears_annotations() {
    let d = InProcess::start(&["--no-reachability-check"]).await;
    let n = d.register("gpu-patch", "127.0.0.1", 8080).await;
    let path = format!("/v0/nodes/{}", n.id);
    let tok = d.admin_token();
    let r = d
        .send(
            Method::PATCH,
            &path,
            Some(&tok),
            Some(json!({"custom_name": "Rack 3 — Ünit 7", "notes": "new PSU", "tags": ["a", "b"]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["custom_name"], "Rack 3 — Ünit 7");
    assert_eq!(r.body["tags"], json!(["a", "b"]));
    let r = d
        .send(
            Method::PATCH,
            &path,
            Some(&tok),
            Some(json!({"notes": null})),
        )
        .await;
    assert!(r.body["notes"].is_null());
    assert_eq!(
        r.body["custom_name"], "Rack 3 — Ünit 7",
        "absent fields stay"
    );
    let r = d
        .send(
            Method::PATCH,
            &path,
            Some(&tok),
            Some(json!({"tags": [""]})),
        )
        .await;
    assert_error(&r, 400, "invalid_labels");
    let r = d
        .send(
            Method::PATCH,
            &path,
            Some(&tok),
            Some(json!({"custom_name": "x".repeat(257)})),
        )
        .await;
    assert_error(&r, 400, "invalid_field");
    assert_eq!(
        d.node(&n.id).await["status"],
        "pending",
        "PATCH never approves"
    );
}

#[tokio::test]
async fn api_keys_are_shown_once_and_can_be_rotated_and_revoked() {
    let d = InProcess::start(&[]).await;
    let r = d
        .admin_post(
            "/v0/api-keys",
            json!({"name": "ci", "role": "viewer", "expires_in_secs": 3600}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let key = r.body["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("llmlb_ak_"));
    assert!(r.body["expires_at"].is_string());

    let list = d.admin_get("/v0/api-keys").await;
    assert_eq!(list.status, 200);
    let text = list.body.to_string();
    assert!(!text.contains(&key), "the secret is shown only once");
    assert!(list
        .body
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["id"] == id.as_str()));
    assert_eq!(d.get("/v0/nodes", Some(&key)).await.status, 200);

    let r = d
        .admin_post(&format!("/v0/api-keys/{id}/rotate"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rotated = r.body["key"].as_str().unwrap().to_string();
    assert_ne!(rotated, key);
    assert_eq!(d.get("/v0/nodes", Some(&key)).await.status, 401);
    assert_eq!(d.get("/v0/nodes", Some(&rotated)).await.status, 200);

    let r = d
        .send(
            Method::DELETE,
            &format!("/v0/api-keys/{id}"),
            Some(&d.admin_token()),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(d.get("/v0/nodes", Some(&rotated)).await.status, 401);

    for bad in [
        json!({"name": "", "role": "viewer"}),
        json!({"name": "x", "role": "root"}),
        json!({"name": "x", "role": "viewer", "expires_in_secs": 0}),
    ] {
        let r = d.admin_post("/v0/api-keys", bad.clone()).await;
        assert_eq!(r.status, 400, "{bad} → {}", r.body);
    }
}

#[tokio::test]
async fn expired_api_keys_are_refused() {
    let clock = ManualClock::new();
    let d = InProcess::start_on(clock.clone(), &[]).await;
    let r = d
        .admin_post(
            "/v0/api-keys",
            json!({"name": "short", "role": "viewer", "expires_in_secs": 60}),
        )
        .await;
    let key = r.body["key"].as_str().unwrap().to_string();
    assert_eq!(d.get("/v0/nodes", Some(&key)).await.status, 200);
    clock.advance(Duration::from_secs(59));
    assert_eq!(
        d.get("/v0/nodes", Some(&key)).await.status,
        200,
        "a second before it expires"
    );
    clock.advance(Duration::from_secs(2));
    assert_error(&d.get("/v0/nodes", Some(&key)).await, 401, "token_expired");
    // Rotating it would only make another dead key.
    let id = r.body["id"].as_str().unwrap();
    let rotated = d
        .admin_post(&format!("/v0/api-keys/{id}/rotate"), json!({}))
        .await;
    assert_error(&rotated, 409, "key_expired");
    assert!(
        rotated.body["error"]
            .as_str()
            .unwrap()
            .contains("api-keys create"),
        "{}",
        rotated.body
    );
}

#[tokio::test]
async fn login_sessions_and_logout() {
    let d = InProcess::start(&[]).await;
    let r = d.login("admin", "wrong").await;
    assert_error(&r, 401, "invalid_credentials");
    let r = d.login("nobody", "x").await;
    assert_error(&r, 401, "invalid_credentials");
    let r = d
        .post("/v0/auth/login", None, json!({"username": "admin"}))
        .await;
    assert_error(&r, 400, "invalid_body");

    let r = d.login("admin", &d.admin_password()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["role"], "admin");
    let session = r.body["token"].as_str().unwrap().to_string();
    assert!(session.starts_with("llmlb_st_"));
    assert_eq!(d.get("/v0/nodes", Some(&session)).await.status, 200);

    let r = d
        .send(Method::POST, "/v0/auth/logout", Some(&session), None)
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(d.get("/v0/nodes", Some(&session)).await.status, 401);
    let r = d
        .send(Method::POST, "/v0/auth/logout", Some(&session), None)
        .await;
    assert_error(&r, 401, "invalid_token");
    let r = d
        .send(
            Method::POST,
            "/v0/auth/logout",
            Some(&d.admin_token()),
            None,
        )
        .await;
    assert_error(&r, 400, "not_a_session");
}

#[tokio::test]
async fn status_is_public_and_counts_nodes() {
    let d = InProcess::start(&["--no-reachability-check"]).await;
    let a = d.register("s-1", "127.0.0.1", 1).await;
    d.register("s-2", "127.0.0.1", 2).await;
    d.admin_post(&format!("/v0/nodes/{}/approve", a.id), json!({}))
        .await;
    d.heartbeat(&a.token, heartbeat_body(&a.id)).await;
    let r = d.get("/v0/status", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(r.body["nodes"]["total"], 2);
    assert_eq!(r.body["nodes"]["pending"], 1);
    assert_eq!(r.body["nodes"]["online"], 1);
    assert!(r.body["uptime_secs"].is_u64());
    assert!(!r.body.to_string().contains("llmlb_"), "no secrets");
}

#[tokio::test]
async fn idle_and_slow_clients_are_disconnected() {
    let d = InProcess::start(&["--no-reachability-check", "--header-timeout", "1s"]).await;
    // Connects and sends half a request line, then nothing.
    let mut s = tokio::net::TcpStream::connect(d.addr).await.unwrap();
    s.write_all(b"GET /v0/status HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    assert!(
        read.is_ok(),
        "the daemon closes a connection that stalls in its headers"
    );
    // The daemon still serves others.
    assert_eq!(d.get("/v0/status", None).await.status, 200);
}

#[tokio::test]
async fn sigterm_exits_zero() {
    let mut d = TestDaemon::start(&[]);
    assert_eq!(d.stop(), Some(0));
}
