//! Networks: listing (viewer), creating, editing and deleting (admin).

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::NetworkView;

#[server(endpoint = "networks/list")]
pub async fn list_networks() -> Result<Vec<NetworkView>, AppError> {
    use crate::model::Role;
    use crate::server::{auth::guard::require, inventory::networks, respond};
    respond(async {
        let caller = require(Role::Viewer).await?;
        networks::list(&caller.state.db).await
    })
    .await
}

#[server(endpoint = "networks/create")]
pub async fn create_network(
    cidr: String,
    name: String,
    description: String,
) -> Result<NetworkView, AppError> {
    use crate::model::Role;
    use crate::server::{auth::guard::require, inventory::networks, respond};
    respond(async {
        let caller = require(Role::Admin).await?;
        networks::create(&caller, &cidr, &name, &description).await
    })
    .await
}

#[server(endpoint = "networks/edit")]
pub async fn edit_network(
    network_id: i64,
    name: String,
    description: String,
) -> Result<NetworkView, AppError> {
    use crate::model::Role;
    use crate::server::{auth::guard::require, inventory::networks, respond};
    respond(async {
        let caller = require(Role::Admin).await?;
        networks::edit(&caller, network_id, &name, &description).await
    })
    .await
}

#[server(endpoint = "networks/delete")]
pub async fn delete_network(network_id: i64) -> Result<(), AppError> {
    use crate::model::Role;
    use crate::server::{auth::guard::require, inventory::networks, respond};
    respond(async {
        let caller = require(Role::Admin).await?;
        networks::delete(&caller, network_id).await
    })
    .await
}

#[server(endpoint = "networks/get")]
pub async fn get_network(network_id: i64) -> Result<NetworkView, AppError> {
    use crate::model::Role;
    use crate::server::{auth::guard::require, inventory::networks, respond};
    respond(async {
        let caller = require(Role::Viewer).await?;
        let net = networks::find(&caller.state.db, network_id).await?;
        networks::view(&caller.state.db, net).await
    })
    .await
}
