//! `/api/v1/networks`: list, create, get, and set a network's check policy.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use http::StatusCode;

use crate::model::Role;
use crate::server::inventory::ip::{self, Cidr};
use crate::server::rest::auth::Bearer;
use crate::server::rest::error::{ApiError, ErrorBody};
use crate::server::rest::input;
use crate::server::rest::shapes::{CheckPolicy, Cursor, Network, NetworkPath, NewNetwork, Page};
use crate::server::{inventory::networks, AppState};

/// Networks per page.
pub const PAGE_SIZE: u64 = 100;

/// List networks, in address order, with their counts by status.
///
/// Role: viewer.
#[utoipa::path(get, path = "/api/v1/networks", operation_id = "listNetworks", tag = "networks",
    params(Cursor),
    responses(
        (status = 200, description = "A page of networks", body = Page<Network>),
        (status = 400, description = "Bad cursor", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn list(
    bearer: Bearer,
    State(state): State<AppState>,
    q: Result<Query<Cursor>, QueryRejection>,
) -> Result<Json<Page<Network>>, ApiError> {
    bearer.require(Role::Viewer)?;
    let q = input::query(q)?;
    let after = match q.cursor.as_deref() {
        Some(c) => Some(ip::to_u128(input::cursor_address(c)?)),
        None => None,
    };
    let rows = networks::page_after(&state.db, after, PAGE_SIZE + 1).await?;
    Ok(Json(Page::from_probe(
        rows,
        PAGE_SIZE as usize,
        // A network's own address: the list continues after it.
        |n| n.cidr.split('/').next().unwrap_or_default().to_string(),
        Network::from,
    )))
}

/// Create a network.
///
/// Role: admin. The network may not overlap another.
#[utoipa::path(post, path = "/api/v1/networks", operation_id = "createNetwork", tag = "networks",
    request_body = NewNetwork,
    responses(
        (status = 201, description = "Created", body = Network),
        (status = 400, description = "Bad input; the message names the field", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "Overlaps an existing network", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn create(
    bearer: Bearer,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Network>), ApiError> {
    let caller = bearer.require(Role::Admin)?;
    let new: NewNetwork = input::json(body)?;
    // Checked here too so that a bad CIDR is named as such; the rest is about the name.
    Cidr::parse(&new.cidr).map_err(|e| ApiError::bad("cidr", e))?;
    let policy = match &new.check_policy {
        Some(policy) => Some(policy.to_domain().map_err(|e| e.within("check_policy"))?),
        None => None,
    };
    let view = networks::create_with(
        &caller,
        &new.cidr,
        &new.name,
        new.description.as_deref().unwrap_or(""),
        policy,
    )
    .await
    .map_err(input::blame("name"))?;
    Ok((StatusCode::CREATED, Json(view.into())))
}

/// Get a network with its counts by status.
///
/// Role: viewer.
#[utoipa::path(get, path = "/api/v1/networks/{id}", operation_id = "getNetwork", tag = "networks",
    params(NetworkPath),
    responses(
        (status = 200, description = "The network", body = Network),
        (status = 400, description = "Bad id", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 404, description = "No such network", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn get(
    bearer: Bearer,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Network>, ApiError> {
    bearer.require(Role::Viewer)?;
    let id = input::id(&id, "id")?;
    let net = networks::find(&state.db, id).await?;
    Ok(Json(networks::view(&state.db, net).await?.into()))
}

/// Set a network's check policy.
///
/// Role: admin. `probes` names the built-in probe methods its addresses are checked with
/// (null: the configured ones); `dnsbl` says whether the DNSBL half applies. Audited.
#[utoipa::path(put, path = "/api/v1/networks/{id}/check-policy", operation_id = "setNetworkCheckPolicy", tag = "networks",
    params(NetworkPath),
    request_body = CheckPolicy,
    responses(
        (status = 200, description = "The network with its new policy", body = Network),
        (status = 400, description = "Bad input; the message names the field", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such network", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn set_check_policy(
    bearer: Bearer,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Network>, ApiError> {
    let caller = bearer.require(Role::Admin)?;
    let id = input::id(&id, "id")?;
    let policy: CheckPolicy = input::json(body)?;
    let policy = policy.to_domain()?;
    let view = networks::set_policy(&caller, id, policy).await?;
    Ok(Json(view.into()))
}
