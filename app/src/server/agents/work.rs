//! The server's half of the exchange with agents: hands a site's addresses to its agents
//! as claims of a check cycle, exactly as instances claim theirs ([`claim`]), and writes
//! what their probes found with the DNSBL half added, under the claim: a result for an
//! address the claim no longer holds is dropped, and one for a claim that lapsed is
//! refused whole.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use tokio::time::Instant;

use crate::error::AppError;
use crate::model::ProbeMethod;
use crate::server::agents::wire::{self, Outcome};
use crate::server::agents::{registry, vet};
use crate::server::check::claim;
use crate::server::check::cycle::{self, dead_after};
use crate::server::check::probe::Availability;
use crate::server::entities::{address, agent, check_run};
use crate::server::inventory::lifecycle::{Finding, CHECKED};
use crate::server::inventory::networks::Policies;
use crate::server::inventory::{ip, sites};
use crate::server::AppState;

/// Most addresses one request for work hands out, and most results one post carries: an
/// agent checking a /16 asks about thirty times, not a hundred and forty (each ask costs a
/// round trip and a claim's transaction).
pub const MAX_BATCH: u32 = 2000;
/// Largest body an agent may post: a full batch of results, every method answering at
/// length, fits.
pub const MAX_BODY: usize = 8 * 1024 * 1024;
/// Longest text of one method's answer an agent may send.
const DETAIL_MAX: usize = 500;
/// How often a waiting request for work looks again (a cycle may start on any instance).
const LOOK_EVERY: Duration = Duration::from_millis(500);
/// DNSBL halves made at once for one post of results.
const LISTINGS_AT_ONCE: usize = 64;

/// Who an agent is taken for, answered to its hello.
pub async fn hello(
    state: &AppState,
    agent: &agent::Model,
    hello: wire::Hello,
) -> Result<wire::Welcome, AppError> {
    if hello.version.is_empty() || hello.version.len() > 64 {
        return Err(AppError::BadRequest("version: 1 to 64 characters.".into()));
    }
    let mut methods = Vec::new();
    for word in &hello.methods {
        match ProbeMethod::parse(word) {
            Some(m) if !methods.contains(&m) => methods.push(m),
            Some(_) => {}
            None => {
                return Err(AppError::BadRequest(format!(
                    "methods: `{}` is not a probe method (icmp, tcp, arp).",
                    crate::server::limits::quoted_start(word)
                )))
            }
        }
    }
    let site = sites::find(&state.db, agent.site_id).await?;
    registry::hello(
        &state.db,
        agent.id,
        registry::Hello {
            version: hello.version,
            methods: methods
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            raw_sockets: hello.raw_sockets,
            script: hello.script,
        },
    )
    .await?;
    Ok(wire::Welcome {
        agent: agent.name.clone(),
        site: site.name,
        poll_wait_secs: registry::POLL_WAIT.as_secs(),
    })
}

/// Work for `agent`: up to `max` addresses of its site that the running cycle has yet to
/// judge, claimed for it. Waits up to `wait` (at most [`registry::POLL_WAIT`]) for some,
/// keeping the claim `held` (the one its last work came with) alive meanwhile.
///
/// A claim belongs to one run of the agent's process: a restarted agent holds none and
/// gets a claim of its own, while the claims of the one that died lapse and are taken
/// over (were the restarted one to take up the dead one's claim, the addresses that one
/// was probing would stay claimed and unjudged).
pub async fn take(
    state: &AppState,
    agent: &agent::Model,
    max: u32,
    wait: Duration,
    held: Option<i64>,
) -> Result<wire::Work, AppError> {
    if !(1..=MAX_BATCH).contains(&max) {
        return Err(AppError::BadRequest(format!(
            "max: 1 to {MAX_BATCH} addresses."
        )));
    }
    let deadline = Instant::now() + wait.min(registry::POLL_WAIT);
    let mut stopping = state.stopping.subscribe();
    loop {
        if let Some(work) = take_now(state, agent, max, held).await? {
            return Ok(work);
        }
        if Instant::now() + LOOK_EVERY > deadline || *stopping.borrow() {
            return Ok(wire::Work::default());
        }
        tokio::select! {
            _ = tokio::time::sleep(LOOK_EVERY) => {}
            // The server stops: the agent asks again once it is back.
            _ = stopping.wait_for(|stop| *stop) => return Ok(wire::Work::default()),
        }
        // A token revoked while its agent waits stops at once, as on its next request.
        if !still_live(state, agent.id).await? {
            return Err(AppError::Unauthenticated);
        }
    }
}

async fn still_live(state: &AppState, agent_id: i64) -> Result<bool, AppError> {
    Ok(agent::Entity::find_by_id(agent_id)
        .filter(agent::Column::RevokedAt.is_null())
        .one(&state.db)
        .await?
        .is_some())
}

/// One look for work: `None` when there is none now.
async fn take_now(
    state: &AppState,
    agent: &agent::Model,
    max: u32,
    held: Option<i64>,
) -> Result<Option<wire::Work>, AppError> {
    // An allocation waits for these: they go first, alone.
    let vets = vet::claim(&state.db, agent, u64::from(max)).await?;
    if !vets.is_empty() {
        return Ok(Some(wire::Work {
            vets,
            ..Default::default()
        }));
    }
    let Some(run) = check_run::Entity::find()
        .filter(check_run::Column::FinishedAt.is_null())
        .filter(check_run::Column::CancelledBy.is_null())
        .order_by_desc(check_run::Column::Id)
        .one(&state.db)
        .await?
    else {
        return Ok(None);
    };
    let ttl = dead_after(&state.config());
    let mine = match held {
        Some(token) => claim::of_agent(&state.db, token, agent.id, agent.site_id)
            .await?
            .filter(|w| w.run_id == run.id),
        None => None,
    };
    let renewed = match mine {
        Some(worker) => claim::renew(&state.db, &worker, ttl)
            .await?
            .then_some(worker),
        None => None,
    };
    let worker = match renewed {
        Some(worker) => worker,
        None => {
            if !claim::claimable_in_site(&state.db, run.id, agent.site_id).await? {
                return Ok(None);
            }
            let site = sites::find(&state.db, agent.site_id).await?;
            claim::join_agent(
                &state.db,
                run.id,
                ttl,
                format!("agent {} of site {}", agent.name, site.name),
                agent.id,
                agent.site_id,
            )
            .await?
        }
    };
    let mut rows = Vec::new();
    for status in CHECKED {
        let want = u64::from(max) - rows.len() as u64;
        if want == 0 {
            break;
        }
        rows.extend(claim::claim_batch(&state.db, &worker, status, None, want).await?);
    }
    if rows.is_empty() {
        // Nothing more to claim: a worker that holds nothing leaves, so the cycle's owner
        // need not wait for it; one still probing what it claimed stays.
        if claim::holding(&state.db, &worker).await? == 0 {
            claim::leave(&state.db, &worker).await?;
        }
        return Ok(None);
    }
    let policies = Policies::load(&state.db).await?;
    let addresses = rows
        .iter()
        .map(|row| wire::WorkItem {
            id: row.id,
            ip: ip::show(&row.ip),
            probes: policies
                .of(row.network_id)
                .probes
                .as_ref()
                .map(|m| m.iter().map(|m| m.as_str().to_string()).collect()),
        })
        .collect();
    Ok(Some(wire::Work {
        claim: Some(worker.token),
        run_id: Some(run.id),
        addresses,
        vets: Vec::new(),
    }))
}

/// Each method's answer about one address.
type Answers = Vec<(&'static str, Availability)>;

/// A method's name as the counters and verdicts spell it.
fn method_name(word: &str) -> Option<&'static str> {
    match word {
        "script" => Some("script"),
        other => ProbeMethod::parse(other).map(ProbeMethod::as_str),
    }
}

/// The answers of one address as the checker reads them; refused whole if any is
/// malformed.
/// `by` names who answered, in the evidence ("agent probe-1").
pub(crate) fn answers_of(answers: &[wire::MethodAnswer], by: &str) -> Result<Answers, AppError> {
    if answers.len() > 4 {
        return Err(AppError::BadRequest(
            "answers: at most four methods per address.".into(),
        ));
    }
    answers
        .iter()
        .map(|a| {
            let method = method_name(&a.method).ok_or_else(|| {
                AppError::BadRequest(format!(
                    "method: `{}` is not icmp, tcp, arp or script.",
                    crate::server::limits::quoted_start(&a.method)
                ))
            })?;
            if a.detail.chars().count() > DETAIL_MAX {
                return Err(AppError::BadRequest(format!(
                    "detail: at most {DETAIL_MAX} characters."
                )));
            }
            let said = |what: &str| format!("{what} ({by})");
            let answer = match a.outcome {
                Outcome::Free => Availability::Free,
                Outcome::InUse => Availability::InUse(said(&a.detail)),
                Outcome::Unknown => Availability::Unknown(said(&a.detail)),
            };
            Ok((method, answer))
        })
        .collect()
}

/// Writes what `agent`'s probes found for addresses of its claim, with the DNSBL half
/// added here. Refused whole when the claim is not this agent's (403) or has lapsed
/// (409: others may hold the addresses now).
pub async fn report(
    state: &AppState,
    agent: &agent::Model,
    results: wire::Results,
) -> Result<wire::Written, AppError> {
    if results.results.len() > MAX_BATCH as usize || results.vets.len() > MAX_BATCH as usize {
        return Err(AppError::BadRequest(format!(
            "results, vets: at most {MAX_BATCH} each per post."
        )));
    }
    let by = format!("agent {}", agent.name);
    // Everything is read before anything is written: a malformed post writes nothing.
    let mut answers = Vec::with_capacity(results.results.len());
    for result in &results.results {
        answers.push((result.id, answers_of(&result.answers, &by)?));
    }
    for vet in &results.vets {
        answers_of(&vet.answers, &by)?;
    }
    let vets_answered = vet::answer(&state.db, agent, &results.vets).await?;
    if results.results.is_empty() {
        return Ok(wire::Written {
            written: 0,
            dropped: 0,
            vets_answered,
        });
    }
    let Some(claim_token) = results.claim else {
        return Err(AppError::BadRequest(
            "claim: results need the claim their addresses were handed out with.".into(),
        ));
    };
    let Some(worker) = claim::of_agent(&state.db, claim_token, agent.id, agent.site_id).await?
    else {
        return Err(AppError::Forbidden);
    };
    if !claim::renew(&state.db, &worker, dead_after(&state.config())).await? {
        return Err(AppError::Conflict(format!(
            "Claim {} has lapsed; its addresses may be checked by others now. Nothing was \
             written.",
            worker.token
        )));
    }
    let ids: Vec<i64> = answers.iter().map(|(id, _)| *id).collect();
    let rows = address::Entity::find()
        .filter(address::Column::Id.is_in(ids))
        .filter(address::Column::Claim.eq(worker.token))
        .filter(address::Column::Status.is_in(CHECKED))
        .all(&state.db)
        .await?;
    let engine = state.checks.clone();
    let zones = engine.recent_zones(&state.db).await?;
    let policies = Arc::new(Policies::load(&state.db).await?);
    let checker = engine.checker();
    let mut by_id: std::collections::HashMap<i64, Answers> = answers.into_iter().collect();
    let pairs: Vec<(address::Model, Answers)> = rows
        .into_iter()
        .filter_map(|row| {
            let found = by_id.remove(&row.id)?;
            Some((row, found))
        })
        .collect();
    // On tasks of their own, at most LISTINGS_AT_ONCE at a time: each waits mostly on DNS.
    let slots = Arc::new(tokio::sync::Semaphore::new(LISTINGS_AT_ONCE));
    let mut tasks = tokio::task::JoinSet::new();
    for (row, found) in pairs {
        let (checker, zones, policies, slots) = (
            checker.clone(),
            zones.clone(),
            policies.clone(),
            slots.clone(),
        );
        tasks.spawn(async move {
            let _slot = slots.acquire_owned().await;
            let finding = match ip::from_bytes(&row.ip) {
                Some(addr) => {
                    let policy = policies.of(row.network_id);
                    checker.judge_answers(addr, &zones, &policy, found).await
                }
                None => Finding::Inconclusive("the stored address does not parse".into()),
            };
            (row, finding)
        });
    }
    let mut judged: Vec<(address::Model, Finding)> = Vec::with_capacity(tasks.len());
    while let Some(done) = tasks.join_next().await {
        judged.push(done.map_err(|e| {
            tracing::error!(cause = %e, "judging an agent's result failed");
            AppError::Internal
        })?);
    }
    let dropped = results.results.len() - judged.len();
    if !judged.is_empty() {
        cycle::write_batch(state, &worker, &judged).await?;
    }
    Ok(wire::Written {
        written: judged.len() as u32,
        dropped: dropped as u32,
        vets_answered,
    })
}
