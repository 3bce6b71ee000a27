//! The address lifecycle: allocate, release, reserve, unreserve (operator) and force-free
//! without checks (admin).

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::AddressView;

#[server(endpoint = "addresses/allocate")]
pub async fn allocate_address(
    network_id: i64,
    address: Option<String>,
    owner: String,
    hostname: String,
    note: String,
) -> Result<AddressView, AppError> {
    use crate::model::Role;
    use crate::server::inventory::addresses::{self, allocate, Holder};
    use crate::server::{auth::guard::require, respond};
    respond(async {
        let caller = require(Role::Operator).await?;
        let done = allocate(
            &caller,
            network_id,
            address.as_deref(),
            Holder {
                owner,
                hostname,
                note,
            },
            None,
        )
        .await
        .map(addresses::view)?;
        crate::server::notice::leave(crate::model::Notice::allocated(&done)).await;
        Ok(done)
    })
    .await
}

#[server(endpoint = "addresses/release")]
pub async fn release_address(address: String) -> Result<AddressView, AppError> {
    use crate::model::Role;
    use crate::server::{
        auth::guard::require, inventory::addresses, inventory::lifecycle::Action, respond,
    };
    respond(async {
        let caller = require(Role::Operator).await?;
        let done = addresses::change(&caller, &address, Action::Release, "")
            .await
            .map(addresses::view)?;
        crate::server::notice::leave(crate::model::Notice::released(&done)).await;
        Ok(done)
    })
    .await
}

#[server(endpoint = "addresses/reserve")]
pub async fn reserve_address(address: String, note: String) -> Result<AddressView, AppError> {
    use crate::model::Role;
    use crate::server::{
        auth::guard::require, inventory::addresses, inventory::lifecycle::Action, respond,
    };
    respond(async {
        let caller = require(Role::Operator).await?;
        let done = addresses::change(&caller, &address, Action::Reserve, &note)
            .await
            .map(addresses::view)?;
        crate::server::notice::leave(crate::model::Notice::reserved(&done)).await;
        Ok(done)
    })
    .await
}

#[server(endpoint = "addresses/unreserve")]
pub async fn unreserve_address(address: String) -> Result<AddressView, AppError> {
    use crate::model::Role;
    use crate::server::{
        auth::guard::require, inventory::addresses, inventory::lifecycle::Action, respond,
    };
    respond(async {
        let caller = require(Role::Operator).await?;
        let done = addresses::change(&caller, &address, Action::Unreserve, "")
            .await
            .map(addresses::view)?;
        crate::server::notice::leave(crate::model::Notice::unreserved(&done)).await;
        Ok(done)
    })
    .await
}

#[server(endpoint = "addresses/force_free")]
pub async fn force_free_address(address: String, reason: String) -> Result<AddressView, AppError> {
    use crate::model::Role;
    use crate::server::{
        auth::guard::require, inventory::addresses, inventory::lifecycle::Action, respond,
    };
    respond(async {
        let caller = require(Role::Admin).await?;
        let done = addresses::change(&caller, &address, Action::ForceFree, &reason)
            .await
            .map(addresses::view)?;
        crate::server::notice::leave(crate::model::Notice::force_freed(&done)).await;
        Ok(done)
    })
    .await
}

/// Replaces the owner, host name and note of an allocated address.
#[server(endpoint = "addresses/edit")]
pub async fn edit_address(
    address: String,
    owner: String,
    hostname: String,
    note: String,
) -> Result<AddressView, AppError> {
    use crate::model::Role;
    use crate::server::inventory::addresses::{self, HolderEdit};
    use crate::server::{auth::guard::require, respond};
    respond(async {
        let caller = require(Role::Operator).await?;
        let edit = HolderEdit {
            owner: Some(owner),
            hostname: Some(hostname),
            note: Some(note),
        };
        let done = addresses::edit(&caller, &address, edit)
            .await
            .map(addresses::view)?;
        crate::server::notice::leave(crate::model::Notice::edited(&done)).await;
        Ok(done)
    })
    .await
}

#[server(endpoint = "addresses/page")]
pub async fn list_addresses(
    network_id: i64,
    status: Option<crate::model::AddressStatus>,
    q: Option<String>,
    after: Option<String>,
    before: Option<String>,
    last: Option<bool>,
) -> Result<crate::model::AddressPage, AppError> {
    use crate::model::Role;
    use crate::server::inventory::addresses::{self, ListQuery};
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
        addresses::page(&caller.state.db, network_id, &list).await
    })
    .await
}

#[server(endpoint = "addresses/detail")]
pub async fn address_detail(address: String) -> Result<crate::model::AddressDetail, AppError> {
    use crate::model::Role;
    use crate::server::{auth::guard::require, inventory::addresses, respond};
    respond(async {
        let caller = require(Role::Viewer).await?;
        crate::server::request_memo::once(format!("addresses/detail {address}"), || {
            addresses::detail(&caller.state.db, &address)
        })
        .await
    })
    .await
}

/// Releases every selected address, or none (checkboxes named `addresses[]`).
#[server(endpoint = "addresses/bulk_release")]
pub async fn bulk_release(addresses: Option<Vec<String>>) -> Result<Vec<AddressView>, AppError> {
    use crate::model::Role;
    use crate::server::{
        auth::guard::require, inventory::addresses as domain, inventory::lifecycle::Action, respond,
    };
    respond(async {
        let caller = require(Role::Operator).await?;
        let done =
            domain::change_many(&caller, &addresses.unwrap_or_default(), Action::Release, "")
                .await?;
        crate::server::notice::leave(crate::model::Notice::released_many(&done)).await;
        Ok(done)
    })
    .await
}

/// Force-frees every selected address without checks, or none.
#[server(endpoint = "addresses/bulk_force_free")]
pub async fn bulk_force_free(
    addresses: Option<Vec<String>>,
    reason: String,
) -> Result<Vec<AddressView>, AppError> {
    use crate::model::Role;
    use crate::server::{
        auth::guard::require, inventory::addresses as domain, inventory::lifecycle::Action, respond,
    };
    respond(async {
        let caller = require(Role::Admin).await?;
        let done = domain::change_many(
            &caller,
            &addresses.unwrap_or_default(),
            Action::ForceFree,
            &reason,
        )
        .await?;
        crate::server::notice::leave(crate::model::Notice::force_freed_many(&done)).await;
        Ok(done)
    })
    .await
}

/// Imports addresses from CSV text into a network, all or nothing; the report lists every
/// bad line.
#[server(endpoint = "addresses/import")]
pub async fn import_addresses(
    network_id: i64,
    csv: String,
) -> Result<crate::model::ImportReport, AppError> {
    use crate::model::Role;
    use crate::server::{auth::guard::require, inventory::csv, respond};
    respond(async {
        let caller = require(Role::Operator).await?;
        csv::import::import(&caller, network_id, &csv).await
    })
    .await
}
