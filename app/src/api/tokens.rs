//! API tokens: every user makes and revokes their own; admins see and manage everyone's.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{NewTokenView, TokenView};

/// The caller's tokens, or, for an admin asking for `all`, everyone's.
#[server(endpoint = "tokens/list")]
pub async fn list_tokens(all: Option<bool>) -> Result<Vec<TokenView>, AppError> {
    use crate::model::Role;
    use crate::server::{auth::guard::require, auth::tokens, respond};
    respond(async {
        let caller = require(Role::Viewer).await?;
        let owner = if all.unwrap_or(false) {
            if caller.user.role < Role::Admin {
                return Err(AppError::Forbidden);
            }
            None
        } else {
            Some(caller.user.id)
        };
        tokens::views(&caller.state.db, owner).await
    })
    .await
}

/// Makes a token for the caller, or (admins) for the user `user_id`; the answer carries the
/// secret, shown this once.
#[server(endpoint = "tokens/create")]
pub async fn create_token(name: String, user_id: Option<i64>) -> Result<NewTokenView, AppError> {
    use crate::model::Role;
    use crate::server::{auth::guard::require, auth::tokens, respond};
    respond(async {
        let caller = require(Role::Viewer).await?;
        let owner = user_id.unwrap_or(caller.user.id);
        tokens::create_by(&caller, owner, &name).await
    })
    .await
}

/// Revokes one of the caller's tokens, or (admins) anyone's.
#[server(endpoint = "tokens/revoke")]
pub async fn revoke_token(token_id: i64) -> Result<TokenView, AppError> {
    use crate::model::Role;
    use crate::server::{auth::guard::require, auth::tokens, respond};
    respond(async {
        let caller = require(Role::Viewer).await?;
        tokens::revoke_by(&caller, token_id).await
    })
    .await
}

/// The API reference page's content, from the generated OpenAPI document.
#[server(endpoint = "api_reference")]
pub async fn api_reference() -> Result<crate::model::ApiReference, AppError> {
    use crate::model::Role;
    use crate::server::{auth::guard::require, respond, rest};
    respond(async {
        require(Role::Viewer).await?;
        Ok(rest::reference::build())
    })
    .await
}
