//! Delivering the outbox. On the instance holding the `alerts` lease, every [`POLL`]:
//!
//! 1. **Hand out**: events not yet dispatched become one pending row per enabled target
//!    they match, and are marked dispatched, in one transaction whose mark is conditional
//!    (`WHERE dispatched = false`): an event is handed out once, however many instances
//!    try. A flag, not a cursor over ids: PostgreSQL hands out ids before their
//!    transactions commit, so a cursor could pass an event still being written.
//! 2. **Gather**: a target with pending rows and no delivery under way gets one delivery
//!    that takes all of them, but those of a cycle still running (at most
//!    [`HOLD_FOR_CYCLE`]): a cycle with 2,000 problems is one message per target.
//! 3. **Send** each due delivery: claimed first by a conditional update (so one instance
//!    sends it), then sent; a failure waits `AlertRetry`, then twice that for each further
//!    failure (at most an hour) and is given up after [`MAX_ATTEMPTS`] tries. Everything
//!    is in the database, so a restart loses nothing: a delivery whose sender died is
//!    taken up again once its claim has run out.

use std::time::Duration;

use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use time::OffsetDateTime;

use crate::error::AppError;
use crate::server::alerts::events::EventKind;
use crate::server::alerts::message::{self, Digest, Line, LISTED};
use crate::server::alerts::send::{self, SEND_TIMEOUT};
use crate::server::alerts::targets;
use crate::server::auth::guard::Caller;
use crate::server::entities::{
    alert_delivery, alert_event, alert_pending, alert_target, check_run,
};
use crate::server::{db, lease, AppState};

/// The lease of the instance that delivers alerts.
pub const LEASE: &str = "alerts";
/// How often the holder looks for work.
pub const POLL: Duration = Duration::from_secs(1);
/// Tries before a delivery is given up.
pub const MAX_ATTEMPTS: i32 = 10;
/// Longest wait between two tries.
pub const BACKOFF_CAP: Duration = Duration::from_secs(60 * 60);
/// How long a sender holds a delivery it took; past this (a sender that died mid-try),
/// another may try it.
const CLAIM: Duration = Duration::from_secs(SEND_TIMEOUT.as_secs() * 3);
/// Events handed out per transaction.
const DISPATCH_BATCH: u64 = 1000;
/// Transactions of handing out per look; the rest wait for the next look.
const DISPATCH_ROUNDS: usize = 50;
/// Deliveries tried per look, at once.
const SENDS_PER_LOOK: u64 = 32;
/// Longest the events of a running cycle wait for it to end before they are sent: a cycle
/// over a large space may run for hours, and its news should not wait that long.
pub const HOLD_FOR_CYCLE: Duration = Duration::from_secs(10 * 60);
/// Rows per insert, under every backend's limit on bound parameters.
const ROWS_PER_INSERT: usize = 500;

/// How long to wait after the `attempts`-th failed try: `base`, then twice as long each
/// time, at most [`BACKOFF_CAP`].
pub fn backoff(base: Duration, attempts: i32) -> Duration {
    let doublings = attempts.saturating_sub(1).clamp(0, 30) as u32;
    base.checked_mul(1u32 << doublings)
        .unwrap_or(BACKOFF_CAP)
        .min(BACKOFF_CAP)
}

/// Hands undispatched events out to the targets they match. How many were handed out.
pub async fn dispatch(db: &DatabaseConnection) -> Result<u64, AppError> {
    let mut handed = 0;
    for _ in 0..DISPATCH_ROUNDS {
        let events: Vec<(i64, String, Option<i64>, OffsetDateTime)> = alert_event::Entity::find()
            .select_only()
            .column(alert_event::Column::Id)
            .column(alert_event::Column::Kind)
            .column(alert_event::Column::NetworkId)
            .column(alert_event::Column::At)
            .filter(alert_event::Column::Dispatched.eq(false))
            .order_by_asc(alert_event::Column::Id)
            .limit(DISPATCH_BATCH)
            .into_tuple()
            .all(db)
            .await?;
        if events.is_empty() {
            break;
        }
        let targets = alert_target::Entity::find()
            .filter(alert_target::Column::Enabled.eq(true))
            .all(db)
            .await?;
        let filters: Vec<_> = targets
            .iter()
            .map(|t| {
                (
                    t.id,
                    t.created_at,
                    targets::events_of(t),
                    targets::networks_of(t),
                )
            })
            .collect();
        let ids: Vec<i64> = events.iter().map(|e| e.0).collect();
        let txn = db::begin_write(db).await?;
        let marked = alert_event::Entity::update_many()
            .col_expr(alert_event::Column::Dispatched, Expr::value(true))
            .filter(alert_event::Column::Id.is_in(ids.iter().copied()))
            .filter(alert_event::Column::Dispatched.eq(false))
            .exec(&txn)
            .await?;
        if marked.rows_affected != ids.len() as u64 {
            // Another instance handed some out meanwhile; look again next time.
            txn.rollback().await?;
            break;
        }
        let mut rows = Vec::new();
        for (id, kind, network, at) in &events {
            let Some(kind) = EventKind::parse(kind) else {
                continue;
            };
            for (target, created, kinds, networks) in &filters {
                // A target is told of what happens after it was made.
                if at >= created && targets::wants(kinds, networks, kind, *network) {
                    rows.push(alert_pending::ActiveModel {
                        target_id: Set(*target),
                        event_id: Set(*id),
                        delivery_id: Set(None),
                        ..Default::default()
                    });
                }
            }
        }
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<_> = rows.by_ref().take(ROWS_PER_INSERT).collect();
            alert_pending::Entity::insert_many(chunk).exec(&txn).await?;
        }
        txn.commit().await?;
        handed += ids.len() as u64;
        if (events.len() as u64) < DISPATCH_BATCH {
            break;
        }
    }
    Ok(handed)
}

/// The pending rows a delivery may take now: not those of a cycle still running (for at
/// most [`HOLD_FOR_CYCLE`] since it started), so that what one cycle finds arrives as one
/// message, however many transactions its verdicts were written in.
async fn ready(db: &DatabaseConnection) -> Result<Condition, AppError> {
    let since = OffsetDateTime::now_utc() - HOLD_FOR_CYCLE;
    let running: Vec<i64> = check_run::Entity::find()
        .select_only()
        .column(check_run::Column::Id)
        .filter(check_run::Column::FinishedAt.is_null())
        .filter(check_run::Column::StartedAt.gt(since))
        .into_tuple()
        .all(db)
        .await?;
    let mut ready = Condition::all().add(alert_pending::Column::DeliveryId.is_null());
    if !running.is_empty() {
        ready = ready.add(
            alert_pending::Column::EventId.not_in_subquery(
                Query::select()
                    .column(alert_event::Column::Id)
                    .from(alert_event::Entity)
                    .and_where(alert_event::Column::RunId.is_in(running))
                    .to_owned(),
            ),
        );
    }
    Ok(ready)
}

/// Gives each target with pending events and no delivery under way one delivery holding
/// all of them that are [`ready`].
pub async fn gather(db: &DatabaseConnection) -> Result<(), AppError> {
    let ready = ready(db).await?;
    let waiting: Vec<i64> = alert_pending::Entity::find()
        .select_only()
        .column(alert_pending::Column::TargetId)
        .filter(ready.clone())
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    for target in waiting {
        let txn = db::begin_write(db).await?;
        let under_way = alert_delivery::Entity::find()
            .filter(alert_delivery::Column::TargetId.eq(target))
            .filter(alert_delivery::Column::Status.eq("pending"))
            .filter(alert_delivery::Column::Test.eq(false))
            .one(&txn)
            .await?;
        if under_way.is_some() {
            // Events wait for the next digest, so a target that is down gets one
            // message when it is back, not one per look.
            txn.rollback().await?;
            continue;
        }
        let now = OffsetDateTime::now_utc();
        let delivery = alert_delivery::ActiveModel {
            target_id: Set(target),
            created_at: Set(now),
            test: Set(false),
            events: Set(0),
            first_event_id: Set(None),
            last_event_id: Set(None),
            status: Set("pending".into()),
            attempts: Set(0),
            next_attempt_at: Set(now),
            claimed_until: Set(None),
            last_attempt_at: Set(None),
            delivered_at: Set(None),
            last_error: Set(None),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        let taken = alert_pending::Entity::update_many()
            .col_expr(alert_pending::Column::DeliveryId, Expr::value(delivery.id))
            .filter(alert_pending::Column::TargetId.eq(target))
            .filter(ready.clone())
            .exec(&txn)
            .await?;
        if taken.rows_affected == 0 {
            txn.rollback().await?;
            continue;
        }
        let (first, last): (Option<i64>, Option<i64>) = alert_pending::Entity::find()
            .select_only()
            .expr(Expr::col(alert_pending::Column::EventId).min())
            .expr(Expr::col(alert_pending::Column::EventId).max())
            .filter(alert_pending::Column::DeliveryId.eq(delivery.id))
            .into_tuple()
            .one(&txn)
            .await?
            .unwrap_or((None, None));
        alert_delivery::Entity::update_many()
            .col_expr(
                alert_delivery::Column::Events,
                Expr::value(taken.rows_affected as i64),
            )
            .col_expr(alert_delivery::Column::FirstEventId, Expr::value(first))
            .col_expr(alert_delivery::Column::LastEventId, Expr::value(last))
            .filter(alert_delivery::Column::Id.eq(delivery.id))
            .exec(&txn)
            .await?;
        txn.commit().await?;
    }
    Ok(())
}

/// What a delivery says, read from its pending rows.
async fn digest(
    state: &AppState,
    delivery: &alert_delivery::Model,
    target: &alert_target::Model,
) -> Result<Digest, AppError> {
    let db = &state.db;
    let of_delivery = || {
        alert_event::Column::Id.in_subquery(
            Query::select()
                .column(alert_pending::Column::EventId)
                .from(alert_pending::Entity)
                .and_where(alert_pending::Column::DeliveryId.eq(delivery.id))
                .to_owned(),
        )
    };
    let counted: Vec<(String, i64)> = alert_event::Entity::find()
        .select_only()
        .column(alert_event::Column::Kind)
        .column_as(Expr::col(alert_event::Column::Id).count(), "n")
        .filter(of_delivery())
        .group_by(alert_event::Column::Kind)
        .into_tuple()
        .all(db)
        .await?;
    let counts: Vec<(EventKind, u64)> = EventKind::ALL
        .into_iter()
        .filter_map(|k| {
            counted
                .iter()
                .find(|(c, _)| c == k.as_str())
                .map(|(_, n)| (k, (*n).max(0) as u64))
        })
        .collect();
    let listed = alert_event::Entity::find()
        .filter(of_delivery())
        .order_by_asc(alert_event::Column::Id)
        .limit(LISTED as u64)
        .all(db)
        .await?;
    let cidrs = targets::network_names(db, listed.iter().filter_map(|e| e.network_id)).await?;
    let events = listed
        .into_iter()
        .filter_map(|e| {
            Some(Line {
                id: e.id,
                at: e.at,
                kind: EventKind::parse(&e.kind)?,
                network: e.network_id.and_then(|n| cidrs.get(&n).cloned()),
                network_id: e.network_id,
                address: e.address,
                status: e.status,
                detail: e.detail,
                run_id: e.run_id,
            })
        })
        .collect();
    Ok(Digest {
        delivery_id: delivery.id,
        target: target.name.clone(),
        test: delivery.test,
        total: delivery.events.max(0) as u64,
        link: link(state, message::page_for(&counts)),
        counts,
        events,
    })
}

/// `page` on `PublicUrl`, when it is set: a message read elsewhere needs a full address.
fn link(state: &AppState, page: &str) -> Option<String> {
    state
        .config()
        .public_url
        .as_ref()
        .map(|u| format!("{}{page}", u.origin()))
}

/// Tries every due delivery once, at once. How many were tried.
pub async fn send_due(state: &AppState) -> Result<usize, AppError> {
    let now = OffsetDateTime::now_utc();
    let due = alert_delivery::Entity::find()
        .filter(alert_delivery::Column::Status.eq("pending"))
        .filter(alert_delivery::Column::Test.eq(false))
        .filter(alert_delivery::Column::NextAttemptAt.lte(now))
        .filter(
            alert_delivery::Column::ClaimedUntil
                .is_null()
                .or(alert_delivery::Column::ClaimedUntil.lt(now)),
        )
        .order_by_asc(alert_delivery::Column::Id)
        .limit(SENDS_PER_LOOK)
        .all(&state.db)
        .await?;
    let tried = due.len();
    let results = futures::future::join_all(due.into_iter().map(|d| attempt(state, d))).await;
    for r in results {
        if let Err(e) = r {
            tracing::warn!(cause = %e, "an alert delivery could not be recorded");
        }
    }
    Ok(tried)
}

/// One try of `delivery`, unless another instance took it first.
async fn attempt(state: &AppState, delivery: alert_delivery::Model) -> Result<(), AppError> {
    let db = &state.db;
    let now = OffsetDateTime::now_utc();
    let tries = delivery.attempts + 1;
    let claimed = alert_delivery::Entity::update_many()
        .col_expr(alert_delivery::Column::Attempts, Expr::value(tries))
        .col_expr(
            alert_delivery::Column::LastAttemptAt,
            Expr::value(Some(now)),
        )
        .col_expr(
            alert_delivery::Column::ClaimedUntil,
            Expr::value(Some(now + CLAIM)),
        )
        .filter(alert_delivery::Column::Id.eq(delivery.id))
        .filter(alert_delivery::Column::Status.eq("pending"))
        .filter(alert_delivery::Column::Attempts.eq(delivery.attempts))
        .exec(db)
        .await?;
    if claimed.rows_affected != 1 {
        return Ok(());
    }
    let Some(target) = alert_target::Entity::find_by_id(delivery.target_id)
        .one(db)
        .await?
    else {
        return Ok(());
    };
    let content = digest(state, &delivery, &target).await?;
    let sent = send::send(&target, &content).await;
    let done = OffsetDateTime::now_utc();
    let txn = db::begin_write(db).await?;
    let mut update = alert_delivery::Entity::update_many()
        .col_expr(
            alert_delivery::Column::ClaimedUntil,
            Expr::value(Option::<OffsetDateTime>::None),
        )
        .filter(alert_delivery::Column::Id.eq(delivery.id))
        .filter(alert_delivery::Column::Status.eq("pending"))
        .filter(alert_delivery::Column::Attempts.eq(tries));
    let finished = match &sent {
        Ok(()) => {
            update = update
                .col_expr(alert_delivery::Column::Status, Expr::value("delivered"))
                .col_expr(alert_delivery::Column::DeliveredAt, Expr::value(Some(done)))
                .col_expr(
                    alert_delivery::Column::LastError,
                    Expr::value(Option::<String>::None),
                );
            true
        }
        Err(e) if tries >= MAX_ATTEMPTS => {
            tracing::warn!(target = %target.name, delivery = delivery.id, cause = %e, "an alert delivery was given up");
            update = update
                .col_expr(alert_delivery::Column::Status, Expr::value("failed"))
                .col_expr(
                    alert_delivery::Column::LastError,
                    Expr::value(Some(e.clone())),
                );
            true
        }
        Err(e) => {
            tracing::info!(target = %target.name, delivery = delivery.id, cause = %e, "an alert delivery failed; it is tried again");
            let wait = backoff(state.config().alert_retry, tries);
            update = update
                .col_expr(
                    alert_delivery::Column::NextAttemptAt,
                    Expr::value(done + wait),
                )
                .col_expr(
                    alert_delivery::Column::LastError,
                    Expr::value(Some(e.clone())),
                );
            false
        }
    };
    let recorded = update.exec(&txn).await?;
    if recorded.rows_affected != 1 {
        // The target was deleted meanwhile, taking its deliveries.
        txn.rollback().await?;
        return Ok(());
    }
    if finished {
        alert_pending::Entity::delete_many()
            .filter(alert_pending::Column::DeliveryId.eq(delivery.id))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// One look: hand out, gather, send.
pub async fn look(state: &AppState) -> Result<(), AppError> {
    dispatch(&state.db).await?;
    gather(&state.db).await?;
    send_due(state).await?;
    Ok(())
}

/// Delivers alerts while this instance holds the `alerts` lease, until `stop` resolves;
/// then lets the lease go, so another instance takes over at once.
pub async fn deliver_forever(state: AppState, stop: impl std::future::Future<Output = ()>) {
    let kept = lease::keep(state.db.clone(), LEASE, state.config().scheduler_lease);
    let held = kept.held.clone();
    tokio::select! {
        _ = deliver(&state, held) => {}
        _ = stop => {}
    }
    kept.release().await;
}

/// Looks every [`POLL`] while `held` says this instance holds the lease.
async fn deliver(state: &AppState, held: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::time::sleep(POLL).await;
        if !*held.borrow() {
            continue;
        }
        if let Err(e) = crate::server::background::in_background(look(state)).await {
            tracing::warn!(cause = %e, "cannot deliver alerts");
        }
    }
}

/// Sends a test message to target `id` now, and logs it in the target's deliveries (a
/// test is not tried again).
pub async fn send_test(caller: &Caller, id: i64) -> Result<alert_delivery::Model, AppError> {
    let db = &caller.state.db;
    let target = targets::get(db, id).await?;
    let now = OffsetDateTime::now_utc();
    let delivery = alert_delivery::ActiveModel {
        target_id: Set(target.id),
        created_at: Set(now),
        test: Set(true),
        events: Set(0),
        first_event_id: Set(None),
        last_event_id: Set(None),
        status: Set("pending".into()),
        attempts: Set(1),
        next_attempt_at: Set(now),
        claimed_until: Set(Some(now + CLAIM)),
        last_attempt_at: Set(Some(now)),
        delivered_at: Set(None),
        last_error: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let content = Digest {
        delivery_id: delivery.id,
        target: target.name.clone(),
        test: true,
        total: 0,
        counts: Vec::new(),
        events: Vec::new(),
        link: link(&caller.state, "/alerts"),
    };
    let sent = send::send(&target, &content).await;
    let done = OffsetDateTime::now_utc();
    let mut row: alert_delivery::ActiveModel = delivery.into();
    row.claimed_until = Set(None);
    match &sent {
        Ok(()) => {
            row.status = Set("delivered".into());
            row.delivered_at = Set(Some(done));
        }
        Err(e) => {
            row.status = Set("failed".into());
            row.last_error = Set(Some(e.clone()));
        }
    }
    Ok(row.update(db).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_up_to_an_hour() {
        let base = Duration::from_secs(30);
        assert_eq!(backoff(base, 1), Duration::from_secs(30));
        assert_eq!(backoff(base, 2), Duration::from_secs(60));
        assert_eq!(backoff(base, 3), Duration::from_secs(120));
        assert_eq!(backoff(base, 8), BACKOFF_CAP);
        assert_eq!(backoff(base, i32::MAX), BACKOFF_CAP);
        assert_eq!(backoff(base, 0), base);
    }
}
