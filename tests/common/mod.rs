//! Test seams: the real `llmlbd` binary on `127.0.0.1:0` with a temporary
//! data dir, a stub OpenAI runtime for the reachability probe, and small HTTP
//! helpers. Each test file uses what it needs.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// A running `llmlbd` process.
pub struct TestDaemon {
    pub addr: SocketAddr,
    pub dir: Arc<tempfile::TempDir>,
    child: Option<Child>,
    logs: Arc<Mutex<Vec<String>>>,
    extra_args: Vec<String>,
    /// `http`, or `https` when the daemon serves TLS.
    pub scheme: &'static str,
    pub http: reqwest::Client,
}

pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl TestDaemon {
    /// Starts a daemon with a fresh data dir and the given extra flags.
    pub fn start(extra: &[&str]) -> TestDaemon {
        let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        Self::start_in(dir, "127.0.0.1:0", extra).expect("daemon starts")
    }

    /// Starts a daemon on `dir`; returns the stderr text if it exits instead.
    pub fn start_in(
        dir: Arc<tempfile::TempDir>,
        listen: &str,
        extra: &[&str],
    ) -> Result<TestDaemon, String> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_llmlbd"));
        cmd.arg("--listen")
            .arg(listen)
            .arg("--data-dir")
            .arg(dir.path())
            .args(extra)
            .env_remove("LLMLB_ADMIN_PASSWORD")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn llmlbd");
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                for scheme in ["http", "https"] {
                    let marker = format!("listening on {scheme}://");
                    if let Some(i) = line.find(&marker) {
                        let addr = line[i + marker.len()..]
                            .split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_string();
                        let _ = tx.send((scheme, addr));
                    }
                }
                sink.lock().unwrap().push(line);
            }
        });
        let (scheme, addr) = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok((scheme, a)) => (scheme, a.parse().expect("listening address")),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(100));
                return Err(logs.lock().unwrap().join("\n"));
            }
        };
        Ok(TestDaemon {
            addr,
            dir,
            child: Some(child),
            logs,
            extra_args: extra.iter().map(|s| s.to_string()).collect(),
            scheme,
            // The helpers check the API, not the certificate: tests/tls.rs
            // checks trust with clients of its own.
            http: reqwest::Client::builder()
                .no_proxy()
                .danger_accept_invalid_certs(scheme == "https")
                .build()
                .unwrap(),
        })
    }

    /// The process id of the running daemon.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the daemon is running").id()
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{}", self.scheme, self.addr, path)
    }

    pub fn admin_token(&self) -> String {
        std::fs::read_to_string(self.data_dir().join("admin.token"))
            .expect("admin.token")
            .trim()
            .to_string()
    }

    pub fn admin_password(&self) -> String {
        std::fs::read_to_string(self.data_dir().join("admin.password"))
            .expect("admin.password")
            .trim()
            .to_string()
    }

    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// Sends SIGTERM and waits for the exit; returns the exit code.
    pub fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("llmlbd did not stop within 20 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the daemon with SIGKILL, as a crash would; `restart` then
    /// starts it again on the same data dir.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stops and starts again on the same data dir (and the same flags).
    pub fn restart(&mut self) {
        self.restart_on("127.0.0.1:0");
    }

    /// Stops and starts again on the same data dir, flags and port.
    pub fn restart_same_port(&mut self) {
        let addr = self.addr.to_string();
        self.restart_on(&addr);
    }

    fn restart_on(&mut self, listen: &str) {
        self.stop();
        let extra: Vec<&str> = self.extra_args.iter().map(String::as_str).collect();
        let next = Self::start_in(self.dir.clone(), listen, &extra).expect("restart");
        let old_logs = std::mem::take(&mut *self.logs.lock().unwrap());
        next.logs.lock().unwrap().splice(0..0, old_logs);
        *self = next;
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        into_reply(req.send().await.expect("request reaches the daemon")).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(reqwest::Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.send(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    pub async fn admin_get(&self, path: &str) -> Reply {
        self.get(path, Some(&self.admin_token())).await
    }

    pub async fn admin_post(&self, path: &str, body: Value) -> Reply {
        self.post(path, Some(&self.admin_token()), body).await
    }

    /// `POST /v0/auth/login` with these credentials.
    pub async fn login(&self, username: &str, password: &str) -> Reply {
        self.post(
            "/v0/auth/login",
            None,
            json!({"username": username, "password": password}),
        )
        .await
    }

    /// A session token of `admin`.
    pub async fn admin_session(&self) -> String {
        let r = self.login("admin", &self.admin_password()).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["token"].as_str().unwrap().to_string()
    }

    /// Creates an API key with the admin token; returns its secret.
    pub async fn api_key(&self, name: &str, role: &str) -> String {
        let r = self
            .admin_post("/v0/api-keys", json!({"name": name, "role": role}))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["key"].as_str().unwrap().to_string()
    }

    /// Sends a heartbeat with the given token.
    pub async fn heartbeat(&self, token: &str, body: Value) -> Reply {
        let req = self
            .http
            .post(self.url("/v0/health"))
            .header("X-Node-Token", token)
            .json(&body);
        into_reply(req.send().await.expect("request reaches the daemon")).await
    }

    /// `POST /v0/nodes` with `body`, carrying `proof` as `X-Node-Token`.
    pub async fn register_proving(&self, body: &Value, proof: Option<&str>) -> Reply {
        let mut req = self.http.post(self.url("/v0/nodes")).json(body);
        if let Some(t) = proof {
            req = req.header("X-Node-Token", t);
        }
        into_reply(req.send().await.expect("request reaches the daemon")).await
    }

    /// Registers a machine (with the probe off or pointed at `stub_port`).
    pub async fn register(&self, machine: &str, ip: &str, runtime_port: u16) -> Registered {
        let r = self
            .post("/v0/nodes", None, registration(machine, ip, runtime_port))
            .await;
        assert!(
            r.status == 201 || r.status == 200,
            "registration failed: {} {}",
            r.status,
            r.body
        );
        Registered {
            id: r.body["node_id"].as_str().unwrap().to_string(),
            token: r.body["runtime_token"].as_str().unwrap().to_string(),
        }
    }

    pub async fn node(&self, id: &str) -> Value {
        let r = self.admin_get(&format!("/v0/nodes/{id}")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    pub async fn status_of(&self, id: &str) -> String {
        self.node(id).await["status"].as_str().unwrap().to_string()
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir().join("llmlb.db")
    }
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub async fn into_reply(resp: reqwest::Response) -> Reply {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Reply { status, body }
}

pub struct Registered {
    pub id: String,
    pub token: String,
}

/// `llmlb-node` pointed at `lb_url`, serving `runtime`, with a declared GPU
/// and its state in `state_dir`; stdout discarded, stderr piped.
pub fn agent_cmd_named(
    lb_url: &str,
    runtime: SocketAddr,
    state_dir: &Path,
    machine_name: &str,
) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_llmlb-node"));
    c.args(["--lb-url", lb_url])
        .args(["--runtime-url", &format!("http://{runtime}")])
        .args(["--advertise-ip", "127.0.0.1"])
        .args(["--machine-name", machine_name])
        .args(["--gpu", "RTX 4090:2:24GiB"])
        .arg("--state-dir")
        .arg(state_dir)
        .env_remove("NOTIFY_SOCKET")
        .env_remove("LLMLB_GPU")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

/// A valid registration body.
pub fn registration(machine: &str, ip: &str, runtime_port: u16) -> Value {
    json!({
        "machine_name": machine,
        "ip_address": ip,
        "runtime_version": "llama.cpp b4000",
        "runtime_port": runtime_port,
        "node_api_port": runtime_port,
        "gpu_available": true,
        "gpu_devices": [{"model": "NVIDIA RTX 4090", "count": 2, "memory": 25_757_220_864u64}],
    })
}

/// A heartbeat body that makes an approved node `online`.
pub fn heartbeat_body(node_id: &str) -> Value {
    json!({
        "node_id": node_id,
        "cpu_usage": 12.5,
        "memory_usage": 40.0,
        "gpu_usage": 80.0,
        "active_requests": 1,
        "loaded_models": ["llama-3-8b"],
        "loaded_embedding_models": [],
        "initializing": false,
        "ready_models": [1, 1],
    })
}

/// A stub OpenAI-compatible runtime answering `GET /v1/models`, on
/// `127.0.0.1:0` (or `[::1]:0`). Dropped with the test's runtime.
pub async fn stub_runtime(bind: &str) -> SocketAddr {
    use axum::routing::get;
    let app = axum::Router::new().route(
        "/v1/models",
        get(|| async {
            axum::Json(json!({"object": "list", "data": [{"id": "llama-3-8b", "object": "model"}]}))
        }),
    );
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .expect("bind stub");
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// Polls `f` until it returns true or `timeout` passes.
pub async fn eventually<F, Fut>(timeout: Duration, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if f().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
