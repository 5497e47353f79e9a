//! HTTPS end to end: the real daemon serving TLS (a self-signed certificate
//! of its own, or files signed by a CA made here), the real agent and
//! llmlbctl trusting it by pin or by CA, rotation on SIGHUP, the /v1 fast
//! lane streaming through TLS, and the clear-text warning.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

fn fingerprint_of(der: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(der)))
}

/// The fingerprint of the first certificate of a PEM file.
fn file_fingerprint(path: &Path) -> String {
    let der = CertificateDer::from_pem_file(path).expect("a PEM certificate");
    fingerprint_of(der.as_ref())
}

#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A verifier that trusts anything and remembers the leaf it was shown.
#[derive(Debug)]
struct Recorder {
    seen: Mutex<Option<Vec<u8>>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        *self.seen.lock().unwrap() = Some(end_entity.to_vec());
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            m,
            c,
            d,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            m,
            c,
            d,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Opens a new TLS connection and returns the fingerprint of the
/// certificate served on it and the protocol ALPN chose.
async fn served(addr: SocketAddr) -> (String, Option<Vec<u8>>) {
    let recorder = Arc::new(Recorder {
        seen: Mutex::new(None),
        provider: provider(),
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("TLS handshake");
    let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    let der = recorder
        .seen
        .lock()
        .unwrap()
        .clone()
        .expect("a certificate");
    (fingerprint_of(&der), alpn)
}

/// A CA, and a leaf for 127.0.0.1 and localhost signed by it, as PEM files
/// in `dir` named `{name}-ca.pem`, `{name}.pem` and `{name}-key.pem`.
fn make_ca_and_leaf(dir: &Path, name: &str) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, format!("{name} test CA"));
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])
        .unwrap()
        .signed_by(&leaf_key, &ca_cert, &ca_key)
        .unwrap();
    std::fs::write(dir.join(format!("{name}-ca.pem")), ca_cert.pem()).unwrap();
    std::fs::write(dir.join(format!("{name}.pem")), leaf.pem()).unwrap();
    std::fs::write(
        dir.join(format!("{name}-key.pem")),
        leaf_key.serialize_pem(),
    )
    .unwrap();
}

/// A self-signed certificate and key, as PEM texts.
fn self_signed() -> (String, String) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    (made.cert.pem(), made.key_pair.serialize_pem())
}

/// The fingerprint the daemon logged, with the agent command line, which
/// must name the address it listens on.
fn logged_fingerprint(d: &TestDaemon) -> String {
    let logs = d.logs();
    let re = regex::Regex::new(&format!(
        r"llmlb-node --lb-url https://{} --lb-fingerprint (sha256:[0-9a-f]{{64}})",
        regex::escape(&d.addr.to_string())
    ))
    .unwrap();
    re.captures(&logs)
        .unwrap_or_else(|| panic!("the agent command line is logged:\n{logs}"))[1]
        .to_string()
}

/// `llmlbctl` against `url` with the daemon's admin token, and nothing of
/// this machine's configuration.
fn ctl(d: &TestDaemon, url: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_llmlbctl"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", d.data_dir().join("no-home"))
        .env("LLMLB_DATA_DIR", d.data_dir())
        .env("LLMLB_URL", url)
        .stdin(Stdio::null());
    c
}

fn sighup(d: &TestDaemon) {
    let ok = Command::new("kill")
        .arg("-HUP")
        .arg(d.pid().to_string())
        .status()
        .unwrap();
    assert!(ok.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_registers_and_heartbeats_over_https_with_a_pinned_self_signed_certificate() {
    let mut d = TestDaemon::start(&[
        "--tls",
        "self-signed",
        "--heartbeat-interval",
        "1",
        "--no-reachability-check",
    ]);
    assert_eq!(d.scheme, "https");
    let cert = d.data_dir().join("tls.crt");
    let key = d.data_dir().join("tls.key");
    use std::os::unix::fs::PermissionsExt;
    for f in [&cert, &key] {
        let mode = std::fs::metadata(f).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", f.display());
    }
    let fp = logged_fingerprint(&d);
    assert_eq!(fp, file_fingerprint(&cert));
    let (seen, alpn) = served(d.addr).await;
    assert_eq!(seen, fp, "the certificate on the wire is the one logged");
    assert_eq!(
        alpn.as_deref(),
        Some(&b"http/1.1"[..]),
        "ALPN picks HTTP/1.1"
    );
    let status = d.get("/v0/status", None).await;
    assert_eq!(status.status, 200);
    assert_eq!(status.body["tls_fingerprint"], fp.as_str());

    let runtime = stub_runtime("127.0.0.1:0").await;
    let state = tempfile::tempdir().unwrap();
    let lb = format!("https://{}", d.addr);
    let agent = TestAgent::start(
        agent_cmd_named(&lb, runtime, state.path(), "tls-box").args(["--lb-fingerprint", &fp]),
        state.path(),
    );
    let registered = eventually(Duration::from_secs(15), || async {
        d.admin_get("/v0/nodes")
            .await
            .body
            .as_array()
            .map_or(0, Vec::len)
            == 1
    })
    .await;
    assert!(registered, "the agent registered:\n{}", agent.logs());
    let nodes = d.admin_get("/v0/nodes").await.body;
    let id = nodes[0]["id"].as_str().unwrap().to_string();
    assert_eq!(nodes[0]["machine_name"], "tls-box");
    let r = d
        .admin_post(&format!("/v0/nodes/{id}/approve"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Online needs heartbeats after the approval, with the runtime's models.
    assert!(
        eventually(Duration::from_secs(15), || async {
            d.status_of(&id).await == "online"
        })
        .await,
        "heartbeats over HTTPS keep the node online:\n{}",
        agent.logs()
    );
    assert_eq!(d.node(&id).await["loaded_models"], json!(["llama-3-8b"]));

    // The certificate is made once and reused.
    drop(agent);
    d.restart();
    assert_eq!(logged_fingerprint(&d), fp, "{}", d.logs());
    assert_eq!(served(d.addr).await.0, fp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_pin_is_refused_before_any_token_is_sent() {
    let d = TestDaemon::start(&["--tls", "self-signed", "--no-reachability-check"]);
    let real = logged_fingerprint(&d);
    let wrong = format!("sha256:{}", "ab".repeat(32));
    let runtime = stub_runtime("127.0.0.1:0").await;
    let state = tempfile::tempdir().unwrap();
    let lb = format!("https://{}", d.addr);
    let mut agent = TestAgent::start(
        agent_cmd_named(&lb, runtime, state.path(), "pinned").args(["--lb-fingerprint", &wrong]),
        state.path(),
    );
    assert_eq!(agent.exit_code(Duration::from_secs(15)), Some(1));
    let logs = agent.logs();
    assert!(
        logs.contains(&wrong) && logs.contains(&real),
        "both fingerprints:\n{logs}"
    );
    assert!(!state.path().join("node.json").exists());
    let nodes = d.admin_get("/v0/nodes").await.body;
    assert_eq!(nodes, json!([]), "no registration reached the daemon");

    // llmlbctl too: the admin token is never sent to a wrong certificate.
    let out = ctl(&d, &lb)
        .args(["--fingerprint", &wrong, "nodes", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&wrong) && err.contains(&real), "{err}");
    assert!(err.contains("no token was sent"), "{err}");
    // Without a pin or CA, the system's roots do not vouch for it.
    let out = ctl(&d, &lb).arg("status").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--ca-cert") && err.contains("--fingerprint"),
        "{err}"
    );
    // A pin is refused for a plain URL, where it protects nothing.
    let out = ctl(&d, &format!("http://{}", d.addr))
        .args(["--fingerprint", &real, "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("https://"));
    // The right pin works.
    let out = ctl(&d, &lb)
        .args(["--fingerprint", &real, "status"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&real));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llmlbctl_works_over_https_with_a_ca_certificate() {
    let files = tempfile::tempdir().unwrap();
    make_ca_and_leaf(files.path(), "good");
    make_ca_and_leaf(files.path(), "other");
    let cert = files.path().join("good.pem");
    let key = files.path().join("good-key.pem");
    let d = TestDaemon::start(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
        "--no-reachability-check",
    ]);
    d.register("ca-box", "127.0.0.1", 9).await;
    let url = format!("https://{}", d.addr);
    let out = ctl(&d, &url)
        .arg("--ca-cert")
        .arg(files.path().join("good-ca.pem"))
        .args(["nodes", "list", "-o", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let nodes: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(nodes[0]["machine_name"], "ca-box");
    let out = ctl(&d, &url)
        .arg("--ca-cert")
        .arg(files.path().join("good-ca.pem"))
        .arg("status")
        .output()
        .unwrap();
    assert!(out.status.success());
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("tls fingerprint") && shown.contains(&file_fingerprint(&cert)),
        "{shown}"
    );
    // Another CA does not vouch for this certificate.
    let out = ctl(&d, &url)
        .arg("--ca-cert")
        .arg(files.path().join("other-ca.pem"))
        .arg("status")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("TLS") && err.contains("certificate"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_serves_a_swapped_certificate_and_keeps_the_old_one_when_the_new_is_bad() {
    let files = tempfile::tempdir().unwrap();
    let cert = files.path().join("cert.pem");
    let key = files.path().join("key.pem");
    let (c1, k1) = self_signed();
    std::fs::write(&cert, &c1).unwrap();
    std::fs::write(&key, &k1).unwrap();
    let first = file_fingerprint(&cert);
    let d = TestDaemon::start(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    assert_eq!(served(d.addr).await.0, first);

    let (c2, k2) = self_signed();
    std::fs::write(&key, &k2).unwrap();
    std::fs::write(&cert, &c2).unwrap();
    let second = file_fingerprint(&cert);
    assert_ne!(first, second);
    sighup(&d);
    assert!(
        eventually(Duration::from_secs(15), || async {
            served(d.addr).await.0 == second
        })
        .await,
        "new connections get the new certificate:\n{}",
        d.logs()
    );
    assert_eq!(
        d.get("/v0/status", None).await.body["tls_fingerprint"],
        second.as_str()
    );

    // A broken file: the daemon says why and keeps serving the last good one.
    std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\nnot base64\n").unwrap();
    sighup(&d);
    assert!(
        eventually(Duration::from_secs(15), || async {
            d.logs().contains("still serving the previous certificate")
        })
        .await,
        "{}",
        d.logs()
    );
    assert!(
        d.logs().contains(&cert.display().to_string()),
        "{}",
        d.logs()
    );
    assert_eq!(served(d.addr).await.0, second);
    // A key that belongs to another certificate is refused too.
    std::fs::write(&cert, &c1).unwrap();
    sighup(&d);
    assert!(
        eventually(Duration::from_secs(15), || async {
            d.logs().contains("does not fit the certificate")
        })
        .await,
        "{}",
        d.logs()
    );
    assert_eq!(served(d.addr).await.0, second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_client_is_dropped_at_the_header_timeout_during_the_handshake() {
    let d = TestDaemon::start(&["--tls", "self-signed", "--header-timeout", "1s"]);
    let mut tcp = tokio::net::TcpStream::connect(d.addr).await.unwrap();
    let started = std::time::Instant::now();
    let mut byte = [0u8; 1];
    // The 30 s only stop a hang: the header timeout closes it long before.
    let read = tokio::time::timeout(Duration::from_secs(30), tcp.read(&mut byte)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "closed, not left open after {:?}: {read:?}",
        started.elapsed()
    );
}

/// A node that streams three SSE events, the last two only once the test
/// says the first arrived (so an answer buffered anywhere would stall).
async fn streaming_node(go_on: Arc<tokio::sync::Notify>) -> SocketAddr {
    use axum::routing::{get, post};
    let app = axum::Router::new()
        .route(
            "/v1/models",
            get(|| async { axum::Json(json!({"object": "list", "data": [{"id": "llama-3-8b"}]})) }),
        )
        .route(
            "/v1/chat/completions",
            post(move || {
                let go_on = go_on.clone();
                async move {
                    let events = async_stream(go_on);
                    axum::response::Response::builder()
                        .header("content-type", "text/event-stream")
                        .body(axum::body::Body::from_stream(events))
                        .unwrap()
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

fn async_stream(
    go_on: Arc<tokio::sync::Notify>,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> {
    futures_util::stream::unfold(0u8, move |step| {
        let go_on = go_on.clone();
        async move {
            let event = match step {
                0 => "data: {\"delta\":\"one\"}\n\n",
                1 => {
                    go_on.notified().await;
                    "data: {\"delta\":\"two\"}\n\n"
                }
                2 => "data: [DONE]\n\n",
                _ => return None,
            };
            Some((Ok(bytes::Bytes::from(event)), step + 1))
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_completions_stream_through_tls() {
    let go_on = Arc::new(tokio::sync::Notify::new());
    let node = streaming_node(go_on.clone()).await;
    let d = TestDaemon::start(&["--tls", "self-signed"]);
    let reg = d.register("stream-box", "127.0.0.1", node.port()).await;
    let r = d
        .admin_post(&format!("/v0/nodes/{}/approve", reg.id), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        d.heartbeat(&reg.token, heartbeat_body(&reg.id))
            .await
            .status,
        200
    );

    let mut resp = d
        .http
        .post(d.url("/v1/chat/completions"))
        .json(&json!({"model": "llama-3-8b", "stream": true, "messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut got = String::new();
    // A buffered answer would never come (the node waits for the test): the
    // 15 s only turn that hang into a failure.
    while !got.contains("one") {
        let chunk = tokio::time::timeout(Duration::from_secs(15), resp.chunk())
            .await
            .expect("the first event arrives before the node sends the rest")
            .unwrap()
            .expect("more body");
        got.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(!got.contains("two"));
    go_on.notify_one();
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(15), resp.chunk())
        .await
        .unwrap()
        .unwrap()
    {
        got.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert_eq!(
        got,
        "data: {\"delta\":\"one\"}\n\ndata: {\"delta\":\"two\"}\n\ndata: [DONE]\n\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clear_text_warning_is_for_non_loopback_addresses_without_tls() {
    let warning = "travel in clear text";
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let open = TestDaemon::start_in(dir, "0.0.0.0:0", &[]).unwrap();
    assert_eq!(
        open.logs().matches(warning).count(),
        1,
        "one warning:\n{}",
        open.logs()
    );
    assert!(open.logs().contains("WARN"), "{}", open.logs());
    drop(open);

    let dir = Arc::new(tempfile::tempdir().unwrap());
    let tls = TestDaemon::start_in(dir, "0.0.0.0:0", &["--tls", "self-signed"]).unwrap();
    assert!(!tls.logs().contains(warning), "{}", tls.logs());
    // On every address: the agent command line names the host.
    assert!(
        tls.logs().contains("--lb-fingerprint sha256:"),
        "{}",
        tls.logs()
    );
    drop(tls);

    let local = TestDaemon::start(&[]);
    assert!(!local.logs().contains(warning), "{}", local.logs());
}

#[test]
fn a_certificate_that_cannot_be_used_stops_the_start_with_its_reason() {
    let files = tempfile::tempdir().unwrap();
    let cert = files.path().join("cert.pem");
    let key = files.path().join("key.pem");
    let (c1, _) = self_signed();
    let (_, k2) = self_signed();
    std::fs::write(&cert, &c1).unwrap();
    std::fs::write(&key, &k2).unwrap();
    let missing = files.path().join("missing.pem");
    for (c, k, want) in [
        (&missing, &key, "cannot read the TLS certificate"),
        (&cert, &key, "does not fit the certificate"),
    ] {
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let args = [
            "--tls-cert",
            c.to_str().unwrap(),
            "--tls-key",
            k.to_str().unwrap(),
        ];
        let Err(logs) = TestDaemon::start_in(dir, "127.0.0.1:0", &args) else {
            panic!("llmlbd started with {args:?}");
        };
        assert!(logs.contains(want), "{want}:\n{logs}");
        assert!(logs.contains(&c.display().to_string()), "{logs}");
    }
}
