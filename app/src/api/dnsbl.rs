//! The DNSBL blacklists module: the zones with their health (viewer), asking them about an
//! address (operator), and managing them (admin).

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{ZoneAnswer, ZoneView};

#[server(endpoint = "dnsbl/list")]
pub async fn list_zones() -> Result<Vec<ZoneView>, AppError> {
    use crate::model::Role;
    use crate::server::{auth::guard::require, check::dnsbl::zones, respond};
    respond(async {
        let caller = require(Role::Viewer).await?;
        crate::server::request_memo::once("dnsbl/list".into(), || zones::list(&caller.state.db))
            .await
    })
    .await
}

/// Adds a zone, enabled unless `disabled` is set (the suggested public zones are added
/// disabled: their terms of use come first).
#[server(endpoint = "dnsbl/add")]
pub async fn add_zone(zone: String, disabled: Option<bool>) -> Result<ZoneView, AppError> {
    use crate::model::Role;
    use crate::server::{auth::guard::require, check::dnsbl::zones, respond};
    respond(async {
        let caller = require(Role::Admin).await?;
        zones::add(&caller, &zone, !disabled.unwrap_or(false)).await
    })
    .await
}

#[server(endpoint = "dnsbl/rename")]
pub async fn rename_zone(zone_id: i64, zone: String) -> Result<ZoneView, AppError> {
    use crate::model::Role;
    use crate::server::{auth::guard::require, check::dnsbl::zones, respond};
    respond(async {
        let caller = require(Role::Admin).await?;
        zones::rename(&caller, zone_id, &zone).await
    })
    .await
}

#[server(endpoint = "dnsbl/set_enabled")]
pub async fn set_zone_enabled(zone_id: i64, enabled: bool) -> Result<ZoneView, AppError> {
    use crate::model::Role;
    use crate::server::{auth::guard::require, check::dnsbl::zones, respond};
    respond(async {
        let caller = require(Role::Admin).await?;
        zones::set_enabled(&caller, zone_id, enabled).await
    })
    .await
}

#[server(endpoint = "dnsbl/delete")]
pub async fn delete_zone(zone_id: i64) -> Result<(), AppError> {
    use crate::model::Role;
    use crate::server::{auth::guard::require, check::dnsbl::zones, respond};
    respond(async {
        let caller = require(Role::Admin).await?;
        zones::delete(&caller, zone_id).await
    })
    .await
}

/// Runs a zone's self-test now and records its health.
#[server(endpoint = "dnsbl/self_test")]
pub async fn test_zone(zone_id: i64) -> Result<ZoneView, AppError> {
    use crate::model::Role;
    use crate::server::{auth::guard::require, check::dnsbl::zones, respond};
    respond(async {
        let caller = require(Role::Operator).await?;
        zones::self_test(&caller, zone_id).await
    })
    .await
}

/// Asks the zones (or one) about an address and answers with what each said.
#[server(endpoint = "dnsbl/ask")]
pub async fn ask_zones(address: String, zone: Option<String>) -> Result<Vec<ZoneAnswer>, AppError> {
    use crate::model::Role;
    use crate::server::{auth::guard::require, check::dnsbl::zones, respond};
    respond(async {
        let caller = require(Role::Operator).await?;
        zones::ask(&caller, &address, zone.as_deref()).await
    })
    .await
}
