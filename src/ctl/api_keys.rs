//! `llmlbctl api-keys …`, mirroring `daemon/handlers/api_keys.rs`.

use chrono::Utc;

use super::args::{ApiKeysCommand, CtlArgs, OutputFormat};
use super::connection::{connect, resolve};
use super::error::CtlError;
use super::escape::escape;
use super::output::{self, stdout_color};
use super::{print_value, show, CmdResult};
use crate::api::auth::CreateApiKeyRequest;
use crate::client::Client;

pub(crate) async fn run(args: &CtlArgs, cmd: &ApiKeysCommand) -> CmdResult {
    let client = connect(args, true)?;
    let err = |e| CtlError::from_client(e, &client);
    let color = stdout_color() && args.output == OutputFormat::Table;
    match cmd {
        ApiKeysCommand::Create {
            name,
            role,
            expires_in,
        } => {
            let req = CreateApiKeyRequest {
                name: name.clone(),
                role: (*role).into(),
                expires_in_secs: expires_in.map(|d| d.as_secs()),
            };
            let reply = client.create_api_key(&req).await.map_err(err)?;
            show(args, &client, &reply, |k| output::api_key_created(&k))?;
        }
        ApiKeysCommand::List => {
            let reply = client.list_api_keys().await.map_err(err)?;
            show(args, &client, &reply, |keys| {
                output::api_keys(&keys, Utc::now(), color)
            })?;
        }
        ApiKeysCommand::Revoke { id } => {
            let id = resolve_key(&client, id).await?;
            client.delete_api_key(&id).await.map_err(err)?;
            print_value(
                args,
                &serde_json::json!({"id": id, "revoked": true}),
                || format!("revoked API key {}", escape(&id)),
            );
        }
        ApiKeysCommand::Rotate { id } => {
            let id = resolve_key(&client, id).await?;
            let reply = client.rotate_api_key(&id).await.map_err(err)?;
            show(args, &client, &reply, |k| output::api_key_created(&k))?;
        }
    }
    Ok(())
}

async fn resolve_key(client: &Client, given: &str) -> Result<String, CtlError> {
    let keys = client
        .list_api_keys()
        .await
        .and_then(|r| r.decode())
        .map_err(|e| CtlError::from_client(e, client))?;
    resolve(
        "api-key",
        given,
        keys.iter()
            .map(|k| (k.id.as_str(), format!("{} ({})", escape(&k.name), k.role))),
    )
}
