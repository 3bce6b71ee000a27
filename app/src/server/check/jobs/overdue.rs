//! Tells once when cycles stopped ending: no cycle has ended for twice `CheckPeriod`
//! (a stuck cycle, a scheduler that cannot start one, a database that refuses its end).
//! Runs on the instance holding the scheduler lease, beside the schedule.

use std::time::Duration;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QuerySelect,
};
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::error::AppError;
use crate::server::alerts::events::{self as alert_events, Event, EventKind};
use crate::server::entities::{alert_event, check_run, lease as lease_row};
use crate::server::time_fmt::show;
use crate::server::{db, lease, AppState};

/// How often the watch looks.
pub const LOOK_EVERY: Duration = Duration::from_secs(60);

/// Records a `cycle_overdue` event if no cycle has ended for twice `period`, counted from
/// the last end (before any, from when the scheduling instance took its lease), unless one
/// was recorded since. Whether it recorded one.
pub async fn tell_if_overdue(db: &DatabaseConnection, period: Duration) -> Result<bool, AppError> {
    let last_end: Option<OffsetDateTime> = check_run::Entity::find()
        .select_only()
        .expr(Expr::col(check_run::Column::FinishedAt).max())
        .into_tuple::<Option<OffsetDateTime>>()
        .one(db)
        .await?
        .flatten();
    let since = match last_end {
        Some(end) => end,
        None => {
            let scheduler = lease_row::Entity::find_by_id(lease::SCHEDULER.to_string())
                .one(db)
                .await?;
            match scheduler.and_then(|l| l.taken_at) {
                Some(taken) => taken,
                None => return Ok(false),
            }
        }
    };
    let now = OffsetDateTime::now_utc();
    if now - since < period * 2 {
        return Ok(false);
    }
    if told_since(db, since).await? > 0 {
        return Ok(false);
    }
    // Looked at again under the write lock, so two looks at once tell once.
    let txn = db::begin_write(db).await?;
    if told_since(&txn, since).await? > 0 {
        return Ok(false);
    }
    let detail = match last_end {
        Some(end) => format!(
            "no check cycle has ended since {} (CheckPeriod {})",
            show(end),
            humantime::format_duration(period)
        ),
        None => format!(
            "no check cycle has ended since scheduling began at {} (CheckPeriod {})",
            show(since),
            humantime::format_duration(period)
        ),
    };
    alert_events::record(&txn, [Event::overdue(&detail)]).await?;
    txn.commit().await?;
    Ok(true)
}

/// How many `cycle_overdue` events were recorded since `since`.
async fn told_since(db: &impl ConnectionTrait, since: OffsetDateTime) -> Result<u64, DbErr> {
    alert_event::Entity::find()
        .filter(alert_event::Column::Kind.eq(EventKind::CycleOverdue.as_str()))
        .filter(alert_event::Column::At.gte(since))
        .count(db)
        .await
}

/// Looks every [`LOOK_EVERY`] while this instance holds the scheduler lease.
pub async fn watch(state: &AppState, leader: watch::Receiver<bool>) {
    loop {
        tokio::time::sleep(LOOK_EVERY).await;
        if !*leader.borrow() {
            continue;
        }
        if let Err(e) = tell_if_overdue(&state.db, state.config().check_period).await {
            tracing::warn!(cause = %e, "cannot tell whether check cycles are overdue");
        }
    }
}
