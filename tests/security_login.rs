//! `POST /v0/auth/login` under attack: lockouts per username and per source
//! address, memory under a flood of attempts, and what the log says.
//!
//! Clients bind to different loopback addresses (127.0.0.0/8 all reaches
//! the daemon) so that a test sees the username's lock apart from the
//! address's. What needs a lock to end runs in process on a manual clock
//! that the test moves past the lock; what reads the real binary's log
//! never waits for a lock to end.

mod common;

use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

struct Answer {
    status: u16,
    code: String,
    retry_after: Option<u64>,
    body: Value,
}

fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .local_address(ip.parse::<IpAddr>().unwrap())
        // Only so that a hang fails the test instead of stalling it.
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

async fn login(d: &Api, from: &str, username: &str, password: &str) -> Answer {
    let resp = client_from(from)
        .post(d.url("/v0/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .expect("the daemon answers");
    let retry_after = resp.headers().get("retry-after").map(|v| {
        v.to_str()
            .unwrap()
            .parse::<u64>()
            .expect("Retry-After in seconds")
    });
    let r = into_reply(resp).await;
    Answer {
        status: r.status,
        code: r.body["code"].as_str().unwrap_or_default().to_string(),
        retry_after,
        body: r.body,
    }
}

/// Waits until the daemon has logged a failed login from `from`: every line
/// it logged before that one has then been read too.
async fn logged_up_to(d: &TestDaemon, from: &str) {
    let marker = format!("source={from}");
    assert!(
        eventually(Duration::from_secs(10), || async {
            d.logs().contains(&marker)
        })
        .await,
        "the failed login from {from} was not logged:\n{}",
        d.logs()
    );
}

fn lockouts_logged(d: &TestDaemon) -> usize {
    d.logs().matches("login locked").count()
}

/// What the in-process daemons of this test binary log, from the first
/// call on: tests that read it tell their lines apart by source address.
fn logs_in_process() -> String {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    let logs = LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        let _ = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || LogSink(sink.clone()))
            .try_init();
        logs
    });
    String::from_utf8_lossy(&logs.lock().unwrap()).into_owned()
}

struct LogSink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Lockouts that the in-process daemons logged for sources starting with
/// `prefix`.
fn lockouts_logged_from(prefix: &str) -> usize {
    let marker = format!("source={prefix}");
    logs_in_process()
        .lines()
        .filter(|l| l.contains("login locked") && l.contains(&marker))
        .count()
}

#[tokio::test]
async fn five_failures_lock_the_username_even_for_the_right_password_and_are_logged_once() {
    let d = TestDaemon::start(&["--login-lockout", "60s"]);
    let password = d.admin_password();
    // A success clears the username's count: twice four failures with a
    // success between them lock nothing.
    for round in 0..2 {
        for i in 0..4 {
            let r = login(
                &d,
                &format!("127.0.0.{}", 10 * round + 40 + i),
                "admin",
                "wrong",
            )
            .await;
            assert_eq!(r.status, 401, "round {round}, failure {i}: {}", r.body);
        }
        let r = login(
            &d,
            &format!("127.0.0.{}", 10 * round + 45),
            "admin",
            &password,
        )
        .await;
        assert_eq!(r.status, 200, "round {round}: {}", r.body);
        assert!(r.body["token"].as_str().unwrap().starts_with("llmlb_st_"));
    }
    login(&d, "127.0.0.60", "marker-zero", "x").await;
    logged_up_to(&d, "127.0.0.60").await;
    assert_eq!(lockouts_logged(&d), 0, "no lockout yet:\n{}", d.logs());

    // Each failure from another address: only the username's count grows.
    for i in 0..5 {
        let r = login(&d, &format!("127.0.0.{}", 10 + i), "admin", "wrong").await;
        assert_eq!(r.status, 401, "failure {i}: {}", r.body);
        assert_eq!(r.code, "invalid_credentials");
    }
    let locked = login(&d, "127.0.0.20", "admin", &password).await;
    assert_eq!(
        locked.status, 429,
        "the right password while locked: {}",
        locked.body
    );
    assert_eq!(locked.code, "login_locked");
    let wait = locked.retry_after.expect("a Retry-After header");
    assert!(
        (1..=60).contains(&wait),
        "Retry-After {wait} for a 60 s lock"
    );
    let message = locked.body["error"].as_str().unwrap();
    assert!(
        message.contains("username") && message.contains("API key"),
        "{message}"
    );
    for (i, pw) in ["wrong", password.as_str(), "wrong"].iter().enumerate() {
        let r = login(&d, &format!("127.0.0.{}", 21 + i), "admin", pw).await;
        assert_eq!(
            (r.status, r.code.as_str()),
            (429, "login_locked"),
            "{}",
            r.body
        );
    }
    // API keys are not locked.
    assert_eq!(d.admin_get("/v0/nodes").await.status, 200);
    login(&d, "127.0.0.30", "marker-one", "x").await;
    logged_up_to(&d, "127.0.0.30").await;
    assert_eq!(
        lockouts_logged(&d),
        1,
        "one line per lockout:\n{}",
        d.logs()
    );
}

#[tokio::test]
async fn a_lock_ends_after_its_time_on_the_daemons_clock_and_a_success_starts_over() {
    let clock = ManualClock::new();
    let d = InProcess::start_on(clock.clone(), &["--login-lockout", "60s"]).await;
    let password = d.admin_password();
    for i in 0..5 {
        let r = login(&d, &format!("127.0.4.{}", 10 + i), "admin", "wrong").await;
        assert_eq!(r.status, 401, "failure {i}: {}", r.body);
    }
    let locked = login(&d, "127.0.4.20", "admin", &password).await;
    assert_eq!(
        (locked.status, locked.code.as_str(), locked.retry_after),
        (429, "login_locked", Some(60)),
        "{}",
        locked.body
    );

    clock.advance(Duration::from_secs(59));
    let r = login(&d, "127.0.4.21", "admin", &password).await;
    assert_eq!(
        (r.status, r.code.as_str(), r.retry_after),
        (429, "login_locked", Some(1)),
        "a second before the lock ends: {}",
        r.body
    );
    clock.advance(Duration::from_secs(2));
    let r = login(&d, "127.0.4.22", "admin", &password).await;
    assert_eq!(r.status, 200, "the lock is over: {}", r.body);
    assert!(r.body["token"].as_str().unwrap().starts_with("llmlb_st_"));

    // The success cleared the count: four failures lock nothing.
    for i in 0..4 {
        let r = login(&d, &format!("127.0.4.{}", 40 + i), "admin", "wrong").await;
        assert_eq!(r.status, 401, "failure {i} after the success: {}", r.body);
    }
    let r = login(&d, "127.0.4.45", "admin", &password).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn each_lockout_after_the_first_lasts_longer_and_is_logged() {
    logs_in_process();
    let clock = ManualClock::new();
    let d = InProcess::start_on(clock.clone(), &["--login-lockout", "60s"]).await;
    for i in 0..5 {
        let r = login(&d, &format!("127.0.1.{}", 10 + i), "admin", "wrong").await;
        assert_eq!(r.status, 401, "{}", r.body);
    }
    let first = login(&d, "127.0.1.20", "admin", "wrong").await;
    assert_eq!(first.code, "login_locked", "{}", first.body);
    let first = first.retry_after.unwrap();
    assert_eq!(first, 60);
    assert_eq!(lockouts_logged_from("127.0.1."), 1, "{}", logs_in_process());
    clock.advance(Duration::from_secs(first + 1));
    // One more failure once the lock is over locks again at once, for 120 s.
    let r = login(&d, "127.0.1.21", "admin", "wrong").await;
    assert_eq!(r.status, 401, "{}", r.body);
    let second = login(&d, "127.0.1.22", "admin", &d.admin_password()).await;
    assert_eq!(second.code, "login_locked", "{}", second.body);
    let second = second.retry_after.unwrap();
    assert!(
        second > first,
        "the second lock ({second} s left) is longer than the whole first one ({first} s)"
    );
    assert_eq!(lockouts_logged_from("127.0.1."), 2, "{}", logs_in_process());
}

#[tokio::test]
async fn failures_from_one_address_lock_it_and_unknown_usernames_are_never_logged() {
    let d = TestDaemon::start(&[]);
    let password = d.admin_password();
    // What people type into the user field by mistake: their password.
    let typed: Vec<String> = (0..5)
        .map(|i| format!("Hunter2-typed-as-user-{i}"))
        .collect();
    for name in &typed {
        let r = login(&d, "127.0.2.1", name, "wrong").await;
        assert_eq!(r.status, 401, "{}", r.body);
    }
    let r = login(&d, "127.0.2.1", "admin", &password).await;
    assert_eq!(
        (r.status, r.code.as_str()),
        (429, "login_locked"),
        "{}",
        r.body
    );
    assert!(r.retry_after.is_some());
    assert!(
        r.body["error"].as_str().unwrap().contains("address"),
        "{}",
        r.body
    );
    // The username is not locked: from elsewhere the admin gets in.
    let r = login(&d, "127.0.2.2", "admin", &password).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // A known username may be logged.
    login(&d, "127.0.2.3", "admin", "wrong").await;
    logged_up_to(&d, "127.0.2.3").await;

    let logs = d.logs();
    for name in &typed {
        assert!(!logs.contains(name), "the log holds {name:?}:\n{logs}");
    }
    assert!(logs.contains("unknown user"), "{logs}");
    assert!(
        logs.lines()
            .any(|l| l.contains("failed login") && l.contains("admin") && l.contains("127.0.2.3")),
        "{logs}"
    );
    assert_eq!(lockouts_logged(&d), 1, "{logs}");
}

fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

#[tokio::test]
async fn a_hundred_concurrent_logins_cost_bounded_memory_and_all_get_an_answer() {
    let d = Arc::new(TestDaemon::start(&["--rate-limit", "0"]));
    let idle = status_kib(d.pid(), "VmRSS:");
    let mut tasks = Vec::new();
    for i in 0..100u32 {
        let d = d.clone();
        tasks.push(tokio::spawn(async move {
            // Each from its own address, so that no address lock cuts the
            // flood short; half for a real user, half for unknown ones.
            let from = format!("127.0.3.{}", i + 1);
            let user = if i % 2 == 0 {
                "admin".to_string()
            } else {
                format!("nobody-{i}")
            };
            login(&d, &from, &user, "wrong").await
        }));
    }
    let mut checked = 0;
    for t in tasks {
        let r = t.await.unwrap();
        match (r.status, r.code.as_str()) {
            (401, "invalid_credentials") => checked += 1,
            (429, "login_locked" | "login_busy") => assert!(r.retry_after.is_some()),
            other => panic!("unexpected answer {other:?}: {}", r.body),
        }
    }
    assert!(checked >= 2, "passwords were checked ({checked} times)");
    // The high-water mark covers every moment of the flood.
    let peak = status_kib(d.pid(), "VmHWM:");
    eprintln!(
        "VmRSS idle {idle} kB, VmHWM after 100 concurrent logins {peak} kB ({checked} checked)"
    );
    assert!(
        peak < idle + 100 * 1024,
        "resident memory grew from {idle} kB to {peak} kB under 100 login attempts"
    );
    assert_eq!(d.get("/v0/status", None).await.status, 200);
}
