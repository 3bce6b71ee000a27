//! Sharing a cycle among instances. Every instance working on a cycle joins it as a
//! *worker*: a `check_workers` row whose id is its fencing token. A worker claims the
//! addresses it will check in batches (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two
//! workers never wait on or take each other's rows), stamping its token on them; a verdict
//! is written only while the address still carries the token, and it marks the address
//! checked by the cycle, so no cycle checks an address twice.
//!
//! A worker is live while it renews its row (every second, for one lease period) and has
//! not left. The claims of a worker that died run out with it, and another worker of the
//! cycle (or the next cycle) takes the addresses over; should the dead worker come back
//! and write, its verdicts are refused because the addresses carry another token by then,
//! and it cannot renew a row that has run out.
//!
//! SQLite drops row-lock clauses; there every claim is a write transaction that holds the
//! database's write lock, and the conditional update below is what keeps claims apart.

use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, Stream, TryStreamExt};
use sea_orm::sea_query::{Expr, LockBehavior, LockType, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use time::OffsetDateTime;

use crate::error::AppError;
use crate::model::AddressStatus;
use crate::server::entities::{address, check_run, check_worker, network};
use crate::server::inventory::lifecycle::CHECKED;
use crate::server::{db, lease};

/// One instance's or agent's part in one cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Worker {
    /// The fencing token: the `check_workers` row's id.
    pub token: i64,
    pub run_id: i64,
    /// Whose addresses it claims.
    pub scope: Scope,
}

/// Whose addresses a worker claims: an instance those of the `local` site's networks, an
/// agent those of its own site's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Local,
    Site(i64),
}

impl Scope {
    /// The addresses of networks in this scope.
    fn condition(self) -> Condition {
        let site = match self {
            Scope::Local => network::Column::SiteId.is_null(),
            Scope::Site(id) => network::Column::SiteId.eq(id),
        };
        let networks = Query::select()
            .column(network::Column::Id)
            .from(network::Entity)
            .and_where(site)
            .to_owned();
        Condition::all().add(address::Column::NetworkId.in_subquery(networks))
    }
}

/// Joins the cycle `run_id` as a new worker of this instance, live for `ttl` unless
/// renewed.
pub async fn join(
    db: &impl ConnectionTrait,
    run_id: i64,
    ttl: Duration,
) -> Result<Worker, AppError> {
    join_as(
        db,
        run_id,
        ttl,
        lease::instance_id().to_string(),
        None,
        Scope::Local,
    )
    .await
}

/// Joins the cycle `run_id` as a new worker standing for the agent `agent_id` of the site
/// `site_id`, named `runner` on the pages.
pub async fn join_agent(
    db: &impl ConnectionTrait,
    run_id: i64,
    ttl: Duration,
    runner: String,
    agent_id: i64,
    site_id: i64,
) -> Result<Worker, AppError> {
    join_as(
        db,
        run_id,
        ttl,
        runner,
        Some(agent_id),
        Scope::Site(site_id),
    )
    .await
}

async fn join_as(
    db: &impl ConnectionTrait,
    run_id: i64,
    ttl: Duration,
    runner: String,
    agent_id: Option<i64>,
    scope: Scope,
) -> Result<Worker, AppError> {
    let now = OffsetDateTime::now_utc();
    let row = check_worker::ActiveModel {
        run_id: Set(run_id),
        runner: Set(runner),
        joined_at: Set(now),
        expires_at: Set(now + ttl),
        left_at: Set(None),
        done: Set(0),
        agent_id: Set(agent_id),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(Worker {
        token: row.id,
        run_id,
        scope,
    })
}

/// The worker whose token is `token`, if it stands for the agent `agent_id`.
pub async fn of_agent(
    db: &impl ConnectionTrait,
    token: i64,
    agent_id: i64,
    site_id: i64,
) -> Result<Option<Worker>, AppError> {
    Ok(check_worker::Entity::find_by_id(token)
        .filter(check_worker::Column::AgentId.eq(agent_id))
        .one(db)
        .await?
        .map(|row| Worker {
            token: row.id,
            run_id: row.run_id,
            scope: Scope::Site(site_id),
        }))
}

/// How many addresses the worker holds now.
pub async fn holding(db: &impl ConnectionTrait, worker: &Worker) -> Result<u64, AppError> {
    Ok(address::Entity::find()
        .filter(address::Column::Claim.eq(worker.token))
        .count(db)
        .await?)
}

/// Whether the cycle `run_id` has an address of the site `site_id` that a new worker
/// could claim now (not judged yet, held by no live worker): an agent joins the cycle
/// only then, rather than joining and leaving again while others finish.
pub async fn claimable_in_site(
    db: &impl ConnectionTrait,
    run_id: i64,
    site_id: i64,
) -> Result<bool, AppError> {
    site_has(db, site_id, claimable(run_id, OffsetDateTime::now_utc())).await
}

/// Whether the cycle `run_id` has yet to judge an address of the site `site_id`, claimed
/// or not.
pub async fn pending_in_site(
    db: &impl ConnectionTrait,
    run_id: i64,
    site_id: i64,
) -> Result<bool, AppError> {
    site_has(db, site_id, unjudged(run_id)).await
}

/// Whether an address of the site `site_id` that a cycle checks meets `which`. Asked
/// every second while a site's agents work, so it stops at the first one found.
async fn site_has(
    db: &impl ConnectionTrait,
    site_id: i64,
    which: Condition,
) -> Result<bool, AppError> {
    Ok(address::Entity::find()
        .select_only()
        .column(address::Column::Id)
        .filter(address::Column::Status.is_in(CHECKED))
        .filter(Scope::Site(site_id).condition())
        .filter(which)
        .into_tuple::<i64>()
        .one(db)
        .await?
        .is_some())
}

/// Keeps the worker live for another `ttl`. False once it has run out or left: its claims
/// may belong to others by now, so it must stop claiming.
pub async fn renew(
    db: &impl ConnectionTrait,
    worker: &Worker,
    ttl: Duration,
) -> Result<bool, AppError> {
    let now = OffsetDateTime::now_utc();
    let renewed = check_worker::Entity::update_many()
        .col_expr(check_worker::Column::ExpiresAt, Expr::value(now + ttl))
        .filter(check_worker::Column::Id.eq(worker.token))
        .filter(check_worker::Column::LeftAt.is_null())
        .filter(check_worker::Column::ExpiresAt.gte(now))
        .exec(db)
        .await?;
    Ok(renewed.rows_affected == 1)
}

/// Marks the workers that `which` picks and that are still at work as gone: none of them
/// can renew, and the addresses they hold are free for others to claim.
async fn mark_left(db: &impl ConnectionTrait, which: Condition) -> Result<(), AppError> {
    check_worker::Entity::update_many()
        .col_expr(
            check_worker::Column::LeftAt,
            Expr::value(OffsetDateTime::now_utc()),
        )
        .filter(check_worker::Column::LeftAt.is_null())
        .filter(which)
        .exec(db)
        .await?;
    Ok(())
}

/// Ends the worker's part: the addresses it still holds (none, unless it stopped early)
/// are free for others to claim at once.
pub async fn leave(db: &impl ConnectionTrait, worker: &Worker) -> Result<(), AppError> {
    mark_left(
        db,
        Condition::all().add(check_worker::Column::Id.eq(worker.token)),
    )
    .await
}

/// Marks every worker standing for the agent `agent_id` as gone (its token was revoked).
pub async fn leave_agent(db: &impl ConnectionTrait, agent_id: i64) -> Result<(), AppError> {
    mark_left(
        db,
        Condition::all().add(check_worker::Column::AgentId.eq(agent_id)),
    )
    .await
}

/// Marks every worker of a finished cycle as gone, the dead ones included, so none can
/// renew and the pages show none as working.
pub async fn close(db: &impl ConnectionTrait, run_id: i64) -> Result<(), AppError> {
    mark_left(
        db,
        Condition::all().add(check_worker::Column::RunId.eq(run_id)),
    )
    .await
}

/// Marks the workers of every ended cycle as gone (those of cycles closed as interrupted,
/// whose owner never came to close them).
pub async fn close_ended(db: &impl ConnectionTrait) -> Result<(), AppError> {
    let ended = Query::select()
        .column(check_run::Column::Id)
        .from(check_run::Entity)
        .and_where(check_run::Column::FinishedAt.is_not_null())
        .to_owned();
    mark_left(
        db,
        Condition::all().add(check_worker::Column::RunId.in_subquery(ended)),
    )
    .await
}

/// The workers of the cycle `run_id` that are live at `now`.
fn live_workers(run_id: i64, now: OffsetDateTime) -> SelectStatement {
    Query::select()
        .column(check_worker::Column::Id)
        .from(check_worker::Entity)
        .and_where(check_worker::Column::RunId.eq(run_id))
        .and_where(check_worker::Column::LeftAt.is_null())
        .and_where(check_worker::Column::ExpiresAt.gte(now))
        .to_owned()
}

/// How many workers of the cycle other than `worker` are live now.
pub async fn others_live(db: &impl ConnectionTrait, worker: &Worker) -> Result<u64, AppError> {
    Ok(check_worker::Entity::find()
        .filter(check_worker::Column::RunId.eq(worker.run_id))
        .filter(check_worker::Column::Id.ne(worker.token))
        .filter(check_worker::Column::LeftAt.is_null())
        .filter(check_worker::Column::ExpiresAt.gte(OffsetDateTime::now_utc()))
        .count(db)
        .await?)
}

/// Addresses the cycle `run_id` may claim at `now`: not judged by it yet, and held by no
/// live worker of it. A claim of another cycle's worker does not count: that cycle has
/// ended, and its worker's verdicts will be refused.
fn claimable(run_id: i64, now: OffsetDateTime) -> Condition {
    Condition::all().add(unjudged(run_id)).add(
        Condition::any()
            .add(address::Column::Claim.is_null())
            .add(address::Column::Claim.not_in_subquery(live_workers(run_id, now))),
    )
}

/// Addresses the cycle `run_id` has not judged yet.
fn unjudged(run_id: i64) -> Condition {
    Condition::any()
        .add(address::Column::CheckedRun.is_null())
        .add(address::Column::CheckedRun.ne(run_id))
}

/// Claims up to `n` addresses in `status` after the address `after` (bytes), in address
/// order, for `worker`; answers the rows as they were before the claim. Empty when there
/// is nothing more to claim there, or the cycle has ended.
pub async fn claim_batch(
    db: &DatabaseConnection,
    worker: &Worker,
    status: AddressStatus,
    after: Option<&[u8]>,
    n: u64,
) -> Result<Vec<address::Model>, AppError> {
    let txn = db::begin_write(db).await?;
    let open = check_run::Entity::find_by_id(worker.run_id)
        .filter(check_run::Column::FinishedAt.is_null())
        .count(&txn)
        .await?;
    if open == 0 {
        txn.commit().await?;
        return Ok(Vec::new());
    }
    let now = OffsetDateTime::now_utc();
    let mut wanted = address::Entity::find()
        .filter(address::Column::Status.eq(status))
        .filter(worker.scope.condition())
        .filter(claimable(worker.run_id, now));
    if let Some(after) = after {
        wanted = wanted.filter(address::Column::Ip.gt(after.to_vec()));
    }
    // The rows stay locked until the claim commits; another worker's claim skips them
    // rather than waiting, and takes the next ones.
    let rows = wanted
        .order_by_asc(address::Column::Ip)
        .limit(n)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .all(&txn)
        .await?;
    if rows.is_empty() {
        txn.commit().await?;
        return Ok(rows);
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let claimed = address::Entity::update_many()
        .col_expr(address::Column::Claim, Expr::value(worker.token))
        .filter(address::Column::Id.is_in(ids.clone()))
        .filter(address::Column::Status.eq(status))
        .filter(claimable(worker.run_id, now))
        .exec(&txn)
        .await?;
    let rows = if claimed.rows_affected == rows.len() as u64 {
        rows
    } else {
        // Not every row read is still claimable: keep exactly the ones now carrying the
        // token.
        address::Entity::find()
            .filter(address::Column::Id.is_in(ids))
            .filter(address::Column::Claim.eq(worker.token))
            .order_by_asc(address::Column::Ip)
            .all(&txn)
            .await?
    };
    txn.commit().await?;
    Ok(rows)
}

/// Batches a sweep claims ahead of the checks: while the checks start on one batch, the
/// next is claimed already, so no check waits for a claim's transaction (and its turn
/// with the verdict writer). Bounded, so a worker holds few addresses it has not started
/// and a worker joining later still finds addresses to take.
const CLAIMED_AHEAD: usize = 1;

/// One sweep over every address the cycle checks, claiming `n` at a time ahead of the
/// stream's reader: each status in turn, in address order. An address claimed by a live
/// worker is passed over; one released behind the sweep waits for the next sweep.
///
/// `turns` is held for each claim's transaction: the worker's verdict writer holds it too,
/// so the two take turns instead of meeting on SQLite's write lock, whose busy handler
/// sleeps in growing steps and would leave the database idle between them.
pub fn sweep(
    db: &DatabaseConnection,
    worker: Worker,
    n: u64,
    turns: Arc<tokio::sync::Mutex<()>>,
) -> impl Stream<Item = Result<address::Model, AppError>> + 'static {
    let (batches, claimed) = tokio::sync::mpsc::channel(CLAIMED_AHEAD);
    // On a task of its own: a claim holds the write lock (SQLite) or row locks until it
    // commits, and whoever reads this stream may stop polling it for a while (its queue
    // to the verdict writer full), which must not stall the claim's transaction and with
    // it the writer. The task ends when the stream is dropped; what it claimed and nobody
    // checked is free for others once the worker leaves.
    let claimer = tokio::spawn(claim_ahead(db.clone(), worker, n, turns, batches));
    let stop = AbortOnDrop(claimer);
    stream::unfold((claimed, stop), |(mut claimed, stop)| async move {
        let batch = claimed.recv().await?;
        Some((batch, (claimed, stop)))
    })
    .map_ok(|rows| stream::iter(rows.into_iter().map(Ok)))
    .try_flatten()
}

/// Ends a task when its owner is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The claiming half of [`sweep`]: claims batch after batch, each status in turn, and
/// hands them over until everything is claimed, a claim fails, or nobody reads any more.
async fn claim_ahead(
    db: DatabaseConnection,
    worker: Worker,
    n: u64,
    turns: Arc<tokio::sync::Mutex<()>>,
    batches: tokio::sync::mpsc::Sender<Result<Vec<address::Model>, AppError>>,
) {
    for status in CHECKED {
        let mut after: Option<Vec<u8>> = None;
        loop {
            let claimed = {
                let _turn = turns.lock().await;
                claim_batch(&db, &worker, status, after.as_deref(), n).await
            };
            let rows = match claimed {
                Ok(rows) => rows,
                Err(e) => {
                    let _ = batches.send(Err(e)).await;
                    return;
                }
            };
            let Some(last) = rows.last() else { break };
            after = Some(last.ip.clone());
            if batches.send(Ok(rows)).await.is_err() {
                return;
            }
        }
    }
}

/// Who holds the address `id` now, when a verdict for it was refused: the same worker
/// (the address changed status while it was checked) or another.
pub async fn holder(db: &impl ConnectionTrait, id: i64) -> Result<Option<i64>, AppError> {
    Ok(address::Entity::find_by_id(id)
        .select_only()
        .column(address::Column::Claim)
        .into_tuple::<Option<i64>>()
        .one(db)
        .await?
        .flatten())
}

/// Counts a batch of verdicts to the worker, in the transaction that writes them.
pub async fn count_done(
    db: &impl ConnectionTrait,
    worker: &Worker,
    done: i64,
) -> Result<(), AppError> {
    check_worker::Entity::update_many()
        .col_expr(
            check_worker::Column::Done,
            Expr::col(check_worker::Column::Done).add(done),
        )
        .filter(check_worker::Column::Id.eq(worker.token))
        .exec(db)
        .await?;
    Ok(())
}

/// The workers of a cycle, in the order they joined.
pub async fn of_run(
    db: &impl ConnectionTrait,
    run_id: i64,
) -> Result<Vec<check_worker::Model>, AppError> {
    Ok(check_worker::Entity::find()
        .filter(check_worker::Column::RunId.eq(run_id))
        .order_by_asc(check_worker::Column::Id)
        .all(db)
        .await?)
}
