//! The real `llmlbctl` binary against a real daemon.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use common::*;
use serde_json::{json, Value};

/// A home for the command with nothing of the real user's in it.
struct Env {
    home: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env {
            home: tempfile::tempdir().unwrap(),
        }
    }

    /// `llmlbctl` pointed at `d`, finding the admin token through
    /// `LLMLB_DATA_DIR` as on the daemon's machine.
    fn ctl(&self, d: &TestDaemon) -> Command {
        let mut c = self.bare(&d.url(""));
        c.env("LLMLB_DATA_DIR", d.data_dir());
        c
    }

    /// `llmlbctl` with no credential source at all.
    fn bare(&self, url: &str) -> Command {
        let mut c = Command::cargo_bin("llmlbctl").unwrap();
        let home = self.home.path();
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("LLMLB_URL", url)
            .timeout(std::time::Duration::from_secs(60));
        c
    }

    fn session_file(&self) -> PathBuf {
        self.home.path().join(".config/llmlb/session.json")
    }
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(mut c: Command, args: &[&str]) -> Out {
    let o = c.args(args).output().unwrap();
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8(o.stdout).unwrap(),
        stderr: String::from_utf8(o.stderr).unwrap(),
    }
}

fn ok(c: Command, args: &[&str]) -> String {
    let o = run(c, args);
    assert_eq!(
        o.code, 0,
        "llmlbctl {args:?} failed: {}{}",
        o.stdout, o.stderr
    );
    o.stdout
}

fn json_of(c: Command, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    serde_json::from_str(&ok(c, &all)).expect("-o json prints JSON")
}

/// Masks what changes from run to run (ids, times, secrets) and folds
/// column padding, so tables can be compared with committed text.
fn mask(text: &str) -> String {
    let rules = [
        (
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "<uuid>",
        ),
        (r"\b[0-9a-f]{16}\b", "<key-id>"),
        (r"llmlb_(ak|rt|st)_[0-9a-f]{64}", "<secret>"),
        (r"\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)? UTC", "<time>"),
        (r"\b[0-9a-f]{8}\b", "<short-id>"),
        (r"\b\d+[smhd] ago\b", "<ago>"),
        (r"(?m)^(uptime|token age)( +)\d+[smhd]", "$1$2<age>"),
    ];
    let mut s = text.to_string();
    for (re, with) in rules {
        s = regex::Regex::new(re)
            .unwrap()
            .replace_all(&s, with)
            .into_owned();
    }
    let spaces = regex::Regex::new(r" {2,}").unwrap();
    s.lines()
        .map(|l| spaces.replace_all(l.trim_end(), "  ").into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Compares with `tests/expected/ctl/NAME.txt`; `LLMLB_REGENERATE=1`
/// rewrites the file.
fn expect(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/expected/ctl")
        .join(format!("{name}.txt"));
    let actual = mask(actual);
    if std::env::var_os("LLMLB_REGENERATE").is_some() {
        std::fs::write(&path, format!("{actual}\n")).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} is missing; run with LLMLB_REGENERATE=1", path.display()));
    assert_eq!(
        actual.trim_end(),
        want.trim_end(),
        "output of {name} changed"
    );
}

/// Imports nodes with chosen ids (for prefix tests) through the API.
async fn import(d: &TestDaemon, records: Value) {
    let r = d.admin_post("/v0/import/nodes", records).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

fn legacy(id: &str, name: &str, status: &str) -> Value {
    json!({
        "id": id, "machine_name": name, "ip_address": "10.0.0.9", "runtime_port": 8080,
        "status": status, "gpu_devices": [{"model": "NVIDIA H100", "count": 8}],
        "gpu_available": true, "loaded_models": ["llama-3-70b"],
    })
}

#[tokio::test]
async fn status_and_node_listing_in_both_output_modes() {
    let d = TestDaemon::start(&["--no-reachability-check"]);
    let e = Env::new();
    let a = d.register("gpu-a", "10.0.0.1", 8080).await;
    d.register("gpu-b", "fe80::1", 8080).await;
    d.admin_post(&format!("/v0/nodes/{}/approve", a.id), json!({}))
        .await;
    d.heartbeat(&a.token, heartbeat_body(&a.id)).await;
    d.send(
        reqwest::Method::PATCH,
        &format!("/v0/nodes/{}", a.id),
        Some(&d.admin_token()),
        Some(json!({"custom_name": "Rack 3"})),
    )
    .await;

    expect("status", &ok(e.ctl(&d), &["status"]));
    let status = json_of(e.ctl(&d), &["status"]);
    assert_eq!(status["nodes"]["total"], 2);

    expect("nodes-list", &ok(e.ctl(&d), &["nodes", "list"]));
    expect(
        "nodes-list-wide",
        &ok(e.ctl(&d), &["nodes", "list", "--wide"]),
    );
    expect(
        "nodes-list-pending",
        &ok(e.ctl(&d), &["nodes", "list", "--status", "pending"]),
    );
    // -o json is the API's answer as is.
    let api = d.admin_get("/v0/nodes").await.body;
    let mut printed = json_of(e.ctl(&d), &["nodes", "list"]);
    for v in [&mut printed] {
        for n in v.as_array_mut().unwrap() {
            n["token_age_secs"] = Value::Null;
            n["last_seen"] = Value::Null;
        }
    }
    let mut api = api;
    for n in api.as_array_mut().unwrap() {
        n["token_age_secs"] = Value::Null;
        n["last_seen"] = Value::Null;
    }
    assert_eq!(printed, api);

    let short = &a.id[..6];
    expect("nodes-show", &ok(e.ctl(&d), &["nodes", "show", short]));
    assert_eq!(
        json_of(e.ctl(&d), &["nodes", "show", short])["id"],
        a.id.as_str()
    );
    // No colour and no escape codes when stdout is not a terminal.
    assert!(!ok(e.ctl(&d), &["nodes", "list"]).contains('\x1b'));
}

#[tokio::test]
async fn prefixes_pick_a_node_and_ambiguity_lists_the_candidates() {
    let d = TestDaemon::start(&["--no-reachability-check"]);
    let e = Env::new();
    import(
        &d,
        json!([
            legacy("abcd1111-0000-4000-8000-000000000001", "gpu-one", "pending"),
            legacy("abcd2222-0000-4000-8000-000000000002", "gpu-two", "pending"),
        ]),
    )
    .await;
    let o = run(e.ctl(&d), &["nodes", "approve", "abcd"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("matches 2 nodes"), "{}", o.stderr);
    assert!(
        o.stderr
            .contains("abcd1111-0000-4000-8000-000000000001  gpu-one"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("abcd2222"), "{}", o.stderr);

    let o = run(e.ctl(&d), &["nodes", "show", "abc"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("at least 4 characters"), "{}", o.stderr);

    let out = ok(e.ctl(&d), &["nodes", "approve", "abcd1"]);
    assert!(
        out.contains("approved abcd1111-0000-4000-8000-000000000001"),
        "{out}"
    );
    assert_eq!(
        d.status_of("abcd1111-0000-4000-8000-000000000001").await,
        "offline"
    );
    assert_eq!(
        d.status_of("abcd2222-0000-4000-8000-000000000002").await,
        "pending"
    );

    let o = run(e.ctl(&d), &["nodes", "show", "ffff0000"]);
    assert_eq!(o.code, 1);
    assert!(
        o.stderr.contains("no node id starts with \"ffff0000\""),
        "{}",
        o.stderr
    );
}

#[tokio::test]
async fn approve_all_pending_asks_unless_yes() {
    let d = TestDaemon::start(&["--no-reachability-check"]);
    let e = Env::new();
    let a = d.register("p-1", "10.0.0.1", 8080).await;
    let b = d.register("p-2", "10.0.0.2", 8080).await;
    let o = run(e.ctl(&d), &["nodes", "approve", "--all-pending"]);
    assert_eq!(o.code, 1, "no terminal to ask on");
    assert!(o.stderr.contains("--yes"), "{}", o.stderr);
    assert_eq!(d.status_of(&a.id).await, "pending");

    let out = ok(e.ctl(&d), &["nodes", "approve", "--all-pending", "--yes"]);
    assert!(out.contains(&a.id) && out.contains(&b.id), "{out}");
    assert_eq!(d.status_of(&a.id).await, "registering");
    assert_eq!(d.status_of(&b.id).await, "registering");
    assert_eq!(
        ok(e.ctl(&d), &["nodes", "approve", "--all-pending"]).trim(),
        "no pending nodes"
    );
    // Approving an approved node reports the daemon's sentence and fails.
    let o = run(e.ctl(&d), &["nodes", "approve", &a.id]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("already approved"), "{}", o.stderr);
}

#[tokio::test]
async fn edit_remove_rotate_revoke_drain() {
    let d = TestDaemon::start(&["--no-reachability-check"]);
    let e = Env::new();
    let n = d.register("gpu-e", "10.0.0.1", 8080).await;
    let id = n.id.as_str();

    let v = json_of(
        e.ctl(&d),
        &[
            "nodes", "edit", id, "--name", "Küche", "--notes", "new fan", "--tag", "a", "--tag",
            "b",
        ],
    );
    assert_eq!(v["custom_name"], "Küche");
    assert_eq!(v["tags"], json!(["a", "b"]));
    let v = json_of(
        e.ctl(&d),
        &["nodes", "edit", id, "--notes", "", "--clear-tags"],
    );
    assert!(v["notes"].is_null());
    assert_eq!(v["tags"], json!([]));
    let o = run(e.ctl(&d), &["nodes", "edit", id]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("nothing to change"));

    let out = ok(e.ctl(&d), &["nodes", "rotate-token", id, "--grace", "1m"]);
    assert!(out.contains("rotation started"), "{out}");
    let r = d.heartbeat(&n.token, heartbeat_body(id)).await;
    assert!(r.body["runtime_token"].is_string());

    let v = json_of(e.ctl(&d), &["nodes", "drain", id]);
    assert_eq!(v["drained"], true);
    let v = json_of(e.ctl(&d), &["nodes", "undrain", id]);
    assert_eq!(v["drained"], false);

    ok(e.ctl(&d), &["nodes", "revoke-token", id]);
    assert_eq!(d.heartbeat(&n.token, heartbeat_body(id)).await.status, 401);

    let o = run(e.ctl(&d), &["nodes", "remove", id]);
    assert_eq!(o.code, 1, "asks for confirmation");
    ok(e.ctl(&d), &["nodes", "remove", id, "--yes"]);
    assert_eq!(d.admin_get(&format!("/v0/nodes/{id}")).await.status, 404);
    let o = run(e.ctl(&d), &["nodes", "show", id]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains(id), "names the id: {}", o.stderr);
}

#[tokio::test]
async fn api_keys_commands() {
    let d = TestDaemon::start(&[]);
    let e = Env::new();
    let created = json_of(
        e.ctl(&d),
        &[
            "api-keys",
            "create",
            "--name",
            "grafana",
            "--role",
            "viewer",
            "--expires-in",
            "30d",
        ],
    );
    let key = created["key"].as_str().unwrap().to_string();
    let id = created["id"].as_str().unwrap().to_string();
    assert!(created["expires_at"].is_string());
    assert_eq!(d.get("/v0/nodes", Some(&key)).await.status, 200);

    let table = ok(
        e.ctl(&d),
        &["api-keys", "create", "--name", "ci", "--role", "admin"],
    );
    assert!(table.contains("shown only now"), "{table}");
    expect("api-keys-list", &ok(e.ctl(&d), &["api-keys", "list"]));
    let list = json_of(e.ctl(&d), &["api-keys", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 3);
    assert!(!list.to_string().contains(&key));

    let rotated = json_of(e.ctl(&d), &["api-keys", "rotate", &id[..6]]);
    assert_ne!(rotated["key"], key.as_str());
    assert_eq!(d.get("/v0/nodes", Some(&key)).await.status, 401);
    ok(e.ctl(&d), &["api-keys", "revoke", &id]);
    let list = json_of(e.ctl(&d), &["api-keys", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn token_discovery_order() {
    let d = TestDaemon::start(&[]);
    let e = Env::new();
    let viewer = d.api_key("v", "viewer").await;

    // Nothing anywhere: a clear error and a hint.
    let o = run(e.bare(&d.url("")), &["nodes", "list"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("no credential found"), "{}", o.stderr);
    assert!(o.stderr.contains("--token"), "{}", o.stderr);

    // LLMLB_DATA_DIR/admin.token: admin.
    ok(e.ctl(&d), &["api-keys", "list"]);
    // --token wins over the data dir: the viewer may not list keys.
    let o = run(e.ctl(&d), &["api-keys", "list", "--token", &viewer]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("role viewer"), "{}", o.stderr);
    // LLMLB_TOKEN the same.
    let mut c = e.ctl(&d);
    c.env("LLMLB_TOKEN", &viewer);
    assert_eq!(run(c, &["api-keys", "list"]).code, 1);
    // --token-file wins over the data dir too.
    let f = e.home.path().join("viewer.token");
    std::fs::write(&f, format!("{viewer}\n")).unwrap();
    let o = run(
        e.ctl(&d),
        &["api-keys", "list", "--token-file", f.to_str().unwrap()],
    );
    assert_eq!(o.code, 1);
    let o = run(
        e.ctl(&d),
        &["nodes", "list", "--token-file", "/nonexistent/token"],
    );
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("/nonexistent/token"), "{}", o.stderr);

    // The default data dir: $XDG_DATA_HOME/llmlb/admin.token.
    let default_dir = e.home.path().join(".local/share/llmlb");
    std::fs::create_dir_all(&default_dir).unwrap();
    std::fs::copy(
        d.data_dir().join("admin.token"),
        default_dir.join("admin.token"),
    )
    .unwrap();
    ok(e.bare(&d.url("")), &["api-keys", "list"]);
    std::fs::remove_file(default_dir.join("admin.token")).unwrap();

    // Last: the session saved by login.
    let mut c = e.bare(&d.url(""));
    c.write_stdin(format!("{}\n", d.admin_password()));
    let out = ok(c, &["login", "--password-stdin"]);
    assert!(out.contains("logged in"), "{out}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(e.session_file())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    ok(e.bare(&d.url("")), &["api-keys", "list"]);
    // A wrong bearer token gets the daemon's sentence and a hint.
    let o = run(
        e.bare(&d.url("")),
        &["nodes", "list", "--token", "llmlb_ak_bad"],
    );
    assert_eq!(o.code, 1);
    assert!(
        o.stderr.contains("hint:") && o.stderr.contains("llmlbctl login"),
        "{}",
        o.stderr
    );

    ok(e.bare(&d.url("")), &["logout"]);
    assert!(!e.session_file().exists());
    assert_eq!(run(e.bare(&d.url("")), &["nodes", "list"]).code, 1);

    let mut c = e.bare(&d.url(""));
    c.write_stdin("wrong\n");
    let o = run(c, &["login", "--password-stdin"]);
    assert_eq!(o.code, 1);
    assert!(
        o.stderr.contains("wrong username or password"),
        "{}",
        o.stderr
    );
}

#[test]
fn an_unreachable_daemon_and_usage_errors() {
    let e = Env::new();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut c = e.bare(&url);
    c.env("LLMLB_TOKEN", "llmlb_ak_x");
    let o = run(c, &["nodes", "list"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains(&url), "names the URL tried: {}", o.stderr);
    assert!(o.stderr.contains("connection refused"), "{}", o.stderr);
    assert!(
        o.stderr.contains("llmlbd"),
        "says how to start it: {}",
        o.stderr
    );

    let o = run(e.bare(&url), &["nodes", "frobnicate"]);
    assert_eq!(o.code, 2);
    let o = run(
        e.bare(&url),
        &["api-keys", "create", "--name", "x", "--role", "root"],
    );
    assert_eq!(o.code, 2);
    let o = run(
        e.bare(&url),
        &["nodes", "rotate-token", "abcd", "--grace", "soon"],
    );
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("e.g. 90s"), "{}", o.stderr);
    let bash = ok(e.bare(&url), &["completions", "bash"]);
    assert!(bash.contains("llmlbctl"));
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/legacy")
        .join(name)
}

#[tokio::test]
async fn migrate_json_every_format_dry_run_import_second_run() {
    let d = TestDaemon::start(&["--no-reachability-check"]);
    let e = Env::new();
    let mut expected_total = 0;
    for name in ["ollama_v1.json", "ollama_v2.json", "runtime_v3.json"] {
        let file = e.home.path().join(name);
        std::fs::copy(fixture(name), &file).unwrap();
        let records = serde_json::from_str::<Vec<Value>>(&std::fs::read_to_string(&file).unwrap())
            .unwrap()
            .len();
        expected_total += records;
        let f = file.to_str().unwrap();

        let dry = json_of(e.ctl(&d), &["migrate-json", f, "--dry-run"]);
        assert_eq!(dry["dry_run"], true);
        assert_eq!(dry["imported"], records, "{name}: {dry}");
        assert!(file.exists(), "a dry run keeps the file");

        let table = ok(e.ctl(&d), &["migrate-json", f, "--keep"]);
        expect(
            &format!("migrate-{}", name.trim_end_matches(".json")),
            &table,
        );
        let again = json_of(e.ctl(&d), &["migrate-json", f]);
        assert_eq!(again["imported"], 0, "{name}: a second run changes nothing");
        assert_eq!(again["skipped"], records);
        assert!(!file.exists());
        assert!(e.home.path().join(format!("{name}.migrated")).exists());
    }
    let list = d.admin_get("/v0/nodes").await.body;
    assert_eq!(list.as_array().unwrap().len(), expected_total);
}

#[tokio::test]
async fn migrate_json_reports_invalid_records_and_corrupt_files() {
    let d = TestDaemon::start(&["--no-reachability-check"]);
    let e = Env::new();
    let corrupt = e.home.path().join("corrupt.json");
    std::fs::copy(fixture("corrupt.json"), &corrupt).unwrap();
    let o = run(e.ctl(&d), &["migrate-json", corrupt.to_str().unwrap()]);
    assert_eq!(o.code, 1);
    let want = format!("{}:17:5", corrupt.display());
    assert!(
        o.stderr.contains(&want),
        "names line and column: {}",
        o.stderr
    );
    assert_eq!(
        d.admin_get("/v0/nodes").await.body,
        json!([]),
        "nothing sent"
    );

    let invalid = e.home.path().join("invalid.json");
    std::fs::copy(fixture("invalid_record.json"), &invalid).unwrap();
    let o = run(
        e.ctl(&d),
        &[
            "migrate-json",
            invalid.to_str().unwrap(),
            "--batch-size",
            "1",
        ],
    );
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stdout.contains("not-an-ip"),
        "the reason is shown: {}",
        o.stdout
    );
    assert!(
        o.stdout.contains("13:3"),
        "with the record's position: {}",
        o.stdout
    );
    assert!(invalid.exists(), "the file is kept for fixing");
    let imported = d
        .admin_get("/v0/nodes")
        .await
        .body
        .as_array()
        .unwrap()
        .len();
    assert!(imported >= 1, "the valid records were imported");

    let o = run(e.ctl(&d), &["migrate-json", "/nonexistent.json"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("/nonexistent.json"));
}

#[tokio::test]
async fn output_into_a_closed_pipe_ends_quietly() {
    let d = TestDaemon::start(&[]);
    // Enough nodes that the table is larger than a pipe holds.
    let records: Vec<Value> = (0..1000)
        .map(|i| {
            json!({"id": format!("pipe-{i:04}"), "machine_name": format!("pipe-machine-{i:04}"),
                   "ip_address": "10.0.0.9", "runtime_port": 8080, "status": "pending"})
        })
        .collect();
    let r = d
        .admin_post("/v0/import/nodes", Value::Array(records))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    for args in ["nodes list", "-o json nodes list"] {
        // `llmlbctl … | head -c 100`: the reader leaves early.
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "'{}' --url '{}' --token '{}' {args} | head -c 100",
                env!("CARGO_BIN_EXE_llmlbctl"),
                d.url(""),
                d.admin_token()
            ))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args}: {stderr}");
        assert!(stderr.is_empty(), "{args}: llmlbctl complained: {stderr}");
        assert_eq!(out.stdout.len(), 100, "{args}");
    }
}
