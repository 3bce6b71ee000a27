//! `/api/v1/problems`: addresses the checks found used in the network or listed by a DNSBL.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;

use crate::components::query::parse_status;
use crate::model::{AddressStatus, Role};
use crate::server::check::dnsbl::zones;
use crate::server::inventory::addresses::Search;
use crate::server::rest::auth::Bearer;
use crate::server::rest::error::{ApiError, ErrorBody};
use crate::server::rest::input;
use crate::server::rest::shapes::{Address, Page, Problem, ProblemQuery};
use crate::server::{check::problems, AppState};

/// List problem addresses, in address order (100 a page).
///
/// Role: viewer. Each is re-checked every cycle and freed once it passes.
#[utoipa::path(get, path = "/api/v1/problems", operation_id = "listProblems", tag = "problems",
    params(ProblemQuery),
    responses(
        (status = 200, description = "A page of problem addresses", body = Page<Problem>),
        (status = 400, description = "Bad parameter; the message names it", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn list(
    bearer: Bearer,
    State(state): State<AppState>,
    q: Result<Query<ProblemQuery>, QueryRejection>,
) -> Result<Json<Page<Problem>>, ApiError> {
    bearer.require(Role::Viewer)?;
    let q = input::query(q)?;
    let status = match q.status.as_deref() {
        Some(s) => Some(
            parse_status(s.trim())
                .filter(|s| AddressStatus::PROBLEMS.contains(s))
                .ok_or_else(|| {
                    ApiError::bad(
                        "status",
                        format!("`{s}` is not used_in_network or blocked_by_dnsbl."),
                    )
                })?,
        ),
        None => None,
    };
    let cursor = q.cursor.as_deref().map(str::trim);
    if let Some(c) = cursor {
        input::cursor_address(c)?;
    }
    let network_id = match q.network_id.as_deref() {
        Some(id) => Some(input::id(id.trim(), "network_id")?),
        None => None,
    };
    let zone = match q.zone.as_deref() {
        Some(z) => Some(zones::validate(z).map_err(input::blame("zone"))?),
        None => None,
    };
    if let Some(q) = q.q.as_deref() {
        Search::parse(q).map_err(input::blame("q"))?;
    }
    let filter = problems::Filter {
        status,
        network_id,
        zone,
        search: q.q,
    };
    let page = problems::rows(&state.db, &filter, cursor)
        .await
        .map_err(input::blame("status"))?;
    Ok(Json(Page {
        items: page
            .rows
            .into_iter()
            .map(|(row, network_cidr)| Problem {
                address: Address::from(&row),
                network_cidr,
                zone: row.problem_zone.clone(),
                failed_checks: row.failed_checks,
            })
            .collect(),
        next_cursor: page.next_after,
    }))
}
