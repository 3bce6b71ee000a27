//! Problem IPs (IPmanager's Statistics → Problem IP): every address the checks found used
//! in the network or listed by a DNSBL, with its evidence, and re-checking them on request.
//! Releasing one is the address lifecycle's force-free.

use std::collections::BTreeMap;

use futures::stream::{self, StreamExt};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};

use crate::error::AppError;
use crate::model::{AddressStatus, ProblemPage, ProblemView, RecheckOutcome};
use crate::server::auth::guard::Caller;
use crate::server::check::verdict::{apply_all, Applied};
use crate::server::entities::{address, network};
use crate::server::inventory::addresses::{known_start, page_by_key, parse, Search, PAGE_SIZE};
use crate::server::inventory::lifecycle::{Finding, CHECKED};
use crate::server::inventory::networks::Policies;
use crate::server::time_fmt::show;
use crate::server::{admin::audit, check::runs, inventory::ip};

/// Most addresses one re-check request may name: a page of them.
pub const RECHECK_MAX: usize = PAGE_SIZE as usize;

/// What the page is narrowed to.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub status: Option<AddressStatus>,
    pub network_id: Option<i64>,
    pub zone: Option<String>,
    pub search: Option<String>,
}

impl Filter {
    fn condition(&self) -> Result<Condition, AppError> {
        let mut c = Condition::all();
        c = match self.status {
            Some(s) if AddressStatus::PROBLEMS.contains(&s) => c.add(address::Column::Status.eq(s)),
            Some(s) => {
                return Err(AppError::BadRequest(format!(
                    "{} is not a problem status.",
                    s.label()
                )))
            }
            None => c.add(address::Column::Status.is_in(AddressStatus::PROBLEMS)),
        };
        if let Some(id) = self.network_id {
            c = c.add(address::Column::NetworkId.eq(id));
        }
        if let Some(zone) = self
            .zone
            .as_deref()
            .map(str::trim)
            .filter(|z| !z.is_empty())
        {
            c = c.add(address::Column::ProblemZone.eq(zone.trim_end_matches('.')));
        }
        if let Some(search) = Search::parse(self.search.as_deref().unwrap_or(""))? {
            c = c.add(search.condition(&[address::Column::Hostname, address::Column::Owner]));
        }
        Ok(c)
    }
}

/// Rows of a page of problem addresses with their networks' CIDRs, and the key of the next
/// page: the API's list.
pub struct Rows {
    pub rows: Vec<(address::Model, String)>,
    pub next_after: Option<String>,
}

/// The page of problem addresses after `after` (the first when absent), in numeric order.
pub async fn rows(
    db: &impl ConnectionTrait,
    filter: &Filter,
    after: Option<&str>,
) -> Result<Rows, AppError> {
    let q = address::Entity::find().filter(filter.condition()?);
    let (rows, next_after, _) = page_by_key(db, q, after, None, false).await?;
    let cidrs = network_cidrs(db, rows.iter().map(|r| r.network_id)).await?;
    Ok(Rows {
        rows: rows
            .into_iter()
            .map(|r| {
                let cidr = cidrs.get(&r.network_id).cloned().unwrap_or_default();
                (r, cidr)
            })
            .collect(),
        next_after,
    })
}

/// A page of problem addresses in numeric order: after `after`, before `before`, the last
/// page when `last`, else the first.
pub async fn page(
    db: &impl ConnectionTrait,
    filter: &Filter,
    after: Option<&str>,
    before: Option<&str>,
    last: bool,
) -> Result<ProblemPage, AppError> {
    let condition = filter.condition()?;
    let matching = address::Entity::find()
        .filter(condition.clone())
        .count(db)
        .await?;
    let q = address::Entity::find().filter(condition.clone());
    let (rows, next_after, prev_before) = page_by_key(db, q, after, before, last).await?;
    // Problem addresses are few beside all addresses: counting those before the page is
    // a short range of the status index.
    let first_position = match rows.first() {
        None => 0,
        Some(first) => match known_start(after, before, last, matching, rows.len())? {
            Some(start) => start,
            None => {
                address::Entity::find()
                    .filter(condition)
                    .filter(address::Column::Ip.lt(first.ip.clone()))
                    .count(db)
                    .await?
                    + 1
            }
        },
    };
    let cidrs = network_cidrs(db, rows.iter().map(|r| r.network_id)).await?;
    let last_run = runs::latest(db).await?;
    Ok(ProblemPage {
        rows: rows.into_iter().map(|row| view(row, &cidrs)).collect(),
        next_after,
        prev_before,
        matching,
        first_position,
        last_run,
    })
}

async fn network_cidrs(
    db: &impl ConnectionTrait,
    ids: impl Iterator<Item = i64>,
) -> Result<BTreeMap<i64, String>, AppError> {
    let mut ids: Vec<i64> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    Ok(network::Entity::find()
        .filter(network::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|n| (n.id, n.cidr))
        .collect())
}

fn view(row: address::Model, cidrs: &BTreeMap<i64, String>) -> ProblemView {
    ProblemView {
        address: ip::show(&row.ip),
        network_id: row.network_id,
        network_cidr: cidrs.get(&row.network_id).cloned().unwrap_or_default(),
        status: row.status,
        problem: row.problem,
        zone: row.problem_zone,
        problem_since: row.problem_since.map(show),
        last_checked_at: row.last_checked_at.map(show),
        failed_checks: row.failed_checks,
        last_check_error: row.last_check_error,
    }
}

/// Checks the named addresses now, as a cycle would, and writes the verdicts. Only
/// addresses being checked or with a problem may be named; any other refuses the whole
/// request before anything is checked.
pub async fn recheck(caller: &Caller, list: &[String]) -> Result<Vec<RecheckOutcome>, AppError> {
    if list.is_empty() {
        return Err(AppError::BadRequest("Select at least one address.".into()));
    }
    if list.len() > RECHECK_MAX {
        return Err(AppError::BadRequest(format!(
            "At most {RECHECK_MAX} addresses at once."
        )));
    }
    let mut wanted: Vec<Vec<u8>> = list
        .iter()
        .map(|a| parse(a).map(ip::to_bytes))
        .collect::<Result<_, _>>()?;
    wanted.sort_unstable();
    wanted.dedup();
    let state = &caller.state;
    let rows = address::Entity::find()
        .filter(address::Column::Ip.is_in(wanted.clone()))
        .order_by_asc(address::Column::Ip)
        .all(&state.db)
        .await?;
    for bytes in &wanted {
        let shown = ip::show(bytes);
        match rows.iter().find(|r| &r.ip == bytes) {
            Some(r) if CHECKED.contains(&r.status) => {}
            Some(r) => {
                return Err(AppError::Conflict(format!(
                    "{shown} is {}: only addresses being checked or with a problem are re-checked.",
                    r.status.label().to_lowercase()
                )))
            }
            None => {
                return Err(AppError::NotFound(format!(
                    "{shown} has no record; if it lies in a network, it is free."
                )))
            }
        }
    }
    let shown: Vec<String> = rows
        .iter()
        .filter_map(|r| ip::from_bytes(&r.ip))
        .map(|a| a.to_string())
        .collect();
    audit::record(
        &state.db,
        caller,
        "address.recheck",
        &shown.join(" "),
        None,
        None,
    )
    .await?;
    let engine = state.checks.clone();
    let zones = engine.recent_zones(&state.db).await?;
    let policies = std::sync::Arc::new(Policies::load(&state.db).await?);
    let judged: Vec<(address::Model, Finding)> = stream::iter(rows)
        .map(|row| {
            engine
                .clone()
                .check_row(row, zones.clone(), policies.clone())
        })
        .buffer_unordered(engine.concurrency())
        .collect()
        .await;
    let applied = apply_all(state, &judged).await?;
    let mut outcomes: Vec<(Vec<u8>, RecheckOutcome)> = judged
        .iter()
        .zip(applied)
        .map(|((row, finding), applied)| {
            let address = ip::show(&row.ip);
            let found = match finding {
                Finding::Clear(note) if note.is_empty() => "passed both checks".to_string(),
                Finding::Clear(note) => note.clone(),
                Finding::InUse(e) | Finding::Inconclusive(e) => e.clone(),
                Finding::Listed { evidence, .. } => evidence.clone(),
            };
            let (to, detail) = match applied {
                Applied::Now(to) => (to, found),
                Applied::Inconclusive => (row.status, format!("could not tell: {found}")),
                Applied::Dropped | Applied::TakenOver => (
                    row.status,
                    "the address changed while it was checked; nothing was written".to_string(),
                ),
            };
            (
                row.ip.clone(),
                RecheckOutcome {
                    address,
                    from: row.status,
                    to,
                    detail,
                },
            )
        })
        .collect();
    outcomes.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(outcomes.into_iter().map(|(_, o)| o).collect())
}
