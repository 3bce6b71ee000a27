//! Address operations: allocate, release, reserve, unreserve, force-free. Each is one
//! transaction that locks the network, makes one conditional update (`… WHERE status =
//! <expected>`), moves the network's counts and writes the history row; a lost race is
//! reported, never overwritten.

use std::net::IpAddr;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, Set, SqlErr,
};
use time::OffsetDateTime;

use crate::server::admin::audit;
use crate::server::auth::guard::Caller;
use crate::server::check::verdict::Vetted;
use crate::server::entities::{address, address_event, network};
use crate::server::inventory::idempotency::{self, Claim};
use crate::server::inventory::ip::{self, Cidr};
use crate::server::inventory::lifecycle::{transition, Action};
use crate::server::inventory::networks;
use crate::server::time_fmt::show;
use crate::error::AppError;
use crate::model::{AddressStatus, AddressView};

/// Rows read per step when looking for a gap in a sparse network.
const GAP_SCAN_BATCH: u64 = 500;

/// What an allocation records about its holder.
#[derive(Clone, Debug, Default)]
pub struct Holder {
    pub owner: String,
    pub hostname: String,
    pub note: String,
}

impl Holder {
    pub(crate) fn validated(self) -> Result<Holder, AppError> {
        let holder = Holder {
            owner: self.owner.trim().to_string(),
            hostname: self.hostname.trim().to_string(),
            note: self.note.trim().to_string(),
        };
        match holder.fault() {
            Some((_, message)) => Err(AppError::BadRequest(message)),
            None => Ok(holder),
        }
    }

    /// The first field that may not be stored as it is, and why.
    pub fn fault(&self) -> Option<(&'static str, String)> {
        let (owner, hostname, note) = (self.owner.trim(), self.hostname.trim(), self.note.trim());
        if owner.chars().count() > 200 {
            return Some(("owner", "The owner may have at most 200 characters.".into()));
        }
        let host_ok = hostname.len() <= 253
            && hostname.split('.').all(|label| {
                label.len() <= 63
                    && label
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            });
        if !hostname.is_empty()
            && (!host_ok || hostname.starts_with('.') || hostname.contains(".."))
        {
            return Some(("hostname", format!("`{hostname}` is not a host name.")));
        }
        if note.chars().count() > 2000 {
            return Some(("note", "The note may have at most 2000 characters.".into()));
        }
        None
    }
}

pub fn view(row: address::Model) -> AddressView {
    AddressView {
        address: ip::show(&row.ip),
        network_id: row.network_id,
        status: row.status,
        owner: row.owner,
        hostname: row.hostname,
        note: row.note,
        status_changed_at: show(row.status_changed_at),
        last_checked_at: row.last_checked_at.map(show),
        problem: row.problem,
        problem_since: row.problem_since.map(show),
    }
}

pub(crate) fn parse(address: &str) -> Result<IpAddr, AppError> {
    ip::parse_address(address).map_err(|e| AppError::BadRequest(e.to_string()))
}

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

/// Applies `action` to the address `n` of `net` inside `txn`, which must hold the
/// network's lock. Returns the address after the change.
async fn apply(
    txn: &DatabaseTransaction,
    actor: &Caller,
    net: &network::Model,
    n: u128,
    action: Action,
    reason: &str,
    holder: Holder,
) -> Result<address::Model, AppError> {
    let bytes = n.to_be_bytes().to_vec();
    let shown = ip::from_u128(n).to_string();
    let row = find_row(txn, n).await?;
    let from = row.as_ref().map_or(AddressStatus::Free, |r| r.status);
    let to = transition(action, from)
        .map_err(|refused| AppError::Conflict(format!("{shown}: {refused}")))?;
    let now = OffsetDateTime::now_utc();
    // A free address keeps nothing of its last holder; history keeps who had it.
    let holder = if to == AddressStatus::Free {
        Holder::default()
    } else {
        holder
    };
    let changed_meanwhile = || {
        AppError::Conflict(format!(
            "Address {shown} changed meanwhile; reload and try again."
        ))
    };
    let id = match row {
        Some(r) => {
            let mut update = address::Entity::update_many()
                .col_expr(address::Column::Status, Expr::value(to))
                .col_expr(address::Column::StatusChangedAt, Expr::value(now))
                .filter(address::Column::Id.eq(r.id))
                .filter(address::Column::Status.eq(from));
            if matches!(action, Action::Allocate | Action::Reserve) || to == AddressStatus::Free {
                update = update
                    .col_expr(address::Column::Owner, Expr::value(holder.owner.clone()))
                    .col_expr(
                        address::Column::Hostname,
                        Expr::value(holder.hostname.clone()),
                    )
                    .col_expr(address::Column::Note, Expr::value(holder.note.clone()));
            }
            if to == AddressStatus::Free {
                update = update
                    .col_expr(
                        address::Column::Problem,
                        Expr::value(Option::<String>::None),
                    )
                    .col_expr(
                        address::Column::ProblemSince,
                        Expr::value(Option::<OffsetDateTime>::None),
                    )
                    .col_expr(
                        address::Column::ProblemZone,
                        Expr::value(Option::<String>::None),
                    )
                    .col_expr(address::Column::FailedChecks, Expr::value(0i64))
                    .col_expr(
                        address::Column::LastCheckError,
                        Expr::value(Option::<String>::None),
                    );
            }
            if update.exec(txn).await?.rows_affected != 1 {
                return Err(changed_meanwhile());
            }
            r.id
        }
        None => {
            let inserted = address::ActiveModel {
                network_id: Set(net.id),
                ip: Set(bytes),
                status: Set(to),
                owner: Set(holder.owner.clone()),
                hostname: Set(holder.hostname.clone()),
                note: Set(holder.note.clone()),
                status_changed_at: Set(now),
                ..Default::default()
            }
            .insert(txn)
            .await;
            match inserted {
                Ok(r) => r.id,
                Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                    return Err(changed_meanwhile())
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    networks::recount(txn, net.id, from, to).await?;
    address_event::ActiveModel {
        address_id: Set(id),
        at: Set(now),
        actor_id: Set(Some(actor.user.id)),
        actor_name: Set(actor.user.name.clone()),
        from_status: Set(from),
        to_status: Set(to),
        reason: Set(reason.to_string()),
        evidence: Set(None),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    if action == Action::ForceFree {
        audit::record(
            txn,
            actor,
            "address.force_free",
            &shown,
            Some(from.as_str().into()),
            Some(format!("free: {reason}")),
        )
        .await?;
    }
    let after = address::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or(AppError::Internal)?;
    Ok(after)
}

/// The row of address `n`, if it has one.
async fn find_row(txn: &impl ConnectionTrait, n: u128) -> Result<Option<address::Model>, AppError> {
    Ok(address::Entity::find()
        .filter(address::Column::Ip.eq(n.to_be_bytes().to_vec()))
        .one(txn)
        .await?)
}

/// Candidates that may fail the check before allocation before the allocation gives up.
pub const ALLOCATION_CANDIDATES: usize = 8;
/// Candidates that may be taken by concurrent allocations meanwhile.
const LOST_RACES: usize = 200;

/// Allocates `address`, or the lowest free address of the network when none is given.
/// Unless `DisableIpAllocationChecking` is set, the candidate is checked first; one that
/// fails gets its problem status and the next is tried, up to [`ALLOCATION_CANDIDATES`].
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
        let txn = crate::server::db::begin_write(&state.db).await?;
        let net = networks::lock(&txn, network_id).await?;
        let n = match requested {
            Some(n) => n,
            None => next_free(&txn, &net, &cidr, 0)
                .await?
                .ok_or_else(|| no_free(&cidr, &[]))?,
        };
        let done = apply(&txn, actor, &net, n, Action::Allocate, "", holder).await?;
        if let Some(claim) = claim {
            idempotency::finish(&txn, claim, &ip::show(&done.ip)).await?;
        }
        txn.commit().await?;
        return Ok(done);
    }
    // The check takes seconds, so no lock is held during it; the allocation that follows
    // is a conditional update that fails if someone took the address meanwhile.
    let mut from = 0u128;
    let mut failed: Vec<String> = Vec::new();
    let mut races = 0;
    while failed.len() < ALLOCATION_CANDIDATES {
        let n = match requested {
            Some(n) => n,
            None => next_free(&state.db, &net, &cidr, from)
                .await?
                .ok_or_else(|| no_free(&cidr, &failed))?,
        };
        let shown = ip::from_u128(n);
        match crate::server::check::vet(state, &state.checks, network_id, n).await? {
            Vetted::Passed => {}
            Vetted::Failed(why) | Vetted::Inconclusive(why) => {
                if requested.is_some() {
                    return Err(AppError::CheckFailed(format!(
                        "{shown} did not pass the check before allocation: {why}"
                    )));
                }
                failed.push(format!("{shown}: {why}"));
                from = n + 1;
                continue;
            }
        }
        let txn = crate::server::db::begin_write(&state.db).await?;
        let locked = networks::lock(&txn, network_id).await?;
        match apply(
            &txn,
            actor,
            &locked,
            n,
            Action::Allocate,
            "",
            holder.clone(),
        )
        .await
        {
            Ok(done) => {
                if let Some(claim) = claim {
                    idempotency::finish(&txn, claim, &ip::show(&done.ip)).await?;
                }
                txn.commit().await?;
                return Ok(done);
            }
            Err(AppError::Conflict(_)) if requested.is_none() && races < LOST_RACES => {
                races += 1;
                from = n + 1;
            }
            Err(e) => return Err(e),
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

/// A requested address, if the network may hand it out.
fn requested_in(cidr: &Cidr, ip: IpAddr) -> Result<u128, AppError> {
    if !cidr.contains(ip) {
        return Err(AppError::BadRequest(format!(
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
        return Err(AppError::BadRequest(format!(
            "{ip} is the network's {which} and is never allocated."
        )));
    }
    Ok(n)
}

/// The row of address `n` of a network, made (free) when a sparse network has none yet, so
/// a check's verdict has a row to land on.
pub async fn insert_free_row(
    state: &crate::server::AppState,
    network_id: i64,
    n: u128,
) -> Result<address::Model, AppError> {
    let txn = crate::server::db::begin_write(&state.db).await?;
    networks::lock(&txn, network_id).await?;
    if let Some(row) = find_row(&txn, n).await? {
        txn.commit().await?;
        return Ok(row);
    }
    let row = networks::free_row(network_id, n, OffsetDateTime::now_utc())
        .insert(&txn)
        .await?;
    txn.commit().await?;
    Ok(row)
}

/// Applies a non-allocating action to one address, found by its network.
pub async fn change(
    actor: &Caller,
    address: &str,
    action: Action,
    reason: &str,
) -> Result<address::Model, AppError> {
    let ip = parse(address)?;
    let reason = reason.trim();
    if action == Action::ForceFree && reason.is_empty() {
        return Err(AppError::BadRequest(
            "Say why the address is freed without checks.".into(),
        ));
    }
    let net = networks::containing(&actor.state.db, ip)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("{ip} is in no network.")))?;
    let txn = crate::server::db::begin_write(&actor.state.db).await?;
    let net = networks::lock(&txn, net.id).await?;
    let holder = match action {
        Action::Reserve => Holder {
            note: reason.to_string(),
            ..Holder::default()
        },
        _ => Holder::default(),
    };
    let done = apply(&txn, actor, &net, ip::to_u128(ip), action, reason, holder).await?;
    txn.commit().await?;
    Ok(done)
}

/// Rows per page of an address list.
pub const PAGE_SIZE: u64 = 100;

/// What a search box holds: an address to start at, whole leading octets of an IPv4
/// address (`198.18.3` is 198.18.3.0 to 198.18.3.255), or the start of a host name or owner.
#[derive(Debug, PartialEq, Eq)]
pub enum Search {
    From(u128),
    Range(u128, u128),
    Text(String),
}

impl Search {
    pub fn parse(q: &str) -> Option<Search> {
        let q = q.trim();
        if q.is_empty() {
            return None;
        }
        if let Ok(addr) = q.parse::<IpAddr>() {
            return Some(Search::From(ip::to_u128(addr)));
        }
        let octets: Vec<&str> = q.trim_end_matches('.').split('.').collect();
        let numeric = octets
            .iter()
            .all(|o| !o.is_empty() && o.len() <= 3 && o.bytes().all(|b| b.is_ascii_digit()));
        if numeric && octets.len() < 4 {
            let values: Option<Vec<u8>> = octets.iter().map(|o| o.parse::<u8>().ok()).collect();
            if let Some(values) = values {
                let mut lo = [0u8; 4];
                let mut hi = [255u8; 4];
                for (i, v) in values.iter().enumerate() {
                    lo[i] = *v;
                    hi[i] = *v;
                }
                let as_n = |o: [u8; 4]| ip::to_u128(IpAddr::from(o));
                return Some(Search::Range(as_n(lo), as_n(hi)));
            }
        }
        Some(Search::Text(q.to_lowercase()))
    }

    /// The search as a condition on addresses: a range of `ip`, or text that starts one
    /// of `text_columns` (case-insensitive).
    pub fn condition(self, text_columns: &[address::Column]) -> sea_orm::Condition {
        use sea_orm::sea_query::{Func, LikeExpr, SimpleExpr};
        use sea_orm::Condition;
        match self {
            Search::From(n) => {
                Condition::all().add(address::Column::Ip.gte(n.to_be_bytes().to_vec()))
            }
            Search::Range(lo, hi) => Condition::all()
                .add(address::Column::Ip.gte(lo.to_be_bytes().to_vec()))
                .add(address::Column::Ip.lte(hi.to_be_bytes().to_vec())),
            Search::Text(text) => {
                let escaped = text
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                let pattern = LikeExpr::new(format!("{escaped}%")).escape('\\');
                text_columns.iter().fold(Condition::any(), |any, c| {
                    let lower: SimpleExpr = Func::lower(Expr::col(*c)).into();
                    any.add(Expr::expr(lower).like(pattern.clone()))
                })
            }
        }
    }
}

/// A page of a network's addresses in numeric order: after `after`, before `before`, the
/// last page when `last`, else the first; optionally of one status only, or matching a
/// search. Every variant is a range scan of the (network, ip) or (network, status, ip)
/// index.
pub async fn page(
    db: &impl ConnectionTrait,
    network_id: i64,
    status: Option<AddressStatus>,
    search: Option<&str>,
    after: Option<&str>,
    before: Option<&str>,
    last: bool,
) -> Result<crate::model::AddressPage, AppError> {
    networks::find(db, network_id).await?;
    let mut q = address::Entity::find().filter(address::Column::NetworkId.eq(network_id));
    if let Some(s) = status {
        q = q.filter(address::Column::Status.eq(s));
    }
    if let Some(search) = search.and_then(Search::parse) {
        q = q.filter(search.condition(&[address::Column::Hostname, address::Column::Owner]));
    }
    let (rows, next_after, prev_before) = page_by_key(db, q, after, before, last).await?;
    Ok(crate::model::AddressPage {
        rows: rows.into_iter().map(view).collect(),
        next_after,
        prev_before,
    })
}

/// One page of the addresses `q` selects, in numeric order and by key: after `after`,
/// before `before`, the last page when `last`, else the first. Returns the rows and the
/// keys of the next and the previous page, where there is one.
pub(crate) async fn page_by_key(
    db: &impl ConnectionTrait,
    mut q: Select<address::Entity>,
    after: Option<&str>,
    before: Option<&str>,
    last: bool,
) -> Result<(Vec<address::Model>, Option<String>, Option<String>), AppError> {
    let after = after.map(str::trim).filter(|a| !a.is_empty());
    let before = before.map(str::trim).filter(|b| !b.is_empty());
    let backwards = before.is_some() || last;
    if let Some(a) = after {
        q = q.filter(address::Column::Ip.gt(ip::to_bytes(parse(a)?)));
    } else if let Some(b) = before {
        q = q.filter(address::Column::Ip.lt(ip::to_bytes(parse(b)?)));
    }
    q = if backwards {
        q.order_by_desc(address::Column::Ip)
    } else {
        q.order_by_asc(address::Column::Ip)
    };
    let mut rows = q.limit(PAGE_SIZE + 1).all(db).await?;
    let more = rows.len() as u64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    if backwards {
        rows.reverse();
    }
    let shown = |row: Option<&address::Model>| {
        row.and_then(|r| ip::from_bytes(&r.ip))
            .map(|a| a.to_string())
    };
    let (has_prev, has_next) = if backwards {
        (more, before.is_some())
    } else {
        (after.is_some(), more)
    };
    let next_after = if has_next { shown(rows.last()) } else { None };
    let prev_before = if has_prev { shown(rows.first()) } else { None };
    Ok((rows, next_after, prev_before))
}

/// An address with its history, newest first.
pub async fn detail(
    db: &impl ConnectionTrait,
    address: &str,
) -> Result<crate::model::AddressDetail, AppError> {
    let ip = parse(address)?;
    let row = address::Entity::find()
        .filter(address::Column::Ip.eq(ip::to_bytes(ip)))
        .one(db)
        .await?
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "{ip} has no record; if it lies in a network, it is free."
            ))
        })?;
    let net = networks::find(db, row.network_id).await?;
    let events = address_event::Entity::find()
        .filter(address_event::Column::AddressId.eq(row.id))
        .order_by_desc(address_event::Column::Id)
        .all(db)
        .await?;
    Ok(crate::model::AddressDetail {
        address: view(row),
        network_cidr: net.cidr,
        history: events
            .into_iter()
            .map(|e| crate::model::AddressEventView {
                at: show(e.at),
                actor: e.actor_name,
                from: e.from_status,
                to: e.to_status,
                reason: e.reason,
                evidence: e.evidence,
            })
            .collect(),
    })
}

/// Most addresses one bulk request may change.
pub const BULK_MAX: usize = 1000;

/// Applies `action` to every address in `list`, all or nothing: one transaction, the
/// networks locked in id order, the addresses changed in numeric order. The first refusal
/// names its address and nothing is changed.
pub async fn change_many(
    actor: &Caller,
    list: &[String],
    action: Action,
    reason: &str,
) -> Result<Vec<AddressView>, AppError> {
    let reason = reason.trim();
    if list.is_empty() {
        return Err(AppError::BadRequest("Select at least one address.".into()));
    }
    if list.len() > BULK_MAX {
        return Err(AppError::BadRequest(format!(
            "At most {BULK_MAX} addresses at once."
        )));
    }
    if action == Action::ForceFree && reason.is_empty() {
        return Err(AppError::BadRequest(
            "Say why the addresses are freed without checks.".into(),
        ));
    }
    let mut targets: Vec<u128> = list
        .iter()
        .map(|a| parse(a).map(ip::to_u128))
        .collect::<Result<_, _>>()?;
    targets.sort_unstable();
    targets.dedup();
    let mut by_network: Vec<(i64, u128)> = Vec::with_capacity(targets.len());
    for n in targets {
        let addr = ip::from_u128(n);
        let net = networks::containing(&actor.state.db, addr)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("{addr} is in no network.")))?;
        by_network.push((net.id, n));
    }
    by_network.sort_unstable();
    let txn = crate::server::db::begin_write(&actor.state.db).await?;
    let mut done = Vec::with_capacity(by_network.len());
    let mut locked: Option<network::Model> = None;
    for (network_id, n) in by_network {
        if locked.as_ref().map(|m| m.id) != Some(network_id) {
            locked = Some(networks::lock(&txn, network_id).await?);
        }
        let net = locked.as_ref().expect("locked above");
        done.push(view(
            apply(&txn, actor, net, n, action, reason, Holder::default()).await?,
        ));
    }
    txn.commit().await?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> u128 {
        ip::to_u128(s.parse().unwrap())
    }

    #[test]
    fn searches_read_as_people_mean_them() {
        assert_eq!(
            Search::parse("198.18.3.7"),
            Some(Search::From(n("198.18.3.7")))
        );
        assert_eq!(
            Search::parse("2001:2::1"),
            Some(Search::From(n("2001:2::1")))
        );
        assert_eq!(
            Search::parse("198.18.3"),
            Some(Search::Range(n("198.18.3.0"), n("198.18.3.255")))
        );
        assert_eq!(
            Search::parse("198.18."),
            Some(Search::Range(n("198.18.0.0"), n("198.18.255.255")))
        );
        assert_eq!(Search::parse(" Web1 "), Some(Search::Text("web1".into())));
        assert_eq!(
            Search::parse("198.300"),
            Some(Search::Text("198.300".into()))
        );
        assert_eq!(Search::parse("  "), None);
    }
}
