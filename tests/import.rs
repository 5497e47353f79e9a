//! The legacy `nodes.json` import of the README, against the real daemon: the
//! start-up import of `<data-dir>/nodes.json` and `POST /v0/import/nodes`,
//! fed with hand-written files in every historical format
//! (`tests/fixtures/legacy/`).

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use common::*;
use serde_json::{json, Value};

// ----- helpers -------------------------------------------------------------

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/legacy")
        .join(name)
}

fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).expect("fixture is readable")
}

fn fixture_json(name: &str) -> Value {
    serde_json::from_str(&fixture_text(name)).expect("fixture is valid JSON")
}

/// A fresh data dir holding `name` as `nodes.json`.
fn data_dir_with(name: &str) -> Arc<tempfile::TempDir> {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    std::fs::copy(fixture(name), dir.path().join("nodes.json")).expect("copy fixture");
    dir
}

/// Starts a daemon whose data dir holds `name` as `nodes.json`.
fn start_with_legacy(name: &str, extra: &[&str]) -> TestDaemon {
    TestDaemon::start_in(data_dir_with(name), "127.0.0.1:0", extra)
        .unwrap_or_else(|stderr| panic!("llmlbd did not start with {name}:\n{stderr}"))
}

async fn list(d: &TestDaemon) -> Vec<Value> {
    let r = d.admin_get("/v0/nodes").await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body.as_array().expect("a JSON array").clone()
}

async fn nodes_by_id(d: &TestDaemon) -> HashMap<String, Value> {
    list(d)
        .await
        .into_iter()
        .map(|n| (n["id"].as_str().expect("id").to_string(), n))
        .collect()
}

/// Every field of `expected` equals the same field of `node`.
fn assert_fields(node: &Value, expected: Value) {
    let id = &node["id"];
    for (key, want) in expected.as_object().expect("an object of expected fields") {
        assert!(
            node.get(key).is_some(),
            "node {id}: field {key} is missing from {node:#}"
        );
        assert_eq!(&node[key], want, "node {id}: field {key}");
    }
}

/// Posts `body` as is (not necessarily JSON) to the import route.
async fn post_import_raw(d: &TestDaemon, token: Option<&str>, body: &str) -> Reply {
    let mut req = d
        .http
        .post(d.url("/v0/import/nodes"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    into_reply(req.send().await.expect("request reaches the daemon")).await
}

async fn import(d: &TestDaemon, body: Value) -> Value {
    let r = d.admin_post("/v0/import/nodes", body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

fn report(dry_run: bool, total: u64, imported: u64, updated: u64, skipped: u64) -> Value {
    json!({
        "dry_run": dry_run,
        "total": total,
        "imported": imported,
        "updated": updated,
        "skipped": skipped,
        "invalid": [],
    })
}

fn assert_migrated(dir: &Path, name: &str) {
    assert!(
        !dir.join("nodes.json").exists(),
        "nodes.json must be renamed after the import"
    );
    let migrated = std::fs::read_to_string(dir.join("nodes.json.migrated"))
        .expect("nodes.json.migrated exists");
    assert_eq!(migrated, fixture_text(name), "the renamed file is the file");
}

fn ts(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .unwrap_or_else(|| panic!("{v} is not an RFC 3339 timestamp"))
        .with_timezone(&Utc)
}

// ----- start-up import ------------------------------------------------------

#[tokio::test]
async fn startup_imports_the_oldest_ollama_format() {
    let before = Utc::now();
    let d = start_with_legacy("ollama_v1.json", &[]);
    let after = Utc::now();
    let nodes = nodes_by_id(&d).await;
    assert_eq!(nodes.len(), 3, "{nodes:#?}");

    assert_fields(
        &nodes["3f1c9a2e-5b7d-4e8a-9c01-2d4f6a8b0c11"],
        json!({
            "machine_name": "gpu-rack1-a",
            "custom_name": null,
            "ip_address": "192.168.10.21",
            "runtime_version": "0.1.17",
            "runtime_port": 11434,
            "node_api_port": 8081,
            // Approved in the old file, but no heartbeat here yet.
            "status": "offline",
            "approved": true,
            "drained": false,
            "registered_at": "2023-03-14T09:26:53Z",
            "approved_at": null,
            "last_seen": "2023-12-01T23:59:59.999Z",
            "online_since": null,
            // No gpu_available, no gpu_devices: synthesised from the count and model.
            "gpu_available": true,
            "gpu_devices": [{"model": "NVIDIA GeForce RTX 3090", "count": 2}],
            "gpu_count": 2,
            "gpu_model": "NVIDIA GeForce RTX 3090",
            "gpu_model_name": null,
            "gpu_compute_capability": null,
            "loaded_models": ["llama2:13b", "codellama:7b"],
            "loaded_embedding_models": [],
            "supported_runtimes": [],
            "tags": [],
            "notes": null,
            "initializing": false,
            "ready_models": null,
            "cpu_usage": null,
            "token_age_secs": null,
        }),
    );
    assert_fields(
        &nodes["7a0e4b19-c2d8-4f6e-b5a3-91e0d7c4f258"],
        json!({
            "machine_name": "推論サーバー-01",
            "ip_address": "fe80::1",
            "runtime_version": "0.1.20",
            "runtime_port": 11434,
            // agent_api_port missing: runtime_port + 1.
            "node_api_port": 11435,
            "status": "offline",
            "approved": true,
            "registered_at": "2023-04-02T12:05:09Z",
            "last_seen": null,
            "gpu_available": true,
            "gpu_devices": [{"model": "NVIDIA RTX A6000", "count": 1}],
            "gpu_count": 1,
            "loaded_models": [],
        }),
    );
    let cpu_box = &nodes["c93d5e61-0a7f-4b2c-8e14-6f3a2b9d0e77"];
    assert_fields(
        cpu_box,
        json!({
            "machine_name": "cpu-box",
            "runtime_port": 11500,
            // agent_api_port null: runtime_port + 1.
            "node_api_port": 11501,
            "status": "offline",
            "gpu_available": false,
            "gpu_devices": [],
            "gpu_count": 0,
            "gpu_model": null,
        }),
    );
    // No registered_at in the record: the time of the import.
    let registered = ts(&cpu_box["registered_at"]);
    assert!(
        before - chrono::Duration::seconds(1) <= registered && registered <= after,
        "registered_at {registered} is not the import time ({before} .. {after})"
    );

    assert_migrated(d.data_dir(), "ollama_v1.json");
}

#[tokio::test]
async fn startup_imports_the_ollama_format_with_gpu_devices() {
    let d = start_with_legacy("ollama_v2.json", &[]);
    let nodes = nodes_by_id(&d).await;
    assert_eq!(nodes.len(), 3, "{nodes:#?}");

    assert_fields(
        &nodes["b6d2f0a4-8e3c-4d71-a9b5-0c7e2f1d3a96"],
        json!({
            "machine_name": "gpu-rack2-b",
            "custom_name": "Küche-GPU",
            "ip_address": "192.168.20.7",
            "runtime_version": "0.1.32",
            "runtime_port": 11434,
            "node_api_port": 11435,
            "status": "offline",
            "approved": true,
            "registered_at": "2024-01-15T07:30:00.123456Z",
            "approved_at": "2024-01-15T07:45:12Z",
            "last_seen": "2024-06-01T08:20:00.250Z",
            // The node is not online on this daemon, so it has no online_since.
            "online_since": null,
            "gpu_available": true,
            "gpu_devices": [
                {"model": "NVIDIA GeForce RTX 4090", "count": 2, "memory": 25_757_220_864u64}
            ],
            "gpu_count": 2,
            "gpu_model": "NVIDIA GeForce RTX 4090",
            "loaded_models": ["llama3:8b", "mistral:7b"],
            "notes": "Under the stairs; the fan is loud",
            "tags": ["kitchen", "consumer-gpu"],
        }),
    );
    assert_fields(
        &nodes["e41a7c90-3b5d-4f28-96e0-d2c8a1b7f304"],
        json!({
            "machine_name": "ml-node-07",
            "custom_name": null,
            "ip_address": "2001:db8::42",
            "runtime_version": "0.2.1",
            "status": "offline",
            "approved": true,
            "registered_at": "2024-02-29T21:59:59.500Z",
            "approved_at": "2024-03-01T08:00:00.000001Z",
            "last_seen": "2024-05-20T12:00:00.123456789Z",
            "online_since": null,
            "gpu_devices": [
                {"model": "NVIDIA A100-SXM4-80GB", "count": 4, "memory": 85_899_345_920u64},
                {"model": "NVIDIA T4", "count": 1}
            ],
            "gpu_count": 5,
            "loaded_models": [],
            "notes": null,
            "tags": [],
        }),
    );
    assert_fields(
        &nodes["5c8f2e17-9a4b-4c63-b0d1-7e6a3f5c2b48"],
        json!({
            "machine_name": "edge-03",
            "ip_address": "172.16.0.3",
            "runtime_version": "0.1.48",
            "node_api_port": 11435,
            // registering = approved; no heartbeat yet, so offline.
            "status": "offline",
            "approved": true,
            "approved_at": null,
            "registered_at": "2024-04-10T06:00:00.000000001Z",
            "last_seen": "2024-04-10T06:01:30.100200300Z",
            "gpu_available": true,
            "gpu_devices": [{"model": "NVIDIA Jetson AGX Orin", "count": 1}],
            "gpu_count": 1,
            "gpu_model": null,
            "loaded_models": [],
            "tags": [],
            "notes": "Pilot site; ask Aiko before restarting",
        }),
    );

    assert_migrated(d.data_dir(), "ollama_v2.json");
}

#[tokio::test]
async fn startup_imports_the_runtime_format_and_ignores_unknown_fields() {
    let d = start_with_legacy("runtime_v3.json", &[]);
    let nodes = nodes_by_id(&d).await;
    assert_eq!(nodes.len(), 4, "{nodes:#?}");

    assert_fields(
        &nodes["0f3e6a12-7d4c-4b9e-8a25-c1d7e9f03b64"],
        json!({
            "machine_name": "dgx-h100-01",
            "custom_name": "Training leftovers",
            "ip_address": "10.42.0.11",
            "runtime_version": "llama.cpp b3447",
            "runtime_port": 8080,
            "node_api_port": 8081,
            "status": "offline",
            "approved": true,
            "registered_at": "2024-07-01T08:00:00Z",
            "approved_at": "2024-07-01T08:03:27.421Z",
            "last_seen": "2024-10-01T06:42:10.987654Z",
            "online_since": null,
            "gpu_available": true,
            "gpu_devices": [
                {"model": "NVIDIA H100 80GB HBM3", "count": 8, "memory": 85_520_809_984u64}
            ],
            "gpu_count": 8,
            "gpu_model": "NVIDIA H100 80GB HBM3",
            "gpu_model_name": "H100",
            "gpu_compute_capability": "9.0",
            "gpu_capability_score": 9800,
            "supported_runtimes": ["llama_cpp", "whisper_cpp"],
            "loaded_models": ["llama-3.1-70b-instruct"],
            "loaded_embedding_models": ["bge-m3"],
            "loaded_asr_models": ["whisper-large-v3"],
            "loaded_tts_models": [],
            "initializing": false,
            "ready_models": [1, 1],
            "tags": ["prod", "h100"],
            "notes": "Rack 4, slot 2",
            // Top-level metric-like fields of the old file are not metrics here.
            "cpu_usage": null,
            "memory_usage": null,
            "active_requests": null,
            "metrics_updated_at": null,
            "token_age_secs": null,
        }),
    );
    assert_fields(
        &nodes["a27b4d08-1e6f-4c35-9d80-3f5b7a9c1e26"],
        json!({
            "machine_name": "werkstatt-ws-2",
            "custom_name": "推論 ワークステーション",
            "ip_address": "2001:db8::7",
            "runtime_version": "vLLM 0.5.3",
            "runtime_port": 8000,
            "node_api_port": 8001,
            "status": "pending",
            "approved": false,
            "approved_at": null,
            "registered_at": "2024-09-12T15:45:03.123456789Z",
            "last_seen": "2024-09-12T15:45:03.500Z",
            "gpu_devices": [
                {"model": "NVIDIA RTX A4000", "count": 2, "memory": 17_171_480_576u64}
            ],
            "gpu_model_name": "RTX A4000",
            // Written as the number 8.6 by that version.
            "gpu_compute_capability": "8.6",
            "gpu_capability_score": null,
            "supported_runtimes": ["onnx_runtime", "stable_diffusion"],
            "loaded_models": [],
            "loaded_embedding_models": [],
            "loaded_asr_models": [],
            "loaded_tts_models": ["piper-de-thorsten"],
            "initializing": true,
            "ready_models": [0, 2],
            "tags": ["workshop"],
            "notes": null,
        }),
    );
    assert_fields(
        &nodes["d5e8b3a1-6c0f-4d27-b94e-8a1c2f7e0d39"],
        json!({
            "machine_name": "rtx-4090-lab",
            "ip_address": "fd00:1234::abcd",
            "runtime_version": "llama.cpp b2950",
            "node_api_port": 9090,
            "status": "offline",
            "approved": true,
            "registered_at": "2024-08-20T10:00:00Z",
            "approved_at": "2024-08-20T08:05:00Z",
            "last_seen": "2024-08-21T09:00:00Z",
            "online_since": null,
            "gpu_model_name": "RTX 4090",
            "gpu_compute_capability": "8.9",
            "gpu_capability_score": 7200,
            "supported_runtimes": ["llama_cpp"],
            "loaded_models": ["qwen2.5-32b-instruct"],
            "initializing": true,
            "ready_models": [1, 3],
            "tags": ["lab"],
        }),
    );
    assert_fields(
        &nodes["f19c0e5d-2a8b-4e73-8c46-b0d9e1a3f572"],
        json!({
            "machine_name": "sd-node",
            "runtime_version": "stable-diffusion.cpp master-9578fdc",
            "runtime_port": 7860,
            "node_api_port": 7861,
            "status": "pending",
            "approved": false,
            "registered_at": "2024-10-02T07:30:15.654321Z",
            "last_seen": null,
            "gpu_devices": [{"model": "NVIDIA L4", "count": 1, "memory": 24_152_899_584u64}],
            "gpu_compute_capability": "8.9",
            "supported_runtimes": ["stable_diffusion"],
            "loaded_models": ["sdxl-turbo"],
            "ready_models": null,
        }),
    );

    // The status filter and the status counts see the imported nodes.
    let r = d.admin_get("/v0/nodes?status=pending").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut pending: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    pending.sort_unstable();
    assert_eq!(
        pending,
        [
            "a27b4d08-1e6f-4c35-9d80-3f5b7a9c1e26",
            "f19c0e5d-2a8b-4e73-8c46-b0d9e1a3f572"
        ]
    );

    assert_migrated(d.data_dir(), "runtime_v3.json");
}

#[tokio::test]
async fn a_restart_does_not_import_again() {
    let mut d = start_with_legacy("ollama_v2.json", &[]);
    assert_eq!(list(&d).await.len(), 3);
    let kept = "b6d2f0a4-8e3c-4d71-a9b5-0c7e2f1d3a96";
    let deleted = "e41a7c90-3b5d-4f28-96e0-d2c8a1b7f304";
    let r = d
        .send(
            reqwest::Method::PATCH,
            &format!("/v0/nodes/{kept}"),
            Some(&d.admin_token()),
            Some(json!({"notes": "moved to the basement"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = d
        .send(
            reqwest::Method::DELETE,
            &format!("/v0/nodes/{deleted}"),
            Some(&d.admin_token()),
            None,
        )
        .await;
    assert!(
        r.status == 200 || r.status == 204,
        "{} {}",
        r.status,
        r.body
    );
    let snapshot = list(&d).await;
    assert_eq!(snapshot.len(), 2);

    d.restart();
    assert_eq!(list(&d).await, snapshot, "a restart changed the nodes");
    assert!(!d.data_dir().join("nodes.json").exists());
    assert!(!d.data_dir().join("nodes.json.migrated.1").exists());

    // The same file put back is imported again, skipping the known ids: the
    // edited node keeps its edit, and the file gets the next free name.
    std::fs::copy(fixture("ollama_v2.json"), d.data_dir().join("nodes.json")).unwrap();
    d.restart();
    let nodes = nodes_by_id(&d).await;
    assert_eq!(nodes[kept]["notes"], "moved to the basement");
    assert_eq!(nodes[kept]["custom_name"], "Küche-GPU");
    assert!(!d.data_dir().join("nodes.json").exists());
    assert_eq!(
        std::fs::read_to_string(d.data_dir().join("nodes.json.migrated.1")).unwrap(),
        fixture_text("ollama_v2.json")
    );
    assert_eq!(
        std::fs::read_to_string(d.data_dir().join("nodes.json.migrated")).unwrap(),
        fixture_text("ollama_v2.json")
    );
}

#[tokio::test]
async fn a_corrupt_file_stops_the_start_and_changes_nothing() {
    let dir = data_dir_with("corrupt.json");
    let path = dir.path().join("nodes.json");
    let stderr = match TestDaemon::start_in(dir.clone(), "127.0.0.1:0", &[]) {
        Ok(_) => panic!("llmlbd started with a corrupt nodes.json"),
        Err(stderr) => stderr,
    };
    // The comma missing at the end of line 16 is noticed where line 17's
    // next key starts.
    let at = format!("{}:17:5:", path.display());
    assert!(stderr.contains(&at), "no {at:?} in:\n{stderr}");
    assert!(stderr.contains("not valid JSON"), "{stderr}");
    assert!(stderr.contains("nothing was imported"), "{stderr}");

    // The file stays where it was, untouched.
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        fixture_text("corrupt.json")
    );
    assert!(!dir.path().join("nodes.json.migrated").exists());

    // Not even the well-formed first record reached the database.
    std::fs::rename(&path, dir.path().join("corrupt.json.bak")).unwrap();
    let d = TestDaemon::start_in(dir, "127.0.0.1:0", &[]).expect("starts without the file");
    assert_eq!(list(&d).await, Vec::<Value>::new());
}

#[tokio::test]
async fn a_file_that_is_not_an_array_stops_the_start() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let path = dir.path().join("nodes.json");
    std::fs::write(&path, "{\"nodes\": []}\n").unwrap();
    let stderr = match TestDaemon::start_in(dir.clone(), "127.0.0.1:0", &[]) {
        Ok(_) => panic!("llmlbd started with an object in nodes.json"),
        Err(stderr) => stderr,
    };
    assert!(
        stderr.contains(&format!("{}:1:", path.display())),
        "{stderr}"
    );
    assert!(stderr.contains("JSON array"), "{stderr}");
    assert!(path.exists());
}

#[tokio::test]
async fn an_invalid_record_stops_the_start_and_nothing_is_imported() {
    let dir = data_dir_with("invalid_record.json");
    let path = dir.path().join("nodes.json");
    let stderr = match TestDaemon::start_in(dir.clone(), "127.0.0.1:0", &[]) {
        Ok(_) => panic!("llmlbd started with an invalid record in nodes.json"),
        Err(stderr) => stderr,
    };
    // The second record opens on line 13, column 3.
    let at = format!("{}:13:3:", path.display());
    assert!(stderr.contains(&at), "no {at:?} in:\n{stderr}");
    assert!(stderr.contains("\"not-an-ip\""), "{stderr}");
    assert!(stderr.contains("nothing was imported"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        fixture_text("invalid_record.json")
    );
    assert!(!dir.path().join("nodes.json.migrated").exists());

    std::fs::rename(&path, dir.path().join("invalid_record.json.bak")).unwrap();
    let d = TestDaemon::start_in(dir, "127.0.0.1:0", &[]).expect("starts without the file");
    assert_eq!(list(&d).await, Vec::<Value>::new());
}

#[tokio::test]
async fn a_duplicate_id_stops_the_start_and_nothing_is_imported() {
    let dir = data_dir_with("duplicate_id.json");
    let path = dir.path().join("nodes.json");
    let stderr = match TestDaemon::start_in(dir.clone(), "127.0.0.1:0", &[]) {
        Ok(_) => panic!("llmlbd started with a duplicate id in nodes.json"),
        Err(stderr) => stderr,
    };
    // The third record, opening on line 24, repeats the first one's id.
    let at = format!("{}:24:3:", path.display());
    assert!(stderr.contains(&at), "no {at:?} in:\n{stderr}");
    assert!(stderr.contains("duplicate id"), "{stderr}");
    assert!(stderr.contains("nothing was imported"), "{stderr}");
    assert!(path.exists());
    assert!(!dir.path().join("nodes.json.migrated").exists());

    // The error said nothing was imported: nothing was.
    std::fs::rename(&path, dir.path().join("duplicate_id.json.bak")).unwrap();
    let d = TestDaemon::start_in(dir, "127.0.0.1:0", &[]).expect("starts without the file");
    assert_eq!(list(&d).await, Vec::<Value>::new());
}

// ----- POST /v0/import/nodes -------------------------------------------------

#[tokio::test]
async fn the_route_takes_the_file_as_is() {
    let d = TestDaemon::start(&[]);
    let body = import(&d, fixture_json("ollama_v1.json")).await;
    assert_eq!(body, report(false, 3, 3, 0, 0));
    let nodes = nodes_by_id(&d).await;
    assert_eq!(nodes.len(), 3);
    assert_fields(
        &nodes["7a0e4b19-c2d8-4f6e-b5a3-91e0d7c4f258"],
        json!({
            "machine_name": "推論サーバー-01",
            "ip_address": "fe80::1",
            "status": "offline",
            "gpu_devices": [{"model": "NVIDIA RTX A6000", "count": 1}],
            "registered_at": "2023-04-02T12:05:09Z",
        }),
    );

    let body = import(&d, fixture_json("runtime_v3.json")).await;
    assert_eq!(body, report(false, 4, 4, 0, 0));
    let nodes = nodes_by_id(&d).await;
    assert_eq!(nodes.len(), 7);
    assert_eq!(
        nodes["f19c0e5d-2a8b-4e73-8c46-b0d9e1a3f572"]["status"],
        "pending"
    );
    assert_eq!(
        nodes["0f3e6a12-7d4c-4b9e-8a25-c1d7e9f03b64"]["status"],
        "offline"
    );

    // What the route imported is in the database, not only in memory.
    let mut d = d;
    let before = list(&d).await;
    d.restart();
    assert_eq!(list(&d).await, before);
}

#[tokio::test]
async fn dry_run_then_run_then_run_again() {
    let d = TestDaemon::start(&[]);
    let records = fixture_json("ollama_v2.json");

    let body = import(&d, json!({"nodes": records, "dry_run": true})).await;
    assert_eq!(body, report(true, 3, 3, 0, 0));
    assert_eq!(list(&d).await, Vec::<Value>::new(), "a dry run wrote nodes");

    let body = import(&d, json!({"nodes": records})).await;
    assert_eq!(body, report(false, 3, 3, 0, 0));
    let first = list(&d).await;
    assert_eq!(first.len(), 3);

    // A second run changes nothing.
    let body = import(&d, records.clone()).await;
    assert_eq!(body, report(false, 3, 0, 0, 3));
    assert_eq!(list(&d).await, first);

    // A dry run against known ids reports skips, explicitly asked for too.
    let body = import(
        &d,
        json!({"nodes": records, "dry_run": true, "on_conflict": "skip"}),
    )
    .await;
    assert_eq!(body, report(true, 3, 0, 0, 3));
    assert_eq!(list(&d).await, first);
}

#[tokio::test]
async fn overwrite_replaces_known_nodes() {
    let d = TestDaemon::start(&[]);
    let records = fixture_json("runtime_v3.json");
    assert_eq!(import(&d, records.clone()).await, report(false, 4, 4, 0, 0));
    let id = "0f3e6a12-7d4c-4b9e-8a25-c1d7e9f03b64";
    let r = d
        .send(
            reqwest::Method::PATCH,
            &format!("/v0/nodes/{id}"),
            Some(&d.admin_token()),
            Some(json!({"notes": "edited", "custom_name": null, "tags": ["x"]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // A dry run reports the overwrite but keeps the edit.
    let body = import(
        &d,
        json!({"nodes": records, "dry_run": true, "on_conflict": "overwrite"}),
    )
    .await;
    assert_eq!(body, report(true, 4, 0, 4, 0));
    assert_eq!(d.node(id).await["notes"], "edited");

    let body = import(&d, json!({"nodes": records, "on_conflict": "overwrite"})).await;
    assert_eq!(body, report(false, 4, 0, 4, 0));
    let node = d.node(id).await;
    assert_fields(
        &node,
        json!({
            "notes": "Rack 4, slot 2",
            "custom_name": "Training leftovers",
            "tags": ["prod", "h100"],
            "status": "offline",
        }),
    );
    assert_eq!(list(&d).await.len(), 4);

    // A mix: one known id overwritten, one new record imported.
    let mut new_one = records[3].clone();
    new_one["id"] = json!("f19c0e5d-0000-4000-8000-000000000099");
    new_one["machine_name"] = json!("sd-node-2");
    let body = import(
        &d,
        json!({"nodes": [records[0].clone(), new_one], "on_conflict": "overwrite"}),
    )
    .await;
    assert_eq!(body, report(false, 2, 1, 1, 0));
    assert_eq!(
        d.status_of("f19c0e5d-0000-4000-8000-000000000099").await,
        "pending"
    );
    assert_eq!(list(&d).await.len(), 5);
}

#[tokio::test]
async fn invalid_records_are_reported_and_the_valid_ones_imported() {
    let d = TestDaemon::start(&[]);
    let body = import(&d, fixture_json("invalid_record.json")).await;
    assert_eq!(body["dry_run"], false);
    assert_eq!(body["total"], 3);
    assert_eq!(body["imported"], 2);
    assert_eq!(body["updated"], 0);
    assert_eq!(body["skipped"], 0);
    let invalid = body["invalid"].as_array().unwrap();
    assert_eq!(invalid.len(), 1, "{body:#}");
    assert_eq!(invalid[0]["index"], 1);
    assert_eq!(invalid[0]["id"], "42b7d9f5-1c6e-4f83-a024-5b9f3e1c7d46");
    let reason = invalid[0]["reason"].as_str().unwrap();
    assert!(reason.contains("ip_address"), "{reason}");
    assert!(reason.contains("not-an-ip"), "{reason}");

    let nodes = nodes_by_id(&d).await;
    let mut ids: Vec<&str> = nodes.keys().map(String::as_str).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            "31a6c8e4-0b5d-4e72-9f13-4a8e2d0b6c35",
            "53c8e0a6-2d7f-4094-b135-6c0a4f2d8e57"
        ]
    );
    assert_fields(
        &nodes["53c8e0a6-2d7f-4094-b135-6c0a4f2d8e57"],
        json!({"ip_address": "2001:db8:4::c", "status": "pending", "node_api_port": 8081}),
    );

    // More kinds of bad records, numbered from first_index as a batching
    // client sends them.
    let good = fixture_json("ollama_v1.json")[0].clone();
    let mut no_id = good.clone();
    no_id.as_object_mut().unwrap().remove("id");
    let mut bad_status = good.clone();
    bad_status["id"] = json!("bad-status");
    bad_status["status"] = json!("Online!");
    let mut bad_time = good.clone();
    bad_time["id"] = json!("bad-time");
    bad_time["registered_at"] = json!("14.03.2023 09:26");
    let body = import(
        &d,
        json!({
            "nodes": [good.clone(), no_id, good, bad_status, bad_time, "not an object"],
            "first_index": 40,
        }),
    )
    .await;
    assert_eq!(body["total"], 6);
    assert_eq!(body["imported"], 1);
    let invalid = body["invalid"].as_array().unwrap();
    let summary: Vec<(u64, Option<&str>)> = invalid
        .iter()
        .map(|i| (i["index"].as_u64().unwrap(), i["id"].as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (41, None),
            (42, Some("3f1c9a2e-5b7d-4e8a-9c01-2d4f6a8b0c11")),
            (43, Some("bad-status")),
            (44, Some("bad-time")),
            (45, None),
        ]
    );
    assert!(invalid[0].get("id").is_none(), "{body:#}");
    let reasons: Vec<&str> = invalid
        .iter()
        .map(|i| i["reason"].as_str().unwrap())
        .collect();
    assert!(reasons[0].contains("id"), "{}", reasons[0]);
    assert!(reasons[1].contains("duplicate"), "{}", reasons[1]);
    assert!(reasons[2].contains("Online!"), "{}", reasons[2]);
    assert!(reasons[3].contains("registered_at"), "{}", reasons[3]);
    assert!(reasons.iter().all(|r| !r.is_empty()));
    assert_eq!(list(&d).await.len(), 3);
}

#[tokio::test]
async fn the_route_rejects_bad_bodies_and_credentials() {
    let d = TestDaemon::start(&[]);
    let admin = d.admin_token();
    let text = fixture_text("ollama_v1.json");

    let r = post_import_raw(&d, Some(&admin), &fixture_text("corrupt.json")).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["code"], "invalid_json");
    assert!(
        r.body["error"].as_str().unwrap().contains("line 17"),
        "{}",
        r.body
    );

    let cut = text
        .find("\"gpu_model\"")
        .expect("the fixture has gpu_model");
    let r = post_import_raw(&d, Some(&admin), &text[..cut]).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["code"], "invalid_json");

    for body in [
        json!({"records": fixture_json("ollama_v1.json")}),
        json!({"dry_run": true}),
        json!({"nodes": 5}),
        json!("nodes"),
    ] {
        let r = d.admin_post("/v0/import/nodes", body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(r.body["code"], "invalid_body", "{body}: {}", r.body);
        assert!(r.body["error"].as_str().unwrap().contains("nodes"));
    }

    let r = post_import_raw(&d, None, &text).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.body["code"], "missing_token");
    let r = post_import_raw(&d, Some("llmlb_ak_not-a-real-key"), &text).await;
    assert_eq!(r.status, 401, "{}", r.body);

    let r = d
        .admin_post("/v0/api-keys", json!({"name": "v", "role": "viewer"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let viewer = r.body["key"].as_str().unwrap().to_string();
    let r = post_import_raw(&d, Some(&viewer), &text).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.body["code"], "forbidden");
    // The viewer can read, and sees that nothing was imported by any of the above.
    let r = d.get("/v0/nodes", Some(&viewer)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, json!([]));
}

// ----- re-registration of imported machines ----------------------------------

#[tokio::test]
async fn an_imported_machine_registers_again_under_its_id_and_waits_in_pending() {
    let mut d = start_with_legacy("runtime_v3.json", &["--no-reachability-check"]);
    let id = "0f3e6a12-7d4c-4b9e-8a25-c1d7e9f03b64";
    assert_eq!(d.status_of(id).await, "offline");

    let r = d
        .post(
            "/v0/nodes",
            None,
            registration("dgx-h100-01", "10.42.0.12", 8080),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["node_id"], id);
    assert_eq!(r.body["status"], "updated");
    assert_eq!(r.body["node_status"], "pending");
    let token = r.body["runtime_token"].as_str().unwrap().to_string();
    assert!(token.starts_with("llmlb_rt_"), "{token}");

    let node = d.node(id).await;
    assert_fields(
        &node,
        json!({
            "status": "pending",
            "approved": false,
            "approved_at": null,
            "ip_address": "10.42.0.12",
            "runtime_version": "llama.cpp b4000",
            // What the registration does not carry stays as imported.
            "custom_name": "Training leftovers",
            "notes": "Rack 4, slot 2",
            "tags": ["prod", "h100"],
        }),
    );
    let age = node["token_age_secs"].as_u64().expect("a token now");
    assert!(age < 60, "{node:#}");
    assert_eq!(list(&d).await.len(), 4, "the registration added a node");

    // Its heartbeats are accepted but do not admit it.
    let r = d.heartbeat(&token, heartbeat_body(id)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "pending");

    // An imported pending node and an IPv6 one are matched the same way.
    let r = d
        .post(
            "/v0/nodes",
            None,
            registration("werkstatt-ws-2", "2001:db8::7", 8000),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["node_id"], "a27b4d08-1e6f-4c35-9d80-3f5b7a9c1e26");
    assert_eq!(r.body["status"], "updated");
    assert_eq!(r.body["node_status"], "pending");

    // Another runtime port is another node.
    let r = d
        .post(
            "/v0/nodes",
            None,
            registration("dgx-h100-01", "10.42.0.11", 8090),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_ne!(r.body["node_id"], id);
    assert_eq!(r.body["status"], "registered");
    assert_eq!(list(&d).await.len(), 5);

    // Once claimed, the record is the machine's: after a restart (pending
    // kept) only its token proves it, and a registration without one is a
    // node of its own.
    d.restart();
    assert_eq!(d.status_of(id).await, "pending");
    let r = d
        .post(
            "/v0/nodes",
            None,
            registration("dgx-h100-01", "10.42.0.11", 8080),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_ne!(r.body["node_id"], id);
    let r = d
        .register_proving(
            &registration("dgx-h100-01", "10.42.0.11", 8080),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["node_id"], id);
}

#[tokio::test]
async fn a_machine_imported_through_the_route_is_matched_too() {
    let d = TestDaemon::start(&["--no-reachability-check"]);
    assert_eq!(
        import(&d, fixture_json("ollama_v1.json")).await,
        report(false, 3, 3, 0, 0)
    );
    let r = d
        .post(
            "/v0/nodes",
            None,
            registration("推論サーバー-01", "fe80::1", 11434),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["node_id"], "7a0e4b19-c2d8-4f6e-b5a3-91e0d7c4f258");
    assert_eq!(r.body["status"], "updated");
    assert_eq!(
        d.status_of("7a0e4b19-c2d8-4f6e-b5a3-91e0d7c4f258").await,
        "pending"
    );
    assert_eq!(list(&d).await.len(), 3);
}
