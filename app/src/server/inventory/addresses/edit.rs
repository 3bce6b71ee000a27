//! Editing who holds an allocated address: its owner, host name and note, in place, with a
//! history row and an audit entry, the status untouched.

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use time::OffsetDateTime;

use super::{parse, Holder, NotApplied};
use crate::error::AppError;
use crate::model::AddressStatus;
use crate::server::admin::audit;
use crate::server::auth::guard::Caller;
use crate::server::db;
use crate::server::entities::{address, address_event};
use crate::server::inventory::{ip, networks};

/// The history reason of an edit, so the timeline says why allocated stayed allocated.
pub const EDITED: &str = "holder edited";

/// What an edit changes: each field given replaces the stored one, each absent one stays.
#[derive(Clone, Debug, Default)]
pub struct HolderEdit {
    pub owner: Option<String>,
    pub hostname: Option<String>,
    pub note: Option<String>,
}

/// Replaces the holder fields of the allocated address `address`. An edit that changes
/// nothing writes nothing. Only an allocated address has a holder to edit; any other
/// status is a conflict naming it, as is an address changed between read and update.
pub async fn edit(
    actor: &Caller,
    address: &str,
    edit: HolderEdit,
) -> Result<address::Model, AppError> {
    let ip = parse(address)?;
    let net = networks::containing(&actor.state.db, ip)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("{ip} is in no network.")))?;
    let txn = db::begin_write(&actor.state.db).await?;
    networks::lock(&txn, net.id).await?;
    let row = address::Entity::find_by_ip(ip).one(&txn).await?;
    let row = match row {
        Some(r) if r.status == AddressStatus::Allocated => r,
        other => {
            let status = other.map_or(AddressStatus::Free, |r| r.status);
            return Err(AppError::Conflict(format!(
                "{ip} is {}; only an allocated address has a holder to edit.",
                status.label().to_lowercase()
            )));
        }
    };
    let before = Holder {
        owner: row.owner.clone(),
        hostname: row.hostname.clone(),
        note: row.note.clone(),
    };
    let after = Holder {
        owner: edit.owner.unwrap_or_else(|| before.owner.clone()),
        hostname: edit.hostname.unwrap_or_else(|| before.hostname.clone()),
        note: edit.note.unwrap_or_else(|| before.note.clone()),
    }
    .validated()?;
    if (&after.owner, &after.hostname, &after.note)
        == (&before.owner, &before.hostname, &before.note)
    {
        return Ok(row);
    }
    let now = OffsetDateTime::now_utc();
    // Conditional on everything read: a release, or another edit, in between is reported
    // rather than overwritten.
    let updated = address::Entity::update_many()
        .col_expr(address::Column::Owner, Expr::value(after.owner.clone()))
        .col_expr(
            address::Column::Hostname,
            Expr::value(after.hostname.clone()),
        )
        .col_expr(address::Column::Note, Expr::value(after.note.clone()))
        .filter(address::Column::Id.eq(row.id))
        .filter(address::Column::Status.eq(AddressStatus::Allocated))
        .filter(address::Column::Owner.eq(before.owner.clone()))
        .filter(address::Column::Hostname.eq(before.hostname.clone()))
        .filter(address::Column::Note.eq(before.note.clone()))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(NotApplied::ChangedMeanwhile.into_error(ip::to_u128(ip)));
    }
    address_event::ActiveModel {
        address_id: Set(row.id),
        at: Set(now),
        actor_id: Set(Some(actor.user.id)),
        actor_name: Set(actor.user.name.clone()),
        from_status: Set(AddressStatus::Allocated),
        to_status: Set(AddressStatus::Allocated),
        reason: Set(EDITED.into()),
        evidence: Set(None),
        owner: Set(after.owner.clone()),
        hostname: Set(after.hostname.clone()),
        note: Set(after.note.clone()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        "address.edit",
        &ip.to_string(),
        Some(one_line(&before)),
        Some(one_line(&after)),
    )
    .await?;
    let done = address::Entity::find_by_id(row.id)
        .one(&txn)
        .await?
        .ok_or(AppError::Internal)?;
    txn.commit().await?;
    Ok(done)
}

/// A holder as the audit log shows it: `owner=Acme hostname=web1 note=`.
fn one_line(h: &Holder) -> String {
    format!("owner={} hostname={} note={}", h.owner, h.hostname, h.note)
}
