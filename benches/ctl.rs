//! `llmlbctl` end to end: `migrate-json` of a 10,000-record file and
//! `nodes list` with 10,000 nodes, against the real release daemon.
//!
//! Run with `cargo bench --bench ctl`. Times are wall-clock of the whole
//! `llmlbctl` process (start, HTTP, formatting, exit), as an operator sees it.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../tests/common/spawn.rs"]
mod spawn;

const RECORDS: usize = 10_000;
const LIST_RUNS: usize = 10;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_llmlbd"));
    cmd.args([
        "--listen",
        "127.0.0.1:0",
        "--no-reachability-check",
        "--rate-limit",
        "0",
        "--max-pending",
        "1000000",
        "--data-dir",
    ])
    .arg(dir.path())
    .env("RUST_LOG", "info")
    .stdout(Stdio::null());
    let spawned = spawn::spawn_llmlbd(&mut cmd, Duration::from_secs(60), 40)
        .unwrap_or_else(|log| panic!("the daemon does not start:\n{log}"));
    let url = format!("http://{}", spawned.listening.addr);
    let daemon = Killed(spawned.child);

    let file = dir.path().join("legacy.json");
    write_legacy(&file);
    let ctl = |args: &[&str]| {
        let start = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_llmlbctl"))
            .args(args)
            .env("LLMLB_URL", &url)
            .env("LLMLB_DATA_DIR", dir.path())
            .output()
            .expect("run llmlbctl");
        let took = start.elapsed();
        assert!(
            out.status.success(),
            "llmlbctl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        (took, out.stdout)
    };

    let (migrate, out) = ctl(&["migrate-json", file.to_str().unwrap(), "-o", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(report["imported"], RECORDS);

    let mut lists: Vec<Duration> = (0..LIST_RUNS)
        .map(|_| {
            let (t, out) = ctl(&["nodes", "list"]);
            assert!(out.len() > RECORDS * 40, "a row per node");
            t
        })
        .collect();
    lists.sort();
    let mut json_lists: Vec<Duration> = (0..LIST_RUNS)
        .map(|_| ctl(&["nodes", "list", "-o", "json"]).0)
        .collect();
    json_lists.sort();
    drop(daemon);

    let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);
    let verdict = |d: Duration, limit_ms: u64| {
        if d <= Duration::from_millis(limit_ms) {
            "pass"
        } else {
            "FAIL"
        }
    };
    println!("| figure | target | measured | |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| `migrate-json`, {RECORDS} records | ≤ 3 s | {} | {} |",
        ms(migrate),
        verdict(migrate, 3000)
    );
    let (med, max) = (lists[LIST_RUNS / 2], lists[LIST_RUNS - 1]);
    println!(
        "| `nodes list`, {RECORDS} nodes, table (median / max of {LIST_RUNS}) | ≤ 300 ms | {} / {} | {} |",
        ms(med),
        ms(max),
        verdict(max, 300)
    );
    println!(
        "| `nodes list -o json`, {RECORDS} nodes (median / max) | ≤ 300 ms | {} / {} | {} |",
        ms(json_lists[LIST_RUNS / 2]),
        ms(json_lists[LIST_RUNS - 1]),
        verdict(json_lists[LIST_RUNS - 1], 300)
    );
}

/// The daemon, killed when the bench ends, even by a panic.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A legacy file in the newer spelling, every record different.
fn write_legacy(path: &Path) {
    let records: Vec<serde_json::Value> = (0..RECORDS)
        .map(|i| {
            serde_json::json!({
                "id": format!("00000000-0000-4000-8000-{i:012}"),
                "machine_name": format!("gpu-{i:05}"),
                "ip_address": format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256),
                "runtime_version": "llama.cpp b4000",
                "runtime_port": 8080,
                "node_api_port": 8081,
                "status": if i % 3 == 0 { "pending" } else { "online" },
                "registered_at": "2025-06-01T12:00:00.123456Z",
                "gpu_available": true,
                "gpu_devices": [{"model": "NVIDIA RTX 4090", "count": 2, "memory": 25_757_220_864u64}],
                "loaded_models": ["llama-3-8b"],
                "tags": ["bench"],
            })
        })
        .collect();
    std::fs::write(path, serde_json::to_vec_pretty(&records).unwrap()).unwrap();
}
