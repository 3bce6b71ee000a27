//! `/api/v1/networks/{id}/allocations` and `/api/v1/addresses/{ip}`: the address
//! lifecycle for provisioning systems.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::Json;
use http::{HeaderMap, HeaderValue, StatusCode};

use crate::error::AppError;
use crate::model::Role;
use crate::server::auth::guard::Caller;
use crate::server::inventory::addresses::{self, History, Holder};
use crate::server::inventory::idempotency::{self, Begun};
use crate::server::inventory::ip;
use crate::server::inventory::lifecycle::Action;
use crate::server::rest::auth::Bearer;
use crate::server::rest::error::{ApiError, ErrorBody};
use crate::server::rest::input;
use crate::server::rest::shapes::{
    Address, AddressDetail, AddressEdit, AddressPath, CheckEntry, ForceFree, IdempotencyHeader,
    NetworkPath, NewAllocation, Release, Reserve,
};
use crate::server::AppState;

/// The header a retried allocation carries.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Set on an answer that repeats an earlier allocation's.
pub const REPLAYED: &str = "idempotent-replayed";
/// Checks listed with an address.
const LAST_CHECKS: u64 = 20;

/// Allocate an address in a network.
///
/// Role: operator. Takes the given address, or the lowest free one. Unless
/// `DisableIpAllocationChecking` is set, the address is checked first (nothing answers on
/// it, no DNSBL lists it); a candidate that fails gets its problem status and the next is
/// tried. Send an `Idempotency-Key` header to make retries safe: a retry with the same key
/// and body answers with the address the first request took (header
/// `Idempotent-Replayed: true`), never a second one. Keys are kept for 24 hours.
#[utoipa::path(post, path = "/api/v1/networks/{id}/allocations", operation_id = "allocateAddress", tag = "addresses",
    params(NetworkPath, IdempotencyHeader),
    request_body(content = Option<NewAllocation>, description = "Every field is optional; an empty body takes the lowest free address"),
    responses(
        (status = 201, description = "Allocated", body = Address),
        (status = 400, description = "Bad input; the message names the field", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "Role below operator", body = ErrorBody),
        (status = 404, description = "No such network", body = ErrorBody),
        (status = 409, description = "`conflict`: the address is taken, is not one this network hands out (outside it, or its own or broadcast address), or the key's first request still runs; `network_full`: no free address; `check_failed`: no candidate passed the check", body = ErrorBody),
        (status = 422, description = "The Idempotency-Key was used for a different request", body = ErrorBody),
        (status = 503, description = "`check_timeout`: the checks before allocation took longer than AllocationTimeout; nothing was allocated", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn allocate(
    bearer: Bearer,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, HeaderMap, Json<Address>), ApiError> {
    let caller = bearer.require(Role::Operator)?;
    let network_id = input::id(&id, "id")?;
    let (new, canonical): (NewAllocation, String) = input::json_and_canonical(body)?;
    let holder = Holder {
        owner: new.owner.unwrap_or_default(),
        hostname: new.hostname.unwrap_or_default(),
        note: new.note.unwrap_or_default(),
    };
    if let Some((field, message)) = holder.fault() {
        return Err(ApiError::bad(field, message));
    }
    let requested = new
        .address
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty());
    if let Some(a) = requested {
        ip::parse_address(a).map_err(|e| ApiError::bad("address", e))?;
    }
    let key = match headers.get(IDEMPOTENCY_KEY) {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| ApiError::bad("Idempotency-Key", "send visible ASCII only."))?
                .to_string(),
        ),
        None => None,
    };
    let Some(key) = key else {
        let row = addresses::allocate(&caller, network_id, requested, holder, None)
            .await
            .map_err(input::blame("address"))?;
        return Ok((StatusCode::CREATED, HeaderMap::new(), Json((&row).into())));
    };
    let fingerprint = idempotency::fingerprint(&[&network_id.to_string(), &canonical]);
    let claim = match idempotency::begin(&caller.state.db, caller.user.id, &key, &fingerprint)
        .await
        .map_err(input::blame("Idempotency-Key"))?
    {
        Begun::Replay(address) => return replay(&caller, &address).await,
        Begun::Fresh(claim) => claim,
    };
    match addresses::allocate(&caller, network_id, requested, holder, Some(&claim)).await {
        Ok(row) => Ok((StatusCode::CREATED, HeaderMap::new(), Json((&row).into()))),
        Err(e) => {
            if let Err(cleanup) = idempotency::abandon(&caller.state.db, &claim).await {
                tracing::error!(cause = ?cleanup, "could not let go of an idempotency key");
            }
            Err(input::blame("address")(e))
        }
    }
}

async fn replay(
    caller: &Caller,
    address: &str,
) -> Result<(StatusCode, HeaderMap, Json<Address>), ApiError> {
    let addr = ip::parse_address(address).map_err(|_| ApiError::from(AppError::Internal))?;
    let row = match addresses::record(&caller.state.db, addr, History::Nothing).await {
        Ok(record) => record.row,
        Err(AppError::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    // Its network was deleted since; say so rather than invent the address.
    let shape = row.map(|row| Address::from(&row)).ok_or_else(|| {
        ApiError::not_found(format!(
            "This key allocated {address}, which no longer exists."
        ))
    })?;
    let mut headers = HeaderMap::new();
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    Ok((StatusCode::CREATED, headers, Json(shape)))
}

async fn change(
    caller: &Caller,
    raw_ip: &str,
    action: Action,
    reason: &str,
    reason_field: &'static str,
) -> Result<Json<Address>, ApiError> {
    let addr = input::address(raw_ip)?;
    let row = addresses::change(caller, &addr.to_string(), action, reason)
        .await
        .map_err(input::blame(reason_field))?;
    Ok(Json((&row).into()))
}

/// Release an allocated address.
///
/// Role: operator. The address goes to `being_checked`; the next check cycle frees it once
/// nothing answers on it and no DNSBL lists it.
#[utoipa::path(post, path = "/api/v1/addresses/{ip}/release", operation_id = "releaseAddress", tag = "addresses",
    params(AddressPath),
    request_body(content = Option<Release>, description = "No fields; the body may be empty"),
    responses(
        (status = 200, description = "Released: being checked", body = Address),
        (status = 400, description = "Bad address", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "Role below operator", body = ErrorBody),
        (status = 404, description = "The address is in no network", body = ErrorBody),
        (status = 409, description = "The address is not allocated (or changed meanwhile), or is its IPv4 network's own or broadcast address", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn release(
    bearer: Bearer,
    Path(raw_ip): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Address>, ApiError> {
    let caller = bearer.require(Role::Operator)?;
    let Release {} = input::json(body)?;
    change(&caller, &raw_ip, Action::Release, "", "ip").await
}

/// Reserve a free address.
///
/// Role: operator. A reserved address is never handed out until it is unreserved.
#[utoipa::path(post, path = "/api/v1/addresses/{ip}/reserve", operation_id = "reserveAddress", tag = "addresses",
    params(AddressPath),
    request_body(content = Option<Reserve>, description = "The body may be empty"),
    responses(
        (status = 200, description = "Reserved", body = Address),
        (status = 400, description = "Bad input; the message names the field", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "Role below operator", body = ErrorBody),
        (status = 404, description = "The address is in no network", body = ErrorBody),
        (status = 409, description = "The address is not free (or changed meanwhile), or is its IPv4 network's own or broadcast address", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn reserve(
    bearer: Bearer,
    Path(raw_ip): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Address>, ApiError> {
    let caller = bearer.require(Role::Operator)?;
    let reserve: Reserve = input::json(body)?;
    let note = reserve.note.unwrap_or_default();
    change(&caller, &raw_ip, Action::Reserve, &note, "note").await
}

/// Free an address at once, without checks.
///
/// Role: admin. For an address the checks hold back wrongly, or one that must go back
/// now; the reason is kept in its history and the audit log.
#[utoipa::path(post, path = "/api/v1/addresses/{ip}/force-free", operation_id = "forceFreeAddress", tag = "addresses",
    params(AddressPath),
    request_body = ForceFree,
    responses(
        (status = 200, description = "Free", body = Address),
        (status = 400, description = "Bad input; the message names the field", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "The address is in no network", body = ErrorBody),
        (status = 409, description = "The address is free already (or changed meanwhile), or is its IPv4 network's own or broadcast address", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn force_free(
    bearer: Bearer,
    Path(raw_ip): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Address>, ApiError> {
    let caller = bearer.require(Role::Admin)?;
    let ForceFree { reason } = input::json(body)?;
    change(&caller, &raw_ip, Action::ForceFree, &reason, "reason").await
}

/// Edit an allocated address's owner, host name or note.
///
/// Role: operator. Each field given replaces the stored one; an absent field stays. The
/// change is kept in the address's history and the audit log; the status does not change.
#[utoipa::path(patch, path = "/api/v1/addresses/{ip}", operation_id = "editAddress", tag = "addresses",
    params(AddressPath),
    request_body = AddressEdit,
    responses(
        (status = 200, description = "Edited (or unchanged, when every field was the same)", body = Address),
        (status = 400, description = "Bad input; the message names the field", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "Role below operator", body = ErrorBody),
        (status = 404, description = "The address is in no network", body = ErrorBody),
        (status = 409, description = "The address is not allocated (or changed meanwhile)", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn edit(
    bearer: Bearer,
    Path(raw_ip): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Address>, ApiError> {
    let caller = bearer.require(Role::Operator)?;
    let AddressEdit {
        owner,
        hostname,
        note,
    } = input::json(body)?;
    let addr = input::address(&raw_ip)?;
    // Absent fields are empty here, which is always valid: only given ones can be at fault.
    let given = Holder {
        owner: owner.clone().unwrap_or_default(),
        hostname: hostname.clone().unwrap_or_default(),
        note: note.clone().unwrap_or_default(),
    };
    if let Some((field, message)) = given.fault() {
        return Err(ApiError::bad(field, message));
    }
    let edit = addresses::HolderEdit {
        owner,
        hostname,
        note,
    };
    let row = addresses::edit(&caller, &addr.to_string(), edit).await?;
    Ok(Json((&row).into()))
}

/// Get an address: its status, problem and last checks.
///
/// Role: viewer. An address of a network that was never touched is free.
#[utoipa::path(get, path = "/api/v1/addresses/{ip}", operation_id = "getAddress", tag = "addresses",
    params(AddressPath),
    responses(
        (status = 200, description = "The address", body = AddressDetail),
        (status = 400, description = "Bad address", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 404, description = "The address is in no network", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn get(
    bearer: Bearer,
    State(state): State<AppState>,
    Path(raw_ip): Path<String>,
) -> Result<Json<AddressDetail>, ApiError> {
    bearer.require(Role::Viewer)?;
    let addr = input::address(&raw_ip)?;
    let record = addresses::record(&state.db, addr, History::LastChecks(LAST_CHECKS)).await?;
    let Some(row) = record.row else {
        return Ok(Json(AddressDetail {
            address: Address::unrecorded(addr, record.network.id),
            failed_checks: 0,
            problem_zone: None,
            last_check_error: None,
            last_checks: Vec::new(),
        }));
    };
    Ok(Json(AddressDetail {
        address: Address::from(&row),
        failed_checks: row.failed_checks,
        problem_zone: row.problem_zone,
        last_check_error: row.last_check_error,
        last_checks: record.events.into_iter().map(CheckEntry::from).collect(),
    }))
}
