//! Allocation: the lowest free address of a network, or a requested one, checked right
//! before it is handed out unless `DisableIpAllocationChecking` is set.

use std::net::IpAddr;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{apply, parse, Holder};
use crate::error::AppError;
use crate::model::AddressStatus;
use crate::server::auth::guard::Caller;
use crate::server::check::vet::{vet, Vetted};
use crate::server::db;
use crate::server::entities::{address, network};
use crate::server::inventory::idempotency::{self, Claim};
use crate::server::inventory::ip::{self, Cidr};
use crate::server::inventory::lifecycle::Action;
use crate::server::inventory::networks;

/// Rows read per step when looking for a gap in a sparse network.
const GAP_SCAN_BATCH: u64 = 500;

/// The lowest allocatable free address of a network, without walking the network: one
/// index seek when every address has a row; in a sparse network, a walk over the rows
/// from the start that stops at the first gap or free row.
pub async fn next_free(
    txn: &impl ConnectionTrait,
    net: &network::Model,
    cidr: &Cidr,
    from: u128,
) -> Result<Option<u128>, AppError> {
    let (first, last) = cidr.allocatable();
    let first = first.max(from);
    if first > last {
        return Ok(None);
    }
    if net.materialized {
        let row = address::Entity::find()
            .filter(address::Column::NetworkId.eq(net.id))
            .filter(address::Column::Status.eq(AddressStatus::Free))
            .filter(address::Column::Ip.gte(first.to_be_bytes().to_vec()))
            .order_by_asc(address::Column::Ip)
            .one(txn)
            .await?;
        return Ok(row.and_then(|r| ip::from_bytes(&r.ip)).map(ip::to_u128));
    }
    let mut candidate = first;
    loop {
        let rows = address::Entity::find()
            .filter(address::Column::NetworkId.eq(net.id))
            .filter(address::Column::Ip.gte(candidate.to_be_bytes().to_vec()))
            .order_by_asc(address::Column::Ip)
            .limit(GAP_SCAN_BATCH)
            .all(txn)
            .await?;
        let fetched = rows.len() as u64;
        for row in rows {
            let n = ip::from_bytes(&row.ip)
                .map(ip::to_u128)
                .unwrap_or(candidate);
            if n > candidate {
                // Nothing is recorded for `candidate`: it is free.
                return Ok((candidate <= last).then_some(candidate));
            }
            if row.status == AddressStatus::Free {
                return Ok((n <= last).then_some(n));
            }
            if candidate == last {
                return Ok(None);
            }
            candidate += 1;
        }
        if fetched < GAP_SCAN_BATCH {
            return Ok((candidate <= last).then_some(candidate));
        }
    }
}

/// Candidates that may fail the check before allocation before the allocation gives up.
pub const ALLOCATION_CANDIDATES: usize = 8;
/// Candidates that may be taken by concurrent allocations meanwhile.
const LOST_RACES: usize = 200;

/// Allocates `address`, or the lowest free address of the network when none is given.
/// Unless `DisableIpAllocationChecking` is set, candidates are checked first (see
/// [`checked_allocation`]); one that fails gets its problem status, up to
/// [`ALLOCATION_CANDIDATES`] of them, and the whole takes at most `AllocationTimeout`.
/// Under an idempotency `claim`, the address is recorded against the key in the same
/// transaction that takes it.
pub async fn allocate(
    actor: &Caller,
    network_id: i64,
    address: Option<&str>,
    holder: Holder,
    claim: Option<&Claim>,
) -> Result<address::Model, AppError> {
    let holder = holder.validated()?;
    let requested = address
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(parse)
        .transpose()?;
    let state = &actor.state;
    let net = networks::find(&state.db, network_id).await?;
    let cidr = networks::cidr_of(&net)?;
    let requested = match requested {
        Some(ip) => Some(requested_in(&cidr, ip)?),
        None => None,
    };
    if state.config().disable_ip_allocation_checking {
        // No check to wait for: pick and take the address under one lock.
        let txn = db::begin_write(&state.db).await?;
        let net = networks::lock(&txn, network_id).await?;
        let n = match requested {
            Some(n) => n,
            None => next_free(&txn, &net, &cidr, 0)
                .await?
                .ok_or_else(|| no_free(&cidr, &[]))?,
        };
        let done = apply(&txn, actor, &net, n, Action::Allocate, "", holder)
            .await?
            .map_err(|not| not.into_error(n))?;
        if let Some(claim) = claim {
            idempotency::finish(&txn, claim, &ip::show(&done.ip)).await?;
        }
        txn.commit().await?;
        return Ok(done);
    }
    let limit = state.config().allocation_timeout;
    let checked = checked_allocation(actor, &net, &cidr, requested, holder, claim);
    match tokio::time::timeout(limit, checked).await {
        Ok(done) => done,
        // Dropping the checks kills their scripts and rolls back what they were writing.
        Err(_) => Err(AppError::CheckTimedOut(format!(
            "The checks before allocation in {cidr} took longer than {} (AllocationTimeout); nothing was allocated. Try again, or look at the checker's speed.",
            humantime::format_duration(limit)
        ))),
    }
}

/// The allocation with checks: up to [`ALLOCATION_CANDIDATES`] of the lowest free
/// addresses are checked at once, and the lowest that passes is taken, so an allocation
/// costs about one check however many of them fail. The checks take seconds, so no lock
/// is held during them; taking the address is a conditional update that fails if another
/// allocation took it meanwhile, and the next candidate that passed is taken instead.
async fn checked_allocation(
    actor: &Caller,
    net: &network::Model,
    cidr: &Cidr,
    requested: Option<u128>,
    holder: Holder,
    claim: Option<&Claim>,
) -> Result<address::Model, AppError> {
    let state = &actor.state;
    let mut from = 0u128;
    let mut failed: Vec<String> = Vec::new();
    let mut races = 0;
    while failed.len() < ALLOCATION_CANDIDATES {
        let candidates = match requested {
            Some(n) => vec![n],
            None => {
                let mut found = Vec::new();
                let mut at = from;
                while found.len() < ALLOCATION_CANDIDATES - failed.len() {
                    match next_free(&state.db, net, cidr, at).await? {
                        Some(n) => {
                            found.push(n);
                            at = n.saturating_add(1);
                        }
                        None => break,
                    }
                }
                found
            }
        };
        let Some(&last) = candidates.last() else {
            return Err(no_free(cidr, &failed));
        };
        from = last.saturating_add(1);
        let verdicts =
            futures::future::join_all(candidates.iter().map(|&n| vet(state, net, n))).await;
        let mut passed = Vec::new();
        for (&n, verdict) in candidates.iter().zip(verdicts) {
            match verdict? {
                Vetted::Passed => passed.push(n),
                Vetted::Failed(why) | Vetted::Inconclusive(why) => {
                    let shown = ip::from_u128(n);
                    if requested.is_some() {
                        return Err(AppError::CheckFailed(format!(
                            "{shown} did not pass the check before allocation: {why}"
                        )));
                    }
                    failed.push(format!("{shown}: {why}"));
                }
            }
        }
        for n in passed {
            let txn = db::begin_write(&state.db).await?;
            let locked = networks::lock(&txn, net.id).await?;
            let taken = apply(
                &txn,
                actor,
                &locked,
                n,
                Action::Allocate,
                "",
                holder.clone(),
            )
            .await?;
            match taken {
                Ok(done) => {
                    if let Some(claim) = claim {
                        idempotency::finish(&txn, claim, &ip::show(&done.ip)).await?;
                    }
                    txn.commit().await?;
                    return Ok(done);
                }
                // Another allocation took the candidate while it was checked: the next.
                Err(_) if requested.is_none() && races < LOST_RACES => races += 1,
                Err(not) => return Err(not.into_error(n)),
            }
        }
    }
    Err(AppError::CheckFailed(format!(
        "No address of {cidr} passed the check before allocation after {ALLOCATION_CANDIDATES} tries: {}",
        failed.join("; ")
    )))
}

fn no_free(cidr: &Cidr, failed: &[String]) -> AppError {
    if failed.is_empty() {
        AppError::NetworkFull(format!("The network {cidr} has no free address."))
    } else {
        AppError::CheckFailed(format!(
            "The network {cidr} has no free address that passed the check before allocation ({}).",
            failed.join("; ")
        ))
    }
}

/// A requested address, if the network may hand it out. Refused as a conflict with the
/// network, not as bad input: the same address is fine in the network that holds it.
fn requested_in(cidr: &Cidr, ip: IpAddr) -> Result<u128, AppError> {
    if !cidr.contains(ip) {
        return Err(AppError::Conflict(format!(
            "{ip} is not in the network {cidr}."
        )));
    }
    let n = ip::to_u128(ip);
    let (first, last) = cidr.allocatable();
    if n < first || n > last {
        let which = if n < first {
            "own address"
        } else {
            "broadcast address"
        };
        return Err(AppError::Conflict(format!(
            "{ip} is the network's {which} and is never allocated."
        )));
    }
    Ok(n)
}
