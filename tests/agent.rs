//! The real `llmlb-node` agent with a stub OpenAI runtime and the real
//! daemon. CI has no GPU: the agent runs on GPUs declared with `--gpu`.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

fn agent_cmd(lb_url: &str, runtime: std::net::SocketAddr, state_dir: &Path) -> Command {
    agent_cmd_named(lb_url, runtime, state_dir, "agent-test-box")
}

/// Waits for the agent's state file to name a node.
async fn registered_id(a: &TestAgent) -> String {
    assert!(
        eventually(Duration::from_secs(10), || async { a.state().is_some() }).await,
        "the agent registered: {}",
        a.logs()
    );
    a.state().unwrap()["node_id"].as_str().unwrap().to_string()
}

async fn wait_status(d: &Api, id: &str, want: &str, within: Duration) -> bool {
    eventually(within, || async { d.status_of(id).await == want }).await
}

fn daemon() -> TestDaemon {
    TestDaemon::start(&["--heartbeat-interval", "1", "--node-timeout", "3"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_approve_online_restart_and_leave() {
    // On a clock that never moves, the node cannot time out: offline can
    // only come from the agent saying it leaves.
    let d = InProcess::start_on(
        ManualClock::new(),
        &["--heartbeat-interval", "1", "--node-timeout", "3"],
    )
    .await;
    let runtime = stub_runtime("127.0.0.1:0").await;
    let state = tempfile::tempdir().unwrap();
    let mut a = TestAgent::start(
        &mut agent_cmd(&d.url(""), runtime, state.path()),
        state.path(),
    );

    let id = registered_id(&a).await;
    assert_eq!(d.status_of(&id).await, "pending");
    let node = d.node(&id).await;
    assert_eq!(node["machine_name"], "agent-test-box");
    assert_eq!(
        node["gpu_devices"],
        json!([{"model": "RTX 4090", "count": 2, "memory": 25_769_803_776u64}])
    );
    assert!(
        a.logs().contains(&format!("llmlbctl nodes approve {id}")),
        "{}",
        a.logs()
    );

    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(state.path().join("node.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    d.admin_post(&format!("/v0/nodes/{id}/approve"), json!({}))
        .await;
    assert!(
        wait_status(&d, &id, "online", Duration::from_secs(15)).await,
        "online after the approval"
    );
    let node = d.node(&id).await;
    assert_eq!(
        node["loaded_models"],
        json!(["llama-3-8b"]),
        "models from the runtime"
    );
    assert!(node["cpu_usage"].is_number());

    // A restarted agent resumes: same id, no new approval.
    assert_eq!(a.stop(), Some(0));
    assert_eq!(
        d.status_of(&id).await,
        "offline",
        "offline at once when the agent leaves"
    );
    let mut a = TestAgent::start(
        &mut agent_cmd(&d.url(""), runtime, state.path()),
        state.path(),
    );
    assert!(
        wait_status(&d, &id, "online", Duration::from_secs(15)).await,
        "{}",
        a.logs()
    );
    assert_eq!(a.state().unwrap()["node_id"], id.as_str());
    assert_eq!(
        d.admin_get("/v0/nodes")
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // SIGTERM: offline because the agent said it was leaving (its
    // heartbeats cannot time out on this clock).
    assert_eq!(a.stop(), Some(0));
    assert_eq!(
        d.status_of(&id).await,
        "offline",
        "offline at once when the agent leaves again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_carries_on_through_a_daemon_restart() {
    let mut d = daemon();
    let runtime = stub_runtime("127.0.0.1:0").await;
    let state = tempfile::tempdir().unwrap();
    let a = TestAgent::start(
        &mut agent_cmd(&d.url(""), runtime, state.path()),
        state.path(),
    );
    let id = registered_id(&a).await;
    d.admin_post(&format!("/v0/nodes/{id}/approve"), json!({}))
        .await;
    assert!(wait_status(&d, &id, "online", Duration::from_secs(15)).await);

    d.restart_same_port();
    assert!(
        wait_status(&d, &id, "online", Duration::from_secs(10)).await,
        "online again without a new approval: {}",
        a.logs()
    );
    assert_eq!(
        d.admin_get("/v0/nodes")
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_is_followed_and_revocation_sends_the_node_back_to_pending() {
    let d = daemon();
    let runtime = stub_runtime("127.0.0.1:0").await;
    let state = tempfile::tempdir().unwrap();
    let a = TestAgent::start(
        &mut agent_cmd(&d.url(""), runtime, state.path()),
        state.path(),
    );
    let id = registered_id(&a).await;
    d.admin_post(&format!("/v0/nodes/{id}/approve"), json!({}))
        .await;
    let old = a.state().unwrap()["runtime_token"]
        .as_str()
        .unwrap()
        .to_string();

    let r = d
        .admin_post(&format!("/v0/nodes/{id}/token/rotate"), json!({}))
        .await;
    assert_eq!(r.status, 200);
    assert!(
        eventually(Duration::from_secs(15), || async {
            a.state().unwrap()["runtime_token"].as_str() != Some(old.as_str())
                && !d.node(&id).await["token_rotation_pending"]
                    .as_bool()
                    .unwrap()
        })
        .await,
        "the agent saved and used the new token: {}",
        a.logs()
    );
    assert_eq!(d.heartbeat(&old, heartbeat_body(&id)).await.status, 401);
    assert!(wait_status(&d, &id, "online", Duration::from_secs(15)).await);

    let r = d
        .admin_post(&format!("/v0/nodes/{id}/token/revoke"), json!({}))
        .await;
    assert_eq!(r.status, 200);
    let before = a.state().unwrap()["runtime_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        eventually(Duration::from_secs(15), || async {
            a.state()
                .is_some_and(|s| s["runtime_token"].as_str() != Some(before.as_str()))
        })
        .await,
        "the agent registered again: {}",
        a.logs()
    );
    // A revoked token proves nothing: the machine is a new pending node,
    // marked as sharing its name with the old entry, which stays approved
    // and goes offline.
    let new_id = a.state().unwrap()["node_id"].as_str().unwrap().to_string();
    assert_ne!(new_id, id, "a new node");
    assert_eq!(d.status_of(&new_id).await, "pending");
    assert_eq!(d.node(&new_id).await["same_machine_name_as"], json!([id]));
    assert_eq!(d.node(&id).await["approved"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_waits_for_an_absent_daemon() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let runtime = stub_runtime("127.0.0.1:0").await;
    let state = tempfile::tempdir().unwrap();
    let a = TestAgent::start(
        &mut agent_cmd(&format!("http://{listen}"), runtime, state.path()),
        state.path(),
    );
    assert!(
        eventually(Duration::from_secs(10), || async {
            a.logs().contains("retrying in")
        })
        .await,
        "{}",
        a.logs()
    );
    assert!(a.state().is_none());

    let dir = Arc::new(tempfile::tempdir().unwrap());
    let d = TestDaemon::start_in(dir, &listen, &["--heartbeat-interval", "1"]).unwrap();
    let id = registered_id(&a).await;
    assert_eq!(d.status_of(&id).await, "pending");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_registration_ends_the_agent_with_the_daemons_sentence() {
    let d = daemon();
    // The runtime port is closed, so the daemon's probe fails: 422.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let state = tempfile::tempdir().unwrap();
    let out = agent_cmd(&d.url(""), addr, state.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("node_unreachable") && err.contains("/v1/models"),
        "{err}"
    );
}

#[test]
fn bad_gpu_values_and_no_gpu_at_all() {
    let state = tempfile::tempdir().unwrap();
    for bad in ["A100", "A100:0", ":2", "A100:2:lots"] {
        let out = Command::new(env!("CARGO_BIN_EXE_llmlb-node"))
            .args(["--gpu", bad, "--state-dir"])
            .arg(state.path())
            .env_remove("LLMLB_GPU")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--gpu") && err.contains("MODEL:COUNT"),
            "{bad}: {err}"
        );
    }
    // No NVIDIA driver here (CI has none) and no --gpu: a sentence, exit 1.
    let out = Command::new(env!("CARGO_BIN_EXE_llmlb-node"))
        .args(["--lb-url", "http://127.0.0.1:9", "--state-dir"])
        .arg(state.path())
        .env_remove("LLMLB_GPU")
        .output()
        .unwrap();
    if String::from_utf8_lossy(&out.stderr).contains("NVML loaded") {
        return; // a machine with a real GPU: nothing to check here
    }
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no GPU found") && err.contains("--gpu"),
        "{err}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_llmlb-node"))
        .args(["--detect", "--gpu", "L4:1:24GB"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["gpu_devices"],
        json!([{"model": "L4", "count": 1, "memory": 24_000_000_000u64}])
    );
    assert!(v["nvml"]["available"].is_boolean());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_daemons_tell_systemd_when_ready() {
    use std::os::unix::net::UnixDatagram;
    let sock_dir = tempfile::tempdir().unwrap();
    let path = sock_dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let recv = |sock: &UnixDatagram| {
        let mut buf = [0u8; 512];
        let n = sock.recv(&mut buf).expect("a notification");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };

    // The daemon.
    let data = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_llmlbd"));
    cmd.args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .env("NOTIFY_SOCKET", &path);
    let spawned = common::spawn::spawn_llmlbd(&mut cmd, START_TIMEOUT, 100)
        .unwrap_or_else(|log| panic!("llmlbd did not start:\n{log}"));
    let mut d = spawned.child;
    assert_eq!(recv(&sock), "READY=1\n");
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(d.id().to_string())
        .status();
    assert_eq!(recv(&sock), "STOPPING=1\n");
    assert_eq!(d.wait().unwrap().code(), Some(0));

    // The agent, against a fresh daemon.
    let daemon = TestDaemon::start(&["--heartbeat-interval", "1"]);
    let runtime = stub_runtime("127.0.0.1:0").await;
    let state = tempfile::tempdir().unwrap();
    let mut cmd = agent_cmd(&daemon.url(""), runtime, state.path());
    cmd.env("NOTIFY_SOCKET", &path);
    let mut a = TestAgent::start(&mut cmd, state.path());
    assert_eq!(recv(&sock), "READY=1\n");
    assert_eq!(a.stop(), Some(0));
    assert_eq!(recv(&sock), "STOPPING=1\n");
}
