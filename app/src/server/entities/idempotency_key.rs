use sea_orm::entity::prelude::*;

/// An `Idempotency-Key` an API user sent with an allocation, and what it allocated.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub key: String,
    /// SHA-256 of the request the key was first sent with.
    pub request_hash: String,
    pub attempt: i64,
    pub started_at: TimeDateTimeWithTimeZone,
    /// The allocated address, written in the allocation's own transaction; absent while
    /// the first attempt runs.
    pub address: Option<String>,
    pub created_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
