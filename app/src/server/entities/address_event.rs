use sea_orm::entity::prelude::*;

use crate::model::AddressStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "address_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub address_id: i64,
    pub at: TimeDateTimeWithTimeZone,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub from_status: AddressStatus,
    pub to_status: AddressStatus,
    pub reason: String,
    pub evidence: Option<String>,
    /// The check cycle that wrote this verdict, if one did.
    pub run_id: Option<i64>,
    /// The holder an allocation or reservation gave the address, or the one freeing it
    /// cleared; empty otherwise.
    pub owner: String,
    pub hostname: String,
    pub note: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
