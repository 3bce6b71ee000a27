//! Check cycles as the pages and the API show them: the list, one cycle with its verdicts,
//! and the time of the next one.

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect,
    RelationDef,
};
use time::OffsetDateTime;

use crate::error::AppError;
use crate::model::{
    CheckRunDetail, CheckRunList, CheckRunView, CheckWorkerView, RunCounts, VerdictView,
};
use crate::server::check::jobs::schedule;
use crate::server::check::{claim, cycle};
use crate::server::entities::{address, address_event, check_run};
use crate::server::time_fmt::show;
use crate::server::{inventory::ip, AppState};

/// Cycles per page of the list.
pub const RUNS_PER_PAGE: u64 = 50;
/// Verdicts per page of a cycle.
pub const VERDICTS_PER_PAGE: u64 = 100;

/// A run as it stands: one whose heartbeat stopped shows as what it is (interrupted at its
/// last heartbeat) before the next cycle closes it.
pub fn as_it_stands(mut run: check_run::Model) -> check_run::Model {
    let last_sign = run.heartbeat_at.unwrap_or(run.started_at);
    if run.finished_at.is_none() && OffsetDateTime::now_utc() - last_sign > cycle::ALIVE_WITHIN {
        run.finished_at = Some(last_sign);
        run.error = Some(cycle::INTERRUPTED.to_string());
    }
    run
}

impl From<&check_run::Model> for RunCounts {
    fn from(run: &check_run::Model) -> RunCounts {
        RunCounts {
            total: run.total,
            done: run.done,
            freed: run.freed,
            still_used: run.still_used,
            blocked: run.blocked,
            unknown: run.unknown,
            zones_unhealthy: run.zones_unhealthy,
        }
    }
}

pub fn run_view(run: check_run::Model) -> CheckRunView {
    let run = as_it_stands(run);
    let end = run.finished_at.unwrap_or_else(OffsetDateTime::now_utc);
    CheckRunView {
        id: run.id,
        trigger: run.trigger,
        started_at: show(run.started_at),
        finished_at: run.finished_at.map(show),
        counts: RunCounts::from(&run),
        error: run.error,
        seconds: (end - run.started_at).whole_seconds().max(0),
        cancelled_by: run.cancelled_by,
    }
}

pub async fn latest(db: &impl ConnectionTrait) -> Result<Option<CheckRunView>, AppError> {
    Ok(newest(db).await?.map(run_view))
}

/// The newest cycle as stored.
pub async fn newest(db: &impl ConnectionTrait) -> Result<Option<check_run::Model>, AppError> {
    Ok(check_run::Entity::find()
        .order_by_desc(check_run::Column::Id)
        .one(db)
        .await?)
}

pub async fn latest_id(db: &impl ConnectionTrait) -> Result<Option<i64>, AppError> {
    Ok(check_run::Entity::find()
        .select_only()
        .column(check_run::Column::Id)
        .order_by_desc(check_run::Column::Id)
        .into_tuple::<i64>()
        .one(db)
        .await?)
}

/// Newest first, older than the cycle `before` when given.
pub async fn list(state: &AppState, before: Option<i64>) -> Result<CheckRunList, AppError> {
    let mut q = check_run::Entity::find();
    if let Some(b) = before {
        q = q.filter(check_run::Column::Id.lt(b));
    }
    let mut rows = q
        .order_by_desc(check_run::Column::Id)
        .limit(RUNS_PER_PAGE + 1)
        .all(&state.db)
        .await?;
    let more = rows.len() as u64 > RUNS_PER_PAGE;
    rows.truncate(RUNS_PER_PAGE as usize);
    let older_than = if more {
        rows.last().map(|r| r.id)
    } else {
        None
    };
    Ok(CheckRunList {
        runs: rows.into_iter().map(run_view).collect(),
        older_than,
        next_run_at: Some(show(schedule::next_due(state).await)),
    })
}

/// The cycle `id` as it stands.
pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<check_run::Model, AppError> {
    check_run::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(as_it_stands)
        .ok_or_else(|| AppError::NotFound(format!("There is no check cycle {id}.")))
}

pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<CheckRunView, AppError> {
    Ok(run_view(find(db, id).await?))
}

/// A cycle with its verdicts in address order, after the address `after`. A cycle claims
/// each address once, so it has one verdict per address and the address is the page key.
pub async fn detail(
    db: &impl ConnectionTrait,
    id: i64,
    after: Option<&str>,
) -> Result<CheckRunDetail, AppError> {
    let run = get(db, id).await?;
    let of_address: RelationDef = address_event::Entity::belongs_to(address::Entity)
        .from(address_event::Column::AddressId)
        .to(address::Column::Id)
        .into();
    let mut q = address_event::Entity::find()
        .join(JoinType::InnerJoin, of_address)
        .filter(address_event::Column::RunId.eq(id));
    if let Some(a) = after.map(str::trim).filter(|a| !a.is_empty()) {
        let from = ip::parse_address(a).map_err(|e| AppError::BadRequest(e.to_string()))?;
        q = q.filter(address::Column::Ip.gt(ip::to_bytes(from)));
    }
    let mut events = q
        .order_by_asc(address::Column::Ip)
        .order_by_asc(address_event::Column::Id)
        .limit(VERDICTS_PER_PAGE + 1)
        .all(db)
        .await?;
    let more = events.len() as u64 > VERDICTS_PER_PAGE;
    events.truncate(VERDICTS_PER_PAGE as usize);
    let ids: Vec<i64> = events.iter().map(|e| e.address_id).collect();
    let addresses: std::collections::HashMap<i64, String> = if ids.is_empty() {
        Default::default()
    } else {
        address::Entity::find()
            .select_only()
            .column(address::Column::Id)
            .column(address::Column::Ip)
            .filter(address::Column::Id.is_in(ids))
            .into_tuple::<(i64, Vec<u8>)>()
            .all(db)
            .await?
            .into_iter()
            .map(|(id, bytes)| {
                let shown = ip::show(&bytes);
                (id, shown)
            })
            .collect()
    };
    let more_after = if more {
        events
            .last()
            .and_then(|e| addresses.get(&e.address_id).cloned())
    } else {
        None
    };
    let workers = claim::of_run(db, id)
        .await?
        .into_iter()
        .map(|w| CheckWorkerView {
            runner: w.runner,
            joined_at: show(w.joined_at),
            // One that stopped renewing is gone, whether or not anyone has said so yet.
            left_at: w
                .left_at
                .or((w.expires_at < OffsetDateTime::now_utc()).then_some(w.expires_at))
                .map(show),
            done: w.done,
        })
        .collect();
    Ok(CheckRunDetail {
        run,
        workers,
        verdicts: events
            .into_iter()
            .map(|e| VerdictView {
                event_id: e.id,
                address: addresses.get(&e.address_id).cloned().unwrap_or_default(),
                from: e.from_status,
                to: e.to_status,
                reason: e.reason,
                evidence: e.evidence,
            })
            .collect(),
        more_after,
    })
}
