//! The registration reachability probe: `GET http://{ip}:{port}/v1/models`.
//!
//! Anyone may register, so the probe must not become a port scanner for the
//! daemon's network: every failure gets the same sentence, and the cause
//! (refused, silent, another server) goes to the daemon's log only.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::error::ApiError;
use super::router::Shared;

/// The URL probed for a node; IPv6 addresses go in brackets.
pub(crate) fn probe_url(ip: IpAddr, port: u16) -> String {
    format!("http://{}/v1/models", SocketAddr::new(ip, port))
}

/// A client for probes: no proxy, no redirects, a short timeout. Probes
/// are plain HTTP, so no root certificates are loaded (that would cost the
/// daemon's start-up a read of the system's store).
pub(crate) fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .timeout(timeout)
        .connect_timeout(timeout)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client with these settings always builds")
}

/// Succeeds when the node answers its `/v1/models` with a 2xx status.
pub(crate) async fn check(state: &Shared, ip: IpAddr, port: u16) -> Result<(), ApiError> {
    let url = probe_url(ip, port);
    if state
        .listen_addr
        .get()
        .is_some_and(|own| is_own_address(*own, ip, port))
    {
        tracing::warn!(
            url,
            "refused a registration that points at this daemon itself"
        );
        return Err(ApiError::unprocessable(
            "node_unreachable",
            format!(
                "{url} is this daemon's own address, not a node; send the address and \
                 node_api_port of the node's OpenAI-compatible server"
            ),
        ));
    }
    let cause = match state.probe.get(&url).send().await {
        Ok(r) if r.status().is_success() => return Ok(()),
        Ok(r) => format!("it answered HTTP {}", r.status()),
        Err(e) if e.is_timeout() => "no answer in time".to_string(),
        Err(e) if e.is_connect() => "connection failed".to_string(),
        Err(e) => e.to_string(),
    };
    tracing::info!(
        url,
        cause,
        "registration refused: the reachability probe failed"
    );
    Err(ApiError::unprocessable(
        "node_unreachable",
        format!(
            "the node did not answer GET /v1/models at {url}; check node_api_port and the firewall"
        ),
    ))
}

/// Whether `ip:port` reaches this daemon's own listener at `own`: the same
/// port, and the listen address itself, or (listening on every address) a
/// loopback or local address.
fn is_own_address(own: SocketAddr, ip: IpAddr, port: u16) -> bool {
    if own.port() != port {
        return false;
    }
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    if ip == own.ip() {
        return true;
    }
    own.ip().is_unspecified() && (ip.is_loopback() || is_local(ip))
}

/// Whether `ip` is an address of this machine: only then can a socket be
/// bound to it.
fn is_local(ip: IpAddr) -> bool {
    std::net::UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_addresses_are_recognised() {
        let any: SocketAddr = "0.0.0.0:32768".parse().unwrap();
        let lo: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(is_own_address(any, ip("127.0.0.1"), 32768));
        assert!(is_own_address(any, ip("::1"), 32768));
        assert!(is_own_address(any, ip("::ffff:127.0.0.1"), 32768));
        assert!(!is_own_address(any, ip("127.0.0.1"), 32769));
        assert!(!is_own_address(any, ip("192.0.2.10"), 32768));
        assert!(is_own_address(lo, ip("127.0.0.1"), 40000));
        assert!(!is_own_address(lo, ip("127.0.0.2"), 40000));
    }
}
