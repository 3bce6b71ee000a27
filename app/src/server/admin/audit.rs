//! The audit log: who did what to what, from where, before → after. Written in the same
//! transaction as the change it records, so neither exists without the other.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use time::OffsetDateTime;

use crate::error::AppError;
use crate::model::{AuditEntryView, AuditPage};
use crate::server::auth::guard::Caller;
use crate::server::entities::audit_log;
use crate::server::time_fmt::show;

pub async fn record(
    db: &impl ConnectionTrait,
    actor: &Caller,
    action: &str,
    target: &str,
    before: Option<String>,
    after: Option<String>,
) -> Result<(), DbErr> {
    audit_log::ActiveModel {
        at: Set(OffsetDateTime::now_utc()),
        actor_id: Set(Some(actor.user.id)),
        actor_name: Set(actor.user.name.clone()),
        client_addr: Set(actor.client_addr.clone()),
        action: Set(action.to_string()),
        target: Set(target.to_string()),
        before: Set(before),
        after: Set(after),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Entries per page of the audit log.
pub const PAGE_SIZE: u64 = 100;

/// What the audit log page is narrowed to. Days are `YYYY-MM-DD`, UTC, both included.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

fn day(s: Option<&str>, what: &str) -> Result<Option<time::Date>, AppError> {
    let Some(s) = s.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
        .map(Some)
        .map_err(|_| AppError::BadRequest(format!("The {what} date `{s}` is not YYYY-MM-DD.")))
}

/// Newest first, older than the entry `before` when given.
pub async fn page(
    db: &impl ConnectionTrait,
    filter: &Filter,
    before: Option<i64>,
) -> Result<AuditPage, AppError> {
    let mut q = audit_log::Entity::find();
    if let Some(actor) = filter
        .actor
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        q = q.filter(audit_log::Column::ActorName.eq(actor));
    }
    if let Some(action) = filter
        .action
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        q = q.filter(audit_log::Column::Action.eq(action));
    }
    let from = day(filter.from.as_deref(), "from")?;
    let to = day(filter.to.as_deref(), "to")?;
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(AppError::BadRequest(
                "The from date is after the to date.".into(),
            ));
        }
    }
    if let Some(f) = from {
        q = q.filter(audit_log::Column::At.gte(f.midnight().assume_utc()));
    }
    // The last day time can count has no next day: nothing is after it.
    if let Some(next) = to.and_then(|t| t.next_day()) {
        q = q.filter(audit_log::Column::At.lt(next.midnight().assume_utc()));
    }
    if let Some(b) = before {
        q = q.filter(audit_log::Column::Id.lt(b));
    }
    let mut rows = q
        .order_by_desc(audit_log::Column::Id)
        .limit(PAGE_SIZE + 1)
        .all(db)
        .await?;
    let more = rows.len() as u64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    let actions = audit_log::Entity::find()
        .select_only()
        .column(audit_log::Column::Action)
        .distinct()
        .order_by_asc(audit_log::Column::Action)
        .into_tuple::<String>()
        .all(db)
        .await?;
    Ok(AuditPage {
        older_than: if more {
            rows.last().map(|r| r.id)
        } else {
            None
        },
        entries: rows
            .into_iter()
            .map(|r| AuditEntryView {
                id: r.id,
                at: show(r.at),
                actor: r.actor_name,
                client_addr: r.client_addr,
                action: r.action,
                target: r.target,
                before: r.before,
                after: r.after,
            })
            .collect(),
        actions,
    })
}
