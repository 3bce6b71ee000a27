//! `/api/v1/sites`: where networks are checked from, and whether each site has a live
//! agent; `PUT /api/v1/networks/{id}/site` moves a network.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::Json;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::model::Role;
use crate::server::agents::registry::{self, SiteState};
use crate::server::entities::agent;
use crate::server::inventory::{networks, sites};
use crate::server::rest::auth::Bearer;
use crate::server::rest::error::{ApiError, ErrorBody};
use crate::server::rest::input;
use crate::server::rest::shapes::{rfc3339, Network, NetworkPath, SitePath};
use crate::server::AppState;

/// A site: `local`, without an id, is the ipvet instances themselves.
#[derive(Serialize, ToSchema)]
pub struct Site {
    /// Absent for `local`, which cannot be deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    pub name: String,
    pub description: String,
    /// Its networks' ids.
    pub network_ids: Vec<i64>,
    pub agents: Vec<Agent>,
    /// Set while a site other than `local` has no live agent: since when (its agents'
    /// last contact, or the site's creation; RFC 3339). Its addresses are not checked
    /// meanwhile.
    pub no_live_agent_since: Option<String>,
}

/// A probe agent of a site; its token is never shown again.
#[derive(Serialize, ToSchema)]
pub struct Agent {
    pub id: i64,
    pub name: String,
    pub live: bool,
    pub revoked: bool,
    pub last_seen_at: Option<String>,
    pub address: Option<String>,
    pub version: Option<String>,
    /// The built-in probe methods it can run.
    pub methods: Option<Vec<String>>,
    pub raw_sockets: Option<bool>,
    pub script: Option<bool>,
}

impl Agent {
    fn from_row(a: agent::Model, now: OffsetDateTime) -> Self {
        Agent {
            live: registry::live_at(&a, now),
            id: a.id,
            name: a.name,
            revoked: a.revoked_at.is_some(),
            last_seen_at: a.last_seen_at.map(rfc3339),
            address: a.address,
            version: a.version,
            methods: a
                .methods
                .map(|m| m.split_whitespace().map(str::to_string).collect()),
            raw_sockets: a.raw_sockets,
            script: a.script,
        }
    }
}

impl Site {
    fn from_state(s: SiteState, now: OffsetDateTime) -> Self {
        let (id, name, description) = s.identity();
        Site {
            id,
            name,
            description,
            network_ids: s.networks.into_iter().map(|(id, _)| id).collect(),
            agents: s
                .agents
                .into_iter()
                .map(|a| Agent::from_row(a, now))
                .collect(),
            no_live_agent_since: s.no_live_agent_since.map(rfc3339),
        }
    }
}

/// Every site as the API shows it, `local` first.
async fn all(state: &AppState) -> Result<Vec<Site>, ApiError> {
    let now = OffsetDateTime::now_utc();
    Ok(registry::overview(&state.db)
        .await?
        .into_iter()
        .map(|s| Site::from_state(s, now))
        .collect())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSite {
    /// 1 to 63 lower-case letters, digits and inner hyphens; not `local`.
    #[schema(
        max_length = 63,
        min_length = 1,
        pattern = "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"
    )]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkSite {
    /// The site's name; `local` for the ipvet instances themselves.
    #[schema(max_length = 63, min_length = 1)]
    pub site: String,
}

async fn site_by_id(state: &AppState, id: i64) -> Result<Site, ApiError> {
    all(state)
        .await?
        .into_iter()
        .find(|s| s.id == Some(id))
        .ok_or_else(|| ApiError::not_found("There is no such site."))
}

/// List sites, `local` first, with their agents and whether any is live.
///
/// Role: viewer.
#[utoipa::path(get, path = "/api/v1/sites", operation_id = "listSites", tag = "sites",
    responses(
        (status = 200, description = "Every site", body = Vec<Site>),
        (status = 401, description = "No live token", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn list(
    bearer: Bearer,
    State(state): State<AppState>,
) -> Result<Json<Vec<Site>>, ApiError> {
    bearer.require(Role::Viewer)?;
    Ok(Json(all(&state).await?))
}

/// Add a site. Its agents are made on the Sites page or with `ipvet token create --agent`.
///
/// Role: admin. Audited.
#[utoipa::path(post, path = "/api/v1/sites", operation_id = "createSite", tag = "sites",
    request_body = NewSite,
    responses(
        (status = 201, description = "Added", body = Site),
        (status = 400, description = "Bad input; the message names the field", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn create(
    bearer: Bearer,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Site>), ApiError> {
    let caller = bearer.require(Role::Admin)?;
    let NewSite { name, description } = input::json(body)?;
    let made = sites::create(&caller, &name, &description)
        .await
        .map_err(input::blame("name"))?;
    Ok((
        StatusCode::CREATED,
        Json(site_by_id(&caller.state, made.id).await?),
    ))
}

/// Delete a site without networks or agents with a live token.
///
/// Role: admin. Audited.
#[utoipa::path(delete, path = "/api/v1/sites/{id}", operation_id = "deleteSite", tag = "sites",
    params(SitePath),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Bad id", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such site", body = ErrorBody),
        (status = 409, description = "It still has networks or live agents", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn delete(bearer: Bearer, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let caller = bearer.require(Role::Admin)?;
    let id = input::id(&id, "id")?;
    sites::delete(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Move a network to a site: from the next claim on, that site's checkers check its
/// addresses.
///
/// Role: admin. Audited.
#[utoipa::path(put, path = "/api/v1/networks/{id}/site", operation_id = "setNetworkSite", tag = "networks",
    params(NetworkPath),
    request_body = NetworkSite,
    responses(
        (status = 200, description = "The network at its new site", body = Network),
        (status = 400, description = "Bad input; the message names the field", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such network or site", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn set_network_site(
    bearer: Bearer,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Network>, ApiError> {
    let caller = bearer.require(Role::Admin)?;
    let id = input::id(&id, "id")?;
    let NetworkSite { site } = input::json(body)?;
    let to = sites::by_name(&caller.state.db, &site)
        .await
        .map_err(input::blame("site"))?
        .map(|s| s.id);
    let moved = sites::move_network(&caller, id, to).await?;
    Ok(Json(networks::view(&caller.state.db, moved).await?.into()))
}
