//! User accounts: creation, roles, disabling, password resets, and the first admin.
//! Every change an admin makes is written to the audit log in the same transaction.

use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set, SqlErr,
};
use time::OffsetDateTime;

use crate::error::AppError;
use crate::model::{Role, UserView};
use crate::server::admin::audit;
use crate::server::auth::guard::Caller;
use crate::server::auth::password;
use crate::server::entities::user;

/// Name of the admin created on an empty database.
pub const FIRST_ADMIN: &str = "admin";

impl From<user::Model> for UserView {
    fn from(u: user::Model) -> Self {
        UserView {
            id: u.id,
            name: u.name,
            role: u.role,
            disabled: u.disabled,
            // One time format on every page: UTC, to the second.
            created_at: crate::server::time_fmt::show(u.created_at),
        }
    }
}

/// Longest user name.
pub const MAX_NAME_LEN: usize = 64;

/// User names are short and plain so they read well in logs and the audit trail.
pub fn validate_name(name: &str) -> Result<(), AppError> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if name.is_empty() || name.len() > MAX_NAME_LEN || !ok_chars {
        return Err(AppError::BadRequest(
            "A user name has 1 to 64 characters: letters, digits, '.', '_', '-' or '@'.".into(),
        ));
    }
    Ok(())
}

/// Creates a user. Used by the Users page, the CLI and the first-admin bootstrap.
pub async fn create(
    db: &impl ConnectionTrait,
    name: &str,
    role: Role,
    password: String,
) -> Result<user::Model, AppError> {
    let name = name.trim();
    validate_name(name)?;
    password::validate_new(&password)?;
    let hash = password::hash(password).await?;
    let now = OffsetDateTime::now_utc();
    let inserted = user::ActiveModel {
        name: Set(name.to_string()),
        password_hash: Set(hash),
        role: Set(role),
        disabled: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await;
    match inserted {
        Ok(model) => Ok(model),
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => Err(
            AppError::Conflict(format!("A user named '{name}' exists already.")),
        ),
        Err(e) => Err(e.into()),
    }
}

/// The user whose name is `name`, whatever its case: names are unique without it.
pub async fn by_name(
    db: &impl ConnectionTrait,
    name: &str,
) -> Result<Option<user::Model>, AppError> {
    use sea_orm::sea_query::Func;
    Ok(user::Entity::find()
        .filter(
            Expr::expr(Func::lower(Expr::col(user::Column::Name))).eq(name.trim().to_lowercase()),
        )
        .one(db)
        .await?)
}

pub async fn find_by_name(db: &impl ConnectionTrait, name: &str) -> Result<user::Model, AppError> {
    by_name(db, name)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("There is no user named '{}'.", name.trim())))
}

/// Sets `before`'s password hash and moves its session epoch on, so every session it has
/// ends, and revokes its API tokens: a password is reset because the old one, and whatever
/// was reached with it, can no longer be trusted. One conditional update, like every other
/// change of a user.
async fn reset_credentials(
    db: &impl ConnectionTrait,
    before: &user::Model,
    hash: password::PasswordHash,
) -> Result<u64, AppError> {
    set_password_ending_sessions(db, before, hash).await?;
    crate::server::auth::tokens::revoke_all_of(db, before.id).await
}

/// Sets `before`'s password hash and moves its session epoch on, so every session signed
/// in before ends: the one conditional update behind a reset and a user's own change.
pub(crate) async fn set_password_ending_sessions(
    db: &impl ConnectionTrait,
    before: &user::Model,
    hash: password::PasswordHash,
) -> Result<(), AppError> {
    update_if_unchanged(
        db,
        before,
        [
            (user::Column::PasswordHash, Expr::value(hash.0)),
            (
                user::Column::SessionEpoch,
                Expr::col(user::Column::SessionEpoch).add(1),
            ),
        ],
    )
    .await
}

async fn find(db: &impl ConnectionTrait, id: i64) -> Result<user::Model, AppError> {
    user::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("There is no user with id {id}.")))
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<UserView>, AppError> {
    Ok(user::Entity::find()
        .order_by_asc(user::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(UserView::from)
        .collect())
}

/// Creates `admin` on an empty database. Returns the password when it was generated here,
/// so the caller can show it once; `None` when users exist or the password was given.
pub async fn ensure_first_admin(
    db: &DatabaseConnection,
    given: Option<String>,
) -> Result<Option<String>, AppError> {
    if user::Entity::find().count(db).await? > 0 {
        return Ok(None);
    }
    let generated = given.is_none();
    let password = given.unwrap_or_else(password::generate);
    match create(db, FIRST_ADMIN, Role::Admin, password.clone()).await {
        Ok(_) => Ok(generated.then_some(password)),
        // Another instance created it first.
        Err(AppError::Conflict(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Refuses a change that would leave no enabled admin, so the instance stays manageable.
async fn keep_an_admin(db: &impl ConnectionTrait, target: &user::Model) -> Result<(), AppError> {
    let other_admins = user::Entity::find()
        .filter(user::Column::Role.eq(Role::Admin))
        .filter(user::Column::Disabled.eq(false))
        .filter(user::Column::Id.ne(target.id))
        .count(db)
        .await?;
    if other_admins == 0 {
        return Err(AppError::Conflict(format!(
            "'{}' is the last enabled admin; make another user admin first.",
            target.name
        )));
    }
    Ok(())
}

/// Applies one conditional update of `changes`: the row must still hold what was read,
/// else the change raced another one and is refused rather than applied over it.
async fn update_if_unchanged(
    db: &impl ConnectionTrait,
    before: &user::Model,
    changes: impl IntoIterator<Item = (user::Column, SimpleExpr)>,
) -> Result<(), AppError> {
    let mut update = user::Entity::update_many();
    for (column, value) in changes {
        update = update.col_expr(column, value);
    }
    let result = update
        .col_expr(
            user::Column::UpdatedAt,
            Expr::value(OffsetDateTime::now_utc()),
        )
        .filter(user::Column::Id.eq(before.id))
        .filter(user::Column::UpdatedAt.eq(before.updated_at))
        .exec(db)
        .await?;
    if result.rows_affected != 1 {
        return Err(AppError::Conflict(format!(
            "User '{}' changed meanwhile; reload and try again.",
            before.name
        )));
    }
    Ok(())
}

pub async fn set_role(actor: &Caller, id: i64, role: Role) -> Result<UserView, AppError> {
    let txn = crate::server::db::begin_write(&actor.state.db).await?;
    let before = find(&txn, id).await?;
    if before.role == role {
        return Ok(before.into());
    }
    if before.id == actor.user.id {
        return Err(AppError::Conflict(
            "You cannot change your own role; another admin can.".into(),
        ));
    }
    if before.role == Role::Admin && !before.disabled {
        keep_an_admin(&txn, &before).await?;
    }
    update_if_unchanged(
        &txn,
        &before,
        [(user::Column::Role, Expr::value(role.as_str()))],
    )
    .await?;
    audit::record(
        &txn,
        actor,
        "user.set_role",
        &before.name,
        Some(before.role.to_string()),
        Some(role.to_string()),
    )
    .await?;
    let after = find(&txn, id).await?;
    txn.commit().await?;
    Ok(after.into())
}

pub async fn set_disabled(actor: &Caller, id: i64, disabled: bool) -> Result<UserView, AppError> {
    let txn = crate::server::db::begin_write(&actor.state.db).await?;
    let before = find(&txn, id).await?;
    if before.disabled == disabled {
        return Ok(before.into());
    }
    if disabled && before.id == actor.user.id {
        return Err(AppError::Conflict(
            "You cannot disable your own account; another admin can.".into(),
        ));
    }
    if disabled && before.role == Role::Admin {
        keep_an_admin(&txn, &before).await?;
    }
    update_if_unchanged(
        &txn,
        &before,
        [(user::Column::Disabled, Expr::value(disabled))],
    )
    .await?;
    let show = |d: bool| if d { "disabled" } else { "enabled" }.to_string();
    audit::record(
        &txn,
        actor,
        "user.set_disabled",
        &before.name,
        Some(show(before.disabled)),
        Some(show(disabled)),
    )
    .await?;
    let after = find(&txn, id).await?;
    txn.commit().await?;
    Ok(after.into())
}

pub async fn reset_password(actor: &Caller, id: i64, password: String) -> Result<(), AppError> {
    password::validate_new(&password)?;
    let hash = password::hash(password).await?;
    let txn = crate::server::db::begin_write(&actor.state.db).await?;
    let before = find(&txn, id).await?;
    let revoked = reset_credentials(&txn, &before, hash).await?;
    audit::record(
        &txn,
        actor,
        "user.reset_password",
        &before.name,
        None,
        Some(format!("sessions ended, {revoked} API token(s) revoked")),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

pub async fn create_by_admin(
    actor: &Caller,
    name: &str,
    role: Role,
    password: String,
) -> Result<UserView, AppError> {
    let txn = crate::server::db::begin_write(&actor.state.db).await?;
    let created = create(&txn, name, role, password).await?;
    audit::record(
        &txn,
        actor,
        "user.create",
        &created.name,
        None,
        Some(role.to_string()),
    )
    .await?;
    txn.commit().await?;
    Ok(created.into())
}

/// For the CLI: sets a password without an acting web user.
pub async fn set_password_by_name(
    db: &DatabaseConnection,
    name: &str,
    password: String,
) -> Result<(), AppError> {
    password::validate_new(&password)?;
    let hash = password::hash(password).await?;
    let txn = crate::server::db::begin_write(db).await?;
    let before = find_by_name(&txn, name).await?;
    reset_credentials(&txn, &before, hash).await?;
    txn.commit().await?;
    Ok(())
}

/// For the CLI: disables a user; their sessions lose all rights on their next request.
pub async fn disable_by_name(db: &DatabaseConnection, name: &str) -> Result<(), AppError> {
    let txn = crate::server::db::begin_write(db).await?;
    let before = find_by_name(&txn, name).await?;
    if before.disabled {
        return Ok(());
    }
    if before.role == Role::Admin {
        keep_an_admin(&txn, &before).await?;
    }
    update_if_unchanged(&txn, &before, [(user::Column::Disabled, Expr::value(true))]).await?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::validate_name;

    #[test]
    fn names_are_plain() {
        assert!(validate_name("alice").is_ok());
        assert!(validate_name("ops.bot-1@example").is_ok());
        assert!(validate_name("").is_err());
        assert!(validate_name("with space").is_err());
        assert!(validate_name(&"a".repeat(65)).is_err());
        assert!(validate_name("<script>").is_err());
    }
}
