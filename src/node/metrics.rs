//! What a heartbeat reports: CPU and memory (sysinfo), GPU use (NVML), and
//! the runtime's models (its `/v1/models`).

use std::time::Duration;

use serde::Deserialize;
use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};

use super::gpu::{self, Gpus};
use crate::api::nodes::HeartbeatRequest;

pub(crate) struct Metrics {
    sys: System,
    http: reqwest::Client,
    models_url: String,
}

#[derive(Deserialize)]
struct ModelList {
    data: Vec<ModelEntry>,
}

#[derive(Deserialize)]
struct ModelEntry {
    id: String,
}

impl Metrics {
    pub(crate) fn new(runtime_url: &str) -> Metrics {
        let sys = System::new_with_specifics(
            RefreshKind::nothing()
                .with_cpu(CpuRefreshKind::nothing().with_cpu_usage())
                .with_memory(MemoryRefreshKind::nothing().with_ram()),
        );
        Metrics {
            sys,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(3))
                .no_proxy()
                .build()
                .expect("a client with these settings always builds"),
            models_url: format!("{}/v1/models", runtime_url.trim_end_matches('/')),
        }
    }

    /// The runtime's models, or `None` when it does not answer (down, or
    /// still loading).
    pub(crate) async fn runtime_models(&self) -> Option<Vec<String>> {
        let resp = self.http.get(&self.models_url).send().await.ok()?;
        if !resp.status().is_success() {
            return None;
        }
        let list: ModelList = resp.json().await.ok()?;
        Some(list.data.into_iter().map(|m| m.id).collect())
    }

    /// A heartbeat body for `node_id`.
    pub(crate) async fn heartbeat(&mut self, node_id: &str, gpus: &Gpus) -> HeartbeatRequest {
        self.sys.refresh_cpu_usage();
        self.sys.refresh_memory();
        let cpu = self.sys.global_cpu_usage().clamp(0.0, 100.0);
        let total = self.sys.total_memory();
        let memory = if total > 0 {
            (self.sys.used_memory() as f64 / total as f64 * 100.0).clamp(0.0, 100.0) as f32
        } else {
            0.0
        };
        let (gpu_usage, gpu_memory_usage) = gpu::usage(&gpus.detect());
        let models = self.runtime_models().await;
        let (loaded, initializing) = match models {
            Some(m) => (m, false),
            None => (Vec::new(), true),
        };
        let n = loaded.len() as u32;
        HeartbeatRequest {
            node_id: node_id.to_string(),
            cpu_usage: cpu,
            memory_usage: memory,
            gpu_usage,
            gpu_memory_usage,
            active_requests: 0,
            average_response_time_ms: None,
            loaded_models: loaded,
            loaded_embedding_models: Vec::new(),
            initializing,
            ready_models: (n > 0).then_some([n, n]),
            leaving: false,
        }
    }
}
