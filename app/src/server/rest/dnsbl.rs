//! `/api/v1/dnsbl/zones`: the blacklists addresses are checked against.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use http::StatusCode;

use crate::model::Role;
use crate::server::rest::auth::Bearer;
use crate::server::rest::error::{ApiError, ErrorBody};
use crate::server::rest::input;
use crate::server::rest::shapes::{NewZone, Page, Zone, ZoneCursor, ZonePath};
use crate::server::{check::dnsbl::zones, AppState};

/// Zones per page.
pub const PAGE_SIZE: usize = 100;

/// List DNSBL zones by id, with their health and how many addresses each blocks.
///
/// Role: viewer.
#[utoipa::path(get, path = "/api/v1/dnsbl/zones", operation_id = "listZones", tag = "dnsbl",
    params(ZoneCursor),
    responses(
        (status = 200, description = "A page of zones", body = Page<Zone>),
        (status = 400, description = "Bad cursor", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn list(
    bearer: Bearer,
    State(state): State<AppState>,
    q: Result<Query<ZoneCursor>, QueryRejection>,
) -> Result<Json<Page<Zone>>, ApiError> {
    bearer.require(Role::Viewer)?;
    let q = input::query(q)?;
    let after = match q.cursor.as_deref() {
        Some(c) => input::id(c, "cursor")?,
        None => 0,
    };
    let mut zones: Vec<_> = zones::with_blocking(&state.db)
        .await?
        .into_iter()
        .filter(|(z, _)| z.id > after)
        .collect();
    zones.sort_by_key(|(z, _)| z.id);
    Ok(Json(Page::from_probe(
        zones,
        PAGE_SIZE,
        |(z, _)| z.id.to_string(),
        |(z, n)| Zone::from_row(z, n),
    )))
}

/// Add a DNSBL zone, enabled; it is self-tested at once.
///
/// Role: admin.
#[utoipa::path(post, path = "/api/v1/dnsbl/zones", operation_id = "createZone", tag = "dnsbl",
    request_body = NewZone,
    responses(
        (status = 201, description = "Added", body = Zone),
        (status = 400, description = "Bad input; the message names the field", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "The zone is listed already", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn create(
    bearer: Bearer,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Zone>), ApiError> {
    let caller = bearer.require(Role::Admin)?;
    let NewZone { zone } = input::json(body)?;
    let added = zones::add(&caller, &zone, true)
        .await
        .map_err(input::blame("zone"))?;
    let (row, n) = zones::with_blocking(&caller.state.db)
        .await?
        .into_iter()
        .find(|(z, _)| z.id == added.id)
        .ok_or_else(|| ApiError::not_found("The zone was deleted meanwhile."))?;
    Ok((StatusCode::CREATED, Json(Zone::from_row(row, n))))
}

/// Delete a DNSBL zone.
///
/// Role: admin. Addresses it blocked are re-checked by the next cycle against the zones
/// left.
#[utoipa::path(delete, path = "/api/v1/dnsbl/zones/{id}", operation_id = "deleteZone", tag = "dnsbl",
    params(ZonePath),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Bad id", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such zone", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn delete(bearer: Bearer, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let caller = bearer.require(Role::Admin)?;
    let id = input::id(&id, "id")?;
    zones::delete(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
