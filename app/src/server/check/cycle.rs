//! One check cycle (IPmanager's hourly `checkip`): every address being checked, used in
//! the network or blocked by a DNSBL is checked once, many at a time (`CheckConcurrency`),
//! and the verdicts are written in batches as they come. The run's row keeps live counts,
//! so pages can show progress.

use std::time::{Duration, Instant};

use futures::stream::{self, Stream, StreamExt, TryStreamExt};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, UpdateMany,
};
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};

use super::verdict::{apply_all, Applied};
use super::SharedEngine;
use crate::error::AppError;
use crate::model::AddressStatus;
use crate::server::auth::guard::Caller;
use crate::server::entities::{address, check_run};
use crate::server::lifecycle::{Finding, CHECKED};
use crate::server::{audit, db, lease, problem_days, AppState};

/// Addresses read per query, and verdicts written per transaction at most.
const BATCH: usize = 500;
/// How often a running cycle writes its counts for the pages to show, and looks whether it
/// was asked to stop.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// Why a cycle started: shown in the list of runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    Schedule,
    Manual,
    Command,
    Api,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Manual => "manual",
            Trigger::Command => "command",
            Trigger::Api => "api",
        }
    }
}

/// Counts of one cycle, as its row holds them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub total: i64,
    pub done: i64,
    pub freed: i64,
    pub still_used: i64,
    pub blocked: i64,
    pub unknown: i64,
    pub dropped: i64,
    /// Enabled DNSBL zones that failed their self-test this cycle.
    pub zones_unhealthy: i32,
    /// Who stopped the cycle before it checked every address, if anyone did.
    pub cancelled_by: Option<String>,
}

impl Counts {
    fn add(&mut self, applied: Applied) {
        self.done += 1;
        match applied {
            Applied::Now(AddressStatus::Free) => self.freed += 1,
            Applied::Now(AddressStatus::UsedInNetwork) => self.still_used += 1,
            Applied::Now(AddressStatus::BlockedByDnsbl) => self.blocked += 1,
            Applied::Now(_) | Applied::Dropped => self.dropped += 1,
            Applied::Inconclusive => self.unknown += 1,
        }
    }
}

/// A cycle that is about to run: its row exists, the engine's lock is held.
pub struct Started {
    pub run_id: i64,
    guard: tokio::sync::OwnedMutexGuard<()>,
}

/// Claims the engine for one cycle and records its start. Refused while one runs.
pub async fn start(
    state: &AppState,
    engine: &SharedEngine,
    trigger: Trigger,
) -> Result<Started, AppError> {
    let guard = engine.running.clone().try_lock_owned().map_err(|_| {
        AppError::Conflict("A check cycle is running already; wait for it to finish.".into())
    })?;
    close_interrupted(&state.db, dead_after(&state.config())).await?;
    // Another instance's cycle still beats its heartbeat: one cycle at a time, everywhere.
    let running_elsewhere = check_run::Entity::find()
        .filter(check_run::Column::FinishedAt.is_null())
        .one(&state.db)
        .await?;
    if let Some(other) = running_elsewhere {
        return Err(AppError::Conflict(format!(
            "Check cycle {} is running already on {}; wait for it to finish.",
            other.id,
            other.runner.as_deref().unwrap_or("another instance")
        )));
    }
    let now = OffsetDateTime::now_utc();
    let row = check_run::ActiveModel {
        trigger: Set(trigger.as_str().to_string()),
        started_at: Set(now),
        heartbeat_at: Set(Some(now)),
        runner: Set(Some(lease::instance_id().to_string())),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    Ok(Started {
        run_id: row.id,
        guard,
    })
}

/// A running cycle beats its heartbeat every second; one silent for this long has lost
/// its server (stopped, crashed) and will never finish by itself. Pages show it so.
pub const ALIVE_WITHIN: Duration = Duration::from_secs(60);

/// How long a cycle may be silent before a new cycle closes it: one scheduler lease
/// period (an instance silent that long has lost its lease too), at least three
/// heartbeats.
pub fn dead_after(config: &crate::server::config::Config) -> Duration {
    config.scheduler_lease.max(Duration::from_secs(3))
}

/// Why a cycle whose server stopped shows as ended.
pub const INTERRUPTED: &str = "interrupted: the server running it stopped before it finished";

/// Ends the runs left unfinished by a server that stopped (silent for `silent_for`): they
/// show as interrupted, at their last heartbeat. Safe beside other instances: a live
/// cycle's heartbeat is fresh. The addresses such a run had not judged yet are still being
/// checked, and the next cycle checks them.
pub async fn close_interrupted(
    db: &DatabaseConnection,
    silent_for: Duration,
) -> Result<u64, AppError> {
    let cutoff = OffsetDateTime::now_utc() - silent_for;
    let closed = check_run::Entity::update_many()
        .col_expr(
            check_run::Column::FinishedAt,
            sea_orm::sea_query::Func::coalesce([
                Expr::col(check_run::Column::HeartbeatAt).into(),
                Expr::col(check_run::Column::StartedAt).into(),
            ])
            .into(),
        )
        .col_expr(check_run::Column::Error, Expr::value(INTERRUPTED))
        .filter(check_run::Column::FinishedAt.is_null())
        .filter(
            sea_orm::Condition::any()
                .add(check_run::Column::HeartbeatAt.lt(cutoff))
                .add(
                    sea_orm::Condition::all()
                        .add(check_run::Column::HeartbeatAt.is_null())
                        .add(check_run::Column::StartedAt.lt(cutoff)),
                ),
        )
        .exec(db)
        .await?;
    Ok(closed.rows_affected)
}

/// Asks a running cycle to stop: it stops taking addresses within a second, writes what it
/// found so far and ends with the cancel as its error.
pub async fn cancel(caller: &Caller, run_id: i64) -> Result<(), AppError> {
    let txn = db::begin_write(&caller.state.db).await?;
    let marked = check_run::Entity::update_many()
        .col_expr(
            check_run::Column::CancelledBy,
            Expr::value(caller.user.name.clone()),
        )
        .filter(check_run::Column::Id.eq(run_id))
        .filter(check_run::Column::FinishedAt.is_null())
        .filter(check_run::Column::CancelledBy.is_null())
        .exec(&txn)
        .await?;
    if marked.rows_affected != 1 {
        let run = check_run::Entity::find_by_id(run_id).one(&txn).await?;
        return Err(match run {
            None => AppError::NotFound(format!("There is no check cycle {run_id}.")),
            Some(r) if r.finished_at.is_some() => {
                AppError::Conflict(format!("Cycle {run_id} has finished already."))
            }
            Some(_) => AppError::Conflict(format!("Cycle {run_id} is being cancelled already.")),
        });
    }
    audit::record(
        &txn,
        caller,
        "check.cancel",
        &format!("cycle {run_id}"),
        None,
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Starts a cycle on this process's engine and lets it run in the background; answers with
/// its id at once. Refused while one runs.
pub async fn start_in_background(state: &AppState, trigger: Trigger) -> Result<i64, AppError> {
    let engine = state.checks.clone();
    let started = start(state, &engine, trigger).await?;
    let run_id = started.run_id;
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(e) = run(&state, &engine, started, |_| {}).await {
            tracing::error!(run = run_id, cause = ?e, "check cycle failed");
        }
    });
    Ok(run_id)
}

/// Runs a started cycle to its end, calling `progress` after each batch.
pub async fn run(
    state: &AppState,
    engine: &SharedEngine,
    started: Started,
    mut progress: impl FnMut(&Counts),
) -> Result<Counts, AppError> {
    let run_id = started.run_id;
    let result = run_inner(state, engine, run_id, &mut progress).await;
    let (counts, error) = match &result {
        Ok(counts) => (counts, None),
        Err((counts, e)) => (counts, Some(e.to_string())),
    };
    counts_update(run_id, counts)
        .col_expr(
            check_run::Column::FinishedAt,
            Expr::value(OffsetDateTime::now_utc()),
        )
        .col_expr(check_run::Column::Error, Expr::value(error))
        .exec(&state.db)
        .await?;
    if let Err(e) = problem_days::record_today(&state.db).await {
        tracing::warn!(run = run_id, cause = ?e, "recording today's problem count failed");
    }
    drop(started.guard);
    result.map_err(|(_, e)| e)
}

async fn run_inner(
    state: &AppState,
    engine: &SharedEngine,
    run_id: i64,
    progress: &mut impl FnMut(&Counts),
) -> Result<Counts, (Counts, AppError)> {
    let mut counts = Counts::default();
    let fail = |counts: &Counts, e: AppError| (counts.clone(), e);
    let zones = engine
        .refresh_zones(&state.db)
        .await
        .map_err(|e| fail(&counts, e))?;
    counts.zones_unhealthy = zones.unhealthy() as i32;
    counts.total = address::Entity::find()
        .filter(address::Column::Status.is_in(CHECKED))
        .count(&state.db)
        .await
        .map_err(|e| fail(&counts, e.into()))? as i64;
    write_progress(state, run_id, &counts)
        .await
        .map_err(|e| fail(&counts, e))?;
    progress(&counts);

    // Checks and writes overlap: the checks feed a bounded queue, and the writer takes
    // whatever has queued up (at most BATCH) into one transaction, so slow checks cost no
    // idle database and a slow database costs no idle checks.
    let (found, mut to_write) = mpsc::channel::<(address::Model, Finding)>(BATCH * 4);
    // A cancel is a mark on the run's row, so any instance sharing the database can ask;
    // the checks stop taking addresses, and what was found so far is still written.
    let (cancel, mut cancelled) = watch::channel::<Option<String>>(None);
    let cancel_seen = cancelled.clone();
    // The same loop beats the run's heartbeat, by which pages tell a running cycle from
    // one whose server stopped.
    let watch_cancel = async move {
        let mut told = false;
        loop {
            tokio::time::sleep(PROGRESS_EVERY).await;
            let beat = check_run::Entity::update_many()
                .col_expr(
                    check_run::Column::HeartbeatAt,
                    Expr::value(OffsetDateTime::now_utc()),
                )
                .filter(check_run::Column::Id.eq(run_id))
                .exec(&state.db)
                .await;
            if let Err(e) = beat {
                tracing::warn!(run = run_id, cause = %e, "writing the run's heartbeat failed");
            }
            if told {
                continue;
            }
            match check_run::Entity::find_by_id(run_id).one(&state.db).await {
                Ok(Some(run)) if run.cancelled_by.is_some() => {
                    told = cancel.send(run.cancelled_by).is_ok();
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(run = run_id, cause = %e, "reading the run's cancel mark failed")
                }
            }
        }
    };
    let checks = async move {
        let mut judged = std::pin::pin!(checked_addresses(&state.db)
            .map_ok(|row| {
                let checked = engine.clone().check_row(row, zones.clone());
                async move { Ok::<_, AppError>(checked.await) }
            })
            .try_buffer_unordered(engine.concurrency()));
        loop {
            let item = tokio::select! {
                biased;
                _ = cancelled.changed() => break,
                item = judged.next() => item,
            };
            let Some(item) = item else { break };
            // A closed queue means the writer failed; its error is the one reported.
            if found.send(item?).await.is_err() {
                break;
            }
        }
        Ok::<(), AppError>(())
    };
    let writes = async {
        let mut batch = Vec::with_capacity(BATCH);
        let mut reported = Instant::now();
        while to_write.recv_many(&mut batch, BATCH).await > 0 {
            let applied = apply_all(state, &batch, Some(run_id)).await?;
            batch.clear();
            for a in applied {
                counts.add(a);
            }
            // Addresses released during the cycle join it; the total grows with them.
            counts.total = counts.total.max(counts.done);
            if reported.elapsed() >= PROGRESS_EVERY {
                write_progress(state, run_id, &counts).await?;
                progress(&counts);
                reported = Instant::now();
            }
        }
        Ok::<(), AppError>(())
    };
    let (checked, written) = tokio::select! {
        done = async { tokio::join!(checks, writes) } => done,
        _ = watch_cancel => unreachable!("the heartbeat loop never ends by itself"),
    };
    if let Err(e) = written.and(checked) {
        return Err(fail(&counts, e));
    }
    progress(&counts);
    counts.cancelled_by = cancel_seen.borrow().clone();
    Ok(counts)
}

/// Every address the cycle checks, read in id order a page at a time as the checks need
/// them. Each is read once: a page starts after the last id read, whatever verdicts have
/// done to the rows before it meanwhile.
fn checked_addresses(
    db: &DatabaseConnection,
) -> impl Stream<Item = Result<address::Model, AppError>> + '_ {
    stream::try_unfold(0i64, move |after| async move {
        let rows = address::Entity::find()
            .filter(address::Column::Status.is_in(CHECKED))
            .filter(address::Column::Id.gt(after))
            .order_by_asc(address::Column::Id)
            .limit(BATCH as u64)
            .all(db)
            .await?;
        Ok::<_, AppError>(rows.last().map(|last| last.id).map(|next| (rows, next)))
    })
    .map_ok(|rows| stream::iter(rows.into_iter().map(Ok)))
    .try_flatten()
}

/// The update that writes a run's counts; the end of a run adds to it.
fn counts_update(run_id: i64, counts: &Counts) -> UpdateMany<check_run::Entity> {
    check_run::Entity::update_many()
        .col_expr(check_run::Column::Total, Expr::value(counts.total))
        .col_expr(check_run::Column::Done, Expr::value(counts.done))
        .col_expr(check_run::Column::Freed, Expr::value(counts.freed))
        .col_expr(check_run::Column::StillUsed, Expr::value(counts.still_used))
        .col_expr(check_run::Column::Blocked, Expr::value(counts.blocked))
        .col_expr(check_run::Column::Unknown, Expr::value(counts.unknown))
        .col_expr(
            check_run::Column::ZonesUnhealthy,
            Expr::value(counts.zones_unhealthy),
        )
        .filter(check_run::Column::Id.eq(run_id))
}

async fn write_progress(state: &AppState, run_id: i64, counts: &Counts) -> Result<(), AppError> {
    counts_update(run_id, counts).exec(&state.db).await?;
    Ok(())
}
