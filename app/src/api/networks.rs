//! Networks: listing (viewer), creating, editing, setting their check policy and deleting
//! (admin).

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::NetworkView;

#[server(endpoint = "networks/list")]
pub async fn list_networks() -> Result<Vec<NetworkView>, AppError> {
    use crate::model::Role;
    use crate::server::{auth::guard::require, inventory::networks, respond};
    respond(async {
        let caller = require(Role::Viewer).await?;
        crate::server::request_memo::once("networks/list".into(), || {
            networks::list(&caller.state.db)
        })
        .await
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
    use crate::server::{auth::guard::require, inventory::networks, notice, respond};
    respond(async {
        let caller = require(Role::Admin).await?;
        let created = networks::create(&caller, &cidr, &name, &description).await;
        if created.is_err() {
            let fields = [
                ("cidr", cidr.as_str()),
                ("name", name.as_str()),
                ("description", description.as_str()),
            ];
            notice::keep_draft(
                <CreateNetwork as leptos::server_fn::ServerFn>::PATH,
                &fields,
            )
            .await;
        }
        created
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

/// Sets how a network's addresses are checked. `methods` is `configured` (the configured
/// probes) or `chosen` (those ticked: `icmp`, `tcp`, `arp`); a ticked `dnsbl` keeps the
/// DNSBL half on. Checkboxes arrive only when ticked, so a plain form post works.
#[server(endpoint = "networks/set_policy")]
#[allow(clippy::too_many_arguments)]
pub async fn set_network_policy(
    network_id: i64,
    methods: String,
    icmp: Option<String>,
    tcp: Option<String>,
    arp: Option<String>,
    dnsbl: Option<String>,
) -> Result<NetworkView, AppError> {
    use crate::model::Role;
    use crate::server::{auth::guard::require, inventory::networks, respond};
    respond(async {
        let caller = require(Role::Admin).await?;
        let probes = match methods.as_str() {
            "configured" => String::new(),
            "chosen" => {
                let words: Vec<&str> = [("icmp", &icmp), ("tcp", &tcp), ("arp", &arp)]
                    .into_iter()
                    .filter(|(_, ticked)| ticked.is_some())
                    .map(|(word, _)| word)
                    .collect();
                if words.is_empty() {
                    return Err(AppError::BadRequest(
                        "Tick at least one probe method, or keep the configured ones.".into(),
                    ));
                }
                words.join(" ")
            }
            _ => {
                return Err(AppError::BadRequest(
                    "Choose the configured probe methods or your own.".into(),
                ))
            }
        };
        let policy = networks::CheckPolicy::parse(&probes, dnsbl.is_some())?;
        networks::set_policy(&caller, network_id, policy).await
    })
    .await
}

/// The subnet map of a network, or of one of its blocks.
#[server(endpoint = "networks/map")]
pub async fn subnet_map(
    network_id: i64,
    block: Option<String>,
) -> Result<crate::model::SubnetMap, AppError> {
    use crate::model::Role;
    use crate::server::{auth::guard::require, inventory::map, respond};
    respond(async {
        let caller = require(Role::Viewer).await?;
        map::map(&caller.state.db, network_id, block.as_deref()).await
    })
    .await
}

/// Everything a network's page shows: the network, the addresses the page address asks
/// for (as [`crate::api::addresses::list_addresses`] takes them), and the map of `block`.
#[server(endpoint = "networks/page")]
#[allow(clippy::too_many_arguments)]
pub async fn network_page(
    network_id: i64,
    status: Option<crate::model::AddressStatus>,
    q: Option<String>,
    after: Option<String>,
    before: Option<String>,
    last: Option<bool>,
    block: Option<String>,
) -> Result<crate::model::NetworkPage, AppError> {
    use crate::model::Role;
    use crate::server::inventory::{addresses::ListQuery, network_page};
    use crate::server::{auth::guard::require, respond};
    respond(async {
        let caller = require(Role::Viewer).await?;
        let list = ListQuery {
            status,
            search: q.as_deref(),
            after: after.as_deref(),
            before: before.as_deref(),
            last: last.unwrap_or(false),
        };
        let key = format!("networks/page {network_id} {list:?} {block:?}");
        crate::server::request_memo::once(key, || {
            network_page::read(&caller.state.db, network_id, &list, block.as_deref())
        })
        .await
    })
    .await
}
