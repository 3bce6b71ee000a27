//! Leases: of several instances on one database, the one holding a lease does the job it
//! names (scheduling check cycles). A holder renews its lease well before it expires; when
//! the holder dies, the lease runs out and another instance takes it, so the job moves
//! within one lease period. Each change of hands bumps the lease's token.
//!
//! Every step is one conditional update, so two instances racing for a lease cannot both
//! win. Expiry is judged by each instance's clock: instances must keep their clocks in
//! step (NTP), as they must for the cycles' heartbeats.

use std::sync::OnceLock;
use std::time::Duration;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, Set, SqlErr,
};
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::server::entities::lease;

/// The lease of the instance that schedules check cycles.
pub const SCHEDULER: &str = "scheduler";

/// This process's name among instances: host, process id and a random tag, so a restarted
/// process with a reused pid is a different instance.
pub fn instance_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let tag: u32 = rand::random();
        format!("{}:{}:{tag:08x}", host(), std::process::id())
    })
}

/// This machine's host name.
pub fn host() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "host".into())
    })
}

/// Makes the lease's row if it has none yet.
async fn ensure(db: &impl ConnectionTrait, name: &str) -> Result<(), DbErr> {
    let made = lease::ActiveModel {
        name: Set(name.to_string()),
        holder: Set(String::new()),
        token: Set(0),
        expires_at: Set(OffsetDateTime::UNIX_EPOCH),
        taken_at: Set(None),
    }
    .insert(db)
    .await;
    match made {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Renews the lease if `me` holds it, or takes it if it has expired. Returns its token
/// while `me` holds it, `None` when another instance does.
pub async fn hold(
    db: &impl ConnectionTrait,
    name: &str,
    me: &str,
    ttl: Duration,
) -> Result<Option<i64>, DbErr> {
    let now = OffsetDateTime::now_utc();
    let until = now + ttl;
    let renewed = lease::Entity::update_many()
        .col_expr(lease::Column::ExpiresAt, Expr::value(until))
        .filter(lease::Column::Name.eq(name))
        .filter(lease::Column::Holder.eq(me))
        .filter(lease::Column::ExpiresAt.gte(now))
        .exec(db)
        .await?;
    if renewed.rows_affected == 0 {
        let taken = lease::Entity::update_many()
            .col_expr(lease::Column::Holder, Expr::value(me))
            .col_expr(lease::Column::ExpiresAt, Expr::value(until))
            .col_expr(lease::Column::Token, Expr::col(lease::Column::Token).add(1))
            .col_expr(lease::Column::TakenAt, Expr::value(Some(now)))
            .filter(lease::Column::Name.eq(name))
            .filter(lease::Column::ExpiresAt.lt(now))
            .exec(db)
            .await?;
        if taken.rows_affected == 0 {
            return Ok(None);
        }
    }
    Ok(lease::Entity::find_by_id(name.to_string())
        .one(db)
        .await?
        .filter(|l| l.holder == me)
        .map(|l| l.token))
}

/// Who holds a lease now, as this instance sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    HeldHere,
    HeldElsewhere,
    /// Nobody holds it (never taken, let go, or run out): an instance takes it within
    /// a third of a lease period.
    Free,
}

impl Standing {
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::HeldHere => "this_instance",
            Standing::HeldElsewhere => "another_instance",
            Standing::Free => "none",
        }
    }
}

/// Who holds the lease `name` now: one read.
pub async fn standing(db: &impl ConnectionTrait, name: &str) -> Result<Standing, DbErr> {
    let row = lease::Entity::find_by_id(name.to_string()).one(db).await?;
    Ok(match row {
        Some(row) if !row.holder.is_empty() && row.expires_at >= OffsetDateTime::now_utc() => {
            if row.holder == instance_id() {
                Standing::HeldHere
            } else {
                Standing::HeldElsewhere
            }
        }
        _ => Standing::Free,
    })
}

/// Lets the lease go at once (a clean shutdown), so another instance need not wait for it
/// to run out.
pub async fn give_up(db: &impl ConnectionTrait, name: &str, me: &str) -> Result<(), DbErr> {
    lease::Entity::update_many()
        .col_expr(
            lease::Column::ExpiresAt,
            Expr::value(OffsetDateTime::UNIX_EPOCH),
        )
        .filter(lease::Column::Name.eq(name))
        .filter(lease::Column::Holder.eq(me))
        .exec(db)
        .await?;
    Ok(())
}

/// A lease kept for this instance by a task of its own (see [`keep`]).
pub struct Kept {
    /// Whether this instance holds the lease now.
    pub held: watch::Receiver<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Kept {
    /// Stops keeping the lease and lets it go, once any renewal in flight has finished
    /// (a renewal after the release would take the lease back).
    pub async fn release(self) {
        drop(self.held);
        let _ = self.task.await;
    }
}

/// Keeps trying to hold the lease `name` for this instance, renewing it three times a
/// lease period, until the [`Kept`] is released or dropped; then lets it go.
pub fn keep(db: DatabaseConnection, name: &'static str, ttl: Duration) -> Kept {
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(crate::server::background::in_background(async move {
        let me = instance_id();
        let mut tick = tokio::time::interval(ttl / 3);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The row is made once; renewals are then one update each.
        let mut row_made = false;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                // Nobody wants the lease any more (a clean shutdown): another instance
                // can take it now instead of waiting for it to run out.
                _ = tx.closed() => break,
            }
            let held = async {
                if !row_made {
                    ensure(&db, name).await?;
                    row_made = true;
                }
                hold(&db, name, me, ttl).await
            }
            .await;
            let now_held = match held {
                Ok(token) => token.is_some(),
                Err(e) => {
                    // Unable to renew, this instance must assume the lease is lost.
                    tracing::warn!(lease = name, cause = %e, "cannot renew a lease");
                    false
                }
            };
            // Receivers wake only when the answer changes, not on every renewal.
            tx.send_if_modified(|held| {
                if *held == now_held {
                    return false;
                }
                tracing::info!(
                    lease = name,
                    instance = me,
                    held = now_held,
                    "lease changed hands"
                );
                *held = now_held;
                true
            });
        }
        if let Err(e) = give_up(&db, name, me).await {
            tracing::warn!(lease = name, cause = %e, "cannot let a lease go");
        }
    }));
    Kept { held: rx, task }
}
