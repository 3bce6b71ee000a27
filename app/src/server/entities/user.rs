use sea_orm::entity::prelude::*;

use crate::model::Role;
use crate::server::auth::password::PasswordHash;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub name: String,
    pub password_hash: PasswordHash,
    pub role: Role,
    pub disabled: bool,
    /// Moves on when the password is reset: a session signed in at an older epoch is over.
    pub session_epoch: i64,
    pub created_at: TimeDateTimeWithTimeZone,
    pub updated_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
