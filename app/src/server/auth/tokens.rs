//! API tokens: a user's key to the REST API, carrying that user's role. The secret is 256
//! random bits, shown once when the token is made; only its SHA-256 is stored. A fast hash
//! is enough for a secret nobody can guess: slow hashes protect guessable passwords.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::error::AppError;
use crate::model::{NewTokenView, Role, TokenView};
use crate::server::admin::audit;
use crate::server::auth::guard::Caller;
use crate::server::entities::{api_token, user};
use crate::server::time_fmt::show;

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
    secret_with(PREFIX)
}

/// A new secret of 256 random bits in hex after `prefix` (agent tokens have their own).
pub(crate) fn secret_with(prefix: &str) -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{prefix}{}", hex::encode(bytes))
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

/// Revokes every live token of user `user_id` (its password was reset); answers how many.
pub async fn revoke_all_of(db: &impl ConnectionTrait, user_id: i64) -> Result<u64, AppError> {
    Ok(api_token::Entity::update_many()
        .col_expr(
            api_token::Column::RevokedAt,
            Expr::value(OffsetDateTime::now_utc()),
        )
        .filter(api_token::Column::UserId.eq(user_id))
        .filter(api_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?
        .rows_affected)
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

fn view(token: api_token::Model, owner: &user::Model) -> TokenView {
    TokenView {
        id: token.id,
        name: token.name,
        owner_id: owner.id,
        owner: owner.name.clone(),
        role: owner.role,
        created_at: show(token.created_at),
        last_used_at: token.last_used_at.map(show),
        revoked_at: token.revoked_at.map(show),
    }
}

/// Tokens for the Tokens page, newest first: `owner`'s, or everyone's when `None`.
pub async fn views(
    db: &impl ConnectionTrait,
    owner: Option<i64>,
) -> Result<Vec<TokenView>, AppError> {
    let mut q = api_token::Entity::find().find_also_related(user::Entity);
    if let Some(id) = owner {
        q = q.filter(api_token::Column::UserId.eq(id));
    }
    Ok(q.order_by_desc(api_token::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(token, owner)| owner.map(|o| view(token, &o)))
        .collect())
}

/// Makes a token for the user `owner_id` on `caller`'s behalf: anyone for themselves, an
/// admin for anyone. Audited; the secret is in the answer only.
pub async fn create_by(
    caller: &Caller,
    owner_id: i64,
    name: &str,
) -> Result<NewTokenView, AppError> {
    if owner_id != caller.user.id && caller.user.role < Role::Admin {
        return Err(AppError::Forbidden);
    }
    let txn = crate::server::db::begin_write(&caller.state.db).await?;
    let owner = user::Entity::find_by_id(owner_id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such user.".into()))?;
    if owner.disabled {
        return Err(AppError::Conflict(format!(
            "{} is disabled; a token of theirs would not work.",
            owner.name
        )));
    }
    let Created { token, secret } = create(&txn, &owner, name).await?;
    audit::record(
        &txn,
        caller,
        "token.create",
        &format!("{} ({})", token.name, owner.name),
        None,
        Some(format!("token {}", token.id)),
    )
    .await?;
    txn.commit().await?;
    Ok(NewTokenView {
        token: view(token, &owner),
        secret,
    })
}

/// Revokes a token on `caller`'s behalf: their own, or anyone's for an admin. Audited.
pub async fn revoke_by(caller: &Caller, token_id: i64) -> Result<TokenView, AppError> {
    let txn = crate::server::db::begin_write(&caller.state.db).await?;
    let (token, owner) = api_token::Entity::find_by_id(token_id)
        .find_also_related(user::Entity)
        .one(&txn)
        .await?
        .and_then(|(t, o)| o.map(|o| (t, o)))
        .ok_or_else(|| AppError::NotFound("There is no such token.".into()))?;
    if token.user_id != caller.user.id && caller.user.role < Role::Admin {
        // Someone else's token: as good as absent, so ids reveal nothing.
        return Err(AppError::NotFound("There is no such token.".into()));
    }
    revoke(&txn, token_id).await?;
    audit::record(
        &txn,
        caller,
        "token.revoke",
        &format!("{} ({})", token.name, owner.name),
        Some(format!("token {}", token.id)),
        Some("revoked".into()),
    )
    .await?;
    let token = api_token::Entity::find_by_id(token_id)
        .one(&txn)
        .await?
        .ok_or(AppError::Internal)?;
    txn.commit().await?;
    Ok(view(token, &owner))
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
