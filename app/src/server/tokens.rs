//! API tokens: a user's key to the REST API, carrying that user's role. The secret is 256
//! random bits, shown once when the token is made; only its SHA-256 is stored. A fast hash
//! is enough for a secret nobody can guess: slow hashes protect guessable passwords.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::entities::{api_token, user};
use crate::error::AppError;

/// Every secret starts so, which lets secret scanners and people recognise one.
pub const PREFIX: &str = "ipvet_";
/// How stale a token's "last used" may get before a request refreshes it (one write).
const LAST_USED_RESOLUTION_SECS: i64 = 60;
const NAME_MAX: usize = 100;

/// A token just made: its row, and the secret, which is shown this once.
pub struct Created {
    pub token: api_token::Model,
    pub secret: String,
}

pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{PREFIX}{}", hex::encode(bytes))
}

/// Makes a token for `owner`, named `name` (what it is for: "billing", "panel-2").
pub async fn create(
    db: &impl ConnectionTrait,
    owner: &user::Model,
    name: &str,
) -> Result<Created, AppError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::BadRequest(
            "Name the token after what will use it.".into(),
        ));
    }
    if name.chars().count() > NAME_MAX {
        return Err(AppError::BadRequest(format!(
            "A token name may have at most {NAME_MAX} characters."
        )));
    }
    let secret = new_secret();
    let token = api_token::ActiveModel {
        user_id: Set(owner.id),
        name: Set(name.to_string()),
        secret_hash: Set(hash(&secret)),
        created_at: Set(OffsetDateTime::now_utc()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(Created { token, secret })
}

/// The user and token behind a secret, if the token is live and its user may sign in.
pub async fn authenticate(
    db: &impl ConnectionTrait,
    secret: &str,
) -> Result<Option<(user::Model, api_token::Model)>, AppError> {
    let secret = secret.trim();
    if !secret.starts_with(PREFIX) || secret.len() != PREFIX.len() + 64 {
        return Ok(None);
    }
    let Some(token) = api_token::Entity::find()
        .filter(api_token::Column::SecretHash.eq(hash(secret)))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if token.revoked_at.is_some() {
        return Ok(None);
    }
    let Some(owner) = user::Entity::find_by_id(token.user_id).one(db).await? else {
        return Ok(None);
    };
    if owner.disabled {
        return Ok(None);
    }
    let now = OffsetDateTime::now_utc();
    let stale = token
        .last_used_at
        .is_none_or(|at| (now - at).whole_seconds() >= LAST_USED_RESOLUTION_SECS);
    if stale {
        api_token::Entity::update_many()
            .col_expr(api_token::Column::LastUsedAt, Expr::value(now))
            .filter(api_token::Column::Id.eq(token.id))
            .exec(db)
            .await?;
    }
    Ok(Some((owner, token)))
}

/// A user's tokens, newest first, revoked ones included.
pub async fn list_for(
    db: &impl ConnectionTrait,
    user_id: i64,
) -> Result<Vec<api_token::Model>, AppError> {
    Ok(api_token::Entity::find()
        .filter(api_token::Column::UserId.eq(user_id))
        .order_by_desc(api_token::Column::Id)
        .all(db)
        .await?)
}

/// Revokes a live token at once; a revoked one is refused on its next request.
pub async fn revoke(db: &impl ConnectionTrait, token_id: i64) -> Result<(), AppError> {
    let done = api_token::Entity::update_many()
        .col_expr(
            api_token::Column::RevokedAt,
            Expr::value(OffsetDateTime::now_utc()),
        )
        .filter(api_token::Column::Id.eq(token_id))
        .filter(api_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    if done.rows_affected == 1 {
        return Ok(());
    }
    match api_token::Entity::find_by_id(token_id).one(db).await? {
        Some(_) => Err(AppError::Conflict("The token is revoked already.".into())),
        None => Err(AppError::NotFound("There is no such token.".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_stored_only_as_a_hash() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert!(a.starts_with(PREFIX) && a.len() == PREFIX.len() + 64, "{a}");
        let h = hash(&a);
        assert_eq!(h.len(), 64);
        assert!(!h.contains(&a[PREFIX.len()..]));
        assert_eq!(h, hash(&a));
    }
}
