//! The periodic job: a cycle every `CheckPeriod`, counted from the start of the last cycle
//! on record, so a restart neither skips a cycle nor runs one early. Never two at once: a
//! cycle already running (started by hand, or on another instance) makes the job wait for
//! the next period. Of several instances on one database, only the holder of the
//! scheduler lease runs the job; when it dies, another takes the lease and the job over
//! within a lease period, and when it stops cleanly, at once.

use std::time::Duration;

use sea_orm::{EntityTrait, QueryOrder};
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::model::Trigger;
use crate::server::check::cycle;
use crate::server::check::SharedEngine;
use crate::server::entities::{check_run, lease as lease_row};
use crate::server::{lease, AppState};

/// Sleeps until the next cycle is due, runs it, and again, for as long as the server runs
/// and holds the scheduler lease. When `stop` resolves (a clean shutdown) it drops a cycle
/// it runs, as a crash would, but lets the lease go, so another instance takes over at
/// once.
pub async fn run_forever(
    state: AppState,
    engine: SharedEngine,
    stop: impl std::future::Future<Output = ()>,
) {
    let mut kept = lease::keep(
        state.db.clone(),
        lease::SCHEDULER,
        state.config().scheduler_lease,
    );
    let leader = kept.held.clone();
    tokio::select! {
        _ = schedule(&state, &engine, &mut kept.held) => {}
        _ = super::overdue::watch(&state, leader) => {}
        _ = stop => {}
    }
    kept.release().await;
}

/// The periodic job while this instance holds the lease `leader` tells of.
async fn schedule(state: &AppState, engine: &SharedEngine, leader: &mut watch::Receiver<bool>) {
    loop {
        if !*leader.borrow_and_update() {
            if leader.changed().await.is_err() {
                return;
            }
            continue;
        }
        let wait = until_due(state).await;
        // A new period saved on the config page counts at once, and a lost lease stops the
        // job: wake and look again.
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = state.settings.changed.notified() => continue,
            _ = leader.changed() => continue,
        }
        if !*leader.borrow() {
            continue;
        }
        match cycle::start(state, engine, Trigger::Schedule).await {
            Ok(started) => {
                let run_id = started.run_id;
                match cycle::run(state, engine, started, |_| {}).await {
                    Ok(ended) => tracing::info!(
                        run = run_id,
                        checked = ended.counts.done,
                        freed = ended.counts.freed,
                        used = ended.counts.still_used,
                        blocked = ended.counts.blocked,
                        unknown = ended.counts.unknown,
                        cancelled_by = ?ended.cancelled_by,
                        "check cycle finished"
                    ),
                    Err(e) => tracing::error!(run = run_id, cause = ?e, "check cycle failed"),
                }
            }
            Err(e) => tracing::info!(cause = %e, "scheduled check cycle skipped"),
        }
        // A failing database must not turn this into a busy loop.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// How long until the next cycle.
async fn until_due(state: &AppState) -> Duration {
    let now = OffsetDateTime::now_utc();
    Duration::try_from(next_due(state).await - now).unwrap_or(Duration::ZERO)
}

/// When the next cycle is due: one period after the last cycle started; before the first,
/// one period after the scheduling instance took its lease. With neither (no instance holds
/// the lease yet, or the database cannot tell) one period from now is the best guess.
pub async fn next_due(state: &AppState) -> OffsetDateTime {
    let last = check_run::Entity::find()
        .order_by_desc(check_run::Column::Id)
        .one(&state.db)
        .await
        .ok()
        .flatten();
    next_due_after(state, last.as_ref()).await
}

/// [`next_due`] for a caller that has read the newest cycle, `last`, already.
pub async fn next_due_after(state: &AppState, last: Option<&check_run::Model>) -> OffsetDateTime {
    let period = state.config().check_period;
    let now = OffsetDateTime::now_utc();
    if let Some(run) = last {
        return (run.started_at + period).max(now);
    }
    let scheduler = lease_row::Entity::find_by_id(lease::SCHEDULER.to_string())
        .one(&state.db)
        .await
        .ok()
        .flatten()
        .filter(|l| l.expires_at >= now);
    match scheduler.and_then(|l| l.taken_at) {
        Some(taken_at) => (taken_at + period).max(now),
        None => now + period,
    }
}
