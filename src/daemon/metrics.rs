//! Prometheus metrics of the proxy and the registry, rendered as text at
//! `GET /metrics`. Counters are plain maps behind short locks: the proxy
//! touches them once per request.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use crate::api::status::NodeCounts;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// What is counted per model: requests by (node, status), and durations.
#[derive(Default)]
struct PerModel {
    requests: HashMap<String, HashMap<u16, u64>>,
    durations: Histogram,
}

#[derive(Default)]
pub(crate) struct Metrics {
    /// One lock per request; keys are allocated only the first time.
    models: Mutex<HashMap<String, PerModel>>,
    heartbeats: AtomicU64,
}

impl Metrics {
    pub(crate) fn heartbeat(&self) {
        self.heartbeats.fetch_add(1, Ordering::Relaxed);
    }

    /// One finished request. `node` is empty when no node was reached.
    pub(crate) fn request(&self, model: &str, node: &str, status: u16, took: Duration) {
        let secs = took.as_secs_f64();
        let mut models = self.models.lock();
        if !models.contains_key(model) {
            models.insert(model.to_string(), PerModel::default());
        }
        let m = models.get_mut(model).expect("inserted above");
        if !m.requests.contains_key(node) {
            m.requests.insert(node.to_string(), HashMap::new());
        }
        let by_status = m.requests.get_mut(node).expect("inserted above");
        *by_status.entry(status).or_default() += 1;
        let h = &mut m.durations;
        h.count += 1;
        h.sum += secs;
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                h.counts[i] += 1;
            }
        }
    }

    /// The text exposition format, sorted so it is stable between scrapes.
    pub(crate) fn render(&self, nodes: &NodeCounts, in_flight: &[(String, usize)]) -> String {
        let mut out = String::with_capacity(4096);
        let models = self.models.lock();
        let mut names: Vec<&String> = models.keys().collect();
        names.sort_unstable();
        out.push_str(
            "# HELP llmlb_requests_total Proxied requests by model, node and HTTP status.\n\
             # TYPE llmlb_requests_total counter\n",
        );
        for model in &names {
            let mut rows: Vec<(&String, u16, u64)> = models[*model]
                .requests
                .iter()
                .flat_map(|(node, by)| by.iter().map(move |(s, n)| (node, *s, *n)))
                .collect();
            rows.sort_unstable();
            for (node, status, n) in rows {
                let _ = writeln!(
                    out,
                    "llmlb_requests_total{{model=\"{}\",node=\"{}\",status=\"{status}\"}} {n}",
                    escape(model),
                    escape(node)
                );
            }
        }
        out.push_str(
            "# HELP llmlb_request_duration_seconds Time from a request's arrival to the end of \
             its answer, by model.\n# TYPE llmlb_request_duration_seconds histogram\n",
        );
        for model in &names {
            let h = &models[*model].durations;
            let m = escape(model);
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "llmlb_request_duration_seconds_bucket{{model=\"{m}\",le=\"{le}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "llmlb_request_duration_seconds_bucket{{model=\"{m}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "llmlb_request_duration_seconds_sum{{model=\"{m}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "llmlb_request_duration_seconds_count{{model=\"{m}\"}} {}",
                h.count
            );
        }
        drop(models);
        out.push_str(
            "# HELP llmlb_requests_in_flight Requests being proxied now, by node.\n\
             # TYPE llmlb_requests_in_flight gauge\n",
        );
        for (node, n) in in_flight {
            let _ = writeln!(
                out,
                "llmlb_requests_in_flight{{node=\"{}\"}} {n}",
                escape(node)
            );
        }
        out.push_str("# HELP llmlb_nodes Nodes by status.\n# TYPE llmlb_nodes gauge\n");
        for (status, n) in [
            ("pending", nodes.pending),
            ("registering", nodes.registering),
            ("online", nodes.online),
            ("offline", nodes.offline),
        ] {
            let _ = writeln!(out, "llmlb_nodes{{status=\"{status}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP llmlb_heartbeats_total Heartbeats received.\n\
             # TYPE llmlb_heartbeats_total counter\nllmlb_heartbeats_total {}",
            self.heartbeats.load(Ordering::Relaxed)
        );
        out
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_gauges() {
        let m = Metrics::default();
        m.heartbeat();
        m.request("llama \"3\"", "n1", 200, Duration::from_millis(3));
        m.request("llama \"3\"", "n1", 200, Duration::from_millis(30));
        let text = m.render(
            &NodeCounts {
                total: 1,
                online: 1,
                ..Default::default()
            },
            &[("n1".into(), 2)],
        );
        assert!(
            text.contains(r#"llmlb_requests_total{model="llama \"3\"",node="n1",status="200"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"llmlb_request_duration_seconds_bucket{model="llama \"3\"",le="0.005"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"llmlb_request_duration_seconds_count{model="llama \"3\""} 2"#));
        assert!(text.contains(r#"llmlb_requests_in_flight{node="n1"} 2"#));
        assert!(text.contains(r#"llmlb_nodes{status="online"} 1"#));
        assert!(text.contains("llmlb_heartbeats_total 1"));
    }
}
