//! Sites and their probe agents: admins make sites, move networks to them and make (and
//! revoke) the agents that check them; everyone sees which sites have a live agent.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{NewAgentView, SiteView};

/// Every site with its networks and agents, `local` first.
#[server(endpoint = "sites/list")]
pub async fn list_sites() -> Result<Vec<SiteView>, AppError> {
    use crate::model::Role;
    use crate::server::{agents::registry, auth::guard::require, respond};
    respond(async {
        let caller = require(Role::Viewer).await?;
        registry::site_views(&caller.state.db).await
    })
    .await
}

/// Makes a site.
#[server(endpoint = "sites/add")]
pub async fn add_site(name: String, description: String) -> Result<(), AppError> {
    use crate::model::Role;
    use crate::server::{auth::guard::require, inventory::sites, respond};
    respond(async {
        let caller = require(Role::Admin).await?;
        sites::create(&caller, &name, &description)
            .await
            .map(|_| ())
    })
    .await
}

/// Deletes a site without networks or live agent tokens.
#[server(endpoint = "sites/delete")]
pub async fn delete_site(site_id: i64) -> Result<(), AppError> {
    use crate::model::Role;
    use crate::server::{auth::guard::require, inventory::sites, respond};
    respond(async {
        let caller = require(Role::Admin).await?;
        sites::delete(&caller, site_id).await
    })
    .await
}

/// Moves a network to the site named `site` (`local`: the ipvet instances).
#[server(endpoint = "sites/move_network")]
pub async fn move_network(network_id: i64, site: String) -> Result<(), AppError> {
    use crate::model::Role;
    use crate::server::{auth::guard::require, inventory::sites, respond};
    respond(async {
        let caller = require(Role::Admin).await?;
        let to = sites::by_name(&caller.state.db, &site).await?.map(|s| s.id);
        sites::move_network(&caller, network_id, to)
            .await
            .map(|_| ())
    })
    .await
}

/// Makes an agent of a site; the answer carries its token's secret, shown this once.
#[server(endpoint = "sites/add_agent")]
pub async fn add_agent(site_id: i64, name: String) -> Result<NewAgentView, AppError> {
    use crate::model::Role;
    use crate::server::{agents::registry, auth::guard::require, respond};
    respond(async {
        let caller = require(Role::Admin).await?;
        registry::create_by(&caller, site_id, &name).await
    })
    .await
}

/// Revokes an agent's token at once.
#[server(endpoint = "sites/revoke_agent")]
pub async fn revoke_agent(agent_id: i64) -> Result<(), AppError> {
    use crate::model::Role;
    use crate::server::{agents::registry, auth::guard::require, respond};
    respond(async {
        let caller = require(Role::Admin).await?;
        registry::revoke_by(&caller, agent_id).await
    })
    .await
}
