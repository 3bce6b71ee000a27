//! `Idempotency-Key` for API allocations. A provisioning system that lost the answer to an
//! allocation retries it with the same key and gets the address the first attempt took,
//! never a second one.
//!
//! The key is claimed in its own committed row before the allocation starts; the
//! allocation writes its address into that row in the transaction that takes the address,
//! so either both happen or neither does. A claim whose attempt died (the server stopped)
//! is taken over after [`STALE_AFTER`]; the attempt counter fences the dead attempt should
//! it come back to life.

use std::time::Duration;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    Set, SqlErr,
};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::error::AppError;
use crate::server::entities::idempotency_key;

/// The longest key accepted.
pub const KEY_MAX: usize = 255;
/// How long a key is remembered; a key older than this may be used again.
pub const KEPT_FOR: Duration = Duration::from_secs(24 * 3600);
/// An attempt that has not finished after this long has died: an allocation, checks
/// included, ends long before.
pub const STALE_AFTER: Duration = Duration::from_secs(600);

/// A key this attempt holds: it may record its result under it.
#[derive(Clone, Debug)]
pub struct Claim {
    id: i64,
    attempt: i64,
}

/// What a key means for a request that carries it.
#[derive(Debug)]
pub enum Begun {
    /// The key is new (or its earlier attempt died): go ahead and allocate.
    Fresh(Claim),
    /// The key's first request allocated this address: answer with it.
    Replay(String),
}

/// Checks a key as sent in the header.
pub fn validate(key: &str) -> Result<&str, AppError> {
    if key.is_empty() || key.len() > KEY_MAX || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::BadRequest(format!(
            "Idempotency-Key: send 1 to {KEY_MAX} visible ASCII characters (a UUID, say)."
        )));
    }
    Ok(key)
}

/// The fingerprint of a request: a key may only be retried with the same request.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for part in parts {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Claims `key` for `user_id`'s request with `request_hash`, or says what the key already
/// stands for.
pub async fn begin(
    db: &impl ConnectionTrait,
    user_id: i64,
    key: &str,
    request_hash: &str,
) -> Result<Begun, AppError> {
    let key = validate(key)?;
    let now = OffsetDateTime::now_utc();
    // A key past its time is forgotten, so it may start afresh.
    idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::UserId.eq(user_id))
        .filter(idempotency_key::Column::Key.eq(key))
        .filter(idempotency_key::Column::CreatedAt.lt(now - KEPT_FOR))
        .exec(db)
        .await?;
    let inserted = idempotency_key::ActiveModel {
        user_id: Set(user_id),
        key: Set(key.to_string()),
        request_hash: Set(request_hash.to_string()),
        attempt: Set(1),
        started_at: Set(now),
        address: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await;
    match inserted {
        Ok(row) => {
            return Ok(Begun::Fresh(Claim {
                id: row.id,
                attempt: row.attempt,
            }))
        }
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {}
        Err(e) => return Err(e.into()),
    }
    let held = idempotency_key::Entity::find()
        .filter(idempotency_key::Column::UserId.eq(user_id))
        .filter(idempotency_key::Column::Key.eq(key))
        .one(db)
        .await?
        .ok_or_else(|| {
            AppError::Conflict(
                "A request with this Idempotency-Key has just ended; retry it.".into(),
            )
        })?;
    if held.request_hash != request_hash {
        return Err(AppError::Unprocessable(
            "This Idempotency-Key was used for a different request; use a new key for a new request."
                .into(),
        ));
    }
    if let Some(address) = held.address {
        return Ok(Begun::Replay(address));
    }
    if now - held.started_at < STALE_AFTER {
        return Err(AppError::Conflict(
            "A request with this Idempotency-Key is still being processed; retry it in a moment."
                .into(),
        ));
    }
    let taken = idempotency_key::Entity::update_many()
        .col_expr(
            idempotency_key::Column::Attempt,
            Expr::value(held.attempt + 1),
        )
        .col_expr(idempotency_key::Column::StartedAt, Expr::value(now))
        .filter(idempotency_key::Column::Id.eq(held.id))
        .filter(idempotency_key::Column::Attempt.eq(held.attempt))
        .filter(idempotency_key::Column::Address.is_null())
        .exec(db)
        .await?;
    if taken.rows_affected != 1 {
        return Err(AppError::Conflict(
            "A request with this Idempotency-Key is still being processed; retry it in a moment."
                .into(),
        ));
    }
    Ok(Begun::Fresh(Claim {
        id: held.id,
        attempt: held.attempt + 1,
    }))
}

/// Records what the claimed request allocated, inside the allocation's transaction. If
/// another attempt took the key over meanwhile, this one must not allocate: the error rolls
/// the transaction back.
pub async fn finish(
    txn: &DatabaseTransaction,
    claim: &Claim,
    address: &str,
) -> Result<(), AppError> {
    let done = idempotency_key::Entity::update_many()
        .col_expr(idempotency_key::Column::Address, Expr::value(address))
        .filter(idempotency_key::Column::Id.eq(claim.id))
        .filter(idempotency_key::Column::Attempt.eq(claim.attempt))
        .filter(idempotency_key::Column::Address.is_null())
        .exec(txn)
        .await?;
    if done.rows_affected != 1 {
        return Err(AppError::Conflict(
            "Another request with this Idempotency-Key took over; retry to get its address.".into(),
        ));
    }
    Ok(())
}

/// Lets the key go after its request failed, so a retry runs afresh.
pub async fn abandon(db: &impl ConnectionTrait, claim: &Claim) -> Result<(), AppError> {
    idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::Id.eq(claim.id))
        .filter(idempotency_key::Column::Attempt.eq(claim.attempt))
        .filter(idempotency_key::Column::Address.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Forgets keys older than [`KEPT_FOR`].
pub async fn purge(db: &impl ConnectionTrait) -> Result<u64, AppError> {
    let cutoff = OffsetDateTime::now_utc() - KEPT_FOR;
    let done = idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::CreatedAt.lt(cutoff))
        .exec(db)
        .await?;
    Ok(done.rows_affected)
}

/// Purges old keys every hour while the server runs.
pub async fn purge_forever(db: sea_orm::DatabaseConnection) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        if let Err(e) = purge(&db).await {
            tracing::warn!(cause = %e, "purging old idempotency keys failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_of_bounded_length() {
        assert!(validate("4f1c2a9e-0d3b-4c4e-9a57-2f0f3b1c7d10").is_ok());
        assert!(validate("").is_err());
        assert!(validate("has space").is_err());
        assert!(validate("ключ").is_err());
        assert!(validate(&"k".repeat(KEY_MAX)).is_ok());
        assert!(validate(&"k".repeat(KEY_MAX + 1)).is_err());
    }

    #[test]
    fn fingerprints_tell_apart_requests_whose_parts_merely_concatenate_alike() {
        assert_eq!(fingerprint(&["1", "{}"]), fingerprint(&["1", "{}"]));
        assert_ne!(fingerprint(&["1", "2{}"]), fingerprint(&["12", "{}"]));
    }
}
