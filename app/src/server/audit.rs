//! The audit log: who did what to what, from where, before → after. Written in the same
//! transaction as the change it records, so neither exists without the other.

use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, Set};
use time::OffsetDateTime;

use super::auth::guard::Caller;
use super::entities::audit_log;

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
