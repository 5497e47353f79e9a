//! Tables for people. Pure functions returning `String`; colour only when
//! asked for (stdout is a terminal and `NO_COLOR` is unset). Every string
//! from the daemon goes through [`escape`] on its way into a cell.

use std::borrow::Cow;
use std::io::IsTerminal;

use chrono::{DateTime, Utc};
use comfy_table::{presets, Attribute, Cell, CellAlignment, Color, ContentArrangement, Table};

use super::escape::{escape, escape_text};
use crate::api::audit::AuditEntry;
use crate::api::auth::{ApiKeyCreated, ApiKeyView};
use crate::api::import::ImportReport;
use crate::api::join_tokens::{JoinTokenCreated, JoinTokenView};
use crate::api::nodes::{GpuDevice, NodeStatus, NodeView};
use crate::api::status::StatusResponse;

/// Colour on stdout: a terminal, and `NO_COLOR` unset.
pub(crate) fn stdout_color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Colour on stderr: a terminal, and `NO_COLOR` unset.
pub(crate) fn stderr_color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

fn table(color: bool) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING);
    t.set_content_arrangement(ContentArrangement::Disabled);
    if !color {
        t.force_no_tty();
    } else {
        t.enforce_styling();
    }
    t
}

/// Renders a table with two spaces between columns and no trailing blanks.
fn render(mut t: Table) -> String {
    for c in t.column_iter_mut() {
        c.set_padding((0, 2));
    }
    let text = t.to_string();
    let mut out: String = text
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n");
    out.push('\n');
    out
}

/// A cell showing text from the daemon.
fn cell(s: &str) -> Cell {
    Cell::new(escape(s))
}

fn header(t: &mut Table, names: &[&str], color: bool) {
    t.set_header(names.iter().map(|n| {
        let c = Cell::new(n);
        if color {
            c.add_attribute(Attribute::Bold)
        } else {
            c
        }
    }));
}

/// "12s ago", "5m ago", "3h ago", "2d ago"; "never" for none.
pub(crate) fn relative(t: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    let Some(t) = t else {
        return "never".into();
    };
    let secs = (now - t).num_seconds();
    if secs < 0 {
        return "just now".into();
    }
    match secs {
        0..=59 => format!("{secs}s ago"),
        60..=3599 => format!("{}m ago", secs / 60),
        3600..=86_399 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86_400),
    }
}

/// "2× RTX 4090", several groups joined with ", "; "-" for none.
pub(crate) fn gpu_summary(devices: &[GpuDevice]) -> String {
    if devices.is_empty() {
        return "-".into();
    }
    devices
        .iter()
        .map(|d| {
            let model = d.model.strip_prefix("NVIDIA ").unwrap_or(&d.model);
            format!("{}× {}", d.count, escape(model))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Custom name beside the machine name: "Rack 3 (gpu-07)", escaped.
pub(crate) fn display_name(n: &NodeView) -> String {
    match n.custom_name.as_deref().filter(|s| !s.is_empty()) {
        Some(c) => format!("{} ({})", escape(c), escape(&n.machine_name)),
        None => escape(&n.machine_name).into_owned(),
    }
}

/// "10.0.0.7:8080" or "[fe80::1]:8080".
pub(crate) fn address(ip: &str, port: u16) -> String {
    let ip = escape(ip);
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

fn status_cell(s: NodeStatus, drained: bool, color: bool) -> Cell {
    let text = if drained {
        format!("{s} (drained)")
    } else {
        s.to_string()
    };
    let cell = Cell::new(text);
    if !color {
        return cell;
    }
    match s {
        NodeStatus::Pending => cell.fg(Color::Yellow).add_attribute(Attribute::Bold),
        NodeStatus::Online => cell.fg(Color::Green),
        NodeStatus::Registering => cell.fg(Color::Cyan),
        NodeStatus::Offline => cell.fg(Color::Red),
    }
}

/// "same machine name as 3f2a1b2c…" for a node that shares its machine
/// name and runtime port with others.
pub(crate) fn twins_note(n: &NodeView) -> Option<String> {
    if n.same_machine_name_as.is_empty() {
        return None;
    }
    let ids: Vec<String> = n
        .same_machine_name_as
        .iter()
        .map(|id| format!("{}…", short_id(id)))
        .collect();
    Some(format!("same machine name as {}", ids.join(", ")))
}

fn short_id(id: &str) -> Cow<'_, str> {
    escape(id.get(..8).unwrap_or(id))
}

fn percent(v: Option<f32>) -> String {
    v.map_or("-".into(), |v| format!("{v:.0}%"))
}

fn models(n: &NodeView) -> String {
    let all: Vec<Cow<'_, str>> = n
        .loaded_models
        .iter()
        .chain(&n.loaded_embedding_models)
        .map(|m| escape(m))
        .collect();
    match all.len() {
        0 => "-".into(),
        1..=2 => all.join(", "),
        k => format!("{}, +{} more", all[..2].join(", "), k - 2),
    }
}

/// `nodes list`: pending nodes first, then by registration.
pub(crate) fn nodes(list: &[NodeView], wide: bool, now: DateTime<Utc>, color: bool) -> String {
    if list.is_empty() {
        return "no nodes".into();
    }
    let mut sorted: Vec<&NodeView> = list.iter().collect();
    sorted.sort_by_key(|n| n.status != NodeStatus::Pending);
    let mut t = table(color);
    if wide {
        header(
            &mut t,
            &[
                "ID",
                "NAME",
                "STATUS",
                "ADDRESS",
                "RUNTIME",
                "GPUS",
                "MODELS",
                "CPU",
                "MEM",
                "GPU",
                "LAST SEEN",
                "REGISTERED",
                "APPROVED",
                "TAGS",
            ],
            color,
        );
    } else {
        header(
            &mut t,
            &[
                "ID",
                "NAME",
                "STATUS",
                "ADDRESS",
                "GPUS",
                "MODELS",
                "LAST SEEN",
            ],
            color,
        );
    }
    for n in sorted {
        let addr = address(&n.ip_address, n.node_api_port);
        let name = match twins_note(n) {
            Some(note) => format!("{} · {note}", display_name(n)),
            None => display_name(n),
        };
        if wide {
            t.add_row(vec![
                cell(&n.id),
                Cell::new(&name),
                status_cell(n.status, n.drained, color),
                Cell::new(addr),
                cell(if n.runtime_version.is_empty() {
                    "-"
                } else {
                    &n.runtime_version
                }),
                Cell::new(gpu_summary(&n.gpu_devices)),
                Cell::new(models(n)),
                Cell::new(percent(n.cpu_usage)).set_alignment(CellAlignment::Right),
                Cell::new(percent(n.memory_usage)).set_alignment(CellAlignment::Right),
                Cell::new(percent(n.gpu_usage)).set_alignment(CellAlignment::Right),
                Cell::new(relative(n.last_seen, now)),
                Cell::new(relative(Some(n.registered_at), now)),
                Cell::new(relative(n.approved_at, now)),
                Cell::new(if n.tags.is_empty() {
                    "-".into()
                } else {
                    escape(&n.tags.join(",")).into_owned()
                }),
            ]);
        } else {
            t.add_row(vec![
                Cell::new(short_id(&n.id)),
                Cell::new(&name),
                status_cell(n.status, n.drained, color),
                Cell::new(addr),
                Cell::new(gpu_summary(&n.gpu_devices)),
                Cell::new(models(n)),
                Cell::new(relative(n.last_seen, now)),
            ]);
        }
    }
    let pending = list
        .iter()
        .filter(|n| n.status == NodeStatus::Pending)
        .count();
    let mut out = render(t);
    if list.iter().any(|n| !n.same_machine_name_as.is_empty()) {
        out.push_str(
            "\nSome entries share a machine name and runtime port: a machine registered without \
             proving it was the known node (reinstalled, lost its state dir, or an impostor). \
             Check with `llmlbctl nodes show <id>` before approving, and remove the stale entry.\n",
        );
    }
    if pending > 0 {
        out.push_str(&format!(
            "\n{pending} pending: approve with `llmlbctl nodes approve <id>`\n"
        ));
    }
    out
}

/// `nodes show`: one node, field by field.
pub(crate) fn node(n: &NodeView, now: DateTime<Utc>, color: bool) -> String {
    let mut t = table(color);
    let at = |v: Option<DateTime<Utc>>| match v {
        Some(v) => format!(
            "{} ({})",
            v.format("%Y-%m-%d %H:%M:%S UTC"),
            relative(Some(v), now)
        ),
        None => "-".into(),
    };
    let opt = |v: &Option<String>| v.as_deref().map_or("-".into(), escape).into_owned();
    let list = |v: &[String]| {
        if v.is_empty() {
            "-".into()
        } else {
            escape(&v.join(", ")).into_owned()
        }
    };
    let rows: Vec<(&str, Cell)> = vec![
        ("id", cell(&n.id)),
        ("name", Cell::new(display_name(n))),
        ("status", status_cell(n.status, n.drained, color)),
        (
            "address",
            Cell::new(address(&n.ip_address, n.node_api_port)),
        ),
        ("runtime port", Cell::new(n.runtime_port)),
        (
            "runtime",
            cell(if n.runtime_version.is_empty() {
                "-"
            } else {
                &n.runtime_version
            }),
        ),
        ("gpus", Cell::new(gpu_summary(&n.gpu_devices))),
        (
            "gpu model",
            Cell::new(opt(&n
                .gpu_model_name
                .clone()
                .or_else(|| n.gpu_model.clone()))),
        ),
        (
            "compute capability",
            Cell::new(opt(&n.gpu_compute_capability)),
        ),
        ("models", Cell::new(list(&n.loaded_models))),
        (
            "embedding models",
            Cell::new(list(&n.loaded_embedding_models)),
        ),
        (
            "ready models",
            Cell::new(
                n.ready_models
                    .map_or("-".into(), |[r, t]| format!("{r}/{t}")),
            ),
        ),
        ("runtimes", Cell::new(list(&n.supported_runtimes))),
        ("cpu", Cell::new(percent(n.cpu_usage))),
        ("memory", Cell::new(percent(n.memory_usage))),
        ("gpu use", Cell::new(percent(n.gpu_usage))),
        ("gpu memory", Cell::new(percent(n.gpu_memory_usage))),
        (
            "active requests",
            Cell::new(n.active_requests.map_or("-".into(), |v| v.to_string())),
        ),
        ("registered", Cell::new(at(Some(n.registered_at)))),
        ("approved", Cell::new(at(n.approved_at))),
        ("last seen", Cell::new(at(n.last_seen))),
        ("online since", Cell::new(at(n.online_since))),
        (
            "token age",
            Cell::new(match (n.token_age_secs, n.token_rotation_pending) {
                (None, _) => "no token".to_string(),
                (Some(s), false) => human_secs(s),
                (Some(s), true) => format!("{} (rotation under way)", human_secs(s)),
            }),
        ),
        ("tags", Cell::new(list(&n.tags))),
        // Notes may run over several lines: newlines and tabs stay.
        (
            "notes",
            Cell::new(n.notes.as_deref().map_or("-".into(), escape_text)),
        ),
        (
            "same machine as",
            Cell::new(if n.same_machine_name_as.is_empty() {
                "-".to_string()
            } else {
                escape(&n.same_machine_name_as.join(", ")).into_owned()
            }),
        ),
    ];
    for (k, v) in rows {
        t.add_row(vec![Cell::new(k), v]);
    }
    render(t)
}

fn human_secs(s: u64) -> String {
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

pub(crate) fn status(s: &StatusResponse) -> String {
    let mut t = table(false);
    let n = &s.nodes;
    for (k, v) in [
        ("version", escape(&s.version).into_owned()),
        ("uptime", human_secs(s.uptime_secs)),
        (
            "heartbeat interval",
            format!("{}s", s.heartbeat_interval_secs),
        ),
        ("node timeout", format!("{}s", s.node_timeout_secs)),
        (
            "nodes",
            format!(
                "{} total: {} online, {} registering, {} offline, {} pending",
                n.total, n.online, n.registering, n.offline, n.pending
            ),
        ),
        (
            "tls fingerprint",
            match &s.tls_fingerprint {
                Some(f) => escape(f).into_owned(),
                None => "none (plain HTTP)".to_string(),
            },
        ),
    ] {
        t.add_row(vec![k.to_string(), v]);
    }
    render(t)
}

pub(crate) fn api_keys(keys: &[ApiKeyView], now: DateTime<Utc>, color: bool) -> String {
    if keys.is_empty() {
        return "no API keys".into();
    }
    let mut t = table(color);
    header(
        &mut t,
        &["ID", "NAME", "ROLE", "CREATED", "EXPIRES", "LAST USED"],
        color,
    );
    for k in keys {
        t.add_row(vec![
            escape(&k.id).into_owned(),
            escape(&k.name).into_owned(),
            k.role.to_string(),
            relative(Some(k.created_at), now),
            k.expires_at.map_or("never".into(), |e| {
                e.format("%Y-%m-%d %H:%M UTC").to_string()
            }),
            relative(k.last_used_at, now),
        ]);
    }
    render(t)
}

pub(crate) fn api_key_created(k: &ApiKeyCreated) -> String {
    format!(
        "created API key {} ({}, role {})\n\n  {}\n\nThis secret is shown only now: store it \
         somewhere safe.",
        escape(&k.id),
        escape(&k.name),
        k.role,
        escape(&k.key)
    )
}

/// `llmlbctl audit`: newest first.
pub(crate) fn audit(entries: &[AuditEntry], now: DateTime<Utc>, color: bool) -> String {
    if entries.is_empty() {
        return "no audit events".into();
    }
    let mut t = table(color);
    header(
        &mut t,
        &[
            "TIME", "ACTOR", "SOURCE", "ACTION", "TARGET", "OUTCOME", "DETAIL",
        ],
        color,
    );
    for e in entries {
        let actor = match (&e.actor_name, &e.actor_id) {
            (Some(name), Some(id)) if name != id => format!("{} {name} ({id})", e.actor_kind),
            (_, Some(id)) => format!("{} {id}", e.actor_kind),
            (Some(name), None) => format!("{} {name}", e.actor_kind),
            (None, None) => e.actor_kind.clone(),
        };
        t.add_row(vec![
            format!(
                "{} ({})",
                e.at.format("%Y-%m-%d %H:%M:%S"),
                relative(Some(e.at), now)
            ),
            escape(&actor).into_owned(),
            e.source
                .as_deref()
                .map_or("-".into(), |s| escape(s).into_owned()),
            escape(&e.action).into_owned(),
            e.target
                .as_deref()
                .map_or("-".into(), |s| escape(s).into_owned()),
            escape(&e.outcome).into_owned(),
            if e.detail.is_empty() {
                "-".into()
            } else {
                escape(&e.detail).into_owned()
            },
        ]);
    }
    render(t)
}

pub(crate) fn join_tokens(tokens: &[JoinTokenView], now: DateTime<Utc>, color: bool) -> String {
    if tokens.is_empty() {
        return "no join tokens".into();
    }
    let mut t = table(color);
    header(
        &mut t,
        &[
            "ID",
            "NAME",
            "CREATED",
            "EXPIRES",
            "USES LEFT",
            "TAGS",
            "AUTO-APPROVE",
            "LAST USED",
        ],
        color,
    );
    for j in tokens {
        let expired = j.expires_at.is_some_and(|e| e <= now);
        t.add_row(vec![
            escape(&j.id).into_owned(),
            if j.name.is_empty() {
                "-".into()
            } else {
                escape(&j.name).into_owned()
            },
            relative(Some(j.created_at), now),
            match j.expires_at {
                None => "never".into(),
                Some(e) if expired => format!("expired {}", relative(Some(e), now)),
                Some(e) => e.format("%Y-%m-%d %H:%M UTC").to_string(),
            },
            j.uses_left.map_or("unlimited".into(), |u| u.to_string()),
            if j.tags.is_empty() {
                "-".into()
            } else {
                escape(&j.tags.join(",")).into_owned()
            },
            if j.auto_approve { "yes" } else { "no" }.into(),
            relative(j.last_used_at, now),
        ]);
    }
    render(t)
}

pub(crate) fn join_token_created(t: &JoinTokenCreated) -> String {
    let v = &t.view;
    format!(
        "created join token {}{} ({}, {}{})\n\n  {}\n\nThis token is shown only now. Give it to \
         the machines that may register:\n  llmlb-node --join-token-file FILE   (or \
         LLMLB_JOIN_TOKEN)",
        escape(&v.id),
        if v.name.is_empty() {
            String::new()
        } else {
            format!(" \"{}\"", escape(&v.name))
        },
        v.expires_at.map_or("never expires".into(), |e| format!(
            "expires {}",
            e.format("%Y-%m-%d %H:%M UTC")
        )),
        v.uses_left
            .map_or("unlimited uses".into(), |u| format!("{u} use(s)")),
        if v.auto_approve {
            ", nodes approved at once"
        } else {
            ""
        },
        escape(&t.token)
    )
}

/// The summary of a migration, with the reason for each invalid record.
/// `position` maps a record index to "line:column" in the file.
pub(crate) fn import_summary(
    r: &ImportReport,
    position: impl Fn(usize) -> String,
    color: bool,
) -> String {
    let mut t = table(color);
    header(
        &mut t,
        &["IMPORTED", "UPDATED", "SKIPPED", "INVALID"],
        color,
    );
    t.add_row(vec![
        r.imported.to_string(),
        r.updated.to_string(),
        r.skipped.to_string(),
        r.invalid.len().to_string(),
    ]);
    let mut out = String::new();
    if r.dry_run {
        out.push_str("dry run: nothing was written\n\n");
    }
    out.push_str(&render(t));
    if !r.invalid.is_empty() {
        let mut bad = table(color);
        header(&mut bad, &["RECORD", "AT", "ID", "REASON"], color);
        for i in &r.invalid {
            bad.add_row(vec![
                i.index.to_string(),
                position(i.index),
                i.id.as_deref().map_or("-".into(), escape).into_owned(),
                escape(&i.reason).into_owned(),
            ]);
        }
        out.push('\n');
        out.push_str(&render(bad));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times() {
        let now = Utc::now();
        let ago = |s: i64| relative(Some(now - chrono::Duration::seconds(s)), now);
        assert_eq!(ago(12), "12s ago");
        assert_eq!(ago(300), "5m ago");
        assert_eq!(ago(3 * 3600 + 5), "3h ago");
        assert_eq!(ago(2 * 86_400), "2d ago");
        assert_eq!(relative(None, now), "never");
    }

    #[test]
    fn gpu_summaries() {
        let d = |m: &str, c| GpuDevice {
            model: m.into(),
            count: c,
            memory: None,
        };
        assert_eq!(gpu_summary(&[d("NVIDIA RTX 4090", 2)]), "2× RTX 4090");
        assert_eq!(gpu_summary(&[d("H100", 8), d("L4", 1)]), "8× H100, 1× L4");
        assert_eq!(gpu_summary(&[]), "-");
    }

    /// Every string of a node carries a terminal escape, a C1 CSI, a bidi
    /// override and a bell.
    fn hostile_node() -> NodeView {
        let h = |field: &str| format!("{field}\u{1b}[32mEVIL\u{9b}2J\u{202e}\u{7}");
        NodeView {
            id: h("0123456789"),
            machine_name: h("machine"),
            custom_name: Some(h("custom")),
            ip_address: h("ip"),
            runtime_version: h("runtime"),
            runtime_port: 8080,
            node_api_port: 8080,
            status: NodeStatus::Pending,
            approved: false,
            drained: false,
            registered_at: Utc::now(),
            approved_at: None,
            last_seen: None,
            online_since: None,
            gpu_available: true,
            gpu_devices: vec![GpuDevice {
                model: h("gpu"),
                count: 1,
                memory: None,
            }],
            gpu_count: Some(1),
            gpu_model: Some(h("gpu model")),
            gpu_model_name: Some(h("gpu model name")),
            gpu_compute_capability: Some(h("cc")),
            gpu_capability_score: None,
            loaded_models: vec![h("model")],
            loaded_embedding_models: vec![h("embedding")],
            loaded_asr_models: vec![],
            loaded_tts_models: vec![],
            supported_runtimes: vec![h("llama_cpp")],
            initializing: false,
            ready_models: None,
            cpu_usage: None,
            memory_usage: None,
            gpu_usage: None,
            gpu_memory_usage: None,
            active_requests: None,
            average_response_time_ms: None,
            metrics_updated_at: None,
            tags: vec![h("tag")],
            notes: Some(format!("line one\n\tline two {}", h("notes"))),
            token_age_secs: None,
            token_rotation_pending: false,
            same_machine_name_as: vec!["\u{1b}[2Jid".into()],
        }
    }

    fn assert_clean(out: &str) {
        let raw: Vec<char> = out
            .chars()
            .filter(|&c| super::super::escape::is_unsafe(c) && c != '\n' && c != '\t')
            .collect();
        assert!(raw.is_empty(), "raw {raw:?} in\n{out}");
    }

    #[test]
    fn tables_and_show_escape_everything_the_daemon_sent() {
        let n = hostile_node();
        let now = Utc::now();
        for out in [
            nodes(std::slice::from_ref(&n), false, now, false),
            nodes(std::slice::from_ref(&n), true, now, false),
            node(&n, now, false),
        ] {
            assert_clean(&out);
            assert!(
                out.contains("machine\\e[32mEVIL\\u{9b}2J\\u{202e}\\x07"),
                "{out}"
            );
        }
        let wide = nodes(std::slice::from_ref(&n), true, now, false);
        assert!(!wide.contains('\t'), "tabs stay only in notes: {wide}");
        for field in [
            "0123456789",
            "custom",
            "ip",
            "runtime",
            "gpu",
            "model",
            "embedding",
            "tag",
        ] {
            assert!(
                wide.contains(&format!("{field}\\e[32mEVIL")),
                "{field}: {wide}"
            );
        }
        let show = node(&n, now, false);
        for field in ["gpu model name", "cc", "llama_cpp", "notes"] {
            assert!(
                show.contains(&format!("{field}\\e[32mEVIL")),
                "{field}: {show}"
            );
        }
        assert!(
            show.contains("line one\n"),
            "notes keep their lines: {show}"
        );
        assert!(show.contains("\tline two"), "and their tabs: {show}");
        // With colour on, the only escapes are the styling's own.
        let coloured = node(&n, now, true);
        assert!(coloured.contains('\u{1b}'), "colour is on: {coloured}");
        assert!(!coloured.contains("\u{1b}[32mEVIL"), "{coloured}");
    }

    #[test]
    fn key_and_import_tables_escape_too() {
        let h = "\u{1b}]0;title\u{7}\u{2066}";
        let key = ApiKeyView {
            id: format!("id{h}"),
            name: format!("name{h}"),
            role: crate::api::auth::Role::Admin,
            created_at: Utc::now(),
            expires_at: None,
            last_used_at: None,
        };
        let out = api_keys(&[key], Utc::now(), false);
        assert_clean(&out);
        assert!(out.contains("name\\e]0;title\\x07\\u{2066}"), "{out}");
        let report = ImportReport {
            invalid: vec![crate::api::import::InvalidRecord {
                index: 0,
                id: Some(format!("id{h}")),
                reason: format!("reason{h}"),
            }],
            ..ImportReport::default()
        };
        let out = import_summary(&report, |_| "1:1".into(), false);
        assert_clean(&out);
        assert!(out.contains("reason\\e]0;title"), "{out}");
    }

    #[test]
    fn addresses_bracket_ipv6() {
        assert_eq!(address("10.0.0.1", 80), "10.0.0.1:80");
        assert_eq!(address("fe80::1", 80), "[fe80::1]:80");
    }
}
