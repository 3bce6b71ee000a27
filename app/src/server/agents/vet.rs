//! The check right before allocation of an address in a site's network, made by that
//! site's agents: the request goes through the database (`agent_probes`), since the
//! allocation and the agent may be served by different instances; a live agent picks it
//! up on its next look (within half a second while it waits for work) and answers. No
//! live agent, or none answering in time: the address is not handed out.

use std::net::IpAddr;
use std::time::Duration;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use time::OffsetDateTime;

use crate::error::AppError;
use crate::server::agents::registry;
use crate::server::agents::wire;
use crate::server::check::probe::Availability;
use crate::server::config::{Config, ProbeMethods};
use crate::server::entities::{agent, agent_probe};
use crate::server::inventory::sites;
use crate::server::{db, AppState};

/// How often a waiting allocation looks for the agent's answer.
const LOOK_EVERY: Duration = Duration::from_millis(100);
/// The longest an allocation waits for a site's agents (see [`wait`]).
const WAIT: Duration = Duration::from_secs(10);
/// An agent's claim on a request it has not answered in this long passes to another.
const CLAIM_FOR: Duration = Duration::from_secs(5);

/// How long an allocation waits for a site's agents: ten seconds, at most half
/// `AllocationTimeout`, so the allocation can still try other candidates.
pub fn wait(config: &Config) -> Duration {
    WAIT.min(config.allocation_timeout / 2)
}

/// What the site's agents answered about `addr`, with `probes` (`None`: their own
/// methods): each method's answer, or `None` when no agent answered within the wait.
/// Refused at once when the site has no live agent.
pub async fn ask(
    state: &AppState,
    site_id: i64,
    addr: IpAddr,
    probes: Option<&ProbeMethods>,
) -> Result<Option<Vec<(&'static str, Availability)>>, AppError> {
    let agents = registry::of_site(&state.db, site_id).await?;
    let now = OffsetDateTime::now_utc();
    if !agents.iter().any(|a| registry::live_at(a, now)) {
        let site = sites::find(&state.db, site_id).await?;
        return Err(AppError::CheckFailed(format!(
            "{addr} cannot be checked before allocation: {}. Nothing is allocated in its \
             networks until one connects.",
            registry::no_live_agent(&site, &agents)
        )));
    }
    let wait = wait(&state.config());
    // Requests of allocations that gave up long ago (their server stopped) go first.
    agent_probe::Entity::delete_many()
        .filter(agent_probe::Column::ExpiresAt.lt(now - Duration::from_secs(60)))
        .exec(&state.db)
        .await?;
    let request = agent_probe::ActiveModel {
        site_id: Set(site_id),
        ip: Set(addr.to_string()),
        probes: Set(probes.map(|m| m.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(" "))),
        requested_at: Set(now),
        expires_at: Set(now + wait),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    let answered = wait_for_answer(state, request.id, wait).await;
    agent_probe::Entity::delete_by_id(request.id)
        .exec(&state.db)
        .await?;
    let Some((text, by)) = answered? else {
        return Ok(None);
    };
    let answers: Vec<wire::MethodAnswer> = serde_json::from_str(&text).map_err(|e| {
        tracing::error!(request = request.id, cause = %e, "an agent's stored answer does not parse");
        AppError::Internal
    })?;
    let by = agents
        .iter()
        .find(|a| Some(a.id) == by)
        .map_or_else(|| "agent".to_string(), |a| format!("agent {}", a.name));
    Ok(Some(super::work::answers_of(&answers, &by)?))
}

/// The answers to request `id` and the agent that sent them, once there are some.
async fn wait_for_answer(
    state: &AppState,
    id: i64,
    wait: Duration,
) -> Result<Option<(String, Option<i64>)>, AppError> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let answered = agent_probe::Entity::find_by_id(id)
            .filter(agent_probe::Column::AnsweredAt.is_not_null())
            .one(&state.db)
            .await?
            .and_then(|r| r.answers.map(|a| (a, r.claimed_by)));
        if answered.is_some() {
            return Ok(answered);
        }
        if tokio::time::Instant::now() + LOOK_EVERY > deadline {
            return Ok(None);
        }
        tokio::time::sleep(LOOK_EVERY).await;
    }
}

/// Claims up to `max` waiting requests of the agent's site for it.
pub async fn claim(
    db: &(impl ConnectionTrait + sea_orm::TransactionTrait),
    agent: &agent::Model,
    max: u64,
) -> Result<Vec<wire::WorkItem>, AppError> {
    let now = OffsetDateTime::now_utc();
    let open = || {
        sea_orm::Condition::all()
            .add(agent_probe::Column::SiteId.eq(agent.site_id))
            .add(agent_probe::Column::AnsweredAt.is_null())
            .add(agent_probe::Column::ExpiresAt.gt(now))
            .add(
                sea_orm::Condition::any()
                    .add(agent_probe::Column::ClaimedBy.is_null())
                    .add(agent_probe::Column::ClaimedAt.lt(now - CLAIM_FOR)),
            )
    };
    // Asked on every look for work: the write lock only when there is something to take.
    let waiting = agent_probe::Entity::find()
        .select_only()
        .column(agent_probe::Column::Id)
        .filter(open())
        .into_tuple::<i64>()
        .one(db)
        .await?;
    if waiting.is_none() {
        return Ok(Vec::new());
    }
    let txn = db::begin_write(db).await?;
    let ids: Vec<i64> = agent_probe::Entity::find()
        .select_only()
        .column(agent_probe::Column::Id)
        .filter(open())
        .order_by_asc(agent_probe::Column::Id)
        .limit(max)
        .into_tuple()
        .all(&txn)
        .await?;
    if ids.is_empty() {
        txn.commit().await?;
        return Ok(Vec::new());
    }
    agent_probe::Entity::update_many()
        .col_expr(agent_probe::Column::ClaimedBy, Expr::value(agent.id))
        .col_expr(agent_probe::Column::ClaimedAt, Expr::value(now))
        .filter(agent_probe::Column::Id.is_in(ids.clone()))
        .filter(open())
        .exec(&txn)
        .await?;
    let rows = agent_probe::Entity::find()
        .filter(agent_probe::Column::Id.is_in(ids))
        .filter(agent_probe::Column::ClaimedBy.eq(agent.id))
        .filter(agent_probe::Column::ClaimedAt.eq(now))
        .all(&txn)
        .await?;
    txn.commit().await?;
    Ok(rows
        .into_iter()
        .map(|r| wire::WorkItem {
            id: r.id,
            ip: r.ip,
            probes: r
                .probes
                .map(|p| p.split_whitespace().map(str::to_string).collect()),
        })
        .collect())
}

/// Writes the agent's answers (checked by the caller) to requests it claimed; answers
/// how many were still wanted.
pub async fn answer(
    db: &impl ConnectionTrait,
    agent: &agent::Model,
    vets: &[wire::AddressResult],
) -> Result<u32, AppError> {
    let mut written = 0;
    for vet in vets {
        let text = serde_json::to_string(&vet.answers).map_err(|_| AppError::Internal)?;
        let done = agent_probe::Entity::update_many()
            .col_expr(agent_probe::Column::Answers, Expr::value(text))
            .col_expr(
                agent_probe::Column::AnsweredAt,
                Expr::value(OffsetDateTime::now_utc()),
            )
            .filter(agent_probe::Column::Id.eq(vet.id))
            .filter(agent_probe::Column::ClaimedBy.eq(agent.id))
            .filter(agent_probe::Column::AnsweredAt.is_null())
            .exec(db)
            .await?;
        written += done.rows_affected as u32;
    }
    Ok(written)
}
