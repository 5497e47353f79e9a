//! GPUs: NVML (loaded at run time, so machines without the NVIDIA driver
//! run the agent fine) and GPUs declared with `--gpu`.

use std::collections::BTreeMap;

use nvml_wrapper::Nvml;
use serde::Serialize;

use crate::api::nodes::GpuDevice;

/// A `--gpu MODEL:COUNT[:MEMORY]` value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct DeclaredGpu {
    pub model: String,
    pub count: u32,
    /// Memory of one device, in bytes.
    pub memory: Option<u64>,
}

/// Parses `MODEL:COUNT[:MEMORY]`; the model may itself contain colons.
pub(crate) fn parse_gpu_spec(s: &str) -> Result<DeclaredGpu, String> {
    let expected = "expected MODEL:COUNT[:MEMORY], e.g. --gpu \"RTX 4090:2:24GiB\" or --gpu A100:8";
    let parts: Vec<&str> = s.rsplitn(3, ':').collect();
    let (model, count, memory) = match parts.as_slice() {
        [last, mid, first] => match (mid.trim().parse::<u32>(), parse_memory(last)) {
            (Ok(c), Some(m)) => (first.to_string(), c, Some(m)),
            _ => match last.trim().parse::<u32>() {
                Ok(c) => (format!("{first}:{mid}"), c, None),
                Err(_) => return Err(format!("{s:?}: {expected}")),
            },
        },
        [last, first] => match last.trim().parse::<u32>() {
            Ok(c) => (first.to_string(), c, None),
            Err(_) => {
                return Err(format!(
                    "{s:?}: COUNT {last:?} is not a whole number; {expected}"
                ))
            }
        },
        _ => return Err(format!("{s:?}: {expected}")),
    };
    let model = model.trim().to_string();
    if model.is_empty() {
        return Err(format!("{s:?}: the model name is empty; {expected}"));
    }
    if count == 0 {
        return Err(format!("{s:?}: COUNT must be at least 1; {expected}"));
    }
    Ok(DeclaredGpu {
        model,
        count,
        memory,
    })
}

/// `80GiB`, `24GB`, `512MiB`, `1.5TB` or a number of bytes.
pub(crate) fn parse_memory(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024f64.powi(2),
        "gib" => 1024f64.powi(3),
        "tib" => 1024f64.powi(4),
        _ => return None,
    };
    let bytes = n * mult;
    (1.0..1e18).contains(&bytes).then_some(bytes as u64)
}

/// One GPU as NVML reports it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct DetectedGpu {
    pub index: u32,
    pub model: String,
    pub memory_total: u64,
    pub memory_used: u64,
    pub utilization: Option<u32>,
    pub compute_capability: Option<String>,
}

/// NVML, if the driver's library can be loaded.
pub(crate) struct Gpus {
    nvml: Option<Nvml>,
    /// Why NVML is not there, for `--detect` and the log.
    pub nvml_error: Option<String>,
}

impl Gpus {
    /// Loads NVML once; failure means "no NVIDIA GPUs here", not an error.
    pub(crate) fn init() -> Gpus {
        match Nvml::init() {
            Ok(nvml) => Gpus {
                nvml: Some(nvml),
                nvml_error: None,
            },
            Err(e) => Gpus {
                nvml: None,
                nvml_error: Some(e.to_string()),
            },
        }
    }

    pub(crate) fn nvml_available(&self) -> bool {
        self.nvml.is_some()
    }

    pub(crate) fn driver_version(&self) -> Option<String> {
        self.nvml.as_ref()?.sys_driver_version().ok()
    }

    /// Every device NVML sees, with its current use. Devices that fail to
    /// answer are left out (and logged).
    pub(crate) fn detect(&self) -> Vec<DetectedGpu> {
        let Some(nvml) = &self.nvml else {
            return Vec::new();
        };
        let count = nvml.device_count().unwrap_or(0);
        let mut out = Vec::new();
        for index in 0..count {
            let dev = match nvml.device_by_index(index) {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(index, error = %e, "NVML cannot open a GPU");
                    continue;
                }
            };
            let Ok(model) = dev.name() else { continue };
            let mem = dev.memory_info().ok();
            out.push(DetectedGpu {
                index,
                model,
                memory_total: mem.as_ref().map_or(0, |m| m.total),
                memory_used: mem.as_ref().map_or(0, |m| m.used),
                utilization: dev.utilization_rates().ok().map(|u| u.gpu),
                compute_capability: dev
                    .cuda_compute_capability()
                    .ok()
                    .map(|c| format!("{}.{}", c.major, c.minor)),
            });
        }
        out
    }
}

/// Groups detected and declared GPUs by model, as registration sends them.
pub(crate) fn group(detected: &[DetectedGpu], declared: &[DeclaredGpu]) -> Vec<GpuDevice> {
    let mut by_model: BTreeMap<String, GpuDevice> = BTreeMap::new();
    for d in detected {
        let e = by_model.entry(d.model.clone()).or_insert(GpuDevice {
            model: d.model.clone(),
            count: 0,
            memory: (d.memory_total > 0).then_some(d.memory_total),
        });
        e.count += 1;
    }
    for d in declared {
        let e = by_model.entry(d.model.clone()).or_insert(GpuDevice {
            model: d.model.clone(),
            count: 0,
            memory: d.memory,
        });
        e.count += d.count;
        e.memory = e.memory.or(d.memory);
    }
    by_model.into_values().collect()
}

/// Average use in percent over devices that report it.
pub(crate) fn usage(detected: &[DetectedGpu]) -> (Option<f32>, Option<f32>) {
    if detected.is_empty() {
        return (None, None);
    }
    let utils: Vec<u32> = detected.iter().filter_map(|d| d.utilization).collect();
    let util = (!utils.is_empty()).then(|| utils.iter().sum::<u32>() as f32 / utils.len() as f32);
    let total: u64 = detected.iter().map(|d| d.memory_total).sum();
    let used: u64 = detected.iter().map(|d| d.memory_used).sum();
    let mem = (total > 0).then(|| (used as f64 / total as f64 * 100.0) as f32);
    (util, mem.map(|m| m.clamp(0.0, 100.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpu_specs() {
        let g = parse_gpu_spec("RTX 4090:2:24GiB").unwrap();
        assert_eq!(
            g,
            DeclaredGpu {
                model: "RTX 4090".into(),
                count: 2,
                memory: Some(24 * 1024 * 1024 * 1024)
            }
        );
        assert_eq!(parse_gpu_spec("A100:8").unwrap().count, 8);
        assert_eq!(
            parse_gpu_spec("L4:1:24GB").unwrap().memory,
            Some(24_000_000_000)
        );
        assert_eq!(
            parse_gpu_spec("H100:4:85899345920").unwrap().memory,
            Some(85_899_345_920)
        );
        // A colon inside the model name.
        assert_eq!(parse_gpu_spec("vendor:X:3").unwrap().model, "vendor:X");
        for bad in ["", "A100", "A100:0", ":2", "A100:two", "A100:2:lots"] {
            assert!(parse_gpu_spec(bad).is_err(), "{bad}");
        }
        assert!(parse_gpu_spec("A100").unwrap_err().contains("MODEL:COUNT"));
    }

    #[test]
    fn grouping_adds_counts_per_model() {
        let det = |m: &str| DetectedGpu {
            index: 0,
            model: m.into(),
            memory_total: 100,
            memory_used: 25,
            utilization: Some(50),
            compute_capability: None,
        };
        let g = group(
            &[det("A"), det("A"), det("B")],
            &[DeclaredGpu {
                model: "A".into(),
                count: 2,
                memory: None,
            }],
        );
        assert_eq!(g.len(), 2);
        assert_eq!((g[0].model.as_str(), g[0].count), ("A", 4));
        assert_eq!(usage(&[det("A"), det("B")]), (Some(50.0), Some(25.0)));
    }
}
