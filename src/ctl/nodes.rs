//! `llmlbctl nodes …`, mirroring `daemon/handlers/nodes.rs` and `tokens.rs`.

use chrono::Utc;

use super::args::{CtlArgs, NodesCommand, OutputFormat};
use super::connection::{connect, resolve};
use super::error::CtlError;
use super::escape::escape;
use super::output::{self, stdout_color};
use super::{prompt, show, CmdResult};
use crate::api::nodes::{NodeView, PatchNodeRequest};
use crate::client::Client;

pub(crate) async fn run(args: &CtlArgs, cmd: &NodesCommand) -> CmdResult {
    let client = connect(args, true)?;
    let err = |e| CtlError::from_client(e, &client);
    let now = Utc::now();
    let color = stdout_color() && args.output == OutputFormat::Table;
    match cmd {
        NodesCommand::List { status, wide } => {
            let reply = client.list_nodes(status.as_deref()).await.map_err(err)?;
            show(args, &client, &reply, |nodes| {
                output::nodes(&nodes, *wide, now, color)
            })?;
        }
        NodesCommand::Show { id } => {
            let id = resolve_node(&client, id).await?;
            let reply = client.get_node(&id).await.map_err(err)?;
            show(args, &client, &reply, |n| output::node(&n, now, color))?;
        }
        NodesCommand::Approve {
            ids,
            all_pending,
            yes,
        } => {
            let targets: Vec<NodeView> = if *all_pending {
                let pending = client
                    .list_nodes(Some("pending"))
                    .await
                    .and_then(|r| r.decode())
                    .map_err(err)?;
                if pending.is_empty() {
                    println!("no pending nodes");
                    return Ok(());
                }
                let names: Vec<String> = pending.iter().map(output::display_name).collect();
                let q = format!(
                    "Approve {} pending node(s): {}?",
                    pending.len(),
                    names.join(", ")
                );
                if !prompt::confirm(&q, *yes)? {
                    return Err(CtlError::new("nothing approved"));
                }
                pending
            } else {
                let all = all_nodes(&client).await?;
                let mut out = Vec::new();
                for given in ids {
                    let id = pick(&all, given)?;
                    out.extend(all.iter().find(|n| n.id == id).cloned());
                }
                out
            };
            let all = all_nodes(&client).await?;
            let all = &all;
            each(args, &client, targets, "approved", |c, id| async move {
                let reply = c.approve(&id).await?;
                if let Ok(n) = reply.decode() {
                    warn_twins(&n, all);
                }
                Ok(reply.raw)
            })
            .await?;
        }
        NodesCommand::Remove { ids, yes } => {
            let all = all_nodes(&client).await?;
            let mut targets = Vec::new();
            for given in ids {
                let id = pick(&all, given)?;
                targets.extend(all.iter().find(|n| n.id == id).cloned());
            }
            let names: Vec<String> = targets
                .iter()
                .map(|n| format!("{} ({})", output::display_name(n), escape(&n.id)))
                .collect();
            let q = format!("Remove {} and revoke their tokens?", names.join(", "));
            if !prompt::confirm(&q, *yes)? {
                return Err(CtlError::new("nothing removed"));
            }
            each(args, &client, targets, "removed", |c, id| async move {
                c.delete_node(&id).await.map(|()| {
                    serde_json::json!({"id": id, "removed": true})
                        .to_string()
                        .into()
                })
            })
            .await?;
        }
        NodesCommand::Edit {
            id,
            name,
            notes,
            tags,
            clear_tags,
        } => {
            let id = resolve_node(&client, id).await?;
            let blank_is_none = |v: &Option<String>| {
                v.as_ref()
                    .map(|s| Some(s.clone()).filter(|s| !s.is_empty()))
            };
            let patch = PatchNodeRequest {
                custom_name: blank_is_none(name),
                notes: blank_is_none(notes),
                tags: if *clear_tags {
                    Some(None)
                } else if tags.is_empty() {
                    None
                } else {
                    Some(Some(tags.clone()))
                },
            };
            if patch.custom_name.is_none() && patch.notes.is_none() && patch.tags.is_none() {
                return Err(CtlError::new("nothing to change")
                    .with_hint("pass --name, --notes, --tag or --clear-tags"));
            }
            let reply = client.patch_node(&id, &patch).await.map_err(err)?;
            show(args, &client, &reply, |n| output::node(&n, now, color))?;
        }
        NodesCommand::RotateToken { id, grace } => {
            let id = resolve_node(&client, id).await?;
            let reply = client.rotate_token(&id, *grace).await.map_err(err)?;
            show(args, &client, &reply, |r| {
                format!(
                    "rotation started for node {}: it gets a new token with its next \
                     heartbeat; the old token stops working when the node uses the new one, \
                     or at {} at the latest",
                    escape(&r.node_id),
                    r.old_token_expires_at.format("%Y-%m-%d %H:%M:%S UTC")
                )
            })?;
        }
        NodesCommand::RevokeToken { id } => {
            let id = resolve_node(&client, id).await?;
            let reply = client.revoke_token(&id).await.map_err(err)?;
            show(args, &client, &reply, |r| {
                format!(
                    "revoked the token of node {}: it must register again and will wait in \
                     pending",
                    escape(&r.node_id)
                )
            })?;
        }
        NodesCommand::Drain { id } | NodesCommand::Undrain { id } => {
            let drain = matches!(cmd, NodesCommand::Drain { .. });
            let id = resolve_node(&client, id).await?;
            let reply = client.set_drained(&id, drain).await.map_err(err)?;
            show(args, &client, &reply, |node| {
                format!(
                    "node {} ({}) is {}",
                    escape(&node.id),
                    output::display_name(&node),
                    if drain {
                        "drained: it gets no new requests"
                    } else {
                        "no longer drained"
                    }
                )
            })?;
        }
    }
    Ok(())
}

async fn all_nodes(client: &Client) -> Result<Vec<NodeView>, CtlError> {
    client
        .list_nodes(None)
        .await
        .and_then(|r| r.decode())
        .map_err(|e| CtlError::from_client(e, client))
}

fn pick(all: &[NodeView], given: &str) -> Result<String, CtlError> {
    resolve(
        "node",
        given,
        all.iter().map(|n| {
            (
                n.id.as_str(),
                format!("{} ({})", output::display_name(n), n.status),
            )
        }),
    )
}

/// Resolves an id or prefix; a full id skips the listing.
pub(crate) async fn resolve_node(client: &Client, given: &str) -> Result<String, CtlError> {
    if uuid::Uuid::parse_str(given).is_ok() {
        return Ok(given.to_string());
    }
    let all = all_nodes(client).await?;
    pick(&all, given)
}

/// After approving a node that shares its machine name and runtime port
/// with other entries: says which, so the admin can remove a stale one.
fn warn_twins(n: &NodeView, all: &[NodeView]) {
    for other in &n.same_machine_name_as {
        let (name, status) = all
            .iter()
            .find(|o| &o.id == other)
            .map_or(("?".to_string(), "?".to_string()), |o| {
                (output::display_name(o), o.status.to_string())
            });
        eprintln!(
            "note: {} shares machine name and runtime port with the entry {other} ({name}, \
             {status}); if this machine replaced it, remove it: llmlbctl nodes remove {other}",
            escape(&n.id),
            other = escape(other),
        );
    }
}

/// Runs `action` on each node, reporting each; fails if any failed.
async fn each<F, Fut>(
    args: &CtlArgs,
    client: &Client,
    targets: Vec<NodeView>,
    done: &str,
    action: F,
) -> CmdResult
where
    F: Fn(Client, String) -> Fut,
    Fut: std::future::Future<Output = crate::client::Result<bytes::Bytes>>,
{
    let mut failures = Vec::new();
    let mut results = Vec::new();
    for n in targets {
        match action(client.clone(), n.id.clone()).await {
            Ok(raw) => {
                if args.output == OutputFormat::Table {
                    println!("{done} {} ({})", escape(&n.id), output::display_name(&n));
                }
                results.push(raw);
            }
            Err(e) => {
                let e = CtlError::from_client(e, client);
                eprintln!(
                    "{} {}: {}",
                    escape(&n.id),
                    output::display_name(&n),
                    e.message
                );
                failures.push(n.id);
            }
        }
    }
    if args.output == OutputFormat::Json {
        // A JSON array of the daemon's answers, each as it was sent.
        let parts: Vec<String> = results
            .iter()
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .collect();
        println!("[{}]", parts.join(","));
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(CtlError::new(format!(
            "{} of the nodes failed: {}",
            failures.len(),
            escape(&failures.join(", "))
        )))
    }
}
