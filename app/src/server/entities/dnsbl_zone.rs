use sea_orm::entity::prelude::*;

use crate::model::ZoneHealth;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dnsbl_zones")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub zone: String,
    pub enabled: bool,
    pub health: ZoneHealth,
    pub last_error: Option<String>,
    pub last_tested_at: Option<TimeDateTimeWithTimeZone>,
    pub created_at: TimeDateTimeWithTimeZone,
    /// Whether the zone passed the IPv6 self-test and so judges IPv6 addresses.
    pub ipv6: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
