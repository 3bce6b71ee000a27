//! Address operations: allocate ([`allocate`]), release, reserve, unreserve and force-free
//! ([`change`]), editing an allocation's holder ([`edit`]), and the lists and detail pages read ([`list`]). Every change goes through
//! [`apply`]: one transaction that locks the network, makes one conditional update (`…
//! WHERE status = <expected>`), moves the network's counts and writes the history row; a
//! lost race is reported, never overwritten.

mod allocate;
mod change;
mod edit;
mod list;

pub use allocate::{allocate, next_free, ALLOCATION_CANDIDATES};
pub use change::{change, change_many, BULK_MAX};
pub use edit::{edit, HolderEdit};
pub use list::{
    detail, page, page_with_network, record, Detail, History, ListQuery, Record, Search,
    MAX_SEARCH, PAGE_SIZE,
};
pub(crate) use list::{known_start, like_pattern, page_by_key};

use std::net::IpAddr;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set, SqlErr,
};
use time::OffsetDateTime;

use crate::error::AppError;
use crate::model::{AddressStatus, AddressView};
use crate::server::admin::audit;
use crate::server::alerts::events::{self as alert_events, Event, EventKind};
use crate::server::auth::guard::Caller;
use crate::server::entities::address_rows::freed;
use crate::server::entities::{address, address_event, network};
use crate::server::inventory::ip;
use crate::server::inventory::lifecycle::{transition, Action, Refused};
use crate::server::inventory::networks;
use crate::server::limits;
use crate::server::time_fmt::show;

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
        if let Err(AppError::BadRequest(m)) = limits::bounded("owner", owner, limits::NAME) {
            return Some(("owner", m));
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
            let shown = limits::quoted_start(hostname);
            return Some(("hostname", format!("`{shown}` is not a host name.")));
        }
        if let Err(AppError::BadRequest(m)) = limits::bounded("note", note, limits::NOTE) {
            return Some(("note", m));
        }
        None
    }
}

/// Why the address `n` of `net` is never handed out ("198.18.0.255 is the broadcast address
/// of 198.18.0.0/24 and is never allocated or reserved."), or `None` when it may be.
fn never_handed_out(net: &network::Model, n: u128) -> Result<Option<String>, AppError> {
    let (first, last) = networks::cidr_of(net)?.allocatable();
    Ok((n < first || n > last).then(|| {
        format!(
            "{} is the {} address of {} and is never allocated or reserved.",
            ip::from_u128(n),
            if n < first {
                "network's own"
            } else {
                "broadcast"
            },
            net.cidr
        )
    }))
}

pub fn view(row: address::Model) -> AddressView {
    list::Listed::from(row).view()
}

impl list::Listed {
    /// The address as lists and pages show it.
    fn view(self) -> AddressView {
        AddressView {
            address: ip::show(&self.ip),
            network_id: self.network_id,
            status: self.status,
            owner: self.owner,
            hostname: self.hostname,
            note: self.note,
            status_changed_at: show(self.status_changed_at),
            last_checked_at: self.last_checked_at.map(show),
            problem: self.problem,
            problem_since: self.problem_since.map(show),
        }
    }
}

pub(crate) fn parse(address: &str) -> Result<IpAddr, AppError> {
    ip::parse_address(address).map_err(|e| AppError::BadRequest(e.to_string()))
}

/// Why [`apply`] made no change, for callers that branch on it: an allocation that lost
/// its candidate to another tries the next one, where any other error ends it.
#[derive(Debug)]
enum NotApplied {
    /// The address's status does not allow the action (another request got there first,
    /// or the caller asked for something the lifecycle forbids).
    Refused(Refused),
    /// The address changed between its read and the conditional update.
    ChangedMeanwhile,
}

impl NotApplied {
    /// The user's message, naming the address.
    pub(super) fn into_error(self, n: u128) -> AppError {
        let shown = ip::from_u128(n);
        AppError::Conflict(match self {
            NotApplied::Refused(refused) => format!("{shown}: {refused}"),
            NotApplied::ChangedMeanwhile => {
                format!("Address {shown} changed meanwhile; reload and try again.")
            }
        })
    }
}

/// Applies `action` to the address `n` of `net` inside `txn`, which must hold the
/// network's lock. Returns the address after the change, or why no change was made
/// ([`NotApplied::into_error`] for callers that do not retry).
async fn apply(
    txn: &DatabaseTransaction,
    actor: &Caller,
    net: &network::Model,
    n: u128,
    action: Action,
    reason: &str,
    holder: Holder,
) -> Result<Result<address::Model, NotApplied>, AppError> {
    let shown = ip::from_u128(n);
    // Whatever the action, an IPv4 network's own and broadcast addresses are never
    // anyone's: reserved or allocated, they made the counts exceed what can be handed out.
    // A conflict with the network, not bad input: the address is well formed.
    if let Some(why) = never_handed_out(net, n)? {
        return Err(AppError::Conflict(why));
    }
    let row = address::Entity::find_by_ip(shown).one(txn).await?;
    let from = row.as_ref().map_or(AddressStatus::Free, |r| r.status);
    let to = match transition(action, from) {
        Ok(to) => to,
        Err(refused) => return Ok(Err(NotApplied::Refused(refused))),
    };
    let now = OffsetDateTime::now_utc();
    // A free address keeps nothing of its last holder; its history keeps who had it, as
    // it keeps whom an allocation or reservation gave it to.
    let recorded = match (&row, to) {
        (Some(r), AddressStatus::Free) => Holder {
            owner: r.owner.clone(),
            hostname: r.hostname.clone(),
            note: r.note.clone(),
        },
        _ if matches!(action, Action::Allocate | Action::Reserve) => holder.clone(),
        _ => Holder::default(),
    };
    let id = match row {
        Some(r) => {
            let mut update = address::Entity::update_many()
                .col_expr(address::Column::Status, Expr::value(to))
                .col_expr(address::Column::StatusChangedAt, Expr::value(now))
                .filter(address::Column::Id.eq(r.id))
                .filter(address::Column::Status.eq(from));
            if matches!(action, Action::Allocate | Action::Reserve) {
                update = update
                    .col_expr(address::Column::Owner, Expr::value(holder.owner.clone()))
                    .col_expr(
                        address::Column::Hostname,
                        Expr::value(holder.hostname.clone()),
                    )
                    .col_expr(address::Column::Note, Expr::value(holder.note.clone()));
            }
            if to == AddressStatus::Free {
                update = freed(update);
            }
            if update.exec(txn).await?.rows_affected != 1 {
                return Ok(Err(NotApplied::ChangedMeanwhile));
            }
            r.id
        }
        None => {
            let inserted = address::ActiveModel {
                network_id: Set(net.id),
                ip: Set(ip::to_bytes(shown)),
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
                    return Ok(Err(NotApplied::ChangedMeanwhile))
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
        owner: Set(recorded.owner),
        hostname: Set(recorded.hostname),
        note: Set(recorded.note),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    if let Some(kind) = EventKind::of_change(from, to) {
        let how = if reason.is_empty() {
            format!("{} by {}", action.done(), actor.user.name)
        } else {
            format!("{} by {}: {reason}", action.done(), actor.user.name)
        };
        let event = Event::of_address(kind, net.id, shown.to_string(), to, &how, None);
        alert_events::record(txn, [event]).await?;
    }
    if action == Action::ForceFree {
        audit::record(
            txn,
            actor,
            "address.force_free",
            &shown.to_string(),
            Some(from.as_str().into()),
            Some(format!("free: {reason}")),
        )
        .await?;
    }
    let after = address::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or(AppError::Internal)?;
    Ok(Ok(after))
}
