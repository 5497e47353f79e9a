//! `llmlbctl join-tokens …`, mirroring `daemon/handlers/join_tokens.rs`.

use chrono::Utc;

use super::args::{CtlArgs, JoinTokensCommand, OutputFormat};
use super::connection::{connect, resolve};
use super::error::CtlError;
use super::escape::escape;
use super::output::{self, stdout_color};
use super::{print_value, show, CmdResult};
use crate::api::join_tokens::CreateJoinTokenRequest;
use crate::client::Client;

pub(crate) async fn run(args: &CtlArgs, cmd: &JoinTokensCommand) -> CmdResult {
    let client = connect(args, true)?;
    let err = |e| CtlError::from_client(e, &client);
    let color = stdout_color() && args.output == OutputFormat::Table;
    match cmd {
        JoinTokensCommand::Create {
            name,
            ttl,
            never_expires,
            uses,
            tags,
            auto_approve,
        } => {
            let req = CreateJoinTokenRequest {
                name: name.clone(),
                ttl_secs: (!never_expires).then_some(ttl.as_secs()),
                never_expires: *never_expires,
                uses: *uses,
                tags: tags.clone(),
                auto_approve: *auto_approve,
            };
            let reply = client.create_join_token(&req).await.map_err(err)?;
            show(args, &client, &reply, |t| output::join_token_created(&t))?;
        }
        JoinTokensCommand::List => {
            let reply = client.list_join_tokens().await.map_err(err)?;
            show(args, &client, &reply, |tokens| {
                output::join_tokens(&tokens, Utc::now(), color)
            })?;
        }
        JoinTokensCommand::Revoke { id } => {
            let id = resolve_token(&client, id).await?;
            client.delete_join_token(&id).await.map_err(err)?;
            print_value(
                args,
                &serde_json::json!({"id": id, "revoked": true}),
                || format!("revoked join token {}", escape(&id)),
            );
        }
    }
    Ok(())
}

async fn resolve_token(client: &Client, given: &str) -> Result<String, CtlError> {
    let tokens = client
        .list_join_tokens()
        .await
        .and_then(|r| r.decode())
        .map_err(|e| CtlError::from_client(e, client))?;
    resolve(
        "join-token",
        given,
        tokens
            .iter()
            .map(|t| (t.id.as_str(), escape(&t.name).into_owned())),
    )
}
