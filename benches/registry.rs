//! Registry benchmark: the figures of the scale issue, measured against the
//! real release `llmlbd` binary over loopback.
//!
//! Run with `cargo bench --bench registry`. The daemon runs as its own
//! process; this process hosts a stub OpenAI runtime (so registrations go
//! through the real reachability probe) and a lean load generator: hyper's
//! HTTP/1 client on a single-threaded runtime, keep-alive connections and
//! request bodies serialised up front, so the daemon keeps as much of the
//! machine as a one-thread generator allows.
//!
//! Phases, all bounded:
//! 1. register `NODES` nodes with `REG_CONCURRENCY` requests in flight;
//! 2. heartbeats, closed loop, `HB_CONNECTIONS` connections for `HB_SECS`
//!    (throughput), then paced at `HB_PACED_RATE` and `HB_LIGHT_RATE` per
//!    second (latency at a given load);
//! 3. `GET /v0/nodes` `LIST_REQUESTS` times;
//! 4. resident memory of the daemon;
//! 5. SIGTERM, start again on the same data dir (start-up with the fleet);
//! 6. import of a legacy `nodes.json` over HTTP and at start-up.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "../tests/common/spawn.rs"]
mod spawn;
#[path = "../tests/common/stub.rs"]
mod stub;

use bytes::Bytes;
use chrono::{SubsecRound, Utc};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpStream;

/// Fleet size.
const NODES: usize = 10_000;
/// Registrations in flight at once.
const REG_CONCURRENCY: usize = 8;
/// Keep-alive connections sending heartbeats.
const HB_CONNECTIONS: usize = 64;
/// Length of the closed-loop heartbeat run (throughput).
const HB_SECS: u64 = 10;
/// Offered rate of the paced heartbeat run (latency at the target rate).
const HB_PACED_RATE: u64 = 20_000;
/// A lighter paced rate, to tell queueing from per-request cost.
const HB_LIGHT_RATE: u64 = 10_000;
/// Length of each paced heartbeat run.
const HB_PACED_SECS: u64 = 5;
/// Number of `GET /v0/nodes` requests timed.
const LIST_REQUESTS: usize = 20;
/// How long a daemon may take to print its listening line.
const START_TIMEOUT: Duration = Duration::from_secs(60);

const NODE_TOKEN: HeaderName = HeaderName::from_static("x-node-token");

// ----- the daemon process ---------------------------------------------

/// A running `llmlbd`.
struct Daemon {
    child: Option<Child>,
    addr: SocketAddr,
    /// Spawn → the listening line read from its stderr.
    startup: Duration,
    /// The `startup_ms` the daemon logs itself (its own view).
    startup_ms_logged: Option<u64>,
    /// The last lines of its log, for error messages.
    log: spawn::Log,
}

impl Daemon {
    fn start(dir: &Path) -> Daemon {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_llmlbd"));
        cmd.arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(dir)
            // The whole fleet registers from this one address, past the
            // defaults that limit strangers.
            .args(["--rate-limit", "0", "--max-pending", "1000000"])
            .env_remove("LLMLB_ADMIN_PASSWORD")
            .env_remove("LLMLB_NO_REACHABILITY_CHECK")
            .env("RUST_LOG", "info")
            .env("LLMLB_LOG_FORMAT", "text")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        let spawned = Instant::now();
        let s = spawn::spawn_llmlbd(&mut cmd, START_TIMEOUT, 40).unwrap_or_else(|log| {
            panic!("llmlbd did not print its listening line within {START_TIMEOUT:?}:\n{log}")
        });
        Daemon {
            child: Some(s.child),
            addr: s.listening.addr,
            startup: s.listening.at.duration_since(spawned),
            startup_ms_logged: s.listening.startup_ms,
            log: s.log,
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// SIGTERM, then waits for the exit; returns how long that took.
    fn stop(&mut self) -> Duration {
        let Some(mut child) = self.child.take() else {
            return Duration::ZERO;
        };
        let asked = Instant::now();
        let sent = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {} failed", child.id());
        let deadline = asked + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().expect("wait for llmlbd") {
                assert!(
                    status.success(),
                    "llmlbd exited with {status} after SIGTERM:\n{}",
                    self.log_tail()
                );
                return asked.elapsed();
            }
            assert!(
                Instant::now() < deadline,
                "llmlbd did not stop within 30 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn log_tail(&self) -> String {
        self.log.text()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn admin_token(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("admin.token"))
        .expect("admin.token in the data dir")
        .trim()
        .to_string()
}

/// A field of `/proc/<pid>/status` in kB, e.g. `VmRSS`.
fn proc_status_kb(pid: u32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// User + system CPU time of a process (all threads), in clock ticks.
fn cpu_ticks(pid: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc stat");
    // Fields after the command name, which is in parentheses; utime and
    // stime are fields 14 and 15 of the whole line.
    let rest = &text[text.rfind(')').expect("stat format") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn clock_ticks_per_sec() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Busy (not idle, not waiting for I/O) clock ticks of the whole machine.
fn machine_busy_ticks() -> u64 {
    let text = std::fs::read_to_string("/proc/stat").expect("/proc/stat");
    let f: Vec<u64> = text
        .lines()
        .next()
        .expect("cpu line")
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|v| v.parse().unwrap())
        .collect();
    // user nice system idle iowait irq softirq steal
    f.iter().sum::<u64>() - f[3] - f[4]
}

/// CPU use of the daemon, of this process and of everything else on the
/// machine (other work disturbs the figures) over an interval.
struct CpuMeter {
    daemon_pid: String,
    start: Instant,
    daemon: u64,
    me: u64,
    machine: u64,
}

/// Cores used on average (1.0 = one core busy).
struct CpuUse {
    daemon: f64,
    generator: f64,
    other: f64,
}

impl CpuMeter {
    fn start(daemon_pid: u32) -> CpuMeter {
        let daemon_pid = daemon_pid.to_string();
        CpuMeter {
            daemon: cpu_ticks(&daemon_pid),
            me: cpu_ticks("self"),
            machine: machine_busy_ticks(),
            daemon_pid,
            start: Instant::now(),
        }
    }

    fn finish(&self, hz: f64) -> CpuUse {
        let secs = self.start.elapsed().as_secs_f64();
        let cores = |ticks: u64| ticks as f64 / hz / secs;
        let daemon = cores(cpu_ticks(&self.daemon_pid) - self.daemon);
        let generator = cores(cpu_ticks("self") - self.me);
        let machine = cores(machine_busy_ticks() - self.machine);
        CpuUse {
            daemon,
            generator,
            other: (machine - daemon - generator).max(0.0),
        }
    }
}

impl std::fmt::Display for CpuUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.2} / {:.2} / {:.2} cores",
            self.daemon, self.generator, self.other
        )
    }
}

// ----- HTTP client ----------------------------------------------------

/// One keep-alive HTTP/1 connection.
struct Conn {
    sender: SendRequest<Full<Bytes>>,
    host: HeaderValue,
}

impl Conn {
    async fn open(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).await.expect("connect to llmlbd");
        stream.set_nodelay(true).expect("nodelay");
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("HTTP/1 handshake");
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Conn {
            sender,
            host: HeaderValue::from_str(&addr.to_string()).unwrap(),
        }
    }

    fn request(
        &self,
        method: Method,
        path: &'static str,
        headers: &[(HeaderName, &HeaderValue)],
        body: Bytes,
    ) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = method;
        *req.uri_mut() = hyper::Uri::from_static(path);
        let h = req.headers_mut();
        h.insert(HOST, self.host.clone());
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (name, value) in headers {
            h.insert(name.clone(), (*value).clone());
        }
        req
    }

    /// Sends and reads the whole answer: (status, body).
    async fn send(&mut self, req: Request<Full<Bytes>>) -> (u16, Bytes) {
        self.sender.ready().await.expect("connection usable");
        let resp = self.sender.send_request(req).await.expect("llmlbd answers");
        let status = resp.status().as_u16();
        let body = resp
            .into_body()
            .collect()
            .await
            .expect("response body")
            .to_bytes();
        (status, body)
    }

    async fn call(
        &mut self,
        method: Method,
        path: &'static str,
        headers: &[(HeaderName, &HeaderValue)],
        body: Bytes,
    ) -> (u16, Bytes) {
        let req = self.request(method, path, headers, body);
        self.send(req).await
    }
}

fn bearer(token: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("Bearer {token}")).expect("token is header-safe")
}

// ----- the stub runtime -----------------------------------------------

/// The tests' stub OpenAI runtime (`tests/common/stub.rs`) on `127.0.0.1:0`.
async fn stub_runtime() -> SocketAddr {
    stub::Stub::named("bench").start().await.addr
}

// ----- statistics -----------------------------------------------------

/// Latency samples in microseconds.
#[derive(Default)]
struct Samples(Vec<u32>);

impl Samples {
    fn push(&mut self, d: Duration) {
        self.0
            .push(u32::try_from(d.as_micros()).unwrap_or(u32::MAX));
    }

    fn merge(&mut self, other: Samples) {
        self.0.extend(other.0);
    }

    fn finish(mut self) -> Stats {
        self.0.sort_unstable();
        Stats(self.0)
    }
}

/// Sorted latency samples in microseconds.
struct Stats(Vec<u32>);

impl Stats {
    fn len(&self) -> usize {
        self.0.len()
    }

    /// The nearest-rank percentile, in milliseconds.
    fn pct(&self, p: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * self.0.len() as f64).ceil() as usize;
        f64::from(self.0[rank.clamp(1, self.0.len()) - 1]) / 1000.0
    }

    fn max(&self) -> f64 {
        self.0.last().map_or(f64::NAN, |v| f64::from(*v) / 1000.0)
    }
}

// ----- phases ---------------------------------------------------------

/// What a node needs to send heartbeats.
struct NodeCred {
    token: HeaderValue,
    body: Bytes,
}

struct Registration {
    latency: Stats,
    elapsed: Duration,
    nodes: Vec<NodeCred>,
}

async fn register_all(addr: SocketAddr, stub_port: u16) -> Registration {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..REG_CONCURRENCY {
        let next = next.clone();
        workers.push(tokio::spawn(async move {
            let mut conn = Conn::open(addr).await;
            let mut lat = Samples::default();
            let mut got = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= NODES {
                    break;
                }
                let body = serde_json::to_vec(&json!({
                    "machine_name": format!("bench-node-{i:05}"),
                    "ip_address": "127.0.0.1",
                    "runtime_version": "llama.cpp b4000",
                    "runtime_port": 8080,
                    "node_api_port": stub_port,
                    "gpu_available": true,
                    "gpu_devices": [
                        {"model": "NVIDIA RTX 4090", "count": 2, "memory": 25_757_220_864u64}
                    ],
                    "tags": ["bench"],
                }))
                .unwrap();
                let req = conn.request(Method::POST, "/v0/nodes", &[], Bytes::from(body));
                let t = Instant::now();
                let (status, body) = conn.send(req).await;
                lat.push(t.elapsed());
                assert_eq!(
                    status,
                    201,
                    "registration {i} failed: {}",
                    String::from_utf8_lossy(&body)
                );
                let v: Value = serde_json::from_slice(&body).expect("registration JSON");
                let id = v["node_id"].as_str().expect("node_id").to_string();
                let token = v["runtime_token"].as_str().expect("runtime_token");
                got.push((i, id, HeaderValue::from_str(token).unwrap()));
            }
            (lat, got)
        }));
    }
    let mut lat = Samples::default();
    let mut all = Vec::with_capacity(NODES);
    for w in workers {
        let (l, got) = w.await.expect("registration worker");
        lat.merge(l);
        all.extend(got);
    }
    let elapsed = started.elapsed();
    all.sort_by_key(|(i, _, _)| *i);
    let nodes = all
        .into_iter()
        .map(|(_, id, token)| NodeCred {
            token,
            body: Bytes::from(heartbeat_body(&id)),
        })
        .collect();
    Registration {
        latency: lat.finish(),
        elapsed,
        nodes,
    }
}

fn heartbeat_body(node_id: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "node_id": node_id,
        "cpu_usage": 12.5,
        "memory_usage": 40.0,
        "gpu_usage": 80.0,
        "active_requests": 1,
        "loaded_models": ["llama-3-8b"],
        "loaded_embedding_models": [],
        "initializing": false,
        "ready_models": [1, 1],
    }))
    .unwrap()
}

struct HeartbeatRun {
    latency: Stats,
    errors: usize,
    elapsed: Duration,
    cpu: CpuUse,
}

impl HeartbeatRun {
    fn rate(&self) -> f64 {
        (self.latency.len() + self.errors) as f64 / self.elapsed.as_secs_f64()
    }
}

/// Heartbeats over `HB_CONNECTIONS` connections for `secs`, spread over all
/// nodes in turn. With `rate` each connection sends on a fixed schedule
/// (open loop, `rate` in total); without, as fast as answers come back.
async fn heartbeats(
    addr: SocketAddr,
    nodes: &Arc<Vec<NodeCred>>,
    secs: u64,
    rate: Option<u64>,
    daemon_pid: u32,
    hz: f64,
) -> HeartbeatRun {
    let mut conns = Vec::with_capacity(HB_CONNECTIONS);
    for _ in 0..HB_CONNECTIONS {
        conns.push(Conn::open(addr).await);
    }
    let next = Arc::new(AtomicUsize::new(0));
    let cpu = CpuMeter::start(daemon_pid);
    let start = tokio::time::Instant::now();
    let end = start + Duration::from_secs(secs);
    // Each connection's period in the paced run, and its offset in it.
    let period = rate.map(|r| Duration::from_nanos(HB_CONNECTIONS as u64 * 1_000_000_000 / r));
    let mut tasks = Vec::with_capacity(HB_CONNECTIONS);
    for (c, mut conn) in conns.into_iter().enumerate() {
        let nodes = nodes.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Samples::default();
            let mut errors = 0usize;
            let mut last_end = start;
            for k in 0u32.. {
                if let Some(p) = period {
                    let due = start + p * c as u32 / HB_CONNECTIONS as u32 + p * k;
                    if due >= end {
                        break;
                    }
                    tokio::time::sleep_until(due).await;
                } else if tokio::time::Instant::now() >= end {
                    break;
                }
                let node = &nodes[next.fetch_add(1, Ordering::Relaxed) % nodes.len()];
                let req = conn.request(
                    Method::POST,
                    "/v0/health",
                    &[(NODE_TOKEN, &node.token)],
                    node.body.clone(),
                );
                let t = Instant::now();
                let (status, _) = conn.send(req).await;
                if status == 200 {
                    lat.push(t.elapsed());
                } else {
                    errors += 1;
                }
                last_end = tokio::time::Instant::now();
            }
            (lat, errors, last_end)
        }));
    }
    let mut lat = Samples::default();
    let mut errors = 0;
    let mut last = start;
    for t in tasks {
        let (l, e, done) = t.await.expect("heartbeat task");
        lat.merge(l);
        errors += e;
        last = last.max(done);
    }
    let cpu = cpu.finish(hz);
    HeartbeatRun {
        latency: lat.finish(),
        errors,
        elapsed: last.duration_since(start),
        cpu,
    }
}

struct ListRun {
    latency: Stats,
    bytes: usize,
    count: usize,
}

async fn list_nodes(addr: SocketAddr, token: &str) -> ListRun {
    let mut conn = Conn::open(addr).await;
    let auth = bearer(token);
    let mut lat = Samples::default();
    let mut bytes = 0;
    let mut count = 0;
    for i in 0..LIST_REQUESTS {
        let req = conn.request(
            Method::GET,
            "/v0/nodes",
            &[(AUTHORIZATION, &auth)],
            Bytes::new(),
        );
        let t = Instant::now();
        let (status, body) = conn.send(req).await;
        lat.push(t.elapsed());
        assert_eq!(
            status,
            200,
            "GET /v0/nodes: {}",
            String::from_utf8_lossy(&body)
        );
        if i == 0 {
            let v: Vec<Value> = serde_json::from_slice(&body).expect("a JSON array");
            count = v.len();
            bytes = body.len();
        }
    }
    ListRun {
        latency: lat.finish(),
        bytes,
        count,
    }
}

async fn node_total(addr: SocketAddr) -> u64 {
    let mut conn = Conn::open(addr).await;
    let (status, body) = conn
        .call(Method::GET, "/v0/status", &[], Bytes::new())
        .await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_slice(&body).expect("status JSON");
    v["nodes"]["total"].as_u64().expect("nodes.total")
}

/// A legacy `nodes.json` with `NODES` records, as an older version wrote it.
fn legacy_file() -> Vec<u8> {
    let now = Utc::now().trunc_subsecs(6);
    let records: Vec<Value> = (0..NODES)
        .map(|i| {
            let registered = now - chrono::Duration::seconds(i as i64);
            json!({
                "id": uuid::Uuid::new_v4().to_string(),
                "machine_name": format!("legacy-gpu-{i:05}"),
                "ip_address": format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256),
                "runtime_version": "0.5.7",
                "runtime_port": 11434,
                "node_api_port": 11435,
                "status": "online",
                "registered_at": registered.to_rfc3339(),
                "gpu_available": true,
                "gpu_devices": [
                    {"model": "NVIDIA A100-SXM4-80GB", "count": 8, "memory": 85_899_345_920u64}
                ],
                "loaded_models": ["llama3:8b", "qwen2.5:7b"],
                "tags": [format!("rack-{}", i % 20), "legacy"],
            })
        })
        .collect();
    serde_json::to_vec_pretty(&records).unwrap()
}

// ----- report ---------------------------------------------------------

struct Row {
    figure: String,
    target: String,
    measured: String,
    pass: Option<bool>,
}

fn row(figure: &str, target: &str, measured: String, pass: Option<bool>) -> Row {
    Row {
        figure: figure.to_string(),
        target: target.to_string(),
        measured,
        pass,
    }
}

fn print_table(rows: &[Row]) {
    println!("| figure | target | measured | result |");
    println!("| --- | --- | --- | --- |");
    for r in rows {
        let result = match r.pass {
            Some(true) => "pass",
            Some(false) => "**FAIL**",
            None => "info",
        };
        println!(
            "| {} | {} | {} | {} |",
            r.figure, r.target, r.measured, result
        );
    }
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(run());
}

async fn run() {
    let hz = clock_ticks_per_sec();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    eprintln!(
        "registry bench: {NODES} nodes, {cores} cores, daemon {}",
        env!("CARGO_BIN_EXE_llmlbd")
    );
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    eprintln!("load average before the run: {}", load.trim());
    let bench_started = Instant::now();
    let mut rows = Vec::new();
    let stub = stub_runtime().await;

    // Main daemon: registrations, heartbeats, listing, memory, restart.
    let dir = tempfile::tempdir().expect("temp dir");
    let mut daemon = Daemon::start(dir.path());
    let first_start = daemon.startup;
    let rss_empty = proc_status_kb(daemon.pid(), "VmRSS");
    let token = admin_token(dir.path());
    eprintln!("first start (argon2 bootstrap): {:.0} ms", ms(first_start));

    eprintln!("registering {NODES} nodes, {REG_CONCURRENCY} in flight ...");
    let reg_cpu = CpuMeter::start(daemon.pid());
    let reg = register_all(daemon.addr, stub.port()).await;
    let reg_cpu = reg_cpu.finish(hz);
    let rss_registered = proc_status_kb(daemon.pid(), "VmRSS");
    eprintln!(
        "  {:.1} s, {:.0}/s; CPU daemon / generator+stub / other: {reg_cpu}",
        reg.elapsed.as_secs_f64(),
        NODES as f64 / reg.elapsed.as_secs_f64()
    );
    assert_eq!(node_total(daemon.addr).await, NODES as u64);
    rows.push(row(
        &format!("registration p50 ({REG_CONCURRENCY} in flight, with probe)"),
        "-",
        format!("{:.2} ms", reg.latency.pct(50.0)),
        None,
    ));
    rows.push(row(
        &format!("registration p99 ({REG_CONCURRENCY} in flight, with probe)"),
        "≤ 10 ms",
        format!("{:.2} ms", reg.latency.pct(99.0)),
        Some(reg.latency.pct(99.0) <= 10.0),
    ));
    rows.push(row(
        "registration throughput",
        "-",
        format!("{:.0}/s", NODES as f64 / reg.elapsed.as_secs_f64()),
        None,
    ));
    rows.push(row(
        "CPU daemon / generator+stub / other processes, registering",
        "-",
        reg_cpu.to_string(),
        None,
    ));

    let nodes = Arc::new(reg.nodes);
    eprintln!("heartbeats: {HB_CONNECTIONS} connections, closed loop, {HB_SECS} s ...");
    let hb = heartbeats(daemon.addr, &nodes, HB_SECS, None, daemon.pid(), hz).await;
    eprintln!(
        "  {} ok, {} errors, {:.0}/s; CPU daemon / generator / other: {}",
        hb.latency.len(),
        hb.errors,
        hb.rate(),
        hb.cpu
    );
    assert_eq!(hb.errors, 0, "heartbeats were refused");
    rows.push(row(
        &format!("heartbeat throughput ({HB_CONNECTIONS} conns, closed loop)"),
        "≥ 20,000/s",
        format!("{:.0}/s", hb.rate()),
        Some(hb.rate() >= 20_000.0),
    ));
    rows.push(row(
        "heartbeat p50 / p99 at that throughput",
        "-",
        format!(
            "{:.2} / {:.2} ms",
            hb.latency.pct(50.0),
            hb.latency.pct(99.0)
        ),
        None,
    ));
    rows.push(row(
        "CPU daemon / generator / other processes, that run",
        "-",
        hb.cpu.to_string(),
        None,
    ));

    for rate in [HB_PACED_RATE, HB_LIGHT_RATE] {
        eprintln!("heartbeats: paced at {rate}/s, {HB_PACED_SECS} s ...");
        let paced = heartbeats(
            daemon.addr,
            &nodes,
            HB_PACED_SECS,
            Some(rate),
            daemon.pid(),
            hz,
        )
        .await;
        eprintln!(
            "  {} ok, {} errors, {:.0}/s achieved; CPU daemon / generator / other: {}",
            paced.latency.len(),
            paced.errors,
            paced.rate(),
            paced.cpu
        );
        assert_eq!(paced.errors, 0, "heartbeats were refused");
        // The target holds only if the offered rate was also achieved.
        let achieved = paced.rate() >= rate as f64 * 0.98;
        let p99 = paced.latency.pct(99.0);
        rows.push(row(
            &format!("heartbeat p50 / p99 at {rate}/s offered"),
            if rate == HB_PACED_RATE {
                "p99 ≤ 5 ms"
            } else {
                "-"
            },
            format!(
                "{:.2} / {p99:.2} ms ({:.0}/s achieved, CPU {})",
                paced.latency.pct(50.0),
                paced.rate(),
                paced.cpu
            ),
            (rate == HB_PACED_RATE).then_some(p99 <= 5.0 && achieved),
        ));
    }

    eprintln!("GET /v0/nodes x {LIST_REQUESTS} ...");
    let rss_heartbeats = proc_status_kb(daemon.pid(), "VmRSS");
    let list = list_nodes(daemon.addr, &token).await;
    assert_eq!(list.count, NODES, "GET /v0/nodes lists every node");
    rows.push(row(
        &format!(
            "GET /v0/nodes p50 ({} nodes, {:.1} MB)",
            list.count,
            list.bytes as f64 / 1e6
        ),
        "≤ 50 ms",
        format!("{:.1} ms", list.latency.pct(50.0)),
        Some(list.latency.pct(50.0) <= 50.0),
    ));
    rows.push(row(
        &format!("GET /v0/nodes max of {LIST_REQUESTS}"),
        "≤ 50 ms",
        format!("{:.1} ms", list.latency.max()),
        Some(list.latency.max() <= 50.0),
    ));

    let rss = proc_status_kb(daemon.pid(), "VmRSS");
    let hwm = proc_status_kb(daemon.pid(), "VmHWM");
    rows.push(row(
        "daemon RSS after all of the above",
        "≤ 60 MB",
        format!(
            "{:.1} MB (empty {:.1}, registered {:.1}, after heartbeats {:.1}, peak {:.1})",
            mb(rss),
            mb(rss_empty),
            mb(rss_registered),
            mb(rss_heartbeats),
            mb(hwm)
        ),
        Some(mb(rss) <= 60.0),
    ));

    eprintln!("restart on the same data dir ...");
    let stopped_in = daemon.stop();
    let mut daemon = Daemon::start(dir.path());
    assert_eq!(node_total(daemon.addr).await, NODES as u64);
    rows.push(row(
        &format!("start-up with {NODES} nodes (spawn → listening)"),
        "≤ 1 s",
        format!(
            "{:.0} ms (daemon's own startup_ms {})",
            ms(daemon.startup),
            daemon
                .startup_ms_logged
                .map_or("?".into(), |v| v.to_string())
        ),
        Some(daemon.startup <= Duration::from_secs(1)),
    ));
    rows.push(row(
        "SIGTERM → exit (with write-behind flush)",
        "-",
        format!("{:.0} ms", ms(stopped_in)),
        None,
    ));
    rows.push(row(
        "first start on an empty data dir (argon2)",
        "-",
        format!("{:.0} ms", ms(first_start)),
        None,
    ));
    daemon.stop();
    drop(daemon);

    // Import over HTTP into a fresh daemon.
    let legacy = Bytes::from(legacy_file());
    eprintln!(
        "POST /v0/import/nodes with {NODES} records ({:.1} MB) ...",
        legacy.len() as f64 / 1e6
    );
    let import_dir = tempfile::tempdir().expect("temp dir");
    let mut importer = Daemon::start(import_dir.path());
    let auth = bearer(&admin_token(import_dir.path()));
    let mut conn = Conn::open(importer.addr).await;
    let req = conn.request(
        Method::POST,
        "/v0/import/nodes",
        &[(AUTHORIZATION, &auth)],
        legacy.clone(),
    );
    let t = Instant::now();
    let (status, body) = conn.send(req).await;
    let import_time = t.elapsed();
    assert_eq!(status, 200, "import: {}", String::from_utf8_lossy(&body));
    let report: Value = serde_json::from_slice(&body).expect("import report");
    assert_eq!(report["imported"].as_u64(), Some(NODES as u64), "{report}");
    assert_eq!(node_total(importer.addr).await, NODES as u64);
    rows.push(row(
        &format!("POST /v0/import/nodes, {NODES} records"),
        "≤ 2 s",
        format!("{:.0} ms", ms(import_time)),
        Some(import_time <= Duration::from_secs(2)),
    ));
    importer.stop();
    drop(importer);

    // Import at start-up: a data dir whose credentials exist already (so
    // argon2 is not counted), with nodes.json dropped in.
    eprintln!("start-up import of nodes.json ...");
    let boot_dir = tempfile::tempdir().expect("temp dir");
    Daemon::start(boot_dir.path()).stop();
    std::fs::write(boot_dir.path().join("nodes.json"), &legacy).expect("write nodes.json");
    let mut booted = Daemon::start(boot_dir.path());
    assert!(
        boot_dir.path().join("nodes.json.migrated").exists(),
        "nodes.json renamed after the import:\n{}",
        booted.log_tail()
    );
    assert_eq!(node_total(booted.addr).await, NODES as u64);
    rows.push(row(
        &format!("start-up import of nodes.json, {NODES} records (spawn → listening)"),
        "≤ 2 s",
        format!(
            "{:.0} ms (daemon's own startup_ms {})",
            ms(booted.startup),
            booted
                .startup_ms_logged
                .map_or("?".into(), |v| v.to_string())
        ),
        Some(booted.startup <= Duration::from_secs(2)),
    ));
    booted.stop();

    println!();
    println!(
        "llmlb registry benchmark: {NODES} nodes, {cores} cores, loopback, {:.0} s in all",
        bench_started.elapsed().as_secs_f64()
    );
    println!();
    print_table(&rows);
    println!();
    let failed = rows.iter().filter(|r| r.pass == Some(false)).count();
    println!("{failed} target(s) missed");
}
