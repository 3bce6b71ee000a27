//! One check cycle (IPmanager's hourly `checkip`): every address being checked, used in
//! the network or blocked by a DNSBL is checked once, many at a time (`CheckConcurrency`),
//! and the verdicts are written in batches as they come. The run's row keeps live counts,
//! so pages can show progress.
//!
//! A cycle is shared: the instance that started it (its owner) and every other instance
//! on the database that joins it ([`help`]) claim addresses in batches ([`claim`]) and
//! check what they claimed, so each address is checked once however many instances work.
//! The owner ends the cycle once no worker is left and a last sweep finds nothing to
//! claim.

use std::time::{Duration, Instant};

use futures::stream::{StreamExt, TryStreamExt};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};

use crate::error::AppError;
use crate::model::{AddressStatus, RunCounts, Trigger};
use crate::server::agents::registry;
use crate::server::alerts::events::{self as alert_events, Event};
use crate::server::auth::guard::Caller;
use crate::server::check::claim::{self, Worker};
use crate::server::check::verdict::{self, Applied};
use crate::server::check::{dnsbl, SharedEngine};
use crate::server::entities::{address, check_run};
use crate::server::inventory::lifecycle::{Finding, CHECKED};
use crate::server::inventory::networks::Policies;
use crate::server::inventory::sites;
use crate::server::{admin::audit, check::problem_days, db, lease, AppState};

/// Verdicts written per transaction at most, and addresses claimed at once at most.
const BATCH: usize = 500;
/// How often a worker renews its claims, beats the run's heartbeat, shows progress and
/// looks whether it was asked to stop.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// How a cycle ended, for whoever ran it: what it counted, and who cancelled it, if anyone
/// did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ended {
    pub counts: RunCounts,
    pub cancelled_by: Option<String>,
}

/// What one batch of verdicts adds to a run's counts. A verdict another worker took over
/// counts there.
fn counts_of_batch(applied: &[Applied]) -> RunCounts {
    let mut counts = RunCounts::default();
    for a in applied {
        match a {
            Applied::TakenOver => continue,
            Applied::Now(AddressStatus::Free) => counts.freed += 1,
            Applied::Now(AddressStatus::UsedInNetwork) => counts.still_used += 1,
            Applied::Now(AddressStatus::BlockedByDnsbl) => counts.blocked += 1,
            Applied::Now(_) | Applied::Dropped => {}
            Applied::Inconclusive => counts.unknown += 1,
        }
        counts.done += 1;
    }
    counts
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
        trigger: Set(trigger),
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
    let silent = sea_orm::Condition::any()
        .add(check_run::Column::HeartbeatAt.lt(cutoff))
        .add(
            sea_orm::Condition::all()
                .add(check_run::Column::HeartbeatAt.is_null())
                .add(check_run::Column::StartedAt.lt(cutoff)),
        );
    let txn = db::begin_write(db).await?;
    let found: Vec<i64> = check_run::Entity::find()
        .select_only()
        .column(check_run::Column::Id)
        .filter(check_run::Column::FinishedAt.is_null())
        .filter(silent.clone())
        .into_tuple()
        .all(&txn)
        .await?;
    if found.is_empty() {
        return Ok(0);
    }
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
        .filter(check_run::Column::Id.is_in(found.iter().copied()))
        .filter(check_run::Column::FinishedAt.is_null())
        .filter(silent)
        .exec(&txn)
        .await?;
    // The write lock (SQLite) or the rows' locks (PostgreSQL) keep the runs found those
    // closed; a run that came back to life meanwhile was not closed and is not told.
    if closed.rows_affected == found.len() as u64 {
        let told: Vec<Event> = found
            .into_iter()
            .map(|id| Event::cycle(id, true, INTERRUPTED))
            .collect();
        alert_events::record(&txn, told).await?;
        txn.commit().await?;
    } else {
        txn.rollback().await?;
        return Ok(0);
    }
    if closed.rows_affected > 0 {
        claim::close_ended(db).await?;
    }
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

/// Why a worker stops taking addresses before a sweep finds nothing more to claim.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Stop {
    /// An admin cancelled the cycle.
    Cancelled,
    /// The cycle ended (finished, or closed as interrupted) under a helping worker.
    RunOver,
    /// The worker could not renew its claims in time: others may hold them by now.
    Fenced,
}

/// Runs a started cycle to its end as its owner, calling `progress` every second with the
/// counts of every worker so far, and once more at the end.
pub async fn run(
    state: &AppState,
    engine: &SharedEngine,
    started: Started,
    mut progress: impl FnMut(&RunCounts) + Send,
) -> Result<Ended, AppError> {
    let run_id = started.run_id;
    let result = own(state, engine, run_id, &mut progress).await;
    let error = result.as_ref().err().map(|e| e.to_string());
    // Conditional: a cycle another instance closed as interrupted keeps that ending (and
    // that instance told of it).
    let txn = db::begin_write(&state.db).await?;
    let ended = check_run::Entity::update_many()
        .col_expr(
            check_run::Column::FinishedAt,
            Expr::value(OffsetDateTime::now_utc()),
        )
        .col_expr(check_run::Column::Error, Expr::value(error.clone()))
        .filter(check_run::Column::Id.eq(run_id))
        .filter(check_run::Column::FinishedAt.is_null())
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    if let (true, Some(error)) = (ended, &error) {
        // A cancelled cycle ends with the cancel as its error; that is no failure.
        let cancelled = check_run::Entity::find_by_id(run_id)
            .one(&txn)
            .await?
            .is_some_and(|r| r.cancelled_by.is_some());
        if !cancelled {
            alert_events::record(&txn, [Event::cycle(run_id, false, error)]).await?;
        }
    }
    txn.commit().await?;
    claim::close(&state.db, run_id).await?;
    if let Err(e) = problem_days::record_today(&state.db).await {
        tracing::warn!(run = run_id, cause = ?e, "recording today's problem count failed");
    }
    let run = check_run::Entity::find_by_id(run_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("There is no check cycle {run_id}.")))?;
    let counts = RunCounts::from(&run);
    progress(&counts);
    drop(started.guard);
    result.map(|()| Ended {
        counts,
        cancelled_by: run.cancelled_by,
    })
}

/// The owner's part: tests the zones, counts what there is to check, then works on the
/// cycle until nothing is left to claim and no other worker is still at it.
async fn own(
    state: &AppState,
    engine: &SharedEngine,
    run_id: i64,
    progress: &mut (impl FnMut(&RunCounts) + Send),
) -> Result<(), AppError> {
    let zones = engine.refresh_zones(&state.db).await?;
    let total = address::Entity::find()
        .filter(address::Column::Status.is_in(CHECKED))
        .count(&state.db)
        .await? as i64;
    check_run::Entity::update_many()
        .col_expr(check_run::Column::Total, Expr::value(total))
        .col_expr(
            check_run::Column::ZonesUnhealthy,
            Expr::value(zones.unhealthy() as i32),
        )
        .filter(check_run::Column::Id.eq(run_id))
        .exec(&state.db)
        .await?;
    let ttl = dead_after(&state.config());
    let worker = claim::join(&state.db, run_id, ttl).await?;
    let (stop, stopped) = watch::channel(None);
    let work = async {
        loop {
            // Counted before the sweep: a sweep that finds nothing while nobody else was
            // working proves the cycle done.
            let others = claim::others_live(&state.db, &worker).await?;
            let claimed = sweep(state, engine, &worker, &zones, stopped.clone()).await?;
            if stopped.borrow().is_some() {
                break;
            }
            if claimed == 0 {
                if others == 0 && settle_sites(state, &worker).await? == Sites::Settled {
                    return Ok(());
                }
                // Others are still checking what they claimed, or a site's agents have
                // yet to take its addresses. Should a worker die, its claims run out and
                // the next sweep takes its addresses.
                pause(stopped.clone()).await;
            }
        }
        // Stopped early: what the other workers found is still counted if they write it
        // before the cycle ends, which they do within a second or two of seeing the
        // cancel. Their claims run out within `ttl` in any case.
        let waited = Instant::now();
        while claim::others_live(&state.db, &worker).await? > 0 && waited.elapsed() < ttl {
            tokio::time::sleep(PROGRESS_EVERY / 4).await;
        }
        let why = stopped.borrow().clone();
        match why {
            Some(Stop::Fenced) => Err(AppError::Conflict(format!(
                "This instance could not renew its claims within {}s; it stopped checking.",
                ttl.as_secs()
            ))),
            _ => Ok(()),
        }
    };
    let result = tokio::select! {
        r = work => r,
        _ = beat(state, &worker, true, stop, progress) => unreachable!("the heartbeat never ends by itself"),
    };
    if let Err(e) = claim::leave(&state.db, &worker).await {
        tracing::warn!(run = run_id, cause = %e, "leaving the cycle failed");
    }
    result
}

/// Where the sites other than `local` stand in a cycle, once the instances have judged
/// every address of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sites {
    /// Every site's addresses are judged, or recorded as not checkable.
    Settled,
    /// A site with a live agent still has addresses to judge.
    Waiting,
}

/// Records the addresses of every site that has no live agent as inconclusive for this
/// cycle, with the reason ("site dc-2 has no live agent"): their status stays, and the
/// next cycle tries again. Nobody could look, so nothing is freed. Answers whether a site
/// with a live agent still has addresses to judge.
async fn settle_sites(state: &AppState, owner: &Worker) -> Result<Sites, AppError> {
    let mut waiting = false;
    for site in sites::list(&state.db).await? {
        if !claim::pending_in_site(&state.db, owner.run_id, site.id).await? {
            continue;
        }
        let agents = registry::of_site(&state.db, site.id).await?;
        let now = OffsetDateTime::now_utc();
        if agents.iter().any(|a| registry::live_at(a, now)) {
            waiting = true;
            continue;
        }
        let reason = registry::no_live_agent(&site, &agents);
        // Claimed with the owner's token, as the owner's own addresses are.
        let stand_in = Worker {
            scope: claim::Scope::Site(site.id),
            ..*owner
        };
        for status in CHECKED {
            loop {
                let rows =
                    claim::claim_batch(&state.db, &stand_in, status, None, BATCH as u64).await?;
                if rows.is_empty() {
                    break;
                }
                let batch: Vec<(address::Model, Finding)> = rows
                    .into_iter()
                    .map(|row| (row, Finding::Inconclusive(reason.clone())))
                    .collect();
                write_batch(state, &stand_in, &batch).await?;
            }
        }
    }
    Ok(if waiting {
        Sites::Waiting
    } else {
        Sites::Settled
    })
}

/// Joins the running cycle `run_id` of another instance as a worker and checks addresses
/// with it until a sweep finds nothing left to claim. Answers how many addresses this
/// instance claimed, or `None` when its engine is busy with a cycle of its own.
pub async fn help(
    state: &AppState,
    engine: &SharedEngine,
    run_id: i64,
) -> Result<Option<u64>, AppError> {
    let Ok(_busy) = engine.running.clone().try_lock_owned() else {
        return Ok(None);
    };
    let zones = engine.recent_zones(&state.db).await?;
    let worker = claim::join(&state.db, run_id, dead_after(&state.config())).await?;
    let (stop, stopped) = watch::channel(None);
    let mut quiet = |_: &RunCounts| {};
    let work = async {
        let mut claimed = 0;
        loop {
            let n = sweep(state, engine, &worker, &zones, stopped.clone()).await?;
            claimed += n;
            if n == 0 || stopped.borrow().is_some() {
                return Ok::<_, AppError>(claimed);
            }
        }
    };
    let result = tokio::select! {
        r = work => r,
        _ = beat(state, &worker, false, stop, &mut quiet) => unreachable!("the heartbeat never ends by itself"),
    };
    if let Err(e) = claim::leave(&state.db, &worker).await {
        tracing::warn!(run = run_id, cause = %e, "leaving the cycle failed");
    }
    result.map(Some)
}

/// The newest cycle that another instance is running now and that takes helpers: not
/// cancelled, its heartbeat fresh.
pub async fn joinable(
    db: &DatabaseConnection,
    silent_for: Duration,
) -> Result<Option<check_run::Model>, AppError> {
    let cutoff = OffsetDateTime::now_utc() - silent_for;
    Ok(check_run::Entity::find()
        .filter(check_run::Column::FinishedAt.is_null())
        .filter(check_run::Column::CancelledBy.is_null())
        .filter(check_run::Column::HeartbeatAt.gte(cutoff))
        .filter(
            sea_orm::Condition::any()
                .add(check_run::Column::Runner.is_null())
                .add(check_run::Column::Runner.ne(lease::instance_id())),
        )
        .order_by_desc(check_run::Column::Id)
        .one(db)
        .await?)
}

/// Waits a moment, or until the worker is told to stop.
async fn pause(mut stopped: watch::Receiver<Option<Stop>>) {
    tokio::select! {
        _ = tokio::time::sleep(PROGRESS_EVERY) => {}
        _ = stopped.wait_for(Option::is_some) => {}
    }
}

/// One sweep: claims addresses as the checks need them and checks them, many at a time,
/// until every address the cycle checks has been passed (or the worker is told to stop);
/// the verdicts are written as they come. Answers how many addresses it claimed.
async fn sweep(
    state: &AppState,
    engine: &SharedEngine,
    worker: &Worker,
    zones: &std::sync::Arc<dnsbl::Zones>,
    mut stopped: watch::Receiver<Option<Stop>>,
) -> Result<u64, AppError> {
    let concurrency = engine.concurrency();
    // Claims no more than the checks can start at once, so a worker joining later still
    // finds addresses to take.
    let per_claim = concurrency.clamp(1, BATCH) as u64;
    // Read once a sweep: a policy saved during a cycle applies from the next sweep.
    let policies = std::sync::Arc::new(Policies::load(&state.db).await?);
    let mut claimed = 0u64;
    // Checks and writes overlap: the checks feed a bounded queue, and the writer takes
    // whatever has queued up (at most BATCH) into one transaction, so slow checks cost no
    // idle database and a slow database costs no idle checks.
    let (found, to_write) = mpsc::channel::<(address::Model, Finding)>(BATCH * 4);
    let turns = std::sync::Arc::new(tokio::sync::Mutex::new(()));
    let checks = async {
        let found = found;
        let mut judged = std::pin::pin!(claim::sweep(&state.db, *worker, per_claim, turns.clone())
            .inspect_ok(|_| claimed += 1)
            .map_ok(|row| {
                let checked = engine
                    .clone()
                    .check_row(row, zones.clone(), policies.clone());
                async move { Ok::<_, AppError>(checked.await) }
            })
            .try_buffer_unordered(concurrency));
        loop {
            let item = tokio::select! {
                biased;
                _ = stopped.wait_for(Option::is_some) => break,
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
        // Owned here, so a failed writer closes the queue and the checks stop.
        let mut to_write = to_write;
        let mut batch = Vec::with_capacity(BATCH);
        while to_write.recv_many(&mut batch, BATCH).await > 0 {
            let _turn = turns.lock().await;
            write_batch(state, worker, &batch).await?;
            batch.clear();
        }
        Ok::<(), AppError>(())
    };
    let (checked, written) = tokio::join!(checks, writes);
    written.and(checked)?;
    Ok(claimed)
}

/// Writes a batch of a worker's verdicts and adds them to the run's counts, in one
/// transaction. Refused whole once the cycle has ended (closed as interrupted, say): the
/// verdicts would belong to no running cycle, and the next cycle checks the addresses.
pub async fn write_batch(
    state: &AppState,
    worker: &Worker,
    batch: &[(address::Model, Finding)],
) -> Result<(), AppError> {
    let txn = db::begin_write(&state.db).await?;
    let applied = verdict::write(&txn, batch, Some(worker)).await?;
    let add = counts_of_batch(&applied);
    let plus = |column: check_run::Column, n: i64| (column, Expr::col(column).add(n));
    let done_now = Expr::col(check_run::Column::Done).add(add.done);
    let mut update = check_run::Entity::update_many();
    for (column, value) in [
        plus(check_run::Column::Done, add.done),
        plus(check_run::Column::Freed, add.freed),
        plus(check_run::Column::StillUsed, add.still_used),
        plus(check_run::Column::Blocked, add.blocked),
        plus(check_run::Column::Unknown, add.unknown),
    ] {
        update = update.col_expr(column, value);
    }
    let counted = update
        // Addresses released during the cycle join it; the total grows with them.
        .col_expr(
            check_run::Column::Total,
            Expr::case(
                Expr::col(check_run::Column::Total).lt(done_now.clone()),
                done_now,
            )
            .finally(Expr::col(check_run::Column::Total))
            .into(),
        )
        .filter(check_run::Column::Id.eq(worker.run_id))
        .filter(check_run::Column::FinishedAt.is_null())
        .exec(&txn)
        .await?;
    if counted.rows_affected != 1 {
        txn.rollback().await?;
        return Err(AppError::Conflict(format!(
            "Check cycle {} has ended; this worker's last verdicts were not written.",
            worker.run_id
        )));
    }
    claim::count_done(&txn, worker, add.done).await?;
    txn.commit().await?;
    Ok(())
}

/// A worker's heartbeat, every second for as long as it works: renews its claims, beats
/// the run's heartbeat and shows progress (the owner), and tells the worker to stop when
/// the cycle is cancelled or has ended, or its claims ran out.
async fn beat(
    state: &AppState,
    worker: &Worker,
    owner: bool,
    stop: watch::Sender<Option<Stop>>,
    progress: &mut (dyn FnMut(&RunCounts) + Send),
) {
    let ttl = dead_after(&state.config());
    let run_id = worker.run_id;
    let tell = |why: Stop| {
        stop.send_if_modified(|now| {
            if now.is_some() {
                return false;
            }
            *now = Some(why);
            true
        });
    };
    loop {
        tokio::time::sleep(PROGRESS_EVERY).await;
        let now = OffsetDateTime::now_utc();
        if owner {
            let beat = check_run::Entity::update_many()
                .col_expr(check_run::Column::HeartbeatAt, Expr::value(now))
                .filter(check_run::Column::Id.eq(run_id))
                .exec(&state.db)
                .await;
            if let Err(e) = beat {
                tracing::warn!(run = run_id, cause = %e, "writing the run's heartbeat failed");
            }
        }
        match claim::renew(&state.db, worker, ttl).await {
            Ok(true) => {}
            Ok(false) => tell(Stop::Fenced),
            Err(e) => {
                tracing::warn!(run = run_id, cause = %e, "renewing this worker's claims failed")
            }
        }
        match check_run::Entity::find_by_id(run_id).one(&state.db).await {
            Ok(Some(run)) => {
                let silent = now - run.heartbeat_at.unwrap_or(run.started_at) > ttl;
                if run.cancelled_by.is_some() {
                    tell(Stop::Cancelled);
                } else if !owner && (run.finished_at.is_some() || silent) {
                    tell(Stop::RunOver);
                }
                if owner {
                    progress(&RunCounts::from(&run));
                }
            }
            Ok(None) => tell(Stop::RunOver),
            Err(e) => tracing::warn!(run = run_id, cause = %e, "reading the run failed"),
        }
    }
}
