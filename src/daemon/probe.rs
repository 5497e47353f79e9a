//! The registration reachability probe: `GET http://{ip}:{port}/v1/models`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::error::ApiError;

/// The URL probed for a node; IPv6 addresses go in brackets.
pub fn probe_url(ip: IpAddr, port: u16) -> String {
    format!("http://{}/v1/models", SocketAddr::new(ip, port))
}

/// A client for probes: no proxy, no redirects, a short timeout.
pub fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client with these settings always builds")
}

/// Succeeds when the node answers its `/v1/models` with a 2xx status.
pub async fn check(client: &reqwest::Client, ip: IpAddr, port: u16) -> Result<(), ApiError> {
    let url = probe_url(ip, port);
    let unreachable = |why: String| {
        ApiError::unprocessable(
            "node_unreachable",
            format!(
                "the daemon could not reach the node at {url}: {why}; make sure the node's API \
                 listens on that address and port and that no firewall blocks it"
            ),
        )
    };
    match client.get(&url).send().await {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(unreachable(format!("it answered HTTP {}", r.status()))),
        Err(e) if e.is_timeout() => Err(unreachable("no answer in time".into())),
        Err(e) if e.is_connect() => Err(unreachable("connection failed".into())),
        Err(e) => Err(unreachable(e.to_string())),
    }
}
