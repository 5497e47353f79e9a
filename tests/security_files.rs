//! What the binaries do with the files, directories and terminal around them:
//! one daemon per data dir, private data and state dirs, log writes that
//! cannot fail a request, and `llmlbctl` output that cannot drive the
//! administrator's terminal.

mod common;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

fn mode_of(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

fn daemon_cmd(data_dir: &Path, listen: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_llmlbd"));
    c.args(["--listen", listen])
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("LLMLB_ADMIN_PASSWORD")
        .env_remove("NOTIFY_SOCKET")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    c
}

/// Runs `cmd` to its end (it is expected to refuse to start): the exit status
/// and what it wrote on stderr.
fn run_to_exit(mut cmd: Command, within: Duration) -> (ExitStatus, String) {
    let mut child = cmd.stderr(Stdio::piped()).spawn().expect("spawn");
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + within;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "it kept running instead of refusing to start: {}",
                reader.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status, reader.join().unwrap())
}

/// A port nothing listens on at the moment.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills the child on drop, for processes the test starts by hand.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Reaped {
    fn alive(&mut self) -> bool {
        self.0.try_wait().unwrap().is_none()
    }
}

// ---- one daemon per data dir ----

#[tokio::test]
async fn a_second_daemon_on_the_same_data_dir_refuses_and_the_first_keeps_serving() {
    let first = TestDaemon::start(&["--no-reachability-check"]);
    let pid = first.pid();
    let node = first.register("gpu-01", "10.0.0.1", 8080).await;
    let lock = first.data_dir().join("llmlbd.lock");
    assert_eq!(std::fs::read_to_string(&lock).unwrap(), format!("{pid}\n"));

    // A legacy file the second daemon would import (and rename) if it got
    // as far as the database.
    let legacy = first.data_dir().join("nodes.json");
    std::fs::write(
        &legacy,
        json!([{"id": "legacy-1", "machine_name": "old-box", "ip_address": "10.0.0.9",
                "runtime_port": 8080, "status": "pending"}])
        .to_string(),
    )
    .unwrap();

    // The first daemon's own address: had the second bound before taking the
    // lock, it would fail with "cannot listen" instead.
    let (status, stderr) = run_to_exit(
        daemon_cmd(first.data_dir(), &first.addr.to_string()),
        Duration::from_secs(20),
    );
    assert!(!status.success(), "the second daemon exits non-zero");
    let sentence = format!(
        "another llmlbd (pid {pid}) is using the data dir {}: it holds the lock file {}",
        first.data_dir().display(),
        lock.display()
    );
    assert!(stderr.contains(&sentence), "{stderr}");
    assert!(stderr.contains("--data-dir"), "says what to do: {stderr}");
    assert!(!stderr.contains("listening on"), "{stderr}");
    assert!(legacy.exists(), "it refused before importing anything");
    assert_eq!(
        std::fs::read_to_string(&lock).unwrap(),
        format!("{pid}\n"),
        "the lock still names the first daemon"
    );

    // The first carries on as before.
    assert_eq!(first.get("/v0/status", None).await.status, 200);
    assert_eq!(first.status_of(&node.id).await, "pending");
    let list = first.admin_get("/v0/nodes").await;
    assert_eq!(list.body.as_array().unwrap().len(), 1, "{}", list.body);
}

#[tokio::test]
async fn a_lock_left_by_a_killed_daemon_does_not_block_a_restart() {
    let first = TestDaemon::start(&["--no-reachability-check"]);
    let node = first.register("gpu-01", "10.0.0.1", 8080).await;
    let old_pid = first.pid();
    let dir: Arc<tempfile::TempDir> = first.dir.clone();
    let lock = dir.path().join("llmlbd.lock");

    let killed = Command::new("kill")
        .args(["-KILL", &old_pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    drop(first); // reaps the killed process
    assert_eq!(
        std::fs::read_to_string(&lock).unwrap(),
        format!("{old_pid}\n"),
        "kill -9 leaves the lock file behind"
    );

    let second = TestDaemon::start_in(dir.clone(), "127.0.0.1:0", &["--no-reachability-check"])
        .expect("a stale lock file does not block the start");
    let new_pid = second.pid();
    assert_ne!(new_pid, old_pid);
    assert_eq!(
        std::fs::read_to_string(&lock).unwrap(),
        format!("{new_pid}\n")
    );
    assert_eq!(second.status_of(&node.id).await, "pending");
}

// ---- directory modes ----

#[tokio::test]
async fn an_open_data_dir_is_tightened_to_0700_and_the_log_says_so() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let d = TestDaemon::start_in(dir.clone(), "127.0.0.1:0", &[]).expect("starts");
    assert_eq!(mode_of(dir.path()), 0o700);
    let logs = d.logs();
    assert!(
        logs.contains("the data dir had mode 0755; set it to 0700"),
        "{logs}"
    );
    assert!(logs.contains(&dir.path().display().to_string()), "{logs}");

    // Once private, a restart has nothing to say about it.
    let mut d = d;
    d.restart();
    assert_eq!(d.logs().matches("the data dir had mode").count(), 1);
}

#[test]
fn a_data_dir_that_cannot_be_made_private_refuses_the_start() {
    // chmod of a /proc entry is refused, even to root: as a data dir of
    // someone else's would be.
    let (status, stderr) = run_to_exit(
        daemon_cmd(Path::new("/proc/self"), "127.0.0.1:0"),
        Duration::from_secs(20),
    );
    assert!(!status.success());
    assert!(
        stderr.contains("the data dir /proc/self has mode 0555 and cannot be made 0700"),
        "{stderr}"
    );
    assert!(stderr.contains("chmod 700 /proc/self"), "{stderr}");
    assert!(!stderr.contains("listening on"), "{stderr}");
}

fn agent_cmd(lb_url: &str, runtime: std::net::SocketAddr, state_dir: &Path) -> Command {
    agent_cmd_named(lb_url, runtime, state_dir, "security-test-box")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_state_dir_is_tightened_to_0700_and_the_log_says_so() {
    let d = TestDaemon::start(&[]);
    let runtime = stub_runtime("127.0.0.1:0").await;
    let state = tempfile::tempdir().unwrap();
    std::fs::set_permissions(state.path(), std::fs::Permissions::from_mode(0o755)).unwrap();

    let mut child = agent_cmd(&d.url(""), runtime, state.path())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut agent = Reaped(child);
    let logs = Arc::new(std::sync::Mutex::new(String::new()));
    let sink = logs.clone();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let mut s = sink.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
    let state_file = state.path().join("node.json");
    assert!(
        eventually(Duration::from_secs(10), || async { state_file.exists() }).await,
        "the agent registered: {}",
        logs.lock().unwrap()
    );
    assert!(agent.alive());
    assert_eq!(mode_of(state.path()), 0o700);
    assert_eq!(mode_of(&state_file), 0o600);
    let logs = logs.lock().unwrap().clone();
    assert!(
        logs.contains("the state dir had mode 0755; set it to 0700"),
        "{logs}"
    );
    assert!(logs.contains(&state.path().display().to_string()), "{logs}");
}

// ---- log writes ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_stderr_on_a_full_disk_every_request_is_still_answered() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut cmd = daemon_cmd(dir.path(), &format!("127.0.0.1:{port}"));
    cmd.args(["--no-reachability-check", "--rate-limit", "0"])
        .stderr(std::fs::File::create("/dev/full").unwrap());
    let mut daemon = Reaped(cmd.spawn().expect("spawn llmlbd"));
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = |p: &str| format!("http://127.0.0.1:{port}{p}");

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(
            daemon.alive(),
            "llmlbd died at start-up with stderr on /dev/full"
        );
        if http.get(url("/v0/status")).send().await.is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "llmlbd never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let token = std::fs::read_to_string(dir.path().join("admin.token")).unwrap();

    // Each registration and each refusal is logged.
    let mut answered = 0;
    for i in 0..100 {
        let req = match i % 4 {
            0 | 1 => http.post(url("/v0/nodes")).json(&registration(
                &format!("gpu-{i:03}"),
                "10.0.0.1",
                8080,
            )),
            2 => http.get(url("/v0/status")),
            _ => http.get(url("/v0/nodes")).bearer_auth(if i % 8 == 3 {
                token.trim()
            } else {
                "wrong"
            }),
        };
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("request {i} got no answer: {e}"));
        let want = match i % 4 {
            0 | 1 => 201,
            2 => 200,
            _ if i % 8 == 3 => 200,
            _ => 401,
        };
        assert_eq!(resp.status().as_u16(), want, "request {i}");
        resp.bytes().await.expect("a whole answer");
        answered += 1;
    }
    assert_eq!(answered, 100);
    assert!(daemon.alive(), "llmlbd is still running");
    let nodes: Value = http
        .get(url("/v0/nodes"))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(nodes.as_array().unwrap().len(), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_stderr_on_a_full_disk_the_agent_still_registers_and_heartbeats() {
    let d = TestDaemon::start(&["--heartbeat-interval", "1", "--node-timeout", "3"]);
    let runtime = stub_runtime("127.0.0.1:0").await;
    let state = tempfile::tempdir().unwrap();
    let mut agent = Reaped(
        agent_cmd(&d.url(""), runtime, state.path())
            .stderr(std::fs::File::create("/dev/full").unwrap())
            .spawn()
            .unwrap(),
    );
    let state_file = state.path().join("node.json");
    assert!(
        eventually(Duration::from_secs(10), || async { state_file.exists() }).await,
        "the agent registered"
    );
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&state_file).unwrap()).unwrap();
    let id = saved["node_id"].as_str().unwrap().to_string();
    let r = d
        .admin_post(&format!("/v0/nodes/{id}/approve"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        eventually(Duration::from_secs(15), || async {
            d.status_of(&id).await == "online"
        })
        .await,
        "heartbeats make it online"
    );
    assert!(agent.alive(), "llmlb-node is still running");
}

// ---- terminal escapes in llmlbctl ----

const CUSTOM: &str = "\u{1b}[32mRack 3\u{1b}[0m";
const MACHINE: &str = "gpu-\u{202e}70";
const NOTES: &str = "rack 3\n\tshelf 2 \u{1b}[2J\u{9b}31m\u{7}";
const MODEL: &str = "llama\u{1b}[8m-3";
const TAG: &str = "\u{1b}[32mprod";
const KEY_NAME: &str = "ops \u{2066}team\u{2069}";

fn ctl(d: &TestDaemon, home: &Path) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("llmlbctl").unwrap();
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("LLMLB_URL", d.url(""))
        .env("LLMLB_DATA_DIR", d.data_dir())
        .timeout(Duration::from_secs(60));
    c
}

fn ctl_ok(d: &TestDaemon, home: &Path, args: &[&str]) -> String {
    let o = ctl(d, home).args(args).output().unwrap();
    let stdout = String::from_utf8(o.stdout).unwrap();
    assert!(
        o.status.success(),
        "llmlbctl {args:?}: {stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    stdout
}

/// No character that could drive a terminal, but for the newlines (and, in
/// `show`, the tabs of the notes) that lay the output out.
fn assert_inert(out: &str, tabs: bool) {
    let raw: Vec<char> = out
        .chars()
        .filter(|&c| {
            (c.is_control() && c != '\n' && !(tabs && c == '\t'))
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)
        })
        .collect();
    assert!(raw.is_empty(), "raw {raw:?} in:\n{out}");
}

#[tokio::test]
async fn llmlbctl_escapes_what_the_daemon_sends_and_json_keeps_it_exact() {
    let d = TestDaemon::start(&["--no-reachability-check"]);
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("nodes.json");
    std::fs::write(
        &file,
        json!([{
            "id": "5a1e0000-0000-4000-8000-000000000001", "machine_name": MACHINE,
            "custom_name": CUSTOM, "ip_address": "10.0.0.7", "runtime_port": 8080,
            "runtime_version": "llama.cpp \u{7}b4000", "status": "pending",
            "gpu_available": true, "gpu_devices": [{"model": "RTX \u{9b}4090", "count": 2}],
            "loaded_models": [MODEL], "tags": [TAG], "notes": NOTES,
        }])
        .to_string(),
    )
    .unwrap();
    let summary = ctl_ok(&d, home.path(), &["migrate-json", file.to_str().unwrap()]);
    assert!(summary.contains("IMPORTED"), "{summary}");
    let id = "5a1e0000-0000-4000-8000-000000000001";
    // PATCH refuses such notes (the import above let them in); the
    // refusal is shown inert too.
    let o = ctl(&d, home.path())
        .args(["nodes", "edit", id, "--notes", NOTES])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert_inert(&String::from_utf8_lossy(&o.stderr), false);

    let shown_name = "\\e[32mRack 3\\e[0m (gpu-\\u{202e}70)";
    let list = ctl_ok(&d, home.path(), &["nodes", "list"]);
    assert_inert(&list, false);
    assert!(list.contains(shown_name), "{list}");
    assert!(list.contains("2× RTX \\u{9b}4090"), "{list}");
    assert!(list.contains("llama\\e[8m-3"), "{list}");

    let wide = ctl_ok(&d, home.path(), &["nodes", "list", "--wide"]);
    assert_inert(&wide, false);
    assert!(wide.contains("llama.cpp \\x07b4000"), "{wide}");
    assert!(wide.contains("\\e[32mprod"), "{wide}");

    let show = ctl_ok(&d, home.path(), &["nodes", "show", id]);
    assert_inert(&show, true);
    assert!(show.contains(shown_name), "{show}");
    assert!(show.contains("rack 3\n"), "notes keep their lines: {show}");
    assert!(
        show.contains("\tshelf 2 \\e[2J\\u{9b}31m\\x07"),
        "and their tabs, with the rest escaped: {show}"
    );

    let approved = ctl_ok(&d, home.path(), &["nodes", "approve", id]);
    assert_inert(&approved, false);
    assert!(approved.contains(shown_name), "{approved}");

    // JSON is the daemon's answer: exact strings, JSON-escaped.
    let json_out = ctl_ok(&d, home.path(), &["nodes", "show", id, "-o", "json"]);
    assert!(!json_out.contains('\u{1b}'), "JSON escapes ESC itself");
    let n: Value = serde_json::from_str(&json_out).unwrap();
    assert_eq!(n["custom_name"], CUSTOM);
    assert_eq!(n["machine_name"], MACHINE);
    assert_eq!(n["notes"], NOTES);
    assert_eq!(n["loaded_models"], json!([MODEL]));
    assert_eq!(n["tags"], json!([TAG]));
    let listed: Value = serde_json::from_str(&ctl_ok(
        &d,
        home.path(),
        &["nodes", "list", "--output", "json"],
    ))
    .unwrap();
    assert_eq!(listed[0]["custom_name"], CUSTOM);
    assert_eq!(listed[0]["notes"], NOTES);

    // API key names take bidi isolates.
    let created = ctl_ok(
        &d,
        home.path(),
        &["api-keys", "create", "--name", KEY_NAME, "--role", "viewer"],
    );
    assert_inert(&created, false);
    assert!(created.contains("ops \\u{2066}team\\u{2069}"), "{created}");
    let keys = ctl_ok(&d, home.path(), &["api-keys", "list"]);
    assert_inert(&keys, false);
    assert!(keys.contains("ops \\u{2066}team\\u{2069}"), "{keys}");
    let keys: Value = serde_json::from_str(&ctl_ok(
        &d,
        home.path(),
        &["api-keys", "list", "-o", "json"],
    ))
    .unwrap();
    assert!(
        keys.as_array()
            .unwrap()
            .iter()
            .any(|k| k["name"] == KEY_NAME),
        "{keys}"
    );
}
