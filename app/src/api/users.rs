//! User administration (admin only).

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{Role, UserView};

#[server(endpoint = "users/list")]
pub async fn list_users() -> Result<Vec<UserView>, AppError> {
    use crate::server::{admin::users, auth::guard::require, respond};
    respond(async {
        let caller = require(Role::Admin).await?;
        users::list(&caller.state.db).await
    })
    .await
}

#[server(endpoint = "users/create")]
pub async fn create_user(name: String, role: Role, password: String) -> Result<UserView, AppError> {
    use crate::server::{admin::users, auth::guard::require, respond};
    respond(async {
        let caller = require(Role::Admin).await?;
        users::create_by_admin(&caller, &name, role, password).await
    })
    .await
}

#[server(endpoint = "users/set_role")]
pub async fn set_user_role(user_id: i64, role: Role) -> Result<UserView, AppError> {
    use crate::server::{admin::users, auth::guard::require, respond};
    respond(async {
        let caller = require(Role::Admin).await?;
        users::set_role(&caller, user_id, role).await
    })
    .await
}

#[server(endpoint = "users/set_disabled")]
pub async fn set_user_disabled(user_id: i64, disabled: bool) -> Result<UserView, AppError> {
    use crate::server::{admin::users, auth::guard::require, respond};
    respond(async {
        let caller = require(Role::Admin).await?;
        users::set_disabled(&caller, user_id, disabled).await
    })
    .await
}

#[server(endpoint = "users/reset_password")]
pub async fn reset_user_password(user_id: i64, password: String) -> Result<(), AppError> {
    use crate::server::{admin::users, auth::guard::require, respond};
    respond(async {
        let caller = require(Role::Admin).await?;
        users::reset_password(&caller, user_id, password).await
    })
    .await
}
