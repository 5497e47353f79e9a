//! The dashboard: served from embedded assets under a strict
//! Content-Security-Policy, and driven in Debian's headless Chromium by
//! `tests/browser/dashboard.mjs` (playwright-core) against the real daemon;
//! `tests/browser/large-fleet.mjs` drives it with 10,000 nodes (its
//! main-thread stalls are measured by `bench/dashboard.sh`, not judged
//! here); `tests/browser/join-tokens.mjs` drives the admin panels (join
//! tokens, recent activity).
//!
//! The browser test needs Node.js, `tests/browser/node_modules` and
//! `/usr/bin/chromium`; without them it fails (never skips) and says how to
//! install them.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

const INSTALL_HINT: &str = "run `scripts/test`, which installs the browser test's dependencies \
     (or `scripts/install-test-deps` alone: Debian's chromium and `npm ci --prefix tests/browser`)";

/// How long the browser script may run before it is killed.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(200);

/// The large-fleet test holds this lock alone: with `bench/dashboard.sh` it
/// measures main-thread stalls, which a second Chromium on the same cores
/// would cause, and it is the heaviest of the three. The other two share
/// it, so they run side by side (most of their time is waiting for the
/// page's polls).
static BROWSER: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(p) if Path::new(&p).is_absolute() => PathBuf::from(p),
        Some(p) => repo().join(p),
        None => repo().join("target"),
    }
}

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// What the browser test needs; a missing piece is a failure with the fix.
fn check_browser_prerequisites() {
    let mut missing = Vec::new();
    match Command::new("node").arg("--version").output() {
        Ok(out) if out.status.success() => {}
        _ => missing.push("Node.js (`node` on PATH)".to_string()),
    }
    let pw = repo().join("tests/browser/node_modules/playwright-core/package.json");
    if !pw.is_file() {
        missing.push(format!(
            "the npm package playwright-core in {}",
            repo().join("tests/browser/node_modules").display()
        ));
    }
    let browser = chromium();
    if !browser.is_file() {
        missing.push(format!("Chromium at {}", browser.display()));
    }
    assert!(
        missing.is_empty(),
        "the dashboard browser test cannot run: missing {}.\nTo fix: {INSTALL_HINT}.",
        missing.join(", ")
    );
}

/// Runs a command to completion with a time limit; returns (success, output).
fn run_with_timeout(mut cmd: Command, limit: Duration) -> (bool, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start node");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + limit;
    let (ok, note) = loop {
        if let Some(status) = child.try_wait().expect("wait for node") {
            break (status.success(), format!("exit status: {status}"));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break (false, format!("killed after {} s", limit.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let text = format!(
        "--- stdout\n{}--- stderr\n{}--- {note}",
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default()
    );
    (ok, text)
}

/// Sends heartbeats for the given nodes every 2 s until the task is aborted.
/// It keeps the old token through a rotation (allowed during the grace
/// period), so a rotation started from the page stays visible in the API.
fn keep_alive(d: &TestDaemon, nodes: Vec<(String, Value)>) -> tokio::task::JoinHandle<()> {
    let http = d.http.clone();
    let url = d.url("/v0/health");
    tokio::spawn(async move {
        loop {
            for (token, body) in &nodes {
                let _ = http
                    .post(&url)
                    .header("X-Node-Token", token.as_str())
                    .json(body)
                    .send()
                    .await;
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_is_served_with_csp_and_references_only_same_origin_assets() {
    let d = TestDaemon::start(&["--no-reachability-check"]);

    let resp = d.http.get(d.url("/dashboard")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let headers = resp.headers().clone();
    let csp = headers
        .get("content-security-policy")
        .expect("/dashboard carries a Content-Security-Policy")
        .to_str()
        .unwrap()
        .to_string();
    for want in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
    ] {
        assert!(csp.contains(want), "the CSP lacks {want:?}: {csp}");
    }
    assert!(
        !csp.contains("unsafe-"),
        "the CSP allows unsafe code: {csp}"
    );
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = resp.text().await.unwrap();

    // Every reference in the page points at this origin's /dashboard (or is
    // the empty data: favicon that keeps browsers from asking for one).
    let attr =
        regex::Regex::new(r#"(?i)\s(src|href|action|srcset|poster|data)\s*=\s*["']([^"']*)["']"#)
            .unwrap();
    let mut assets = Vec::new();
    for cap in attr.captures_iter(&html) {
        let value = &cap[2];
        if value == "data:," || value.starts_with('#') {
            continue;
        }
        assert!(
            value.starts_with("/dashboard/") && !value.starts_with("//"),
            "index.html references {value:?}, which is not a same-origin dashboard asset"
        );
        assets.push(value.to_string());
    }
    assert!(assets.contains(&"/dashboard/app.js".to_string()), "{html}");
    assert!(assets.contains(&"/dashboard/app.css".to_string()), "{html}");
    assert!(
        html.contains(r#"<link rel="icon" href="data:,">"#),
        "index.html must name an empty favicon so the browser asks for none"
    );
    // Nothing inline: the CSP would block it, and the console would show it.
    let script = regex::Regex::new(r"(?is)<script([^>]*)>(.*?)</script>").unwrap();
    for cap in script.captures_iter(&html) {
        assert!(cap[1].contains("src="), "inline <script> in index.html");
        assert!(
            cap[2].trim().is_empty(),
            "a <script> with content in index.html"
        );
    }
    let inline = regex::Regex::new(r"(?i)<style|\sstyle\s*=|\son[a-z]+\s*=").unwrap();
    assert!(
        !inline.is_match(&html),
        "index.html has inline style or an event handler attribute"
    );

    for (path, kind) in [
        ("/dashboard/app.js", "text/javascript"),
        ("/dashboard/app.css", "text/css"),
    ] {
        let resp = d.http.get(d.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.starts_with(kind), "{path} is served as {ct}");
        assert!(
            resp.headers().contains_key("content-security-policy"),
            "{path} has no CSP"
        );
        let body = resp.text().await.unwrap();
        assert!(!body.is_empty(), "{path} is empty");
        for far in ["http://", "https://", "//fonts.", "@import"] {
            assert!(!body.contains(far), "{path} reaches outside: {far:?}");
        }
        if path.ends_with(".js") {
            // Node names come from anyone who can register: text only.
            for sink in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "eval(",
            ] {
                assert!(!body.contains(sink), "app.js uses {sink}");
            }
        }
    }
    for asset in assets {
        let r = d.get(&asset, None).await;
        assert_eq!(r.status, 200, "{asset} is referenced but not served");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_in_headless_chromium() {
    check_browser_prerequisites();
    let _browser = BROWSER.read().await;

    let d = TestDaemon::start(&["--no-reachability-check"]);
    let admin = d.admin_token();

    // An approved, online node with a custom name.
    let online = d.register("gpu-node-01", "10.20.0.11", 8080).await;
    let r = d
        .admin_post(&format!("/v0/nodes/{}/approve", online.id), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = d
        .send(
            reqwest::Method::PATCH,
            &format!("/v0/nodes/{}", online.id),
            Some(&admin),
            Some(json!({"custom_name": "inference-1", "tags": ["rack-a", "fp16"], "notes": "Bought 2024; fans replaced in March."})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // A node waiting for approval, on IPv6, that already sends heartbeats.
    let pending = d.register("gpu-pending", "fd00::7", 9000).await;
    // A node whose name is markup: it must show as text.
    let hostile_name = r#"<img src=x onerror="window.__pwned=1">evil"#;
    let hostile = d.register(hostile_name, "10.20.0.12", 8080).await;
    let r = d
        .admin_post(&format!("/v0/nodes/{}/approve", hostile.id), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let pending_body = json!({
        "node_id": pending.id,
        "cpu_usage": 3.0,
        "memory_usage": 21.0,
        "gpu_usage": 0.0,
        "active_requests": 0,
        "loaded_models": [],
        "loaded_embedding_models": [],
        "initializing": true,
    });
    let heartbeats = keep_alive(
        &d,
        vec![
            (online.token.clone(), heartbeat_body(&online.id)),
            (pending.token.clone(), pending_body),
            (hostile.token.clone(), heartbeat_body(&hostile.id)),
        ],
    );
    assert!(
        eventually(Duration::from_secs(10), || async {
            d.status_of(&online.id).await == "online"
        })
        .await,
        "the online node did not come online"
    );
    assert_eq!(d.status_of(&pending.id).await, "pending");

    let r = d
        .admin_post(
            "/v0/api-keys",
            json!({"name": "dashboard-viewer", "role": "viewer"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let viewer_key = r.body["key"].as_str().unwrap().to_string();

    let screenshot = target_dir().join("dashboard.png");
    run_script(
        &d,
        "dashboard.mjs",
        &[
            ("VIEWER_TOKEN", viewer_key.to_string()),
            ("PENDING_NODE", "gpu-pending".to_string()),
            ("ONLINE_NODE", "inference-1".to_string()),
            ("ONLINE_MACHINE", "gpu-node-01".to_string()),
            ("HOSTILE_NODE", hostile_name.to_string()),
            ("SCREENSHOT", screenshot.display().to_string()),
        ],
    )
    .await;
    heartbeats.abort();

    // What the clicks did, seen through the API.
    let node = d.node(&pending.id).await;
    assert_eq!(node["approved"], true, "approve by click: {node}");
    assert_ne!(node["status"], "pending", "{node}");
    assert!(node["approved_at"].is_string(), "{node}");
    let r = d.admin_get(&format!("/v0/nodes/{}", hostile.id)).await;
    assert_eq!(r.status, 404, "remove by click: {}", r.body);
    let r = d.admin_get("/v0/nodes").await;
    let late = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["machine_name"] == "gpu-late");
    let late = late.expect("the node the page registered is listed");
    assert_eq!(late["approved"], true, "{late}");
    let node = d.node(&online.id).await;
    assert_eq!(
        node["token_rotation_pending"], true,
        "rotate by click started no rotation: {node}"
    );

    for name in [
        "dashboard.png",
        "dashboard-narrow.png",
        "dashboard-detail.png",
        "dashboard-login.png",
    ] {
        let p = target_dir().join(name);
        let len = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
        assert!(len > 1000, "screenshot {} is missing or empty", p.display());
        println!("screenshot: {}", p.display());
    }
}

/// The admin panels, driven by `tests/browser/join-tokens.mjs`: an admin
/// creates a join token (a tag, 3 uses) in the page, which shows its secret
/// once; the script registers a machine with the secret it read from the
/// page, sees 2 uses left after a poll, and revokes it (and an expired one)
/// with clicks. Recent activity is checked on replies the script serves,
/// and on this daemon either way (with or without `/v0/audit`). A viewer
/// sees neither panel. The daemon admits registrations only with a join
/// token, so the registration proves the secret on the page is the real one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_join_tokens_and_activity_panels() {
    check_browser_prerequisites();
    let _browser = BROWSER.read().await;

    let d = TestDaemon::start(&["--no-reachability-check", "--registration", "join-token"]);
    let viewer_key = d.api_key("panels-viewer", "viewer").await;
    let r = d
        .admin_post(
            "/v0/join-tokens",
            json!({"name": "old-expired", "ttl_secs": 1}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let expired_secret = r.body["token"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let screenshot = target_dir().join("dashboard-tokens.png");
    let output = run_script(
        &d,
        "join-tokens.mjs",
        &[
            ("VIEWER_TOKEN", viewer_key.to_string()),
            ("EXPIRED_TOKEN", "old-expired".to_string()),
            ("SCREENSHOT", screenshot.display().to_string()),
        ],
    )
    .await;

    // The machine the script registered with the secret from the page got
    // the token's tag and waits for approval (the token does not approve).
    let node_id = output
        .lines()
        .find_map(|l| l.strip_prefix("NODE_ID="))
        .expect("the script names the node it registered")
        .trim()
        .to_string();
    let node = d.node(&node_id).await;
    assert_eq!(node["machine_name"], "gpu-joined", "{node}");
    assert_eq!(node["tags"], json!(["rack-7"]), "{node}");
    assert_eq!(node["status"], "pending", "{node}");

    // Both tokens were revoked by clicks: the API lists none, and neither
    // registers anything any more.
    let r = d.admin_get("/v0/join-tokens").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body,
        json!([]),
        "join tokens left after the page revoked them"
    );
    let r = into_reply(
        d.http
            .post(d.url("/v0/nodes"))
            .header("X-Join-Token", expired_secret.as_str())
            .json(&registration("gpu-late-join", "10.40.0.8", 8080))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);

    for name in [
        "dashboard-tokens.png",
        "dashboard-tokens-narrow.png",
        "dashboard-tokens-activity.png",
    ] {
        let p = target_dir().join(name);
        let len = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
        assert!(len > 1000, "screenshot {} is missing or empty", p.display());
        println!("screenshot: {}", p.display());
    }
}

/// How many nodes the large-fleet test imports, and how many of them wait in
/// pending (the flood of issue 10).
const FLEET: usize = 10_000;
const FLEET_PENDING: usize = 3_000;

/// Legacy `nodes.json` records for a fleet of `FLEET` machines: those whose
/// index ends in 0, 3 or 6 are pending, the others approved (they show
/// `offline`: imported nodes have no token); varied GPUs, models, tags,
/// custom names, and last heartbeats up to 15 minutes ago, so that "last
/// seen" changes at every poll.
fn legacy_fleet() -> Vec<Value> {
    let now = chrono::Utc::now();
    let gpus = [
        ("NVIDIA H100 80GB HBM3", 8, 85_899_345_920u64),
        ("NVIDIA A100-SXM4-40GB", 4, 42_949_672_960),
        ("NVIDIA GeForce RTX 4090", 2, 25_757_220_864),
    ];
    let models = [
        "llama-3-8b",
        "qwen2.5-72b-instruct",
        "mistral-7b-instruct-v0.3",
    ];
    (0..FLEET)
        .map(|i| {
            let (model, count, memory) = gpus[i % gpus.len()];
            let seen = now - chrono::Duration::seconds((i % 900) as i64 + 3);
            let mut n = json!({
                "id": format!("{:08x}-7e57-4f1e-9e70-{i:012x}", (i as u64).wrapping_mul(2_654_435_761) as u32),
                "machine_name": format!("fleet-{i:05}"),
                "ip_address": format!("10.{}.{}.{}", 100 + i / 65_536, (i / 256) % 256, i % 256),
                "runtime_version": "llama.cpp b4000",
                "runtime_port": 8080,
                "node_api_port": 8081,
                "status": if matches!(i % 10, 0 | 3 | 6) { "pending" } else { "offline" },
                "registered_at": (now - chrono::Duration::days(3)).to_rfc3339(),
                "last_seen": seen.to_rfc3339(),
                "gpu_available": true,
                "gpu_devices": [{"model": model, "count": count, "memory": memory}],
                "loaded_models": [models[i % models.len()]],
                "tags": [format!("rack-{}", i % 40), "fp16"],
            });
            if i % 7 == 0 {
                n["custom_name"] = json!(format!("rack {} slot {}", i % 40, i / 40));
            }
            n
        })
        .collect()
}

/// A page with 10,000 nodes in the list (3,000 of them pending) renders and
/// follows changes in headless Chromium (`tests/browser/large-fleet.mjs`):
/// sign-in, the first render, polls that bring approvals and new
/// registrations, paging, the status filter, the search box and the detail
/// view. It stays fast by doing work that depends on the page, not on the
/// fleet, and that is what is checked, whatever the machine's speed: the
/// table never holds more than a page of rows, the document stays smaller
/// than the fleet, and a poll with nothing changed inserts no row. The
/// longest main-thread task is printed; `bench/dashboard.sh` runs this test
/// with a limit on it (`MAX_TASK_MS`, docs/benchmarks.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_stays_responsive_with_10000_nodes() {
    check_browser_prerequisites();
    let _browser = BROWSER.write().await;

    // Thousands of pending nodes and a test that registers more from one
    // address: past the limits that hold off strangers (tests/security.rs).
    let d = TestDaemon::start(&[
        "--no-reachability-check",
        "--max-pending",
        "100000",
        "--rate-limit",
        "0",
    ]);
    let admin = d.admin_token();
    let fleet = legacy_fleet();
    assert_eq!(
        fleet.iter().filter(|n| n["status"] == "pending").count(),
        FLEET_PENDING
    );
    let r = d.admin_post("/v0/import/nodes", Value::Array(fleet)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["imported"], FLEET, "{}", r.body);

    // A few live machines, so that every poll also carries fresh metrics.
    let mut live = Vec::new();
    for i in 0..5 {
        let n = d
            .register(&format!("live-{i}"), &format!("10.30.0.{}", i + 1), 8080)
            .await;
        let r = d
            .admin_post(&format!("/v0/nodes/{}/approve", n.id), json!({}))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        live.push((n.token.clone(), heartbeat_body(&n.id)));
    }
    let heartbeats = keep_alive(&d, live);
    // A machine that registers with live-0's name and port without its
    // token: a node of its own, and both rows must say so.
    let twin = d.register("live-0", "10.30.0.99", 8080).await;
    assert_ne!(d.node(&twin.id).await["same_machine_name_as"], json!([]));

    run_script(
        &d,
        "large-fleet.mjs",
        &[
            ("ADMIN_TOKEN", admin.to_string()),
            ("MIN_NODES", FLEET.to_string()),
            ("TWIN_NAME", "live-0".to_string()),
        ],
    )
    .await;
    heartbeats.abort();

    // The script approved 100 pending nodes and registered 50 machines
    // through the API while the page was open (beside the twin).
    let r = d.admin_get("/v0/nodes?status=pending").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body.as_array().unwrap().len(),
        FLEET_PENDING - 100 + 50 + 1,
        "pending nodes after the script's changes"
    );
}

/// Runs `tests/browser/{script}` against `d` as `admin`, with `env`;
/// fails the test with the script's output and the daemon's log unless it
/// succeeds, and returns its output.
async fn run_script(d: &TestDaemon, script: &str, env: &[(&str, String)]) -> String {
    let mut cmd = Command::new("node");
    cmd.arg(repo().join("tests/browser").join(script))
        .current_dir(repo())
        .env("LLMLB_URL", d.url(""))
        .env("ADMIN_USERNAME", "admin")
        .env("ADMIN_PASSWORD", d.admin_password())
        .env("CHROMIUM", chromium());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let (ok, output) = tokio::task::spawn_blocking(move || run_with_timeout(cmd, BROWSER_TIMEOUT))
        .await
        .unwrap();
    println!("{script} ran for {} ms", started.elapsed().as_millis());
    assert!(
        ok,
        "the browser test {script} failed:\n{output}\n--- daemon log (tail)\n{}",
        tail(&d.logs(), 40)
    );
    println!("{output}");
    output
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
