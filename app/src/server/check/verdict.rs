//! Applying what a check found to an address: one conditional update on the status the
//! address had when its check started, in a transaction with its history row. If anyone
//! changed the address meanwhile (an admin force-freed it, say), the verdict is dropped.
//! A cycle's verdict also needs the address to still carry its worker's claim.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set, TransactionTrait, UpdateMany,
};
use time::OffsetDateTime;

use crate::error::AppError;
use crate::model::AddressStatus;
use crate::server::alerts::events::{self as alert_events, Event, EventKind};
use crate::server::check::claim::{self, Worker};
use crate::server::entities::address_rows::freed;
use crate::server::entities::{address, address_event};
use crate::server::inventory::lifecycle::{verdict, Finding};
use crate::server::inventory::{ip, networks};
use crate::server::{db, AppState};

/// The name history shows for the check engine.
pub const CHECKER: &str = "checker";

/// What became of one verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The address moved to (or stayed in) this status.
    Now(AddressStatus),
    /// The check could not tell; the status stayed and the error was recorded.
    Inconclusive,
    /// The address changed while it was checked; nothing was written.
    Dropped,
    /// Another worker of the cycle took the address over after this worker's claim ran
    /// out; that worker writes its verdict, this one wrote nothing.
    TakenOver,
}

/// Writes `finding` for `row` (as read before its check), outside any cycle.
pub async fn apply(
    state: &AppState,
    row: &address::Model,
    finding: &Finding,
) -> Result<Applied, AppError> {
    let judged = [(row.clone(), finding.clone())];
    let applied = apply_all(state, &judged).await?;
    Ok(applied[0])
}

/// Writes a batch of verdicts found outside any cycle, in one transaction; see [`write`].
pub async fn apply_all(
    state: &AppState,
    judged: &[(address::Model, Finding)],
) -> Result<Vec<Applied>, AppError> {
    if judged.is_empty() {
        return Ok(Vec::new());
    }
    let txn = db::begin_write(&state.db).await?;
    let applied = write(&txn, judged, None).await?;
    txn.commit().await?;
    Ok(applied)
}

/// Writes a batch of verdicts in `txn`: for each address one conditional update on the
/// status it had when its check started (and, for a cycle's `worker`, on its claim), then
/// the history rows and the network counts of the whole batch. A cycle writes its verdicts
/// this way, so a million addresses do not cost a million commits. Returns what became of
/// each, in order.
pub async fn write(
    txn: &DatabaseTransaction,
    judged: &[(address::Model, Finding)],
    worker: Option<&Worker>,
) -> Result<Vec<Applied>, AppError> {
    let now = OffsetDateTime::now_utc();
    // The networks' locks order these writes with allocations and bulk changes, as every
    // other status change is ordered; taken in id order so two batches cannot deadlock.
    let networks: BTreeSet<i64> = judged.iter().map(|(row, _)| row.network_id).collect();
    for id in &networks {
        networks::lock(txn, *id).await?;
    }
    let mut applied: Vec<Option<Applied>> = vec![None; judged.len()];
    // Passing verdicts on addresses in the same status write the same values: one update
    // covers them all (most of a cycle's verdicts are these). Should any of them have
    // changed meanwhile, the shared update is undone and each is written on its own.
    let mut alike: BTreeMap<(AddressStatus, &str), Vec<usize>> = BTreeMap::new();
    for (i, (row, finding)) in judged.iter().enumerate() {
        if let Finding::Clear(note) = finding {
            alike.entry((row.status, note)).or_default().push(i);
        }
    }
    for ((from, _), members) in alike {
        let (row, finding) = &judged[members[0]];
        let Some(to) = verdict(from, finding) else {
            continue;
        };
        let ids: Vec<i64> = members.iter().map(|&i| judged[i].0.id).collect();
        let savepoint = txn.begin().await?;
        let shared = fenced(set_for(row, finding, to, now).0, worker)
            .filter(address::Column::Id.is_in(ids.clone()))
            .filter(address::Column::Status.eq(from))
            .exec(&savepoint)
            .await?;
        if shared.rows_affected == ids.len() as u64 {
            savepoint.commit().await?;
            for i in members {
                applied[i] = Some(Applied::Now(to));
            }
        } else {
            savepoint.rollback().await?;
        }
    }
    for (i, (row, finding)) in judged.iter().enumerate() {
        if applied[i].is_some() {
            continue;
        }
        let Some(to) = verdict(row.status, finding) else {
            applied[i] = Some(Applied::Dropped);
            continue;
        };
        let update = fenced(set_for(row, finding, to, now).0, worker)
            .filter(address::Column::Id.eq(row.id))
            .filter(address::Column::Status.eq(row.status));
        applied[i] = Some(if update.exec(txn).await?.rows_affected == 1 {
            match finding {
                Finding::Inconclusive(_) => Applied::Inconclusive,
                _ => Applied::Now(to),
            }
        } else if match worker {
            Some(w) => claim::holder(txn, row.id).await? != Some(w.token),
            None => false,
        } {
            Applied::TakenOver
        } else {
            Applied::Dropped
        });
    }
    let applied: Vec<Applied> = applied
        .into_iter()
        .map(|a| a.expect("every verdict was decided above"))
        .collect();
    let mut moved: BTreeMap<(i64, AddressStatus), i64> = BTreeMap::new();
    let mut events = Vec::with_capacity(judged.len());
    let mut alerts = Vec::new();
    for ((row, finding), outcome) in judged.iter().zip(&applied) {
        let to = match outcome {
            Applied::Now(to) => *to,
            Applied::Inconclusive => row.status,
            Applied::Dropped | Applied::TakenOver => continue,
        };
        let from = row.status;
        if to != from {
            *moved.entry((row.network_id, from)).or_default() -= 1;
            *moved.entry((row.network_id, to)).or_default() += 1;
        }
        let (_, reason, evidence) = set_for(row, finding, to, now);
        if let Some(kind) = EventKind::of_change(from, to) {
            alerts.push(Event::of_address(
                kind,
                row.network_id,
                ip::from_bytes(&row.ip).map_or_else(String::new, |a| a.to_string()),
                to,
                evidence.as_deref().unwrap_or(&reason),
                worker.map(|w| w.run_id),
            ));
        }
        // A freed address's holder leaves the row; the history keeps it.
        let cleared = |field: &String| {
            Set(if to == AddressStatus::Free {
                field.clone()
            } else {
                String::new()
            })
        };
        events.push(address_event::ActiveModel {
            address_id: Set(row.id),
            at: Set(now),
            actor_id: Set(None),
            actor_name: Set(CHECKER.to_string()),
            from_status: Set(from),
            to_status: Set(to),
            reason: Set(reason),
            evidence: Set(evidence),
            run_id: Set(worker.map(|w| w.run_id)),
            owner: cleared(&row.owner),
            hostname: cleared(&row.hostname),
            note: cleared(&row.note),
            ..Default::default()
        });
    }
    for ((network_id, status), delta) in moved {
        networks::shift(txn, network_id, status, delta).await?;
    }
    // Bounded so a batch stays under every backend's limit on bound parameters.
    let mut events = events.into_iter().peekable();
    while events.peek().is_some() {
        let chunk: Vec<_> = events.by_ref().take(EVENTS_PER_INSERT).collect();
        address_event::Entity::insert_many(chunk).exec(txn).await?;
    }
    alert_events::record(txn, alerts).await?;
    Ok(applied)
}

/// For a cycle's worker, the update also needs the address to carry the worker's claim,
/// gives it up and marks the address judged by the cycle.
fn fenced(
    update: UpdateMany<address::Entity>,
    worker: Option<&Worker>,
) -> UpdateMany<address::Entity> {
    match worker {
        Some(w) => update
            .filter(address::Column::Claim.eq(w.token))
            .col_expr(address::Column::Claim, Expr::value(Option::<i64>::None))
            .col_expr(address::Column::CheckedRun, Expr::value(w.run_id)),
        None => update,
    }
}

/// History rows written per statement.
const EVENTS_PER_INSERT: usize = 500;

/// What writing `finding` for `row` sets on the address (the caller says which rows), with
/// the history row's reason and evidence.
fn set_for(
    row: &address::Model,
    finding: &Finding,
    to: AddressStatus,
    now: OffsetDateTime,
) -> (UpdateMany<address::Entity>, String, Option<String>) {
    let from = row.status;
    let mut update =
        address::Entity::update_many().col_expr(address::Column::LastCheckedAt, Expr::value(now));
    match finding {
        Finding::Inconclusive(error) => {
            update = update.col_expr(address::Column::LastCheckError, Expr::value(error.clone()));
            (
                update,
                "check inconclusive; status kept, checked again next cycle".to_string(),
                Some(error.clone()),
            )
        }
        Finding::Clear(note) => {
            update = freed(
                update
                    .col_expr(address::Column::Status, Expr::value(to))
                    .col_expr(address::Column::StatusChangedAt, Expr::value(now)),
            );
            let reason = if note.is_empty() {
                "passed both checks".to_string()
            } else {
                note.clone()
            };
            (update, reason, None)
        }
        Finding::InUse(found)
        | Finding::Listed {
            evidence: found, ..
        } => {
            let zone = match finding {
                Finding::Listed { zone, .. } => Some(zone.clone()),
                _ => None,
            };
            update = update
                .col_expr(address::Column::Status, Expr::value(to))
                .col_expr(address::Column::ProblemZone, Expr::value(zone))
                .col_expr(address::Column::Problem, Expr::value(found.clone()))
                .col_expr(
                    address::Column::FailedChecks,
                    Expr::col(address::Column::FailedChecks).add(1),
                )
                .col_expr(
                    address::Column::LastCheckError,
                    Expr::value(Option::<String>::None),
                );
            if to != from {
                update = update.col_expr(address::Column::StatusChangedAt, Expr::value(now));
            }
            // The first failure's time stays, as IPmanager's "time of occurrence".
            if row.problem_since.is_none() {
                update = update.col_expr(address::Column::ProblemSince, Expr::value(now));
            }
            let reason = match finding {
                Finding::InUse(_) => "availability check: in use".to_string(),
                _ => "DNSBL check: listed".to_string(),
            };
            (update, reason, Some(found.clone()))
        }
    }
}
