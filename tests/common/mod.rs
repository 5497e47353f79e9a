//! Test seams: a daemon on `127.0.0.1:0` with a temporary data dir, either
//! in this process (`InProcess`: `llmlb::daemon::prepare` + `spawn`, the
//! default for API tests) or as the real `llmlbd` binary (`TestDaemon`: for
//! signals, sd_notify, the data-dir lock, logs, the CLI and the agent). Both
//! dereference to `Api`, the HTTP helpers (admin session, register, approve,
//! heartbeat, ...), so a test reads the same either way. `stub.rs` is the one
//! stub OpenAI runtime, `spawn.rs` the one way to start `llmlbd` and read
//! its listening line.
#![allow(dead_code)]

pub mod agent;
pub mod inprocess;
pub mod spawn;
pub mod stub;

#[allow(unused_imports)]
pub use agent::TestAgent;
#[allow(unused_imports)]
pub use inprocess::{InProcess, ManualClock};
#[allow(unused_imports)]
pub use stub::{Stub, STUB_MODEL};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use llmlb::client::Client;
use llmlb::secret::Secret;
use llmlb::tls::{Fingerprint, Trust};
use serde_json::{json, Value};

/// How long a daemon binary may take to print its listening line.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A daemon's address and data dir, and the HTTP helpers every test uses.
pub struct Api {
    pub addr: SocketAddr,
    pub dir: Arc<tempfile::TempDir>,
    /// `http`, or `https` when the daemon serves TLS.
    pub scheme: &'static str,
    pub http: reqwest::Client,
    /// The certificate an `https` daemon serves, which `client` pins.
    cert: Option<PathBuf>,
}

/// A running `llmlbd` process.
pub struct TestDaemon {
    api: Api,
    child: Option<Child>,
    log: spawn::Log,
    extra_args: Vec<String>,
}

pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl std::ops::Deref for TestDaemon {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.api
    }
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
            .stdout(Stdio::null());
        let spawned = spawn::spawn_llmlbd(&mut cmd, START_TIMEOUT, usize::MAX)?;
        let scheme = spawned.listening.scheme;
        Ok(TestDaemon {
            api: Api::new(spawned.listening.addr, dir, scheme, extra),
            child: Some(spawned.child),
            log: spawned.log,
            extra_args: extra.iter().map(|s| s.to_string()).collect(),
        })
    }

    /// The process id of the running daemon.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the daemon is running").id()
    }

    pub fn logs(&self) -> String {
        self.log.text()
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
        next.log.prepend(&self.log);
        *self = next;
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

impl Api {
    /// The helpers of the daemon at `addr` on `dir`, started with `extra`.
    pub fn new(
        addr: SocketAddr,
        dir: Arc<tempfile::TempDir>,
        scheme: &'static str,
        extra: &[&str],
    ) -> Api {
        let cert =
            (scheme == "https").then(|| match extra.iter().position(|a| *a == "--tls-cert") {
                Some(i) => PathBuf::from(extra[i + 1]),
                None => dir.path().join(llmlb::daemon::tls::SELF_SIGNED_CERT),
            });
        Api {
            cert,
            addr,
            dir,
            scheme,
            // The helpers check the API, not the certificate: tests/tls.rs
            // checks trust with clients of its own.
            http: reqwest::Client::builder()
                .no_proxy()
                .danger_accept_invalid_certs(scheme == "https")
                .build()
                .unwrap(),
        }
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

    /// The typed client of `llmlbctl` and `llmlb-node`, with `token`; it
    /// pins the certificate of an `https` daemon.
    pub fn client(&self, token: Option<&str>) -> Client {
        let trust = match &self.cert {
            None => Trust::SystemRoots,
            Some(cert) => {
                use rustls_pki_types::pem::PemObject;
                let der = rustls_pki_types::CertificateDer::from_pem_file(cert)
                    .expect("the daemon's certificate");
                Trust::Pinned {
                    fingerprint: Fingerprint::parse(&llmlb::tls::fingerprint(&der)).unwrap(),
                    flag: "--pin",
                }
            }
        };
        let token = token.map(|t| Secret::new(t.to_string()));
        Client::with_trust(&self.url(""), token, Duration::from_secs(30), &trust)
            .expect("a client for the daemon")
    }

    /// The typed client with the admin API key.
    pub fn admin(&self) -> Client {
        self.client(Some(&self.admin_token()))
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

    /// A session token of `admin`, through the typed client.
    pub async fn admin_session(&self) -> String {
        let r = self
            .client(None)
            .login("admin", &self.admin_password())
            .await
            .expect("admin logs in");
        r.token
    }

    /// Creates an API key with the admin token (through the typed client);
    /// returns its secret.
    pub async fn api_key(&self, name: &str, role: &str) -> String {
        let req = serde_json::from_value(json!({"name": name, "role": role})).unwrap();
        let r = self.admin().create_api_key(&req).await.expect("API key");
        r.decode().unwrap().key
    }

    /// `POST /v0/nodes/{id}/approve` through the typed client; the node.
    pub async fn approve(&self, id: &str) -> Value {
        let r = self.admin().approve(id).await.expect("approve");
        serde_json::from_slice(&r.raw).unwrap()
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

    /// Registers a machine (with the probe off or pointed at
    /// `runtime_port`) through the typed client.
    pub async fn register(&self, machine: &str, ip: &str, runtime_port: u16) -> Registered {
        let req = serde_json::from_value(registration(machine, ip, runtime_port)).unwrap();
        let r = self
            .client(None)
            .register(&req, None, None)
            .await
            .unwrap_or_else(|e| panic!("registration failed: {e}"));
        Registered {
            id: r.node_id,
            token: r.runtime_token,
        }
    }

    /// The node helper: registers `stub` as a node (its name, its port as
    /// `node_api_port`), approves it when `approve`, and sends a heartbeat
    /// with the stub's models ready, so an approved one is `online`.
    pub async fn node_for(&self, stub: &Stub, approve: bool) -> Registered {
        let n = self.register(&stub.name, "127.0.0.1", stub.port()).await;
        if approve {
            self.approve(&n.id).await;
        }
        let k = stub.models.len() as u32;
        let r = self
            .heartbeat(
                &n.token,
                json!({"node_id": n.id, "cpu_usage": 1.0, "memory_usage": 1.0,
                       "loaded_models": stub.models, "ready_models": [k, k]}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        n
    }

    /// `GET /v0/nodes/{id}` through the typed client, as JSON.
    pub async fn node(&self, id: &str) -> Value {
        let r = self
            .admin()
            .get_node(id)
            .await
            .unwrap_or_else(|e| panic!("node {id}: {e}"));
        serde_json::from_slice(&r.raw).unwrap()
    }

    pub async fn status_of(&self, id: &str) -> String {
        self.node(id).await["status"].as_str().unwrap().to_string()
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir().join("llmlb.db")
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

/// A stub runtime (`stub.rs`) on `bind` (`127.0.0.1:0` or `[::1]:0`),
/// serving `llama-3-8b`, for the registration probe; it lives as long as the
/// test's runtime.
pub async fn stub_runtime(bind: &str) -> SocketAddr {
    Stub::named("stub").bind(bind).start().await.addr
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
